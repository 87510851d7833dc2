"""The buttons under an answer: More (asker only), Full paragraph (ephemeral), feedback, timeout."""

from __future__ import annotations

import asyncio

import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.views import AnswerView

from .corpus import LONG_PARAGRAPH
from .fake_discord import FakeDiscord, Json, Sent, buttons
from .helpers import answer_of, assert_sendable, is_ephemeral, private_reply_of, refusal_of, settled

pytestmark = pytest.mark.e2e


def _footers(body: Json) -> list[str]:
    return [e["footer"]["text"] for e in body["embeds"]]


async def _ask(fake: FakeDiscord, question: str) -> tuple[Sent, Json, int]:
    sent = await fake.slash("ask", {"question": question}, user=fake.user)
    body = await answer_of(fake, sent)
    return sent, body, fake.original_id(sent)


async def test_more_pages_on_for_the_asker_only(fake: FakeDiscord, newsbot: NewsBot) -> None:
    _, first, message_id = await _ask(fake, "storm")
    assert len(first["embeds"]) == 3
    assert not buttons(first)["newsbot:more"].get("disabled")

    other = await fake.click(message_id, "newsbot:more", user=fake.user2)
    assert "only the person who asked" in (await refusal_of(fake, other)).lower()

    mine = await fake.click(message_id, "newsbot:more", user=fake.user)
    callback = await fake.callback(mine)
    assert callback.json["type"] == 6  # deferred update of the message with the button
    second = await fake.edit_of_original(mine)
    assert_sendable(second)
    assert "passages 4–6" in second["content"]
    assert len(second["embeds"]) == 3
    assert not set(_footers(first)) & set(_footers(second))
    assert all("storm" in e["description"].lower() for e in second["embeds"])
    assert buttons(second)["newsbot:more"].get("disabled") is True  # six passages in all
    assert fake.messages[message_id]["embeds"] == second["embeds"]  # the same message was edited


async def test_full_paragraph_is_ephemeral_and_split_to_limits(fake: FakeDiscord, newsbot: NewsBot) -> None:
    _, body, message_id = await _ask(fake, "quarry budget allocation gravel culvert")
    assert any(e["title"] == "Quarry Budget Details Published" for e in body["embeds"])

    sent = await fake.click(message_id, "newsbot:full", user=fake.user2)  # anyone may read more
    callback = await fake.callback(sent)
    assert callback.json["type"] == 4 and is_ephemeral(callback.json["data"])
    followups = await fake.wait_for(
        lambda r: r.method == "POST" and r.path == f"/webhooks/{fake.app_id}/{sent.token}"
    )
    await settled(fake, newsbot)  # any further follow-up has been sent by now
    messages = [callback.json["data"], followups.json, *[r.json for r in fake.for_interaction(sent)[2:]]]
    descriptions = []
    for message in messages:
        assert is_ephemeral(message)
        assert_sendable(message)
        descriptions += [e.get("description") or "" for e in message["embeds"]]
    joined = " ".join(descriptions)
    assert LONG_PARAGRAPH in joined  # the whole 7,500-character paragraph, over several embeds
    assert max(len(d) for d in descriptions) <= 4096
    assert len(LONG_PARAGRAPH) > 4096


async def test_feedback_buttons_are_recorded(fake: FakeDiscord, newsbot: NewsBot) -> None:
    _, _, message_id = await _ask(fake, "library funding")
    votes = [(fake.user, "newsbot:up"), (fake.user2, "newsbot:down"), (fake.admin, "newsbot:up")]
    votes.append((fake.admin, "newsbot:down"))  # changes their mind: the last vote counts
    for person, button in votes:
        sent = await fake.click(message_id, button, user=person)
        assert "thanks" in (await private_reply_of(fake, sent)).lower()

    stats = await newsbot.index.stats()
    assert (stats.feedback_up, stats.feedback_down) == (1, 2)


class TestTimeout:
    @pytest.fixture
    def discord_options(self) -> dict[str, object]:
        return {"more_timeout_seconds": 0.2}

    async def test_buttons_are_disabled_when_the_view_times_out(
        self, fake: FakeDiscord, newsbot: NewsBot
    ) -> None:
        sent, body, _ = await _ask(fake, "storm")
        assert not any(b.get("disabled") for b in buttons(body).values())
        edited = await fake.edit_of_original(
            sent,
            lambda b: bool(b.get("components")) and all(x.get("disabled") for x in buttons(b).values()),
            within=3,
        )
        assert set(buttons(edited)) == set(buttons(body))
        assert edited.get("embeds", body["embeds"]) == body["embeds"]  # only the buttons changed


async def test_a_misspelt_question_offers_its_respelling_to_the_asker(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    _, body, message_id = await _ask(fake, "stomr in the vally")
    assert body["embeds"][0]["title"] == "No good answer"
    assert "Did you mean “storm in the valley”?" in body["embeds"][0]["description"]
    assert set(buttons(body)) == {"newsbot:respelt"}  # nothing to page, read or rate yet
    assert buttons(body)["newsbot:respelt"]["label"] == "Search: storm in the valley"

    other = await fake.click(message_id, "newsbot:respelt", user=fake.user2)
    assert "only the person who asked" in (await refusal_of(fake, other)).lower()

    mine = await fake.click(message_id, "newsbot:respelt", user=fake.user)
    assert (await fake.callback(mine)).json["type"] == 6  # deferred update of the message
    answer = await fake.edit_of_original(mine)
    assert_sendable(answer)
    assert "storm in the valley" in answer["content"] and answer["embeds"]
    assert all("storm" in e["description"].lower() for e in answer["embeds"])
    assert set(buttons(answer)) == {"newsbot:more", "newsbot:full", "newsbot:up", "newsbot:down"}


async def test_an_answer_that_left_out_a_misspelt_word_offers_the_respelling(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    _, body, message_id = await _ask(fake, "storm farmrs")
    assert body["embeds"] and "Not in the news: “farmrs”. Did you mean “storm farmers”?" in body["content"]
    every = {"newsbot:more", "newsbot:full", "newsbot:up", "newsbot:down"}
    assert set(buttons(body)) == every | {"newsbot:respelt"}

    # pressed twice at once: one new answer, one edit, one live view on the message
    first, second = await asyncio.gather(
        fake.click(message_id, "newsbot:respelt", user=fake.user),
        fake.click(message_id, "newsbot:respelt", user=fake.user),
    )
    for sent in (first, second):
        assert (await fake.callback(sent)).json["type"] == 6
    await settled(fake, newsbot)  # both presses handled: any second edit has been sent by now
    edits = [r for sent in (first, second) for r in fake.for_interaction(sent) if r.method == "PATCH"]
    assert len(edits) == 1
    answer = edits[0].json
    assert_sendable(answer)
    assert "storm farmers" in answer["content"] and "Not in the news" not in answer["content"]
    assert any("farmers" in e["description"].lower() for e in answer["embeds"])
    assert set(buttons(answer)) == every
    live = [
        v for v in newsbot.views if isinstance(v, AnswerView) and v.message and v.message.id == message_id
    ]
    assert [v.answer.question for v in live] == ["storm farmers"]
