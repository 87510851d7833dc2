"""Reindex: bring the store and the BM25 generation in line with the news folders.

Only new or changed files are read and tokenized (a file's size, mtime and metadata row are its
stamp; its bytes' hash tells a real change from a touch). Articles whose files are gone are
dropped; the same article stored twice is kept once with every path known, cited from its copy
with the lowest path (``citations.py``; a file whose copy becomes the cited one is read again). All
writes of one reindex happen in one transaction, and the new generation is named current in that same commit,
so a crash at any moment leaves the previous index serving.

This module is the orchestration and its SQL: it holds the writer's lock, reads what is stored and
what is on disk, and writes what the pure parts decide (``plan.py``: what to read, keep and drop, and
the rows to write; ``build.py``: the generation's arrays; ``rows.py``: the bulk reads and writes).
``workers.py`` reads the files, ``retokenize.py`` brings stored rows in line with a new tokenizer or
new junk rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import numpy as np

from newsbot.index import generation
from newsbot.index.errors import IndexingError, NewsbotError, disk_full
from newsbot.index.ingest import citations, elsewhere, memory
from newsbot.index.ingest.build import count, finish
from newsbot.index.ingest.citations import Citations, StoredArticle, reread
from newsbot.index.ingest.files import printable
from newsbot.index.ingest.junk import JUNK_RULES
from newsbot.index.ingest.lock import writer_lock
from newsbot.index.ingest.peers import Peers
from newsbot.index.ingest.plan import Changes, FileRow, Key, Plan, WriteState, compare, plan_rows
from newsbot.index.ingest.retokenize import Retokenized, reflag, retokenize
from newsbot.index.ingest.rows import insert, stored_articles, stored_for_build, vocabulary_of
from newsbot.index.ingest.sources import Record, SourceFile, scan, source_at, unreadable_folders
from newsbot.index.ingest.workers import Progress, Reading, read_all
from newsbot.index.model import IndexReport
from newsbot.index.ranking.bm25 import BM25Params
from newsbot.index.store.database import Store, now_iso
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec


@dataclass(frozen=True, slots=True)
class _Redo:
    """What changed since the stored rows and the current generation were made, besides the files."""

    retokenize: bool  # the tokenizer's settings: every stored text is tokenized again
    rejunk: bool  # the junk rules: the stored flags are computed again (a retokenize does it too)
    rebuild: bool  # the BM25 settings, or a generation of an older layout: the arrays are built anew
    recite: bool = False  # a store from before the citing-copy rule: the articles told twice are checked

    @property
    def anything(self) -> bool:
        return self.retokenize or self.rejunk or self.rebuild or self.recite


class Indexer:
    """One reindex run against one database. Use :func:`reindex`."""

    def __init__(
        self,
        database: Path,
        folders: list[Path],
        spec: TokenizerSpec,
        params: BM25Params,
        progress: Progress | None,
        forget: list[Path] | None = None,
        peers: Peers | None = None,
    ) -> None:
        self.database = database
        self.peers = peers
        self.folders = folders
        self.forget = forget or []
        self.spec = spec
        self.params = params
        self.progress: Progress = progress or (lambda stage, done, total: None)
        self.report = IndexReport()
        self._elsewhere: elsewhere.Elsewhere = {}

    async def run(self) -> IndexReport:
        started = time.perf_counter()
        with writer_lock(self.database):
            store = await Store.open(self.database)
            try:
                await self._run(store)
            except sqlite3.Error as exc:
                raise store.error(exc) from None
            finally:
                await store.close()
        self.report.seconds = time.perf_counter() - started
        return self.report

    async def _run(self, store: Store) -> None:
        """Scan, read, and (unless nothing changed) write and publish in one transaction."""
        report = self.report
        current = int(await store.get_meta("generation") or 0)
        generation.cleanup(self.database, current)
        redo = await self._redo(store, current)
        old, found = await self._changes(store)
        if self.peers is None:
            reading = await asyncio.to_thread(read_all, found.to_read, self.spec, self.progress)
        else:  # (a shard gets its own articles, and remembers the files that hold none)
            reread = {(src.root, src.rel) for src in found.to_read}
            held = [k for k, row in old.items() if (k[0], row.unit) in reread]
            reading, away = await self.peers.read(found.to_read, self.spec, held)
            await elsewhere.remember(store, self._elsewhere, found.to_read, away, set(found.listed))
        report.skipped.extend(reading.skipped)
        report.warnings.extend(reading.warnings)
        changed = not current or bool(found.to_read or found.gone or redo.anything)
        if self.peers is not None:  # (a shard reads other shards' articles too, and keeps none of them)
            mine = not current or bool(found.drop or redo.anything or any(r for _, r in reading.records))
            changed = await self.peers.changed(mine)
        if not changed:
            report.generation = current
            report.published = True
            await self._totals(store)
            return

        by_hash = {h: i for h, i in await store.rows("SELECT text_hash, id FROM articles")}
        cites = await self._citations(store, reading, found, old, by_hash, redo.recite)
        stored = await stored_articles(store, cites.existing())
        tokenizer = Tokenizer(self.spec)
        # the stored texts are tokenized again before the write transaction, so that the question
        # log and follows (other writers of the database) wait only for the rows to be written
        retokenized = await retokenize(store, tokenizer, self.progress) if redo.retokenize else None
        reflagged = await reflag(store) if redo.rejunk else []
        await store.conn.execute("BEGIN IMMEDIATE")
        try:
            # before the new rows are written: those get flags by the current rules anyway
            await insert(store.conn, "UPDATE paragraphs SET flags = ? WHERE id = ?", reflagged)
            await self._write(
                store, tokenizer, reading.records, found, old, retokenized, by_hash, cites, stored
            )
            reading.records.clear()  # the texts are in the store now: free them before the build
            retokenized = None
            number = await self._publish(store, current)
            await store.conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                await store.conn.execute("ROLLBACK")
            raise
        report.generation = number
        report.published = True
        await self._totals(store)
        generation.cleanup(self.database, number)

    async def _redo(self, store: Store, current: int) -> _Redo:
        stored_spec = await store.get_meta("tokenizer")
        retokenize = stored_spec is not None and TokenizerSpec.from_json(stored_spec) != self.spec
        # the junk rules changed since the stored flags were computed (a retokenize computes them too)
        rejunk = bool(current) and not retokenize and await store.get_meta("junk_rules") != str(JUNK_RULES)
        params_changed = await store.get_meta("bm25") != repr(self.params)
        # a generation written by an older version lacks arrays the ranking now uses: build anew
        outdated = bool(current) and not generation.up_to_date(self.database, current)
        recite = bool(current) and await store.get_meta("citations") != citations.RULE
        return _Redo(retokenize, rejunk, params_changed or outdated, recite)

    async def _changes(self, store: Store) -> tuple[dict[Key, FileRow], Changes]:
        """The stored file rows, and what changed on disk since (scanning the folders)."""
        forgotten = await self._forgotten(store)
        self.progress("scan", 0, 0)
        sources, skipped = await asyncio.to_thread(scan, self.folders)
        self.report.skipped.extend(skipped)
        # a folder that could not be listed (permissions) is like a missing one: its files are kept
        blocked = tuple(p.rstrip("/") + "/" for p in unreadable_folders(skipped))
        scanned = {printable(str(f.resolve())) for f in self.folders if f.is_dir()}
        scanned = {r for r in scanned if r + "/" not in blocked} | forgotten
        if not scanned:
            raise IndexingError(
                "none of the news folders could be read: "
                + "; ".join(f"{s.path}: {s.reason}" for s in skipped)
                + ". The previous index is still serving."
            )
        old = {
            (root, rel): FileRow(unit, stamp, content_hash, article_id)
            for root, rel, unit, stamp, content_hash, article_id in await store.rows(
                "SELECT root, rel, unit, stamp, content_hash, article_id FROM files"
            )
        }
        self._elsewhere = await elsewhere.load(store) if self.peers is not None else {}
        found = compare(old, sources, scanned, blocked, self._elsewhere)
        self.report.unchanged = len(found.keep)
        return old, found

    async def _forgotten(self, store: Store) -> set[str]:
        """The stored roots of the folders to forget: their files count as gone in this run."""
        if not self.forget:
            return set()
        # (a shard knows a folder by its own files, or by those whose articles all went elsewhere)
        sql = "SELECT DISTINCT root FROM files UNION SELECT DISTINCT root FROM units_elsewhere"
        indexed = {r for (r,) in await store.rows(sql)}
        roots = {printable(str(f.expanduser().resolve())) for f in self.forget}
        unknown = sorted(roots - indexed)
        if unknown:
            listed = ", ".join(sorted(indexed)) or "none"
            raise IndexingError(
                f"nothing from {', '.join(unknown)} is in the index (indexed folders: {listed})"
            )
        return roots

    async def _citations(
        self,
        store: Store,
        reading: Reading,
        found: Changes,
        old: dict[Key, FileRow],
        by_hash: dict[str, int],
        recite: bool,
    ) -> Citations:
        """The citing copies to apply (see citations.py). A file kept as it was whose copy became
        an article's citing one is read now, and the reading grows by it."""
        force: set[int] = set()
        if recite:
            sql = "SELECT article_id FROM files GROUP BY article_id HAVING count(*) > 1"
            force = {int(a) for (a,) in await store.rows(sql)}
        tried: set[tuple[str, str]] = set()
        while True:
            cites = await asyncio.to_thread(
                citations.citations, reading.records, old, found.drop, by_hash, force
            )
            units = cites.missing - tried
            extra = await asyncio.to_thread(_sources, sorted(units), found.listed)
            if not extra:
                return cites
            tried |= units
            if self.peers is None:
                more = await asyncio.to_thread(read_all, extra, self.spec, lambda stage, done, total: None)
            else:
                more = (await self.peers.read(extra, self.spec, []))[0]
            read = [(src, records) for src, records in more.records if records]
            reread(found, old, [src for src, _ in read])  # a file that could not be read keeps its rows
            reading.records.extend(read)
            self.report.skipped.extend(more.skipped)
            self.report.warnings.extend(more.warnings)

    async def _totals(self, store: Store) -> None:
        self.report.articles = int(await store.scalar("SELECT count(*) FROM articles"))
        self.report.paragraphs = int(await store.scalar("SELECT count(*) FROM paragraphs"))

    async def _write(
        self,
        store: Store,
        tokenizer: Tokenizer,
        records: list[tuple[SourceFile, list[Record]]],
        found: Changes,
        old: dict[Key, FileRow],
        retokenized: Retokenized | None,
        by_hash: dict[str, int],
        cites: Citations,
        stored: dict[int, StoredArticle],
    ) -> None:
        """Apply the changes inside the open transaction: forget, plan (off the loop), insert."""
        report = self.report
        conn = store.conn
        if retokenized is not None:
            await insert(conn, "UPDATE articles SET title_terms = ? WHERE id = ?", retokenized.titles)
            await insert(
                conn, "UPDATE paragraphs SET terms = ?, flags = ? WHERE id = ?", retokenized.paragraphs
            )
            await insert(conn, "INSERT INTO terms(id, term) VALUES (?, ?)", retokenized.terms)
            report.retokenized = len(retokenized.paragraphs)
        await conn.executemany("DELETE FROM files WHERE root = ? AND rel = ?", found.drop)
        state = WriteState(
            vocab={t: i for t, i in await store.rows("SELECT term, id FROM terms")},
            by_hash=by_hash,
            next_article=int(await store.scalar("SELECT coalesce(max(id), 0) + 1 FROM articles")),
            next_paragraph=int(await store.scalar("SELECT coalesce(max(id), 0) + 1 FROM paragraphs")),
        )
        rows = await asyncio.to_thread(
            functools.partial(plan_rows, dropped=found.drop, cites=cites, stored=stored),
            records,
            old,
            found.orphans,
            state,
            tokenizer,
            now_iso(),
        )
        report.added += rows.added
        report.changed += rows.changed
        report.unchanged = len(found.keep) + rows.unchanged  # (a file read again for its citing copy moved)
        report.duplicates += rows.duplicates
        await self._insert_plan(conn, rows)
        report.removed = sum(1 for k in found.drop if k not in rows.seen)
        if found.orphans:
            await conn.executemany(
                "DELETE FROM articles WHERE id = ? AND NOT EXISTS (SELECT 1 FROM files WHERE article_id = ?)",
                [(a, a) for a in found.orphans],
            )
        # an article counted as added that turned out to be a re-read of a kept one is not new
        kept = {a for (a,) in await store.rows("SELECT DISTINCT article_id FROM files")}
        report.added_article_ids = [a for a in rows.added_article_ids if a in kept]

    async def _insert_plan(self, conn: aiosqlite.Connection, rows: Plan) -> None:
        total = len(rows.paragraphs)
        self.progress("store", 0, total)
        await insert(conn, "INSERT INTO terms(id, term) VALUES (?, ?)", rows.terms)
        await insert(
            conn,
            "INSERT INTO articles(id, text_hash, title, date, source, url, title_terms, paragraphs,"
            " indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows.articles,
        )
        # articles whose citing copy's text differs (in letter case) get its paragraphs
        await insert(conn, "DELETE FROM paragraphs WHERE article_id = ?", [(a,) for a in rows.rewritten])
        await insert(
            conn,
            "INSERT INTO paragraphs(id, article_id, position, text, terms, flags) VALUES (?, ?, ?, ?, ?, ?)",
            rows.paragraphs,
            lambda done: self.progress("store", done, total),
        )
        await insert(
            conn,
            "UPDATE articles SET title = ?, date = ?, source = ?, url = ?, title_terms = ?, paragraphs = ?"
            " WHERE id = ?",
            rows.updates,
        )
        await insert(
            conn,
            "INSERT INTO files(root, rel, unit, stamp, content_hash, article_id) VALUES (?, ?, ?, ?, ?, ?)",
            rows.files,
        )
        self.progress("store", total, total)

    async def _publish(self, store: Store, current: int) -> int:
        """Build the new generation from the store, write it aside and name it current (inside the
        reindex transaction: it is current once that commits). Returns its number."""
        number = max([current, *generation.numbers_on_disk(self.database)]) + 1
        self.progress("build", 0, 0)
        info, arrays = await self._build(store, number)
        await asyncio.to_thread(generation.write, self.database, number, info, arrays)
        del arrays
        if self.peers is not None:
            await self.peers.agree(number)
        await store.set_meta("generation", str(number))
        await store.set_meta("tokenizer", self.spec.to_json())
        await store.set_meta("bm25", repr(self.params))
        await store.set_meta("junk_rules", str(JUNK_RULES))
        await store.set_meta("citations", citations.RULE)
        await store.set_meta("built_at", now_iso())
        return number

    async def _build(self, store: Store, number: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Compute the new generation's arrays from the store (a shard's weighed with every shard's
        statistics)."""
        stored = await stored_for_build(store)
        counted = await asyncio.to_thread(count, stored)
        del stored
        corpus = None
        if self.peers is not None:
            vocabulary = await vocabulary_of(store, counted.stored.n_terms)
            corpus = await self.peers.corpus(counted.stats(), vocabulary)
        return await asyncio.to_thread(finish, counted, self.params, self.spec, number, now_iso(), corpus)


def _sources(units: list[tuple[str, str]], listed: dict[Key, SourceFile]) -> list[SourceFile]:
    """The files ``(root, rel)`` as the scan listed them, or as they are now when in a folder this run
    did not scan; those not there are left out."""
    found = (listed.get(unit) or source_at(*unit) for unit in units)
    return [src for src in found if src is not None]


async def reindex(
    database: Path,
    folders: list[Path],
    spec: TokenizerSpec,
    params: BM25Params,
    progress: Progress | None = None,
    forget: list[Path] | None = None,
    peers: Peers | None = None,
) -> IndexReport:
    """Run one incremental reindex and publish it; see the module docstring.

    ``forget``: folders whose articles leave the index (as if all their files had been deleted).
    Changed tokenizer or BM25 settings need no full reindex first: the stored texts are tokenized
    again and the index rebuilt in the same run.
    """
    try:
        return await Indexer(database, folders, spec, params, progress, forget, peers).run()
    except NewsbotError:
        raise
    except OSError as exc:
        if disk_full(exc):
            where = printable(str(database.parent))
            raise IndexingError(
                f"the disk is full (no space left in {where}); the previous index is still serving"
            ) from None
        raise IndexingError(f"reindex failed ({exc}); the previous index is still serving") from None
    finally:
        memory.give_back()
