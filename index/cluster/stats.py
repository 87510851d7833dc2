"""Corpus-wide statistics over shards: each reports its own by word, the coordinator sums them, and
each shard weighs its postings with the sums (by its own term ids), so that every weight is what
one index of all the articles would hold. Which shard keeps an article follows from its text's
hash (:func:`shard_of`), so copies of one article meet on one shard and are kept once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsbot.index.ingest.build import CorpusStats
from newsbot.index.ranking.bm25 import DocStats, mean_idf

MATRICES = ("body", "titles", "articles")


def shard_of(text_hash: str, shards: int) -> int:
    """The shard that keeps the article with this text hash (``Article.text_hash``)."""
    return int(text_hash[-12:], 16) % shards


def cluster_id(local: int, shard: int, shards: int) -> int:
    """An article's cluster-wide number, from its id in shard ``shard``'s store."""
    return local * shards + shard


def located(article: int, shards: int) -> tuple[int, int]:
    """The shard holding the article of cluster-wide number ``article``, and its id there."""
    return article % shards, article // shards


@dataclass(frozen=True, slots=True)
class TermStats:
    """A shard's statistics by word (the words its vocabulary holds, in its term id order)."""

    terms: list[str]
    n_docs: tuple[int, int, int]  # documents of each matrix (MATRICES)
    total_len: tuple[int, int, int]
    df: tuple[np.ndarray, np.ndarray, np.ndarray]  # int64 per term, of each matrix


def term_stats(corpus: CorpusStats, vocabulary: Sequence[str]) -> TermStats:
    """``corpus`` (by term id) by word; ``vocabulary[i]`` is term id i's word."""
    docs = [getattr(corpus, m) for m in MATRICES]
    n = len(vocabulary)
    df = tuple(_sized(d.df, n) for d in docs)
    return TermStats(
        list(vocabulary),
        (docs[0].n_docs, docs[1].n_docs, docs[2].n_docs),
        (docs[0].total_len, docs[1].total_len, docs[2].total_len),
        (df[0], df[1], df[2]),
    )


def _sized(df: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    out[: min(n, len(df))] = df[:n]
    return out


@dataclass(frozen=True, slots=True)
class Totals:
    """Every shard's statistics summed, by word."""

    index: dict[str, int]  # word -> row of df
    n_docs: tuple[int, int, int]
    total_len: tuple[int, int, int]
    df: tuple[np.ndarray, np.ndarray, np.ndarray]
    mean_idf: tuple[float, float, float]


def total(parts: Sequence[TermStats]) -> Totals:
    """The sums of the shards' statistics."""
    index: dict[str, int] = {}
    for p in parts:
        for t in p.terms:
            index.setdefault(t, len(index))
    df = [np.zeros(len(index), dtype=np.int64) for _ in MATRICES]
    for p in parts:
        rows = np.fromiter((index[t] for t in p.terms), dtype=np.int64, count=len(p.terms))
        for m in range(len(MATRICES)):
            np.add.at(df[m], rows, p.df[m])
    n_docs = tuple(sum(p.n_docs[m] for p in parts) for m in range(3))
    lengths = tuple(sum(p.total_len[m] for p in parts) for m in range(3))
    means = tuple(mean_idf(df[m], n_docs[m]) for m in range(3))
    return Totals(index, n_docs, lengths, (df[0], df[1], df[2]), means)  # type: ignore[arg-type]


def for_shard(totals: Totals, vocabulary: Sequence[str]) -> CorpusStats:
    """The summed statistics by one shard's term ids (``vocabulary[i]``: term id i's word)."""
    rows = np.fromiter((totals.index.get(t, -1) for t in vocabulary), dtype=np.int64, count=len(vocabulary))
    present = rows >= 0
    docs = []
    for m in range(3):
        df = np.zeros(len(vocabulary), dtype=np.int64)
        df[present] = totals.df[m][rows[present]]
        docs.append(DocStats(totals.n_docs[m], totals.total_len[m], df, totals.mean_idf[m]))
    return CorpusStats(docs[0], docs[1], docs[2])
