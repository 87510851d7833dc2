"""The SQLite connection (through aiosqlite): opening a database safely, translating every SQLite and
file error into one :class:`StoreError` fit for users, and the helpers every query uses.

The database runs in WAL mode so that readers keep answering while a reindex writes; reads can open
it read-only (or immutable) where it cannot be written. Its schema is :mod:`newsbot.index.store.schema`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from newsbot.index.errors import StoreError
from newsbot.index.store.schema import MIGRATIONS, NEWSBOT_TABLES, SCHEMA_VERSION, statements

BUSY_TIMEOUT = 30.0  # seconds a connection waits for another's write lock before "locked"
LOCKED = "is locked by another process"  # (what translate says of SQLite's "locked", and _busy reads)
OPEN_AGAIN = (0.05, 0.2, 1.0, None)  # waits before opening again after a "locked" SQLite gave at once


# SQLite's primary result codes for "this connection cannot write": read-only, I/O error (the -shm file
# cannot be made or grown), disk full, cannot open (the -wal or -shm file cannot be created)
_UNWRITABLE = frozenset({8, 10, 13, 14})


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _disk_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free == 0
    except OSError:
        return False


def translate(exc: Exception, path: Path) -> StoreError:
    """A StoreError that says, in a user's words, what went wrong with the database at ``path``."""
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        return StoreError(f"cannot open the database {path}: {exc.strerror or exc}{where}")
    text = str(exc).lower()
    if ("disk" in text and "full" in text) or ("i/o error" in text and _disk_full(path)):
        return StoreError(f"the disk holding {path} is full")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"the database {path} is read-only: cannot write to it")
    if "locked" in text or "busy" in text:
        return StoreError(f"the database {path} {LOCKED}; try again shortly")
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{path} is not a newsbot database, or it is damaged")
    if "unable to open" in text:
        if path.exists() and not os.access(path.parent, os.W_OK):  # (root too, on a read-only mount)
            return StoreError(f"cannot write the database {path}: its folder is read-only")
        return StoreError(f"cannot open the database {path}: can it and its folder be read and written?")
    return StoreError(f"database error on {path}: {exc}")


def _busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "locked" that its busy timeout did not wait out: it answers so at
    once in some races, as between processes setting up one new database together."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.Error) and code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return isinstance(exc, StoreError) and LOCKED in str(exc)


def _unwritable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be opened for writing (it may still be read)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _UNWRITABLE


def _usable(path: Path, create: bool) -> None:
    """Raise a StoreError for a path SQLite cannot open as a database file; create its folder (if
    ``create``, else a database that does not exist is an error).

    SQLite's own errors for these say little ("unable to open database file"), and a path with a
    NUL is refused by the OS layer before SQLite sees it.
    """
    if "\x00" in str(path):
        raise StoreError(f"the database path {str(path)!r} holds a NUL character")
    try:
        if path.is_dir():
            raise StoreError(f"the database {path} is a folder: name a file inside it")
        for folder in reversed(path.parents):  # from the top down
            if folder.exists() and not folder.is_dir():
                raise StoreError(f"cannot open the database {path}: {folder} is a file, not a folder")
        if not create and not os.path.lexists(path):
            raise StoreError(
                f"the database {path} does not exist: check the path (`newsbot index FOLDER` creates it)"
            )
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise translate(exc, path) from None


def _read_only_uris(path: Path) -> list[str]:
    """How to open ``path`` for reading when it cannot be opened for writing: read-only (which works
    when the -wal and -shm files exist), then immutable, if no -wal file holds writes not yet in the
    database file (then nobody is writing it)."""
    base = "file:" + urllib.parse.quote(os.fsencode(path.absolute()))
    wal = path.with_name(path.name + "-wal")
    try:
        pending = wal.stat().st_size > 0
    except OSError:
        pending = False
    return [base + "?mode=ro", *([] if pending else [base + "?immutable=1"])]


async def _connect(target: str, *, uri: bool = False) -> aiosqlite.Connection:
    """A connection to ``target`` (a path, or a ``file:`` URI); raises sqlite3's or the OS's errors."""
    if uri:
        pending = aiosqlite.connect(target, timeout=BUSY_TIMEOUT, isolation_level=None, uri=True)
    else:  # (no uri argument at all: tests wrap aiosqlite.connect and add their own)
        pending = aiosqlite.connect(target, timeout=BUSY_TIMEOUT, isolation_level=None)
    try:
        return await pending
    except Exception:
        # aiosqlite stops its worker thread when connecting fails, but does not wait for it: if the
        # event loop closed first (a command that ends with this error), the thread would print a
        # traceback of its own
        worker = getattr(pending, "_thread", None)
        if worker is not None and worker.is_alive():
            await asyncio.to_thread(worker.join, 5.0)
        raise


async def _raw_scalar(conn: aiosqlite.Connection, sql: str) -> Any:
    rows = list(await conn.execute_fetchall(sql))
    return rows[0][0] if rows else None


async def _check_ours(conn: aiosqlite.Connection, path: Path) -> None:
    """Refuse a database that holds tables and not newsbot's: someone else's file, left unchanged."""
    names = {
        str(name)
        for (name,) in await conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    }
    if names and not NEWSBOT_TABLES.issubset(names):
        shown = ", ".join(sorted(names)[:5]) + (", …" if len(names) > 5 else "")
        raise StoreError(
            f"{path} is not a newsbot database (it holds {shown}): newsbot leaves it unchanged;"
            " name a new file for newsbot's own database"
        )


