"""Running the bot: ``serve`` (behind ``newsbot run``) and logging without the token."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Iterator

import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.run import REDACTED, configure_logging, serve
from newsbot.index.config import Settings

from .fake_discord import FakeDiscord
from .helpers import answer_of

pytestmark = pytest.mark.e2e


@pytest.fixture
def log_output(fake: FakeDiscord) -> Iterator[io.StringIO]:
    """The bot's own logging setup at DEBUG, into a buffer (installed before the bot starts)."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging("DEBUG", fake.token, logging.StreamHandler(stream))
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_the_token_is_never_logged(
    log_output: io.StringIO, fake: FakeDiscord, newsbot: NewsBot
) -> None:
    await answer_of(fake, await fake.slash("ask", {"question": "harbour bridge"}))
    log = logging.getLogger("bot.test")
    log.info("a careless line with the token %s in it", fake.token)
    try:
        raise RuntimeError(f"Authorization: Bot {fake.token}")
    except RuntimeError:
        log.exception("and a traceback")

    text = log_output.getvalue()
    assert "logging in using static token" in text  # discord.py's own DEBUG/INFO lines were captured
    assert "Synced 7 commands to guild" in text
    assert fake.token not in text
    assert text.count(REDACTED) == 2


async def test_serve_opens_the_index_runs_and_closes_cleanly_when_cancelled(
    fake: FakeDiscord, settings: Settings
) -> None:
    task = asyncio.create_task(serve(settings, fake.token))
    await asyncio.wait_for(fake.identified.wait(), 5)
    assert not task.done()

    sent = await fake.slash("ask", {"question": "harbour bridge"})  # nothing indexed in this database
    assert "nothing is indexed yet" in (await fake.followup(sent))["content"]
    assert settings.database.exists()

    task.cancel()  # what Ctrl+C does to asyncio.run's main task
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert task.done()
    await asyncio.sleep(0)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not others, others
