"""Questions that ask for a number, and the paragraphs that hold one (index/answer_type.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from newsbot.index.answer.answer_type import wants_number
from newsbot.index.api import NewsIndex
from newsbot.index.layout import FLAG_JUNK, FLAG_NUMBER
from newsbot.index.ranking.search import RankParams, Window, rank

from .helpers import make_settings, write_article


@pytest.mark.parametrize(
    "question",
    [
        "How many monuments remain standing?",
        "how much is the deal worth",
        "What percentage of voters turned out?",
        "What year did Musk buy Twitter?",
        "By how much did prices rise in May?",
        "The rover landed. HOW   LONG will it operate?",
        "In which year did the war end?",
        "What's the interest rate now?",
        "What is the population of Lagos?",
    ],
)
def test_questions_that_ask_for_a_number(question: str) -> None:
    assert wants_number(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who won the election?",
        "Which state passed the bill?",
        "What did AT&T shut down?",
        "How far-right parties won the vote",
        "How long-running is the show?",
        "",
        "showmany",
    ],
)
def test_questions_that_do_not(question: str) -> None:
    assert not wants_number(question)


async def test_a_question_asking_for_a_number_prefers_paragraphs_that_hold_one(tmp_path: Path) -> None:
    news = tmp_path / "news"
    write_article(
        news,
        "bridge.txt",
        "Bridge repairs",
        [
            "Crews began the bridge repairs on the harbour road this morning, the council said.",
            "The bridge repairs on the harbour road will cost the council about 4 million dollars.",
        ],
    )
    for i in range(20):
        write_article(news, f"n{i}.txt", f"Noise {i}", ["Gardens and parks and flowers in the spring sun."])
    async with await NewsIndex.open(make_settings(tmp_path, [news])) as index:
        await index.reindex()
        gen = await index.current_generation()
        flags = np.asarray(gen.para_flags)
        sizes = np.diff(np.asarray(gen.art_start))
        start = int(gen.art_start[int(np.flatnonzero(sizes == 2)[0])])  # bridge.txt's first paragraph
        assert (
            flags[start] & FLAG_NUMBER == 0 and flags[start + 1] & FLAG_NUMBER
        )  # "4" is a word with a digit
        assert not (flags & FLAG_JUNK).any()
        terms = list((await index.term_ids(["bridge", "repairs", "harbour", "road", "council"])).values())
        params = RankParams(lead_boost=0, neighbour_weight=0, recency_days=0, short_power=0)
        plain = rank(gen, terms, Window(), params, 5)
        asked = rank(gen, terms, Window(numbers=True), params, 5)
        assert [p - start for p, _ in plain] == [0, 1]  # the shorter paragraph, by BM25
        assert [p - start for p, _ in asked] == [1, 0]
        assert asked[0][1] == pytest.approx(dict(plain)[start + 1] * (1 + params.number_boost))
        # the same through ask(): the question's words decide
        how_much = await index.ask("How much will the bridge repairs on the harbour road cost the council?")
        assert how_much.hits[0].paragraph == 1
        other = await index.ask("Bridge repairs on the harbour road by the council")
        assert other.hits[0].paragraph == 0
