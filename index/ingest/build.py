"""A generation's arrays, computed from the stored rows.

Pure array work (no database, no files), so that it can be checked on a few literal rows against a
computation done the slow way. The reindex reads the rows inside its write transaction and writes the
arrays with ``generation.write``; what each array holds is described in ``newsbot.index.layout``.

Three BM25 matrices are built: paragraphs, titles, and whole articles (an article's title and
paragraphs as one document, kept as counts). An article with nothing but junk paragraphs (a video
page: a headline over a player's feedback form) is found by its headline: its first paragraph's
document is the title's terms followed by its own, and it is flagged ``FLAG_HEADLINE``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from newsbot.index import generation
from newsbot.index.errors import IndexingError
from newsbot.index.ingest.blocks import BLOCK, block_bounds
from newsbot.index.layout import EPOCH, FLAG_HEADLINE, FLAG_JUNK, FLAG_NUMBER, LAYOUT, NO_DATE
from newsbot.index.ranking.bm25 import (
    BM25Params,
    CountWeights,
    DocStats,
    Weights,
    article_counts,
    count_matrix,
    count_weights,
    doc_stats,
    weigh,
)

if TYPE_CHECKING:
    import scipy.sparse as sp  # type: ignore[import-untyped]  # scipy ships no types

    from newsbot.index.tokenizer import TokenizerSpec

ArticleRow = tuple[int, str | None, bytes]  # (id, ISO date or None, title terms)
ParagraphRow = tuple[int, int, int, bytes, int]  # (id, article id, position, terms, flags)
Arrays = dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class Stored:
    """What a build reads from the store. Terms are uint32 ids, 4 bytes each."""

    articles: Sequence[ArticleRow]  # by id
    paragraphs: Sequence[ParagraphRow]  # by article id, then position; every flag known
    n_terms: int  # one more than the largest term id
    numeric: list[int]  # the ids of the terms that hold an ASCII digit
    keys: Sequence[int] | None = None  # each article's article_key, in ``articles``' order (None: its id)


def days(date: str | None) -> int:
    """An ISO date as days since ``EPOCH``; ``NO_DATE`` for none."""
    return (dt.date.fromisoformat(date) - EPOCH).days if date else NO_DATE


def headline_documents(
    blobs: list[bytes], title_blobs: list[bytes], para_flags: np.ndarray, art_start: np.ndarray
) -> np.ndarray:
    """The paragraphs as BM25 documents: an article with nothing but junk paragraphs (a video page:
    a headline over a player's feedback form) is found by its headline, so its first paragraph's
    document is the title's terms followed by its own (``blobs`` is changed in place). Returns the
    numbers of those articles.

    ``blobs``: each paragraph's terms (uint32 ids), in article and position order; ``title_blobs``:
    each article's title terms; ``para_flags``: the stored flags; ``art_start``: where each article's
    paragraphs start in ``blobs`` (one more entry than there are articles).
    """
    n_art = len(art_start) - 1
    para_article = np.repeat(np.arange(n_art), np.diff(art_start))
    real = np.bincount(para_article, weights=(para_flags & FLAG_JUNK) == 0, minlength=n_art)
    headline = np.flatnonzero((real == 0) & (art_start[1:] > art_start[:-1]))
    for a in headline:
        blobs[art_start[a]] = title_blobs[a] + blobs[art_start[a]]
    return headline


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """The corpus-wide figures of the three matrices (by this store's term ids): a build's own, or a
    cluster's, every shard's summed (``newsbot.index.cluster``), so that a shard's weights are what
    one index of every shard's articles would hold."""

    body: DocStats
    titles: DocStats
    articles: DocStats


@dataclass(slots=True)
class Counted:
    """A build's first half: the rows in date order, where everything is, and the three count
    matrices, from which the statistics are read before the weights are computed."""

    stored: Stored
    arrays: Arrays
    headline: np.ndarray  # the numbers of the articles found by their headline
    para_len: np.ndarray
    t_len: np.ndarray
    a_len: np.ndarray
    counts: sp.csr_matrix  # term by paragraph
    t_counts: sp.csr_matrix  # term by article title
    whole: sp.csr_matrix  # term by whole article

    def stats(self) -> CorpusStats:
        return CorpusStats(
            doc_stats(self.counts, self.para_len),
            doc_stats(self.t_counts, self.t_len),
            doc_stats(self.whole, self.a_len),
        )


def build(
    stored: Stored,
    params: BM25Params,
    spec: TokenizerSpec,
    number: int,
    built_at: str,
    corpus: CorpusStats | None = None,
) -> tuple[dict[str, Any], Arrays]:
    """Generation ``number``'s ``info.json`` and arrays, weighed with ``corpus`` (default: its own
    statistics). Raises IndexingError when the stored paragraph positions have gaps (the ranking
    derives a paragraph's position from its place)."""
    return finish(count(stored), params, spec, number, built_at, corpus)


def count(stored: Stored) -> Counted:
    """The first half of a build: order, place and count (see :class:`Counted`)."""
    stored = date_order(stored)
    arrays = _places(stored)
    n_art, n_par = len(stored.articles), len(stored.paragraphs)
    para_article, art_start, para_flags = arrays["para_article"], arrays["art_start"], arrays["para_flags"]
    t_blobs = [r[2] for r in stored.articles]
    blobs = [r[3] for r in stored.paragraphs]
    # its whole-article document keeps the title's words once
    headline = headline_documents(blobs, t_blobs, para_flags, art_start)
    para_flags[art_start[headline]] = FLAG_HEADLINE
    para_len = np.array([len(b) // 4 for b in blobs], dtype=np.int32)
    tokens = np.frombuffer(b"".join(blobs), dtype=np.uint32)
    doc_of = np.repeat(np.arange(n_par, dtype=np.int32), para_len)
    counts = count_matrix(tokens, doc_of, stored.n_terms, n_par)
    _flag_numbers(para_flags, tokens, doc_of, t_blobs, headline, art_start, stored)
    del doc_of, tokens, blobs
    t_len = np.array([len(b) // 4 for b in t_blobs], dtype=np.int32)
    t_tokens = np.frombuffer(b"".join(t_blobs), dtype=np.uint32)
    t_doc = np.repeat(np.arange(n_art, dtype=np.int32), t_len)
    t_counts = count_matrix(t_tokens, t_doc, stored.n_terms, n_art)
    # each whole article (title and paragraphs) as one document: its paragraphs' counts summed
    once = np.ones(n_art, dtype=np.int32)
    once[headline] = 0  # the headline is already in such an article's first paragraph
    whole = article_counts(counts, para_article, n_art)
    whole = whole + (
        t_counts.multiply(once[None, :].astype(t_counts.dtype)).tocsr() if len(headline) else t_counts
    )
    whole.sort_indices()
    a_len = np.bincount(para_article, weights=para_len, minlength=n_art).astype(np.int64) + t_len * once
    return Counted(stored, arrays, headline, para_len, t_len, a_len, counts, t_counts, whole)


def finish(
    counted: Counted,
    params: BM25Params,
    spec: TokenizerSpec,
    number: int,
    built_at: str,
    corpus: CorpusStats | None = None,
) -> tuple[dict[str, Any], Arrays]:
    """The second half of a build: the weights (with ``corpus``, default the counts' own statistics),
    the bounds and the info. Frees the counts as it goes."""
    c = counted
    corpus = corpus or c.stats()
    body = weigh(c.counts, c.para_len, params, corpus.body)
    titles = weigh(c.t_counts, c.t_len, params, corpus.titles)
    c.counts = c.t_counts = None  # type: ignore[assignment]  # (freed: the weights are what is kept)
    article_params = dataclasses.replace(params, b=params.article_b)
    articles = count_weights(c.whole, c.a_len, article_params, stats=corpus.articles)
    c.whole = None  # type: ignore[assignment]
    arrays = c.arrays
    arrays |= {
        "para_len": c.para_len,
        "para_days": arrays["art_days"][arrays["para_article"]],
        "para_words": generation.words_of(c.para_len),
        **_weight_arrays(body, titles, articles),
        **block_bounds(body, articles, arrays["art_start"]),
    }
    return _info(c.stored, params, spec, number, built_at, body, titles, articles), arrays


def article_key(text_hash: str) -> int:
    """An article's stable key, from the hash of its text (``Article.text_hash``): the same on every
    shard and in every build, unlike its row id. 60 bits: a non-negative int64."""
    return int(text_hash[:15], 16)


def date_order(stored: Stored) -> Stored:
    """``stored`` with its articles in date order (undated first; one day's by key, see
    :func:`article_key`), each followed by its paragraphs: then a block of consecutive paragraphs
    covers a few days, which the pruned ranking's bounds rely on (``blocks.py``), and equal scores
    rank in the same order wherever the article is kept (one index or any shard of a cluster). Every
    build orders anew, so incremental reindexes keep it."""
    arts = stored.articles
    day = [days(r[1]) for r in arts]
    keys = stored.keys if stored.keys is not None else [r[0] for r in arts]
    order = sorted(range(len(arts)), key=lambda i: (day[i], keys[i], arts[i][0]))
    if all(i == n for n, i in enumerate(order)):
        return stored
    owner = np.fromiter((r[1] for r in stored.paragraphs), dtype=np.int64, count=len(stored.paragraphs))
    ids = np.array([r[0] for r in arts], dtype=np.int64)
    lo, hi = np.searchsorted(owner, ids, "left"), np.searchsorted(owner, ids, "right")
    paras = stored.paragraphs
    if int((hi - lo).sum()) != len(paras):
        raise IndexingError("the store holds paragraphs of no article; the previous index is serving")
    moved = [paras[j] for i in order for j in range(lo[i], hi[i])]
    ordered = [keys[i] for i in order]
    return dataclasses.replace(stored, articles=[arts[i] for i in order], paragraphs=moved, keys=ordered)


def _places(stored: Stored) -> Arrays:
    """Where each paragraph and article is: ids, article numbers, dates, the stored flags."""
    art_ids = np.array([r[0] for r in stored.articles], dtype=np.int64)
    art_days = np.array([days(r[1]) for r in stored.articles], dtype=np.int32)
    art_index = {int(a): i for i, a in enumerate(art_ids)}
    n_art, n_par = len(stored.articles), len(stored.paragraphs)
    para_article = np.array([art_index[r[1]] for r in stored.paragraphs], dtype=np.int32)
    para_position = np.array([r[2] for r in stored.paragraphs], dtype=np.int32)
    art_start = np.zeros(n_art + 1, dtype=np.int64)
    np.cumsum(np.bincount(para_article, minlength=n_art), out=art_start[1:])
    # a paragraph's position is its place in its article (the ranking and answers derive it)
    if not np.array_equal(para_position, np.arange(n_par) - art_start[para_article]):
        raise IndexingError("the store's paragraph positions have gaps; the previous index is serving")
    return {
        "para_ids": np.array([r[0] for r in stored.paragraphs], dtype=np.int64),
        "para_article": para_article,
        "para_flags": np.array([r[4] for r in stored.paragraphs], dtype=np.uint8),
        "art_ids": art_ids,
        "art_days": art_days,
        "art_start": art_start,
        "art_keys": np.array(stored.keys if stored.keys is not None else art_ids, dtype=np.int64),
    }


def _flag_numbers(
    para_flags: np.ndarray,
    tokens: np.ndarray,
    doc_of: np.ndarray,
    t_blobs: list[bytes],
    headline: np.ndarray,
    art_start: np.ndarray,
    stored: Stored,
) -> None:
    """Set ``FLAG_NUMBER`` on the paragraphs, not junk, that hold a term with a digit."""
    is_number = np.zeros(stored.n_terms, dtype=bool)
    is_number[stored.numeric] = True
    has_number = np.zeros(len(para_flags), dtype=bool)
    has_number[doc_of[is_number[tokens]]] = True
    for a in headline:  # a headline's number, not the form's ("1. How relevant is this ad …")
        has_number[art_start[a]] = is_number[np.frombuffer(t_blobs[a], dtype=np.uint32)].any()
    para_flags[has_number & (para_flags & FLAG_JUNK == 0)] |= FLAG_NUMBER


def _weight_arrays(body: Weights, titles: Weights, articles: CountWeights) -> Arrays:
    return {
        "w_indptr": body.indptr,
        "w_indices": body.indices,
        "w_data": body.data,
        "w_floor": body.floor,
        "t_indptr": titles.indptr,
        "t_indices": titles.indices,
        "t_data": titles.data,
        "t_floor": titles.floor,
        "a_indptr": articles.indptr,
        "a_indices": articles.indices,
        "a_tf": articles.tf,
        "a_idf": articles.idf,
        "a_k1_norm": articles.k1_norm,
    }


def _info(
    stored: Stored,
    params: BM25Params,
    spec: TokenizerSpec,
    number: int,
    built_at: str,
    body: Weights,
    titles: Weights,
    articles: CountWeights,
) -> dict[str, Any]:
    """The generation's ``info.json``."""
    return {
        "generation": number,
        "paragraphs": len(stored.paragraphs),
        "articles": len(stored.articles),
        "terms": stored.n_terms,
        # the compiled ranking needs to know (see compiled.py)
        "negative_weights": any(len(w) and w.min() < 0 for w in (body.data, titles.data, articles.idf)),
        "article_k1": articles.k1,
        "article_block": articles.block,
        "prune_block": BLOCK,
        "layout": LAYOUT,
        "bm25": {
            "variant": params.variant,
            "k1": params.k1,
            "b": params.b,
            "epsilon": params.epsilon,
            "delta": params.delta,
            "article_b": params.article_b,
        },
        "tokenizer": spec.to_json(),
        "built_at": built_at,
    }
