"""A shard's candidates by the compiled kernels (``pruned.candidates``) equal numpy's
(``shard.candidates_numpy``) exactly: the same rows in the same order, the same scores to the last bit,
the same best title matches in the same order, on the sample news in blocks of many sizes with small
cuts (so that the preselection and the title cut decide), on the demo corpus for the dev questions
as a cluster of 3 asks them, and for what numpy alone ranks (long questions, negative weights). And
the coordinator's merge of the shards' candidates (``merge.merge``) equals its definition, whole sorts
and sets, on random candidates full of ties; and shards load the compiled ranking unless the command
is a one-shot one (as a single index does).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import numpy as np
import pytest

from newsbot.index.cluster import shard as cluster_shard
from newsbot.index.cluster.coordinator import ClusterIndex
from newsbot.index.cluster.transport import LocalShards
from newsbot.index.generation import Generation
from newsbot.index.opening import open_index
from newsbot.index.ranking import compiled, inputs, scratch
from newsbot.index.ranking.merge import Merged, merge
from newsbot.index.ranking.merge import kept as merge_kept
from newsbot.index.ranking.params import RankParams, Window
from newsbot.index.ranking.shard import Candidates, candidates, candidates_numpy

from .helpers import CORPUS, SHARED, make_settings
from .test_kernels import PARAMS, queries, windows
from .test_pruned import built, reblocked

FIELDS = (
    "final", "coarse", "day", "key", "position", "article", "headline", "titled_day", "titled_key", "titled_score",
)  # fmt: skip


@pytest.fixture(scope="module")
def kernels_ready() -> None:
    compiled.start()
    assert compiled.wait(timeout=300), f"the compiled ranking did not load: {compiled.failure()}"


def same(
    gen: Generation,
    terms: list[int],
    window: Window,
    params: RankParams,
    preselect: int | None = None,
    *,
    by_kernels: bool = True,
) -> Candidates:
    """Assert the compiled candidates equal numpy's, field by field and bit for bit; returns them.
    ``by_kernels``: the question is one the kernels take (not left to numpy)."""
    want = candidates_numpy(gen, terms, window, params, preselect)
    assert (compiled.candidates(gen, terms, window, params) is not None) == by_kernels or not terms
    got = candidates(gen, terms, window, params, preselect)
    for name in FIELDS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), (name, terms, window, params)
    return want


def preselected(found: Candidates) -> int:
    """How many candidates the preselection kept (the others came with a title match)."""
    return int(np.isfinite(found.coarse).sum())


def check(gen: Generation, n_queries: int, seed: int) -> tuple[int, int]:
    """Random questions, windows and weights; returns (questions with candidates, those cut)."""
    rng = random.Random(seed)
    found = cut = 0
    for terms in queries(gen, len(gen.w_indptr) - 1, rng, n_queries):
        got = same(gen, terms, rng.choice(windows(gen, rng)), rng.choice(PARAMS))
        found += len(got) > 0
        cut += preselected(got) == inputs.PRESELECT
    return found, cut


@pytest.fixture(params=[(3, 2), (40, 5), (500, 20)])
def cuts(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Preselections and title cuts far smaller than the default, so that on a small corpus they decide."""
    preselect, titles = request.param
    monkeypatch.setattr(inputs, "PRESELECT", preselect)
    monkeypatch.setattr(inputs, "TITLE_ARTICLES", titles)
    return preselect, titles


async def test_sample_news_in_blocks_of_every_size(
    tmp_path: Path, kernels_ready: None, cuts: tuple[int, int]
) -> None:
    gen = await built(tmp_path)
    for g in (gen, *(reblocked(gen, block) for block in (1, 2, 5, 16))):
        found, cut = check(g, 120, seed=cuts[0] + g.info["prune_block"])
        assert found > 80 and (cut > 20 or cuts[0] == 500)


