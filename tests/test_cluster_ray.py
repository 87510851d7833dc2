"""The shards as real Ray actors (a private Ray on 127.0.0.1, started by the test): the answers equal
one index's, through the same settings the CLI and the bot open with (``[cluster] shards``).

Ray is started once for the module (a few seconds) in a short private temp folder, and never
stopped with ``ray stop`` (that would stop every Ray on the machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.cluster import ray_graph, ray_shards
from newsbot.index.cluster.coordinator import ClusterIndex
from newsbot.index.config import SAMPLE_NEWS
from newsbot.index.opening import open_index
from tests.helpers import make_settings, write_article
from tests.private_ray import private_ray
from tests.test_cluster import QUESTIONS, answers, news_copy

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    with private_ray("nbray"):
        yield


@pytest.mark.timeout(300)
async def test_ray_shards_give_one_indexs_answers_through_a_shard_restart(
    tmp_path: Path, local_ray: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the files read in parts of 10 (tasks of 3 files, 2 ahead), each part handed on before the next
    monkeypatch.setattr(ray_shards, "PART_FILES", 10)
    monkeypatch.setattr(ray_shards, "PARSE_CHUNK", 3)
    monkeypatch.setattr(ray_shards, "CHUNKS_AHEAD", 2)
    monkeypatch.setattr(ray_graph, "RETRY_SECONDS", 2.0)
    folder = news_copy(tmp_path)
    async with await NewsIndex.open(make_settings(tmp_path / "one", [folder])) as one:
        await one.reindex()
        want = await answers(one, QUESTIONS)
    settings = make_settings(tmp_path / "many", [folder], cluster={"shards": 3, "call_timeout_seconds": 20})
    index = await open_index(settings)
    assert isinstance(index, ClusterIndex)
    try:
        report = await index.reindex()
        assert report.generation == 1 and report.articles == 42
        assert await answers(index, QUESTIONS) == want
        graph = index.shards.graph  # type: ignore[attr-defined]
        assert graph.compiled == 1 and graph.answered >= 3 * 5  # every shard answered in one step

        # a burst of 100 questions, shard 1's actor killed (Ray restarts it) while they are asked
        asked = [QUESTIONS[i % 5] for i in range(100)]  # questions with words: every shard is asked
        whole = dict(zip([q for q, _ in QUESTIONS[:5]], want[:5], strict=True))
        tasks = [asyncio.ensure_future(answers(index, [q])) for q in asked]
        await asyncio.wait(tasks[:10])
        ray.kill(index.shards.actors[1], no_restart=False)  # type: ignore[attr-defined]
        got = [json.loads((await t)[0]) for t in tasks]
        partial = [a for a in got if a["note"] and "(shard 1 of 3)" in a["note"]]
        assert len(got) == 100  # (a partial answer may hold nothing: its passages were all shard 1's)
        for (question, _), a in zip(asked, got, strict=True):
            assert a in partial or json.dumps(a) == whole[question]
        print(f"{len(partial)} of 100 answers were partial")

        for _ in range(60):  # the restarted actor reopens its shard on its first call; a new graph
            if await answers(index, QUESTIONS) == want and graph.compiled >= 2:
                break
            await asyncio.sleep(1)
        assert await answers(index, QUESTIONS) == want
        # the graph failed with the actor, and a new one answers once it is back
        assert graph.failed >= 1 and graph.compiled >= 2
        answered = graph.answered
        assert await answers(index, QUESTIONS) == want and graph.answered >= answered + 3 * 5
        ray.kill(index.shards.actors[1], no_restart=True)  # gone for good: answers say so
        for _ in range(100):  # (once Ray has ended it: it may answer a moment longer)
            if (await index.ask("harbor tram riders")).note:
                break
            await asyncio.sleep(0.1)
        for _ in range(3):  # (the graph fails, then cannot be compiled: each shard is asked)
            note = (await index.ask("harbor tram riders")).note
            assert note and "(shard 1 of 3)" in note
            await asyncio.sleep(1)
    finally:
        await index.close()
    again = await open_index(settings)  # new actors reopen the shards' stores and the cluster's generation
    try:
        assert again.is_empty is False and await answers(again, QUESTIONS) == want
    finally:
        await again.close()
    assert json.loads(want[0])["hits"]


class NoRay:
    """A Ray that is not joined yet and must not be: ``init`` fails the test."""

    def is_initialized(self) -> bool:
        return False

    def init(self, **options: object) -> None:
        raise AssertionError(f"ray.init{options} was called")


def test_auto_with_several_rays_here_and_none_started_by_ray_start_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ray's "auto" with no RAY_ADDRESS and no ``ray_current_cluster`` file joins any Ray running on the
    machine, the first of a frozenset of addresses: another person's Ray as often as one's own, where
    the shards' actors die before they start. newsbot says so instead, and names the clusters."""
    from ray._private import services

    from newsbot.index.cluster import ray_shards
    from newsbot.index.errors import NewsbotError

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))  # no ray_current_cluster there
    monkeypatch.setattr(
        services, "find_gcs_addresses", lambda: frozenset({"10.0.0.9:6379", "10.0.0.9:41000"})
    )
    with pytest.raises(
        NewsbotError, match=r"ambiguous: 2 Ray clusters .*10\.0\.0\.9:41000, 10\.0\.0\.9:6379"
    ):
        ray_shards._start(NoRay(), "auto")

    # the cluster `ray start` last started with this temp folder, RAY_ADDRESS, HOST:PORT or a single
    # Ray running here: Ray's choice is not a guess, and newsbot lets Ray join it
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("10.0.0.9:6379")
    ray_shards._check_auto("auto")
    (tmp_path / "ray" / "ray_current_cluster").unlink()
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.9:6379")
    ray_shards._check_auto("auto")
    monkeypatch.delenv("RAY_ADDRESS")
    ray_shards._check_auto("10.0.0.9:6379")
    monkeypatch.setattr(services, "find_gcs_addresses", lambda: frozenset({"10.0.0.9:6379"}))
    ray_shards._check_auto("auto")


