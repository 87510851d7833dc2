"""Answering over a cluster: an :class:`~newsbot.index.answer.source.Source` that asks every shard
at one cluster generation and merges (``ranking/merge.py``), so that an answer is the one a single
index of all the articles gives.

Articles are named to answering by a cluster-wide number, ``id * shards + shard`` (a shard's store
numbers its own), so that the per-article cap and the row look-ups find the right shard.

A shard that does not answer (its actor died and is restarting, its node is gone) is left out for the
rest of the question, and :meth:`ClusterSource.gap` says so, for the answer's note: the other shards'
passages keep their scores (every shard weighs with the whole cluster's statistics). When no shard
answers, the question fails with :class:`ClusterUnavailable`, and the next one joins the cluster
afresh (``Shards.reconnect``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import Counter
from typing import Any

from newsbot.index.answer.source import Passage
from newsbot.index.cluster.shard import Asked
from newsbot.index.cluster.stats import cluster_id, located
from newsbot.index.cluster.transport import Shards
from newsbot.index.errors import ClusterUnavailable, ShardUnavailable
from newsbot.index.ranking.merge import kept, merge
from newsbot.index.ranking.params import PRESELECT, RankParams, Window
from newsbot.index.ranking.shard import Candidates
from newsbot.index.store.queries import ParagraphKey, ParagraphRow

log = logging.getLogger(__name__)


class ClusterSource:
    def __init__(self, shards: Shards, numbers: list[int]) -> None:
        self.shards = shards
        self.numbers = numbers  # each shard's generation
        self.down: dict[int, ShardUnavailable] = {}  # the shards that did not answer this question
        self._expected: tuple[list[str], Window, RankParams, int, int] | None = None
        self._searched: tuple[list[str], list[Candidates | None]] | None = None  # (words, each shard's)
        self._rows: dict[ParagraphKey, ParagraphRow] = {}  # rows that came with the candidates

    def expect(self, terms: list[str], window: Window, params: RankParams, limit: int, rows: int) -> None:
        self._expected = (terms, window, params, limit, rows)

    def gap(self, what: str = "passages") -> str | None:
        """What the answer is missing, said for users (None when every shard answered)."""
        if not self.down:
            return None
        named = ", ".join(str(s) for s in sorted(self.down))
        which = f"shard{'s' if len(self.down) > 1 else ''} {named} of {self.shards.count}"
        return (
            f"Part of the archive is not answering right now ({which}), so this answer may be missing"
            f" {what} from it; ask again in a minute."
        )

    async def _call(self, shard: int, method: str, *args: Any) -> Any:
        """Shard ``shard``'s answer, or None when it is (or has just gone) down."""
        if shard in self.down:
            return None
        try:
            return await self.shards.call(shard, method, *args)
        except ShardUnavailable as exc:
            log.warning("cluster: answering without %s", exc)
            self.down[shard] = exc
            return None

    async def each(
        self, method: str, per_shard: list[tuple[Any, ...]], have: list[Any] | None = None
    ) -> list[Any]:
        """Every shard's ``method(*per_shard[i])`` at once (but where ``have`` holds its answer
        already); None from those that are down."""
        out = list(have or [None] * len(per_shard))
        asked = [i for i, got in enumerate(out) if got is None]
        if asked:
            found = await asyncio.gather(*(self._call(i, method, *per_shard[i]) for i in asked))
            for i, got in zip(asked, found, strict=True):
                out[i] = got
        if len(self.down) == self.shards.count:  # the cluster may be gone: join it afresh next time
            await self.shards.reconnect()
            raise ClusterUnavailable(str(next(iter(self.down.values()))))
        return out

    async def term_use(self, terms: list[str]) -> dict[str, int]:
        expected = self._expected
        if expected is not None and expected[0] == terms:  # the question's: rank it in the same call
            return await self._search(*expected)
        per = [(n, terms) for n in self.numbers]
        total: Counter[str] = Counter()
        for use in await self.each("term_use", per):
            total.update(use or {})
        return dict(total)

    async def _search(
        self, terms: list[str], window: Window, params: RankParams, limit: int, rows: int
    ) -> dict[str, int]:
        """Every shard's use of ``terms``, candidates and best rows (Shard.search): all in one step
        where the transport has one (Ray's compiled graph), else, and for any shard it left out, in
        one call each."""
        asked = Asked(terms, window, params, rows, kept(self.shards.count))
        at_once = await self.shards.search(self.numbers, asked)
        found = await self.each("search", [(n, asked) for n in self.numbers], at_once)
        total: Counter[str] = Counter()
        count = self.shards.count
        for s, part in enumerate(found):
            if part is not None:
                total.update(part[0])
                for (article, position), row in part[2].items():
                    key = (cluster_id(article, s, count), position)
                    self._rows[key] = dataclasses.replace(row, article_id=key[0])
        words = [t for t in terms if total.get(t)]  # (what rank is asked for next)
        self._searched = (words, [None if part is None else part[1] for part in found])
        return dict(total)

    async def rank(self, terms: list[str], window: Window, params: RankParams, limit: int) -> list[Passage]:
        found = self._searched_for(terms, window, params, limit)
        count = self.shards.count
        cut = [kept(count)] * count
        if found is None:
            per = [(n, terms, window, params, cut[0]) for n in self.numbers]
            found = await self.each("candidates", per)
        parts = [Candidates.empty() if p is None else p for p in found]
        merged = merge(parts, limit, cut=cut)
        if merged.short:  # (rare: those shards' full preselection, and the merge again)
            asks = (
                self._call(i, "candidates", self.numbers[i], terms, window, params, PRESELECT)
                for i in merged.short
            )
            more = await asyncio.gather(*asks)
            for i, part in zip(merged.short, more, strict=True):
                parts[i], cut[i] = Candidates.empty() if part is None else part, PRESELECT
            merged = merge(parts, limit, cut=cut)
        out = []
        for s, r, score in zip(
            merged.shard.tolist(), merged.row.tolist(), merged.score.tolist(), strict=True
        ):
            part = parts[s]
            article = cluster_id(int(part.article[r]), s, count)
            out.append(Passage(article, int(part.position[r]), score, bool(part.headline[r])))
        return out

    def _searched_for(
        self, terms: list[str], window: Window, params: RankParams, limit: int
    ) -> list[Candidates | None] | None:
        """The candidates the search brought, if this is the ranking it was for (taken once)."""
        searched, self._searched = self._searched, None
        expected = self._expected
        if searched is None or expected is None or searched[0] != terms:
            return None
        return searched[1] if expected[1:4] == (window, params, limit) else None

    async def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]:
        count = self.shards.count
        out = {key: self._rows[key] for key in keys if key in self._rows}
        by_shard: list[list[ParagraphKey]] = [[] for _ in range(count)]
        for article, position in (key for key in keys if key not in out):
            shard, local = located(article, count)
            by_shard[shard].append((local, position))
        asked = [s for s in range(count) if by_shard[s]]  # (most pages come from a few shards)
        found = await asyncio.gather(*(self._call(s, "paragraph_rows", by_shard[s]) for s in asked))
        for s, rows in zip(asked, found, strict=True):
            for (article, position), row in (rows or {}).items():
                key = (cluster_id(article, s, count), position)
                out[key] = dataclasses.replace(row, article_id=key[0])
        return out
