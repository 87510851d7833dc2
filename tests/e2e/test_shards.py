"""Gateway sharding (Discord requires it past 2,500 servers), against a loopback Discord with several shards.

- ``discord.shard_count = "auto"`` and Discord recommending 2: both shards IDENTIFY, each gets READY and only
  its own guilds, and everything works in a guild on either shard: /ask and its buttons, a mention, /latest,
  /follow with the announcement after /reindex, and /stats, which shows each shard's latency.
- A shard whose connection drops resumes while the other keeps answering.
- Explicit ``discord.shard_ids`` (one process of several): only those shards IDENTIFY, and two processes
  split the guilds between them.
- Too few shards for Discord (close code 4011): one line saying to raise ``discord.shard_count``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from pathlib import Path
from typing import Any

import discord
import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.run import start_bot, start_failure
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings

from .fake_discord import FakeDiscord, FakeGuild, Json, Sent
from .harness import check_alive
from .helpers import answer_of, assert_sendable, settled

pytestmark = pytest.mark.e2e

BRIDGE = "Harbour Bridge Reopens After Repairs"
LIGHTHOUSE = (
    " date 2026-10-20 Lighthouse Keeper Retires\n\n"
    "The Gullrock lighthouse keeper retired after forty years on the rock, the harbour trust said.\n"
)


@pytest.fixture
def fake_options() -> dict[str, Any]:
    """Discord recommends two shards; three guilds, on shards 0, 1 and 0."""
    return {"shards": 2, "guilds": 3}


@pytest.fixture
def discord_options(fake: FakeDiscord) -> dict[str, Any]:
    """Every guild configured: commands synced to each, mentions answered in each one's news channel."""
    return {
        "guild_ids": [g.id for g in fake.guilds],
        "mention_channel_ids": [g.channel_id for g in fake.guilds],
    }


def shard_events(fake: FakeDiscord, shard: int) -> list[str]:
    """The events the fake sent on ``shard``'s connection since READY (the tests' own)."""
    return [frame["t"] for frame in fake.sessions[shard].history]


def fields(body: Json) -> dict[str, str]:
    return {f["name"]: f["value"] for f in body["embeds"][0].get("fields", [])}


async def reply_in(fake: FakeDiscord, message: Json) -> Json:
    """The bot's reply to ``message``, in its channel."""
    req = await fake.wait_for(
        lambda r: (
            r.method == "POST"
            and r.path == f"/channels/{message['channel_id']}/messages"
            and str((r.json.get("message_reference") or {}).get("message_id")) == message["id"]
        )
    )
    assert_sendable(req.json)
    return req.json


async def follow(fake: FakeDiscord, guild: FakeGuild) -> Sent:
    """/follow in ``guild``: its quiet channel, by an admin."""
    channel = {
        "id": str(guild.quiet_channel_id),
        "type": 0,
        "name": "quiet",
        "permissions": str(0x400 | 0x800),
    }
    return await fake.slash(
        "follow",
        {"channel": {"type": 7, "value": str(guild.quiet_channel_id)}},
        user=fake.admin,
        guild_id=guild.id,
        resolved={"channels": {str(guild.quiet_channel_id): channel}},
    )


# ------------------------------------------------------------------------------------------ two shards


async def test_every_shard_connects_and_gets_only_its_guilds(fake: FakeDiscord, newsbot: NewsBot) -> None:
    first, second, third = fake.guilds
    assert [r.path for r in fake.requests if r.path.startswith("/gateway")] == ["/gateway/bot"]
    assert fake.identified_shards == [(0, 2), (1, 2)]
    assert (fake.sessions[0].guilds, fake.sessions[1].guilds) == ([first.id, third.id], [second.id])
    assert newsbot.shard_count == 2 and sorted(newsbot.shards) == [0, 1]
    for k, guild in enumerate(fake.guilds):
        known = newsbot.get_guild(guild.id)
        assert known is not None and known.shard_id == k % 2
    synced = {guild for guild, name in fake.commands if name == "ask"}
    assert synced == {g.id for g in fake.guilds}


