"""The precomputed matrix gives exactly rank-bm25's scores, for each variant, on the same tokens."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

from newsbot.index.config import SAMPLE_NEWS
from newsbot.index.ingest.parse import parse_bytes
from newsbot.index.ranking.bm25 import BM25Params, Weights, count_matrix, scores, weigh
from newsbot.index.tokenizer import Tokenizer

from .helpers import CORPUS

REFERENCE = {"okapi": BM25Okapi, "l": BM25L, "plus": BM25Plus}
PARAMS = {
    "okapi": BM25Params("okapi", k1=1.5, b=0.75, epsilon=0.25),
    "l": BM25Params("l", k1=1.5, b=0.75, delta=0.5),
    "plus": BM25Params("plus", k1=1.5, b=0.75, delta=1.0),
}


def reference_model(variant: str, corpus: list[list[str]], params: BM25Params) -> object:
    if variant == "okapi":
        return BM25Okapi(corpus, k1=params.k1, b=params.b, epsilon=params.epsilon)
    return REFERENCE[variant](corpus, k1=params.k1, b=params.b, delta=params.delta)


def build(corpus: list[list[str]], params: BM25Params) -> tuple[Weights, dict[str, int]]:
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    lengths = np.array([len(d) for d in ids], dtype=np.int64)
    flat = np.array([t for d in ids for t in d], dtype=np.uint32)
    doc_of = np.repeat(np.arange(len(ids)), lengths)
    counts = count_matrix(flat, doc_of, len(vocab), len(ids))
    return weigh(counts, lengths, params), vocab


def full_scores(weights: Weights, vocab: dict[str, int], query: list[str]) -> np.ndarray:
    # a term missing from the vocabulary gets an id past the matrix: it must contribute nothing
    ids = [vocab.get(t, len(vocab) + 5) for t in query]
    dense, _, constant = scores(weights, ids)
    return dense + constant


def paragraphs_of(folder: Path, limit: int, tokenizer: Tokenizer) -> list[list[str]]:
    docs: list[list[str]] = []
    for path in sorted(folder.rglob("*.txt"))[:limit]:
        docs.extend(tokenizer.tokens(p) for p in parse_bytes(path.read_bytes()).paragraphs)
    return docs


def queries_from(corpus: list[list[str]], n: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    out = [["nonexistentword"], [], corpus[0][:1] * 3]  # unknown term, empty query, repeated term
    for _ in range(n):
        doc = rng.choice([d for d in corpus if d])
        out.append([*rng.sample(doc, min(len(doc), rng.randint(1, 6))), "zzzunknown"])
    return out


def check_equal(corpus: list[list[str]], queries: list[list[str]]) -> None:
    for variant, params in PARAMS.items():
        weights, vocab = build(corpus, params)
        ref = reference_model(variant, corpus, params)
        for q in queries:
            expected = ref.get_scores(q)  # type: ignore[attr-defined]
            got = full_scores(weights, vocab, q)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9, err_msg=f"{variant} {q}")
            if len(q) and np.count_nonzero(expected - expected.min()) >= 10:
                top_ref = np.argsort(-expected, kind="stable")[:10]
                top_got = np.argsort(-got, kind="stable")[:10]
                # equal scores may swap places; the sets of scores at each rank must agree
                np.testing.assert_allclose(got[top_got], expected[top_ref], atol=1e-9)
                assert set(top_got) == set(top_ref) or np.allclose(
                    np.sort(got[top_got]), np.sort(expected[top_ref])
                )


def test_tiny_corpus_by_hand() -> None:
    corpus = [["cat", "sat", "mat"], ["dog", "sat"], ["cat", "cat", "dog"], [], ["bird"]]
    check_equal(corpus, [["cat"], ["cat", "dog"], ["sat", "sat"], ["fish"], ["bird", "cat"]])


def test_negative_idf_gets_epsilon_floor() -> None:
    # "the" is in 3 of 4 documents: its Okapi idf is negative and rank-bm25 replaces it
    corpus = [["the", "a"], ["the", "b"], ["the", "c"], ["d"]]
    weights, vocab = build(corpus, PARAMS["okapi"])
    got = full_scores(weights, vocab, ["the"])
    ref = BM25Okapi(corpus).get_scores(["the"])
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert got[0] > 0, "a negative idf must be floored at epsilon times the average idf"


def test_sample_news_equals_rank_bm25() -> None:
    tokenizer = Tokenizer()
    corpus = paragraphs_of(SAMPLE_NEWS, 1000, tokenizer)
    assert len(corpus) > 100
    check_equal(corpus, queries_from(corpus, 40))


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "realtimeqa_demo").is_dir(), reason="../shared/corpus is not here")
def test_real_corpus_sample_equals_rank_bm25() -> None:
    tokenizer = Tokenizer()
    corpus = paragraphs_of(CORPUS / "realtimeqa_demo", 120, tokenizer)
    corpus += paragraphs_of(CORPUS / "bbc", 80, tokenizer)
    assert len(corpus) > 2000
    check_equal(corpus, queries_from(corpus, 25))


@pytest.mark.parametrize("variant", sorted(PARAMS))
def test_other_parameters(variant: str) -> None:
    tokenizer = Tokenizer()
    corpus = paragraphs_of(SAMPLE_NEWS, 15, tokenizer)
    params = BM25Params(variant, k1=0.9, b=0.4, epsilon=0.1, delta=0.7)
    weights, vocab = build(corpus, params)
    ref = reference_model(variant, corpus, params)
    for q in queries_from(corpus, 10, seed=3):
        np.testing.assert_allclose(full_scores(weights, vocab, q), ref.get_scores(q), atol=1e-9)  # type: ignore[attr-defined]


@pytest.mark.parametrize("block", [1 << 16, 7])  # one block; many (documents numbered by block)
def test_count_weights_equal_the_okapi_matrix(block: int) -> None:
    # the whole-article matrix keeps counts and computes each weight when read: the same numbers
    from newsbot.index.ranking.bm25 import count_weights

    tokenizer = Tokenizer()
    corpus = paragraphs_of(SAMPLE_NEWS, 60, tokenizer)
    corpus.append(["storm"] * 300 + ["tide"])  # a count above the byte's range is taken as 255
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    lengths = np.array([len(d) for d in ids], dtype=np.int64)
    flat = np.array([t for d in ids for t in d], dtype=np.uint32)
    counts = count_matrix(flat, np.repeat(np.arange(len(ids)), lengths), len(vocab), len(ids))
    params = BM25Params("okapi", k1=1.2, b=0.5, epsilon=0.25)
    exact, compact = weigh(counts, lengths, params), count_weights(counts, lengths, params, block)
    assert compact.tf.dtype == np.uint8 and compact.tf.max() == 255 and compact.indices.dtype == np.uint16
    assert compact.indptr.shape == (-(-len(corpus) // block), len(vocab) + 1)
    ref = BM25Okapi(corpus, k1=1.2, b=0.5, epsilon=0.25)
    for term, t in vocab.items():
        docs, values, floor = compact.row(t)
        want_docs, want, _ = exact.row(t)
        assert floor == 0.0 and np.array_equal(docs, want_docs)
        capped = np.asarray(counts[t].toarray()).ravel()[docs] > 255
        assert np.array_equal(values[~capped], want[~capped])  # bit for bit below the cap
        if term != "storm":
            np.testing.assert_allclose(values, ref.get_scores([term])[docs], atol=1e-12)
    # capped: 255 instead of 300 occurrences, a small difference once saturated
    docs, values, _ = compact.row(vocab["storm"])
    full = ref.get_scores(["storm"])[docs]
    assert np.all(values <= full) and np.all(values > 0.95 * full)
