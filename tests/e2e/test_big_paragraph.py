"""/ask and "Full paragraph" over an index holding a ~10 MB paragraph: answered, within Discord's limits,
while the loop keeps running (a lag probe, and the heartbeats the fake Discord receives)."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.render import FULL_TEXT_CHARS

from ..helpers import write_article
from ..test_big_paragraphs import BIG_CHARS, STALL_LIMIT, LagProbe, big_paragraph
from .corpus import write_corpus
from .fake_discord import FakeDiscord
from .helpers import answer_of, assert_sendable, is_ephemeral

pytestmark = pytest.mark.e2e

BEAT = 0.05  # seconds between heartbeats


@pytest.fixture
def fake_options() -> dict[str, Any]:
    return {"heartbeat_interval": BEAT}


@pytest.fixture
def news_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    write_corpus(folder)
    write_article(folder, "big.txt", "The longest minutes ever taken", [big_paragraph()], date="2026-10-09")
    return folder


async def test_a_huge_paragraph_is_answered_while_heartbeats_keep_flowing(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    async with LagProbe() as probe:
        started = time.perf_counter()
        sent = await fake.slash("ask", {"question": "the zeppelin Albatross"}, user=fake.user)
        body = await answer_of(fake, sent)
        first = body["embeds"][0]
        assert first["title"] == "The longest minutes ever taken"
        assert "**zeppelin Albatross**" in first["description"]

        click = await fake.click(fake.original_id(sent), "newsbot:full", user=fake.user2)
        callback = await fake.callback(click)
        webhook = f"/webhooks/{fake.app_id}/{click.token}"
        await fake.wait_for(
            lambda r: r.method == "POST" and r.path == webhook and "characters" in str(r.json), within=10
        )
        finished = time.perf_counter()
    await asyncio.sleep(0.2)  # any further follow-up
    replies = [callback.json["data"]]
    replies += [r.json for r in fake.for_interaction(click) if r.method == "POST" and r.path == webhook]

    for reply in replies:
        assert is_ephemeral(reply)
        assert_sendable(reply)
    embeds = [e for r in replies for e in r["embeds"]]
    big = [e for e in embeds if "of 9," in (e.get("footer") or {}).get("text", "")]
    assert big, [e.get("footer") for e in embeds]
    shown = sum(len(e.get("description") or "") for e in embeds)
    assert shown < 10 * FULL_TEXT_CHARS < BIG_CHARS

    beats = [t for t in fake.heartbeats if started <= t <= finished]
    gaps = [b - a for a, b in itertools.pairwise([started, *beats, finished])]
    print(
        f"\n/ask and Full paragraph over a {BIG_CHARS:,}-character paragraph: {finished - started:.2f} s, "
        f"{len(beats)} heartbeats, longest gap {max(gaps) * 1000:.0f} ms, "
        f"longest stall {probe.worst * 1000:.0f} ms"
    )
    assert probe.worst < STALL_LIMIT, f"the loop stalled for {probe.worst:.2f} s"
    assert max(gaps) < STALL_LIMIT + BEAT, gaps
