"""Followed feeds kept in the database: those added from the terminal or Discord, and every feed's
fetch state (as JSON), on a connection of their own (opened on first use), as follows are.

The store knows rows, not the fetcher: :mod:`newsbot.index.feeds` turns them into ``FeedSpec`` and
``FeedState`` values.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsbot.index.store.database import Store, now_iso


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed added from the terminal or Discord."""

    url: str
    source: str
    folder: str
    full_text: bool
    added_at: str
    added_by: str


class FeedBook:
    """The ``feeds`` and ``feed_states`` tables."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.lock = asyncio.Lock()
        self._store: Store | None = None

    async def _db(self) -> Store:
        if self._store is None:
            store = await Store.open(self.database, migrate=False)
            if self._store is None:
                self._store = store
            else:  # another task connected meanwhile
                await store.close()
        return self._store

    async def close(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            await store.close()

    # --- feeds added from the terminal or Discord ------------------------------------------
    async def all(self) -> list[FeedRow]:
        db = await self._db()
        rows = await db.rows(
            "SELECT url, source, folder, full_text, added_at, added_by FROM feeds ORDER BY added_at, url"
        )
        return [FeedRow(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows]

    async def get(self, url: str) -> FeedRow | None:
        return next((row for row in await self.all() if row.url == url), None)

    async def add(self, url: str, *, source: str, folder: str, full_text: bool, added_by: str) -> bool:
        """Add a feed; False when ``url`` is already in the book."""
        db = await self._db()
        async with self.lock, db.transaction():
            if await db.scalar("SELECT 1 FROM feeds WHERE url = ?", (url,)):
                return False
            await db.execute(
                "INSERT INTO feeds(url, source, folder, full_text, added_at, added_by)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (url, source, folder, int(full_text), now_iso(), added_by),
            )
        return True

    async def remove(self, url: str) -> bool:
        """Remove a feed and its state; False when it was not in the book."""
        db = await self._db()
        async with self.lock, db.transaction():
            found = bool(await db.scalar("SELECT 1 FROM feeds WHERE url = ?", (url,)))
            await db.execute("DELETE FROM feeds WHERE url = ?", (url,))
            await db.execute("DELETE FROM feed_states WHERE url = ?", (url,))
        return found

    # --- fetch state, every followed feed's -------------------------------------------------
    async def state(self, url: str) -> dict[str, Any] | None:
        db = await self._db()
        raw = await db.scalar("SELECT state FROM feed_states WHERE url = ?", (url,))
        try:
            data = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            return None  # a damaged state: start again (validators and back-off are only hints)
        return data if isinstance(data, dict) else None

    async def save_state(self, url: str, state: dict[str, Any]) -> None:
        db = await self._db()
        async with self.lock:
            await db.execute(
                "INSERT INTO feed_states(url, state, saved_at) VALUES (?, ?, ?)"
                " ON CONFLICT(url) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at",
                (url, json.dumps(state, sort_keys=True), now_iso()),
            )
