"""Rank paragraphs for a question over one generation: BM25 plus what makes news retrieval good.

A paragraph's score is its BM25 score, plus a share of its article title's BM25 score, of its
neighbours' scores and of its whole article's BM25 score (title and paragraphs as one document);
junk paragraphs (bylines, captions) are damped; articles dated after "now" are invisible and a
date range in the question narrows the search; a recency prior favours stories close to "now".

Cost follows the query's postings, not the corpus: BM25 is accumulated into a reusable buffer,
the visible paragraphs holding a query term are cut to the best few thousand by their BM25, their
article's BM25 and recency, and the finer features are computed for those alone.
"""

from __future__ import annotations

import numpy as np

from newsbot.index.generation import Generation
from newsbot.index.ranking import compiled, scratch
from newsbot.index.ranking.bm25 import accumulate, query_counts
from newsbot.index.ranking.inputs import (
    NO_LIMIT_HI,
    NO_LIMIT_LO,
    RankArrays,
    RankSettings,
    RankTables,
    rank_arrays,
    rank_settings,
)
from newsbot.index.ranking.params import LEAD_HORIZON, RankParams, Window

__all__ = ["RankParams", "Window", "article_matches", "rank", "rank_numpy", "rank_traced", "top_indices"]


def rank(
    gen: Generation, term_ids: list[int], window: Window, params: RankParams, limit: int
) -> list[tuple[int, float]]:
    """The best ``limit`` paragraphs as ``(paragraph number, score)``, best first (ties: lower number).

    By the compiled kernels once they are loaded (``compiled.start()``), else by numpy: the same
    results either way.
    """
    if not term_ids or gen.n_paragraphs == 0 or limit <= 0:
        return []
    fast = compiled.rank(gen, term_ids, window, params, limit)
    return fast if fast is not None else rank_numpy(gen, term_ids, window, params, limit)


def rank_traced(
    gen: Generation,
    term_ids: list[int],
    window: Window,
    params: RankParams,
    limit: int,
    *,
    exhaustive: bool = False,
) -> tuple[list[tuple[int, float]], int]:
    """``rank``, and how many postings it read: the figure that shows the pruning (benchmarks).

    ``exhaustive``: rank by reading every posting (the reference the pruned ranking equals).
    """
    if not term_ids or gen.n_paragraphs == 0 or limit <= 0:
        return [], 0
    fast = compiled.traced(gen, term_ids, window, params, limit, exhaustive=exhaustive)
    if fast is not None:
        return fast
    terms = np.fromiter(query_counts(term_ids, len(gen.w_indptr) - 1), dtype=np.int64)
    return rank_numpy(gen, term_ids, window, params, limit), compiled.postings(gen, terms)


def rank_numpy(
    gen: Generation, term_ids: list[int], window: Window, params: RankParams, limit: int
) -> list[tuple[int, float]]:
    """``rank`` in numpy: the reference the kernels are tested against."""
    if not term_ids or gen.n_paragraphs == 0 or limit <= 0:
        return []
    ix, (s, tables) = rank_arrays(gen), rank_settings(gen, window, params, limit)
    with scratch.take_for(gen) as buf:
        touched, constant = accumulate(gen.body(), term_ids, buf.body)
        t_touched = a_touched = np.empty(0, dtype=np.int64)
        articles = gen.articles() if s.whole_article_weight else None
        try:
            if s.title_weight:
                t_touched, _ = accumulate(gen.titles(), term_ids, buf.titles)
            if articles is not None:
                a_touched, _ = accumulate(articles, term_ids, buf.whole)  # BM25Okapi: no floor
            candidates = _candidates(ix, s, tables, buf, touched, t_touched)
            if len(candidates) == 0:
                return []
            total = _scores(ix, s, tables, buf, candidates) + constant
            return _best(candidates, total, s.limit)
        finally:
            buf.body[touched] = 0.0
            buf.titles[t_touched] = 0.0
            buf.whole[a_touched] = 0.0


