"""Following new stories: which newly indexed articles each server's follow should announce.

Arrival order comes from the ``arrivals`` table (schema 2), kept by a trigger on ``articles``: each
distinct article text gets the next number when first stored, in whichever process reindexed. A follow
remembers the last arrival it has dealt with (``since_seq``), so the first reindex after following posts
nothing old and a restart repeats nothing; ``announced`` remembers each story a channel was shown (by
link, else title and date), so a story edited or stored twice is not shown twice.

All of it runs on a connection of its own, and one round of announcements is one write transaction:
what it reads is consistent with the generation it matches topics against, and two processes never
announce the same arrival.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsbot.index.errors import GenerationError
from newsbot.index.model import Announcement, Follow, Story
from newsbot.index.store import stories
from newsbot.index.store.database import Store, now_iso
from newsbot.index.store.generations import number_of

NOT_YET = -1  # since_seq of a follow made before anything was indexed: the first index is not news
CHUNK = 500  # SQL variables per query

TopicMatcher = Callable[[int, str], Awaitable[set[int]]]
"""``match(generation, topic)``: the ids of the articles of that generation that match ``topic``."""


@dataclass(frozen=True, slots=True)
class _Arrival:
    seq: int
    article_id: int
    title: str
    date: dt.date | None
    url: str | None

    @property
    def key(self) -> str:
        """What makes two articles the same story for a channel: the link, else title and date."""
        if self.url:
            return "url:" + self.url.strip()
        return f"title:{self.date.isoformat() if self.date else ''}:{' '.join(self.title.split()).casefold()}"


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _newest_first(arrival: _Arrival) -> tuple[bool, dt.date, int]:
    return (arrival.date is not None, arrival.date or dt.date.min, arrival.seq)


class FollowBook:
    """The follows and what each channel was shown, on a connection of their own (opened on first use)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.lock = asyncio.Lock()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("FollowBook used before it connected")
        return self._store

    async def _connect(self) -> None:
        if self._store is None:
            store = await Store.open(self.database, migrate=False)
            if self._store is None:
                self._store = store
            else:  # another task connected meanwhile
                await store.close()

    async def close(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            await store.close()

    # --- follows ---------------------------------------------------------------------------
    async def get(self, guild_id: int) -> Follow | None:
        await self._connect()
        rows = await self.store.rows(
            "SELECT guild_id, channel_id, topic, created_at, since_seq FROM follows WHERE guild_id = ?",
            (guild_id,),
        )
        return Follow(*rows[0]) if rows else None

    async def all(self) -> list[Follow]:
        await self._connect()
        rows = await self.store.rows(
            "SELECT guild_id, channel_id, topic, created_at, since_seq FROM follows ORDER BY guild_id"
        )
        return [Follow(*r) for r in rows]

    async def set(self, guild_id: int, channel_id: int, topic: str | None) -> Follow:
        """Follow (or change the channel and topic of the follow) of ``guild_id``."""
        await self._connect()
        async with self.lock, self.store.transaction():
            try:
                indexed = await self._serving_number() > 0
            except GenerationError:  # a damaged index: its articles are stored all the same
                indexed = True
            since = await self._high_water() if indexed else NOT_YET
            await self.store.execute(
                "INSERT INTO follows(guild_id, channel_id, topic, created_at, since_seq)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(guild_id) DO UPDATE SET"
                " channel_id = excluded.channel_id, topic = excluded.topic",
                (guild_id, channel_id, topic, now_iso(), since),
            )
            follow = await self.get(guild_id)
        assert follow is not None
        return follow

    async def remove(self, guild_id: int) -> Follow | None:
        await self._connect()
        async with self.lock, self.store.transaction():
            follow = await self.get(guild_id)
            await self.store.execute("DELETE FROM follows WHERE guild_id = ?", (guild_id,))
        return follow

    # --- announcing ------------------------------------------------------------------------
    async def take(self, match: TopicMatcher, cap: int) -> list[Announcement]:
        """The stories each follow should announce now, recorded as announced (so never again).

        Stories beyond ``cap`` per follow are counted in ``more`` and recorded too.
        """
        await self._connect()
        async with self.lock:
            if not await self._pending():
                return []
            async with self.store.transaction():
                return await self._take(match, cap)

    async def _pending(self) -> bool:
        """A cheap look (no lock taken) for arrivals some follow has not dealt with."""
        lowest = await self.store.scalar("SELECT min(since_seq) FROM follows")
        return lowest is not None and int(lowest) < await self._high_water()

    async def _take(self, match: TopicMatcher, cap: int) -> list[Announcement]:
        try:
            generation = await self._serving_number()
        except GenerationError:  # damaged: nothing is taken until a reindex rebuilds the index
            return []
        high = await self._high_water()
        follows = [f for f in await self.all() if f.since_seq < high]
        if generation == 0 or not follows:
            return []
        arrivals = await self._arrivals(max(0, min(f.since_seq for f in follows)))
        out: list[Announcement] = []
        for follow in follows:
            await self.store.execute(
                "UPDATE follows SET since_seq = ? WHERE guild_id = ?", (high, follow.guild_id)
            )
            if follow.since_seq == NOT_YET:
                continue
            fresh = [a for a in arrivals if a.seq > follow.since_seq]
            if follow.topic and fresh:
                wanted = await match(generation, follow.topic)
                fresh = [a for a in fresh if a.article_id in wanted]
            fresh = await self._record(follow.channel_id, fresh)
            if fresh:
                stories = await self._stories([a.article_id for a in fresh[:cap]])
                out.append(Announcement(follow, tuple(stories), max(0, len(fresh) - cap)))
        return out

    async def _arrivals(self, since: int) -> list[_Arrival]:
        """Stored articles that arrived after ``since``, each once, newest first."""
        rows = await self.store.rows(
            "SELECT r.seq, a.id, a.title, a.date, a.url FROM arrivals r"
            " JOIN articles a ON a.id = r.article_id WHERE r.seq > ? ORDER BY r.seq",
            (since,),
        )
        by_article: dict[int, _Arrival] = {}
        for seq, art, title, date, url in rows:  # an id reused by the indexer shows up twice: keep one
            by_article[int(art)] = _Arrival(
                int(seq), int(art), str(title), dt.date.fromisoformat(date) if date else None, url
            )
        return sorted(by_article.values(), key=_newest_first, reverse=True)

    async def _record(self, channel_id: int, fresh: list[_Arrival]) -> list[_Arrival]:
        """``fresh`` without the stories ``channel_id`` was already shown; records the rest as shown."""
        unique: dict[str, _Arrival] = {}
        for a in fresh:
            unique.setdefault(a.key, a)
        shown: set[str] = set()
        for part in _chunks(list(unique)):
            marks = ",".join("?" * len(part))
            rows = await self.store.rows(
                f"SELECT story_key FROM announced WHERE channel_id = ? AND story_key IN ({marks})",
                [channel_id, *part],
            )
            shown.update(str(k) for (k,) in rows)
        new = [a for key, a in unique.items() if key not in shown]
        at = now_iso()
        await self.store.execute_many(
            "INSERT OR IGNORE INTO announced(channel_id, story_key, article_id, at) VALUES (?, ?, ?, ?)",
            [(channel_id, a.key, a.article_id, at) for a in new],
        )
        return new

    async def _stories(self, article_ids: list[int]) -> list[Story]:
        """The articles as stories (link, date, source, first lines), in the order given."""
        marks = ",".join("?" * len(article_ids))
        rows = await self.store.rows(f"{stories.SELECT} WHERE a.id IN ({marks})", article_ids)
        found = {int(r[0]): stories.story(r) for r in rows}
        return [found[a] for a in article_ids if a in found]

    # --- helpers ---------------------------------------------------------------------------
    async def _serving_number(self) -> int:
        """The number of the generation being served (0: nothing indexed yet)."""
        return number_of(await self.store.get_meta("generation"))

    async def _high_water(self) -> int:
        """The number of the latest arrival ever (numbers are never reused)."""
        seq = await self.store.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'arrivals'")
        return int(seq or 0)
