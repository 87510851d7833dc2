"""The shards as Ray actors on a cluster of three nodes: a head and two more nodes started on this
machine by ``ray.cluster_utils.Cluster`` (each its own raylet, object store and worker processes),
joined through the settings the CLI and the bot open with (``[cluster] shards``, ``address = "auto"``
with ``RAY_ADDRESS`` naming this cluster, so no other Ray on the machine is joined).

- The sample news with 3 and 7 shards, and 40 of the 224 dev questions over
  ``../shared/corpus/realtimeqa_demo`` asked as of their dates with 3 shards, get one index's answers
  (whole JSON, as tests/test_cluster.py compares them), also after an incremental reindex that adds,
  changes and removes articles; /latest and /stats agree too.
- The actors are spread over more than one node.
- The settings name the cluster by its head's ``HOST:PORT``; as many shards as nodes put one shard on
  each node; same-day stories are listed as one index lists them.
- A reindex counts the files as one index does, also a changed file whose text moves to another
  shard.

The cluster is started once for the module (about 10 s), in a short private temp folder, and shut
down with the module (never with ``ray stop``: that stops every Ray on the machine).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.cluster.coordinator import ClusterIndex
from newsbot.index.config import Settings
from newsbot.index.model import IndexReport
from newsbot.index.opening import open_index
from tests.helpers import CORPUS, SHARED, make_settings, write_article
from tests.private_ray import end_processes, private_ray, worker_pids
from tests.test_cluster import QUESTIONS, Asked, answers, counts, news_copy

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

pytestmark = pytest.mark.cluster

NODES = 3  # the head and two added nodes
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def nodes() -> Iterator[Any]:
    """A three-node Ray cluster on this machine; ``[cluster] address = "auto"`` joins it."""
    with private_ray("nbnodes", also=("RAY_ADDRESS",)):
        small = {"num_cpus": 1, "object_store_memory": 80 * MIB}
        cluster = cluster_utils.Cluster(
            initialize_head=True, head_node_args={**small, "include_dashboard": False}
        )
        try:
            for _ in range(NODES - 1):
                cluster.add_node(**small)
            cluster.wait_for_nodes()
            os.environ["RAY_ADDRESS"] = cluster.address  # "auto" reads it first (Ray's own rule)
            yield cluster
        finally:
            ray.shutdown()
            left = worker_pids(cluster)
            cluster.shutdown()
            end_processes(left)


def on_nodes(tmp_path: Path, folder: Path, shards: int) -> Settings:
    cluster = {"shards": shards, "address": "auto", "call_timeout_seconds": 60}
    return make_settings(tmp_path, [folder], cluster=cluster)


async def open_on_nodes(settings: Settings) -> ClusterIndex:
    index = await open_index(settings)
    assert isinstance(index, ClusterIndex)
    return index


def actor_nodes(index: ClusterIndex) -> list[str]:
    """The node each of ``index``'s shard actors runs on (from the GCS's actor table)."""
    from ray._private import state  # ray.util.state needs the dashboard, which these nodes do not run

    out = []
    for actor in index.shards.actors:  # type: ignore[attr-defined]
        info = state.actors(actor_id=actor._actor_id.hex())
        assert info["State"] == "ALIVE", info
        out.append(info["Address"]["NodeID"])
    return out


def alive_nodes() -> set[str]:
    return {n["NodeID"] for n in ray.nodes() if n["Alive"]}


# /latest lists whose stories have different dates (same-day stories: a test below)
LISTS: list[dict[str, Any]] = [
    {"n": 25, "since": dt.date(2026, 11, 5)},
    {"n": 10, "topic": "harbor tram"},
    {"n": 5, "topic": "storm", "until": dt.date(2026, 10, 9)},
]


async def latest_of(index: NewsIndex) -> list[list[dict[str, Any]]]:
    lists = [[s.to_json() for s in await index.latest(**options)] for options in LISTS]
    for stories in lists:
        dates = [s["date"] for s in stories]
        assert stories and len(set(dates)) == len(dates), dates
    return lists


async def stats_of(index: NewsIndex) -> tuple[object, ...]:
    s = await index.stats()
    return (s.articles, s.paragraphs, s.newest, s.generation)


def held(report: IndexReport) -> tuple[int, ...]:
    """What a reindex leaves in the index (how it counts the files: a test below)."""
    return (report.articles, report.paragraphs, report.duplicates)


def files_counted(report: IndexReport) -> tuple[int, ...]:
    return (report.added, report.changed, report.removed, report.unchanged, report.duplicates)


async def same_as(one: NewsIndex, many: NewsIndex, asked: Asked) -> list[str]:
    """Assert ``many`` answers, lists and counts as ``one`` does; returns the answers."""
    want = await answers(one, asked)
    assert await answers(many, asked) == want
    assert await latest_of(many) == await latest_of(one)
    assert await stats_of(many) == await stats_of(one)
    return want


@pytest.mark.timeout(300)
async def test_the_sample_news_on_three_nodes_gets_one_indexs_answers(tmp_path: Path, nodes: Any) -> None:
    folder = news_copy(tmp_path)
    asked = [*QUESTIONS, ("night ferry", None), ("harbor tram night service", None)]
    async with contextlib.AsyncExitStack() as opened:
        one = await opened.enter_async_context(
            await NewsIndex.open(make_settings(tmp_path / "one", [folder]))
        )
        three = await opened.enter_async_context(await open_on_nodes(on_nodes(tmp_path / "three", folder, 3)))
        seven = await opened.enter_async_context(await open_on_nodes(on_nodes(tmp_path / "seven", folder, 7)))
        placed = actor_nodes(three) + actor_nodes(seven)
        assert len(set(placed)) > 1, f"all ten shards on one node of {alive_nodes()}"
        assert set(placed) <= alive_nodes() and len(alive_nodes()) == NODES
        for index in (three, seven):  # the shards say where they are, and build one per node at once
            assert await index.shards.nodes() == actor_nodes(index)

        first = counts(await one.reindex())
        for index in (three, seven):
            report = await index.reindex()
            assert counts(report) == first and report.generation == 1 and report.articles == 42
        before = await same_as(one, three, asked)
        assert await same_as(one, seven, asked) == before
        assert any(json.loads(a)["hits"] for a in before) and any(json.loads(a)["note"] for a in before)

        files = sorted(folder.rglob("*.txt"))
        files[0].unlink()  # removed
        text = files[1].read_text(encoding="utf-8")
        files[1].write_text(text + "\nThe harbor tram gained a night service.\n", encoding="utf-8")  # changed
        ferry = ["The harbor ferry now runs at night for riders."]
        write_article(folder, "new/ferry.txt", "Night ferry", ferry, date="2026-11-27")  # added
        write_article(folder, "new/copy.txt", "Night ferry", ferry, date="2026-11-27")  # a duplicate
        second = await one.reindex()
        assert (second.added, second.changed, second.removed, second.duplicates) == (2, 1, 1, 1)
        for index in (three, seven):  # (the files' counts: a test below)
            report = await index.reindex()
            assert held(report) == held(second) and report.generation == 2
        after = await same_as(one, three, asked)
        assert await same_as(one, seven, asked) == after
        assert after != before and "Night ferry" in after[-2]
        assert actor_nodes(three) + actor_nodes(seven) == placed  # no actor was restarted elsewhere


@pytest.mark.timeout(120)
async def test_the_settings_name_the_clusters_address(tmp_path: Path, nodes: Any) -> None:
    folder = news_copy(tmp_path)
    async with await NewsIndex.open(make_settings(tmp_path / "one", [folder])) as one:
        await one.reindex()
        want = await answers(one, QUESTIONS)
    cluster = {"shards": 3, "address": nodes.address, "call_timeout_seconds": 60}
    index = await open_on_nodes(make_settings(tmp_path / "three", [folder], cluster=cluster))
    try:
        await index.reindex()
        assert await answers(index, QUESTIONS) == want
    finally:
        await index.close()


@pytest.mark.timeout(120)
async def test_as_many_shards_as_nodes_put_one_shard_on_each_node(tmp_path: Path, nodes: Any) -> None:
    index = await open_on_nodes(on_nodes(tmp_path / "three", news_copy(tmp_path), NODES))
    try:
        assert sorted(actor_nodes(index)) == sorted(alive_nodes())
    finally:
        await index.close()


@pytest.mark.timeout(120)
async def test_a_reindex_on_the_nodes_counts_the_files_as_one_index_does(tmp_path: Path, nodes: Any) -> None:
    folder = news_copy(tmp_path)
    one = await NewsIndex.open(make_settings(tmp_path / "one", [folder]))
    seven = await open_on_nodes(on_nodes(tmp_path / "seven", folder, 7))
    try:
        assert files_counted(await seven.reindex()) == files_counted(await one.reindex())
        changed = sorted(folder.rglob("*.txt"))[1]  # its new text goes to another of the 7 shards
        changed.write_text(changed.read_text(encoding="utf-8") + "\nA night tram.\n", encoding="utf-8")
        alone = await one.reindex()
        assert (alone.added, alone.changed, alone.removed, alone.unchanged) == (0, 1, 0, 42)
        assert files_counted(await seven.reindex()) == files_counted(alone)
    finally:
        await one.close()
        await seven.close()


@pytest.mark.timeout(120)
async def test_same_day_stories_are_listed_as_one_index_lists_them(tmp_path: Path, nodes: Any) -> None:
    folder = news_copy(tmp_path)
    for name in ("otter", "heron", "badger", "kestrel"):
        paragraph = [f"Rangers counted the {name}s in the harbor park."]
        write_article(folder, f"wildlife/{name}.txt", f"The {name} count", paragraph, date="2026-11-30")
    async with await NewsIndex.open(make_settings(tmp_path / "one", [folder])) as one:
        await one.reindex()
        want = [[s.path for s in await one.latest(n)] for n in (3, 5)]
    index = await open_on_nodes(on_nodes(tmp_path / "three", folder, 3))
    try:
        await index.reindex()
        assert [[s.path for s in await index.latest(n)] for n in (3, 5)] == want
    finally:
        await index.close()


def dev_questions(every: int = 5, count: int = 40) -> list[tuple[str, dt.date]]:
    rows = [
        json.loads(line)
        for line in (SHARED / "eval" / "realtimeqa_dev.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(rows) == 224
    return [(r["question"], dt.date.fromisoformat(r["question_date"])) for r in rows[::every][:count]]


def top_file(folder: Path, answer: str) -> Path:
    path = Path(json.loads(answer)["hits"][0]["path"])
    return path if path.is_absolute() else folder / path


@pytest.mark.corpus
@pytest.mark.timeout(300)
async def test_the_dev_questions_on_three_nodes_get_one_indexs_answers(tmp_path: Path, nodes: Any) -> None:
    corpus = CORPUS / "realtimeqa_demo"
    if not corpus.is_dir() or not (SHARED / "eval" / "realtimeqa_dev.jsonl").is_file():
        pytest.skip("../shared is not here")
    folder = tmp_path / "realtimeqa"
    shutil.copytree(corpus, folder)
    questions = dev_questions()
    assert len(questions) == 40
    one = await NewsIndex.open(make_settings(tmp_path / "one", [folder]))
    index = await open_on_nodes(on_nodes(tmp_path / "three", folder, 3))
    try:
        assert set(actor_nodes(index)) <= alive_nodes()
        first = await one.reindex()
        assert counts(await index.reindex()) == counts(first) and first.articles == 1000
        want = await answers(one, questions)
        assert await answers(index, questions) == want
        assert await stats_of(index) == await stats_of(one)
        assert sum(bool(json.loads(a)["hits"]) for a in want) > 35

        with_hits = [i for i, a in enumerate(want) if json.loads(a)["hits"]]
        gone, edited, asked_about = (top_file(folder, want[i]) for i in with_hits[:3])
        assert len({gone, edited, asked_about}) == 3
        gone.unlink()  # removed
        text = edited.read_text(encoding="utf-8")
        edited.write_text(text + "\n" + questions[with_hits[1]][0] + "\n", encoding="utf-8")  # changed
        question, day = questions[with_hits[2]]
        lines = [f"Our reporters looked into it: {question}", "Nobody had the answer yet."]
        write_article(folder, "added/report.txt", question, lines, date=day.isoformat())  # added
        shutil.copy(asked_about, folder / "added" / "copy.txt")  # a duplicate
        second = await one.reindex()
        assert (second.added, second.changed, second.removed, second.duplicates) == (2, 1, 1, 1)
        report = await index.reindex()
        assert held(report) == held(second) and report.generation == 2
        again = await answers(one, questions)
        assert await answers(index, questions) == again
        assert await stats_of(index) == await stats_of(one)
        for i in with_hits[:3]:  # each change shows in its question's answer
            assert again[i] != want[i]
        graph = index.shards.graph  # the shards on three nodes answered in one step (ray_graph.py)
        assert graph.compiled == 1 and graph.failed == 0 and graph.answered > 3 * 40
    finally:
        await one.close()
        await index.close()