def top_indices(values: np.ndarray, m: int, ids: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``m`` largest values (unordered); ties at the cut go to the lower ``ids``
    (the positions when ``ids`` is None), so that equal scores always rank the same way.

    Cheap when ``values`` is much longer than ``m``: a threshold from an evenly spaced sample
    shrinks the input before the exact selection.
    """
    n = len(values)
    if n <= m:
        return np.arange(n)
    pool: np.ndarray | None = None
    if n > 16 * m:
        sample = values[:: max(1, n // 8192)]
        q = max(0, len(sample) - 1 - int(len(sample) * 2 * m / n) - 1)
        threshold = np.partition(sample, q)[q]
        pool = np.flatnonzero(values >= threshold)
        if len(pool) < m:
            pool = None
    pooled = values if pool is None else values[pool]
    kth = np.partition(pooled, len(pooled) - m)[len(pooled) - m]  # the m-th largest value
    above = np.flatnonzero(pooled > kth)
    tied = np.flatnonzero(pooled == kth)
    if len(above) + len(tied) > m:
        keys = tied if pool is None else pool[tied]
        order = np.argsort(keys if ids is None else ids[keys], kind="stable")
        tied = tied[order[: m - len(above)]]
    pick = np.concatenate([above, tied])
    return pick if pool is None else pool[pick]


def _prior(days: np.ndarray, s: RankSettings, tables: RankTables) -> np.ndarray | None:
    """Multipliers from the dates: recency relative to "now", and the period the question names.

    Recency is read from a table by age in days, so the cost is one lookup per paragraph; undated
    articles (``NO_DATE``) fall past the horizon and get 1, the neutral value.
    """
    prior: np.ndarray | None = None
    if s.has_recency:
        age = np.clip(s.now - days.astype(np.int64), 0, len(tables.recency) - 1)
        prior = tables.recency[age]
    if s.has_prefer:
        inside = (days >= s.prefer_lo) & (days <= s.prefer_hi)  # NO_DATE is below any lo
        boost = np.where(inside, s.prefer_factor, 1.0)
        prior = boost if prior is None else prior * boost
    return prior


def _visible(paras: np.ndarray, ix: RankArrays, s: RankSettings) -> np.ndarray:
    """The paragraphs inside the date window.

    Undated articles (``NO_DATE``, the smallest int32) pass ``until`` and fail ``since``.
    """
    bounded_since, bounded_until = s.since != NO_LIMIT_LO, s.until != NO_LIMIT_HI
    if not bounded_since and not bounded_until:
        return paras
    days = ix.para_days[paras]
    if not bounded_since:
        return paras[days <= s.until]
    keep = days >= s.since
    if bounded_until:
        keep &= days <= s.until
    return paras[keep]


def _candidates(
    ix: RankArrays,
    s: RankSettings,
    tables: RankTables,
    buf: scratch.Scratch,
    touched: np.ndarray,
    t_touched: np.ndarray,
) -> np.ndarray:
    """The paragraphs worth the finer features: the visible ones holding a query term, cut to the
    best ``s.preselect`` by BM25 (with the article's) and the date multipliers, and the visible
    paragraphs of the best ``s.title_articles`` title matches (even if their BM25 is low)."""
    touched = _visible(touched, ix, s)
    if len(touched) > s.preselect:
        coarse = coarse_scores(ix, s, tables, buf, touched)
        touched = touched[np.sort(top_indices(coarse, s.preselect))]  # sorted: ties to lower numbers
    if len(t_touched):
        start = ix.art_start
        best_titles = t_touched[top_indices(buf.titles[t_touched], s.title_articles, t_touched)]
        extra = np.concatenate([np.arange(start[a], start[a + 1]) for a in best_titles])
        extra = _visible(np.setdiff1d(extra, touched, assume_unique=True), ix, s)
        if len(extra):
            touched = np.concatenate([touched, extra])
    return touched


def coarse_scores(
    ix: RankArrays, s: RankSettings, tables: RankTables, buf: scratch.Scratch, paras: np.ndarray
) -> np.ndarray:
    """The preselect's score of ``paras``: (BM25 + the article's, weighted) x the date multipliers."""
    coarse = buf.body[paras]
    if s.whole_article_weight:
        coarse = coarse + s.whole_article_weight * buf.whole[ix.para_article[paras]]
    prior = _prior(ix.para_days[paras], s, tables)
    return coarse if prior is None else coarse * prior


def _scores(
    ix: RankArrays, s: RankSettings, tables: RankTables, buf: scratch.Scratch, cand: np.ndarray
) -> np.ndarray:
    """The finer features over the candidates (without the BM25+ constant)."""
    body, start = buf.body, ix.art_start
    article = ix.para_article[cand]
    position = cand - start[article]  # in its article
    base = body[cand]
    total = base + s.title_weight * buf.titles[article] if s.title_weight else base.copy()
    if s.neighbour_weight:
        prev = np.where(cand > start[article], body[np.maximum(cand - 1, 0)], 0.0)
        nxt = np.where(cand + 1 < start[article + 1], body[np.minimum(cand + 1, len(body) - 1)], 0.0)
        total += s.neighbour_weight * (prev + nxt)
    if s.whole_article_weight:
        total += s.whole_article_weight * buf.whole[article]
    if s.junk_factor != 1.0:
        junk = (ix.para_flags[cand] & s.junk_flag) != 0
        total = np.where(junk, total * s.junk_factor, total)
    if s.has_lead:
        total *= tables.lead[np.minimum(position, LEAD_HORIZON)]
    if s.has_short:
        factor = tables.short[np.minimum(ix.para_words[cand], len(tables.short) - 1)]
        total *= np.where(position >= s.short_after, factor, 1.0)
    if s.number_factor != 1.0:
        numbers = (ix.para_flags[cand] & s.number_flag) != 0
        total = np.where(numbers, total * s.number_factor, total)
    prior = _prior(ix.para_days[cand], s, tables)
    if prior is not None:
        total *= prior
    return total


def _best(cand: np.ndarray, total: np.ndarray, limit: int) -> list[tuple[int, float]]:
    pick = top_indices(total, limit, cand)
    pick = pick[np.lexsort((cand[pick], -total[pick]))]
    return [(int(cand[i]), float(total[i])) for i in pick]


def article_matches(gen: Generation, term_ids: list[int]) -> np.ndarray:
    """Article numbers whose title or any paragraph holds a query term."""
    if not term_ids:
        return np.empty(0, dtype=np.int64)
    with scratch.take_for(gen) as s:
        touched, _ = accumulate(gen.body(), term_ids, s.body)
        s.body[touched] = 0.0
        t_touched, _ = accumulate(gen.titles(), term_ids, s.titles)
        s.titles[t_touched] = 0.0
    return np.union1d(np.asarray(gen.para_article)[touched], t_touched)
