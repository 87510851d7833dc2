"""How the coordinator reaches its shards: in this process (:class:`LocalShards`, for tests and a
single machine), or as Ray actors (``ray_shards.py``). Both call a ``shard.Shard``'s methods by name
with plain values."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, Protocol

from newsbot.index.cluster.shard import Asked, Shard
from newsbot.index.config import Settings
from newsbot.index.errors import NewsbotError, ShardUnavailable
from newsbot.index.ingest.sources import SourceFile
from newsbot.index.ingest.workers import Progress, Reading, read_parts
from newsbot.index.tokenizer import TokenizerSpec

PART_FILES = 2000  # files a reindex reads before it hands their articles to the shards


class Shards(Protocol):
    count: int

    async def call(self, shard: int, method: str, *args: Any) -> Any:
        """Shard ``shard``'s ``method(*args)``; raises ShardUnavailable when it cannot answer."""
        ...

    async def search(self, numbers: list[int], asked: Asked) -> list[Any] | None:
        """Every shard's ``search(numbers[i], asked)`` at once in one step, where the transport has
        one (Ray's compiled graph). None for a shard, or instead of the list, where a shard must be
        asked by :meth:`call`."""
        ...

    async def nodes(self) -> list[str]:
        """The node each shard runs on (shards of one node build in turn: ``steps.waves``)."""
        ...

    async def reconnect(self) -> None:
        """Called when no shard answered a question: start afresh on the next call."""
        ...

    def parse(
        self, sources: list[SourceFile], spec: TokenizerSpec, progress: Progress
    ) -> AsyncGenerator[Reading, None]:
        """Read, parse and tokenize ``sources`` (for a reindex), as ``workers.read_all`` does, a part
        (about ``PART_FILES`` files, in order) at a time."""
        ...

    async def close(self) -> None: ...


async def each(shards: Shards, method: str, *args: Any) -> list[Any]:
    """Every shard's ``method(*args)``, at once; raises the first ShardUnavailable."""
    return list(await asyncio.gather(*(shards.call(i, method, *args) for i in range(shards.count))))


async def each_of(shards: Shards, method: str, per_shard: list[tuple[Any, ...]]) -> list[Any]:
    """Shard i's ``method(*per_shard[i])``, all at once."""
    calls = (shards.call(i, method, *args) for i, args in enumerate(per_shard))
    return list(await asyncio.gather(*calls))


class LocalShards:
    """Shards in this process (the coordinator awaits their methods directly)."""

    def __init__(self, settings: Settings, count: int) -> None:
        self.count = count
        self.shards = [Shard(settings, i, count) for i in range(count)]

    async def call(self, shard: int, method: str, *args: Any) -> Any:
        try:
            return await getattr(self.shards[shard], method)(*args)
        except NewsbotError:
            raise
        except Exception as exc:  # what a shard's process dying would look like over Ray
            raise ShardUnavailable(shard, f"{type(exc).__name__}: {exc}") from exc

    async def search(self, numbers: list[int], asked: Asked) -> list[Any] | None:
        return None  # (a call here is as quick)

    async def nodes(self) -> list[str]:
        return ["this process"] * self.count

    async def reconnect(self) -> None:
        return None  # nothing between here and the shards to lose

    async def parse(
        self, sources: list[SourceFile], spec: TokenizerSpec, progress: Progress
    ) -> AsyncGenerator[Reading, None]:
        parts = read_parts(sources, spec, progress, PART_FILES)  # (on every core here)
        try:
            while (part := await asyncio.to_thread(next, parts, None)) is not None:
                yield part
        finally:
            await asyncio.to_thread(parts.close)

    async def close(self) -> None:
        for shard in self.shards:
            await shard.close()
