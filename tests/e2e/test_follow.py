"""Keeping up with the news on Discord: the watcher reindexes changed folders, /follow announces new stories."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.run import start_bot
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings

from .corpus import write_filler
from .fake_discord import FakeDiscord, Json, Person, Sent, embed_text
from .harness import check_alive
from .helpers import answer_of, assert_sendable, is_ephemeral, refusal_of, settled, until

pytestmark = pytest.mark.e2e

LIGHTHOUSE = (
    " date 2026-10-20 Lighthouse Keeper Retires\n\n"
    "The Gullrock lighthouse keeper retired after forty years on the rock, the harbour trust said.\n\n"
    "A automatic lamp replaces him next spring.\n"
)
STORM = " date 2026-10-21 Storm Floods Quay\n\nThe storm flooded the quay and the fish market overnight.\n"
FERRY = " date 2026-10-22 Ferry Timetable Changes\n\nThe Bayline ferry adds an early winter crossing.\n"
LIGHTHOUSE_URL = "https://news.example.com/gullrock/lighthouse-keeper"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The watcher on, checking every 0.05 s; at most 10 stories per announcement (the default)."""
    watch = dataclasses.replace(settings.watch, enabled=True, interval_seconds=0.05)
    return dataclasses.replace(settings, watch=watch)


async def follow(
    fake: FakeDiscord, channel_id: int, topic: str | None = None, user: Person | None = None
) -> Sent:
    """/follow channel: topic: (a channel option, with its resolved channel)."""
    channel = {"id": str(channel_id), "type": 0, "name": "quiet", "permissions": str(0x400 | 0x800)}
    return await fake.slash(
        "follow",
        {"channel": {"type": 7, "value": str(channel_id)}, "topic": topic or None},
        user=user or fake.admin,
        resolved={"channels": {str(channel_id): channel}},
    )


async def followed(fake: FakeDiscord, sent: Sent) -> str:
    """The ephemeral confirmation of /follow or /unfollow."""
    callback = await fake.callback(sent)
    assert callback.json["type"] == 5 and is_ephemeral(callback.json["data"])
    body = await fake.edit_of_original(sent)
    assert_sendable(body)
    return str(body["content"])


def posts(fake: FakeDiscord, channel_id: int) -> list[Json]:
    """What the bot posted in ``channel_id`` (not interaction responses)."""
    return [
        r.json for r in fake.requests if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"
    ]


def posted_titles(fake: FakeDiscord, channel_id: int) -> list[str]:
    return [e["title"] for body in posts(fake, channel_id) for e in body.get("embeds", [])]


async def nth_post(fake: FakeDiscord, channel_id: int, n: int, within: float = 5.0) -> Json:
    """The ``n``-th message the bot posted in ``channel_id`` (waiting for it)."""
    await until(lambda: len(posts(fake, channel_id)) >= n, within)
    body = posts(fake, channel_id)[n - 1]
    assert_sendable(body)
    return body


async def rounds(fake: FakeDiscord, bot: NewsBot, count: int = 2) -> None:
    """Until the watcher has run ``count`` whole rounds that started after this call, and all is quiet."""
    assert bot.watcher is not None, "the folder watch is off"
    target = bot.watch_rounds + 1 + count  # + the round under way now, which may have looked already
    await until(lambda: bot.watch_rounds >= target, within=10)
    await settled(fake, bot)


def add_metadata(folder: Path, file: str, url: str, source: str) -> None:
    with (folder / "metadata.jsonl").open("a", encoding="utf-8") as meta:
        meta.write(json.dumps({"file": file, "url": url, "source": source}) + "\n")