class Store:
    """One aiosqlite connection to the newsbot database.

    The one place where SQLite's (and the database file's) errors become the family's
    :class:`StoreError`: every method here raises that, never ``sqlite3.Error`` or ``OSError``.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path, *, read_only: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only  # opened read-only (see open(reading=True)): every write fails

    @classmethod
    async def open(
        cls, path: Path, *, migrate: bool = True, create: bool = True, reading: bool = False
    ) -> Store:
        """Open the database at ``path``, creating it and its folder if needed (unless not ``create``).

        A database that is not newsbot's (other tables, none of newsbot's) is refused before anything
        is written to it. ``reading``: the caller only reads; a database that does not exist is an
        error, and one that cannot be opened for writing (a read-only folder, a full disk: SQLite
        cannot make its -shm file) is opened read-only instead.
        """
        _usable(path, create and not reading)
        first: Exception | None = None
        for wait in OPEN_AGAIN:
            try:
                return await cls._open(path, str(path), migrate=migrate)
            except (sqlite3.Error, OSError, StoreError) as exc:
                if wait is not None and _busy(exc):
                    await asyncio.sleep(wait)
                    continue
                if isinstance(exc, StoreError):
                    raise
                if not (reading and _unwritable(exc)):
                    raise translate(exc, path) from None
                first = exc
                break
        assert first is not None
        for uri in _read_only_uris(path):
            with contextlib.suppress(sqlite3.Error, OSError):
                return await cls._open(path, uri, migrate=False, read_only=True)
        raise translate(first, path) from None

    @classmethod
    async def _open(cls, path: Path, target: str, *, migrate: bool, read_only: bool = False) -> Store:
        """Connect to ``target`` and set the connection up; raises sqlite3's errors as they are."""
        conn = await _connect(target, uri=read_only)
        store = cls(conn, path, read_only=read_only)
        try:
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute(f"PRAGMA busy_timeout = {round(BUSY_TIMEOUT * 1000)}")
            await _check_ours(conn, path)  # before anything is written
            if read_only:
                await store._readable_as_is()
                return store
            if await _raw_scalar(conn, "PRAGMA journal_mode") != "wal":
                await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            if migrate:
                await store.migrate()
        except BaseException:
            await conn.close()
            raise
        return store

    async def _readable_as_is(self) -> None:
        """A database opened read-only cannot be migrated: it must be of this version already."""
        version = int(await _raw_scalar(self.conn, "PRAGMA user_version") or 0)
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"the database {self.path} cannot be written here (a read-only folder or a full disk),"
                f" and it needs setting up for this newsbot first (schema {version}, this one uses"
                f" {SCHEMA_VERSION}): open it once where it can be written"
            )

    async def close(self) -> None:
        await self.conn.close()

    def error(self, exc: Exception) -> StoreError:
        """``exc`` (an error of SQLite or of the database file) as the StoreError to raise."""
        return translate(exc, self.path)

    # --- schema -----------------------------------------------------------------------------
    async def migrate(self) -> None:
        """Bring the schema up to this version, one step per transaction. The version is read under
        the write lock, so that two processes opening one new database (a shard's replicas) take
        turns: the second finds the first's steps done."""
        if int(await self.scalar("PRAGMA user_version") or 0) == SCHEMA_VERSION:
            return  # (no write lock taken: a reindex elsewhere may hold it)
        while True:
            async with self.transaction():
                version = int(await self.scalar("PRAGMA user_version") or 0)
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path} was made by a newer newsbot"
                        f" (schema {version}, this one knows {SCHEMA_VERSION})"
                    )
                if version == SCHEMA_VERSION:
                    return
                for statement in statements(MIGRATIONS[version]):
                    await self.execute(statement)
                await self.execute(f"PRAGMA user_version = {version + 1}")

    # --- small helpers ----------------------------------------------------------------------
    async def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self.rows(sql, params)
        return rows[0][0] if rows else None

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """All rows of a query.

        One trip to the connection's thread (execute, fetch and close in one call): each trip costs
        about 0.07 ms, and a question makes several.
        """
        try:
            return list(await self.conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise self.error(exc) from None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the id of the row it inserted (0: none)."""
        try:
            cursor = await self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self.error(exc) from None
        return int(cursor.lastrowid or 0)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self.error(exc) from None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """A write transaction (``BEGIN IMMEDIATE``): committed when the block ends, else rolled back."""
        await self.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                await self.conn.execute("ROLLBACK")
            raise
        await self.execute("COMMIT")

    async def get_meta(self, key: str) -> str | None:
        value = await self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        await self.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # --- questions and feedback ------------------------------------------------------------
    async def add_question(self, question: str, user_id: int | None, guild_id: int | None, hits: int) -> int:
        return await self.execute(
            "INSERT INTO questions(asked_at, question, user_id, guild_id, hits) VALUES (?, ?, ?, ?, ?)",
            (now_iso(), question, user_id, guild_id, hits),
        )

    async def add_feedback(self, question_id: int, user_id: int, value: int) -> None:
        """One vote per user on a logged question (the last one wins)."""
        try:
            await self.conn.execute(
                "INSERT INTO feedback(question_id, user_id, value, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(question_id, user_id) DO UPDATE SET value = excluded.value, at = excluded.at",
                (question_id, user_id, value, now_iso()),
            )
        except sqlite3.IntegrityError:  # no such question (a foreign key)
            raise StoreError("that question is no longer in the log") from None
        except sqlite3.Error as exc:
            raise self.error(exc) from None
