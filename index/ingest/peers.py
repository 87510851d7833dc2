"""What a reindex of one shard of a cluster agrees on with the others (``newsbot.index.cluster``).

A shard keeps only the articles routed to it, builds only when some shard changed, weighs its
postings with the statistics of every shard summed, and commits only once every shard has written
its new generation: the cluster moves from one generation to the next as a whole, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from newsbot.index.ingest.build import CorpusStats


class Peers(Protocol):
    def keeps(self, text_hash: str) -> bool:
        """Whether this shard keeps the article with this text hash."""
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
