"""A news index whose articles are spread over shards: the same interface as
:class:`~newsbot.index.api.NewsIndex`, so the CLI and the bot run on it unchanged.

The coordinator's own database keeps what is not articles (the question log, follows, feeds) and
the cluster's generation: each shard's generation number, named together (meta ``cluster``) once
every shard has committed its part of a reindex. Questions are asked of every shard at those
numbers, so an answer never mixes two reindexes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from newsbot.index.api import MAX_TOPIC_CHARS, NewsIndex, ProgressCallback
from newsbot.index.cluster import reading, steps
from newsbot.index.cluster.follows import ClusterFollowBook, pull_arrivals
from newsbot.index.cluster.source import ClusterSource
from newsbot.index.cluster.stats import cluster_id, located, total
from newsbot.index.cluster.transport import Shards, each, each_of
from newsbot.index.config import Settings
from newsbot.index.errors import IndexingError, NewsbotError, NoIndexError, StoreError
from newsbot.index.generation import Generation
from newsbot.index.ingest.lock import writer_lock
from newsbot.index.ingest.peers import Peers
from newsbot.index.model import IndexReport, Stats, Stories, Story

CLUSTER = "cluster"  # meta: the cluster's generation, {"number": N, "shards": [each shard's]}


class ClusterIndex(NewsIndex):
    """See the module docstring. Open with :meth:`open_cluster`."""

    shards: Shards
    numbers: list[int]  # each shard's generation in the cluster's current one (all 0: none)
    cluster_number: int
    _moved: int = 0  # in the running reindex: articles whose new text went to another shard

    @classmethod
    async def open_cluster(cls, settings: Settings, shards: Shards, **options: Any) -> ClusterIndex:
        index = await cls.open(settings, compiled=False, **options)
        assert isinstance(index, ClusterIndex)
        index.shards = shards
        index.numbers, index.cluster_number = [0] * shards.count, 0
        index._follows = ClusterFollowBook(index.database, index._stories, CLUSTER)
        try:
            await each(shards, "open")
            await index._load_numbers()
        except BaseException:
            await index.close()
            raise
        return index

    async def close(self) -> None:
        shards = getattr(self, "shards", None)
        if shards is not None:
            await shards.close()
        await super().close()

    async def _load_numbers(self) -> None:
        """The cluster generation named in meta, or none yet."""
        text = await self.store.get_meta(CLUSTER)
        if not text:
            return
        value = json.loads(text)
        numbers = [int(n) for n in value["shards"]]
        if len(numbers) == self.shards.count:
            for i, n in enumerate(numbers):
                await self.shards.call(i, "hold", [n])
            self.numbers, self.cluster_number = numbers, int(value["number"])

    # --- what NewsIndex serves from its own generation ------------------------------------------
    @property
    def is_empty(self) -> bool:
        return self.cluster_number == 0

    @property
    def damage(self) -> str | None:
        return None

    async def current_generation(self) -> Generation:
        raise NoIndexError("a cluster has no single generation")

    async def check_serving(self) -> None:
        self._serving_numbers()

    async def refresh(self, force: bool = False) -> None:
        if getattr(self, "shards", None) is not None:
            await self._load_numbers()

    def _serving_numbers(self) -> list[int]:
        if self.cluster_number == 0:
            raise NoIndexError("nothing has been indexed yet: run newsbot index")
        return self.numbers

    # --- asking ----------------------------------------------------------------------------
    async def _source(self) -> ClusterSource:
        return ClusterSource(self.shards, self._serving_numbers())

    async def latest(
        self,
        n: int = 5,
        *,
        topic: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> Stories:
        source = ClusterSource(self.shards, self._serving_numbers())
        n = max(1, min(n, 25))
        per = [(number, n, topic, since, until) for number in source.numbers]
        parts = await source.each("latest", per)
        stories = [s for part in parts if part for s in part]
        stories.sort(key=lambda s: (s.date is None, -(s.date.toordinal() if s.date else 0), -s.key))
        return Stories(stories[:n], note=source.gap("stories"))

    async def stats(self) -> Stats:
        own = await self.queries.stats(self.cluster_number)
        source = ClusterSource(self.shards, self.numbers)
        parts = [p for p in await source.each("stats", [(n,) for n in self.numbers]) if p is not None]
        newest = max((p.newest for p in parts if p.newest), default=None)
        built = max((p.built_at for p in parts if p.built_at), default=None)
        return Stats(
            articles=sum(p.articles for p in parts),
            paragraphs=sum(p.paragraphs for p in parts),
            newest=newest,
            built_at=built,
            generation=self.cluster_number,
            questions=own.questions,
            unanswered=own.unanswered,
            top_unanswered=own.top_unanswered,
            feedback_up=own.feedback_up,
            feedback_down=own.feedback_down,
            note=source.gap("articles"),
        )

    # --- following new stories (cluster/follows.py) ---------------------------------------------
    async def _stories(self, article_ids: list[int]) -> dict[int, Story]:
        count = self.shards.count
        by_shard: list[list[int]] = [[] for _ in range(count)]
        for article in article_ids:
            shard, local = located(article, count)
            by_shard[shard].append(local)
        asked = [s for s in range(count) if by_shard[s]]
        found = await asyncio.gather(*(self.shards.call(s, "stories", by_shard[s]) for s in asked))
        out: dict[int, Story] = {}
        for s, part in zip(asked, found, strict=True):
            for local, story in part.items():
                article = cluster_id(local, s, count)
                out[article] = dataclasses.replace(story, article_id=article)
        return out

    async def _topic_articles(self, number: int, topic: str) -> set[int]:
        if number != self.cluster_number:
            await self._load_numbers()
        if number != self.cluster_number:
            raise StoreError("the index changed while announcing new stories; trying again later")
        per = [(n, topic[:MAX_TOPIC_CHARS]) for n in self.numbers]
        parts = await each_of(self.shards, "topic_articles", per)
        count = self.shards.count
        return {cluster_id(a, s, count) for s, part in enumerate(parts) for a in part}

    # --- reindexing ------------------------------------------------------------------------
    async def _reindex(
        self,
        scan: list[Path],
        progress: ProgressCallback | None,
        forget: list[Path] | None,
        peers: Peers | None = None,
    ) -> IndexReport:
        with writer_lock(self.database):
            self._moved = 0
            reports, built = await self._steps(scan, forget, progress or _quiet)
            report = _joined(reports)
            # an article whose file changed and whose new text went to another shard: changed
            report.added, report.removed = report.added - self._moved, report.removed - self._moved
            report.changed += self._moved
            report.generation = self.cluster_number
            if built:
                self.cluster_number += 1
                report.generation = self.cluster_number
                numbers = [r.generation for r in reports]
                await self.store.set_meta(
                    CLUSTER, json.dumps({"number": self.cluster_number, "shards": numbers})
                )
                await pull_arrivals(self.store, self.shards)
            return report

    async def _steps(
        self, scan: list[Path], forget: list[Path] | None, progress: ProgressCallback
    ) -> tuple[list[IndexReport], bool]:
        """Drive every shard's reindex to the end together (steps.py), or call all of them off.
        Returns the shards' reports and whether they built a new generation."""
        built = False
        count = self.shards.count
        try:
            progress("scan", 0, 0)
            messages = await each(self.shards, "begin", scan, forget)
            waves: list[list[int]] = []
            while True:
                failed = [(i, m) for i, m in enumerate(messages) if m.kind == "failed"]
                if failed:
                    raise steps.failure(*failed[0])
                asks = {i: m.value for i, m in enumerate(messages) if m.kind == "read"}
                if asks:  # (the others wait at their next step meanwhile)
                    answers = await self._read(asks, progress)
                    messages = [answers.get(i, m) for i, m in enumerate(messages)]
                    continue
                kinds = {m.kind for m in messages}
                if kinds == {"done"}:
                    return [m.value for m in messages], built
                waves = waves or steps.waves(await self.shards.nodes())
                if kinds == {"changed"}:  # every shard has read the files; now they store them
                    built = any(m.value for m in messages)
                    progress("parse", count, count)
                    messages = await self._in_turn(messages, built, waves)
                elif kinds == {"stats"}:  # ... and stored its articles; now they weigh with the sums
                    progress("build", 0, count)
                    totals = total([m.value for m in messages])
                    messages = await self._in_turn(messages, totals, waves, progress)
                elif kinds == {"ready"}:  # ... and wrote its generation; now all of them publish
                    messages = await each(self.shards, "step", True)
                else:
                    raise steps.failure(0, steps.Message("failed", f"the shards disagree ({sorted(kinds)})"))
        except BaseException as exc:
            for i in range(self.shards.count):
                with contextlib.suppress(Exception):  # a shard gone rolls back by itself
                    await self.shards.call(i, "abort")
            if isinstance(exc, NewsbotError) and not isinstance(exc, IndexingError):
                raise IndexingError(f"{exc}; the previous index is still serving") from None
            raise

    async def _in_turn(
        self,
        messages: list[steps.Message],
        reply: object,
        waves: list[list[int]],
        building: ProgressCallback | None = None,
    ) -> list[steps.Message]:
        """Give every shard ``reply``, a wave at a time (steps.waves: shards that share a node store
        and build one after another, within its memory); returns their next messages. ``building``:
        told how many shards have built after each wave."""
        out, done = list(messages), 0
        for wave in waves:
            got = await asyncio.gather(*(self.shards.call(i, "step", reply) for i in wave))
            for i, message in zip(wave, got, strict=True):
                if message.kind == "failed":  # (the next waves are not started)
                    raise steps.failure(i, message)
                out[i] = message
            done += len(wave)
            if building is not None:
                building("build", done, len(messages))
        return out

    async def _read(
        self, asks: dict[int, reading.Ask], progress: ProgressCallback
    ) -> dict[int, steps.Message]:
        """Read the files the shards asked for once, a part at a time, and give each shard its
        articles in each part before the next is read; returns the asking shards' next messages."""
        router = reading.Router(asks, self.shards.count)
        spec = next(iter(asks.values()))[1]
        parts = self.shards.parse(reading.union(asks), spec, progress)
        async with contextlib.aclosing(parts):  # (the reading stops at once when a shard fails)
            async for part in parts:
                routed = router.route(part)
                del part
                asked = list(routed)
                acks = await asyncio.gather(*(self.shards.call(i, "step", routed.pop(i)) for i in asked))
                for i, ack in zip(asked, acks, strict=True):
                    if ack.kind != "more":
                        wrong = ack if ack.kind == "failed" else steps.Message("failed", ack.kind)
                        raise steps.failure(i, wrong)
        self._moved += router.moved
        answers = await asyncio.gather(*(self.shards.call(i, "step", reading.END) for i in asks))
        return dict(zip(asks, answers, strict=True))


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def _joined(reports: list[IndexReport]) -> IndexReport:
    """The shards' reports as one (files a shard skipped are the same for every shard: once)."""
    out = IndexReport()
    for r in reports:
        for name in ("added", "changed", "removed", "duplicates", "articles", "paragraphs", "retokenized"):
            setattr(out, name, getattr(out, name) + getattr(r, name))
        out.seconds = max(out.seconds, r.seconds)
        out.published = out.published or r.published
        out.generation = max(out.generation, r.generation)
    out.unchanged = sum(r.unchanged for r in reports)  # (each shard counts the files of its articles)
    seen: set[tuple[str, str]] = set()
    for r in reports:
        for name in ("skipped", "warnings"):
            for s in getattr(r, name):
                if (s.path, s.reason) not in seen:
                    seen.add((s.path, s.reason))
                    getattr(out, name).append(s)
    return out
