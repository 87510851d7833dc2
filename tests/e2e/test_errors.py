"""Errors become short ephemeral lines; unexpected ones are logged with a reference; the bot survives."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from newsbot.bot.app import NewsBot
from newsbot.index.api import NewsIndex
from newsbot.index.model import Answer

from .fake_discord import FakeDiscord
from .helpers import answer_of, assert_sendable, is_ephemeral, private_reply_of, refusal_of, settled

pytestmark = pytest.mark.e2e


async def test_an_exception_in_a_handler_is_reported_and_the_bot_survives(
    fake: FakeDiscord, newsbot: NewsBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_ask = NewsIndex.ask
    calls = 0

    async def ask_failing_once(self: NewsIndex, question: str, **kwargs: Any) -> Answer:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("disk on fire")
        return await real_ask(self, question, **kwargs)

    monkeypatch.setattr(NewsIndex, "ask", ask_failing_once)
    caplog.set_level(logging.ERROR, logger="bot")

    sent = await fake.slash("ask", {"question": "harbour bridge"})
    assert (await fake.callback(sent)).json["type"] == 5
    line = await fake.followup(sent)
    assert is_ephemeral(line)
    assert_sendable(line)
    ref = re.search(r"reference `([0-9a-f]{8})`", line["content"])
    assert ref, line["content"]
    assert "disk on fire" not in line["content"]  # no internals shown to the user
    methods = [r.method for r in fake.for_interaction(sent)]
    assert methods == ["POST", "DELETE", "POST"]  # defer, drop the "thinking" placeholder, ephemeral line
    logged = [r for r in caplog.records if ref.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "disk on fire" in str(logged[0].exc_info[1])

    again = await fake.slash("ask", {"question": "harbour bridge"})
    body = await answer_of(fake, again)
    assert body["embeds"][0]["title"] == "Harbour Bridge Reopens After Repairs"


async def test_an_exception_in_a_button_is_reported(
    fake: FakeDiscord, newsbot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = await fake.slash("ask", {"question": "library funding"})
    await answer_of(fake, sent)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("feedback table missing")

    monkeypatch.setattr(NewsIndex, "record_feedback", broken)
    click = await fake.click(fake.original_id(sent), "newsbot:up")
    text = await private_reply_of(fake, click)
    assert "something went wrong" in text and "reference" in text


class TestEmptyIndex:
    @pytest.fixture
    def indexed(self) -> bool:
        return False

    async def test_questions_before_any_indexing_get_the_core_message(
        self, fake: FakeDiscord, newsbot: NewsBot
    ) -> None:
        assert newsbot.index.is_empty
        sent = await fake.slash("ask", {"question": "harbour bridge"})
        line = await fake.followup(sent)
        assert is_ephemeral(line)
        assert "nothing is indexed yet" in line["content"]

        latest = await fake.slash("latest")
        assert "nothing is indexed yet" in (await fake.followup(latest))["content"]

        message = await fake.post_message(f"<@{fake.app_id}> harbour bridge")
        reply = await fake.wait_for(lambda r: r.method == "POST" and r.path.startswith("/channels/"))
        assert "nothing is indexed yet" in reply.json["content"]
        assert str(reply.json["message_reference"]["message_id"]) == message["id"]


class TestCooldown:
    @pytest.fixture
    def discord_options(self) -> dict[str, object]:
        return {"cooldown_questions": 3, "cooldown_seconds": 60.0}

    async def test_the_question_after_the_allowance_is_refused(
        self, fake: FakeDiscord, newsbot: NewsBot
    ) -> None:
        for question in ("harbour bridge", "marathon", "library"):
            await answer_of(fake, await fake.slash("ask", {"question": question}, user=fake.user))

        fourth = await fake.slash("ask", {"question": "storm"}, user=fake.user)
        text = await refusal_of(fake, fourth)
        assert re.search(r"ask again in \d+ s", text), text
        await settled(fake, newsbot)
        assert len(fake.for_interaction(fourth)) == 1  # refused before deferring; nothing was asked

        # mentions draw on the same allowance
        message = await fake.post_message(f"<@{fake.app_id}> storm", user=fake.user)
        reply = await fake.wait_for(lambda r: r.method == "POST" and r.path.startswith("/channels/"))
        assert "ask again in" in reply.json["content"] and not reply.json["embeds"]
        assert str(reply.json["message_reference"]["message_id"]) == message["id"]

        # other people are not affected
        other = await fake.slash("ask", {"question": "storm"}, user=fake.user2)
        assert (await answer_of(fake, other))["embeds"]
        await settled(fake, newsbot)  # the questions are logged in the background
        stats = await newsbot.index.stats()
        assert stats.questions == 4  # the refused ones were never asked