@pytest.mark.timeout(300)
def test_a_local_cluster_ignores_a_token_in_the_home_folder(tmp_path: Path) -> None:
    """A Ray token in ~/.ray (left by some other Ray) is not used for the process's own Ray, nor said."""
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text("0123456789abcdef" * 4, encoding="ascii")
    settings = tmp_path / "newsbot.toml"
    settings.write_text(
        f'[store]\ndatabase = "{tmp_path / "news.db"}"\n[cluster]\nshards = 2\naddress = "local"\n',
        encoding="utf-8",
    )
    ray_tmp = tempfile.mkdtemp(prefix="nbtok", dir="/tmp")  # (Ray's socket paths must be short)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home), RAY_TMPDIR=ray_tmp, RAY_USAGE_STATS_ENABLED="0")
    try:
        for argv in (["index", str(SAMPLE_NEWS)], ["ask", "harbor tram riders"]):
            run = subprocess.run(
                [sys.executable, "-m", "newsbot.cli", "--config", str(settings), *argv],
                capture_output=True,
                text=True,
                timeout=240,
                env=env,
                stdin=subprocess.DEVNULL,
            )
            assert run.returncode == 0, run.stderr
            assert "token" not in run.stderr.lower(), run.stderr
        assert "Harbor Line Tram" in run.stdout
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


