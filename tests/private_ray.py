"""A test's own Ray: a short private temp folder and settings in the environment for its length
(:func:`private_ray`, never ``ray stop``: that stops every Ray on the machine), and the worker
processes of its nodes (shard actors, parse tasks), which Ray leaves running when a
``ray.cluster_utils.Cluster`` is shut down or its head killed, so the tests end them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@contextlib.contextmanager
def private_ray(prefix: str, also: tuple[str, ...] = ()) -> Iterator[str]:
    """Ray's settings for a private Ray in a new temp folder (yielded), restored afterwards with the
    variables named in ``also``; the driver leaves Ray at the end."""
    import ray

    if ray.is_initialized():  # a Ray left connected by another module would be joined instead
        ray.shutdown()
    folder = tempfile.mkdtemp(prefix=prefix, dir="/tmp")  # Ray's socket paths must be short
    env = {**ENV, "RAY_TMPDIR": folder}
    kept = {k: os.environ.get(k) for k in [*env, *also]}
    os.environ.update(env)
    try:
        yield folder
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for k, v in kept.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(folder, ignore_errors=True)


def _parent(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    return 0


def worker_pids(cluster: Any) -> set[int]:
    """The processes the raylets of ``cluster``'s nodes started (none where /proc is missing)."""
    raylets = set()
    for node in cluster.list_all_nodes():
        for info in node.all_processes.get("raylet", []):
            raylets.add(info.process.pid)
    if not raylets or not Path("/proc").is_dir():
        return set()
    return {
        int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(int(p.name)) in raylets
    }


def end_processes(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
