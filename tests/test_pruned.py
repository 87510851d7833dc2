"""The pruned ranking (ranking/pruned.py) gives exactly the exhaustive ranking's results.

The exhaustive kernels (``kernels.rank``) and numpy (``search.rank_numpy``) are the references: same
paragraphs, same scores to the last bit, same order. Checked on the sample news with blocks of many
sizes (so that articles span blocks and blocks hold many articles), on the real demo corpus for all
224 dev questions asked as of their dates (whole answers compared), after incremental reindexes,
and on the bounds themselves: every posting is under its block's bound.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import numpy as np
import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.generation import Generation
from newsbot.index.ingest.blocks import block_bounds
from newsbot.index.ingest.build import ArticleRow, ParagraphRow, Stored, build
from newsbot.index.ranking import compiled, inputs, scratch, search
from newsbot.index.ranking.params import RankParams, Window

from .helpers import CORPUS, ROOT, make_settings, write_article
from .test_kernels import PARAMS, queries, windows

QUESTIONS = ROOT.parent / "shared" / "eval" / "realtimeqa_dev.jsonl"


@pytest.fixture(scope="module")
def kernels_ready() -> None:
    compiled.start()
    assert compiled.wait(timeout=300), f"the compiled ranking did not load: {compiled.failure()}"


@pytest.fixture(params=[3, 40])
def small_cut(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """A preselection far smaller than the default, so that on a small corpus the cut decides."""
    monkeypatch.setattr(inputs, "PRESELECT", request.param)
    return int(request.param)


async def built(tmp_path: Path, folders: list[Path] | None = None) -> Generation:
    async with await NewsIndex.open(make_settings(tmp_path, folders, index={"compiled": False})) as index:
        await index.reindex()
        gen = await index.current_generation()
    assert gen is not None and gen.has_bounds
    return gen


def reblocked(gen: Generation, block: int) -> Generation:
    """``gen`` with its bounds computed for blocks of ``block`` paragraphs."""
    articles = gen.articles()
    assert articles is not None
    bounds = block_bounds(gen.body(), articles, np.asarray(gen.art_start), block)
    return Generation.from_arrays(gen.number, dict(gen.info, prune_block=block), gen.arrays | bounds)


def same(
    gen: Generation, terms: list[int], window: Window, params: RankParams, limit: int
) -> tuple[int, int]:
    """Assert pruned == exhaustive == numpy; returns the postings each compiled ranking read."""
    pruned = compiled.traced(gen, terms, window, params, limit)
    exhaustive = compiled.traced(gen, terms, window, params, limit, exhaustive=True)
    assert pruned is not None and exhaustive is not None
    assert pruned[0] == exhaustive[0], (terms, window, params, limit)
    assert pruned[0] == search.rank_numpy(gen, terms, window, params, limit)
    return pruned[1], exhaustive[1]


def check(gen: Generation, n_queries: int, seed: int) -> int:
    rng = random.Random(seed)
    n_terms = len(gen.w_indptr) - 1
    found = 0
    for terms in queries(gen, n_terms, rng, n_queries):
        window = rng.choice(windows(gen, rng))
        limit = rng.choice([1, 5, 50, 80])
        same(gen, terms, window, rng.choice(PARAMS), limit)
        found += bool(search.rank_numpy(gen, terms, window, RankParams(), limit))
    return found


async def test_sample_news_in_blocks_of_every_size(
    tmp_path: Path, kernels_ready: None, small_cut: int
) -> None:
    gen = await built(tmp_path)
    assert np.all(np.diff(np.asarray(gen.para_days)) >= 0)  # date order
    assert check(gen, 150, seed=1) > 100
    for block in (1, 2, 5, 16):  # articles spanning blocks; blocks holding many articles
        assert check(reblocked(gen, block), 150, seed=block) > 100


async def test_every_posting_is_under_its_blocks_bound(tmp_path: Path) -> None:
    gen = await built(tmp_path)
    articles = gen.articles()
    assert articles is not None
    start = np.asarray(gen.art_start)
    for block in (1, 3, 16, 256):
        b = block_bounds(gen.body(), articles, start, block)
        in_chunks = block_bounds(gen.body(), articles, start, block, chunk=5)  # a few words at a time
        assert all(np.array_equal(b[name], in_chunks[name]) for name in b)
        entries: dict[tuple[int, int], int] = {}
        for t in range(len(b["e_indptr"]) - 1):
            for e in range(b["e_indptr"][t], b["e_indptr"][t + 1]):
                entries[(t, int(b["e_entries"]["block"][e]))] = e
        for t in range(len(b["e_indptr"]) - 1):
            docs, weights, _ = gen.body().row(t)
            held = np.bincount(docs // block, minlength=-(-gen.n_paragraphs // block)) if len(docs) else []
            for d, w in zip(docs.tolist(), weights.tolist(), strict=True):
                assert b["e_entries"]["bmax"][entries[(t, d // block)]] >= w
            for blk, n in enumerate(held):
                assert n == 0 or b["e_entries"]["bcount"][entries[(t, blk)]] == n
            arts, aweights, _ = articles.row(t)
            owned: dict[int, int] = {}
            for a, w in zip(arts.tolist(), aweights.tolist(), strict=True):
                first, last = start[a] // block, max(start[a + 1] - 1, start[a]) // block
                owned[first] = owned.get(first, 0) + 1
                for blk in range(first, last + 1):  # every block the article overlaps
                    assert b["e_entries"]["amax"][entries[(t, blk)]] >= w
            for blk, n in owned.items():
                assert b["e_entries"]["acount"][entries[(t, blk)]] == n
        assert len(entries) == b["e_indptr"][-1]


async def test_incremental_reindexes_keep_date_order_and_the_answers(
    tmp_path: Path, kernels_ready: None
) -> None:
    news = tmp_path / "news"
    rng = random.Random(5)
    words = [f"w{i}" for i in range(300)]

    def story(n: int, day: dt.date) -> None:
        paragraphs = [" ".join(rng.choices(words, k=rng.randint(3, 30))) for _ in range(rng.randint(1, 12))]
        write_article(news, f"s{n:03}.txt", f"Story {n} {rng.choice(words)}", paragraphs, day.isoformat())

    for n in range(40):
        story(n, dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 400)))
    settings = make_settings(tmp_path / "db", [news], index={"compiled": False})
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        for round_ in range(3):
            for n in range(40 + 10 * round_, 50 + 10 * round_):  # older and newer stories arrive
                story(n, dt.date(2024, 6, 1) + dt.timedelta(days=rng.randint(0, 900)))
            (news / f"s{round_:03}.txt").unlink()  # one goes
            story(10 + round_, dt.date(2026, 3, 1))  # one changes, and its date
            await index.reindex()
            gen = await index.current_generation()
            assert gen is not None and gen.has_bounds
            assert np.all(np.diff(np.asarray(gen.para_days)) >= 0)
            assert check(reblocked(gen, 4), 60, seed=round_) > 30


async def test_a_long_question_and_an_empty_window(tmp_path: Path, kernels_ready: None) -> None:
    gen = await built(tmp_path)
    n_terms = len(gen.w_indptr) - 1
    many = list(range(0, n_terms, max(1, n_terms // (scratch.MAX_TERMS + 10))))
    assert len(set(many)) > scratch.MAX_TERMS  # ranked exhaustively
    same(gen, many, Window(), RankParams(), 50)
    long_ago = dt.date(1990, 1, 1)
    got = compiled.traced(gen, many[:5], Window(until=long_ago, now=long_ago), RankParams(), 50)
    assert got is not None and got[0] == []
    terms = np.array(many[:5])
    titles = int(sum(gen.t_indptr[t + 1] - gen.t_indptr[t] for t in terms))
    assert got[1] == titles < compiled.postings(gen, terms)  # no block was read, only the titles


@pytest.mark.corpus
async def test_the_dev_questions_get_the_same_answers(
    tmp_path: Path, kernels_ready: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (CORPUS / "realtimeqa_demo").is_dir() or not QUESTIONS.is_file():
        pytest.skip("../shared is not here")
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 224
    settings = make_settings(tmp_path, [CORPUS / "realtimeqa_demo"])
    calls: list[tuple[list[int], Window, RankParams, int]] = []
    real = search.rank

    def spy(gen: Generation, ids: list[int], window: Window, params: RankParams, limit: int) -> object:
        calls.append((list(ids), window, params, limit))
        return real(gen, ids, window, params, limit)

    async def answers() -> list[str]:
        out = []
        for row in rows:
            answer = await index.ask(row["question"], k=10, as_of=dt.date.fromisoformat(row["question_date"]))
            out.append(json.dumps(answer.to_json(), sort_keys=True))
        return out

    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        monkeypatch.setattr("newsbot.index.answer.source.rank", spy)
        pruned = await answers()
        monkeypatch.setattr(compiled, "bound_arrays", lambda gen: None)  # every question exhaustively
        exhaustive = await answers()
        monkeypatch.undo()
        gen = await index.current_generation()
    assert sum(bool(json.loads(a)["hits"]) for a in pruned) > 200
    assert pruned == exhaustive
    read = np.array([same(gen, *call) for call in calls[: len(calls) // 2]])
    assert read[:, 0].sum() < 0.8 * read[:, 1].sum()  # it prunes
    small = reblocked(gen, 16)
    for call in calls[:60]:
        same(small, *call)


async def test_an_empty_newest_article_after_a_full_block(kernels_ready: None, small_cut: int) -> None:
    # 64 articles of 4 paragraphs fill one block of 256 exactly; the newest article has a title and no
    # paragraphs, so it starts after every paragraph: its postings still belong to the last block
    from .test_build import PARAMS, SPEC, blob

    words, rng = 200, random.Random(3)
    articles: list[ArticleRow] = []
    paragraphs: list[ParagraphRow] = []
    for n in range(64):
        articles.append((n + 1, f"2026-01-{1 + n % 28:02d}", blob([rng.randrange(words)])))
        for position in range(4):
            terms = [rng.randrange(words) for _ in range(3)]
            paragraphs.append((4 * n + position + 1, n + 1, position, blob(terms), 0))
    articles.append((99, "2026-12-31", blob([words - 1, 4])))
    info, arrays = build(Stored(articles, paragraphs, words, []), PARAMS, SPEC, 1, "then")
    gen = Generation.from_arrays(1, info, arrays)
    assert gen.n_paragraphs == 256 and gen.has_bounds and not gen.info["negative_weights"]
    last = dt.date(2026, 12, 31)
    for g in (gen, reblocked(gen, 2), reblocked(gen, 1)):
        assert check(g, 80, seed=small_cut) > 40
        for terms in ([words - 1], [4, words - 1], [4]):
            same(g, terms, Window(since=dt.date(2026, 1, 20), until=last, now=last), RankParams(), 20)


async def test_a_negative_whole_article_weight_is_ranked_exhaustively(
    tmp_path: Path, kernels_ready: None
) -> None:
    gen = await built(tmp_path)
    params = RankParams(whole_article_weight=-0.5)  # the settings refuse it; the bounds would not hold
    got = compiled.traced(gen, [1, 2, 3], Window(), params, 20)
    assert got is not None and got[1] == compiled.postings(gen, np.array([1, 2, 3]))
    assert got[0] == search.rank_numpy(gen, [1, 2, 3], Window(), params, 20)
