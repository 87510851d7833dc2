"""Reading the store from any thread, with no event loop: the term ids and paragraph rows of a
shard's search (``cluster/shard.py``). A shard answers on many threads at once (a Ray actor's), and a
trip to aiosqlite's thread and back would cost more than these small queries.

Read-only SQLite connections, as many as threads read at once, the last used first (its page cache
is warm); WAL: each query sees the last commit, as the :class:`~newsbot.index.store.database.Store`
does. The queries are ``queries.py``'s.
"""

from __future__ import annotations

import sqlite3
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from newsbot.index.store.database import BUSY_TIMEOUT, translate
from newsbot.index.store.queries import (
    ParagraphKey,
    ParagraphRow,
    paragraph_rows_of,
    paragraph_rows_queries,
    term_ids_query,
)


class Reader:
    """Read-only queries on the database at ``path``, on the calling thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._uri = "file:" + urllib.parse.quote(str(path.absolute())) + "?mode=ro"
        self._idle: list[sqlite3.Connection] = []  # the connections no thread is using
        self._lock = threading.Lock()

    def rows(self, sql: str, params: list[Any]) -> list[Any]:
        with self._lock:  # the one used last (its page cache is warm), or a new one
            conn = self._idle.pop() if self._idle else None
        try:
            if conn is None:
                conn = sqlite3.connect(
                    self._uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
                )  # (one thread at a time uses it)
            found = conn.execute(sql, params).fetchall()
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            raise translate(exc, self.path) from None
        with self._lock:
            self._idle.append(conn)
        return found

    def term_ids(self, terms: list[str]) -> dict[str, int]:
        sql, params = term_ids_query(terms)
        return {t: int(i) for t, i in self.rows(sql, params)} if params else {}

    def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]:
        out: dict[ParagraphKey, ParagraphRow] = {}
        for sql, params in paragraph_rows_queries(keys):
            out.update(paragraph_rows_of(self.rows(sql, params)))
        return out

    def close(self) -> None:
        """Close the idle connections (one in use goes back to the pool when its query ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
