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
import datetime as dt
import fcntl
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import generation
from .bm25 import BM25Params, count_matrix, weigh
from .errors import IndexBusyError, IndexingError, NewsbotError
from .model import IndexReport, Skipped
from .sources import Record, SourceFile, read, scan
from .store import Store, now_iso
from .tokenizer import Tokenizer, TokenizerSpec

Progress = Callable[[str, int, int], None]
EPOCH = dt.date(1970, 1, 1)
FLAG_JUNK = 1

_JUNK = re.compile(
    r"^(by |photo|image|video|watch|read more|sign up|click here|copyright|©|follow |"
    r"getty images|ap photo|reuters|advertisement|related:|more:|caption)",
    re.IGNORECASE,
)


def is_junk(text: str, n_tokens: int) -> bool:
    """Bylines, captions, sign-up lines and other paragraphs that never answer a question."""
    if n_tokens < 4:
        return True
    return len(text) < 120 and bool(_JUNK.match(text.strip(" -—–(")))


@contextlib.contextmanager
def writer_lock(database: Path) -> Iterator[None]:
    """One reindex at a time per database, across processes (an advisory lock beside it)."""
    lock_path = database.with_name(database.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise IndexingError(f"cannot create the lock file {lock_path} ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError("a reindex is already running; try again when it has finished") from None
        yield
    finally:
        os.close(fd)


@dataclass(slots=True)
class _FileRow:
    unit: str
    stamp: str
    content_hash: str
    article_id: int


def _days(date: dt.date | None) -> int:
    return (date - EPOCH).days if date else int(generation.NO_DATE)


def _encode(ids: list[int]) -> bytes:
    return np.asarray(ids, dtype=np.uint32).tobytes()


class Indexer:
    """One reindex run against one database. Use :func:`reindex`."""

    def __init__(
        self,
        database: Path,
        folders: list[Path],
        spec: TokenizerSpec,
        params: BM25Params,
        progress: Progress | None,
    ) -> None:
        self.database = database
        self.folders = folders
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
        params_changed = stored_params != repr(self.params)

        self.progress("scan", 0, 0)
        sources, skipped = await asyncio.to_thread(scan, self.folders)
        report.skipped.extend(skipped)
        scanned_roots = {str(f.resolve()) for f in self.folders if f.is_dir()}
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
        configured = {str(f.resolve()) for f in self.folders}

        to_read: list[SourceFile] = []
        keep_keys: set[tuple[str, str]] = set()
        for src in sources:
            keys = old_by_unit.get((src.root, src.rel), [])
            if keys and not retokenize and all(old[k].stamp == src.stamp for k in keys):
                keep_keys.update(keys)
            else:
                to_read.append(src)
        unit_seen = {(s.root, s.rel) for s in sources}
        gone: list[tuple[str, str]] = []
        for key, row in old.items():
            if (key[0], row.unit) in unit_seen:
                continue
            if key[0] not in configured or key[0] in scanned_roots:
                gone.append(key)
            else:
                keep_keys.add(key)  # its folder is missing this time: keep it rather than lose it
        report.unchanged = len(keep_keys)

        records = await self._read_all(to_read)
        if not to_read and not gone and not retokenize and not params_changed and current:
            report.generation = current
            report.published = True
            await self._totals(store)
            return

        tokenizer = Tokenizer(self.spec)
        await store.conn.execute("BEGIN IMMEDIATE")
        try:
            await self._write(store, tokenizer, records, to_read, gone, old, retokenize)
            number = max([current, *generation.numbers_on_disk(self.database)]) + 1
            self.progress("build", 0, 0)
            info, arrays = await self._build(store, number)
            await asyncio.to_thread(generation.write, self.database, number, info, arrays)
            await store.set_meta("generation", str(number))
            await store.set_meta("tokenizer", self.spec.to_json())
            await store.set_meta("bm25", repr(self.params))
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

    async def _read_all(self, to_read: list[SourceFile]) -> list[tuple[SourceFile, list[Record]]]:
        """Read and parse files on a few threads (the work is mostly I/O and C code)."""
        out: list[tuple[SourceFile, list[Record]]] = []
        total = len(to_read)
        self.progress("parse", 0, total)

        def work() -> None:
            with ThreadPoolExecutor(max_workers=4) as pool:
                for done, (src, (records, skipped)) in enumerate(
                    zip(to_read, pool.map(read, to_read), strict=True), start=1
                ):
                    out.append((src, records))
                    self.report.skipped.extend(skipped)
                    for rec in records:
                        for w in rec.article.warnings:
                            self.report.warnings.append(Skipped(str(Path(src.root) / rec.rel), w))
                    if done % 200 == 0 or done == total:
                        self.progress("parse", done, total)

        await asyncio.to_thread(work)
        return out

    async def _write(
        self,
        store: Store,
        tokenizer: Tokenizer,
        records: list[tuple[SourceFile, list[Record]]],
        to_read: list[SourceFile],
        gone: list[tuple[str, str]],
        old: dict[tuple[str, str], _FileRow],
        retokenize: bool,
    ) -> None:
        report = self.report
        conn = store.conn
        orphans: set[int] = set()
        if retokenize:
            # a new tokenizer: every article is read again from its file
            orphans.update(r.article_id for r in old.values())
            await conn.execute("DELETE FROM files")
            await conn.execute("DELETE FROM paragraphs")
            await conn.execute("DELETE FROM articles")
            await conn.execute("DELETE FROM terms")
        # forget the files being read again and the ones that are gone
        reread_units = {(s.root, s.rel) for s in to_read}
        dropped = [k for k, r in old.items() if (k[0], r.unit) in reread_units] + gone
        for key in dropped:
            orphans.add(old[key].article_id)
        await conn.executemany("DELETE FROM files WHERE root = ? AND rel = ?", dropped)

        vocab: dict[str, int] = {t: i for t, i in await store.rows("SELECT term, id FROM terms")}
        next_term = (max(vocab.values()) + 1) if vocab else 0
        new_terms: list[tuple[int, str]] = []

        def ids_of(tokens: list[str]) -> list[int]:
            nonlocal next_term
            out = []
            for tok in tokens:
                tid = vocab.get(tok)
                if tid is None:
                    tid = vocab[tok] = next_term
                    new_terms.append((tid, tok))
                    next_term += 1
                out.append(tid)
            return out

        by_hash: dict[str, int] = {h: i for h, i in await store.rows("SELECT text_hash, id FROM articles")}
        seen_keys: set[tuple[str, str]] = set()
        total = sum(len(recs) for _, recs in records)
        done = 0
        indexed_at = now_iso()
        self.progress("store", 0, total)
        for src, recs in records:
            for rec in recs:
                key = (src.root, rec.rel)
                if key in seen_keys:
                    continue
                seen_keys.add(key)
                art = rec.article
                text_hash = art.text_hash
                article_id = by_hash.get(text_hash)
                if article_id is None:
                    title_ids = ids_of(tokenizer.tokens(art.title))
                    cur = await conn.execute(
                        "INSERT INTO articles(text_hash, title, date, source, url, title_terms, paragraphs,"
                        " indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            text_hash,
                            art.title,
                            art.date.isoformat() if art.date else None,
                            art.source,
                            art.url,
                            _encode(title_ids),
                            len(art.paragraphs),
                            indexed_at,
                        ),
                    )
                    article_id = int(cur.lastrowid or 0)
                    by_hash[text_hash] = article_id
                    rows = [
                        (article_id, pos, text, _encode(ids_of(tokenizer.tokens(text))))
                        for pos, text in enumerate(art.paragraphs)
                    ]
                    await conn.executemany(
                        "INSERT INTO paragraphs(article_id, position, text, terms) VALUES (?, ?, ?, ?)", rows
                    )
                    report.added_article_ids.append(article_id)
                else:
                    if article_id not in orphans and key not in old:
                        report.duplicates += 1
                    await conn.execute(
                        "UPDATE articles SET date = coalesce(?, date), source = coalesce(?, source),"
                        " url = coalesce(?, url) WHERE id = ?",
                        (art.date.isoformat() if art.date else None, art.source, art.url, article_id),
                    )
                await conn.execute(
                    "INSERT INTO files(root, rel, unit, stamp, content_hash, article_id)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (src.root, rec.rel, src.rel, src.stamp, rec.content_hash, article_id),
                )
                prior = old.get(key)
                if prior is None:
                    report.added += 1
                elif prior.content_hash != rec.content_hash:
                    report.changed += 1
                else:
                    report.unchanged += 1
                done += 1
                if done % 500 == 0:
                    self.progress("store", done, total)
        self.progress("store", done, total)
        report.removed = sum(1 for k in dropped if k not in seen_keys)
        if new_terms:
            await conn.executemany("INSERT INTO terms(id, term) VALUES (?, ?)", new_terms)
        if orphans:
            await conn.executemany(
                "DELETE FROM articles WHERE id = ? AND NOT EXISTS (SELECT 1 FROM files WHERE article_id = ?)",
                [(a, a) for a in orphans],
            )
        # an article counted as added that turned out to be a re-read of a kept one is not new
        kept = {a for (a,) in await store.rows("SELECT DISTINCT article_id FROM files")}
        report.added_article_ids = [a for a in report.added_article_ids if a in kept]

    async def _build(self, store: Store, number: int) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        """Compute the new generation's arrays from the store (inside the reindex transaction)."""
        art_rows = await store.rows("SELECT id, date, title_terms FROM articles ORDER BY id")
        para_rows = await store.rows(
            "SELECT id, article_id, position, terms, text FROM paragraphs ORDER BY article_id, position"
        )
        n_terms = int(await store.scalar("SELECT coalesce(max(id), -1) + 1 FROM terms"))

        def compute() -> tuple[dict[str, object], dict[str, np.ndarray]]:
            art_ids = np.array([r[0] for r in art_rows], dtype=np.int64)
            art_days = np.array(
                [_days(dt.date.fromisoformat(r[1])) if r[1] else generation.NO_DATE for r in art_rows],
                dtype=np.int32,
            )
            art_index = {int(a): i for i, a in enumerate(art_ids)}
            n_art, n_par = len(art_rows), len(para_rows)
            para_ids = np.array([r[0] for r in para_rows], dtype=np.int64)
            para_article = np.array([art_index[r[1]] for r in para_rows], dtype=np.int32)
            para_position = np.array([r[2] for r in para_rows], dtype=np.int32)
            blobs = [r[3] for r in para_rows]
            para_len = np.array([len(b) // 4 for b in blobs], dtype=np.int32)
            para_flags = np.array(
                [FLAG_JUNK if is_junk(r[4], int(n)) else 0 for r, n in zip(para_rows, para_len, strict=True)],
                dtype=np.uint8,
            )
            tokens = np.frombuffer(b"".join(blobs), dtype=np.uint32)
            doc_of = np.repeat(np.arange(n_par, dtype=np.int64), para_len)
            body = weigh(count_matrix(tokens, doc_of, n_terms, n_par), para_len, self.params)
            art_start = np.zeros(n_art + 1, dtype=np.int64)
            np.cumsum(np.bincount(para_article, minlength=n_art), out=art_start[1:])
            t_blobs = [r[2] for r in art_rows]
            t_len = np.array([len(b) // 4 for b in t_blobs], dtype=np.int32)
            t_tokens = np.frombuffer(b"".join(t_blobs), dtype=np.uint32)
            t_doc = np.repeat(np.arange(n_art, dtype=np.int64), t_len)
            titles = weigh(count_matrix(t_tokens, t_doc, n_terms, n_art), t_len, self.params)
            arrays = {
                "para_ids": para_ids,
                "para_article": para_article,
                "para_position": para_position,
                "para_len": para_len,
                "para_flags": para_flags,
                "art_ids": art_ids,
                "art_days": art_days,
                "art_start": art_start,
                "w_indptr": body.indptr,
                "w_indices": body.indices,
                "w_data": body.data,
                "w_floor": body.floor,
                "t_indptr": titles.indptr,
                "t_indices": titles.indices,
                "t_data": titles.data,
                "t_floor": titles.floor,
            }
            info: dict[str, object] = {
                "generation": number,
                "paragraphs": n_par,
                "articles": n_art,
                "terms": n_terms,
                "bm25": {
                    "variant": self.params.variant,
                    "k1": self.params.k1,
                    "b": self.params.b,
                    "epsilon": self.params.epsilon,
                    "delta": self.params.delta,
                },
                "tokenizer": self.spec.to_json(),
                "built_at": now_iso(),
            }
            return info, arrays

        return await asyncio.to_thread(compute)


async def reindex(
    database: Path,
    folders: list[Path],
    spec: TokenizerSpec,
    params: BM25Params,
    progress: Progress | None = None,
) -> IndexReport:
    """Run one incremental reindex and publish it; see the module docstring."""
    try:
        return await Indexer(database, folders, spec, params, progress).run()
    except NewsbotError:
        raise
    except OSError as exc:
        if exc.errno == 28:
            raise IndexingError("the disk is full; the previous index is still serving") from None
        raise IndexingError(f"reindex failed ({exc}); the previous index is still serving") from None
