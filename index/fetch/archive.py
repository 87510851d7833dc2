"""Articles written as plain news files, the way newsbot's indexer reads them.

An archive is one folder (a feed's, or a web archive import's)::

    <folder>/2026-03/2026-03-04-tram-line-opens-1a2b3c4d5e.txt   the article, reference format
    <folder>/2026-03/metadata.jsonl                              one row per file (last row wins)
    <folder>/.newsbot-seen.jsonl                                 links seen but not stored as files
    <folder>/.newsbot-archive.lock                               held while a writer has it open

A file is `` date YYYY-MM-DD Title``, a blank line, and paragraphs separated by blank lines; it
parses back with :func:`newsbot.index.ingest.parse.parse_bytes` to the same title and paragraphs.
Its name is made only of the date, a slug of the title (ASCII letters, digits, hyphens) and a hash
of its link: nothing from a feed reaches the file system unsanitised. Files are written atomically
(a hidden temporary file, then a rename), and the metadata row is appended after the file, in one
write; a row cut short by an interruption is removed when the archive is next opened, and the
article is written again (to the same name) on the next pass.

An article is stored once: an item whose link (or feed id) is known is ``unchanged`` when its text
is the same and ``updated`` (its file replaced, a new row appended) when not; an article whose text
is already stored under another link is a ``duplicate``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsbot.index.fetch.errors import ArchiveError
from newsbot.index.fetch.settings import slug
from newsbot.index.fetch.text import clean_line
from newsbot.index.ingest.parse import Article

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

METADATA_NAME = "metadata.jsonl"
SEEN_NAME = ".newsbot-seen.jsonl"
LOCK_NAME = ".newsbot-archive.lock"
MAX_TITLE_CHARS = 300
SLUG_CHARS = 50
UNTITLED = "Untitled"


@dataclass(slots=True)
class Draft:
    """An article about to be stored."""

    title: str
    date: dt.date
    paragraphs: list[str]
    url: str | None = None  # the canonical link, cited with answers
    source: str | None = None  # the outlet, shown with answers
    feed: str | None = None  # the feed's URL (None for a web archive import)
    author: str | None = None
    published: dt.datetime | None = None  # the publisher's time, when it gave one
    fetched: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    date_estimated: bool = False  # ``date`` is the fetch (or crawl) time, not the publisher's
    item_id: str | None = None  # the feed item's id
    item_hash: str | None = None  # the feed item's fingerprint, to skip unchanged items cheaply
    text_from: str = "feed"  # "page" (extracted), "feed" (the item's own text) or "warc"
    extra: dict[str, Any] = field(default_factory=dict)  # more metadata (e.g. the WARC record id)


@dataclass(frozen=True, slots=True)
class Stored:
    status: str  # "new", "updated", "unchanged" or "duplicate"
    file: str  # relative to the archive folder ("2026-03/2026-03-04-…txt"); the original for a duplicate


def normalise(title: str, paragraphs: list[str]) -> tuple[str, list[str]]:
    """Title and paragraphs as they will be written and read back: one line each, no controls."""
    clean_title = clean_line(title) or UNTITLED
    if len(clean_title) > MAX_TITLE_CHARS:
        cut = clean_title[: MAX_TITLE_CHARS - 1]
        space = cut.rfind(" ")
        clean_title = (cut[:space] if space > MAX_TITLE_CHARS // 2 else cut).rstrip() + "…"
    return clean_title, [p for p in (clean_line(p) for p in paragraphs) if p]


def render(title: str, date: dt.date, paragraphs: list[str]) -> bytes:
    """The bytes of an article file in the reference format (inputs already normalised)."""
    return (f" date {date.isoformat()} {title}\n\n" + "\n\n".join(paragraphs) + "\n").encode("utf-8")


def content_hash(title: str, paragraphs: list[str]) -> str:
    """The indexer's own fingerprint of an article's text (:attr:`Article.text_hash`)."""
    return Article(title=title, date=None, paragraphs=paragraphs).text_hash


def file_name(date: dt.date, title: str, key: str) -> str:
    """``YYYY-MM-DD-<title slug>-<hash of key>.txt``: safe characters only, at most 80 long."""
    words = slug(title, limit=SLUG_CHARS) or "article"
    return f"{date.isoformat()}-{words}-{hashlib.sha256(key.encode('utf-8', 'replace')).hexdigest()[:10]}.txt"


class Archive:
    """One archive folder, open for writing (use as a context manager, or call close())."""

    def __init__(self, folder: Path | str, *, lock: bool = True) -> None:
        self.folder = Path(folder)
        self.rows: dict[str, dict[str, Any]] = {}  # relative file -> its last row
        self.repairs: list[str] = []  # what opening had to fix (a torn last line)
        self._by_key: dict[str, str] = {}  # "u:<url>" / "i:<feed>\0<id>" -> relative file
        self._by_hash: dict[str, str] = {}  # content hash -> relative file
        self._seen: dict[str, dict[str, Any]] = {}  # key -> latest record (row or alias)
        self._fds: dict[Path, int] = {}
        self._dirty: set[Path] = set()
        self._lock_fd: int | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(str(self.folder), f"cannot create the folder ({exc.strerror})") from None
        if lock:
            self._take_lock()
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading what is stored ---------------------------------------------------------------

    def lookup(
        self, *, url: str | None = None, feed: str | None = None, item_id: str | None = None
    ) -> dict | None:
        """The latest record for this link or feed id: a metadata row (``file``…), or an alias for
        an item not stored as its own file (``same_as`` or ``failed``); both carry ``item_hash``."""
        for key in _keys(url, feed, item_id):
            record = self._seen.get(key)
            if record is not None:
                return record
        return None

    def file_for(
        self, *, url: str | None = None, feed: str | None = None, item_id: str | None = None
    ) -> str | None:
        for key in _keys(url, feed, item_id):
            rel = self._by_key.get(key)
            if rel is not None:
                return rel
        return None

    def __len__(self) -> int:
        return len(self.rows)

    # -- writing ------------------------------------------------------------------------------

    def store(self, draft: Draft) -> Stored:
        """Write ``draft`` unless it is already stored; see the module's docstring."""
        title, paragraphs = normalise(draft.title, draft.paragraphs)
        if not paragraphs:
            raise ValueError("an article needs at least one paragraph")
        digest = content_hash(title, paragraphs)
        keys = _keys(draft.url, draft.feed, draft.item_id)
        existing = next((self._by_key[k] for k in keys if k in self._by_key), None)
        if existing is not None:
            row = self.rows[existing]
            if row.get("content_hash") == digest:
                if draft.item_hash and draft.item_hash != row.get("item_hash"):
                    self._remember(keys, {"same_as": existing, "item_hash": draft.item_hash})
                return Stored("unchanged", existing)
            self._write(existing, draft, title, paragraphs, digest)
            return Stored("updated", existing)
        twin = self._by_hash.get(digest)
        if twin is not None:
            self._remember(keys, {"same_as": twin, "item_hash": draft.item_hash})
            return Stored("duplicate", twin)
        key = keys[0] if keys else "h:" + digest
        month = draft.date.strftime("%Y-%m")
        rel = f"{month}/{file_name(draft.date, title, key)}"
        taken = self.rows.get(rel)
        if taken is not None:  # the same name for another article (a hash collision): add the digest
            rel = rel[:-4] + f"-{digest[:8]}.txt"
        self._write(rel, draft, title, paragraphs, digest)
        return Stored("new", rel)

    def remember_failure(
        self, *, url: str | None, feed: str | None, item_id: str | None, item_hash: str | None, reason: str
    ) -> None:
        """Note an item that could not be stored, so it is tried again only when it changes."""
        self._remember(_keys(url, feed, item_id), {"failed": reason[:300], "item_hash": item_hash})

    def flush(self) -> None:
        """Make the rows appended so far durable (fsync), with the folders holding new files."""
        for path in list(self._dirty):
            fd = self._fds.get(path)
            with contextlib.suppress(OSError):
                if fd is not None:
                    os.fsync(fd)
                dir_fd = os.open(path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        self._dirty.clear()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.flush()
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)  # closing releases the lock
            self._lock_fd = None

    # -- internals ----------------------------------------------------------------------------

    def _take_lock(self) -> None:
        try:
            fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ArchiveError(str(self.folder), f"cannot write there ({exc.strerror})") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise ArchiveError(
                    str(self.folder),
                    "another newsbot fetch or import is writing there; try again when it ends",
                ) from None
        self._lock_fd = fd

    def _load(self) -> None:
        metas = sorted(self.folder.glob(f"*/{METADATA_NAME}"))
        if (self.folder / METADATA_NAME).exists():
            metas.insert(0, self.folder / METADATA_NAME)
        for meta in metas:
            prefix = "" if meta.parent == self.folder else meta.parent.name + "/"
            for row in self._read_jsonl(meta):
                name = row.get("file")
                if not isinstance(name, str) or "/" in name or name.startswith("."):
                    continue
                self._index_row(prefix + name, row)
        seen = self.folder / SEEN_NAME
        for record in self._read_jsonl(seen):
            keys = record.get("keys")
            if isinstance(keys, list):
                self._note_seen([k for k in keys if isinstance(k, str)], record)

    def _read_jsonl(self, path: Path) -> list[dict[str, Any]]:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ArchiveError(str(self.folder), f"cannot read {path.name} ({exc.strerror})") from None
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            try:
                os.truncate(path, keep)
            except OSError as exc:
                raise ArchiveError(str(self.folder), f"cannot repair {path} ({exc.strerror})") from None
            self.repairs.append(f"{path}: an unfinished last line (an interrupted write) was removed")
            data = data[:keep]
        out: list[dict[str, Any]] = []
        for line in data.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                out.append(row)
        return out

    def _index_row(self, rel: str, row: dict[str, Any]) -> None:
        old = self.rows.get(rel)
        if old is not None and self._by_hash.get(old.get("content_hash", "")) == rel:
            del self._by_hash[old["content_hash"]]
        self.rows[rel] = row
        digest = row.get("content_hash")
        if isinstance(digest, str):
            self._by_hash.setdefault(digest, rel)
        keys = _keys(row.get("url"), row.get("feed"), row.get("id"))
        for key in keys:
            self._by_key[key] = rel
        self._note_seen(keys, {**row, "at": row.get("stored") or row.get("fetched", ""), "rel": rel})

    def _note_seen(self, keys: list[str], record: dict[str, Any]) -> None:
        at = str(record.get("at", ""))
        for key in keys:
            previous = self._seen.get(key)
            if previous is None or str(previous.get("at", "")) <= at:
                self._seen[key] = record

    def _remember(self, keys: list[str], record: dict[str, Any]) -> None:
        if not keys:
            return
        record = {"keys": keys, "at": _now(), **{k: v for k, v in record.items() if v is not None}}
        self._append(self.folder / SEEN_NAME, record)
        self._note_seen(keys, record)

    def _write(self, rel: str, draft: Draft, title: str, paragraphs: list[str], digest: str) -> None:
        path = self.folder / rel
        path.parent.mkdir(exist_ok=True)
        tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as out:
                out.write(render(title, draft.date, paragraphs))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise ArchiveError(str(self.folder), f"cannot write {rel} ({exc.strerror})") from None
        row: dict[str, Any] = {
            "file": path.name,
            "title": title,
            "date": draft.date.isoformat(),
            "source": draft.source,
            "url": draft.url,
            "feed": draft.feed,
            "author": draft.author,
            "published": draft.published.isoformat() if draft.published else None,
            "fetched": draft.fetched.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "stored": _now(),
            "date_estimated": draft.date_estimated,
            "id": draft.item_id,
            "content_hash": digest,
            "item_hash": draft.item_hash,
            "text_from": draft.text_from,
            **draft.extra,
        }
        self._append(path.parent / METADATA_NAME, row)
        self._index_row(rel, row)

    def _append(self, path: Path, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "replace")
        try:
            fd = self._fds.get(path)
            if fd is None:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                self._fds[path] = fd
            written = os.write(fd, line)
            while written < len(line):  # a short write: finish the line
                written += os.write(fd, line[written:])
        except OSError as exc:
            raise ArchiveError(str(self.folder), f"cannot write {path.name} ({exc.strerror})") from None
        self._dirty.add(path)


def _keys(url: Any, feed: Any, item_id: Any) -> list[str]:
    keys: list[str] = []
    if isinstance(url, str) and url:
        keys.append("u:" + url)
    if isinstance(item_id, str) and item_id:
        keys.append(f"i:{feed or ''}\x00{item_id}")
    return keys


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
