"""The ranking of ``search.rank`` compiled with numba: one call per question, no Python per posting.

numpy pays for every step of the ranking as a pass over arrays as long as the query's postings
(hundreds of thousands at a million paragraphs): scatter-add, find the touched paragraphs, gather
their dates, compute, select. Here one loop adds the postings and notes each paragraph the first
time it is touched, with its date multiplier; a threshold taken from a sample cuts the candidates
to the best few thousand; the finer features and the final top-k follow in the same call. The GIL
is released, so questions on several threads run in parallel.

What a call reads comes as the named tuples of ``inputs.py`` (the generation's arrays, the numbers,
the tables), made by the same function for numpy and for these kernels. The results equal
``search.rank``'s numpy path exactly (same float operations in the same order, ties to the lower
number): tests/test_kernels.py checks it, for every weight. The finer features stay here too,
rather than in numpy after a compiled preselection: in numpy they cost more than the rest of the
call, and a compiled helper in another file would not be recompiled when that file changes (numba's
cache watches only the file a kernel is defined in). So every kernel lives in this one file.

Loading this module imports numba, so nothing imports it directly: ``compiled.py`` loads it in the
background (see there). The work buffers (``scratch.py``) are left as they were found: zero scores,
zero marks.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from newsbot.index.ranking.inputs import RankArrays, RankSettings, RankTables
from newsbot.index.ranking.scratch import Scratch

_JIT: dict[str, Any] = dict(cache=True, nogil=True, boundscheck=False)

# A bounded min-heap of (value, id): its root is the worst item kept, "worse" meaning a lower
# value, or an equal value and a higher id. Callers push only items better than the root.


@numba.njit(inline="always")
def _worse(v1: float, i1: int, v2: float, i2: int) -> bool:
    return v1 < v2 or (v1 == v2 and i1 > i2)


@numba.njit(**_JIT)
def _sift_down(hv: np.ndarray, hi: np.ndarray, size: int, pos: int) -> None:
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


@numba.njit(**_JIT)
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


@numba.njit(**_JIT)
def _push(hv: np.ndarray, hi: np.ndarray, size: int, cap: int, v: float, i: int) -> int:
    """Add (v, i), better than the root or into a heap not yet full; returns the new size."""
    if size < cap:
        hv[size] = v
        hi[size] = i
        _sift_up(hv, hi, size)
        return size + 1
    hv[0] = v
    hi[0] = i
    _sift_down(hv, hi, size, 0)
    return size


@numba.njit(**_JIT)
def _better_than_root(hv: np.ndarray, hi: np.ndarray, size: int, cap: int, v: float, i: int) -> bool:
    return size < cap or v > hv[0] or (v == hv[0] and i < hi[0])


@numba.njit(**_JIT)
def _drain(hv: np.ndarray, hi: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
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
        _sift_down(hv, hi, n, 0)
    return ids, vals


@numba.njit(**_JIT)
def _accumulate(
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


@numba.njit(**_JIT)
def _accumulate_counts(
    indptr: np.ndarray,
    indices: np.ndarray,
    tf: np.ndarray,
    idf: np.ndarray,
    k1_norm: np.ndarray,
    k1: float,
    block: int,
    terms: np.ndarray,
    times: np.ndarray,
    buf: np.ndarray,
    touched: np.ndarray,
) -> int:
    """``_accumulate`` over ``bm25.CountWeights``: each weight computed from its count as
    ``CountWeights.row`` does (the same float operations). A word of idf 0 is skipped."""
    n = 0
    k1p1 = k1 + 1
    for k in range(len(terms)):
        t = terms[k]
        times_k = times[k]
        factor = float(times_k)
        idf_t = idf[t]
        if idf_t == 0.0:
            continue
        for b in range(indptr.shape[0]):
            base = np.int64(b) * block
            for j in range(indptr[b, t], indptr[b, t + 1]):
                d = base + np.int64(indices[j])
                f = float(tf[j])
                w = f * k1p1 / (k1_norm[d] + f) * idf_t
                if buf[d] == 0.0:
                    touched[n] = d
                    n += 1
                buf[d] += w if times_k == 1 else w * factor
    return n


@numba.njit(**_JIT)
def _constant(floor: np.ndarray, terms: np.ndarray, times: np.ndarray) -> float:
    constant = 0.0
    for k in range(len(terms)):
        constant += floor[terms[k]] * times[k]
    return constant


@numba.njit(**_JIT)
def bm25_top(
    ix: RankArrays, terms: np.ndarray, times: np.ndarray, buf: Scratch, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pure BM25 over the paragraphs: the best ``k`` (at least 1) as (ids, scores with the
    constant), best first."""
    body, touched = buf.body, buf.touched
    n = _accumulate(ix.w_indptr, ix.w_indices, ix.w_data, terms, times, body, touched)
    constant = _constant(ix.w_floor, terms, times)
    hv = np.empty(k, dtype=np.float64)
    hi = np.empty(k, dtype=np.int64)
    size = 0
    for r in range(n):
        d = touched[r]
        if _better_than_root(hv, hi, size, k, body[d], d):
            size = _push(hv, hi, size, k, body[d], d)
        body[d] = 0.0
    ids, vals = _drain(hv, hi, size)
    for r in range(size):
        vals[r] += constant
    return ids, vals


