"""What one ranking call reads, as named structures the numpy ranking and the kernels share.

``RankArrays`` holds the generation's arrays; ``RankSettings`` every number the ranking uses (the
weights of ``RankParams`` by the same names, what the question's ``Window`` sets, and the
generation's whole-article constants); ``RankTables`` the multipliers looked up by age, position
and length. ``rank_arrays`` and ``rank_settings`` are the one place that makes them, for both
paths, so the two cannot read a setting differently; numba takes them as named tuples, so the
kernels read ``s.title_weight`` where a long positional call could swap two floats silently.
Adding a feature: a field here, its value in ``rank_settings``, its use in ``search._scores`` and in
``kernels.rank`` (tests/test_kernels.py then checks the two agree).

They are plain tuples of numpy arrays and Python numbers: importing this module never loads numba.
"""

from __future__ import annotations

import functools
import weakref
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from newsbot.index.layout import FLAG_JUNK, FLAG_NUMBER
from newsbot.index.ranking.params import (
    PRESELECT,
    TITLE_ARTICLES,
    RankParams,
    Window,
    day_number,
    has_short,
    lead_table,
    recency_table,
    short_table,
)

if TYPE_CHECKING:
    from newsbot.index.generation import Generation

F64 = npt.NDArray[np.float64]
NO_LIMIT_LO = int(np.iinfo(np.int64).min)  # since/until when the question sets no limit
NO_LIMIT_HI = int(np.iinfo(np.int64).max)


class RankArrays(NamedTuple):
    """The generation's arrays the ranking reads, read-only (see ``Generation`` for their meaning).

    The kernels are compiled for exactly these dtypes: the ones the indexer writes.
    """

    w_indptr: npt.NDArray[np.int64]
    w_indices: npt.NDArray[np.int32]
    w_data: F64
    w_floor: F64
    t_indptr: npt.NDArray[np.int64]
    t_indices: npt.NDArray[np.int32]
    t_data: F64
    a_indptr: npt.NDArray[np.int64]  # 2-D; a tiny stand-in when the generation has no whole articles
    a_indices: npt.NDArray[np.uint16]
    a_tf: npt.NDArray[np.uint8]
    a_idf: F64
    a_k1_norm: F64
    para_article: npt.NDArray[np.int32]
    para_days: npt.NDArray[np.int32]
    para_flags: npt.NDArray[np.uint8]
    para_words: npt.NDArray[np.uint8]
    art_start: npt.NDArray[np.int64]


class RankSettings(NamedTuple):
    """Every number one ranking call uses. A feature that is off has its ``has_*`` False (its
    table is then a placeholder) or its weight at the neutral value (0 to add, 1 to multiply).

    Numbers only, no arrays: the kernels pass it to helpers inside their loops, and every array
    in it would be reference-counted at each such call, which costs more than the call itself.
    """

    since: int  # visible days, both inclusive (NO_LIMIT_LO / NO_LIMIT_HI: no limit)
    until: int
    now: int  # the day recency is measured from
    has_recency: bool  # RankTables.recency applies
    has_prefer: bool  # a period to favour: prefer_lo to prefer_hi, multiplied by prefer_factor
    prefer_lo: int
    prefer_hi: int
    prefer_factor: float  # 1 + date_boost
    has_lead: bool  # RankTables.lead applies
    has_short: bool  # RankTables.short applies, from the short_after-th paragraph of an article on
    short_after: int
    title_weight: float
    neighbour_weight: float
    whole_article_weight: float  # 0 also when the generation has no whole articles
    article_k1: float  # the whole-article matrix's k1 and block (Generation.articles)
    article_block: int
    junk_factor: float
    junk_flag: int
    number_factor: float  # 1 + number_boost when the question asks for a number, else 1
    number_flag: int
    preselect: int
    title_articles: int
    limit: int


class RankTables(NamedTuple):
    """The multipliers looked up by a number (``params.*_table``), read-only; placeholders for
    the features that are off."""

    recency: F64  # by age in days
    lead: F64  # by position in the article
    short: F64  # by length in indexed words


def _readonly(array: np.ndarray) -> np.ndarray:
    """A read-only view: generations from disk are read-only maps, so every call has one signature."""
    view = array.view()
    view.flags.writeable = False
    return view


_NO_TABLE = _readonly(np.ones(1, dtype=np.float64))
_NO_ARTICLES = {
    "a_indptr": _readonly(np.zeros((1, 1), dtype=np.int64)),
    "a_indices": _readonly(np.zeros(0, dtype=np.uint16)),
    "a_tf": _readonly(np.zeros(0, dtype=np.uint8)),
    "a_idf": _readonly(np.zeros(0, dtype=np.float64)),
    "a_k1_norm": _readonly(np.zeros(0, dtype=np.float64)),
}