async def test_what_numpy_alone_ranks_is_the_same(tmp_path: Path, kernels_ready: None) -> None:
    gen = await built(tmp_path)
    n_terms = len(gen.w_indptr) - 1
    many = list(range(0, n_terms, max(1, n_terms // (scratch.MAX_TERMS + 10))))
    assert len(set(many)) > scratch.MAX_TERMS
    assert len(same(gen, many, Window(), RankParams(), by_kernels=False)) > 0
    assert len(same(gen, [1, 2, 3], Window(), RankParams(whole_article_weight=-0.5), by_kernels=False)) > 0
    long_ago = dt.date(1990, 1, 1)
    assert len(same(gen, many[:5], Window(until=long_ago, now=long_ago), RankParams())) == 0
    assert len(same(gen, [n_terms + 5], Window(), RankParams())) == 0  # a word the vocabulary lacks
    assert len(candidates(gen, [], Window(), RankParams())) == 0


@pytest.mark.corpus
async def test_the_dev_questions_on_three_shards(
    tmp_path: Path, kernels_ready: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions_file = SHARED / "eval" / "realtimeqa_dev.jsonl"
    if not (CORPUS / "realtimeqa_demo").is_dir() or not questions_file.is_file():
        pytest.skip("../shared is not here")
    rows = [
        json.loads(line) for line in questions_file.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    calls: list[tuple[Generation, list[int], Window, RankParams, int]] = []

    def spy(
        gen: Generation, ids: list[int], window: Window, params: RankParams, preselect: int
    ) -> Candidates:
        calls.append((gen, list(ids), window, params, preselect))
        return candidates(gen, ids, window, params, preselect)

    settings = make_settings(tmp_path, [CORPUS / "realtimeqa_demo"])
    index = await ClusterIndex.open_cluster(settings, LocalShards(settings, 3))
    try:
        await index.reindex()
        monkeypatch.setattr(cluster_shard, "candidates", spy)
        for row in rows:
            await index.ask(row["question"], as_of=dt.date.fromisoformat(row["question_date"]))
    finally:
        await index.close()
    assert len(calls) >= 3 * len(rows)
    kept = [preselected(same(*call)) for call in calls]  # (each shard's share: merge.kept(3))
    assert sum(n == call[4] for n, call in zip(kept, calls, strict=True)) > len(calls) // 2  # the cut decides
    cuts = [call[4] for call in calls]  # (the full preselection: a shard asked again, cut short)
    assert set(cuts) <= {merge_kept(3), inputs.PRESELECT} and cuts.count(merge_kept(3)) > 0.9 * len(cuts)


def random_parts(rng: np.random.Generator, shards: int) -> list[Candidates]:
    """Candidates of ``shards`` shards with many ties: scores from a few values, articles (day, key)
    unique across the shards and sharing days and keys with one another."""
    parts, articles = [], rng.permutation([(d, k) for d in range(6) for k in range(8)])
    for s, held in enumerate(np.array_split(articles, shards)):
        rows = [(int(d), int(k), p) for d, k in held for p in range(int(rng.integers(0, 6)))]
        n = len(rows)
        coarse = rng.integers(0, 4, n).astype(np.float64)
        coarse[rng.random(n) < 0.2] = -np.inf
        titled = held[rng.random(len(held)) < 0.5].reshape(-1, 2)
        parts.append(
            Candidates(
                final=rng.integers(0, 5, n).astype(np.float64),
                coarse=coarse,
                day=np.array([r[0] for r in rows], dtype=np.int64),
                key=np.array([r[1] for r in rows], dtype=np.int64),
                position=np.array([r[2] for r in rows], dtype=np.int64),
                article=np.arange(n, dtype=np.int64) * 10 + s,
                headline=np.zeros(n, dtype=bool),
                titled_day=titled[:, 0].astype(np.int64),
                titled_key=titled[:, 1].astype(np.int64),
                titled_score=rng.integers(0, 3, len(titled)).astype(np.float64),
            )
        )
    return parts


def merged_by_sorting(
    parts: list[Candidates], limit: int, preselect: int, titles: int
) -> list[tuple[int, int]]:
    """``merge.merge`` by the definition: whole sorts, sets of articles."""
    rows = [(s, r) for s, p in enumerate(parts) for r in range(len(p))]

    def tie(x: tuple[int, int], score: str) -> tuple[float, int, int, int]:
        p, r = parts[x[0]], x[1]
        return (-getattr(p, score)[r], p.day[r], p.key[r], p.position[r])

    bodied = sorted(
        (x for x in rows if np.isfinite(parts[x[0]].coarse[x[1]])), key=lambda x: tie(x, "coarse")
    )
    titled = sorted(
        (-p.titled_score[i], p.titled_day[i], p.titled_key[i])
        for p in parts
        for i in range(len(p.titled_day))
    )
    best = {(d, k) for _, d, k in titled[:titles]}
    chosen = set(bodied[:preselect]) | {
        x for x in rows if (parts[x[0]].day[x[1]], parts[x[0]].key[x[1]]) in best
    }
    return sorted(chosen, key=lambda x: tie(x, "final"))[:limit]


def test_the_merge_takes_the_global_cuts_ties_and_all() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        parts = random_parts(rng, int(rng.integers(1, 5)))
        limit, preselect, titles = (int(x) for x in rng.integers(1, 30, 3))
        got = merge(parts, limit, preselect=preselect, title_articles=titles)
        want = merged_by_sorting(parts, limit, preselect, titles)
        assert list(zip(got.shard.tolist(), got.row.tolist(), strict=True)) == want
        assert got.score.tolist() == [float(parts[s].final[r]) for s, r in want]
    assert len(merge([], 5)) == 0 and len(merge([Candidates.empty()] * 3, 5)) == 0


def cut_to(part: Candidates, k: int) -> Candidates:
    """``part`` as its shard sends it when asked for its best ``k`` by coarse score: the others left
    out, but for those of a title match (sent as such, with no coarse score)."""
    bodied = np.flatnonzero(np.isfinite(part.coarse))
    order = bodied[
        np.lexsort((part.position[bodied], part.key[bodied], part.day[bodied], -part.coarse[bodied]))
    ]
    titled = set(zip(part.titled_day.tolist(), part.titled_key.tolist(), strict=True))
    coarse = part.coarse.copy()
    keep = np.ones(len(part), dtype=bool)
    for r in order[k:].tolist():
        if (int(part.day[r]), int(part.key[r])) in titled:
            coarse[r] = -np.inf
        else:
            keep[r] = False
    fields = {name: getattr(part, name)[keep] for name in FIELDS[:7]}
    fields["coarse"] = coarse[keep]
    return Candidates(
        **fields, titled_day=part.titled_day, titled_key=part.titled_key, titled_score=part.titled_score
    )


def ranked(parts: list[Candidates], merged: Merged) -> list[tuple[float, ...]]:
    return [
        (s, parts[s].day[r], parts[s].key[r], parts[s].position[r], parts[s].final[r])
        for s, r in zip(merged.shard.tolist(), merged.row.tolist(), strict=True)
    ]


def test_shards_that_send_fewer_are_asked_again_when_short_and_the_merge_is_the_same() -> None:
    rng = np.random.default_rng(11)
    shorts = 0
    for _ in range(400):
        full = random_parts(rng, int(rng.integers(1, 6)))
        limit, preselect, titles = (int(x) for x in rng.integers(1, 30, 3))
        want = ranked(full, merge(full, limit, preselect=preselect, title_articles=titles))
        k = int(rng.integers(1, preselect + 1))
        parts, cut = [cut_to(p, k) for p in full], [k] * len(full)
        got = merge(parts, limit, preselect=preselect, title_articles=titles, cut=cut)
        if got.short:  # (as the coordinator does: those shards' full preselection, then again)
            shorts += 1
            for i in got.short:
                parts[i], cut[i] = full[i], preselect
            got = merge(parts, limit, preselect=preselect, title_articles=titles, cut=cut)
            assert not got.short
        assert ranked(parts, got) == want
    assert shorts > 50  # (and many were not short)


async def test_shards_load_the_compiled_ranking_as_the_command_asks(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, cluster={"shards": 2, "address": "inprocess"})
    for compiled_option, wanted in ((False, False), (None, True)):
        index = await open_index(settings, compiled=compiled_option)  # one-shot commands pass False
        try:
            assert isinstance(index, ClusterIndex)
            held = [s.settings.index.compiled for s in index.shards.shards]  # type: ignore[attr-defined]
            assert held == [wanted, wanted]
        finally:
            await index.close()
