"""The bot on a cluster's index (``[cluster] shards = 2, address = "inprocess"``: two shards in this
process, no Ray), opened through ``open_index`` as ``newsbot run`` opens it: a session of /ask (and
its More and Full paragraph buttons), a mention, /latest, /follow, /stats, an admin's /reindex after
articles were added and removed, and questions after it, gets the very replies that the same session
gets from a bot on one index over the same articles (whole message bodies, timings aside).

conftest's ``settings`` and ``index`` fixtures are overridden here (the cluster's settings, an index
opened by ``open_index``), so its ``newsbot`` fixture is a bot on the cluster; further tests check
the reindex report's counts, its progress, and /follow announcements on the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.run import start_bot
from newsbot.index.api import NewsIndex
from newsbot.index.cluster.coordinator import ClusterIndex
from newsbot.index.config import ClusterSettings, Settings
from newsbot.index.opening import open_index

from .corpus import ARTICLES, write_corpus, write_filler
from .fake_discord import FakeDiscord, Json, Sent, buttons, embed_text
from .harness import check_alive
from .helpers import answer_of, settled
from .test_follow import LIGHTHOUSE, follow, followed, nth_post

pytestmark = pytest.mark.e2e

SHARDS = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """conftest's settings, on two shards in this process."""
    return dataclasses.replace(settings, cluster=ClusterSettings(shards=SHARDS, address="inprocess"))


@pytest.fixture
async def index(settings: Settings, indexed: bool) -> AsyncIterator[NewsIndex]:
    """The index ``newsbot run`` opens for these settings: a cluster's."""
    idx = await open_index(settings)
    try:
        assert isinstance(idx, ClusterIndex) and idx.shards.count == SHARDS
        if indexed:
            await idx.reindex()
        yield idx
    finally:
        await idx.close()


@pytest.fixture
async def one(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[Settings, NewsIndex]]:
    """One index on this machine over a copy of the same articles, with its settings."""
    folder = tmp_path / "one" / "news"
    write_corpus(folder)
    alone = dataclasses.replace(
        settings,
        cluster=ClusterSettings(),
        news=dataclasses.replace(settings.news, folders=[str(folder)]),
        store=dataclasses.replace(settings.store, database=str(tmp_path / "one" / "db" / "newsbot.db")),
    )
    idx = await open_index(alone)
    try:
        assert not isinstance(idx, ClusterIndex)
        await idx.reindex()
        yield alone, idx
    finally:
        await idx.close()


@contextlib.asynccontextmanager
async def bot_on(fake: FakeDiscord, settings: Settings, index: NewsIndex) -> AsyncIterator[NewsBot]:
    """A bot on ``index``, connected to the fake; closed (and checked for a crash) on exit."""
    bot, task = await start_bot(
        settings,
        fake.token,
        index,
        ready_timeout=5.0,
        guild_ready_timeout=0.01,
        progress_interval=0.05,
        identify_interval=0.0,
    )
    try:
        yield bot
        await settled(fake, bot)
        check_alive(task)
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


def replies(fake: FakeDiscord, sent: Sent) -> list[tuple[str, Json]]:
    """Everything the bot sent for an interaction (its response, edits and follow-ups), in order."""
    return [(r.method, r.json) for r in fake.for_interaction(sent)]


async def reply_to(fake: FakeDiscord, message: Json) -> Json:
    req = await fake.wait_for(
        lambda r: (
            r.method == "POST"
            and r.path == f"/channels/{message['channel_id']}/messages"
            and str((r.json.get("message_reference") or {}).get("message_id")) == message["id"]
        )
    )
    return req.json


