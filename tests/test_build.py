"""A generation's arrays built from literal stored rows (no database), checked against the slow way."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from newsbot.index.errors import IndexingError
from newsbot.index.ingest.blocks import BLOCK
from newsbot.index.ingest.build import ArticleRow, ParagraphRow, Stored, build, days
from newsbot.index.layout import ARRAYS, EPOCH, FLAG_HEADLINE, FLAG_JUNK, FLAG_NUMBER, LAYOUT, NO_DATE
from newsbot.index.ranking.bm25 import BM25Params, CountWeights, Weights
from newsbot.index.tokenizer import TokenizerSpec

PARAMS = BM25Params()
SPEC = TokenizerSpec()
N_TERMS = 12
NUMERIC = [0, 1]  # terms 0 and 1 hold a digit


def blob(terms: list[int]) -> bytes:
    return np.array(terms, dtype=np.uint32).tobytes()


def stored_rows(articles: list[tuple[str | None, list[int], list[tuple[list[int], int]]]]) -> Stored:
    """Rows as the store gives them: ids with gaps, paragraphs by article and position."""
    art_rows: list[ArticleRow] = []
    para_rows: list[ParagraphRow] = []
    for n, (date, title, paragraphs) in enumerate(articles):
        art_rows.append((3 * n + 2, date, blob(title)))
        for position, (terms, flags) in enumerate(paragraphs):
            para_rows.append((10 * n + position + 1, 3 * n + 2, position, blob(terms), flags))
    return Stored(art_rows, para_rows, N_TERMS, NUMERIC)


def dense(weights: Weights | CountWeights, term: int, n_docs: int) -> np.ndarray:
    docs, values, floor = weights.row(term)
    out = np.full(n_docs, floor)
    out[docs] += values
    return out


def test_a_small_generation() -> None:
    stored = stored_rows(
        [
            ("2026-10-02", [5, 6], [([5, 7, 8, 9], 0), ([0, 4], FLAG_JUNK)]),  # a byline holding a number
            (None, [1, 10], [([2, 3], FLAG_JUNK), ([11], FLAG_JUNK)]),  # a video page: its headline
            ("2026-10-03", [4], []),  # no paragraphs at all
        ]
    )
    info, arrays = build(stored, PARAMS, SPEC, number=7, built_at="then")
    assert set(arrays) == set(ARRAYS)
    # articles in date order, the undated first
    assert arrays["art_ids"].tolist() == [5, 2, 8]
    assert arrays["art_start"].tolist() == [0, 2, 4, 4]
    assert arrays["para_ids"].tolist() == [11, 12, 1, 2]
    assert arrays["para_article"].tolist() == [0, 0, 1, 1]
    day = (dt.date(2026, 10, 2) - EPOCH).days
    assert arrays["art_days"].tolist() == [NO_DATE, day, day + 1]
    assert arrays["para_days"].tolist() == [NO_DATE, NO_DATE, day, day]
    # the headline's first paragraph holds the title's terms first (and its number: term 1)
    assert arrays["para_len"].tolist() == [4, 1, 4, 2]
    assert arrays["para_flags"].tolist() == [FLAG_HEADLINE | FLAG_NUMBER, FLAG_JUNK, 0, FLAG_JUNK]
    assert info == {
        "generation": 7,
        "paragraphs": 4,
        "articles": 3,
        "terms": N_TERMS,
        "negative_weights": False,  # BM25Okapi with epsilon > 0 has no negative idf
        "article_k1": PARAMS.k1,
        "article_block": 1 << 16,
        "prune_block": BLOCK,
        "layout": LAYOUT,
        "bm25": dataclasses.asdict(PARAMS),
        "tokenizer": SPEC.to_json(),
        "built_at": "then",
    }


def test_paragraph_positions_with_gaps_are_refused() -> None:
    stored = stored_rows([(None, [1], [([2], 0), ([3], 0)])])
    first, second = stored.paragraphs
    gap = Stored(stored.articles, [first, (*second[:2], 2, *second[3:])], N_TERMS, NUMERIC)
    with pytest.raises(IndexingError, match="positions have gaps"):
        build(gap, PARAMS, SPEC, 1, "then")


terms = st.lists(st.integers(0, N_TERMS - 1), min_size=1, max_size=6)
paragraph = st.tuples(terms, st.sampled_from([0, FLAG_JUNK]))
article = st.tuples(
    st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)).map(dt.date.isoformat)),
    terms,
    st.lists(paragraph, max_size=4),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(article, min_size=1, max_size=6).filter(lambda a: any(p for _, _, p in a)))
def test_the_arrays_are_what_the_slow_way_gives(
    articles: list[tuple[str | None, list[int], list[tuple[list[int], int]]]],
) -> None:
    _, arrays = build(stored_rows(articles), PARAMS, SPEC, 1, "then")
    articles = sorted(articles, key=lambda a: days(a[0]))  # a generation holds them in date order
    docs: list[list[int]] = []  # each paragraph's BM25 document
    wholes: list[list[int]] = []  # each article's
    flags: list[int] = []
    para_days: list[int] = []
    for date, title, paragraphs in articles:
        video = bool(paragraphs) and all(f & FLAG_JUNK for _, f in paragraphs)
        for position, (own, stored_flag) in enumerate(paragraphs):
            if video and position == 0:
                docs.append(title + own)
                flags.append(FLAG_HEADLINE | (FLAG_NUMBER if set(title) & set(NUMERIC) else 0))
            else:
                docs.append(own)
                number = not stored_flag and set(own) & set(NUMERIC)
                flags.append(stored_flag | (FLAG_NUMBER if number else 0))
            para_days.append(days(date))
        wholes.append(([] if video else title) + [t for d in docs[len(docs) - len(paragraphs) :] for t in d])
    assert arrays["para_flags"].tolist() == flags
    assert arrays["para_len"].tolist() == [len(d) for d in docs]
    assert arrays["para_words"].tolist() == [min(len(d), 255) for d in docs]
    assert arrays["para_days"].tolist() == para_days

    def weights(prefix: str, n_docs: int) -> Weights:
        return Weights(
            arrays[f"{prefix}_indptr"],
            arrays[f"{prefix}_indices"],
            arrays[f"{prefix}_data"],
            arrays[f"{prefix}_floor"],
            n_docs,
        )

    body, titles = weights("w", len(docs)), weights("t", len(articles))
    whole = CountWeights(
        arrays["a_indptr"],
        arrays["a_indices"],
        arrays["a_tf"],
        arrays["a_idf"],
        arrays["a_k1_norm"],
        PARAMS.k1,
        len(articles),
    )
    by_paragraph = BM25Okapi(docs, k1=PARAMS.k1, b=PARAMS.b, epsilon=PARAMS.epsilon)
    by_title = BM25Okapi([t for _, t, _ in articles], k1=PARAMS.k1, b=PARAMS.b, epsilon=PARAMS.epsilon)
    by_article = BM25Okapi(wholes, k1=PARAMS.k1, b=PARAMS.article_b, epsilon=PARAMS.epsilon)
    for term in range(N_TERMS):
        np.testing.assert_allclose(dense(body, term, len(docs)), by_paragraph.get_scores([term]), atol=1e-9)
        np.testing.assert_allclose(dense(titles, term, len(articles)), by_title.get_scores([term]), atol=1e-9)
        np.testing.assert_allclose(
            dense(whole, term, len(articles)), by_article.get_scores([term]), atol=1e-9
        )
