"""The compiled ranking (index/kernels.py) gives exactly the numpy ranking's results, on real indexes.

numpy (``search.rank_numpy``) is the reference: same paragraphs, same scores to the last bit, same
order, ties to the lower paragraph number, for many questions, date windows, feature settings and
limits. Also: plain BM25 top-k, threads, argument types the warm-up did not compile for, and a
machine where numba cannot load at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from newsbot.index.api import NewsIndex
from newsbot.index.generation import Generation
from newsbot.index.ranking import compiled, inputs, search
from newsbot.index.ranking.bm25 import BM25Params, CountWeights, accumulate, count_weights
from newsbot.index.ranking.params import RankParams, Window

from .helpers import CORPUS, ROOT, make_settings, write_article

PARAMS = [
    RankParams(),
    RankParams(title_weight=0, neighbour_weight=0, whole_article_weight=0, junk_factor=1, recency_days=0),
    RankParams(date_boost=0, lead_boost=0, recency_boost=3.0, recency_days=7),
    RankParams(title_weight=1.5, neighbour_weight=0.5, whole_article_weight=0.7, junk_factor=0.0),
    RankParams(whole_article_weight=0, neighbour_weight=0.1, recency_boost=1.0),
    RankParams(whole_article_weight=7.5, title_weight=0, recency_days=0, date_boost=0),
    RankParams(short_power=0, lead_boost=0, number_boost=0),
    RankParams(number_boost=2.5, junk_factor=1),
    RankParams(short_words=7.5, short_power=2.0, short_after=0),
    RankParams(short_words=40, short_power=0.3, short_after=5, junk_factor=1),
]


@pytest.fixture(scope="module")
def kernels_ready() -> None:
    compiled.start()
    assert compiled.wait(timeout=300), f"the compiled ranking did not load: {compiled.failure()}"


async def built(tmp_path: Path, folders: list[Path] | None = None) -> tuple[Generation, int]:
    settings = make_settings(tmp_path, folders, index={"compiled": False})
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        gen = await index.current_generation()
    return gen, len(gen.w_indptr) - 1


def windows(gen: Generation, rng: random.Random) -> list[Window]:
    days = np.asarray(gen.para_days)
    dated = days[days > np.iinfo(np.int32).min]
    lo, hi = (int(dated.min()), int(dated.max())) if len(dated) else (19000, 19000)

    def day(n: int) -> dt.date:
        return dt.date(1970, 1, 1) + dt.timedelta(days=n)

    out = [Window(), Window(until=day(hi), now=day(hi)), Window(now=day(hi + 400))]
    for _ in range(6):
        a, b = sorted(rng.randint(lo - 5, hi + 5) for _ in range(2))
        c, d = sorted(rng.randint(lo - 5, hi + 5) for _ in range(2))
        out.append(Window(since=day(a), until=day(b), now=day(b)))
        out.append(Window(until=day(b), now=day(b), prefer=(day(c), day(d)), numbers=rng.random() < 0.5))
    out += [Window(numbers=True), Window(since=day(lo), now=day(hi), numbers=True)]
    return out


def queries(gen: Generation, n_terms: int, rng: random.Random, n: int) -> list[list[int]]:
    postings = np.diff(np.asarray(gen.w_indptr))
    common = [int(t) for t in np.argsort(-postings)[:30]]  # long postings: the selection matters
    out: list[list[int]] = [[common[0]], [common[0]] * 3, [n_terms + 7], [common[1], n_terms + 3]]
    for _ in range(n):
        size = rng.randint(1, 12)
        terms = [rng.randrange(n_terms) for _ in range(size)] + rng.sample(common, rng.randint(0, 4))
        if rng.random() < 0.3:
            terms += terms[:2]  # repeated words count again, as in rank-bm25
        out.append(terms)
    return out


def check_same(gen: Generation, n_terms: int, n_queries: int, seed: int) -> int:
    rng = random.Random(seed)
    compared = 0
    for terms in queries(gen, n_terms, rng, n_queries):
        window = rng.choice(windows(gen, rng))
        params = rng.choice(PARAMS)
        limit = rng.choice([1, 5, 50, 80])
        want = search.rank_numpy(gen, terms, window, params, limit)
        got = compiled.rank(gen, terms, window, params, limit)
        assert got == want, (terms, window, params, limit)
        compared += bool(want)
    return compared


async def test_sample_news_same_as_numpy(tmp_path: Path, kernels_ready: None) -> None:
    gen, n_terms = await built(tmp_path)
    assert check_same(gen, n_terms, 400, seed=1) > 300  # most questions found something


@pytest.mark.corpus
async def test_real_corpus_same_as_numpy(tmp_path: Path, kernels_ready: None) -> None:
    if not (CORPUS / "realtimeqa_demo").is_dir():
        pytest.skip("../shared/corpus is not here")
    gen, n_terms = await built(tmp_path, [CORPUS / "realtimeqa_demo"])
    assert gen.n_paragraphs > 30_000
    assert check_same(gen, n_terms, 300, seed=2) > 250


async def test_video_pages_found_by_their_headline_same_as_numpy(tmp_path: Path, kernels_ready: None) -> None:
    from newsbot.index.layout import FLAG_HEADLINE

    from .test_headline import corpus

    gen, n_terms = await built(tmp_path, [corpus(tmp_path)])
    assert (np.asarray(gen.para_flags) & FLAG_HEADLINE).any()
    assert check_same(gen, n_terms, 200, seed=4) > 100


async def test_articles_in_many_blocks_same_as_numpy(tmp_path: Path, kernels_ready: None) -> None:
    # whole-article counts are kept in blocks of article numbers (65,536 by default): rebuild the
    # sample's in blocks of 5 articles and rank with both
    gen, n_terms = await built(tmp_path)
    one = gen.articles()
    assert isinstance(one, CountWeights) and one.indptr.shape[0] == 1
    counts = sp.csr_matrix(
        (one.tf.astype(np.float32), one.indices.astype(np.int32), one.indptr[0]),
        shape=(one.n_terms, one.n_docs),
    )
    lengths = np.arange(one.n_docs) % 50 + 10  # any lengths: both rankings read the same arrays
    many = count_weights(counts, lengths, BM25Params(k1=one.k1, b=0.5), block=5)
    assert many.indptr.shape[0] == -(-gen.n_articles // 5)
    arrays = dict(gen.arrays, a_indptr=many.indptr, a_indices=many.indices, a_tf=many.tf)
    arrays |= {"a_idf": many.idf, "a_k1_norm": many.k1_norm}
    blocked = Generation.from_arrays(gen.number, dict(gen.info, article_block=5), arrays)
    for t in range(0, n_terms, 7):
        docs, _, _ = blocked.articles().row(t)  # type: ignore[union-attr]
        assert np.array_equal(docs, one.row(t)[0])
    assert check_same(blocked, n_terms, 150, seed=9) > 100


async def test_long_articles_with_short_and_long_paragraphs_same_as_numpy(
    tmp_path: Path, kernels_ready: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sample's articles are short; here every article has 6 to 40 paragraphs of 1 to 60 words,
    # so the lead exemption and every entry of the length table (search.short_table) are exercised
    rng = random.Random(11)
    words = [f"w{i}" for i in range(5000)]  # no word in half the articles: weights stay positive
    for n in range(60):
        paragraphs = [
            " ".join(rng.choices(words, k=rng.randint(1, 60))) + "." for _ in range(rng.randint(6, 40))
        ]
        write_article(tmp_path / "news", f"a{n:02}.txt", f"Story {n} {rng.choice(words)}", paragraphs)
    gen, n_terms = await built(tmp_path / "db", [tmp_path / "news"])
    lengths = np.asarray(gen.para_words)
    assert lengths.min() <= 2 and lengths.max() >= 40
    assert check_same(gen, n_terms, 300, seed=12) > 200
    short = [
        RankParams(short_after=a, short_words=w, short_power=p) for a, w, p in ((0, 30, 1.0), (7, 5.5, 3.0))
    ]
    monkeypatch.setattr(inputs, "PRESELECT", gen.n_paragraphs)  # every paragraph is a candidate
    everything = list(range(n_terms))
    position = np.arange(gen.n_paragraphs) - np.asarray(gen.art_start)[np.asarray(gen.para_article)]
    for params in short:
        affected = (position >= params.short_after) & (lengths < params.short_words)
        assert affected.sum() >= 5
        for terms in [*queries(gen, n_terms, rng, 60), everything]:
            want = search.rank_numpy(gen, terms, Window(), params, 80)
            assert compiled.rank(gen, terms, Window(), params, 80) == want
        # and the multiplier is not a no-op: exactly the affected paragraphs score less
        plain = dataclasses.replace(params, short_power=0)
        on = dict(search.rank_numpy(gen, everything, Window(), params, gen.n_paragraphs))
        off = dict(search.rank_numpy(gen, everything, Window(), plain, gen.n_paragraphs))
        assert on.keys() == off.keys() and len(on) == gen.n_paragraphs
        assert {p for p in on if on[p] < off[p]} == {p for p in on if affected[p]}
        assert not [p for p in on if on[p] > off[p]]


async def test_ties_go_to_the_lower_paragraph_number(tmp_path: Path, kernels_ready: None) -> None:
    # 30 articles with the same body and date: every paragraph ties with its copies
    body = ["The harbour crane lifted the ferry.", "Crews welcomed the ferry at dawn.", "Weather was calm."]
    for n in range(30):
        write_article(tmp_path / "news", f"a{n:02}.txt", f"Story number {n} of {30}", body)
    gen, _ = await built(tmp_path / "db", [tmp_path / "news"])
    terms = [int(t) for t in np.flatnonzero(np.diff(np.asarray(gen.w_indptr)) == 30)]
    assert terms, "expected words held by all 30 copies"
    for params in PARAMS:
        for limit, window in ((1, Window()), (7, Window(numbers=True)), (30, Window())):
            want = search.rank_numpy(gen, terms, window, params, limit)
            assert want == search.rank_numpy(gen, terms, window, params, limit)  # repeatable
            assert compiled.rank(gen, terms, window, params, limit) == want
            scores = [s for _, s in want]
            assert scores == sorted(scores, reverse=True)
            top = [p for p, s in want if s == scores[0]]
            ties = [p for p, s in search.rank_numpy(gen, terms, window, params, 200) if s == scores[0]]
            assert top == ties[: len(top)] == sorted(ties)[: len(top)]


# every weight the ranking reads, away from its default (date_slack_days shapes the Window instead)
CHANGED = {
    "recency_days": 3.0,
    "whole_article_weight": 0.6,
    "title_weight": 1.1,
    "neighbour_weight": 0.9,
    "junk_factor": 0.7,
    "recency_boost": 5.0,
    "date_boost": 3.0,
    "lead_boost": 2.0,
    "lead_paragraphs": 2.0,
    "short_words": 40.0,
    "short_power": 2.0,
    "short_after": 0,
    "number_boost": 3.0,
}


async def test_every_weight_reaches_both_rankings_alike(tmp_path: Path, kernels_ready: None) -> None:
    # one weight changed at a time: numpy and the kernels agree, and the ranking changes (the weight
    # is read, under its one name, by both)
    assert set(CHANGED) == {f.name for f in dataclasses.fields(RankParams)} - {"date_slack_days"}
    from newsbot.index.layout import FLAG_JUNK

    gen, n_terms = await built(tmp_path)
    flags = gen.para_flags.copy()
    flags[::4] |= FLAG_JUNK  # the sample news has no junk paragraphs
    gen = dataclasses.replace(gen, para_flags=flags)
    rng = random.Random(13)
    work = [(q, w) for q in queries(gen, n_terms, rng, 40) for w in windows(gen, rng)[::3]]
    plain = [search.rank_numpy(gen, q, w, RankParams(), 200) for q, w in work]
    for name, value in CHANGED.items():
        params = dataclasses.replace(RankParams(), **{name: value})
        changed = False
        for (terms, window), before in zip(work, plain, strict=True):
            want = search.rank_numpy(gen, terms, window, params, 200)  # scores of nearly every candidate
            assert compiled.rank(gen, terms, window, params, 200) == want, (name, terms, window)
            changed = changed or want != before
        assert changed, f"{name} changed no ranking"


def test_a_generation_has_every_array_of_the_layout_by_name() -> None:
    from newsbot.index.layout import ARRAYS
    from newsbot.index.ranking.inputs import RankArrays

    fields = [f.name for f in dataclasses.fields(Generation)]
    assert fields[:2] == ["number", "info"] and fields[2:] == list(ARRAYS)
    assert set(RankArrays._fields) <= set(ARRAYS)


async def test_plain_bm25_top_k(tmp_path: Path, kernels_ready: None) -> None:
    gen, n_terms = await built(tmp_path)
    rng = random.Random(3)
    body = gen.body()
    for terms in queries(gen, n_terms, rng, 100):
        dense = np.zeros(gen.n_paragraphs)
        touched, constant = accumulate(body, terms, dense)
        order = sorted(touched.tolist(), key=lambda d: (-dense[d], d))[:10]
        got = compiled.bm25_top(gen, terms, 10)
        assert got is not None
        assert [d for d, _ in got] == order
        assert [s for _, s in got] == [dense[d] + constant for d in order]


async def test_threads_share_nothing(tmp_path: Path, kernels_ready: None) -> None:
    gen, n_terms = await built(tmp_path)
    rng = random.Random(4)
    work = [(q, rng.choice(windows(gen, rng))) for q in queries(gen, n_terms, rng, 150)]
    want = [search.rank_numpy(gen, q, w, RankParams(), 20) for q, w in work]
    results: dict[int, list[object]] = {}

    def run(slot: int) -> None:
        results[slot] = [compiled.rank(gen, q, w, RankParams(), 20) for q, w in work * 3]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for slot in range(3):
        assert results[slot] == want * 3


async def test_arrays_of_other_types_fall_back_to_numpy(tmp_path: Path, kernels_ready: None) -> None:
    gen, _ = await built(tmp_path)
    other = dataclasses.replace(gen, w_data=gen.w_data.astype(np.float32))  # not what the indexer writes
    terms = [int(np.argmax(np.diff(np.asarray(gen.w_indptr))))]
    assert compiled.rank(other, terms, Window(), RankParams(), 5) is None
    assert search.rank(other, terms, Window(), RankParams(), 5) == search.rank_numpy(
        other, terms, Window(), RankParams(), 5
    )


async def test_answers_equal_with_and_without_kernels(tmp_path: Path, kernels_ready: None) -> None:
    settings = make_settings(tmp_path)
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        asked = ["tram line opening", "harbour ferry crane", "who won the marathon", "budget vote council"]
        fast = [(await index.ask(q, k=5, as_of=dt.date(2026, 11, 20))).to_json() for q in asked]
        with compiled.numpy_only():  # as before the warm-up finishes
            slow = [(await index.ask(q, k=5, as_of=dt.date(2026, 11, 20))).to_json() for q in asked]
    assert fast == slow
    assert sum(len(a["hits"]) for a in fast) >= 10


def test_without_numba_numpy_answers(tmp_path: Path) -> None:
    # a machine where numba cannot load: the warm-up fails quietly and numpy ranks
    script = f"""
