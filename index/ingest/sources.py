"""Find the article files under the configured folders and read them into parsed records.

Folders are walked recursively (symbolic links followed, loops detected). ``*.txt`` files are
articles in the reference format; ``*.jsonl`` files other than ``metadata.jsonl`` hold one article
per line (``{"title", "date", "url", "source", "text" or "paragraphs"}``); a ``metadata.jsonl``
supplies title, date, source and link for the files beside it. Hidden files and other file types
are ignored; so is anything that is not a regular file (a FIFO, a device, a socket), with a report.
Everything that goes wrong with one file, or one line of a JSONL file, becomes a :class:`Skipped`
entry. Paths are stored and reported in their printable form (see ``files.printable``).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsbot.index.errors import ArticleError
from newsbot.index.ingest.files import not_regular, os_reason, printable, read_regular, too_big
from newsbot.index.ingest.jsonl import apply_meta, article_from_row, lines, loads, metadata_row
from newsbot.index.ingest.parse import Article, decode, parse_bytes
from newsbot.index.model import Skipped

ARTICLE_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl",)
METADATA_NAME = "metadata.jsonl"
MAX_ARTICLE_BYTES = 10 * 1024 * 1024
MAX_JSONL_BYTES = 2 * 1024 * 1024 * 1024
MAX_METADATA_BYTES = 256 * 1024 * 1024
UNREADABLE_FOLDER = "cannot open folder"  # the reason given for a folder that could not be listed


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file found on disk, with what is needed to tell whether it changed."""

    root: str  # the folder as configured (resolved), the base of ``rel``
    rel: str  # POSIX path relative to ``root``
    size: int
    mtime_ns: int
    meta: dict[str, Any] | None  # the metadata.jsonl row for this file
    is_jsonl: bool = False
    fs_path: str = ""  # where the file is, as the OS names it (``root``/``rel`` are printable forms)
    # changes whenever the file or its metadata row changes (no need to read the file)
    stamp: str = field(init=False)

    def __post_init__(self) -> None:
        meta = json.dumps(self.meta, sort_keys=True) if self.meta else ""
        stamp = f"{self.size}:{self.mtime_ns}:{hashlib.sha1(meta.encode()).hexdigest()[:12]}"
        object.__setattr__(self, "stamp", stamp)

    @property
    def path(self) -> Path:
        """The file on disk."""
        return Path(self.fs_path) if self.fs_path else Path(self.root, self.rel)

    @property
    def shown(self) -> str:
        """The file's path as it is reported (printable)."""
        return os.path.join(self.root, self.rel)


@dataclass(slots=True)
class Record:
    """One article read from a source file (a ``.txt`` file is one record, a JSONL line another)."""

    rel: str  # the article's path: the file, or ``file.jsonl#LINE``
    content_hash: str
    article: Article
    # the terms of the title and of each paragraph, each joined by NUL, when a worker process
    # tokenized them already (see workers.read_and_tokenize)
    terms: list[str] | None = None
    # the article's text hash (``Article.text_hash``), computed once, where the file is read
    text_hash: str = ""

    def __post_init__(self) -> None:
        if not self.text_hash:
            self.text_hash = self.article.text_hash


def _load_metadata(folder: str, skipped: list[Skipped]) -> dict[str, dict[str, Any]]:
    """The rows of ``folder``'s metadata.jsonl by file name; each bad line is reported and ignored."""
    meta_path = os.path.join(folder, METADATA_NAME)
    shown = printable(meta_path)
    rows: dict[str, dict[str, Any]] = {}
    try:
        data = read_regular(meta_path, MAX_METADATA_BYTES)
    except ArticleError as exc:
        if exc.reason != "file disappeared while indexing":
            skipped.append(Skipped(shown, f"metadata not read: {exc.reason.removesuffix(': not read')}"))
        return rows
    text = data.decode("utf-8-sig", errors="replace")
    for number, line in enumerate(lines(text), start=1):
        if not line.strip():
            continue
        try:
            name, row = metadata_row(line)
        except ArticleError as exc:
            skipped.append(Skipped(f"{shown}#{number}", f"metadata line ignored: {exc.reason}"))
            continue
        rows[name] = row
    return rows


def scan(folders: list[Path]) -> tuple[list[SourceFile], list[Skipped]]:
    """Every article file under ``folders``, sorted, plus the problems met while looking."""
    found: dict[tuple[str, str], SourceFile] = {}
    skipped: list[Skipped] = []
    seen_roots: set[str] = set()
    for folder in folders:
        shown = printable(str(folder))
        try:
            root = folder.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            reason = "folder not found" if isinstance(exc, FileNotFoundError) else f"cannot open ({exc})"
            skipped.append(Skipped(shown, printable(reason)))
            continue
        if not root.is_dir():
            skipped.append(Skipped(shown, "not a folder"))
            continue
        if str(root) in seen_roots:
            continue
        seen_roots.add(str(root))
        for src in _walk(root, skipped):
            key = (src.root, src.rel)
            other = found.get(key)
            if other is None:
                found[key] = src
                continue
            # two names with one printable form ("a\\xff.txt" and "a" + byte 0xff + ".txt"): the
            # one that is valid UTF-8 keeps it, the other is not read
            strange, found[key] = (src, other) if printable(src.fs_path) != src.fs_path else (other, src)
            skipped.append(Skipped(strange.shown, "its name is not UTF-8 and is shown as another file's"))
    return sorted(found.values(), key=lambda f: (f.root, f.rel)), skipped


