"""A cluster reindex's memory: shards that share a node store and build their generations one after
another (``steps.waves``), shards of different nodes at once; the coordinator lets the records it
read go once it has handed them to the shards.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.cluster import steps, transport
from newsbot.index.cluster.coordinator import ClusterIndex
from newsbot.index.cluster.stats import Totals
from newsbot.index.errors import IndexingError
from newsbot.index.ingest.sources import Record
from newsbot.index.ingest.workers import Reading
from tests.helpers import make_settings, write_article
from tests.test_cluster import QUESTIONS, answers, cluster, counts, news_copy, single


def test_waves_hold_at_most_one_shard_of_a_node() -> None:
    assert steps.waves(["a", "b", "a", "c", "a"]) == [[0, 1, 3], [2], [4]]
    assert steps.waves(["x"] * 3) == [[0], [1], [2]]
    assert steps.waves(["a", "b", "c"]) == [[0, 1, 2]]
    assert steps.waves([]) == []


def watch_builds(index: ClusterIndex) -> list[tuple[int, float, float]]:
    """Record each shard's build: the step that hands it the summed statistics, (shard, start, end)."""
    builds: list[tuple[int, float, float]] = []
    real = index.shards.call

    async def call(shard: int, method: str, *args: Any) -> Any:
        started = time.monotonic()
        out = await real(shard, method, *args)
        if method == "step" and isinstance(args[0], Totals):
            builds.append((shard, started, time.monotonic()))
        return out

    index.shards.call = call  # type: ignore[method-assign]
    return builds


async def test_shards_of_one_node_build_in_turn_and_of_many_at_once(tmp_path: Path) -> None:
    folder = news_copy(tmp_path)
    settings = make_settings(tmp_path / "many", [folder])
    index = await cluster(settings, 3)  # in this process: one node
    try:
        builds = watch_builds(index)
        seen: list[tuple[str, int, int]] = []
        await index.reindex(progress=lambda stage, done, total: seen.append((stage, done, total)))
        assert sorted(shard for shard, _, _ in builds) == [0, 1, 2]
        spans = sorted((start, end) for _, start, end in builds)
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans)), spans
        assert [s for s in seen if s[0] == "build"] == [("build", n, 3) for n in range(4)]

        async def three_nodes() -> list[str]:
            return ["node a", "node b", "node c"]

        index.shards.nodes = three_nodes  # type: ignore[method-assign]
        builds.clear()
        write_article(folder, "new/ferry.txt", "Night ferry", ["The harbor ferry now runs at night."])
        assert (await index.reindex()).added == 1
        starts, ends = [s for _, s, _ in builds], [e for _, _, e in builds]
        assert len(builds) == 3 and max(starts) < min(ends)  # all three building at once
        assert await answers(index, QUESTIONS) == await single(
            make_settings(tmp_path / "one", [folder]), QUESTIONS
        )
    finally:
        await index.close()


def records_alive() -> int:
    gc.collect()
    return sum(isinstance(o, Record) for o in gc.get_objects())


async def test_the_files_are_read_and_handed_on_a_part_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "PART_FILES", 5)
    folder = news_copy(tmp_path)
    one = await NewsIndex.open(make_settings(tmp_path / "one", [folder]))
    index = await cluster(make_settings(tmp_path / "many", [folder]), 3)
    parts: list[int] = []  # the files of each part read
    alive: list[int] = []  # the records alive as each part is read, and at each build
    real_parse, real_call = index.shards.parse, index.shards.call

    async def parse(*args: Any) -> AsyncIterator[Reading]:
        async for part in real_parse(*args):
            alive.append(records_alive())
            parts.append(len(part.records))
            yield part

    async def call(shard: int, method: str, *args: Any) -> Any:
        if method == "step" and isinstance(args[0], Totals):
            alive.append(records_alive())
        return await real_call(shard, method, *args)

    index.shards.parse, index.shards.call = parse, call  # type: ignore[method-assign]
    try:
        assert counts(await index.reindex()) == counts(await one.reindex())
        assert parts == [5] * 8 + [3]  # the 43 files
        # as part k is handed on, the articles alive are the shards' from parts before it (each holds
        # its own until it stores them), part k's, and those read ahead (twice the 4 reading threads)
        assert all(n <= 5 * (k + 1) + 8 for k, n in enumerate(alive[:9])), alive
        assert alive[9:] == [0, 0, 0]  # none at the builds
        assert await answers(index, QUESTIONS) == await answers(one, QUESTIONS)

        files = sorted(folder.rglob("*.txt"))
        files[0].unlink()
        files[7].write_text(files[7].read_text(encoding="utf-8") + "\nA night tram.\n", encoding="utf-8")
        write_article(folder, "new/ferry.txt", "Night ferry", ["The harbor ferry now runs at night."])
        parts.clear()
        assert counts(await index.reindex()) == counts(await one.reindex())
        assert parts == [2]
        assert await answers(index, QUESTIONS) == await answers(one, QUESTIONS)
    finally:
        await index.close()
        await one.close()


async def test_a_shard_failing_while_the_parts_come_stops_the_reading_and_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "PART_FILES", 5)
    folder = news_copy(tmp_path)
    index = await cluster(make_settings(tmp_path / "many", [folder]), 3)
    try:
        await index.reindex()
        before, numbers = await answers(index, QUESTIONS), list(index.numbers)
        for i in range(20):  # 20 new files: 4 parts
            write_article(
                folder, f"late/{i}.txt", f"Harbor tram late {i}", [f"The tram ran {i} minutes late."]
            )
        parts: list[int] = []
        real_parse, real_ask = index.shards.parse, steps.Steps._ask

        async def parse(*args: Any) -> AsyncIterator[Reading]:
            async for part in real_parse(*args):
                parts.append(len(part.records))
                yield part

        async def ask(self: steps.Steps, message: steps.Message) -> object:
            if self.shard == 1 and message.kind == "more" and len(parts) == 2:
                raise OSError("disk unplugged")  # as shard 1 takes the second part
            return await real_ask(self, message)

        index.shards.parse = parse  # type: ignore[method-assign]
        monkeypatch.setattr(steps.Steps, "_ask", ask)
        with pytest.raises(
            IndexingError, match=r"shard 1: .*disk unplugged.*previous index is still serving"
        ):
            await index.reindex()
        assert parts == [5, 5]  # the reading stopped there
        monkeypatch.setattr(steps.Steps, "_ask", real_ask)
        assert index.numbers == numbers and await answers(index, QUESTIONS) == before
        report = await index.reindex()  # and the next one goes through
        assert report.added == 20 and report.generation == 2
    finally:
        await index.close()