def timeless(body: Json) -> Json:
    """``body`` with what depends on the clock replaced: a reindex's seconds, the index's age, the
    gateway's latency."""
    out = copy.deepcopy(body)
    seconds = re.compile(r"\b\d+\.\d s\b")
    if isinstance(out.get("content"), str):
        out["content"] = seconds.sub("<t> s", out["content"])
    for embed in out.get("embeds") or []:
        if embed.get("footer"):
            embed["footer"]["text"] = seconds.sub("<t> s", embed["footer"]["text"])
        for f in embed.get("fields") or []:
            if f["name"] == "Index age" or f["name"].startswith("Gateway shards"):
                f["value"] = "<masked>"
    return out


async def session(fake: FakeDiscord, settings: Settings, index: NewsIndex, folder: Path) -> dict[str, object]:
    """What a bot on ``index`` replies to the same questions and commands (``folder``: its news)."""
    out: dict[str, object] = {}
    async with bot_on(fake, settings, index) as bot:
        asked = await fake.slash("ask", {"question": "When did the harbour bridge reopen?"}, user=fake.user)
        await answer_of(fake, asked)
        storm = await fake.slash("ask", {"question": "storm"}, user=fake.user2)
        await answer_of(fake, storm)
        more = await fake.click(fake.original_id(storm), "newsbot:more", user=fake.user2)
        await fake.edit_of_original(more)
        full = await fake.click(fake.original_id(asked), "newsbot:full", user=fake.manager)
        nothing = await fake.slash("ask", {"question": "zorbulent quaffling xylotrance"}, user=fake.manager)
        await answer_of(fake, nothing)
        mention = await fake.post_message(f"<@{fake.app_id}> marathon course record", user=fake.user)
        reply = await reply_to(fake, mention)
        assert str(reply.pop("message_reference")["message_id"]) == mention["id"]
        reply.pop("nonce", None)  # (random)
        out["mention"] = reply
        latest = await fake.slash("latest", {"count": 5}, user=fake.admin)
        about = await fake.slash("latest", {"count": 10, "topic": "storm"}, user=fake.admin)
        following = await follow(fake, fake.quiet_channel_id, "storm")
        await followed(fake, following)
        await settled(fake, bot)  # (the questions are logged in the background)
        stats = await fake.slash("stats", user=fake.admin)
        await fake.edit_of_original(stats)
        await settled(fake, bot)
        for name, sent in [
            ("ask", asked),
            ("storm", storm),
            ("more", more),
            ("full", full),
            ("no answer", nothing),
            ("latest", latest),
            ("latest about", about),
            ("follow", following),
            ("stats", stats),
        ]:
            out[name] = [(method, timeless(body)) for method, body in replies(fake, sent)]

        (folder / "2026-10-20-lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
        (folder / "2026-10-14-marathon.txt").unlink()
        reindex = await fake.slash("reindex", user=fake.admin)
        report = await fake.edit_of_original(reindex, lambda b: bool(b.get("embeds")), within=20)
        out["reindex"] = timeless(report)
        for i, question in enumerate(["lighthouse keeper retired", "marathon course record"]):
            after = await fake.slash("ask", {"question": question}, user=[fake.user2, fake.manager][i])
            out[f"after {i}"] = timeless(await answer_of(fake, after))
        latest = await fake.slash("latest", {"count": 5}, user=fake.admin)
        out["latest after"] = await fake.edit_of_original(latest)
        await settled(fake, bot)
        stats = await fake.slash("stats", user=fake.admin)
        out["stats after"] = timeless(await fake.edit_of_original(stats))
    return out


@pytest.mark.timeout(60)
async def test_a_session_on_the_cluster_gets_one_indexs_replies(
    fake: FakeDiscord,
    settings: Settings,
    index: NewsIndex,
    news_dir: Path,
    one: tuple[Settings, NewsIndex],
) -> None:
    alone, single = one
    want = await session(fake, alone, single, Path(alone.folders[0]))
    got = await session(fake, settings, index, news_dir)
    assert list(got) == list(want)
    for name in want:
        assert got[name] == want[name], name

    # what the replies are, so that two empty sessions could not agree
    ask = want["ask"][-1][1]  # type: ignore[index]
    assert ask["embeds"][0]["title"] == "Harbour Bridge Reopens After Repairs"
    assert set(buttons(ask)) == {"newsbot:more", "newsbot:full", "newsbot:up", "newsbot:down"}
    assert "passages 4–6" in want["more"][-1][1]["content"]  # type: ignore[index]
    assert "Kestrel Harbour bridge reopened" in str(want["full"])
    assert want["no answer"][-1][1]["embeds"][0]["title"] == "No good answer"  # type: ignore[index]
    assert want["mention"]["embeds"][0]["title"] == "Riverside Marathon Won by Oduya"  # type: ignore[index]
    newest = [a.title for a in sorted(ARTICLES, key=lambda a: a.date, reverse=True)[:5]]
    assert [e["title"] for e in want["latest"][-1][1]["embeds"]] == newest  # type: ignore[index]
    assert "about storm" in str(want["follow"])
    stats = {f["name"]: f["value"] for f in want["stats"][-1][1]["embeds"][0]["fields"]}  # type: ignore[index]
    assert (stats["Articles"], stats["Questions asked"], stats["No good answer"]) == ("8", "4", "1")
    report = {f["name"]: f["value"] for f in want["reindex"]["embeds"][0]["fields"]}  # type: ignore[index]
    assert (report["Added"], report["Removed"], report["Articles"]) == ("1", "1", "8")
    assert want["after 0"]["embeds"][0]["title"] == "Lighthouse Keeper Retires"  # type: ignore[index]
    assert "Riverside Marathon" not in embed_text(want["after 1"])  # type: ignore[arg-type]
    assert want["latest after"]["embeds"][0]["title"] == "Lighthouse Keeper Retires"  # type: ignore[index]
    stats = {f["name"]: f["value"] for f in want["stats after"]["embeds"][0]["fields"]}  # type: ignore[index]
    assert (stats["Generation"], stats["Questions asked"]) == ("2", "6")


async def test_the_reindex_report_counts_the_unchanged_files(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
) -> None:
    (news_dir / "2026-10-20-lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    (news_dir / "2026-10-14-marathon.txt").unlink()
    sent = await fake.slash("reindex", user=fake.admin)
    body = await fake.edit_of_original(sent, lambda b: bool(b.get("embeds")), within=10)
    fields = {f["name"]: f["value"] for f in body["embeds"][0]["fields"]}
    assert (fields["Added"], fields["Removed"]) == ("1", "1")
    assert int(fields["Unchanged"]) == len(ARTICLES) - 1  # as tests/e2e/test_admin.py has it on one index


async def test_a_cluster_reindex_shows_its_progress(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
) -> None:
    write_filler(news_dir, 150)
    sent = await fake.slash("reindex", user=fake.admin)
    body = await fake.edit_of_original(sent, lambda b: bool(b.get("embeds")), within=20)
    assert {f["name"]: f["value"] for f in body["embeds"][0]["fields"]}["Added"] == "150"
    edits = [r.json for r in fake.for_interaction(sent) if r.method == "PATCH"]
    assert edits[-1] == body and len(edits) >= 2, "no progress was shown"
    assert all(e["content"].startswith("Reindexing…") for e in edits[:-1])


class TestFollowing:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        """The folder watch on, every 0.05 s (as tests/e2e/test_follow.py has it)."""
        watch = dataclasses.replace(settings.watch, enabled=True, interval_seconds=0.05)
        return dataclasses.replace(settings, watch=watch)

    async def test_a_new_story_is_announced(
        self, fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
    ) -> None:
        await followed(fake, await follow(fake, fake.quiet_channel_id))
        (news_dir / "2026-10-20-lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
        body = await nth_post(fake, fake.quiet_channel_id, 1, within=3.0)  # (one index: in 0.2 s)
        assert body["embeds"][0]["title"] == "Lighthouse Keeper Retires"