def unreadable_folders(skipped: list[Skipped]) -> list[str]:
    """The folders a scan could not list: what they hold is unknown, not gone."""
    return [s.path for s in skipped if s.reason.startswith(UNREADABLE_FOLDER)]


def _walk(root: Path, skipped: list[Skipped]) -> Iterator[SourceFile]:
    visited: set[tuple[int, int]] = set()
    root_text = printable(str(root))

    def on_error(exc: OSError) -> None:
        skipped.append(Skipped(printable(str(exc.filename)), f"{UNREADABLE_FOLDER} ({exc.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=on_error):
        try:
            st = os.stat(dirpath)
        except OSError as exc:
            skipped.append(Skipped(printable(dirpath), f"{UNREADABLE_FOLDER} ({exc.strerror})"))
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in visited:
            skipped.append(Skipped(printable(dirpath), "symbolic link loop: folder already visited"))
            dirnames[:] = []
            continue
        visited.add((st.st_dev, st.st_ino))
        inside = os.path.relpath(dirpath, root)
        prefix = "" if inside == "." else Path(inside).as_posix() + "/"
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        meta = _load_metadata(dirpath, skipped) if METADATA_NAME in filenames else {}
        for name in sorted(filenames):
            if name.startswith(".") or name == METADATA_NAME:
                continue
            suffix = os.path.splitext(name)[1].lower()
            if suffix not in ARTICLE_SUFFIXES and suffix not in JSONL_SUFFIXES:
                continue
            path = os.path.join(dirpath, name)  # strings, not Path objects: a scan sees every file
            try:
                fst = os.stat(path)
            except OSError as exc:
                dangling = exc.errno == errno.ENOENT and os.path.islink(path)
                reason = "broken symbolic link (its target is missing)" if dangling else os_reason(exc)
                skipped.append(Skipped(printable(path), reason))
                continue
            what = not_regular(fst.st_mode)
            if what:
                skipped.append(Skipped(printable(path), f"{what}, not a regular file: not read"))
                continue
            yield SourceFile(
                root=root_text,
                rel=printable(prefix + name),
                size=fst.st_size,
                mtime_ns=fst.st_mtime_ns,
                meta=meta.get(name),
                is_jsonl=suffix in JSONL_SUFFIXES,
                fs_path=path,
            )


def source_at(root: str, rel: str) -> SourceFile | None:
    """The article file ``rel`` under ``root`` as a scan would list it, without scanning the folder
    (None when it is not there, or not a regular file). For a file of a folder this run does not
    scan, whose copy of an article became the one cited."""
    path = os.path.join(root, rel)
    suffix = os.path.splitext(path)[1].lower()
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not_regular(st.st_mode):
        return None
    folder, name = os.path.split(path)
    meta = _load_metadata(folder, []) if os.path.exists(os.path.join(folder, METADATA_NAME)) else {}
    return SourceFile(
        root=root,
        rel=rel,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        meta=meta.get(name),
        is_jsonl=suffix in JSONL_SUFFIXES,
        fs_path=path,
    )


def _hash(data: bytes, meta: dict[str, Any] | None) -> str:
    h = hashlib.sha256(data)
    if meta:
        h.update(json.dumps(meta, sort_keys=True).encode())
    return h.hexdigest()


def read(source: SourceFile) -> tuple[list[Record], list[Skipped]]:
    """Read and parse one source file. Never raises for a bad file: it is reported instead.

    Returns the articles read and what was skipped; warnings about articles that were read
    (a legacy encoding, a bad metadata date) are in each ``record.article.warnings``.
    """
    where = source.shown
    limit = MAX_JSONL_BYTES if source.is_jsonl else MAX_ARTICLE_BYTES
    if source.size > limit:
        return [], [Skipped(where, too_big(source.size, limit))]
    try:
        data = read_regular(str(source.path), limit)
    except ArticleError as exc:
        return [], [Skipped(where, exc.reason)]
    if source.is_jsonl:
        return _read_jsonl(source, data)
    try:
        article = parse_bytes(data)
    except ArticleError as exc:
        return [], [Skipped(where, str(exc))]
    apply_meta(article, source.meta)
    return [Record(source.rel, _hash(data, source.meta), article)], []


def _read_jsonl(source: SourceFile, data: bytes) -> tuple[list[Record], list[Skipped]]:
    """One record a line; each line that is not an article is reported with its number."""
    records: list[Record] = []
    problems: list[Skipped] = []
    try:
        text, warning = decode(data)
    except ArticleError as exc:
        return [], [Skipped(source.shown, str(exc))]
    for number, line in enumerate(lines(text), start=1):
        if not line.strip():
            continue
        try:
            article = article_from_row(loads(line))
        except ArticleError as exc:
            problems.append(Skipped(f"{source.shown}#{number}", exc.reason))
            continue
        records.append(Record(f"{source.rel}#{number}", _hash(line.encode(), None), article))
    if warning and records:
        records[0].article.warnings.append(warning)
    if not records and not problems:
        problems.append(Skipped(source.shown, "no articles in the file"))
    return records, problems