async def test_new_files_are_indexed_announced_and_answered(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
) -> None:
    quiet = fake.quiet_channel_id
    text = await followed(fake, await follow(fake, quiet))
    assert f"<#{quiet}>" in text and "unfollow" in text
    await rounds(fake, newsbot)
    assert posts(fake, quiet) == []  # nothing old is announced

    (news_dir / "2026-10-20-lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    add_metadata(news_dir, "2026-10-20-lighthouse.txt", LIGHTHOUSE_URL, "Gullrock Gazette")
    body = await nth_post(fake, quiet, 1)
    assert body["content"] == "**1 new story**"
    (embed,) = body["embeds"]
    assert embed["title"] == "Lighthouse Keeper Retires" and embed["url"] == LIGHTHOUSE_URL
    assert embed["description"].startswith("The Gullrock lighthouse keeper retired")
    assert embed["footer"]["text"] == "2026-10-20 · Gullrock Gazette · 2026-10-20-lighthouse.txt"

    answer = await answer_of(fake, await fake.slash("ask", {"question": "lighthouse keeper retired"}))
    assert answer["embeds"][0]["title"] == "Lighthouse Keeper Retires"

    await rounds(fake, newsbot)
    assert len(posts(fake, quiet)) == 1  # announced once
    assert posts(fake, fake.channel_id) == []


async def test_a_removed_file_leaves_the_answers(fake: FakeDiscord, newsbot: NewsBot, news_dir: Path) -> None:
    question = {"question": "marathon won by Oduya, storm warning"}
    before = await answer_of(fake, await fake.slash("ask", question))
    assert "Riverside Marathon Won by Oduya" in embed_text(before)

    generation = newsbot.index.generation.number if newsbot.index.generation else 0
    (news_dir / "2026-10-14-marathon.txt").unlink()
    await until(lambda: newsbot.index.generation is not None and newsbot.index.generation.number > generation)
    after = await answer_of(fake, await fake.slash("ask", question, user=fake.user2))
    assert after["embeds"] and "Riverside Marathon" not in embed_text(after)


async def test_a_topic_limits_the_announcements(fake: FakeDiscord, newsbot: NewsBot, news_dir: Path) -> None:
    quiet = fake.quiet_channel_id
    text = await followed(fake, await follow(fake, quiet, "storm"))
    assert "about storm" in text

    (news_dir / "2026-10-22-ferry.txt").write_text(FERRY, encoding="utf-8")
    (news_dir / "2026-10-21-storm-quay.txt").write_text(STORM, encoding="utf-8")
    body = await nth_post(fake, quiet, 1)
    assert body["content"] == "**1 new story about storm**"
    assert [e["title"] for e in body["embeds"]] == ["Storm Floods Quay"]

    (news_dir / "2026-10-20-lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    generation = newsbot.index.generation.number if newsbot.index.generation else 0
    await until(lambda: newsbot.index.generation is not None and newsbot.index.generation.number > generation)
    await rounds(fake, newsbot)
    assert posted_titles(fake, quiet) == ["Storm Floods Quay"]


async def test_what_another_process_indexed_is_announced(
    fake: FakeDiscord, newsbot: NewsBot, settings: Settings, news_dir: Path
) -> None:
    await followed(fake, await follow(fake, fake.quiet_channel_id))
    await until(newsbot.claim_reindex)  # the bot's own watcher may not reindex now
    try:
        (news_dir / "2026-10-20-lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
        async with await NewsIndex.open(settings) as other:  # e.g. `newsbot index --watch` elsewhere
            assert (await other.reindex()).added == 1
        body = await nth_post(fake, fake.quiet_channel_id, 1)
        assert body["embeds"][0]["title"] == "Lighthouse Keeper Retires"
        answer = await answer_of(fake, await fake.slash("ask", {"question": "lighthouse keeper"}))
        assert answer["embeds"][0]["title"] == "Lighthouse Keeper Retires"
    finally:
        newsbot.release_reindex()


@contextlib.asynccontextmanager
async def bot_on(fake: FakeDiscord, settings: Settings) -> AsyncIterator[NewsBot]:
    """A bot with its own index on ``settings``' database, closed (index too) on exit."""
    async with await NewsIndex.open(settings) as index:
        bot, task = await start_bot(settings, fake.token, index, ready_timeout=5.0, guild_ready_timeout=0.01)
        try:
            yield bot
            check_alive(task)
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


async def test_a_restart_does_not_repeat_announcements(
    fake: FakeDiscord, settings: Settings, index: NewsIndex, news_dir: Path
) -> None:
    quiet = fake.quiet_channel_id
    async with bot_on(fake, settings) as bot:
        await followed(fake, await follow(fake, quiet))
        (news_dir / "2026-10-20-lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
        await nth_post(fake, quiet, 1)
        await rounds(fake, bot)

    async with bot_on(fake, settings) as bot:  # restarted: same database, new process state
        await rounds(fake, bot)
        assert posted_titles(fake, quiet) == ["Lighthouse Keeper Retires"]
        (news_dir / "2026-10-21-storm-quay.txt").write_text(STORM, encoding="utf-8")
        await nth_post(fake, quiet, 2)
        await rounds(fake, bot)
    assert posted_titles(fake, quiet) == ["Lighthouse Keeper Retires", "Storm Floods Quay"]
    assert not fake.unhandled


async def test_a_burst_is_capped_with_and_n_more(fake: FakeDiscord, newsbot: NewsBot, news_dir: Path) -> None:
    quiet = fake.quiet_channel_id
    await followed(fake, await follow(fake, quiet))
    # the burst arrives at once: written aside, then moved in (a watch round must not see half of it)
    staging = news_dir.parent / "burst-staging"
    write_filler(staging, 500, prefix="burst")
    staging.rename(news_dir / "burst")

    first = await nth_post(fake, quiet, 1, within=10)
    assert first["content"] == "**500 new stories**"
    await until(lambda: any("more" in (p.get("content") or "") for p in posts(fake, quiet)))
    await rounds(fake, newsbot)
    bodies = posts(fake, quiet)
    cap = newsbot.settings.watch.announce_cap
    assert sum(len(b["embeds"]) for b in bodies) == cap and len(bodies) == 2  # a few stories per message
    assert "…and 490 more new stories" in bodies[-1]["content"]
    for body in bodies:
        assert_sendable(body)


async def test_an_admin_reindex_announces_too(
    fake: FakeDiscord, settings: Settings, index: NewsIndex, news_dir: Path
) -> None:
    quiet_settings = dataclasses.replace(settings, watch=dataclasses.replace(settings.watch, enabled=False))
    async with bot_on(fake, quiet_settings) as bot:
        assert not any(t.get_name() == "newsbot-watch" for t in asyncio.all_tasks())
        await followed(fake, await follow(fake, fake.quiet_channel_id))
        (news_dir / "2026-10-20-lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
        await settled(fake, bot)
        assert bot.watcher is None
        assert posts(fake, fake.quiet_channel_id) == []  # no watcher: nothing happens by itself

        sent = await fake.slash("reindex", user=fake.admin)
        await fake.edit_of_original(sent, lambda b: bool(b.get("embeds")))
        body = await nth_post(fake, fake.quiet_channel_id, 1)
        assert body["embeds"][0]["title"] == "Lighthouse Keeper Retires"


async def test_follow_and_unfollow_are_for_admins(fake: FakeDiscord, newsbot: NewsBot) -> None:
    commands = {name: c for (guild, name), c in fake.commands.items() if guild == fake.guild_id}
    for name in ("follow", "unfollow"):
        assert int(commands[name]["default_member_permissions"]) == 1 << 5  # Manage Server
        assert commands[name]["contexts"] == [0]

    for person in (fake.user, fake.manager):
        assert (
            "admin"
            in (await refusal_of(fake, await follow(fake, fake.quiet_channel_id, user=person))).lower()
        )
        assert "admin" in (await refusal_of(fake, await fake.slash("unfollow", user=person))).lower()
    assert (
        "server" in (await refusal_of(fake, await fake.slash("unfollow", user=fake.admin, dm=True))).lower()
    )
    assert await newsbot.index.following(fake.guild_id) is None

    await followed(fake, await follow(fake, fake.quiet_channel_id, "storm"))
    assert (await newsbot.index.following(fake.guild_id)) is not None
    text = await followed(fake, await fake.slash("unfollow", user=fake.admin))
    assert f"<#{fake.quiet_channel_id}>" in text
    assert await newsbot.index.following(fake.guild_id) is None
    assert "not following" in await followed(fake, await fake.slash("unfollow", user=fake.admin))


async def test_a_topic_of_common_words_is_refused(fake: FakeDiscord, newsbot: NewsBot) -> None:
    sent = await follow(fake, fake.quiet_channel_id, "the of and")
    message = await fake.followup(sent)
    assert "common words" in message["content"] and is_ephemeral(message)
    assert await newsbot.index.following(fake.guild_id) is None
