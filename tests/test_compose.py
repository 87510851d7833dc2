"""Composing a page of an answer and its notes, without a database: rows held in memory, arrays built
by hand (the parts of a generation that composing reads)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from newsbot.index.answer import notes
from newsbot.index.answer.compose import Page, compose
from newsbot.index.answer.dates import DateQuery
from newsbot.index.answer.source import GenerationSource, passages
from newsbot.index.config import AnswerSettings
from newsbot.index.layout import FLAG_HEADLINE, FLAG_JUNK
from newsbot.index.store.queries import ParagraphKey, ParagraphRow
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

TOKENIZER = Tokenizer()

# three articles: 10 (paragraphs 0-2), 20 (a video page: 3-4), 30 (paragraph 5)
ARTICLES = {10: "Tram line opens", 20: "Tram video", 30: "Council budget"}
TEXTS = {
    (10, 0): "The harbor tram opened to riders on Monday morning.",
    (10, 1): "Tickets for the tram cost two euros, the operator said.",
    (10, 2): "The tram line took four years to build.",
    (20, 0): "Watch the footage of the first tram ride.",
    (20, 1): "Sign up for our newsletter.",
    (30, 0): "The council budget adds money for the tram depot.",
}
GEN: Any = SimpleNamespace(
    para_article=np.array([0, 0, 0, 1, 1, 2]),
    art_start=np.array([0, 3, 5, 6]),
    art_ids=np.array([10, 20, 30]),
    para_flags=np.array([0, 0, 0, FLAG_HEADLINE, FLAG_JUNK, 0]),
)


def row(article: int, position: int) -> ParagraphRow:
    return ParagraphRow(
        id=article * 100 + position,
        position=position,
        text=TEXTS[article, position],
        article_id=article,
        title=ARTICLES[article],
        date="2026-10-01",
        source="Harbour Herald",
        url=None,
        path=f"{article}.txt",
    )


class Rows:
    """Lookups over rows held in memory, recording what was asked for."""

    def __init__(self, keys: list[ParagraphKey] | None = None) -> None:
        self.rows = {key: row(*key) for key in (keys if keys is not None else TEXTS)}
        self.asked: list[list[ParagraphKey]] = []

    async def term_ids(self, terms: list[str]) -> dict[str, int]:
        raise AssertionError("composing looks up no terms")

    async def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]:
        self.asked.append(keys)
        return {key: self.rows[key] for key in keys if key in self.rows}


async def page(
    ranked: list[tuple[int, float]],
    *,
    offset: int = 0,
    k: int = 3,
    everything: bool = True,
    rows: Rows | None = None,
) -> Page:
    return await compose(
        passages(GEN, ranked),
        {"tram"},
        offset=offset,
        k=k,
        everything=everything,
        lookups=rows or Rows(),
        tokenizer=TOKENIZER,
        settings=AnswerSettings(),
    )


async def test_a_page_cites_and_excerpts_its_passages_a_few_per_article() -> None:
    result = await page([(0, 9.0), (1, 8.0), (2, 7.0), (5, 6.0)])
    assert result.complete and not result.more
    # a third passage of article 10 is over the cap; its second, discounted to 8 × 0.85, still leads
    assert [(h.rank, h.article_id, h.paragraph) for h in result.hits] == [(1, 10, 0), (2, 10, 1), (3, 30, 0)]
    flipped = await page([(0, 9.0), (1, 6.5), (5, 6.0)])  # 6.5 × 0.85 < 6: another story comes first
    assert [(h.article_id, h.paragraph) for h in flipped.hits] == [(10, 0), (30, 0), (10, 1)]
    first = result.hits[0]
    assert (first.title, first.path, first.date, first.source, first.url) == (
        "Tram line opens",
        "10.txt",
        dt.date(2026, 10, 1),
        "Harbour Herald",
        None,
    )
    assert first.score == 9.0 and first.paragraph_id == 1000 and first.text == TEXTS[10, 0]
    marked = [first.excerpt.text[s:e] for s, e in first.excerpt.marks]
    assert marked == ["tram"]


async def test_a_video_page_is_shown_once_by_its_headline() -> None:
    result = await page([(4, 9.0), (3, 8.0), (0, 5.0)])
    assert [(h.article_id, h.paragraph, h.text) for h in result.hits] == [
        (20, None, "Tram video"),  # the title matches, so it stands for the page
        (10, 0, TEXTS[10, 0]),
    ]


async def test_rows_removed_since_the_generation_was_built_are_passed_over() -> None:
    rows = Rows([key for key in TEXTS if key != (10, 0)])
    result = await page([(0, 9.0), (5, 6.0)], rows=rows)
    assert [h.article_id for h in result.hits] == [30] and result.hits[0].rank == 1


async def test_rows_are_fetched_a_batch_at_a_time_until_the_page_is_full() -> None:
    rows = Rows()
    ranked = [(5, 10.0)] + [(0, 9.0 - i / 100) for i in range(200)]  # a long tail of one paragraph
    result = await page(ranked, k=1, rows=rows)
    assert [h.article_id for h in result.hits] == [30] and result.more
    assert len(rows.asked) == 1 and len(rows.asked[0]) <= 12


async def test_a_short_cut_ranking_is_not_settled() -> None:
    assert await page([(0, 9.0)], k=3, everything=False) == Page([], more=False, complete=False)


async def test_pages_are_slices_of_one_list() -> None:
    ranked = [(0, 9.0), (1, 8.0), (5, 6.0), (4, 5.0)]
    whole = [h.paragraph_id for h in (await page(ranked, k=4)).hits]
    paged = [h.paragraph_id for offset in range(4) for h in (await page(ranked, offset=offset, k=1)).hits]
    assert paged == whole and len(whole) == 4


# --- notes ------------------------------------------------------------------------------------
def test_a_question_without_words() -> None:
    assert notes.no_words("  ").startswith("Ask a question about the news")
    assert notes.no_words("what is the ?").startswith("Your question has no words to search for")


def test_none_of_the_words_are_known() -> None:
    note, respelt = notes.unknown("Harbour festivl?", TOKENIZER, {})
    assert respelt is None
    assert note == (
        "None of these words appear in the news I have: “Harbour”, “festivl”. "
        "Check the spelling, try other words, or see the latest stories."
    )
    note, respelt = notes.unknown("Harbour festivl?", TOKENIZER, {"festivl": "festival"})
    assert respelt == "Harbour festival?"
    assert note.endswith("“Harbour”, “festivl”. Did you mean “Harbour festival?” Or try other words.")


def test_some_words_are_missing() -> None:
    assert notes.missing("tram FESTIVL", TOKENIZER, {}) == (None, None)
    note, respelt = notes.missing("tram FESTIVL", TOKENIZER, {"festivl": "festival"})
    assert (note, respelt) == ("Not in the news: “FESTIVL”. Did you mean “tram FESTIVAL”?", "tram FESTIVAL")


def test_nothing_matches_well() -> None:
    assert notes.weak(DateQuery(), None).startswith("Nothing in the news matches well enough.")
    since = DateQuery(since=dt.date(2024, 1, 1))
    assert "from 2024-01-01 to now " in notes.weak(since, None)
    assert "from the start to 2024-02-01 " in notes.weak(DateQuery(), dt.date(2024, 2, 1))
    both = DateQuery(since=dt.date(2024, 1, 1), until=dt.date(2024, 3, 1))
    assert "from 2024-01-01 to 2024-02-01 " in notes.weak(both, dt.date(2024, 2, 1))


def term_counts(body: list[int], titles: list[int]) -> Any:
    """A generation whose term ``t`` is in ``body[t]`` paragraphs and ``titles[t]`` titles."""

    def indptr(counts: list[int]) -> SimpleNamespace:
        return SimpleNamespace(indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))

    return SimpleNamespace(body=lambda: indptr(body), titles=lambda: indptr(titles))


def test_term_use_counts_paragraphs_and_titles() -> None:
    gen = term_counts(body=[2, 0, 1], titles=[1, 0, 0])
    assert notes.term_use(gen, {"tram": 0, "gone": 1, "depot": 2, "newer": 7}) == {
        "tram": 3,
        "gone": 0,
        "depot": 1,
        "newer": 0,  # a term the vocabulary gained after the generation was built
    }


class Vocabulary:
    def __init__(self, ids: dict[str, int]) -> None:
        self.ids = ids

    async def term_ids(self, terms: list[str]) -> dict[str, int]:
        return {t: self.ids[t] for t in terms if t in self.ids}

    async def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]:
        raise AssertionError("spelling reads no rows")


@pytest.mark.parametrize("stem", [False, True])
async def test_spellings_are_words_the_generation_holds(stem: bool) -> None:
    lookups = Vocabulary({"festival": 0, "festive": 1, "gone": 2})
    gen = term_counts(body=[3, 1, 0], titles=[0, 0, 0])
    tokenizer = Tokenizer(TokenizerSpec(stem=stem))
    found = await notes.spellings(GenerationSource(gen, lookups), tokenizer, ["festivl", "gonne", "xy"])
    # "festivl" is one slip from both; the word in more paragraphs wins. "gone" is held by none any more.
    assert found == ({} if stem else {"festivl": "festival"})
