"""Fixtures for the end-to-end tests: the fake Discord, discord.py pointed at it, a real index, the bot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord.gateway
import discord.http
import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.run import start_bot
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings, settings_from_dict

from .corpus import write_corpus
from .fake_discord import FakeDiscord
from .harness import check_alive


@pytest.fixture
def fake_options() -> dict[str, Any]:
    """Arguments of :class:`FakeDiscord` (a token, the heartbeat interval); tests override this fixture."""
    return {}


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch, fake_options: dict[str, Any]) -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(**fake_options)
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", server.gateway_url)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def news_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    write_corpus(folder)
    return folder


@pytest.fixture
def discord_options() -> dict[str, Any]:
    """Overrides of the [discord] settings; tests override this fixture to change them."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, news_dir: Path, fake: FakeDiscord, discord_options: dict[str, Any]) -> Settings:
    return settings_from_dict(
        {
            "news": {"folders": [str(news_dir)]},
            "store": {"database": str(tmp_path / "db" / "newsbot.db")},
            "discord": {
                "guild_ids": [fake.guild_id],
                "admin_role_ids": [fake.admin_role_id],
                "admin_user_ids": [],
                "mention_channel_ids": [fake.channel_id],
                "cooldown_questions": 5,
                "cooldown_seconds": 60.0,
                "more_timeout_seconds": 30.0,
            }
            | discord_options,
        }
    )


@pytest.fixture
def indexed() -> bool:
    """Whether the index is built before the bot starts; override to test an empty index."""
    return True


@pytest.fixture
async def index(settings: Settings, indexed: bool) -> AsyncIterator[NewsIndex]:
    idx = await NewsIndex.open(settings)
    try:
        if indexed:
            await idx.reindex()
        yield idx
    finally:
        await idx.close()


@pytest.fixture
def progress_interval() -> float:
    return 0.05


@pytest.fixture
async def newsbot(
    fake: FakeDiscord, settings: Settings, index: NewsIndex, progress_interval: float
) -> AsyncIterator[NewsBot]:
    """The real bot, connected to the fake and ready; closed (and checked for a crash) afterwards."""
    bot, task = await start_bot(
        settings,
        fake.token,
        index,
        ready_timeout=5.0,
        guild_ready_timeout=0.01,
        progress_interval=progress_interval,
        identify_interval=0.0,  # the fake, unlike Discord, takes the shards' IDENTIFYs at once
    )
    bot.gateway_task = task  # type: ignore[attr-defined]
    try:
        yield bot
        check_alive(task)
        assert not fake.unhandled, f"the bot called routes the fake does not serve: {fake.unhandled}"
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        await asyncio.sleep(0)
        leaked = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        assert not leaked, f"tasks left running after the bot closed: {leaked}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an end-to-end test (``-m "not e2e"`` leaves them all out), marked or not."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)
