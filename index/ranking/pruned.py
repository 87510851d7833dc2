"""The ranking of ``kernels.rank``, skipping the blocks of paragraphs that cannot change its answer.

``kernels.rank`` adds every posting of every question word, then keeps the best ``preselect``
paragraphs by their coarse score ((BM25 + whole article's BM25) x date multiplier) for the finer
features. Most postings belong to paragraphs that miss that cut by far. A generation numbers its
paragraphs in date order and keeps, per word and block of paragraphs, the word's highest weights
there (``ingest/blocks.py``), so a block's coarse scores are bounded by the sum of its entries times
the best date multiplier its days allow. Blocks are opened best bound first; once ``preselect``
paragraphs are held and the next bound is below the worst of them, no later block can enter, and the
rest are never read. Blocks outside the question's window are never looked at.

Only what the finer features read is then completed: each candidate's neighbours and article (their
blocks are opened if they were not), and the best title matches' paragraphs. The results equal
``kernels.rank``'s exactly: the same candidates (the cut is exact, ties to the lower number) and the
same float operations per score. tests/test_pruned.py checks it against the exhaustive ranking.

``candidates`` is a cluster shard's part of the same ranking (``ranking/shard.py``): the same cuts,
but every candidate is returned with its final and coarse scores for the coordinator's global cuts,
in the order of its numpy version (tests/test_shard_candidates.py checks the two agree).

Blocks are opened in batches, word by word over the entries found, rather than one at a time: a
block's postings of one word are a short run somewhere in that word's list, and reading runs in
order, as the exhaustive ranking does, is what keeps the memory reads cheap.
"""

from __future__ import annotations

import numba
import numpy as np

from newsbot.index.ranking.bounds import HOLDS, advance, gather, queue
from newsbot.index.ranking.inputs import BoundArrays, RankArrays, RankSettings, RankTables
from newsbot.index.ranking.parts import (
    JIT,
    accumulate,
    best_titles,
    better_than_root,
    constant,
    drain,
    final_score,
    prior,
    push,
    sift_down,
)
from newsbot.index.ranking.scratch import Scratch

BATCH = 16  # blocks opened in the first batch; each later one is up to four times all opened before
# Scratch.state bits besides bounds.HOLDS: the block's paragraphs' BM25 is complete; the whole-article
# BM25 of the articles it owns is complete; it is in the batch being opened; its articles are wanted
BODY_DONE, ARTICLES_DONE, IN_BATCH, WANT_ARTICLES = 2, 4, 8, 16


@numba.njit(inline="always")  # a call would reference-count every array of its tuples
def _body_postings(
    q: int, ix: RankArrays, bx: BoundArrays, terms: np.ndarray, times: np.ndarray, buf: Scratch, n: int
) -> tuple[int, int]:
    """Add entry ``q``'s paragraph postings (``kernels.rank``'s float operations). Returns (paragraphs
    touched, postings read)."""
    body, touched = buf.body, buf.touched
    k = buf.found_word[q]
    t, times_k = terms[k], times[k]
    factor = float(times_k)
    lo = buf.found_body[q]
    hi = min(lo + np.int64(bx.e_entries[buf.found_entry[q]].bcount), ix.w_indptr[t + 1])  # never past them
    for j in range(lo, hi):
        d = ix.w_indices[j]
        if body[d] == 0.0:
            touched[n] = d
            n += 1
        body[d] += ix.w_data[j] if times_k == 1 else ix.w_data[j] * factor
    return n, hi - lo


@numba.njit(inline="always")  # a call would reference-count every array of its tuples
def _article_postings(
    q: int, ix: RankArrays, bx: BoundArrays, s: RankSettings, terms: np.ndarray, times: np.ndarray,
    buf: Scratch, na: int,
) -> tuple[int, int]:  # fmt: skip
    """Add entry ``q``'s whole-article postings, those of the articles its block owns
    (``kernels._accumulate_counts``' float operations). Returns (articles touched, postings read)."""
    whole, a_touched = buf.whole, buf.a_touched
    a_indptr, a_indices, a_tf, k1_norm = ix.a_indptr, ix.a_indices, ix.a_tf, ix.a_k1_norm
    rows, k1p1, block = a_indptr.shape[0], s.article_k1 + 1, s.article_block
    k = buf.found_word[q]
    t, times_k = terms[k], times[k]
    factor, idf_t = float(times_k), ix.a_idf[t]
    row, j = buf.found_row[q], buf.found_art[q]
    todo = bx.e_entries[buf.found_entry[q]].acount
    read = 0
    while read < todo and row < rows:  # (row < rows: never past the postings)
        a = np.int64(row) * block + np.int64(a_indices[j])
        f = float(a_tf[j])
        w = f * k1p1 / (k1_norm[a] + f) * idf_t
        if whole[a] == 0.0:
            a_touched[na] = a
            na += 1
        whole[a] += w if times_k == 1 else w * factor
        j += 1
        read += 1
        if j == a_indptr[row, t + 1]:
            row, j = advance(a_indptr, t, row, j, 0)
    return na, read


