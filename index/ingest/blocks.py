"""Upper bounds per block of paragraphs, for the pruned ranking (``ranking/pruned.py``).

A generation numbers its articles by date (``build.date_order``), so a block of ``BLOCK``
consecutive paragraphs covers a narrow range of days. For every word and every block where that word
counts, an entry holds the word's highest paragraph weight in the block and its highest
whole-article weight among the articles the block overlaps, and how many postings of each kind the
block owns (an article's postings are owned by the block of its first paragraph). The ranking sums a
question's entries per block, times the best date multiplier the block's days allow, and skips
every block whose bound cannot reach the candidates it already has.

Entries are sorted by word, then block (``e_indptr[t]:e_indptr[t + 1]`` are word ``t``'s), so the
ranking finds where a block's postings start by counting, with no offsets stored. Bounds are kept
as float32 rounded up: never below the float64 weights they bound.
"""

from __future__ import annotations

import numpy as np

from newsbot.index.ranking.bm25 import CountWeights, Weights

BLOCK = 256  # paragraphs per block (docs/benchmarks.md: the pruned ranking's block size)
Arrays = dict[str, np.ndarray]


def round_up(values: np.ndarray) -> np.ndarray:
    """float64 values as float32, each rounded up to a float32 at least as large."""
    out = values.astype(np.float32)
    low = out.astype(np.float64) < values
    out[low] = np.nextafter(out[low], np.float32(np.inf))
    return out


def _runs(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in the sorted ``keys``."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))


def _body(body: Weights, n_blocks: int, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(key, postings, highest weight) per (word, block) holding paragraph postings; key =
    word * n_blocks + block, sorted (postings come by word, then paragraph)."""
    words = np.repeat(np.arange(body.n_terms, dtype=np.int64), np.diff(body.indptr))
    keys = words * n_blocks + body.indices.astype(np.int64) // block
    del words
    starts = _runs(keys)
    counts = np.diff(np.append(starts, len(keys)))
    highest = np.maximum.reduceat(body.data, starts) if len(starts) else np.zeros(0)
    return keys[starts], counts, highest


def _article_postings(articles: CountWeights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(word, article, weight) of every whole-article posting, in the matrix's order; the weight is
    computed with ``CountWeights.row``'s float operations."""
    n_blocks, n_terms = articles.indptr.shape[0], articles.n_terms
    words, arts = [], []
    for b in range(n_blocks):
        row = articles.indptr[b]
        words.append(np.repeat(np.arange(n_terms, dtype=np.int64), np.diff(row)))
        arts.append(articles.indices[row[0] : row[-1]].astype(np.int64) + b * articles.block)
    word = np.concatenate(words)
    art = np.concatenate(arts)
    tf = articles.tf.astype(np.float64)
    weight = tf * (articles.k1 + 1) / (articles.k1_norm[art] + tf) * articles.idf[word]
    return word, art, weight


def _articles(
    articles: CountWeights, art_start: np.ndarray, n_blocks: int, block: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(key, postings owned) per (word, owner block), and (key, highest weight) per (word, block
    overlapped), both sorted by key."""
    word, art, weight = _article_postings(articles)
    first = art_start[:-1] // block
    last = np.maximum(art_start[1:] - 1, art_start[:-1]) // block  # an empty article: its start's block
    owner_keys = word * n_blocks + first[art]
    order = np.argsort(owner_keys, kind="stable")
    owner_keys = owner_keys[order]
    starts = _runs(owner_keys)
    owned = np.diff(np.append(starts, len(owner_keys)))
    keys, highest = [owner_keys], [weight[order]]
    del order
    # an article that runs on into later blocks bounds those blocks too
    spans = last[art] - first[art]
    for extra in range(1, int(spans.max(initial=0)) + 1):
        more = spans >= extra
        keys.append(word[more] * n_blocks + first[art[more]] + extra)
        highest.append(weight[more])
    all_keys = np.concatenate(keys)
    all_highest = np.concatenate(highest)
    order = np.argsort(all_keys, kind="stable")
    all_keys, all_highest = all_keys[order], all_highest[order]
    runs = _runs(all_keys)
    peak = np.maximum.reduceat(all_highest, runs) if len(runs) else np.zeros(0)
    return owner_keys[starts], owned, all_keys[runs], peak


def block_bounds(body: Weights, articles: CountWeights, art_start: np.ndarray, block: int = BLOCK) -> Arrays:
    """The ``e_*`` arrays of a generation (see ``layout.PRUNE_ARRAYS``)."""
    if not 0 < block <= np.iinfo(np.uint16).max:
        raise ValueError("a block holds 1 to 65535 paragraphs")
    n_par = body.n_docs
    n_blocks = max(1, -(-n_par // block))
    b_keys, b_count, b_high = _body(body, n_blocks, block)
    o_keys, o_count, a_keys, a_high = _articles(articles, art_start, n_blocks, block)
    keys = np.union1d(np.union1d(b_keys, o_keys), a_keys)
    n = len(keys)
    bcount = np.zeros(n, dtype=np.uint16)
    bcount[np.searchsorted(keys, b_keys)] = b_count
    acount = np.zeros(n, dtype=np.uint32)
    acount[np.searchsorted(keys, o_keys)] = o_count
    bhigh = np.zeros(n, dtype=np.float64)
    bhigh[np.searchsorted(keys, b_keys)] = b_high
    ahigh = np.zeros(n, dtype=np.float64)
    ahigh[np.searchsorted(keys, a_keys)] = a_high
    words = keys // n_blocks
    indptr = np.zeros(body.n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(words, minlength=body.n_terms), out=indptr[1:])
    return {
        "e_indptr": indptr,
        "e_block": (keys % n_blocks).astype(np.int32),
        "e_bcount": bcount,
        "e_acount": acount,
        "e_bmax": round_up(bhigh),
        "e_amax": round_up(ahigh),
    }
