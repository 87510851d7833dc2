"""One shard of a cluster: an ordinary newsbot index over the articles routed to it.

A :class:`Shard` is what a Ray actor holds (``ray_shards.py``), or, in one process, what the
coordinator calls directly (``local.py``): the same methods either way, each a plain value in and
out. It serves the generation the coordinator names (every shard is asked at the same cluster
generation), and reindexes in steps the coordinator drives (``steps.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsbot.index.answer import answering, notes
from newsbot.index.api import NewsIndex
from newsbot.index.cluster.steps import Message, Steps
from newsbot.index.config import Settings
from newsbot.index.errors import NoIndexError
from newsbot.index.generation import Generation
from newsbot.index.model import Stats, Story
from newsbot.index.ranking import compiled
from newsbot.index.ranking.params import PRESELECT, RankParams, Window
from newsbot.index.ranking.shard import Candidates, candidates
from newsbot.index.store import generations, stories
from newsbot.index.store.queries import ParagraphKey, ParagraphRow
from newsbot.index.store.reader import Reader

KEPT_TERM_IDS = 100_000  # term ids a shard keeps (_term_ids); past this, they are forgotten at once


Searched = tuple[dict[str, int], Candidates, dict[ParagraphKey, ParagraphRow]]
"""What :meth:`Shard.search` returns: the words' use, the candidates, the best candidates' rows."""


@dataclass(frozen=True, slots=True)
class Asked:
    """A question's search as every shard is asked it (:meth:`Shard.search`): its words, window and
    weights, how many of the best candidates' rows to send, and the preselection's cut
    (``merge.kept``)."""

    terms: list[str]
    window: Window
    params: RankParams
    rows: int
    preselect: int = PRESELECT


def shard_database(database: Path, shard: int, shards: int) -> Path:
    """Where shard ``shard`` of ``shards`` keeps its store (beside the coordinator's database)."""
    return database.with_name(f"{database.name}.shards") / f"{shard:03d}-of-{shards:03d}.db"


def shard_settings(settings: Settings, shard: int, shards: int) -> Settings:
    path = shard_database(settings.database, shard, shards)
    return dataclasses.replace(settings, store=dataclasses.replace(settings.store, database=str(path)))


def process_memory() -> dict[str, float]:
    """This process's id and memory in MB, now (``rss_mb``) and at its peak (``peak_mb``); on Linux
    (elsewhere, the id only)."""
    out = {"pid": float(os.getpid())}
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out["rss_mb" if name == "VmRSS" else "peak_mb"] = int(value.split()[0]) / 1024
    return out


class Shard:
    """Shard ``number`` of ``shards``, over its own database (see the module docstring)."""

    def __init__(self, settings: Settings, number: int, shards: int) -> None:
        self.number, self.shards = number, shards
        self.settings = shard_settings(settings, number, shards)
        self.index: NewsIndex | None = None
        self._held: dict[int, Generation] = {}  # the generations a question may name
        self._steps: Steps | None = None
        self._ids: dict[str, int] = {}  # term ids found (_term_ids)
        self.reader = Reader(self.settings.database)  # a search's queries, on any thread

    async def open(self) -> int:
        """Open the shard's store; returns the generation it serves (0: none yet)."""
        self.settings.database.parent.mkdir(parents=True, exist_ok=True)
        self.index = await NewsIndex.open(self.settings)  # the compiled ranking loads (index.compiled)
        return await self.current()

    async def compiled_ready(self, seconds: float | None = None) -> bool:
        """Wait up to ``seconds`` for the compiled ranking to load; whether it ranks (benchmarks wait
        for it; answers are the same either way)."""
        return await asyncio.to_thread(compiled.wait, seconds)

    async def process(self) -> dict[str, float]:
        """This shard's process: its id and memory in MB, now (VmRSS) and at its peak (VmHWM)."""
        return process_memory()

    async def close(self) -> None:
        if self._steps is not None:
            await self._steps.abort()
        index, self.index = self.index, None
        self.reader.close()  # (first: the last connection to close tidies the -wal and -shm)
        if index is not None:
            await index.close()

    def _open(self) -> NewsIndex:
        if self.index is None:
            raise RuntimeError("the shard is not open")
        return self.index

    async def current(self) -> int:
        """The number of the generation this shard has published (0: none)."""
        index = self._open()
        await index.refresh(force=True)
        gen = index.generation
        if gen is not None:
            self._held[gen.number] = gen
        return 0 if gen is None else gen.number

    async def _generation(self, number: int) -> Generation | None:
        """Generation ``number`` (None for 0: the shard holds nothing yet)."""
        if number == 0:
            return None
        gen = self._held.get(number)
        if gen is None:
            gen = await generations.load(self.settings.database, number)
            self._held[number] = gen
        return gen

    async def hold(self, numbers: list[int]) -> None:
        """Keep only these generations loaded (the cluster's current one, and the next)."""
        for n in numbers:
            await self._generation(n)
        for n in list(self._held):
            if n not in numbers:
                del self._held[n]

    # --- answering -------------------------------------------------------------------------
    def _term_ids(self, terms: list[str]) -> dict[str, int]:
        """The ids of those of ``terms`` the vocabulary holds. The vocabulary only grows and an id never
        changes, so the ids found are kept (words not found are asked again: a reindex may add them).
        Any thread may call this: the kept ids are replaced, never cleared under another's feet."""
        ids = self._ids
        missing = [t for t in dict.fromkeys(terms) if t not in ids]
        if missing:
            found = self.reader.term_ids(missing)
            if len(ids) + len(found) > KEPT_TERM_IDS:
                self._ids = ids = {}
            ids.update(found)
        return {t: ids[t] for t in terms if t in ids}

    def _candidates(
        self, gen: Generation, terms: list[str], window: Window, params: RankParams, preselect: int
    ) -> Candidates:
        ids = self._term_ids(terms)
        return candidates(gen, [ids[t] for t in terms if t in ids], window, params, preselect)

    async def term_use(self, number: int, terms: list[str]) -> dict[str, int]:
        gen = await self._generation(number)
        if gen is None:
            return {}
        return notes.term_use(gen, await asyncio.to_thread(self._term_ids, terms))

    async def candidates(
        self, number: int, terms: list[str], window: Window, params: RankParams, preselect: int = PRESELECT
    ) -> Candidates:
        gen = await self._generation(number)
        if gen is None:
            return Candidates.empty()
        return await asyncio.to_thread(self._candidates, gen, terms, window, params, preselect)

    async def search(self, number: int, asked: Asked) -> Searched:
        """``term_use`` and ``candidates`` in one call, ranking the words some paragraph or title here
        holds (a word none holds adds nothing), with the rows of the ``asked.rows`` best candidates."""
        gen = await self._generation(number)
        return await asyncio.to_thread(self._search, gen, asked)

    def search_now(self, number: int, asked: Asked) -> Searched | None:
        """:meth:`search` on the calling thread, with no event loop (a Ray actor answers on its own
        threads); None when generation ``number`` is not loaded here (:meth:`search` loads it)."""
        gen = self._held.get(number)
        if gen is None and number:
            return None
        return self._search(gen, asked)

    def _search(self, gen: Generation | None, asked: Asked) -> Searched:
        self._open()  # (a closed shard answers nothing)
        if gen is None:
            return {}, Candidates.empty(), {}
        terms, rows = asked.terms, asked.rows
        use = notes.term_use(gen, self._term_ids(terms))
        found = self._candidates(
            gen, [t for t in terms if use.get(t)], asked.window, asked.params, asked.preselect
        )
        best = np.argsort(-found.final, kind="stable")[:rows]
        keys = [(int(found.article[r]), int(found.position[r])) for r in best.tolist()]
        return use, found, self.reader.paragraph_rows(keys) if keys else {}

    async def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]:
        self._open()
        return await asyncio.to_thread(self.reader.paragraph_rows, keys)

    async def latest(
        self, number: int, n: int, topic: str | None, since: dt.date | None, until: dt.date | None
    ) -> list[Story]:
        index = self._open()
        if await self._generation(number) is None:
            return []
        try:
            return await index.latest(n, topic=topic, since=since, until=until)
        except NoIndexError:
            return []

    async def stats(self, number: int) -> Stats:
        return await self._open().queries.stats(number)

    # --- following new stories (cluster/follows.py) ---------------------------------------------
    async def arrivals(self, since: int) -> list[tuple[int, str, int]]:
        """The articles that arrived here after arrival ``since``: (number, text key, article id)."""
        rows = await self._open().store.rows(
            "SELECT seq, text_key, article_id FROM arrivals WHERE seq > ? ORDER BY seq", (since,)
        )
        return [(int(seq), str(key), int(article)) for seq, key, article in rows]

    async def stories(self, article_ids: list[int]) -> dict[int, Story]:
        """Those of ``article_ids`` this shard holds, as stories."""
        out: dict[int, Story] = {}
        store = self._open().store
        for i in range(0, len(article_ids), 500):
            part = article_ids[i : i + 500]
            rows = await store.rows(f"{stories.SELECT} WHERE a.id IN ({','.join('?' * len(part))})", part)
            out.update((int(r[0]), stories.story(r)) for r in rows)
        return out

    async def topic_articles(self, number: int, topic: str) -> list[int]:
        """The articles of generation ``number`` about ``topic`` (as /latest finds them)."""
        gen = await self._generation(number)
        if gen is None:
            return []
        index = self._open()
        return await answering.topic_articles(index.queries, gen, index.tokenizer, topic)

    # --- reindexing, in steps the coordinator drives ------------------------------------------
    async def begin(self, folders: list[Path], forget: list[Path] | None) -> Message:
        """Start this shard's part of a cluster reindex; returns its first message (steps.py)."""
        if self._steps is not None:
            await self._steps.abort()
        self._steps = Steps(self._open(), self.number, self.shards)
        return await self._steps.begin(folders, forget)

    async def abort(self) -> None:
        """Call this shard's reindex off, if one runs (it rolls back)."""
        steps, self._steps = self._steps, None
        if steps is not None:
            await steps.abort()

    async def step(self, reply: object) -> Message:
        """Answer the shard's last message; returns its next one."""
        if self._steps is None:
            return Message("failed", "no reindex is running on this shard")
        message = await self._steps.step(reply)
        if message.kind in ("done", "failed"):
            self._steps = None
        return message