@numba.njit(**_JIT)
def _select(values: np.ndarray, ids: np.ndarray, n: int, m: int, out: np.ndarray) -> int:
    """Write the ids of the ``m`` best of ``values[:n]`` (ties: lower id) into ``out``; the count.

    A threshold from an evenly spaced sample cuts the input to about 2m, an exact partition of
    that pool finds the m-th value, and ties at it go to the lower ids.
    """
    if n <= m:
        for r in range(n):
            out[r] = ids[r]
        return n
    sample = values[0 : n : max(1, n // 4096)].copy()
    ns = len(sample)
    want = min(ns, int(ns * 2.0 * m / n) + 2)  # about 2m values lie above the sample's want-th best
    threshold = np.partition(sample, ns - want)[ns - want]
    pool = np.empty(n, dtype=np.int64)
    size = 0
    for r in range(n):
        if values[r] >= threshold:
            pool[size] = r
            size += 1
    if size < m:  # the sample misled: take everything
        size = n
        for r in range(n):
            pool[r] = r
    pooled = np.empty(size, dtype=np.float64)
    for r in range(size):
        pooled[r] = values[pool[r]]
    kth = np.partition(pooled, size - m)[size - m]  # the m-th best value
    count = 0
    ties = 0
    for r in range(size):
        v = values[pool[r]]
        if v > kth:
            out[count] = ids[pool[r]]
            count += 1
        elif v == kth:
            ties += 1
    if count < m:
        tied = np.empty(ties, dtype=np.int64)
        t = 0
        for r in range(size):
            if values[pool[r]] == kth:
                tied[t] = ids[pool[r]]
                t += 1
        tied.sort()
        for t in range(m - count):
            out[count] = tied[t]
            count += 1
    return count


@numba.njit(inline="always")
def _prior(day: int, s: RankSettings, recency: np.ndarray) -> float:
    """``search._prior`` for one day (without branches on the day: days come in no useful order)."""
    p = 1.0
    if s.has_recency:
        p = recency[min(max(s.now - day, 0), len(recency) - 1)]
    if s.has_prefer:
        b = s.prefer_factor if (day >= s.prefer_lo) & (day <= s.prefer_hi) else 1.0
        p = p * b if s.has_recency else b
    return p


@numba.njit(**_JIT)
def rank(
    ix: RankArrays, s: RankSettings, tables: RankTables, terms: np.ndarray, times: np.ndarray, buf: Scratch
) -> tuple[np.ndarray, np.ndarray]:
    """``search.rank``: the best ``s.limit`` paragraphs as (ids, scores), best first.

    One function, longer than the rest of the code base allows, because its stages share the
    touched lists and buffers in registers; each stage is marked.
    """
    # the arrays are taken out of the tuples once: read inside a loop, each read costs a reference count
    body, titles, whole, touched = buf.body, buf.titles, buf.whole, buf.touched
    t_touched, a_touched, mark, coarse = buf.t_touched, buf.a_touched, buf.mark, buf.coarse
    w_indptr, w_indices, w_data = ix.w_indptr, ix.w_indices, ix.w_data
    para_article, para_days, para_flags, para_words = (
        ix.para_article,
        ix.para_days,
        ix.para_flags,
        ix.para_words,
    )
    art_start = ix.art_start
    recency, lead, short = tables.recency, tables.lead, tables.short
    since, until = s.since, s.until
    title_weight, whole_article_weight = s.title_weight, s.whole_article_weight
    has_prior = s.has_recency or s.has_prefer
    # 1. body BM25; each paragraph's date multiplier on its first touch (-1: outside the window)
    n = 0
    for k in range(len(terms)):
        t = terms[k]
        times_k = times[k]
        factor = float(times_k)
        if w_indptr[t + 1] > w_indptr[t] and w_data[w_indptr[t]] == 0.0:
            continue  # a word with only zero weights (see _accumulate)
        for j in range(w_indptr[t], w_indptr[t + 1]):
            d = w_indices[j]
            if body[d] == 0.0:
                day = int(para_days[d])
                inside = (day <= until) & (day >= since)
                coarse[n] = _prior(day, s, recency) if inside else -1.0
                touched[n] = d
                n += 1
            body[d] += w_data[j] if times_k == 1 else w_data[j] * factor
    constant = _constant(ix.w_floor, terms, times)
    nt = 0
    if title_weight != 0.0:
        nt = _accumulate(ix.t_indptr, ix.t_indices, ix.t_data, terms, times, titles, t_touched)
    na = 0
    if whole_article_weight != 0.0:
        na = _accumulate_counts(
            ix.a_indptr,
            ix.a_indices,
            ix.a_tf,
            ix.a_idf,
            ix.a_k1_norm,
            s.article_k1,
            s.article_block,
            terms,
            times,
            whole,
            a_touched,
        )
    # 2. keep the visible paragraphs with their coarse score ((BM25 + the article's) x date
    #    multiplier); clear the rest now (a neighbour shares its paragraph's article and date, so
    #    they are never read)
    nv = 0
    for r in range(n):
        d = touched[r]
        p = coarse[r]
        b = body[d]
        keep = p > 0.0
        touched[nv] = d
        c = b + whole_article_weight * whole[para_article[d]] if whole_article_weight != 0.0 else b
        coarse[nv] = c * p if has_prior else c
        body[d] = b if keep else 0.0
        nv += int(keep)
    # the best title matches: their paragraphs stay candidates even with a low BM25
    title_articles = s.title_articles
    th_v = np.empty(title_articles, dtype=np.float64)
    th_i = np.empty(title_articles, dtype=np.int64)
    tsize = 0
    for r in range(nt):
        a = t_touched[r]
        if _better_than_root(th_v, th_i, tsize, title_articles, titles[a], a):
            tsize = _push(th_v, th_i, tsize, title_articles, titles[a], a)
    most = min(nv, s.preselect)
    for r in range(tsize):
        most += art_start[th_i[r] + 1] - art_start[th_i[r]]
    cand = np.empty(most, dtype=np.int64)
    nc = _select(coarse, touched, nv, s.preselect, cand)
    for r in range(nc):
        mark[cand[r]] = 1
    for r in range(tsize):
        a = th_i[r]
        for p in range(art_start[a], art_start[a + 1]):
            if mark[p] == 0 and para_days[p] <= until and para_days[p] >= since:
                cand[nc] = p
                nc += 1
                mark[p] = 1
    # 3. the finer features over the candidates, and the final top-limit
    limit = s.limit
    fv = np.empty(limit, dtype=np.float64)
    fi = np.empty(limit, dtype=np.int64)
    fsize = 0
    for r in range(nc):
        d = cand[r]
        a = para_article[d]
        total = body[d] + title_weight * titles[a] if title_weight != 0.0 else body[d]
        if s.neighbour_weight != 0.0:
            prev = body[d - 1] if d > art_start[a] else 0.0
            nxt = body[d + 1] if d + 1 < art_start[a + 1] else 0.0
            total += s.neighbour_weight * (prev + nxt)
        if whole_article_weight != 0.0:
            total += whole_article_weight * whole[a]
        if s.junk_factor != 1.0 and (para_flags[d] & s.junk_flag) != 0:
            total = total * s.junk_factor
        if s.has_lead:
            total *= lead[min(d - art_start[a], len(lead) - 1)]  # the position in its article
        if s.has_short and d - art_start[a] >= s.short_after:  # past the lead, by its length in words
            total *= short[min(para_words[d], len(short) - 1)]
        if s.number_factor != 1.0 and (para_flags[d] & s.number_flag) != 0:
            total = total * s.number_factor
        if has_prior:
            total *= _prior(int(para_days[d]), s, recency)
        total += constant
        if _better_than_root(fv, fi, fsize, limit, total, d):
            fsize = _push(fv, fi, fsize, limit, total, d)
    # 4. leave the buffers as they were found
    for r in range(nc):
        mark[cand[r]] = 0
    for r in range(nv):
        body[touched[r]] = 0.0
    for r in range(nt):
        titles[t_touched[r]] = 0.0
    for r in range(na):
        whole[a_touched[r]] = 0.0
    return _drain(fv, fi, fsize)
