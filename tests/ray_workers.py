"""The worker processes of a test's Ray nodes (shard actors, parse tasks): Ray leaves them running
when a ``ray.cluster_utils.Cluster`` is shut down or its head killed, so the tests end them."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any


def _parent(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    return 0


def workers(cluster: Any) -> set[int]:
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


def end(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
