"""/ask: defer, then the cited answer edited in; escaping, limits, long and unanswerable questions."""

from __future__ import annotations

import re

import pytest

from newsbot.bot.app import NewsBot

from .fake_discord import FakeDiscord, buttons, embed_text
from .helpers import answer_of

pytestmark = pytest.mark.e2e


async def test_ask_defers_then_edits_in_the_cited_answer(fake: FakeDiscord, newsbot: NewsBot) -> None:
    sent = await fake.slash("ask", {"question": "When did the harbour bridge reopen?"})
    body = await answer_of(fake, sent)

    requests = fake.for_interaction(sent)
    assert requests[0].path.endswith("/callback") and requests[0].json["type"] == 5
    first = body["embeds"][0]
    assert first["title"] == "Harbour Bridge Reopens After Repairs"
    assert first["url"] == "https://news.example.com/kestrel/2026/10/10/harbour-bridge"
    assert "2026-10-10" in first["footer"]["text"]
    assert "Kestrel Courier" in first["footer"]["text"]
    assert "2026-10-10-harbour-bridge.txt ¶" in first["footer"]["text"]
    assert re.search(r"\*\*[^*]*\bbridge\b[^*]*\*\*", first["description"], re.IGNORECASE), first[
        "description"
    ]
    assert "When did the harbour bridge reopen?" in body["content"]
    assert set(buttons(body)) == {"newsbot:more", "newsbot:full", "newsbot:up", "newsbot:down"}


async def test_article_mentions_and_markdown_are_escaped_and_ping_nobody(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    sent = await fake.slash("ask", {"question": "notice board prank @everyone <@123>"})
    body = await answer_of(fake, sent)  # allowed_mentions parse [] checked there

    text = embed_text(body)
    assert "Town Hall Notice Board Prank" in text
    assert "\u200beveryone" in text  # shown as text, in the article and in the echoed question
    for raw in ("@everyone", "<@123>", "<@&456>"):
        assert raw not in text, raw
    assert "<@\u200b123>" in text and "<@&\u200b456>" in text
    assert "\\*bold\\*" in text  # markdown from the article is escaped, not rendered
    assert "letters\\_with\\_underscores" in text


async def test_a_5000_character_question_is_answered_within_limits(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    question = ("What happened to the harbour bridge and the ferry services? " * 90)[:5000]
    assert len(question) == 5000
    sent = await fake.slash("ask", {"question": question})
    body = await answer_of(fake, sent)

    assert len(body["content"]) <= 2000
    assert body["embeds"], body
    assert any("Harbour Bridge" in e["title"] for e in body["embeds"])


async def test_a_question_without_a_match_shows_the_note(fake: FakeDiscord, newsbot: NewsBot) -> None:
    question = "zorbulent quaffling xylotrance"
    expected = (await newsbot.index.ask(question)).note
    assert expected

    sent = await fake.slash("ask", {"question": question})
    body = await answer_of(fake, sent)

    assert len(body["embeds"]) == 1
    assert body["embeds"][0]["title"] == "No good answer"
    assert body["embeds"][0]["description"].startswith(expected[:40])
    assert buttons(body) == {}  # nothing to page through or rate
