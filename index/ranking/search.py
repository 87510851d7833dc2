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

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from newsbot.index.generation import Generation
from newsbot.index.layout import EPOCH, FLAG_JUNK, FLAG_NUMBER, MAX_WORDS
from newsbot.index.ranking import compiled, scratch
from newsbot.index.ranking.bm25 import accumulate

PRESELECT = 1500  # paragraphs kept for the fine features (4,000 gave the same evaluation, 1.2 ms slower)
TITLE_ARTICLES = 20  # best title matches whose paragraphs always stay in the running


@dataclass(frozen=True, slots=True)
class RankParams:
    title_weight: float = 0.3
    neighbour_weight: float = 0.3
    article_bm25_weight: float = 2.0  # the whole article as one BM25 document (title and paragraphs)
    junk_factor: float = 0.2
    recency_days: float = 14.0  # 0 turns the recency prior off
    recency_boost: float = 2.0
    date_boost: float = 0.5  # extra weight for articles in the period a question names
    date_slack_days: float = 3.0  # how far around that period still counts
    lead_boost: float = 0.5  # favour an article's first paragraphs (news puts the facts first)
    lead_paragraphs: float = 10.0  # how quickly that favour fades with the paragraph's position
    short_words: float = 16.0  # paragraphs with fewer indexed words than this count less …
    short_power: float = 0.75  # … by (words / short_words) ** short_power (0 turns it off) …
    short_after: int = 2  # … unless among an article's first paragraphs (a lead is short by design)
    number_boost: float = 0.4  # a question asking for a number: paragraphs holding one count this much more

    def __post_init__(self) -> None:
        # the date multipliers stay at 1 or above: a paragraph is never hidden by a preference
        if self.recency_boost < 0 or self.date_boost < 0:
            raise ValueError("recency_boost and date_boost cannot be negative")
        if not 0 <= self.short_words <= MAX_WORDS or not 0 <= self.short_power < math.inf:
            raise ValueError(f"short_words must be 0 to {MAX_WORDS} and short_power 0 or more")
        if not 0 <= self.number_boost < math.inf:
            raise ValueError("number_boost must be 0 or more")
        if not isinstance(self.short_after, int) or self.short_after < 0:
            raise ValueError("short_after must be a whole number, 0 or more")


@dataclass(frozen=True, slots=True)
class Window:
    """What a question sets: which articles may be seen (none dated after ``until``, none before
    ``since``), the day that counts as now, a period to favour, and whether it asks for a number."""

    since: dt.date | None = None
    until: dt.date | None = None
    now: dt.date | None = None  # the reference for recency (usually the "as of" date)
    prefer: tuple[dt.date, dt.date] | None = None  # a period to favour (not a filter)
    numbers: bool = False  # the question asks for a number (answer_type.wants_number)


def day_number(date: dt.date | None) -> int | None:
    """Days since the epoch, as the generation stores dates."""
    return (date - EPOCH).days if date else None


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


RECENCY_HORIZON = 3650  # days; older (and undated) articles get no recency favour
LEAD_HORIZON = 4096  # positions; later paragraphs are treated as this one


def recency_table(params: RankParams) -> np.ndarray:
    """The recency multiplier by age in days (the last entry, 1, for older and undated articles)."""
    table = 1.0 + params.recency_boost * np.exp(-np.arange(RECENCY_HORIZON + 1) / params.recency_days)
    table[RECENCY_HORIZON] = 1.0
    return table


def lead_table(params: RankParams) -> np.ndarray:
    """The lead-paragraph multiplier by position in the article."""
    position = np.arange(LEAD_HORIZON + 1, dtype=np.float64)
    return 1.0 + params.lead_boost * np.exp(-position / params.lead_paragraphs)


def short_table(params: RankParams) -> np.ndarray:
    """The multiplier by a paragraph's length in indexed words: ``min(1, words / short_words) **
    short_power``; its last entry, 1, is for every length from ``short_words`` up.

    BM25 favours short paragraphs that hold the query's words densely. Past an article's lead
    (``short_after`` paragraphs, exempt: news opens with short summary sentences), the shortest
    are mostly subheadings, captions, pull quotes and fragments; an answer needs some substance.
    """
    top = int(np.ceil(params.short_words))
    words = np.arange(top + 1, dtype=np.float64)
    return np.minimum(1.0, words / params.short_words) ** params.short_power


def has_short(params: RankParams) -> bool:
    return params.short_power > 0 and params.short_words > 1


def _prior(days: np.ndarray, window: Window, params: RankParams) -> np.ndarray | None:
    """Multipliers from the dates: recency relative to "now", and the period the question names.

    Recency is read from a table by age in days, so the cost is one lookup per paragraph; undated
    articles (``NO_DATE``) fall past the horizon and get 1, the neutral value.
    """
    now = day_number(window.now)
    prior: np.ndarray | None = None
    if params.recency_days > 0 and now is not None:
        age = np.clip(now - days.astype(np.int64), 0, RECENCY_HORIZON)
        prior = recency_table(params)[age]
    if window.prefer is not None and params.date_boost:
        lo, hi = day_number(window.prefer[0]), day_number(window.prefer[1])
        inside = (days >= lo) & (days <= hi)  # NO_DATE is below any lo
        boost = np.where(inside, 1.0 + params.date_boost, 1.0)
        prior = boost if prior is None else prior * boost
    return prior


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


