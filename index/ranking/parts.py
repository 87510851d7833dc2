"""The pieces both compiled rankings share (``kernels.py``, exhaustive, and ``pruned.py``): a bounded
heap, the date multiplier, and a candidate's final score.

numba's cache watches only the file a kernel is defined in, and these are compiled into the kernels
that call them; ``compiled.py`` therefore starts the cache afresh whenever any kernel file changes
(a digest of their sources is kept beside the cache).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from newsbot.index.ranking.inputs import RankArrays, RankSettings, RankTables

JIT: dict[str, Any] = dict(cache=True, nogil=True, boundscheck=False)

# A bounded min-heap of (value, id): its root is the worst item kept, "worse" meaning a lower
# value, or an equal value and a higher id. Callers push only items better than the root.


@numba.njit(inline="always")
def _worse(v1: float, i1: int, v2: float, i2: int) -> bool:
    return v1 < v2 or (v1 == v2 and i1 > i2)


@numba.njit(**JIT)
def sift_down(hv: np.ndarray, hi: np.ndarray, size: int, pos: int) -> None:
    v = hv[pos]
    i = hi[pos]
    while True:
        c = 2 * pos + 1
        if c >= size:
            break
        if c + 1 < size and _worse(hv[c + 1], hi[c + 1], hv[c], hi[c]):
            c += 1
        if _worse(hv[c], hi[c], v, i):
            hv[pos] = hv[c]
            hi[pos] = hi[c]
            pos = c
        else:
            break
    hv[pos] = v
    hi[pos] = i


@numba.njit(**JIT)
def _sift_up(hv: np.ndarray, hi: np.ndarray, pos: int) -> None:
    v = hv[pos]
    i = hi[pos]
    while pos > 0:
        parent = (pos - 1) >> 1
        if _worse(v, i, hv[parent], hi[parent]):
            hv[pos] = hv[parent]
            hi[pos] = hi[parent]
            pos = parent
        else:
            break
    hv[pos] = v
    hi[pos] = i


@numba.njit(**JIT)
def push(hv: np.ndarray, hi: np.ndarray, size: int, cap: int, v: float, i: int) -> int:
    """Add (v, i), better than the root or into a heap not yet full; returns the new size."""
    if size < cap:
        hv[size] = v
        hi[size] = i
        _sift_up(hv, hi, size)
        return size + 1
    hv[0] = v
    hi[0] = i
    sift_down(hv, hi, size, 0)
    return size


@numba.njit(**JIT)
def better_than_root(hv: np.ndarray, hi: np.ndarray, size: int, cap: int, v: float, i: int) -> bool:
    return size < cap or v > hv[0] or (v == hv[0] and i < hi[0])


@numba.njit(**JIT)
def drain(hv: np.ndarray, hi: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty the heap: (ids, values), best first (value descending, then id ascending)."""
    ids = np.empty(size, dtype=np.int64)
    vals = np.empty(size, dtype=np.float64)
    n = size
    while n > 0:
        ids[n - 1] = hi[0]
        vals[n - 1] = hv[0]
        n -= 1
        hv[0] = hv[n]
        hi[0] = hi[n]
        sift_down(hv, hi, n, 0)
    return ids, vals


@numba.njit(inline="always")
def prior(day: int, s: RankSettings, recency: np.ndarray) -> float:
    """``search._prior`` for one day (without branches on the day: days come in no useful order)."""
    p = 1.0
    if s.has_recency:
        p = recency[min(max(s.now - day, 0), len(recency) - 1)]
    if s.has_prefer:
        b = s.prefer_factor if (day >= s.prefer_lo) & (day <= s.prefer_hi) else 1.0
        p = p * b if s.has_recency else b
    return p


@numba.njit(**JIT)
def constant(floor: np.ndarray, terms: np.ndarray, times: np.ndarray) -> float:
    constant = 0.0
    for k in range(len(terms)):
        constant += floor[terms[k]] * times[k]
    return constant


@numba.njit(inline="always")
def final_score(
    d: int,
    ix: RankArrays,
    s: RankSettings,
    tables: RankTables,
    body: np.ndarray,
    titles: np.ndarray,
    whole: np.ndarray,
    base: float,
) -> float:
    """Candidate ``d``'s score with every feature (``search._scores`` for one paragraph), plus ``base``
    (the BM25+ constant). Its neighbours' BM25 must be complete in ``body``, and its article's in
    ``titles`` and ``whole``."""
    art_start = ix.art_start
    a = ix.para_article[d]
    total = body[d] + s.title_weight * titles[a] if s.title_weight != 0.0 else body[d]
    if s.neighbour_weight != 0.0:
        prev = body[d - 1] if d > art_start[a] else 0.0
        nxt = body[d + 1] if d + 1 < art_start[a + 1] else 0.0
        total += s.neighbour_weight * (prev + nxt)
    if s.whole_article_weight != 0.0:
        total += s.whole_article_weight * whole[a]
    flags = ix.para_flags[d]
    if s.junk_factor != 1.0 and (flags & s.junk_flag) != 0:
        total = total * s.junk_factor
    if s.has_lead:
        total *= tables.lead[min(d - art_start[a], len(tables.lead) - 1)]  # the position in its article
    if s.has_short and d - art_start[a] >= s.short_after:  # past the lead, by its length in words
        total *= tables.short[min(ix.para_words[d], len(tables.short) - 1)]
    if s.number_factor != 1.0 and (flags & s.number_flag) != 0:
        total = total * s.number_factor
    if s.has_recency or s.has_prefer:
        total *= prior(int(ix.para_days[d]), s, tables.recency)
    return total + base


@numba.njit(**JIT)
def best_titles(titles: np.ndarray, t_touched: np.ndarray, nt: int, m: int) -> tuple[np.ndarray, int]:
    """The ``m`` best title matches among the ``nt`` articles touched (ties: lower number), unordered,
    and how many there are: their paragraphs stay candidates even with a low BM25."""
    th_v = np.empty(m, dtype=np.float64)
    th_i = np.empty(m, dtype=np.int64)
    size = 0
    for r in range(nt):
        a = t_touched[r]
        if better_than_root(th_v, th_i, size, m, titles[a], a):
            size = push(th_v, th_i, size, m, titles[a], a)
    return th_i, size


@numba.njit(**JIT)
def accumulate(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    terms: np.ndarray,
    times: np.ndarray,
    buf: np.ndarray,
    touched: np.ndarray,
) -> int:
    """``bm25.accumulate`` in the same float order; ``touched`` gets documents in first-touch order.

    Weights must not be negative (``compiled.py`` leaves such indexes to numpy): then a zero score
    means "not touched yet". A word's weights share its idf, so a word in exactly half the
    documents (Okapi idf 0) has only zero weights: it is skipped, else it would touch a document
    again with every posting (numpy leaves out documents whose sum is 0 as well).
    """
    n = 0
    for k in range(len(terms)):
        t = terms[k]
        times_k = times[k]
        factor = float(times_k)
        if indptr[t + 1] > indptr[t] and data[indptr[t]] == 0.0:
            continue
        for j in range(indptr[t], indptr[t + 1]):
            d = indices[j]
            if buf[d] == 0.0:
                touched[n] = d
                n += 1
            buf[d] += data[j] if times_k == 1 else data[j] * factor
    return n