@pytest.mark.timeout(300)
async def test_with_replicas_a_lost_actor_leaves_its_shard_answering(tmp_path: Path, local_ray: None) -> None:
    folder = news_copy(tmp_path)
    one = await NewsIndex.open(make_settings(tmp_path / "one", [folder]))
    cluster = {"shards": 2, "replicas": 2, "call_timeout_seconds": 20}
    try:  # (each shard's two actors open its new database at once: each step of its schema taken once)
        index = await open_index(make_settings(tmp_path / "many", [folder], cluster=cluster))
    except BaseException:
        await one.close()
        raise
    assert isinstance(index, ClusterIndex)
    try:
        await one.reindex()
        assert (await index.reindex()).articles == 42
        want = await answers(one, QUESTIONS)
        for _ in range(2):  # (each shard's two actors take turns)
            assert await answers(index, QUESTIONS) == want
        shards: Any = index.shards
        assert len(shards.copies) == 2 and all(len(c) == 1 for c in shards.copies)

        ray.kill(shards.actors[1], no_restart=False)  # shard 1's first actor: its copy answers
        asked = [QUESTIONS[i % 5] for i in range(40)]
        got = await asyncio.gather(*(answers(index, [q]) for q in asked))
        assert [g[0] for g in got] == [want[i % 5] for i in range(40)]  # whole, none with a note

        write_article(folder, "new/ferry.txt", "Night ferry", ["The harbor ferry now runs at night."])
        await one.reindex()
        for _ in range(60):  # the first actor, restarted, reindexes; both actors serve the new generation
            try:
                report = await index.reindex()
                break
            except Exception:
                await asyncio.sleep(1)
        assert report.added == 1 and report.generation == 2
        want = await answers(one, QUESTIONS)
        for _ in range(2):
            assert await answers(index, QUESTIONS) == want
    finally:
        await index.close()
        await one.close()


@pytest.mark.timeout(300)
async def test_a_graph_that_does_not_answer_in_time_is_given_up_for_plain_calls(
    tmp_path: Path, local_ray: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = news_copy(tmp_path)
    async with await NewsIndex.open(make_settings(tmp_path / "one", [folder])) as one:
        await one.reindex()
        want = await answers(one, QUESTIONS)
    index = await open_index(make_settings(tmp_path / "many", [folder], cluster={"shards": 2}))
    assert isinstance(index, ClusterIndex)
    try:
        await index.reindex()
        assert await answers(index, QUESTIONS) == want
        graph = index.shards.graph  # type: ignore[attr-defined]
        assert graph.compiled == 1 and graph.failed == 0 and graph.answered > 0

        monkeypatch.setattr(ray_graph, "WAIT_SECONDS", 0.0)  # every execution is late
        monkeypatch.setattr(ray_graph, "RETRY_SECONDS", 0.5)
        burst = await asyncio.gather(*(answers(index, QUESTIONS) for _ in range(6)))
        assert burst == [want] * 6  # the plain calls answered, with no note
        assert graph.failed >= 1  # (given up: every shard asked by a plain call)

        monkeypatch.setattr(ray_graph, "WAIT_SECONDS", 2.0)
        await asyncio.sleep(1)  # (past RETRY_SECONDS, and the last graph torn down)
        answered, compiled, failed = graph.answered, graph.compiled, graph.failed
        for _ in range(20):
            if graph.answered > answered:
                break
            assert await answers(index, QUESTIONS) == want
            await asyncio.sleep(0.2)
        assert graph.answered > answered and graph.compiled == compiled + 1  # a new graph answers
        real_teardown = ray_graph._teardown

        def slow_teardown(dropped: Any) -> None:
            time.sleep(1)  # (so that it still runs when the index is closed)
            real_teardown(dropped)

        monkeypatch.setattr(ray_graph, "_teardown", slow_teardown)
        monkeypatch.setattr(ray_graph, "WAIT_SECONDS", 0.0)
        assert await answers(index, QUESTIONS[:1]) == want[:1] and graph.failed > failed
    finally:
        await index.close()
    # every graph is torn down once the index is closed, the one given up last too (a teardown left
    # running past Ray's shutdown would crash this process later)
    assert not [t for t in threading.enumerate() if t.name == "graph-teardown"]
