"""A shard's reindex as steps the coordinator drives: the shard's side of ``ingest/peers.py``.

The shard's reindex runs as a task; each time it must agree with the other shards it sends a
:class:`Message` and waits for the coordinator's reply:

- ``read`` (the files it needs read, its tokenizer, the articles it stores from them): replies: its
  articles in them, a part at a time (``reading.Part``, each answered ``more``), then ``reading.END``;
  asked before ``changed``, and again by a shard whose articles' citations need more files.
- ``changed`` (bool): whether its articles changed; reply: whether any shard's did.
- ``stats`` (``TermStats``): its statistics; reply: every shard's summed (``Totals``).
- ``ready`` (its new generation's number, written but not committed); reply: True to commit,
  False to roll back.
- ``done`` (``IndexReport``) or ``failed`` (a message for users) ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsbot.index.cluster.reading import END, Part, assemble
from newsbot.index.cluster.stats import Totals, for_shard, term_stats
from newsbot.index.errors import IndexingError, NewsbotError
from newsbot.index.ingest.build import CorpusStats
from newsbot.index.ingest.plan import Key
from newsbot.index.ingest.sources import SourceFile
from newsbot.index.ingest.workers import Reading
from newsbot.index.tokenizer import TokenizerSpec

if TYPE_CHECKING:
    from newsbot.index.api import NewsIndex


@dataclass(frozen=True, slots=True)
class Message:
    kind: str  # read, more, changed, stats, ready, done, failed
    value: Any = None


class _Stop(Exception):
    """The coordinator called the reindex off."""


class Steps:
    """One shard's running reindex (the :class:`~newsbot.index.ingest.peers.Peers` it runs with)."""

    def __init__(self, index: NewsIndex, shard: int, shards: int) -> None:
        self.index, self.shard, self.shards = index, shard, shards
        self._out: asyncio.Queue[Message] = asyncio.Queue()
        self._in: asyncio.Queue[object] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    # --- the coordinator's side ----------------------------------------------------------------
    async def begin(self, folders: list[Path], forget: list[Path] | None) -> Message:
        self._task = asyncio.ensure_future(self._run(folders, forget))
        return await self._out.get()

    async def step(self, reply: object) -> Message:
        await self._in.put(reply)
        return await self._out.get()

    async def abort(self) -> None:
        """Call the reindex off (it rolls back) and wait until it has stopped."""
        await self.index.cancel_reindex()  # (it runs shielded from the task that awaits it)
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _run(self, folders: list[Path], forget: list[Path] | None) -> None:
        try:
            report = await self.index.reindex(folders, forget=forget, peers=self)
        except _Stop:
            await self._out.put(Message("failed", "the cluster's reindex was called off"))
        except NewsbotError as exc:
            await self._out.put(Message("failed", str(exc)))
        except Exception as exc:  # reported to the coordinator, which says which shard failed
            await self._out.put(Message("failed", f"{type(exc).__name__}: {exc}"))
        else:
            await self._out.put(Message("done", report))

    async def _ask(self, message: Message) -> object:
        await self._out.put(message)
        return await self._in.get()

    # --- the shard's reindex's side (ingest/peers.py) ------------------------------------------
    async def read(
        self, sources: list[SourceFile], spec: TokenizerSpec, held: list[Key]
    ) -> tuple[Reading, list[SourceFile]]:
        parts: list[Part] = []
        reply = await self._ask(Message("read", (sources, spec, held)))
        while isinstance(reply, Part):  # (answered "more" until the last)
            parts.append(reply)
            reply = await self._ask(Message("more"))
        if reply != END:
            raise _Stop()
        return assemble(sources, parts)

    async def changed(self, changed: bool) -> bool:
        return bool(await self._ask(Message("changed", changed)))

    async def corpus(self, own: CorpusStats, vocabulary: Sequence[str]) -> CorpusStats:
        totals = await self._ask(Message("stats", term_stats(own, vocabulary)))
        if not isinstance(totals, Totals):
            raise _Stop()
        return for_shard(totals, vocabulary)

    async def agree(self, number: int) -> None:
        if await self._ask(Message("ready", number)) is not True:
            raise _Stop()


def waves(nodes: list[str]) -> list[list[int]]:
    """The shards (``nodes[i]``: shard i's node) in waves with at most one shard of any node each: the
    coordinator has shards that share a node store and build one after another (their memory peaks
    apart), and shards of different nodes at once."""
    by_node: dict[str, list[int]] = {}
    for shard, node in enumerate(nodes):
        by_node.setdefault(node, []).append(shard)
    depth = max((len(s) for s in by_node.values()), default=0)
    return [[s[k] for s in by_node.values() if k < len(s)] for k in range(depth)]


def failure(shard: int, message: Message) -> IndexingError:
    return IndexingError(f"shard {shard}: {message.value}; the previous index is still serving")