async def test_ask_is_answered_in_a_guild_on_each_shard(fake: FakeDiscord, newsbot: NewsBot) -> None:
    first, second, _ = fake.guilds
    on_0 = await fake.slash("ask", {"question": "When did the harbour bridge reopen?"}, guild_id=first.id)
    on_1 = await fake.slash("ask", {"question": "storm"}, guild_id=second.id)
    assert (await answer_of(fake, on_0))["embeds"][0]["title"] == BRIDGE
    answer = await answer_of(fake, on_1)
    assert "storm" in answer["embeds"][0]["title"].lower()
    assert (shard_events(fake, 0), shard_events(fake, 1)) == (["INTERACTION_CREATE"], ["INTERACTION_CREATE"])
    assert fake.sessions[1].history[0]["d"]["id"] == str(on_1.id)  # each on its guild's shard

    more = await fake.click(fake.original_id(on_1), "newsbot:more")  # the button's press: shard 1 too
    assert (await fake.callback(more)).json["type"] == 6
    assert "passages 4–6" in (await fake.edit_of_original(more))["content"]
    assert shard_events(fake, 1) == ["INTERACTION_CREATE", "INTERACTION_CREATE"]


async def test_a_mention_on_shard_1_is_answered(fake: FakeDiscord, newsbot: NewsBot) -> None:
    second = fake.guilds[1]
    message = await fake.post_message(
        f"<@{fake.app_id}> when did the harbour bridge reopen?", guild_id=second.id
    )
    reply = await reply_in(fake, message)
    assert message["channel_id"] == str(second.channel_id)
    assert reply["embeds"][0]["title"] == BRIDGE
    assert shard_events(fake, 1) == ["MESSAGE_CREATE"] and shard_events(fake, 0) == []


