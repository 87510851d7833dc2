"""Startup (command sync, intents) and /latest."""

from __future__ import annotations

import pytest

from newsbot.bot.app import NewsBot

from .corpus import ARTICLES
from .fake_discord import FakeDiscord
from .helpers import assert_sendable

pytestmark = pytest.mark.e2e


async def test_commands_synced_once_to_the_configured_guild(fake: FakeDiscord, newsbot: NewsBot) -> None:
    syncs = [r for r in fake.requests if r.method == "PUT" and "/commands" in r.path]
    assert [r.path for r in syncs] == [f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands"]
    commands = {c["name"]: c for c in syncs[0].json}
    assert set(commands) == {"ask", "latest", "reindex", "stats", "follow", "unfollow", "feeds"}
    manage_guild = 1 << 5  # discord.py sends the permission bits as a number
    assert int(commands["reindex"]["default_member_permissions"]) == manage_guild
    assert int(commands["stats"]["default_member_permissions"]) == manage_guild
    assert commands["reindex"]["contexts"] == [0]  # guild only
    assert commands["ask"]["default_member_permissions"] is None

    # a question later does not trigger another sync
    sent = await fake.slash("ask", {"question": "marathon record"})
    await fake.edit_of_original(sent)
    assert len([r for r in fake.requests if r.method == "PUT"]) == 1


async def test_identify_asks_for_no_privileged_intents(fake: FakeDiscord, newsbot: NewsBot) -> None:
    assert fake.identify_payload is not None
    intents = fake.identify_payload["intents"]
    guilds, members, presences, guild_messages, message_content = 1 << 0, 1 << 1, 1 << 8, 1 << 9, 1 << 15
    assert intents & guilds and intents & guild_messages
    assert not intents & (members | presences | message_content)


async def test_latest_lists_newest_first(fake: FakeDiscord, newsbot: NewsBot) -> None:
    sent = await fake.slash("latest", {"count": 3})
    callback = await fake.callback(sent)
    assert callback.json["type"] == 5
    body = await fake.edit_of_original(sent)
    assert_sendable(body)

    newest = sorted(ARTICLES, key=lambda a: a.date, reverse=True)[:3]
    assert [e["title"] for e in body["embeds"]] == [a.title for a in newest]
    dates = [e["footer"]["text"][:10] for e in body["embeds"]]
    assert dates == sorted(dates, reverse=True) == [a.date for a in newest]


async def test_latest_about_a_topic(fake: FakeDiscord, newsbot: NewsBot) -> None:
    sent = await fake.slash("latest", {"count": 10, "topic": "storm"})
    body = await fake.edit_of_original(sent)
    assert_sendable(body)
    titles = [e["title"] for e in body["embeds"]]
    assert titles == [
        "Storm Warning for the Coast",
        "Storm Damages Farm Sheds",
        "Schools Close Ahead of Storm",
    ]
