"""Questions asked by mentioning the bot: answered as a reply, only where configured."""

from __future__ import annotations

import pytest

from newsbot.bot.app import NewsBot

from .fake_discord import FakeDiscord, Json, Request, buttons
from .helpers import assert_sendable

pytestmark = pytest.mark.e2e


def _replies(fake: FakeDiscord) -> list[Request]:
    return [r for r in fake.requests if r.method == "POST" and r.path.startswith("/channels/")]


async def _reply_to(fake: FakeDiscord, message: Json) -> Json:
    req = await fake.wait_for(
        lambda r: (
            r.method == "POST"
            and r.path == f"/channels/{message['channel_id']}/messages"
            and str((r.json.get("message_reference") or {}).get("message_id")) == message["id"]
        )
    )
    return req.json


async def test_a_mention_is_answered_as_a_reply(fake: FakeDiscord, newsbot: NewsBot) -> None:
    message = await fake.post_message(f"<@{fake.app_id}> when did the harbour bridge reopen?")
    body = await _reply_to(fake, message)

    assert_sendable(body)
    assert body["allowed_mentions"].get("replied_user") is False
    assert str(body["message_reference"]["message_id"]) == message["id"]
    assert body["embeds"][0]["title"] == "Harbour Bridge Reopens After Repairs"
    assert "when did the harbour bridge reopen?" in body["content"]
    assert f"<@{fake.app_id}>" not in body["content"]
    assert "newsbot:more" in buttons(body)


async def test_mentions_elsewhere_and_plain_messages_are_ignored(fake: FakeDiscord, newsbot: NewsBot) -> None:
    await fake.post_message(f"<@{fake.app_id}> harbour bridge?", channel_id=fake.quiet_channel_id)
    await fake.post_message("harbour bridge? (no mention)", mention_bot=False)
    await fake.post_message("@newsbot harbour bridge? (typed, not a mention)", mention_bot=False)
    await fake.post_message(f"<@{fake.app_id}> a bot asking", user=fake.bot)
    sentinel = await fake.post_message(f"<@!{fake.app_id}> marathon record")  # nickname form works too
    body = await _reply_to(fake, sentinel)

    assert body["embeds"][0]["title"] == "Riverside Marathon Won by Oduya"
    assert len(_replies(fake)) == 1


async def test_a_bare_mention_gets_help(fake: FakeDiscord, newsbot: NewsBot) -> None:
    message = await fake.post_message(f"<@{fake.app_id}>")
    body = await _reply_to(fake, message)
    assert_sendable(body)
    assert body["content"].startswith("Ask me something")


class TestAnyChannel:
    @pytest.fixture
    def discord_options(self) -> dict[str, object]:
        return {"mention_channel_ids": []}

    async def test_with_no_channels_configured_any_channel_works(
        self, fake: FakeDiscord, newsbot: NewsBot
    ) -> None:
        message = await fake.post_message(f"<@{fake.app_id}> storm", channel_id=fake.quiet_channel_id)
        body = await _reply_to(fake, message)
        assert "Storm" in body["embeds"][0]["title"]