def rank_numpy(
    gen: Generation, term_ids: list[int], window: Window, params: RankParams, limit: int
) -> list[tuple[int, float]]:
    """``rank`` in numpy: the reference the kernels are tested against."""
    if not term_ids or gen.n_paragraphs == 0 or limit <= 0:
        return []
    with scratch.take(gen.n_paragraphs, gen.n_articles) as s:
        body, titles, whole = s.body, s.titles, s.whole
        touched, constant = accumulate(gen.body(), term_ids, body)
        t_touched = a_touched = np.empty(0, dtype=np.int64)
        articles = gen.articles() if params.article_bm25_weight else None
        try:
            if params.title_weight:
                t_touched, _ = accumulate(gen.titles(), term_ids, titles)
            if articles is not None:
                a_touched, _ = accumulate(articles, term_ids, whole)  # BM25Okapi: no floor
            scores = Scores(body, titles, whole if articles is not None else None, constant)
            return _rank(gen, scores, touched, t_touched, window, params, limit)
        finally:
            body[touched] = 0.0
            titles[t_touched] = 0.0
            whole[a_touched] = 0.0


@dataclass(frozen=True, slots=True)
class Scores:
    """A question's BM25 scores: per paragraph, per title, per whole article (None: not used)."""

    body: np.ndarray
    titles: np.ndarray
    whole: np.ndarray | None
    constant: float  # what every paragraph gets on top (BM25+ floors)


def _rank(
    gen: Generation,
    scores: Scores,
    touched: np.ndarray,
    t_touched: np.ndarray,
    window: Window,
    params: RankParams,
    limit: int,
) -> list[tuple[int, float]]:
    body, titles, whole = scores.body, scores.titles, scores.whole
    w_whole = params.article_bm25_weight if whole is not None else 0.0
    para_article = np.asarray(gen.para_article)
    para_days = np.asarray(gen.para_days)
    start = np.asarray(gen.art_start)

    def visible(paras: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        days = para_days[paras]
        keep = _visible(days, window)
        return (paras, days) if keep is None else (paras[keep], days[keep])

    touched, days = visible(touched)
    prior = _prior(days, window, params)
    if len(touched) > PRESELECT:
        # the preselection uses BM25 (with the article's) and the date multipliers; strong title
        # matches join below
        coarse = body[touched]
        if w_whole:
            coarse = coarse + w_whole * whole[para_article[touched]]  # type: ignore[index]
        if prior is not None:
            coarse = coarse * prior
        pick = np.sort(top_indices(coarse, PRESELECT))  # touched is sorted: ties to lower numbers
        touched = touched[pick]
        prior = prior[pick] if prior is not None else None
    # the paragraphs of the best title matches stay candidates even if their BM25 is low
    if len(t_touched):
        best_titles = t_touched[top_indices(titles[t_touched], TITLE_ARTICLES, t_touched)]
        extra = np.concatenate([np.arange(start[a], start[a + 1]) for a in best_titles])
        extra = np.setdiff1d(extra, touched, assume_unique=True)
        if len(extra):
            e_paras, e_days = visible(extra)
            e_prior = _prior(e_days, window, params)
            touched = np.concatenate([touched, e_paras])
            if prior is not None and e_prior is not None:
                prior = np.concatenate([prior, e_prior])
    article = para_article[touched]
    if len(touched) == 0:
        return []
    base = body[touched]
    total = base + params.title_weight * titles[article] if params.title_weight else base.copy()
    if params.neighbour_weight:
        prev = np.where(touched > start[article], body[np.maximum(touched - 1, 0)], 0.0)
        nxt = np.where(touched + 1 < start[article + 1], body[np.minimum(touched + 1, len(body) - 1)], 0.0)
        total += params.neighbour_weight * (prev + nxt)
    if w_whole:
        total += w_whole * whole[article]  # type: ignore[index]
    if params.junk_factor != 1.0:
        junk = (np.asarray(gen.para_flags)[touched] & FLAG_JUNK) != 0
        total = np.where(junk, total * params.junk_factor, total)
    if params.lead_boost:
        position = np.minimum(touched - start[article], LEAD_HORIZON)  # the position in its article
        total *= lead_table(params)[position]
    if has_short(params):
        table = short_table(params)
        factor = table[np.minimum(np.asarray(gen.para_words)[touched], len(table) - 1)]
        total *= np.where(touched - start[article] >= params.short_after, factor, 1.0)
    if window.numbers and params.number_boost:
        numbers = (np.asarray(gen.para_flags)[touched] & FLAG_NUMBER) != 0
        total = np.where(numbers, total * (1.0 + params.number_boost), total)
    if prior is not None:
        total *= prior
    total += scores.constant
    pick = top_indices(total, limit, touched)
    pick = pick[np.lexsort((touched[pick], -total[pick]))]
    return [(int(touched[i]), float(total[i])) for i in pick]


def _visible(days: np.ndarray, window: Window) -> np.ndarray | None:
    """The mask of paragraphs inside the date window, or None when nothing is filtered.

    Undated articles (``NO_DATE``, the smallest int32) pass ``until`` and fail ``since``.
    """
    since, until = day_number(window.since), day_number(window.until)
    if since is None and until is None:
        return None
    if since is None:
        return days <= until
    keep = days >= since
    if until is not None:
        keep &= days <= until
    return keep


def article_matches(gen: Generation, term_ids: list[int]) -> np.ndarray:
    """Article numbers whose title or any paragraph holds a query term."""
    if not term_ids:
        return np.empty(0, dtype=np.int64)
    with scratch.take(gen.n_paragraphs, gen.n_articles) as s:
        touched, _ = accumulate(gen.body(), term_ids, s.body)
        s.body[touched] = 0.0
        t_touched, _ = accumulate(gen.titles(), term_ids, s.titles)
        s.titles[t_touched] = 0.0
    return np.union1d(np.asarray(gen.para_article)[touched], t_touched)