import asyncio, sys
sys.modules["numba"] = None  # import numba raises ImportError
sys.path.insert(0, {str(ROOT)!r})
from tests.helpers import make_settings
from newsbot.index.ranking import compiled
from newsbot.index.api import NewsIndex
from pathlib import Path

async def main():
    async with await NewsIndex.open(make_settings(Path({str(tmp_path)!r}))) as index:
        await index.reindex()
        compiled.wait()
        answer = await index.ask("tram line")
    print(compiled.ready(), compiled.failure() is not None, len(answer.hits))

asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ready, failed, hits = done.stdout.split()
    assert (ready, failed) == ("False", "True")
    assert int(hits) > 0
    assert "compiled ranking unavailable" in done.stderr


def test_a_cache_left_by_another_version_is_started_afresh(tmp_path: Path) -> None:
    # numba's cache index names the classes of the kernels' arguments (the NamedTuples of
    # inputs.py) and is read before numba checks it is stale: an index naming a class this version
    # lacks must cost a compile, not the compiled ranking
    script = f"""
import os, pickle, sys
sys.path.insert(0, {str(ROOT)!r})
import numba
from newsbot.index.ranking import compiled, kernels
for fn in (kernels.rank, kernels.bm25_top):
    index = fn._cache._cache_file._index_path
    os.makedirs(os.path.dirname(index), exist_ok=True)
    with open(index, "wb") as fh:  # the version, then (stamp, overloads) naming a class long gone
        fh.write(pickle.dumps(numba.__version__) + b"cnewsbot_gone\\nRankArrays\\n.")
compiled.start()
print(compiled.wait(300), compiled.failure())
"""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "None"], done.stderr


