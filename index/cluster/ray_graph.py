"""A question's search of every shard in one step: a Ray compiled graph (``ray.dag``) over the
shards' actors, compiled once and executed per question.

An actor call costs about 1.3 ms here (Ray's task submission, scheduling and object store); a
compiled graph's execution passes its input and results through channels set up once, about 0.3 ms.
A shard's answer crosses the graph as pickled bytes: numpy arrays read from a graph's channel
are views of its shared memory, which are not to outlive the graph (freeing one after the graph is
torn down crashes the process).

The graph is a speed-up only: every shard answers the plain way (``RayShards.call``, with its timeout,
replicas and notes) whenever the graph has no answer from it. A shard's step returns None when it
cannot answer at once (not open yet, the generation not loaded, an error); then it alone is asked the
plain way. When the graph itself fails (an actor died: Ray shuts the graph down; no answer within
``WAIT_SECONDS``), it is given up for every question waiting on it, which ask every shard the plain
way; it is torn down in the background, and a new graph is compiled after ``RETRY_SECONDS``. Where
Ray cannot compile one, questions use plain calls only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0  # after a graph failed, plain calls only for this long
IN_FLIGHT = 8  # questions the graph carries at once (more wait their turn)
# how long a question waits for the graph before asking each shard: Ray may take the whole call
# timeout to notice an actor gone, but a question's search takes milliseconds
WAIT_SECONDS = 2.0
# Ray's logs of a graph's teardown (an actor gone: a traceback on stderr); what failed is said here
QUIET = ("ray.dag", "ray.experimental.channel")


class SearchGraph:
    """Every shard's ``search`` in one execution (see the module docstring)."""

    def __init__(self, actors: list[Any], timeout: float) -> None:
        self.actors = actors
        self.timeout = timeout
        self._graph: Any = None
        self._gone: asyncio.Future[None] | None = None  # done when the graph is given up
        self._teardown: threading.Thread | None = None  # the last graph's (a new one waits for it)
        self._next_try = 0.0  # when a graph may be compiled (again)
        self._turns = asyncio.Semaphore(IN_FLIGHT)
        self.compiled = self.answered = self.failed = 0  # graphs compiled, shards' answers, failures
        self.asked = 0  # questions: the first of a process asks each shard (see _ready)
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def _ready(self) -> Any:
        """The compiled graph, compiling it when due; None while there is none. Not for a process's
        first question: compiling takes about 0.3 s, which a one-off ``newsbot ask`` would only lose."""
        self.asked += 1
        if self._graph is not None or time.monotonic() < self._next_try or self.asked < 2:
            return self._graph
        if self._teardown is not None and self._teardown.is_alive():  # (an actor runs one graph)
            return None
        try:
            from ray.dag import InputNode, MultiOutputNode

            with InputNode() as question:
                dag = MultiOutputNode([actor.search_step.bind(question) for actor in self.actors])
            self._graph = dag.experimental_compile(enable_asyncio=True, _max_inflight_executions=IN_FLIGHT)
            self._gone = asyncio.get_running_loop().create_future()
            self.compiled += 1
        except Exception as exc:  # (a Ray client connection, an actor gone: plain calls)
            log.info("cluster: no compiled graph for questions (%s)", type(exc).__name__)
            self._next_try = time.monotonic() + RETRY_SECONDS
        return self._graph

    async def search(self, given: tuple[list[int], Any]) -> list[Any] | None:
        """Each shard's search for ``given`` (each shard's generation number, and the search), None
        for a shard that must be asked the plain way; None: ask every shard so."""
        async with self._turns:
            graph, gone = self._ready(), self._gone
            if graph is None or gone is None:
                return None
            try:
                answers: asyncio.Future[list[Any]] = asyncio.gather(*await graph.execute_async(given))
                either: list[asyncio.Future[Any]] = [answers, gone]
                await asyncio.wait(
                    either, timeout=min(WAIT_SECONDS, self.timeout), return_when="FIRST_COMPLETED"
                )
                if not answers.done():
                    answers.cancel()
                    answers.add_done_callback(_retrieved)
                    raise TimeoutError("given up" if gone.done() else "no answer in time")
                found = list(answers.result())
                self.answered += sum(f is not None for f in found)
                return found
            except Exception as exc:  # (an actor died, a shard does not answer)
                if graph is self._graph:
                    self.failed += 1
                    # (the error's name only: the error would keep the graph alive, past Ray's end)
                    log.warning(
                        "cluster: the compiled graph failed (%s); asking each shard", type(exc).__name__
                    )
                    self.drop()
                return None

    def drop(self) -> None:
        """Give the graph up (torn down in the background); a new one is compiled later."""
        graph, self._graph = self._graph, None
        self._next_try = time.monotonic() + RETRY_SECONDS
        self._give_up()
        if graph is not None:  # (tearing down waits for the actors: never on the event loop)
            self._teardown = threading.Thread(
                target=_teardown, args=(graph,), name="graph-teardown", daemon=True
            )
            self._teardown.start()

    def close(self) -> None:
        """Tear the graph down now, and wait for a graph given up earlier to be torn down: before the
        actors are closed, and before Ray is shut down."""
        graph, self._graph = self._graph, None
        self._next_try = float("inf")
        self._give_up()
        if graph is not None:
            _teardown(graph)
        if self._teardown is not None:
            self._teardown.join()

    def _give_up(self) -> None:
        """Send the questions waiting for the graph to ask each shard instead."""
        gone, self._gone = self._gone, None
        if gone is not None and not gone.done():
            with contextlib.suppress(RuntimeError):  # (its loop closed: no question waits)
                gone.get_loop().call_soon_threadsafe(_finish, gone)


def _retrieved(answers: asyncio.Future[Any]) -> None:
    if not answers.cancelled():
        answers.exception()  # (the answers of a graph given up are not used)


def _finish(gone: asyncio.Future[None]) -> None:
    if not gone.done():
        gone.set_result(None)


def _teardown(graph: Any) -> None:
    try:
        graph.teardown()
    except Exception as exc:  # (an actor already gone)
        log.info("cluster: tearing the compiled graph down: %s", type(exc).__name__)
