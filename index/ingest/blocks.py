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

from newsbot.index.layout import ENTRY
from newsbot.index.ranking.bm25 import CountWeights, Weights

BLOCK = 256  # paragraphs per block (docs/benchmarks.md: the pruned ranking's block size)
CHUNK = 1 << 23  # postings whose entries are computed at a time
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


def _body(body: Weights, lo: int, hi: int, n_blocks: int, block: int) -> tuple[np.ndarray, ...]:
    """(key, postings, highest weight) per (word, block) holding paragraph postings of the words
    ``lo:hi``; key = word * n_blocks + block, sorted (postings come by word, then paragraph)."""
    start, end = int(body.indptr[lo]), int(body.indptr[hi])
    words = np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(body.indptr[lo : hi + 1]))
    keys = words * n_blocks + body.indices[start:end].astype(np.int64) // block
    del words
    starts = _runs(keys)
    counts = np.diff(np.append(starts, len(keys)))
    highest = np.maximum.reduceat(body.data[start:end], starts) if len(starts) else np.zeros(0)
    return keys[starts], counts, highest


def _article_postings(articles: CountWeights, lo: int, hi: int) -> tuple[np.ndarray, ...]:
    """(word, article, weight) of the whole-article postings of the words ``lo:hi``; the weight is
    computed with ``CountWeights.row``'s float operations."""
    words, arts, tfs = [], [], []
    for b in range(articles.indptr.shape[0]):
        row = articles.indptr[b]
        start, end = int(row[lo]), int(row[hi])
        words.append(np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(row[lo : hi + 1])))
        arts.append(articles.indices[start:end].astype(np.int64) + b * articles.block)
        tfs.append(articles.tf[start:end])
    word, art = np.concatenate(words), np.concatenate(arts)
    tf = np.concatenate(tfs).astype(np.float64)
    weight = tf * (articles.k1 + 1) / (articles.k1_norm[art] + tf) * articles.idf[word]
    return word, art, weight


def _articles(
    articles: CountWeights, lo: int, hi: int, art_start: np.ndarray, n_blocks: int, block: int
) -> tuple[np.ndarray, ...]:
    """For the words ``lo:hi``: (key, postings owned) per (word, owner block), and (key, highest
    weight) per (word, block overlapped), both sorted by key."""
    word, art, weight = _article_postings(articles, lo, hi)
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
    longer = np.flatnonzero(spans > 0)
    word, start, weight, spans = word[longer], first[art[longer]], weight[longer], spans[longer]
    extra = 1
    while len(spans):
        keys.append(word * n_blocks + start + extra)
        highest.append(weight)
        more = spans > extra
        word, start, weight, spans = word[more], start[more], weight[more], spans[more]
        extra += 1
    all_keys = np.concatenate(keys)
    all_highest = np.concatenate(highest)
    order = np.argsort(all_keys, kind="stable")
    all_keys, all_highest = all_keys[order], all_highest[order]
    runs = _runs(all_keys)
    peak = np.maximum.reduceat(all_highest, runs) if len(runs) else np.zeros(0)
    return owner_keys[starts], owned, all_keys[runs], peak


def _entries(
    body: Weights, articles: CountWeights, art_start: np.ndarray, lo: int, hi: int, n_blocks: int, block: int
) -> tuple[np.ndarray, ...]:
    """The entries of the words ``lo:hi``: (key, paragraph postings, owned article postings, highest
    paragraph weight, highest article weight), sorted by key."""
    b_keys, b_count, b_high = _body(body, lo, hi, n_blocks, block)
    o_keys, o_count, a_keys, a_high = _articles(articles, lo, hi, art_start, n_blocks, block)
    keys = np.concatenate((b_keys, o_keys, a_keys))
    keys.sort(kind="stable")  # three sorted runs: merged
    keys = keys[_runs(keys)]
    n = len(keys)
    bcount = np.zeros(n, dtype=np.uint16)
    bcount[np.searchsorted(keys, b_keys)] = b_count
    acount = np.zeros(n, dtype=np.uint32)
    acount[np.searchsorted(keys, o_keys)] = o_count
    bhigh = np.zeros(n, dtype=np.float64)
    bhigh[np.searchsorted(keys, b_keys)] = b_high
    ahigh = np.zeros(n, dtype=np.float64)
    ahigh[np.searchsorted(keys, a_keys)] = a_high
    return keys, bcount, acount, round_up(bhigh), round_up(ahigh)


def _word_chunks(body: Weights, articles: CountWeights, size: int) -> list[tuple[int, int]]:
    """Ranges of words whose postings (paragraphs and articles) add up to about ``size`` each."""
    per_word = np.diff(body.indptr) + np.diff(articles.indptr, axis=1).sum(axis=0)
    ends = np.searchsorted(np.cumsum(per_word), np.arange(size, int(per_word.sum()) + size, size), "right")
    out, lo = [], 0
    for hi in [*ends.tolist(), body.n_terms]:
        hi = min(max(hi, lo + 1), body.n_terms)
        if hi > lo:
            out.append((lo, hi))
            lo = hi
    return out


def block_bounds(
    body: Weights, articles: CountWeights, art_start: np.ndarray, block: int = BLOCK, chunk: int = CHUNK
) -> Arrays:
    """The ``e_*`` arrays of a generation (see ``layout.BOUNDS``), computed ``chunk`` postings at a
    time so that the memory they take beside the matrices stays small."""
    if not 0 < block <= np.iinfo(np.uint16).max:
        raise ValueError("a block holds 1 to 65535 paragraphs")
    n_blocks = max(1, -(-body.n_docs // block))
    parts = [
        _entries(body, articles, art_start, lo, hi, n_blocks, block)
        for lo, hi in _word_chunks(body, articles, chunk)
    ]
    keys = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    indptr = np.zeros(body.n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // n_blocks, minlength=body.n_terms), out=indptr[1:])
    entries = np.zeros(len(keys), dtype=ENTRY)
    entries["block"] = keys % n_blocks
    del keys
    for i, name in enumerate(("bcount", "acount", "bmax", "amax"), start=1):
        if parts:
            entries[name] = np.concatenate([p[i] for p in parts])
    return {"e_indptr": indptr, "e_entries": entries}
