"""Shards as Ray actors (``pip install 'newsbot[cluster]'``): one actor per shard, restarted by Ray
when its process dies (it then reopens its store and loads the generation a question names).

Ray is imported here only, when a cluster is opened: plain newsbot never loads it. Every call has a
timeout (``cluster.call_timeout_seconds``): an actor whose node is gone would otherwise never
answer. A call that fails raises :class:`ShardUnavailable`.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from newsbot.index.cluster.shard import Shard
from newsbot.index.config import Settings
from newsbot.index.errors import NewsbotError, ShardUnavailable


class ShardHost:
    """The actor: a :class:`Shard`, opened on first use (and again after a restart)."""

    def __init__(self, settings: Settings, number: int, shards: int) -> None:
        self.shard = Shard(settings, number, shards)
        self.opened = False

    async def call(self, method: str, *args: Any) -> Any:
        if not self.opened:
            await self.shard.open()
            self.opened = True
        if method == "open":
            return None
        return await getattr(self.shard, method)(*args)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        needs = "cluster.shards needs Ray: pip install 'newsbot[cluster]'"
        raise NewsbotError(f'{needs} (or set cluster.address = "inprocess")') from None
    return ray


def _start(ray: Any, address: str) -> None:
    """Join (or, for "local", start) the Ray cluster once per process."""
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    try:
        if address == "local":
            ray.init(address="local", _node_ip_address="127.0.0.1", **options)
        else:
            ray.init(address=address, **options)
    except Exception as exc:  # Ray's errors: a cluster that is not there, a version mismatch
        raise NewsbotError(f"cannot reach the Ray cluster at {address} ({exc})") from None


class RayShards:
    """The coordinator's side: the actors, and calls to them with a timeout."""

    def __init__(self, settings: Settings, count: int) -> None:
        ray = self.ray = _ray()
        _start(ray, settings.cluster.address)
        self.count = count
        self.timeout = settings.cluster.call_timeout_seconds
        host = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=64)(ShardHost)
        self.actors = [host.remote(settings, i, count) for i in range(count)]

    async def call(self, shard: int, method: str, *args: Any) -> Any:
        ray = self.ray
        try:
            ref = self.actors[shard].call.remote(method, *args)
            return await asyncio.wait_for(asyncio.wrap_future(ref.future()), self.timeout)
        except TimeoutError:
            raise ShardUnavailable(shard, f"no answer in {self.timeout:g} s") from None
        except ray.exceptions.RayTaskError as exc:
            cause = exc.as_instanceof_cause()
            if isinstance(cause, NewsbotError):
                raise cause from None
            raise ShardUnavailable(shard, str(exc.cause if exc.cause else exc).splitlines()[0]) from None
        except ray.exceptions.RayError as exc:
            raise ShardUnavailable(shard, type(exc).__name__) from None

    async def close(self) -> None:
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                continue
        self.actors = []
