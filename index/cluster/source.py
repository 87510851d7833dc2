"""Answering over a cluster: an :class:`~newsbot.index.answer.source.Source` that asks every shard
at one cluster generation and merges (``ranking/merge.py``), so that an answer is the one a single
index of all the articles gives.

Articles are named to answering by a cluster-wide number, ``id * shards + shard`` (a shard's store
numbers its own), so that the per-article cap and the row look-ups find the right shard.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

from newsbot.index.answer.source import Passage
from newsbot.index.cluster.transport import Shards, each_of
from newsbot.index.ranking.merge import merge
from newsbot.index.ranking.params import RankParams, Window
from newsbot.index.ranking.shard import Candidates
from newsbot.index.store.queries import ParagraphKey, ParagraphRow


class ClusterSource:
    def __init__(self, shards: Shards, numbers: list[int]) -> None:
        self.shards = shards
        self.numbers = numbers  # each shard's generation

    async def term_use(self, terms: list[str]) -> dict[str, int]:
        per = [(n, terms) for n in self.numbers]
        total: Counter[str] = Counter()
        for use in await each_of(self.shards, "term_use", per):
            total.update(use)
        return dict(total)

    async def rank(self, terms: list[str], window: Window, params: RankParams, limit: int) -> list[Passage]:
        per = [(n, terms, window, params) for n in self.numbers]
        parts: list[Candidates] = await each_of(self.shards, "candidates", per)
        merged = merge(parts, limit)
        count = self.shards.count
        out = []
        for s, r, score in zip(
            merged.shard.tolist(), merged.row.tolist(), merged.score.tolist(), strict=True
        ):
            part = parts[s]
            article = int(part.article[r]) * count + s
            out.append(Passage(article, int(part.position[r]), score, bool(part.headline[r])))
        return out

    async def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]:
        count = self.shards.count
        by_shard: list[list[ParagraphKey]] = [[] for _ in range(count)]
        for article, position in keys:
            by_shard[article % count].append((article // count, position))
        asked = [s for s in range(count) if by_shard[s]]  # (most pages come from a few shards)
        found = await asyncio.gather(*(self.shards.call(s, "paragraph_rows", by_shard[s]) for s in asked))
        out: dict[ParagraphKey, ParagraphRow] = {}
        for s, rows in zip(asked, found, strict=True):
            for (article, position), row in rows.items():
                key = (article * count + s, position)
                out[key] = dataclasses.replace(row, article_id=key[0])
        return out
