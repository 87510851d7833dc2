"""A question's bounds per block of paragraphs, for the pruned ranking (``pruned.py``).

``gather`` reads the question's words' entries (``ingest/blocks.py``) in the blocks its window can
see, sums each block's bounds, and notes where each word's postings start in each block (counting:
no offsets are stored), both in the order found (by word, then block) and grouped by block.
``queue`` orders the blocks by their bound times the best date multiplier their days allow.
"""

from __future__ import annotations

import numba
import numpy as np

from newsbot.index.ranking.inputs import BoundArrays, RankArrays, RankSettings
from newsbot.index.ranking.parts import JIT, sift_down
from newsbot.index.ranking.scratch import Scratch

HOLDS = 1  # Scratch.state: the block holds entries of the question's words (pruned.py has the rest)
SAFETY = 1.0 + 1e-9  # bounds are widened by this: sums in another order may round the other way


@numba.njit(**JIT)
def advance(a_indptr: np.ndarray, t: int, row: int, j: int, count: int) -> tuple[int, int]:
    """Word ``t``'s article cursor (row block, posting) moved on by ``count`` postings, onto a
    posting (or past the last row)."""
    rows = a_indptr.shape[0]
    while row < rows:
        room = a_indptr[row, t + 1] - j
        if count < room:
            return row, j + count
        count -= room
        row += 1
        if row < rows:
            j = a_indptr[row, t]
    return row, j


@numba.njit(**JIT)
def visible_blocks(bx: BoundArrays, since: int, until: int) -> tuple[int, int]:
    """The first and last block whose days meet [since, until] (block days never decrease)."""
    lo, hi = 0, len(bx.b_hi)
    while lo < hi:  # the first block whose latest day is since or later
        mid = (lo + hi) >> 1
        if bx.b_hi[mid] < since:
            lo = mid + 1
        else:
            hi = mid
    first = lo
    lo, hi = first, len(bx.b_lo)
    while lo < hi:  # the first block whose earliest day is after until
        mid = (lo + hi) >> 1
        if bx.b_lo[mid] <= until:
            lo = mid + 1
        else:
            hi = mid
    return first, lo - 1


@numba.njit(**JIT)
def gather(
    ix: RankArrays,
    bx: BoundArrays,
    s: RankSettings,
    terms: np.ndarray,
    times: np.ndarray,
    on_body: np.ndarray,
    on_art: np.ndarray,
    buf: Scratch,
) -> tuple[int, int, int]:
    """Sum each visible block's bounds over the question's words, and note where each word's
    postings start there. Returns (blocks found, entries found, entries read)."""
    first, last = visible_blocks(bx, s.since, s.until)
    state, bound, blocks, count = buf.state, buf.bound, buf.blocks, buf.count
    a_indptr, entries = ix.a_indptr, bx.e_entries
    aw = s.whole_article_weight
    nb = p = read = 0
    for k in range(len(terms)):
        t = terms[k]
        f = float(times[k])
        body_at = ix.w_indptr[t]
        row, j = advance(a_indptr, t, 0, a_indptr[0, t], 0)
        for e in range(bx.e_indptr[t], bx.e_indptr[t + 1]):
            entry = entries[e]
            b = entry.block
            if b > last:
                break  # the rest are later still
            read += 1
            if b >= first:
                if state[b] == 0:
                    state[b] = HOLDS
                    blocks[nb] = b
                    nb += 1
                    bound[b] = 0.0
                    count[b] = 0
                count[b] += 1
                buf.found_block[p] = b
                buf.found_word[p] = k
                buf.found_entry[p] = e
                buf.found_body[p] = body_at
                buf.found_row[p] = row
                buf.found_art[p] = j
                p += 1
                u = float(entry.bmax) * f if on_body[k] else 0.0
                if on_art[k]:
                    u += aw * (float(entry.amax) * f)
                bound[b] += u
            body_at += entry.bcount
            if entry.acount > 0:
                row, j = advance(a_indptr, t, row, j, entry.acount)
    # group the entries by block too, each block's in word order (the order its sums are added in)
    at = 0
    for r in range(nb):
        b = blocks[r]
        buf.first[b] = at
        at += count[b]
        count[b] = 0
    for q in range(p):
        b = buf.found_block[q]
        buf.grouped[buf.first[b] + count[b]] = q
        count[b] += 1
    return nb, p, read


@numba.njit(**JIT)
def queue(
    bx: BoundArrays, s: RankSettings, recency: np.ndarray, buf: Scratch, nb: int
) -> tuple[np.ndarray, np.ndarray]:
    """The blocks found as a heap whose root is the best bound (values are the bounds negated, ids the
    blocks); each bound is the sum of the block's entries times the best date multiplier its days allow."""
    hv = np.empty(nb, dtype=np.float64)
    hi = np.empty(nb, dtype=np.int64)
    for r in range(nb):
        b = buf.blocks[r]
        lo, hi_day = max(int(bx.b_lo[b]), s.since), min(int(bx.b_hi[b]), s.until)
        p = 1.0
        if s.has_recency:
            p = recency[min(max(s.now - hi_day, 0), len(recency) - 1)]  # the newest day counts most
        if s.has_prefer:
            boost = s.prefer_factor if (hi_day >= s.prefer_lo) & (lo <= s.prefer_hi) else 1.0
            p = p * boost if s.has_recency else boost
        hv[r] = -(buf.bound[b] * p * SAFETY)
        hi[r] = b
    for pos in range(nb // 2 - 1, -1, -1):
        sift_down(hv, hi, nb, pos)
    return hv, hi