def test_one_shot_commands_do_not_load_the_kernels(tmp_path: Path) -> None:
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
sys.argv = ["newsbot", "ask", "tram line", "--db", {str(tmp_path / "n.db")!r}]
from newsbot.cli.main import main
from newsbot.index.ranking import compiled
try:
    main()
except SystemExit:
    pass
print("started" if compiled.started() else "not started", "numba" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-3:] == ["not", "started", "False"], done.stdout


async def test_words_of_weight_zero_on_a_tiny_index(tmp_path: Path, kernels_ready: None) -> None:
    # with two paragraphs an article and two articles, a word in exactly half the paragraphs (or
    # titles) has an Okapi idf of 0: its postings add 0.0, which must not count as a new paragraph
    # each time (that once listed a paragraph twice and overran the buffers)
    news = tmp_path / "news"
    write_article(
        news,
        "a.txt",
        "Harbour ferry launched",
        ["The harbour crane lifted the new ferry into the water.", "Crowds cheered at the harbour."],
    )
    write_article(
        news,
        "b.txt",
        "Council budget vote",
        ["The council voted on the tram budget.", "Critics said the tram budget was too small."],
    )
    gen, n_terms = await built(tmp_path / "db", [news])
    weights = np.asarray(gen.w_data)
    assert (weights == 0).any(), "expected words held by exactly half the paragraphs"
    zero_terms = [t for t in range(n_terms) if (weights[gen.w_indptr[t] : gen.w_indptr[t + 1]] == 0).any()]
    rng = random.Random(5)
    for _ in range(200):
        terms = rng.choices(zero_terms, k=rng.randint(1, 6)) + rng.choices(
            range(n_terms), k=rng.randint(0, 3)
        )
        for params in PARAMS:
            want = search.rank_numpy(gen, terms, Window(), params, 50)
            got = compiled.rank(gen, terms, Window(), params, 50)
            assert got == want
            assert len({p for p, _ in want}) == len(want) <= gen.n_paragraphs
        top = compiled.bm25_top(gen, terms, 10)
        assert top is not None and len({d for d, _ in top}) == len(top)
    settings = make_settings(tmp_path / "db", [news])
    async with await NewsIndex.open(settings) as index:
        for question in ("harbour tram ferry budget", "ferry budget", "council harbour"):
            hits = (await index.ask(question, k=5)).hits
            assert len({(h.path, h.paragraph) for h in hits}) == len(hits)


