"""Reindex: bring the store and the BM25 generation in line with the news folders.

Only new or changed files are read and tokenized (a file's size, mtime and metadata row are its
stamp; its bytes' hash tells a real change from a touch). Articles whose files are gone are
dropped; the same article stored twice is kept once with every path known. All writes of one
reindex happen in one transaction, and the new generation is named current in that same commit,
so a crash at any moment leaves the previous index serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from newsbot.index import generation
from newsbot.index.errors import IndexingError, NewsbotError
from newsbot.index.ingest.build import ArticleRow, ParagraphRow, Stored, build
from newsbot.index.ingest.junk import JUNK_RULES, START, is_junk, junk_flag
from newsbot.index.ingest.lock import writer_lock
from newsbot.index.ingest.plan import _FileRow, _Plan, _WriteState
from newsbot.index.ingest.sources import Record, SourceFile, scan, unreadable_folders
from newsbot.index.ingest.workers import Progress, read_all
from newsbot.index.layout import FLAG_JUNK
from newsbot.index.model import IndexReport
from newsbot.index.ranking.bm25 import BM25Params
from newsbot.index.store.database import Store, now_iso
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

RETOKENIZE_CHUNK = 20_000  # stored paragraphs tokenized again at a time


async def _insert(
    conn: object, sql: str, rows: list[tuple[object, ...]], progress: Callable[[int], None] | None = None
) -> None:
    """executemany in chunks, so progress can be reported and the loop stays responsive."""
    for i in range(0, len(rows), 20_000):
        await conn.executemany(sql, rows[i : i + 20_000])  # type: ignore[attr-defined]
        if progress:
            progress(min(i + 20_000, len(rows)))


@dataclass(slots=True)
class _Retokenized:
    """The rows a new tokenizer rewrites: (terms, id) of titles, (terms, flags, id) of paragraphs,
    and the new (id, term) pairs."""

    titles: list[tuple[bytes, int]] = field(default_factory=list)
    paragraphs: list[tuple[bytes, int, int]] = field(default_factory=list)
    terms: list[tuple[int, str]] = field(default_factory=list)


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
    ) -> None:
        self.database = database
        self.folders = folders
        self.forget = forget or []
        self.spec = spec
        self.params = params
        self.progress = progress or (lambda stage, done, total: None)
        self.report = IndexReport()

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
        report = self.report
        current = int(await store.get_meta("generation") or 0)
        generation.cleanup(self.database, current)
        stored_spec = await store.get_meta("tokenizer")
        stored_params = await store.get_meta("bm25")
        retokenize = stored_spec is not None and TokenizerSpec.from_json(stored_spec) != self.spec
        # the junk rules changed since the stored flags were computed (a retokenize computes them too)
        rejunk = bool(current) and not retokenize and await store.get_meta("junk_rules") != str(JUNK_RULES)
        params_changed = stored_params != repr(self.params)

        forgotten = await self._forgotten(store)
        self.progress("scan", 0, 0)
        sources, skipped = await asyncio.to_thread(scan, self.folders)
        report.skipped.extend(skipped)
        # a folder that could not be listed (permissions) is like a missing one: its files are kept
        blocked = tuple(p.rstrip("/") + "/" for p in unreadable_folders(skipped))
        scanned_roots = {str(f.resolve()) for f in self.folders if f.is_dir()}
        scanned_roots = {r for r in scanned_roots if r + "/" not in blocked} | forgotten
        if not scanned_roots:
            raise IndexingError(
                "none of the news folders could be read: "
                + "; ".join(f"{s.path}: {s.reason}" for s in skipped)
                + ". The previous index is still serving."
            )

        old: dict[tuple[str, str], _FileRow] = {}
        for root, rel, unit, stamp, content_hash, article_id in await store.rows(
            "SELECT root, rel, unit, stamp, content_hash, article_id FROM files"
        ):
            old[(root, rel)] = _FileRow(unit, stamp, content_hash, article_id)
        old_by_unit: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for key, row in old.items():
            old_by_unit.setdefault((key[0], row.unit), []).append(key)

        to_read: list[SourceFile] = []
        keep_keys: set[tuple[str, str]] = set()
        for src in sources:
            keys = old_by_unit.get((src.root, src.rel), [])
            if keys and all(old[k].stamp == src.stamp for k in keys):
                keep_keys.update(keys)
            else:
                to_read.append(src)
        unit_seen = {(s.root, s.rel) for s in sources}
        gone: list[tuple[str, str]] = []
        for key, row in old.items():
            if (key[0], row.unit) in unit_seen:
                continue
            unlisted = f"{key[0]}/{row.unit}".startswith(blocked)
            if key[0] in scanned_roots and not unlisted:
                gone.append(key)
            else:
                # another folder (indexed by another run or process), or one missing or unreadable
                # this time: keep its articles rather than lose them
                keep_keys.add(key)
        report.unchanged = len(keep_keys)

        reading = await asyncio.to_thread(read_all, to_read, self.spec, self.progress)
        report.skipped.extend(reading.skipped)
        report.warnings.extend(reading.warnings)
        records = reading.records
        # a generation written by an older version lacks arrays the ranking now uses: build anew
        outdated = bool(current) and not generation.up_to_date(self.database, current)
        unchanged = not (to_read or gone or retokenize or rejunk or params_changed or outdated)
        if unchanged and current:
            report.generation = current
            report.published = True
            await self._totals(store)
            return

        tokenizer = Tokenizer(self.spec)
        # the stored texts are tokenized again before the write transaction, so that the question
        # log and follows (other writers of the database) wait only for the rows to be written
        retokenized = await self._retokenize(store, tokenizer) if retokenize else None
        reflagged = await self._reflag(store) if rejunk else []
        await store.conn.execute("BEGIN IMMEDIATE")
        try:
            # before the new rows are written: those get flags by the current rules anyway
            await _insert(store.conn, "UPDATE paragraphs SET flags = ? WHERE id = ?", reflagged)
            await self._write(store, tokenizer, records, to_read, gone, old, retokenized)
            records.clear()  # the texts are in the store now: free them before the build
            retokenized = None
            number = max([current, *generation.numbers_on_disk(self.database)]) + 1
            self.progress("build", 0, 0)
            info, arrays = await self._build(store, number)
            await asyncio.to_thread(generation.write, self.database, number, info, arrays)
            await store.set_meta("generation", str(number))
            await store.set_meta("tokenizer", self.spec.to_json())
            await store.set_meta("bm25", repr(self.params))
            await store.set_meta("junk_rules", str(JUNK_RULES))
            await store.set_meta("built_at", now_iso())
            await store.conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                await store.conn.execute("ROLLBACK")
            raise
        report.generation = number
        report.published = True
        await self._totals(store)
        generation.cleanup(self.database, number)

    async def _totals(self, store: Store) -> None:
        self.report.articles = int(await store.scalar("SELECT count(*) FROM articles"))
        self.report.paragraphs = int(await store.scalar("SELECT count(*) FROM paragraphs"))

    async def _write(
        self,
        store: Store,
        tokenizer: Tokenizer,
        records: list[tuple[SourceFile, list[Record]]],
        to_read: list[SourceFile],
        gone: list[tuple[str, str]],
        old: dict[tuple[str, str], _FileRow],
        retokenized: _Retokenized | None,
    ) -> None:
        """Apply the changes inside the open transaction: forget, plan (off the loop), insert."""
        report = self.report
        conn = store.conn
        orphans: set[int] = set()
        if retokenized is not None:
            await _insert(conn, "UPDATE articles SET title_terms = ? WHERE id = ?", retokenized.titles)
            await _insert(
                conn, "UPDATE paragraphs SET terms = ?, flags = ? WHERE id = ?", retokenized.paragraphs
            )
            await _insert(conn, "INSERT INTO terms(id, term) VALUES (?, ?)", retokenized.terms)
            report.retokenized = len(retokenized.paragraphs)
        reread_units = {(s.root, s.rel) for s in to_read}
        dropped = [k for k, r in old.items() if (k[0], r.unit) in reread_units] + gone
        orphans.update(old[key].article_id for key in dropped)
        await conn.executemany("DELETE FROM files WHERE root = ? AND rel = ?", dropped)

        state = _WriteState(
            vocab={t: i for t, i in await store.rows("SELECT term, id FROM terms")},
            by_hash={h: i for h, i in await store.rows("SELECT text_hash, id FROM articles")},
            next_article=int(await store.scalar("SELECT coalesce(max(id), 0) + 1 FROM articles")),
            next_paragraph=int(await store.scalar("SELECT coalesce(max(id), 0) + 1 FROM paragraphs")),
        )
        plan = await asyncio.to_thread(self._plan, tokenizer, records, old, orphans, state)
        total = len(plan.paragraphs)
        self.progress("store", 0, total)
        await _insert(conn, "INSERT INTO terms(id, term) VALUES (?, ?)", plan.terms)
        await _insert(
            conn,
            "INSERT INTO articles(id, text_hash, title, date, source, url, title_terms, paragraphs,"
            " indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            plan.articles,
        )
        await _insert(
            conn,
            "INSERT INTO paragraphs(id, article_id, position, text, terms, flags) VALUES (?, ?, ?, ?, ?, ?)",
            plan.paragraphs,
            lambda done: self.progress("store", done, total),
        )
        await _insert(
            conn,
            "UPDATE articles SET date = coalesce(?, date), source = coalesce(?, source),"
            " url = coalesce(?, url) WHERE id = ?",
            plan.updates,
        )
        await _insert(
            conn,
            "INSERT INTO files(root, rel, unit, stamp, content_hash, article_id) VALUES (?, ?, ?, ?, ?, ?)",
            plan.files,
        )
        self.progress("store", total, total)
        report.removed = sum(1 for k in dropped if k not in plan.seen)
        if orphans:
            await conn.executemany(
                "DELETE FROM articles WHERE id = ? AND NOT EXISTS (SELECT 1 FROM files WHERE article_id = ?)",
                [(a, a) for a in orphans],
            )
        # an article counted as added that turned out to be a re-read of a kept one is not new
        kept = {a for (a,) in await store.rows("SELECT DISTINCT article_id FROM files")}
        report.added_article_ids = [a for a in report.added_article_ids if a in kept]

    async def _retokenize(self, store: Store, tokenizer: Tokenizer) -> _Retokenized:
        """A new tokenizer: every stored title and paragraph tokenized again from the text the
        store keeps, with its flags computed again (the rows to write, not written yet).

        Files are not read again for this, so the articles of folders this run does not scan, or
        that have gone since, are kept. Terms keep their ids; new terms get ids never used before,
        so a reader still on the previous generation cannot mistake one term for another. Only
        this process writes paragraphs meanwhile (it holds the writer's lock).
        """
        out = _Retokenized()
        state = _WriteState(
            vocab={t: i for t, i in await store.rows("SELECT term, id FROM terms")},
            by_hash={},
            next_article=0,
            next_paragraph=0,
        )

        def encode(texts: list[str]) -> list[bytes]:
            return state.encode(tokenizer.tokens_many(texts), out.terms)

        titles = await store.rows("SELECT id, title FROM articles")
        blobs = await asyncio.to_thread(encode, [str(t) for _, t in titles])
        out.titles = [(blob, i) for blob, (i, _) in zip(blobs, titles, strict=True)]
        total = int(await store.scalar("SELECT count(*) FROM paragraphs"))
        self.progress("retokenize", 0, total)
        last = -1
        while True:
            rows = await store.rows(
                "SELECT id, text FROM paragraphs WHERE id > ? ORDER BY id LIMIT ?", (last, RETOKENIZE_CHUNK)
            )
            if not rows:
                break
            texts = [str(text) for _, text in rows]
            blobs = await asyncio.to_thread(encode, texts)
            out.paragraphs.extend(
                (blob, FLAG_JUNK if is_junk(text[:120], len(text), len(blob) // 4) else 0, pid)
                for (pid, _), text, blob in zip(rows, texts, blobs, strict=True)
            )
            last = int(rows[-1][0])
            self.progress("retokenize", len(out.paragraphs), total)
        return out

    async def _reflag(self, store: Store) -> list[tuple[int, int]]:
        """New junk rules: the stored paragraphs whose flag they change, as ``(flags, id)`` rows
        to write (read before the write transaction, like a retokenize)."""
        out: list[tuple[int, int]] = []
        last = -1
        while True:
            rows = await store.rows(
                "SELECT id, flags, length(text), substr(text, 1, 120), length(terms) FROM paragraphs"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (last, RETOKENIZE_CHUNK),
            )
            if not rows:
                return out
            for pid, flags, length, start, n_bytes in rows:
                junk = FLAG_JUNK if is_junk(start, length, n_bytes // 4) else 0
                if flags is None or flags != junk:
                    out.append((junk, pid))
            last = int(rows[-1][0])

    def _plan(
        self,
        tokenizer: Tokenizer,
        records: list[tuple[SourceFile, list[Record]]],
        old: dict[tuple[str, str], _FileRow],
        orphans: set[int],
        state: _WriteState,
    ) -> _Plan:
        """Decide every row to write and tokenize the new articles (CPU work, run off the loop)."""
        report = self.report
        plan = _Plan()
        indexed_at = now_iso()
        fresh: list[tuple[int, Record]] = []
        for src, recs in records:
            for rec in recs:
                key = (src.root, rec.rel)
                if key in plan.seen:
                    continue
                plan.seen.add(key)
                art = rec.article
                article_id = state.by_hash.get(art.text_hash)
                if article_id is None:
                    article_id = state.next_article
                    state.next_article += 1
                    state.by_hash[art.text_hash] = article_id
                    fresh.append((article_id, rec))
                    report.added_article_ids.append(article_id)
                else:
                    if article_id not in orphans and key not in old:
                        report.duplicates += 1
                    day = art.date.isoformat() if art.date else None
                    plan.updates.append((day, art.source, art.url, article_id))
                plan.files.append((src.root, rec.rel, src.rel, src.stamp, rec.content_hash, article_id))
                prior = old.get(key)
                if prior is None:
                    report.added += 1
                elif prior.content_hash != rec.content_hash:
                    report.changed += 1
                else:
                    report.unchanged += 1
        for i in range(0, len(fresh), 256):
            self._tokenize(tokenizer, fresh[i : i + 256], state, plan, indexed_at)
        return plan

    def _tokenize(
        self,
        tokenizer: Tokenizer,
        batch: list[tuple[int, Record]],
        state: _WriteState,
        plan: _Plan,
        indexed_at: str,
    ) -> None:
        texts: list[str] = []
        for _, rec in batch:
            texts.append(rec.article.title)
            texts.extend(rec.article.paragraphs)
        if all(rec.terms is not None for _, rec in batch):
            tokens = [t.split("\x00") if t else [] for _, rec in batch for t in rec.terms or ()]
        else:
            tokens = tokenizer.tokens_many(texts)
        ids = iter(state.encode(tokens, plan.terms))
        for article_id, rec in batch:
            art = rec.article
            plan.articles.append(
                (
                    article_id,
                    art.text_hash,
                    art.title,
                    art.date.isoformat() if art.date else None,
                    art.source,
                    art.url,
                    next(ids),
                    len(art.paragraphs),
                    indexed_at,
                )
            )
            for position, text in enumerate(art.paragraphs):
                terms = next(ids)
                flags = FLAG_JUNK if is_junk(text[:120], len(text), len(terms) // 4) else 0
                plan.paragraphs.append((state.next_paragraph, article_id, position, text, terms, flags))
                state.next_paragraph += 1

    async def _forgotten(self, store: Store) -> set[str]:
        """The stored roots of the folders to forget: their files count as gone in this run.

        Changed tokenizer or BM25 settings need no full reindex first: the stored texts are
        tokenized again and the index rebuilt in the same run.
        """
        if not self.forget:
            return set()
        indexed = {r for (r,) in await store.rows("SELECT DISTINCT root FROM files")}
        roots = {str(f.expanduser().resolve()) for f in self.forget}
        unknown = sorted(roots - indexed)
        if unknown:
            listed = ", ".join(sorted(indexed)) or "none"
            raise IndexingError(
                f"nothing from {', '.join(unknown)} is in the index (indexed folders: {listed})"
            )
        return roots

    async def _build(self, store: Store, number: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Compute the new generation's arrays from the store."""
        stored = await _stored(store)
        return await asyncio.to_thread(build, stored, self.params, self.spec, number, now_iso())


async def _stored(store: Store) -> Stored:
    """What a build reads from the store. Flags are set when a paragraph is stored; rows stored before
    schema 3 have none yet, and only for those is the text read (then the flags are saved, so that
    happens once)."""
    articles = await store.rows("SELECT id, date, title_terms FROM articles ORDER BY id")
    paragraphs: list[Any] = await store.rows(
        "SELECT id, article_id, position, terms, flags,"
        " CASE WHEN flags IS NULL THEN length(text) END,"
        f" CASE WHEN flags IS NULL THEN substr(text, 1, {START}) END"
        " FROM paragraphs ORDER BY article_id, position"
    )
    missing = [(junk_flag(r[6], r[5], len(r[3]) // 4), r[0]) for r in paragraphs if r[4] is None]
    if missing:
        await _insert(store.conn, "UPDATE paragraphs SET flags = ? WHERE id = ?", missing)
        fixed = dict((i, f) for f, i in missing)
        paragraphs = [(*r[:4], fixed[r[0]]) if r[4] is None else r for r in paragraphs]
    return Stored(
        articles=cast(list[ArticleRow], articles),
        paragraphs=cast(list[ParagraphRow], paragraphs),  # (the two extra columns are not read)
        n_terms=int(await store.scalar("SELECT coalesce(max(id), -1) + 1 FROM terms")),
        numeric=[int(i) for (i,) in await store.rows("SELECT id FROM terms WHERE term GLOB '*[0-9]*'")],
    )


async def reindex(
    database: Path,
    folders: list[Path],
    spec: TokenizerSpec,
    params: BM25Params,
    progress: Progress | None = None,
    forget: list[Path] | None = None,
) -> IndexReport:
    """Run one incremental reindex and publish it; see the module docstring.

    ``forget``: folders whose articles leave the index (as if all their files had been deleted).
    """
    try:
        return await Indexer(database, folders, spec, params, progress, forget).run()
    except NewsbotError:
        raise
    except OSError as exc:
        if exc.errno == 28:
            raise IndexingError("the disk is full; the previous index is still serving") from None
        raise IndexingError(f"reindex failed ({exc}); the previous index is still serving") from None
