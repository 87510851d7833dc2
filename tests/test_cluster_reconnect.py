"""The coordinator losing its Ray cluster (the head node's processes killed, as when the head machine
goes down): questions get a clear error, never a hang, and once a head is back at the same address
the coordinator joins it again, with new shard actors, and answers as before.

The cluster is a ``ray.cluster_utils.Cluster`` of one node on this machine, in a short private temp
folder (never ``ray stop``: that stops every Ray on the machine).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.cluster.coordinator import ClusterIndex
from newsbot.index.errors import NewsbotError
from newsbot.index.opening import open_index
from tests.helpers import make_settings
from tests.private_ray import end_processes, private_ray, worker_pids
from tests.test_cluster import QUESTIONS, answers, news_copy

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

pytestmark = pytest.mark.cluster
HEAD = {"num_cpus": 1, "object_store_memory": 80 * 1024 * 1024, "include_dashboard": False}


@pytest.fixture
def own_ray() -> Iterator[None]:
    with private_ray("nbrc"):
        yield


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(240)
async def test_the_coordinator_rejoins_a_cluster_it_lost(tmp_path: Path, own_ray: None) -> None:
    folder = news_copy(tmp_path)
    async with await NewsIndex.open(make_settings(tmp_path / "one", [folder])) as one:
        await one.reindex()
        want = await answers(one, QUESTIONS)
    port = free_port()
    head: Any = cluster_utils.Cluster(initialize_head=True, head_node_args={**HEAD, "gcs_server_port": port})
    again: Any = None
    left: set[int] = set()
    cluster = {"shards": 2, "address": head.address, "call_timeout_seconds": 3}
    index = await open_index(make_settings(tmp_path / "many", [folder], cluster=cluster))
    assert isinstance(index, ClusterIndex)
    try:
        await index.reindex()
        assert await answers(index, QUESTIONS) == want
        actors = list(index.shards.actors)  # type: ignore[attr-defined]
        left = worker_pids(head)
        head.head_node.kill_all_processes(check_alive=False, allow_graceful=False)  # the head is gone

        again = cluster_utils.Cluster(initialize_head=True, head_node_args={**HEAD, "gcs_server_port": port})
        errors: list[str] = []
        for _ in range(20):  # each question is answered, or fails with a clear error, in seconds
            try:
                got = await answers(index, QUESTIONS)
            except NewsbotError as exc:
                errors.append(str(exc))
                continue
            if got == want and index.shards.actors and index.shards.actors != actors:  # type: ignore[attr-defined]
                break
        else:
            pytest.fail(f"never answered again: {errors}")
        assert errors and all("cluster" in e and "Traceback" not in e for e in errors), errors
    finally:
        await index.close()
        ray.shutdown()  # (the driver leaves first: Cluster will not stop the node it is attached to)
        if again is not None:
            left |= worker_pids(again)
            again.shutdown()
        head.shutdown()
        end_processes(left)