async def test_limits_of_zero_and_dirty_buffers(tmp_path: Path, kernels_ready: None) -> None:
    from newsbot.index.ranking import scratch

    gen, _ = await built(tmp_path)
    terms = [int(np.argmax(np.diff(np.asarray(gen.w_indptr))))]
    for limit in (0, -1):
        assert search.rank(gen, terms, Window(), RankParams(), limit) == []
        assert search.rank_numpy(gen, terms, Window(), RankParams(), limit) == []
        assert compiled.rank(gen, terms, Window(), RankParams(), limit) == []
        assert compiled.bm25_top(gen, terms, limit) == []
    # a set of buffers whose user raised is not handed out again
    with pytest.raises(RuntimeError), scratch.take_for(gen) as dirty:
        dirty.body[:5] = 1.0
        raise RuntimeError("interrupted mid-ranking")
    with scratch.take_for(gen) as clean:
        assert clean is not dirty and not clean.body.any()
    assert compiled.rank(gen, terms, Window(), RankParams(), 20) == search.rank_numpy(
        gen, terms, Window(), RankParams(), 20
    )
    with pytest.raises(ValueError):
        RankParams(date_boost=-2.0)


async def test_negative_weights_are_left_to_numpy(tmp_path: Path, kernels_ready: None) -> None:
    # nearly every word in most paragraphs: the average Okapi idf is negative, so is the floor
    # given to common words, and a paragraph's sum can return to 0, which the kernels would take
    # for "not touched yet": numpy ranks such an index
    news = tmp_path / "news"
    common = "river bridge council vote"
    for n in range(6):
        extra = f"item{n} note{n % 2}"
        write_article(
            news, f"a{n}.txt", f"{common} {extra}", [f"{common} {extra} today", f"{common} again {extra}"]
        )
    gen, n_terms = await built(tmp_path / "db", [news])
    assert gen.info["negative_weights"] is True
    assert (np.asarray(gen.w_data) < 0).any()
    rng = random.Random(6)
    for _ in range(300):
        terms = rng.choices(range(n_terms), k=rng.randint(1, 8))
        for params in PARAMS:
            want = search.rank_numpy(gen, terms, Window(), params, 30)
            assert compiled.rank(gen, terms, Window(), params, 30) is None
            assert search.rank(gen, terms, Window(), params, 30) == want
            assert len({p for p, _ in want}) == len(want)
        assert compiled.bm25_top(gen, terms, 5) is None
