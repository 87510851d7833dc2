"""Shards as Ray actors (``pip install 'newsbot[cluster]'``): one actor per shard, restarted by Ray
when its process dies (it then reopens its store and loads the generation a question names).

Ray is imported here only, when a cluster is opened: plain newsbot never loads it. A question's
calls have a timeout (``cluster.call_timeout_seconds``): an actor whose node is gone would otherwise
keep a question waiting. A reindex's steps take as long as their shard's part of the work (Ray says
when an actor dies). A call that fails raises :class:`ShardUnavailable`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import pickle
import sys
import threading
from collections.abc import AsyncGenerator
from typing import Any

from newsbot.index.cluster.ray_graph import SearchGraph
from newsbot.index.cluster.shard import Asked, Shard
from newsbot.index.cluster.transport import PART_FILES
from newsbot.index.config import Settings
from newsbot.index.errors import NewsbotError, ShardUnavailable
from newsbot.index.ingest.sources import SourceFile
from newsbot.index.ingest.workers import (
    Progress,
    Reading,
    collect,
    end_with_parent,
    read_and_tokenize,
)
from newsbot.index.tokenizer import TokenizerSpec

PARSE_CHUNK = 250  # files read by one task
CHUNKS_AHEAD = 8  # tasks asked for beyond the chunk being collected
CALLS_AT_ONCE = 16  # an actor's threads: each call holds one, and calls beyond wait their turn
# with cluster.replicas: what every actor of a shard is told, and what any of them answers
EVERY_COPY = frozenset({"open", "hold", "close"})
ANY_COPY = frozenset(
    {"search", "paragraph_rows", "term_use", "candidates", "latest", "stats", "stories", "topic_articles"}
)
UNTIMED = frozenset({"begin", "step", "abort"})  # a reindex's steps
GRAPH_TEARDOWN_SECONDS = 10.0  # how long leaving a lost cluster waits for the graph's teardown


class ShardHost:
    """The actor: a :class:`Shard`, opened on first use (and again after a restart).

    A threaded actor: Ray runs each call on one of its threads. A question's search (and any rows it
    asks for later) is answered right there (``Shard.search_now``); everything else runs on the
    shard's own event loop, in a thread of its own. An async actor costs about 1.5 ms more a search
    here: the hops from Ray's thread to the actor's loop, to a worker thread and to aiosqlite's.
    """

    def __init__(self, settings: Settings, number: int, shards: int) -> None:
        # end with the node's raylet (this process's parent), even with the store open: Python's exit
        # would otherwise wait for the store's connection thread for ever
        end_with_parent(os.getppid())
        self.shard = Shard(settings, number, shards)
        self.opened = False
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="shard-loop", daemon=True).start()

    def call(self, method: str, *args: Any) -> Any:
        if self.opened and method == "search":
            found = self.shard.search_now(*args)
            if found is not None:
                return found
        elif self.opened and method == "paragraph_rows":
            return self.shard.reader.paragraph_rows(*args)
        return asyncio.run_coroutine_threadsafe(_on_loop(self, method, args), self.loop).result()

    def search_step(self, given: tuple[list[int], Asked]) -> Any:
        """This shard's search in the compiled graph (``ray_graph.py``): ``given`` is every shard's
        generation number and the search. None when it must be asked the plain way (not open yet,
        that generation not loaded here, an error: the plain call says which)."""
        if not self.opened:
            return None
        numbers, asked = given
        try:
            found = self.shard.search_now(numbers[self.shard.number], asked)
        except Exception:
            return None
        # as bytes: arrays read from the graph's channel would be views of its memory (ray_graph.py)
        return None if found is None else pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL)

    def node(self) -> str:
        """The Ray node this actor runs on."""
        import ray

        return str(ray.get_runtime_context().get_node_id())


async def _on_loop(host: ShardHost, method: str, args: tuple[Any, ...]) -> Any:
    """``host``'s shard's ``method(*args)``, on its event loop. (Not a method: an actor with one
    ``async def`` would be an async actor.)"""
    shard = host.shard
    if not host.opened:
        await shard.open()
        host.opened = True
    if method == "open":
        return None
    if method == "close":
        host.opened = False
        return await shard.close()
    return await getattr(shard, method)(*args)


def _ray(address: str) -> Any:
    if address == "local" and "ray" not in sys.modules:
        # a Ray of this process's own needs no token; Ray reads this once, when imported (a token
        # in ~/.ray would otherwise be used, and said so on every command)
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    try:
        import ray
    except ImportError:
        needs = "cluster.shards needs Ray: pip install 'newsbot[cluster]'"
        raise NewsbotError(f'{needs} (or set cluster.address = "inprocess")') from None
    return ray


def _check_auto(address: str) -> None:
    """Refuse "auto" when Ray would pick one of several clusters at random.

    "auto" is RAY_ADDRESS, else the cluster ``ray start`` last started with this Ray temp folder (the
    file ``ray_current_cluster`` in ``$RAY_TMPDIR/ray``, default ``/tmp/ray``). With neither, Ray joins
    any Ray it finds running on this machine: with several, whichever a per-process string hash puts
    first, so a run joins someone else's Ray (where the shards' actors die before they start:
    "shard N is unavailable (ActorDiedError)") and the next run joins the right one. A ``ray start
    --temp-dir`` other than ``$RAY_TMPDIR/ray`` leaves the file where "auto" does not look.
    """
    if address != "auto" or os.environ.get("RAY_ADDRESS"):
        return
    try:  # Ray's own lookup (private helpers: if they move, "auto" is left to Ray)
        from ray._common.utils import get_ray_address_file
        from ray._private import services

        running = sorted(services.find_gcs_addresses())
        last = services.find_bootstrap_address(None)
        where = get_ray_address_file(None)
    except Exception:
        return
    if last is None and len(running) > 1:
        raise NewsbotError(
            f'cluster.address = "auto" is ambiguous: {len(running)} Ray clusters run on this machine '
            f"({', '.join(running)}) and none was started here by `ray start` ({where} is missing); "
            'set cluster.address = "HOST:PORT" (or RAY_ADDRESS) to the head of yours'
        )


def _start(ray: Any, address: str) -> None:
    """Join (or, for "local", start) the Ray cluster once per process."""
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    _check_auto(address)
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
        self.ray = _ray(settings.cluster.address)
        self.settings = settings
        self.count = count
        self.timeout = settings.cluster.call_timeout_seconds
        self.actors: list[Any] = []  # each shard's first actor (it reindexes)
        self.copies: list[list[Any]] = []  # each shard's other actors (cluster.replicas)
        self._turns = [0] * count  # which of a shard's actors a question asks first
        self._joining = asyncio.Lock()
        self.graph: SearchGraph | None = None
        self._join()

    def _join(self) -> None:
        """Join the cluster and start the shards' actors."""
        ray = self.ray
        _start(ray, self.settings.cluster.address)
        # a sliver of a CPU, spread: Ray places actors that ask for nothing anywhere, often all on one node
        host = ray.remote(
            num_cpus=0.01,
            scheduling_strategy="SPREAD",
            max_restarts=-1,
            max_task_retries=0,
            max_concurrency=CALLS_AT_ONCE,
        )(ShardHost)
        self.actors = [host.remote(self.settings, i, self.count) for i in range(self.count)]
        more = self.settings.cluster.replicas - 1
        self.copies = [
            [host.remote(self.settings, i, self.count) for _ in range(more)] for i in range(self.count)
        ]
        self.graph = SearchGraph(self.actors, self.timeout)

    async def search(self, numbers: list[int], asked: Asked) -> list[Any] | None:
        """Every shard's search in one step (the compiled graph), None for a shard (or all of them)
        to be asked the plain way."""
        if not self.actors:
            await self._rejoin()
        found = None if self.graph is None else await self.graph.search((numbers, asked))
        return None if found is None else [f if f is None else pickle.loads(f) for f in found]

    async def reconnect(self) -> None:
        """Leave the cluster (no shard answered: it may be gone); the next call joins it again, with
        new actors. Left joined to a cluster that is gone, Ray would end this process in a minute."""
        graph, self.graph = self.graph, None
        self.actors, self.copies = [], []
        if graph is not None:  # (torn down first; Ray's own calls in it time out on a lost cluster)
            closing = asyncio.ensure_future(asyncio.to_thread(graph.close))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(closing), GRAPH_TEARDOWN_SECONDS)
        await asyncio.to_thread(self.ray.shutdown)

    async def _rejoin(self) -> None:
        """Join again after :meth:`reconnect` (once, for every call waiting); raises NewsbotError
        while the cluster cannot be reached."""
        async with self._joining:
            if self.actors:
                return
            joining = asyncio.ensure_future(asyncio.to_thread(self._join))
            try:  # (Ray keeps trying an address that does not answer for minutes)
                await asyncio.wait_for(asyncio.shield(joining), max(10.0, self.timeout))
            except TimeoutError:
                address = self.settings.cluster.address
                raise NewsbotError(f"cannot reach the Ray cluster at {address} (no answer)") from None

    async def call(self, shard: int, method: str, *args: Any) -> Any:
        if not self.actors:
            await self._rejoin()
        first, copies = self.actors[shard], self.copies[shard] if self.copies else []
        if not copies or not (method in EVERY_COPY or method in ANY_COPY):
            return await self._call(first, shard, method, args)
        if method in EVERY_COPY:  # (the first's answer; a copy that fails loads what it needs later)
            results = await asyncio.gather(
                self._call(first, shard, method, args),
                *(self._call(a, shard, method, args) for a in copies),
                return_exceptions=True,
            )
            if isinstance(results[0], BaseException):
                raise results[0]
            return results[0]
        every = [first, *copies]
        turn = self._turns[shard] = (self._turns[shard] + 1) % len(every)
        actors = every[turn:] + every[:turn]  # each actor in turn first
        for actor in actors[:-1]:
            with contextlib.suppress(ShardUnavailable):  # (then the next)
                return await self._call(actor, shard, method, args)
        return await self._call(actors[-1], shard, method, args)

    async def _call(self, actor: Any, shard: int, method: str, args: tuple[Any, ...]) -> Any:
        ray = self.ray
        try:
            ref = actor.call.remote(method, *args)
            timeout = None if method in UNTIMED else self.timeout
            return await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout)
        except TimeoutError:
            raise ShardUnavailable(shard, f"no answer in {self.timeout:g} s") from None
        except ray.exceptions.RayTaskError as exc:
            cause = exc.as_instanceof_cause()
            if isinstance(cause, NewsbotError):
                raise cause from None
            raise ShardUnavailable(shard, str(exc.cause if exc.cause else exc).splitlines()[0]) from None
        except ray.exceptions.RayError as exc:
            raise ShardUnavailable(shard, type(exc).__name__) from None

    async def nodes(self) -> list[str]:
        if not self.actors:
            await self._rejoin()
        found = []
        for shard, actor in enumerate(self.actors):
            try:
                where = asyncio.wrap_future(actor.node.remote().future())
                found.append(await asyncio.wait_for(where, self.timeout))
            except (TimeoutError, self.ray.exceptions.RayError) as exc:
                raise ShardUnavailable(shard, type(exc).__name__) from None
        return found

    async def parse(
        self, sources: list[SourceFile], spec: TokenizerSpec, progress: Progress
    ) -> AsyncGenerator[Reading, None]:
        """Read, parse and tokenize ``sources`` as Ray tasks (a chunk of files each) on any node, a few
        chunks ahead of the part being handed on: the news folders must be at the same path on every
        node."""
        ray = self.ray
        task = ray.remote(num_cpus=0.5, max_retries=2)(read_and_tokenize)  # (beside the shards: 0.01 each)
        chunks = [sources[i : i + PARSE_CHUNK] for i in range(0, len(sources), PARSE_CHUNK)]
        waiting = collections.deque(task.remote(chunk, spec) for chunk in chunks[:CHUNKS_AHEAD])
        progress("parse", 0, len(sources))
        done, start, reads = 0, 0, []
        for i in range(len(chunks)):
            try:  # in order, as they come
                reads.extend(await asyncio.wrap_future(waiting.popleft().future()))
            except ray.exceptions.RayError as exc:
                raise NewsbotError(f"reading the news on the cluster failed ({type(exc).__name__})") from None
            if i + CHUNKS_AHEAD < len(chunks):
                waiting.append(task.remote(chunks[i + CHUNKS_AHEAD], spec))
            done += len(chunks[i])
            if done - start >= PART_FILES or i == len(chunks) - 1:
                yield collect(sources[start:done], reads, progress, start, len(sources))
                start, reads = done, []

    async def close(self) -> None:
        graph, self.graph = self.graph, None
        if graph is not None:
            await asyncio.to_thread(graph.close)
        every = [*self.actors, *(a for copies in self.copies for a in copies)]
        closing = [asyncio.wrap_future(a.call.remote("close").future()) for a in every]
        with contextlib.suppress(Exception):  # (an actor gone is closed)
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 10)
        for actor in every:
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                continue
        self.actors, self.copies = [], []