@numba.njit(inline="always")
def _owner(ix: RankArrays, bx: BoundArrays, b: int) -> int:
    """The block where the article of block ``b``'s first paragraph starts (its postings' owner)."""
    return ix.art_start[ix.para_article[np.int64(b) * bx.block]] // bx.block


@numba.njit(**JIT)
def _open_batch(
    batch: np.ndarray, m: int, ix: RankArrays, bx: BoundArrays, s: RankSettings, terms: np.ndarray,
    times: np.ndarray, on_body: np.ndarray, on_art: np.ndarray, buf: Scratch, found: int, n: int, na: int,
) -> tuple[int, int, int]:  # fmt: skip
    """Complete the ``m`` blocks of ``batch``: their paragraphs' BM25 and the whole-article BM25 of
    every article they overlap. Word by word over the entries found, so that each word's postings are
    read in order, as ``kernels.rank`` reads them. Returns (paragraphs touched, articles touched,
    postings read)."""
    state = buf.state
    for r in range(m):
        b = batch[r]
        state[b] |= IN_BATCH
        if s.whole_article_weight != 0.0:
            for o in (_owner(ix, bx, b), b):
                if state[o] & HOLDS != 0 and state[o] & ARTICLES_DONE == 0:
                    state[o] |= WANT_ARTICLES
    read = 0
    for q in range(found):
        b = buf.found_block[q]
        k = buf.found_word[q]
        if state[b] & IN_BATCH != 0 and state[b] & BODY_DONE == 0 and on_body[k]:
            n, got = _body_postings(q, ix, bx, terms, times, buf, n)
            read += got
        if state[b] & WANT_ARTICLES != 0 and on_art[k]:
            na, got = _article_postings(q, ix, bx, s, terms, times, buf, na)
            read += got
    for r in range(m):
        b = batch[r]
        if state[b] & HOLDS != 0:
            state[b] = (state[b] | BODY_DONE) & ~IN_BATCH
        for o in (_owner(ix, bx, b), b):
            if state[o] & WANT_ARTICLES != 0:
                state[o] = (state[o] | ARTICLES_DONE) & ~WANT_ARTICLES
    return n, na, read


@numba.njit(**JIT)
def _preselect(
    ix: RankArrays, bx: BoundArrays, s: RankSettings, tables: RankTables, terms: np.ndarray,
    times: np.ndarray, on_body: np.ndarray, on_art: np.ndarray, buf: Scratch, nb: int, found: int,
) -> tuple[np.ndarray, int, int, int, int]:  # fmt: skip
    """The best ``s.preselect`` paragraphs by coarse score, ``kernels.rank``'s preselection: blocks
    are opened in batches of growing size, best bound first, until the next bound cannot beat the
    worst held. Returns (their numbers, how many, paragraphs touched, articles touched, postings read)."""
    qv, qi = queue(bx, s, tables.recency, buf, nb)
    cap, aw = s.preselect, s.whole_article_weight
    hv = np.empty(cap, dtype=np.float64)
    hi = np.empty(cap, dtype=np.int64)
    size = n = na = opened = read = 0
    body, whole, touched = buf.body, buf.whole, buf.touched
    has_prior = s.has_recency or s.has_prefer
    batch = np.empty(nb, dtype=np.int64)
    queued = nb
    while queued > 0:
        m = 0
        while queued > 0 and m < max(BATCH, 4 * opened) and not (size == cap and -qv[0] < hv[0]):
            batch[m] = qi[0]
            m += 1
            queued -= 1
            qv[0], qi[0] = qv[queued], qi[queued]
            sift_down(qv, qi, queued, 0)
        if m == 0:
            break
        opened += m
        n0 = n
        n, na, got = _open_batch(batch, m, ix, bx, s, terms, times, on_body, on_art, buf, found, n, na)
        read += got
        for x in range(n0, n):
            d = touched[x]
            day = int(ix.para_days[d])
            if day > s.until or day < s.since:
                continue
            c = body[d] + aw * whole[ix.para_article[d]] if aw != 0.0 else body[d]
            c = c * prior(day, s, tables.recency) if has_prior else c
            if better_than_root(hv, hi, size, cap, c, d):
                size = push(hv, hi, size, cap, c, d)
    return hi, size, n, na, read


