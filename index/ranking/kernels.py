"""The ranking of ``search.rank`` compiled with numba: one call per question, no Python per posting.

numpy pays for every step of the ranking as a pass over arrays as long as the query's postings
(hundreds of thousands at a million paragraphs): scatter-add, find the touched paragraphs, gather
their dates, compute, select. Here one loop adds the postings and notes each paragraph the first
time it is touched, with its date multiplier; a threshold taken from a sample cuts the candidates
to the best few hundred; the finer features and the final top-k follow in the same call. The GIL
is released, so questions on several threads run in parallel.

What a call reads comes as the named tuples of ``inputs.py`` (the generation's arrays, the numbers,
the tables), made by the same function for numpy and for these kernels. The results equal
``search.rank``'s numpy path exactly (same float operations in the same order, ties to the lower
number): tests/test_kernels.py checks it, for every weight. ``pruned.py`` gives the same results
reading only the blocks of postings that can matter; this one, reading every posting, ranks the
generations without block bounds and the longest questions, and is its reference in tests. The
helpers both share are in ``parts.py``.

Loading this module imports numba, so nothing imports it directly: ``compiled.py`` loads it in the
background (see there). The work buffers (``scratch.py``) are left as they were found: zero scores,
zero marks.
"""

from __future__ import annotations

import numba
import numpy as np

from newsbot.index.ranking.inputs import RankArrays, RankSettings, RankTables
from newsbot.index.ranking.parts import JIT as _JIT
from newsbot.index.ranking.parts import (
    accumulate,
    best_titles,
    better_than_root,
    constant,
    drain,
    final_score,
    prior,
    push,
)
from newsbot.index.ranking.scratch import Scratch


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
    """``parts.accumulate`` over ``bm25.CountWeights``: each weight computed from its count as
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
def bm25_top(
    ix: RankArrays, terms: np.ndarray, times: np.ndarray, buf: Scratch, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pure BM25 over the paragraphs: the best ``k`` (at least 1) as (ids, scores with the
    constant), best first."""
    body, touched = buf.body, buf.touched
    n = accumulate(ix.w_indptr, ix.w_indices, ix.w_data, terms, times, body, touched)
    base = constant(ix.w_floor, terms, times)
    hv = np.empty(k, dtype=np.float64)
    hi = np.empty(k, dtype=np.int64)
    size = 0
    for r in range(n):
        d = touched[r]
        if better_than_root(hv, hi, size, k, body[d], d):
            size = push(hv, hi, size, k, body[d], d)
        body[d] = 0.0
    ids, vals = drain(hv, hi, size)
    for r in range(size):
        vals[r] += base
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
    para_article, para_days = ix.para_article, ix.para_days
    art_start = ix.art_start
    recency = tables.recency
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
            continue  # a word with only zero weights (see parts.accumulate)
        for j in range(w_indptr[t], w_indptr[t + 1]):
            d = w_indices[j]
            if body[d] == 0.0:
                day = int(para_days[d])
                inside = (day <= until) & (day >= since)
                coarse[n] = prior(day, s, recency) if inside else -1.0
                touched[n] = d
                n += 1
            body[d] += w_data[j] if times_k == 1 else w_data[j] * factor
    base = constant(ix.w_floor, terms, times)
    nt = 0
    if title_weight != 0.0:
        nt = accumulate(ix.t_indptr, ix.t_indices, ix.t_data, terms, times, titles, t_touched)
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
    th_i, tsize = best_titles(titles, t_touched, nt, s.title_articles)
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
        total = final_score(d, ix, s, tables, body, titles, whole, base)
        if better_than_root(fv, fi, fsize, limit, total, d):
            fsize = push(fv, fi, fsize, limit, total, d)
    # 4. leave the buffers as they were found
    for r in range(nc):
        mark[cand[r]] = 0
    for r in range(nv):
        body[touched[r]] = 0.0
    for r in range(nt):
        titles[t_touched[r]] = 0.0
    for r in range(na):
        whole[a_touched[r]] = 0.0
    return drain(fv, fi, fsize)
