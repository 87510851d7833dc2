"""Rank paragraphs for a question over one generation: BM25 plus what makes news retrieval good.

A paragraph's score is its BM25 score, plus a share of its article title's BM25 score, of its
neighbours' scores and of its article's best paragraph; junk paragraphs (bylines, captions) are
damped; articles dated after "now" are invisible and a date range in the question narrows the
search; a recency prior favours stories close to "now". Only the paragraphs that hold a query
term are ever looked at, so the cost follows the query's postings, not the corpus size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .bm25 import scores
from .generation import NO_DATE, Generation
from .indexer import EPOCH, FLAG_JUNK


@dataclass(frozen=True, slots=True)
class RankParams:
    title_weight: float = 0.3
    neighbour_weight: float = 0.1
    article_weight: float = 0.2
    junk_factor: float = 0.2
    recency_days: float = 30.0  # 0 turns the recency prior off
    recency_boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Window:
    """Which articles may be seen: none dated after ``until``; none before ``since``."""

    since: dt.date | None = None
    until: dt.date | None = None
    now: dt.date | None = None  # the reference for recency (usually the "as of" date)


def _day(date: dt.date | None) -> int | None:
    return (date - EPOCH).days if date else None


def rank(
    gen: Generation, term_ids: list[int], window: Window, params: RankParams, limit: int
) -> list[tuple[int, float]]:
    """The best ``limit`` paragraphs as ``(paragraph number, score)``, best first."""
    if not term_ids or gen.n_paragraphs == 0:
        return []
    dense, touched, constant = scores(gen.body(), term_ids)
    if len(touched) == 0:
        return []
    base = dense[touched]
    article = np.asarray(gen.para_article)[touched]
    days = np.asarray(gen.art_days)[article]
    keep = np.ones(len(touched), dtype=bool)
    since, until = _day(window.since), _day(window.until)
    dated = days != NO_DATE
    if until is not None:
        keep &= ~dated | (days <= until)
    if since is not None:
        keep &= dated & (days >= since)
    if not keep.any():
        return []
    touched, base, article, days, dated = touched[keep], base[keep], article[keep], days[keep], dated[keep]
    total = base.copy()
    if params.title_weight:
        t_dense, t_touched, _ = scores(gen.titles(), term_ids)
        if len(t_touched):
            total += params.title_weight * t_dense[article]
    if params.neighbour_weight:
        start = np.asarray(gen.art_start)
        prev_ok = touched > start[article]
        next_ok = touched + 1 < start[article + 1]
        prev = np.where(prev_ok, dense[np.maximum(touched - 1, 0)], 0.0)
        nxt = np.where(next_ok, dense[np.minimum(touched + 1, len(dense) - 1)], 0.0)
        total += params.neighbour_weight * (prev + nxt)
    if params.article_weight:
        best = np.zeros(gen.n_articles)
        np.maximum.at(best, article, base)
        total += params.article_weight * best[article]
    if params.junk_factor != 1.0:
        junk = (np.asarray(gen.para_flags)[touched] & FLAG_JUNK) != 0
        total = np.where(junk, total * params.junk_factor, total)
    now = _day(window.now)
    if params.recency_days > 0 and now is not None:
        age = np.clip(now - days, 0, None).astype(np.float64)
        prior = 1.0 + params.recency_boost * np.exp(-age / params.recency_days)
        total = np.where(dated, total * prior, total)
    total = total + constant
    n = min(limit, len(total))
    top = np.argpartition(-total, n - 1)[:n] if n < len(total) else np.arange(len(total))
    top = top[np.lexsort((touched[top], -total[top]))]
    return [(int(touched[i]), float(total[i])) for i in top]


def article_matches(gen: Generation, term_ids: list[int]) -> np.ndarray:
    """Article numbers whose title or any paragraph holds a query term."""
    if not term_ids:
        return np.empty(0, dtype=np.int64)
    _, touched, _ = scores(gen.body(), term_ids)
    _, t_touched, _ = scores(gen.titles(), term_ids)
    arts = np.asarray(gen.para_article)[touched]
    return np.union1d(arts, t_touched)
