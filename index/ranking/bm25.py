"""BM25 exactly as rank-bm25 0.2.2 defines it, precomputed as a sparse term-by-document matrix.

For every (term, document) pair with a non-zero count the matrix holds that term's contribution
to the document's score, so a query's scores are the sum of a few matrix rows. rank-bm25 computes
the same numbers by looping over every document for every query term.

BM25Plus also gives documents that lack a term a constant, non-zero contribution (rank-bm25's
BM25L multiplies by the term's count, so it does not); that constant is kept per term (``floor``)
and added to every score, so the scores equal rank-bm25's while the matrix stays sparse. Terms
absent from the corpus contribute nothing, as in rank-bm25.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp  # type: ignore[import-untyped]  # scipy ships no types

VARIANTS = ("okapi", "plus", "l")
_BLOCK = 1 << 16


@dataclass(frozen=True, slots=True)
class BM25Params:
    variant: str = "okapi"
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25
    delta: float = 0.5
    article_b: float = 0.5  # b for whole articles as documents (the index's second matrix)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown BM25 variant {self.variant!r}")


@dataclass(frozen=True, slots=True)
class DocStats:
    """The corpus-wide figures a matrix's postings are weighed with: its own, or, for one shard of a
    cluster, every shard's summed (so that each weight is what one index of everything would hold)."""

    n_docs: int
    total_len: int  # the documents' lengths summed (the average length is total_len / n_docs)
    df: np.ndarray  # int64 per term id: how many documents hold it
    mean_idf: float  # Okapi's floor: the mean raw idf of the terms some document holds (mean_idf())


def mean_idf(df: np.ndarray, n_docs: int) -> float:
    """The mean of Okapi's raw idf over the terms with a document frequency, summed exactly (so that
    it does not depend on the order of the terms: each shard numbers them its own way)."""
    freq = df[df > 0].astype(np.float64)
    if not len(freq):
        return 0.0
    raw = np.log(n_docs - freq + 0.5) - np.log(freq + 0.5)
    return math.fsum(raw.tolist()) / len(raw)


def doc_stats(counts: sp.csr_matrix, doc_len: np.ndarray) -> DocStats:
    """A count matrix's own figures."""
    n_docs = counts.shape[1]
    df = np.diff(counts.indptr).astype(np.int64)
    return DocStats(n_docs, int(doc_len.sum()), df, mean_idf(df, n_docs))