_arrays: weakref.WeakKeyDictionary[Generation, RankArrays] = weakref.WeakKeyDictionary()


def rank_arrays(gen: Generation) -> RankArrays:
    """``gen``'s arrays as the ranking reads them (whole-article stand-ins for an older generation);
    made once per generation."""
    arrays = _arrays.get(gen)
    if arrays is None:
        source = gen.arrays if gen.has_articles else gen.arrays | _NO_ARTICLES
        arrays = RankArrays(*(_readonly(source[name]) for name in RankArrays._fields))
        _arrays[gen] = arrays
    return arrays


@functools.lru_cache(maxsize=32)
def _recency(recency_days: float, recency_boost: float) -> F64:
    return _readonly(recency_table(RankParams(recency_days=recency_days, recency_boost=recency_boost)))


@functools.lru_cache(maxsize=32)
def _lead(lead_boost: float, lead_paragraphs: float) -> F64:
    return _readonly(lead_table(RankParams(lead_boost=lead_boost, lead_paragraphs=lead_paragraphs)))


@functools.lru_cache(maxsize=32)
def _short(short_words: float, short_power: float) -> F64:
    return _readonly(short_table(RankParams(short_words=short_words, short_power=short_power)))


def rank_settings(
    gen: Generation, window: Window, params: RankParams, limit: int
) -> tuple[RankSettings, RankTables]:
    """The numbers and tables for ranking ``gen`` for a question with ``window``, by ``params``."""
    since, until, now = day_number(window.since), day_number(window.until), day_number(window.now)
    has_recency = params.recency_days > 0 and now is not None
    prefer = window.prefer if params.date_boost else None
    lo, hi = (day_number(prefer[0]), day_number(prefer[1])) if prefer is not None else (0, 0)
    lead, short = bool(params.lead_boost), has_short(params)
    settings = RankSettings(
        since=NO_LIMIT_LO if since is None else since,
        until=NO_LIMIT_HI if until is None else until,
        now=now or 0,
        has_recency=has_recency,
        has_prefer=prefer is not None,
        prefer_lo=lo or 0,
        prefer_hi=hi or 0,
        prefer_factor=1.0 + float(params.date_boost),
        has_lead=lead,
        has_short=short,
        short_after=int(params.short_after),
        title_weight=float(params.title_weight),
        neighbour_weight=float(params.neighbour_weight),
        whole_article_weight=float(params.whole_article_weight) if gen.has_articles else 0.0,
        article_k1=float(gen.info.get("article_k1", 0.0)),
        article_block=int(gen.info.get("article_block", 1)),
        junk_factor=float(params.junk_factor),
        junk_flag=FLAG_JUNK,
        number_factor=1.0 + float(params.number_boost) if window.numbers else 1.0,
        number_flag=FLAG_NUMBER,
        preselect=PRESELECT,
        title_articles=TITLE_ARTICLES,
        limit=int(limit),
    )
    tables = RankTables(
        recency=_recency(params.recency_days, params.recency_boost) if has_recency else _NO_TABLE,
        lead=_lead(params.lead_boost, params.lead_paragraphs) if lead else _NO_TABLE,
        short=_short(params.short_words, params.short_power) if short else _NO_TABLE,
    )
    return settings, tables


class BoundArrays(NamedTuple):
    """What the pruned ranking reads besides ``RankArrays``: the generation's block bounds
    (``ingest/blocks.py``) and each block's range of days (computed once per generation)."""

    e_indptr: npt.NDArray[np.int64]
    e_entries: np.ndarray  # layout.ENTRY records
    b_lo: npt.NDArray[np.int32]  # each block's earliest day (NO_DATE when it holds an undated article)
    b_hi: npt.NDArray[np.int32]  # and latest
    block: int  # paragraphs per block


_bounds: weakref.WeakKeyDictionary[Generation, BoundArrays] = weakref.WeakKeyDictionary()


def bound_arrays(gen: Generation) -> BoundArrays | None:
    """``gen``'s block bounds as the pruned ranking reads them; None for a generation without them."""
    if not gen.has_bounds:
        return None
    bounds = _bounds.get(gen)
    if bounds is None:
        block = int(gen.info["prune_block"])
        days = np.asarray(gen.para_days)
        starts = np.arange(0, max(len(days), 1), block)
        lo = np.minimum.reduceat(days, starts) if len(days) else np.zeros(1, dtype=np.int32)
        hi = np.maximum.reduceat(days, starts) if len(days) else np.zeros(1, dtype=np.int32)
        indptr, entries = gen.e_indptr, gen.e_entries
        assert indptr is not None and entries is not None  # has_bounds
        bounds = BoundArrays(_readonly(indptr), _readonly(entries), _readonly(lo), _readonly(hi), block)
        _bounds[gen] = bounds
    return bounds
