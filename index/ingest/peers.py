"""What a reindex of one shard of a cluster agrees on with the others (``newsbot.index.cluster``).

A shard's new and changed files are read once for the whole cluster, and it keeps only the articles
routed to it; it builds only when some shard changed, weighs its
postings with the statistics of every shard summed, and commits only once every shard has written
its new generation: the cluster moves from one generation to the next as a whole, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from newsbot.index.ingest.build import CorpusStats
from newsbot.index.ingest.plan import Key
from newsbot.index.ingest.sources import SourceFile
from newsbot.index.ingest.workers import Reading
from newsbot.index.tokenizer import TokenizerSpec


class Peers(Protocol):
    async def read(
        self, sources: list[SourceFile], spec: TokenizerSpec, held: list[Key]
    ) -> tuple[Reading, list[SourceFile]]:
        """This shard's articles in ``sources`` (read once for the whole cluster, in the order given),
        and those of ``sources`` whose articles are all other shards'. ``held``: the articles this
        shard stores from those files (one that moves to another shard is counted as changed)."""
        ...

    async def changed(self, changed: bool) -> bool:
        """Say whether this shard's articles changed; returns whether any shard's did (then every
        shard builds a new generation, weighed anew)."""
        ...

    async def corpus(self, own: CorpusStats, vocabulary: Sequence[str]) -> CorpusStats:
        """Trade this shard's statistics (``vocabulary[i]``: term id i's word) for every shard's
        summed, by this shard's term ids."""
        ...

    async def agree(self, number: int) -> None:
        """Say this shard's generation ``number`` is written; returns once every shard's is (it then
        commits), raises when the cluster's reindex failed (it then rolls back)."""
        ...