@dataclass(frozen=True, slots=True)
class Weights:
    """Row ``t`` of the CSR matrix: the documents holding term ``t`` and its contribution to each."""

    indptr: np.ndarray  # int64, n_terms + 1
    indices: np.ndarray  # int32, document numbers, sorted within a row
    data: np.ndarray  # float64 contributions
    floor: np.ndarray  # float64 per term: what a document without the term still gets (0 for Okapi)
    n_docs: int

    @property
    def n_terms(self) -> int:
        return len(self.indptr) - 1

    def row(self, term: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Term ``term``'s documents, their contributions, and what every document gets on top."""
        lo, hi = int(self.indptr[term]), int(self.indptr[term + 1])
        return self.indices[lo:hi], self.data[lo:hi], float(self.floor[term])


TF_MAX = 255  # counts are stored in a byte; a count above this is taken as this
BLOCK = 1 << 16  # documents per block: a document number within its block fits in two bytes


@dataclass(frozen=True, slots=True)
class CountWeights:
    """BM25Okapi contributions kept as counts, computed when read: a quarter of the memory of
    ``Weights`` (a byte of count and two of document number an entry, not four and eight).

    Documents come in blocks of ``block``; block ``b`` of term ``t`` is entries
    ``indptr[b, t]:indptr[b, t + 1]``, whose documents are ``b * block + indices[j]``. A weight is
    ``tf * (k1 + 1) / (k1_norm[doc] + tf) * idf[term]``, the float operations of :func:`weigh`,
    so the values equal its Okapi weights (for counts up to ``TF_MAX``; the BM25 term is close to
    saturated long before).
    """

    indptr: np.ndarray  # int64, (blocks, n_terms + 1)
    indices: np.ndarray  # uint16, document numbers within their block, sorted within a row
    tf: np.ndarray  # uint8 counts
    idf: np.ndarray  # float64 per term
    k1_norm: np.ndarray  # float64 per document: k1 * (1 - b + b * length / average length)
    k1: float
    n_docs: int
    block: int = BLOCK

    @property
    def n_terms(self) -> int:
        return int(self.indptr.shape[1]) - 1

    def row(self, term: int) -> tuple[np.ndarray, np.ndarray, float]:
        docs, counts = [], []
        for b in range(self.indptr.shape[0]):
            lo, hi = int(self.indptr[b, term]), int(self.indptr[b, term + 1])
            docs.append(self.indices[lo:hi].astype(np.int64) + b * self.block)
            counts.append(self.tf[lo:hi])
        d = docs[0] if len(docs) == 1 else np.concatenate(docs)
        tf = (counts[0] if len(counts) == 1 else np.concatenate(counts)).astype(np.float64)
        return d, tf * (self.k1 + 1) / (self.k1_norm[d] + tf) * self.idf[term], 0.0


def count_weights(
    counts: sp.csr_matrix,
    doc_len: np.ndarray,
    params: BM25Params,
    block: int = BLOCK,
    stats: DocStats | None = None,
) -> CountWeights:
    """:class:`CountWeights` (BM25Okapi with ``params``' k1, b and epsilon) from term-by-document
    counts (sorted indices), weighed with ``stats`` (default: the counts' own)."""
    if not 0 < block <= BLOCK:
        raise ValueError(f"block must be 1 to {BLOCK}")
    n_terms, n_docs = counts.shape
    stats = stats or doc_stats(counts, doc_len)
    okapi = BM25Params("okapi", params.k1, params.b, params.epsilon)
    idf = idf_for(stats.df, stats.n_docs, okapi, stats.mean_idf)
    n_blocks = max(1, -(-n_docs // block))
    indptr = np.zeros((n_blocks, n_terms + 1), dtype=np.int64)
    indices, tf = [], []
    stored = 0
    for n in range(n_blocks):
        part = counts[:, n * block : (n + 1) * block]  # column numbers relative to the block
        indptr[n] = part.indptr + stored
        indices.append(part.indices.astype(np.uint16))
        tf.append(byte_counts(part.data))
        stored += part.nnz
    return CountWeights(
        indptr=indptr,
        indices=np.concatenate(indices),
        tf=np.concatenate(tf),
        idf=idf,
        k1_norm=params.k1 * length_norm(doc_len, params.b, _average(stats)),
        k1=float(params.k1),
        n_docs=n_docs,
        block=block,
    )


def byte_counts(counts: np.ndarray) -> np.ndarray:
    """Counts as bytes, those above ``TF_MAX`` taken as ``TF_MAX``."""
    return np.minimum(counts, TF_MAX).astype(np.uint8)


def count_matrix(term_ids: np.ndarray, doc_of_token: np.ndarray, n_terms: int, n_docs: int) -> sp.csr_matrix:
    """Term-by-document counts from the flat list of every token's term and document."""
    # 32-bit indices and counts keep the peak memory of a million-paragraph build down
    ones = np.ones(len(term_ids), dtype=np.float32)
    rows = term_ids.astype(np.int32, copy=False)
    cols = doc_of_token.astype(np.int32, copy=False)
    import scipy.sparse as sp  # only building needs scipy (it costs a serving process ~20 MB)

    counts = sp.csr_matrix((ones, (rows, cols)), shape=(n_terms, n_docs))
    counts.sum_duplicates()
    counts.sort_indices()
    return counts


def article_counts(counts: sp.csr_matrix, doc_article: np.ndarray, n_articles: int) -> sp.csr_matrix:
    """Term-by-article counts from term-by-document ones, each document belonging to one article."""
    n_docs = counts.shape[1]
    ones = np.ones(n_docs, dtype=counts.dtype)
    rows = np.arange(n_docs, dtype=np.int32)
    import scipy.sparse as sp

    member = sp.csr_matrix((ones, (rows, doc_article.astype(np.int32))), shape=(n_docs, n_articles))
    return (counts @ member).tocsr()


def idf_for(df: np.ndarray, n_docs: int, params: BM25Params, mean: float | None = None) -> np.ndarray:
    """Per-term idf as rank-bm25 computes it; 0 for terms no document holds. ``mean``: Okapi's mean
    raw idf over the whole corpus (default: over ``df``, see :func:`mean_idf`)."""
    present = df > 0
    idf = np.zeros(len(df), dtype=np.float64)
    freq = df[present].astype(np.float64)
    if params.variant == "okapi":
        raw = np.log(n_docs - freq + 0.5) - np.log(freq + 0.5)
        if len(raw):
            eps = params.epsilon * (mean_idf(df, n_docs) if mean is None else mean)
            raw = np.where(raw < 0, eps, raw)
        idf[present] = raw
    elif params.variant == "l":
        idf[present] = np.log(n_docs + 1) - np.log(freq + 0.5)
    else:
        idf[present] = np.log((n_docs + 1) / freq)
    return idf


def _average(stats: DocStats) -> float:
    return float(stats.total_len) / stats.n_docs if stats.n_docs else 0.0


def length_norm(doc_len: np.ndarray, b: float, avgdl: float | None = None) -> np.ndarray:
    """Per-document length normalisation ``1 - b + b * length / average length``, computed once per
    document and gathered per entry (the same float operations as rank-bm25's, so the results are
    identical; :class:`CountWeights` relies on it too). ``avgdl``: the corpus's (default: these
    documents')."""
    if avgdl is None:
        n_docs = len(doc_len)
        avgdl = float(doc_len.sum()) / n_docs if n_docs else 0.0
    dl = doc_len.astype(np.float64)
    return 1 - b + b * dl / avgdl if avgdl > 0 else np.full_like(dl, 1 - b)


def weigh(
    counts: sp.csr_matrix, doc_len: np.ndarray, params: BM25Params, stats: DocStats | None = None
) -> Weights:
    """Turn a term-by-document count matrix into BM25 contributions, weighed with ``stats``
    (default: the matrix's own)."""
    n_terms, n_docs = counts.shape
    df = np.diff(counts.indptr)
    stats = stats or doc_stats(counts, doc_len)
    idf = idf_for(stats.df, stats.n_docs, params, stats.mean_idf)
    k1 = params.k1
    doc_norm = length_norm(doc_len, params.b, _average(stats))
    tf = counts.data.astype(np.float64)
    term_idf = np.repeat(idf, df)
    if params.variant == "okapi":
        # idf * (tf * (k1 + 1) / (tf + k1 * norm)), block by block so the temporaries stay in cache
        k1_norm = k1 * doc_norm
        data = tf
        for lo in range(0, len(data), _BLOCK):
            block = data[lo : lo + _BLOCK]
            denominator = k1_norm[counts.indices[lo : lo + _BLOCK]]
            denominator += block
            block *= k1 + 1
            block /= denominator
            block *= term_idf[lo : lo + _BLOCK]
        floor = np.zeros(n_terms)
    elif params.variant == "l":
        ctd = tf / doc_norm[counts.indices]
        floor = np.zeros(n_terms)
        data = term_idf * tf * (k1 + 1) * (ctd + params.delta) / (k1 + ctd + params.delta)
    else:
        floor = idf * params.delta
        data = term_idf * (params.delta + (tf * (k1 + 1)) / ((k1 * doc_norm)[counts.indices] + tf))
        data -= np.repeat(floor, df)
    return Weights(
        indptr=counts.indptr.astype(np.int64),
        indices=counts.indices.astype(np.int32),
        data=data.astype(np.float64),
        floor=floor.astype(np.float64),
        n_docs=n_docs,
    )


def query_counts(term_ids: list[int], n_terms: int) -> dict[int, int]:
    """How many times each known term occurs in a query (rank-bm25 counts repeated terms again)."""
    out: dict[int, int] = {}
    for t in term_ids:
        if 0 <= t < n_terms:
            out[t] = out.get(t, 0) + 1
    return out


def accumulate(
    weights: Weights | CountWeights, term_ids: list[int], into: np.ndarray
) -> tuple[np.ndarray, float]:
    """Add the query's contributions into ``into`` (all zeros on entry); return the documents touched
    (sorted, unique) and the constant that every document gets on top.

    The caller owns ``into`` and must zero the touched entries again (``into[touched] = 0``): a
    buffer reused that way costs nothing to clear, where a fresh dense array costs page faults.
    """
    parts: list[np.ndarray] = []
    constant = 0.0
    postings = 0
    for term, times in query_counts(term_ids, weights.n_terms).items():
        docs, values, floor = weights.row(term)
        into[docs] += values * times if times != 1 else values
        constant += floor * times
        if len(docs):  # a known term may have no postings here (in no title, or its articles removed)
            parts.append(docs)
        postings += len(docs)
    if not postings:  # no known term, or terms whose articles are all gone
        return np.empty(0, dtype=np.int64), constant
    # Documents whose contributions sum to exactly 0 (a word in half the documents has an Okapi
    # weight of 0) are left out on every path: their score is any untouched document's.
    if len(parts) == 1:
        docs = np.asarray(parts[0], dtype=np.int64)
        return docs[into[docs] != 0], constant
    if postings * 16 > weights.n_docs:
        # many postings: one linear scan of the buffer beats sorting them
        return np.flatnonzero(into != 0), constant
    # few postings: merge the sorted lists (a stable sort of sorted runs is a merge)
    merged = np.sort(np.concatenate(parts), kind="stable")
    keep = np.empty(len(merged), dtype=bool)
    keep[0] = True
    np.not_equal(merged[1:], merged[:-1], out=keep[1:])
    docs = merged[keep].astype(np.int64)
    return docs[into[docs] != 0], constant


def scores(weights: Weights | CountWeights, term_ids: list[int]) -> tuple[np.ndarray, np.ndarray, float]:
    """Dense scores of every document, the documents touched, and the constant added to all.

    ``dense[d] + constant`` equals rank-bm25's ``get_scores(query)[d]``.
    """
    dense = np.zeros(weights.n_docs, dtype=np.float64)
    touched, constant = accumulate(weights, term_ids, dense)
    return dense, touched, constant