@numba.njit(**JIT)
def _candidates(
    ix: RankArrays, s: RankSettings, terms: np.ndarray, times: np.ndarray, buf: Scratch,
    best: np.ndarray, size: int,
) -> tuple[np.ndarray, int, int, int, np.ndarray, int]:  # fmt: skip
    """The preselected paragraphs and the visible ones of the best title matches, marked (as
    ``kernels.rank`` has them). Returns (them, how many, titles touched, title postings read, the
    best title matches, how many)."""
    nt = read = 0
    if s.title_weight != 0.0:
        nt = accumulate(ix.t_indptr, ix.t_indices, ix.t_data, terms, times, buf.titles, buf.t_touched)
        for k in range(len(terms)):
            read += ix.t_indptr[terms[k] + 1] - ix.t_indptr[terms[k]]
    th_i, tsize = best_titles(buf.titles, buf.t_touched, nt, s.title_articles)
    art_start, mark = ix.art_start, buf.mark
    most = size
    for r in range(tsize):
        most += art_start[th_i[r] + 1] - art_start[th_i[r]]
    cand = np.empty(most, dtype=np.int64)
    cand[:size] = best[:size]
    nc = size
    for r in range(nc):
        mark[cand[r]] = 1
    for r in range(tsize):
        for p in range(art_start[th_i[r]], art_start[th_i[r] + 1]):
            if mark[p] == 0 and ix.para_days[p] <= s.until and ix.para_days[p] >= s.since:
                cand[nc] = p
                nc += 1
                mark[p] = 1
    return cand, nc, nt, read, th_i, tsize