async def test_latest_follow_and_reindex_work_on_shard_1(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
) -> None:
    second = fake.guilds[1]
    latest = await fake.slash("latest", {"count": 2}, guild_id=second.id)
    assert len((await answer_of(fake, latest))["embeds"]) == 2

    followed = await follow(fake, second)
    assert "will be posted" in (await fake.edit_of_original(followed))["content"]
    assert (await newsbot.index.following(second.id)) is not None

    (news_dir / "2026-10-20-lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    reindex = await fake.slash("reindex", user=fake.admin, guild_id=second.id)
    report = await fake.edit_of_original(reindex, lambda b: bool(b.get("embeds")), within=10)
    assert fields(report)["Added"] == "1"
    path = f"/channels/{second.quiet_channel_id}/messages"
    posted = await fake.wait_for(lambda r: r.method == "POST" and r.path == path)
    assert posted.json["embeds"][0]["title"] == "Lighthouse Keeper Retires"
    assert set(shard_events(fake, 1)) == {"INTERACTION_CREATE"} and shard_events(fake, 0) == []


async def test_stats_shows_each_shards_latency(fake: FakeDiscord, newsbot: NewsBot) -> None:
    sent = await fake.slash("stats", user=fake.admin, guild_id=fake.guilds[1].id)
    body = await fake.edit_of_original(sent)
    assert_sendable(body)
    assert re.fullmatch(r"0: \d+ ms · 1: \d+ ms", fields(body)["Gateway shards (2)"]), fields(body)


async def test_a_dropped_shard_resumes_while_the_other_answers(fake: FakeDiscord, newsbot: NewsBot) -> None:
    first, second, _ = fake.guilds
    await fake.drop(shard=1)
    meanwhile = await fake.slash("ask", {"question": "marathon course record"}, guild_id=second.id)
    on_0 = await fake.slash("ask", {"question": "harbour bridge"}, guild_id=first.id, user=fake.user2)
    assert (await answer_of(fake, on_0))["embeds"][0]["title"] == BRIDGE
    await fake.wait_session(shard=1)
    assert (await answer_of(fake, meanwhile))["embeds"][0]["title"] == "Riverside Marathon Won by Oduya"
    assert [r["session_id"] for r in fake.resumes] == ["fake-session-1"] and fake.identifies == 2


# ------------------------------------------------------------------------------------------ shard ids


class TestSomeShardsInThisProcess:
    @pytest.fixture
    def fake_options(self) -> dict[str, Any]:
        return {"shards": 3, "guilds": 3}  # one guild per shard

    @pytest.fixture
    def discord_options(self, fake: FakeDiscord) -> dict[str, Any]:
        return {"guild_ids": [g.id for g in fake.guilds], "shard_count": 3, "shard_ids": [0, 2]}

    async def test_only_those_shards_identify(self, fake: FakeDiscord, newsbot: NewsBot) -> None:
        first, second, third = fake.guilds
        assert fake.identified_shards == [(0, 3), (2, 3)]
        assert not [r for r in fake.requests if r.path.startswith("/gateway")]  # the count is set: not asked
        assert sorted(newsbot.shards) == [0, 2] and newsbot.shard_count == 3
        assert newsbot.get_guild(second.id) is None  # shard 1 is another process's
        assert newsbot.get_guild(first.id) is not None and newsbot.get_guild(third.id) is not None
        body = await answer_of(
            fake, await fake.slash("ask", {"question": "harbour bridge"}, guild_id=third.id)
        )
        assert body["embeds"][0]["title"] == BRIDGE
        with pytest.raises(AssertionError, match="no shard"):  # no connection here carries guild 2's events
            await fake.slash("ask", {"question": "harbour bridge"}, guild_id=second.id)


class TestTwoProcesses:
    @pytest.fixture
    def fake_options(self) -> dict[str, Any]:
        return {"shards": 2, "guilds": 2}

    @pytest.fixture
    def discord_options(self, fake: FakeDiscord) -> dict[str, Any]:
        return {"guild_ids": [g.id for g in fake.guilds], "shard_count": 2, "shard_ids": [0]}

    async def test_two_processes_split_the_guilds(
        self, fake: FakeDiscord, newsbot: NewsBot, settings: Settings, index: NewsIndex
    ) -> None:
        first, second = fake.guilds
        rest = dataclasses.replace(settings, discord=dataclasses.replace(settings.discord, shard_ids=[1]))
        other, task = await start_bot(
            rest, fake.token, index, ready_timeout=5.0, guild_ready_timeout=0.01, identify_interval=0.0
        )
        seen: dict[str, list[int | None]] = {"shard 0": [], "shard 1": []}

        def spy(name: str) -> Any:
            async def on_interaction(interaction: discord.Interaction[NewsBot]) -> None:
                seen[name].append(interaction.guild_id)

            return on_interaction

        newsbot.on_interaction = spy("shard 0")  # type: ignore[attr-defined]
        other.on_interaction = spy("shard 1")  # type: ignore[attr-defined]
        try:
            assert fake.identified_shards == [(0, 2), (1, 2)]
            assert other.get_guild(first.id) is None and newsbot.get_guild(second.id) is None
            for guild in (first, second):
                sent = await fake.slash("ask", {"question": "harbour bridge"}, guild_id=guild.id)
                assert (await answer_of(fake, sent))["embeds"][0]["title"] == BRIDGE
            assert seen == {"shard 0": [first.id], "shard 1": [second.id]}
            await settled(fake, other)
            check_alive(task)
        finally:
            await other.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


class TestTooFewShards:
    @pytest.fixture
    def fake_options(self) -> dict[str, Any]:
        return {"shards": 2, "guilds": 2, "max_guilds_per_shard": 1}

    @pytest.fixture
    def discord_options(self, fake: FakeDiscord) -> dict[str, Any]:
        return {"guild_ids": [g.id for g in fake.guilds], "shard_count": 1}

    async def test_discord_requiring_more_shards_is_one_clear_line(
        self, fake: FakeDiscord, settings: Settings, index: NewsIndex
    ) -> None:
        with pytest.raises(discord.ConnectionClosed) as closed:
            await start_bot(settings, fake.token, index, ready_timeout=5.0, guild_ready_timeout=0.01)
        assert closed.value.code == 4011 and fake.identified_shards == [(0, 1)]
        message = start_failure(closed.value)
        assert message is not None and "discord.shard_count" in message and "\n" not in message