@numba.njit(**JIT)
def _complete(
    ix: RankArrays, bx: BoundArrays, s: RankSettings, terms: np.ndarray, times: np.ndarray,
    on_body: np.ndarray, on_art: np.ndarray, buf: Scratch, found: int, cand: np.ndarray, nc: int,
    n: int, na: int,
) -> tuple[int, int, int]:  # fmt: skip
    """Open, as one batch, every block a candidate's final score reads and that is not open yet: its
    own, its neighbours' and its article's. Returns (paragraphs touched, articles touched, postings read)."""
    batch = np.empty(len(buf.state), dtype=np.int64)
    m = 0
    for r in range(nc):
        d = cand[r]
        a = ix.para_article[d]
        wanted = (ix.art_start[a] // bx.block, (d - 1) // bx.block, d // bx.block, (d + 1) // bx.block)
        for i in range(4):
            b = wanted[i]
            if b < 0 or b * bx.block >= len(ix.para_days):
                continue
            st = buf.state[b]
            if st & HOLDS != 0 and st & BODY_DONE == 0 and st & IN_BATCH == 0:
                buf.state[b] = st | IN_BATCH
                batch[m] = b
                m += 1
    return _open_batch(batch, m, ix, bx, s, terms, times, on_body, on_art, buf, found, n, na)


@numba.njit(**JIT)
def _words(ix: RankArrays, s: RankSettings, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which question words add to the paragraphs' BM25 and which to the whole articles' (a word whose
    weights are all zero adds nothing: see ``parts.accumulate``)."""
    nq, aw = len(terms), s.whole_article_weight
    on_body = np.zeros(nq, dtype=np.bool_)
    on_art = np.zeros(nq, dtype=np.bool_)
    for k in range(nq):
        t = terms[k]
        on_body[k] = not (ix.w_indptr[t + 1] > ix.w_indptr[t] and ix.w_data[ix.w_indptr[t]] == 0.0)
        on_art[k] = aw != 0.0 and ix.a_idf[t] != 0.0
    return on_body, on_art


@numba.njit(**JIT)
def _leave(buf: Scratch, cand: np.ndarray, nc: int, n: int, nt: int, na: int, nb: int) -> None:
    """Leave the buffers as they were found."""
    for r in range(nc):
        buf.mark[cand[r]] = 0
    for r in range(n):
        buf.body[buf.touched[r]] = 0.0
    for r in range(nt):
        buf.titles[buf.t_touched[r]] = 0.0
    for r in range(na):
        buf.whole[buf.a_touched[r]] = 0.0
    for r in range(nb):
        buf.state[buf.blocks[r]] = 0


@numba.njit(**JIT)
def rank(
    ix: RankArrays,
    bx: BoundArrays,
    s: RankSettings,
    tables: RankTables,
    terms: np.ndarray,
    times: np.ndarray,
    buf: Scratch,
) -> tuple[np.ndarray, np.ndarray, int]:
    """``kernels.rank``'s best ``s.limit`` paragraphs as (ids, scores, postings read), best first."""
    on_body, on_art = _words(ix, s, terms)
    nb, found, read = gather(ix, bx, s, terms, times, on_body, on_art, buf)
    best, size, n, na, got = _preselect(ix, bx, s, tables, terms, times, on_body, on_art, buf, nb, found)
    cand, nc, nt, got_t, _, _ = _candidates(ix, s, terms, times, buf, best, size)
    n, na, got_c = _complete(ix, bx, s, terms, times, on_body, on_art, buf, found, cand, nc, n, na)
    # the finer features, and the final top-limit
    base = constant(ix.w_floor, terms, times)
    fv = np.empty(s.limit, dtype=np.float64)
    fi = np.empty(s.limit, dtype=np.int64)
    fsize = 0
    for r in range(nc):
        d = cand[r]
        total = final_score(d, ix, s, tables, buf.body, buf.titles, buf.whole, base)
        if better_than_root(fv, fi, fsize, s.limit, total, d):
            fsize = push(fv, fi, fsize, s.limit, total, d)
    _leave(buf, cand, nc, n, nt, na, nb)
    ids, vals = drain(fv, fi, fsize)
    return ids, vals, read + got + got_t + got_c


@numba.njit(**JIT)
def candidates(
    ix: RankArrays,
    bx: BoundArrays,
    s: RankSettings,
    tables: RankTables,
    terms: np.ndarray,
    times: np.ndarray,
    buf: Scratch,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """One shard's candidates (``ranking/shard.py``) in the order its numpy version gives them: the
    best ``s.preselect`` paragraphs by coarse score, by number; then the visible paragraphs of the best
    title matches not among them, article by article in the order of ``_titled``. Returns (those
    paragraphs, their final scores, their coarse scores (-inf for the title matches' part), the best
    title matches, their titles' BM25, postings read)."""
    on_body, on_art = _words(ix, s, terms)
    nb, found, read = gather(ix, bx, s, terms, times, on_body, on_art, buf)
    best, size, n, na, got = _preselect(ix, bx, s, tables, terms, times, on_body, on_art, buf, nb, found)
    cand, nc, nt, got_t, th_i, tsize = _candidates(ix, s, terms, times, buf, best, size)
    n, na, got_c = _complete(ix, bx, s, terms, times, on_body, on_art, buf, found, cand, nc, n, na)
    cand = cand[:nc]
    cand[:size].sort()
    titled = _titled(buf.titles, th_i, tsize, nt, s.title_articles)
    _in_title_order(cand, size, titled, ix.art_start, buf.mark)
    base = constant(ix.w_floor, terms, times)
    final = np.empty(nc, dtype=np.float64)
    coarse = np.full(nc, -np.inf)
    aw, has_prior = s.whole_article_weight, s.has_recency or s.has_prefer
    for r in range(nc):
        d = cand[r]
        final[r] = final_score(d, ix, s, tables, buf.body, buf.titles, buf.whole, base)
        if r < size:  # the preselection's score, as _preselect computed it
            c = buf.body[d] + aw * buf.whole[ix.para_article[d]] if aw != 0.0 else buf.body[d]
            coarse[r] = c * prior(int(ix.para_days[d]), s, tables.recency) if has_prior else c
    title_scores = np.empty(tsize, dtype=np.float64)
    for r in range(tsize):
        title_scores[r] = buf.titles[titled[r]]
    _leave(buf, cand, nc, n, nt, na, nb)
    return cand, final, coarse, titled, title_scores, read + got + got_t + got_c


@numba.njit(**JIT)
def _titled(titles: np.ndarray, th_i: np.ndarray, tsize: int, nt: int, m: int) -> np.ndarray:
    """The best ``tsize`` title matches of ``nt`` in ``search.top_indices``' order: by number, except
    that when some were cut (nt > m), those tied with the worst kept come after the rest."""
    ordered = np.sort(th_i[:tsize])
    if nt <= m or tsize == 0:
        return ordered
    worst = titles[ordered[0]]
    for r in range(tsize):
        worst = min(worst, titles[ordered[r]])
    out = np.empty(tsize, dtype=np.int64)
    k = 0
    for tied in (False, True):
        for r in range(tsize):
            if (titles[ordered[r]] == worst) == tied:
                out[k] = ordered[r]
                k += 1
    return out


@numba.njit(**JIT)
def _in_title_order(
    cand: np.ndarray, size: int, titled: np.ndarray, art_start: np.ndarray, mark: np.ndarray
) -> None:
    """Put the candidates after the first ``size`` (the title matches' paragraphs, all marked) article by
    article in the order of ``titled``, each article's by number."""
    for r in range(size):
        mark[cand[r]] = 2
    k = size
    for a in titled:
        for p in range(art_start[a], art_start[a + 1]):
            if mark[p] == 1:
                cand[k] = p
                k += 1
    for r in range(size):
        mark[cand[r]] = 1
