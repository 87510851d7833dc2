"""Find the article files under the configured folders and read them into parsed records.

Folders are walked recursively (symbolic links followed, loops detected). ``*.txt`` files are
articles in the reference format; ``*.jsonl`` files other than ``metadata.jsonl`` hold one article
per line (``{"title", "date", "url", "source", "text" or "paragraphs"}``); a ``metadata.jsonl``
supplies title, date, source and link for the files beside it. Hidden files and other file types
are ignored. Everything that goes wrong with one file becomes a :class:`Skipped` entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsbot.index.errors import ArticleError
from newsbot.index.ingest.parse import (
    Article,
    decode,
    parse_bytes,
    parse_date,
    split_paragraphs,
    utf8,
)
from newsbot.index.model import Skipped

ARTICLE_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl",)
METADATA_NAME = "metadata.jsonl"
MAX_ARTICLE_BYTES = 10 * 1024 * 1024
MAX_JSONL_BYTES = 2 * 1024 * 1024 * 1024
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
    # changes whenever the file or its metadata row changes (no need to read the file)
    stamp: str = field(init=False)

    def __post_init__(self) -> None:
        meta = json.dumps(self.meta, sort_keys=True) if self.meta else ""
        stamp = f"{self.size}:{self.mtime_ns}:{hashlib.sha1(meta.encode()).hexdigest()[:12]}"
        object.__setattr__(self, "stamp", stamp)

    @property
    def path(self) -> Path:
        return Path(self.root, self.rel)


@dataclass(slots=True)
class Record:
    """One article read from a source file (a ``.txt`` file is one record, a JSONL line another)."""

    rel: str  # the article's path: the file, or ``file.jsonl#LINE``
    content_hash: str
    article: Article
    # the terms of the title and of each paragraph, each joined by NUL, when a worker process
    # tokenized them already (see workers.read_and_tokenize)
    terms: list[str] | None = None


def _display(path: Path) -> str:
    return str(path)


def _load_metadata(folder: Path, skipped: list[Skipped]) -> dict[str, dict[str, Any]]:
    meta_path = folder / METADATA_NAME
    rows: dict[str, dict[str, Any]] = {}
    try:
        lines = meta_path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except FileNotFoundError:
        return rows
    except OSError as exc:
        skipped.append(Skipped(_display(meta_path), f"cannot read metadata ({exc.strerror})"))
        return rows
    bad = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(row, dict) and isinstance(row.get("file"), str):
            rows[row["file"]] = row
        else:
            bad += 1
    if bad:
        skipped.append(Skipped(_display(meta_path), f"{bad} metadata line(s) unreadable, ignored"))
    return rows


def scan(folders: list[Path]) -> tuple[list[SourceFile], list[Skipped]]:
    """Every article file under ``folders``, sorted, plus the problems met while looking."""
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    seen_roots: set[str] = set()
    for folder in folders:
        try:
            root = folder.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            reason = "folder not found" if isinstance(exc, FileNotFoundError) else f"cannot open ({exc})"
            skipped.append(Skipped(str(folder), reason))
            continue
        if not root.is_dir():
            skipped.append(Skipped(str(folder), "not a folder"))
            continue
        if str(root) in seen_roots:
            continue
        seen_roots.add(str(root))
        found.extend(_walk(root, skipped))
    found.sort(key=lambda f: (f.root, f.rel))
    return found, skipped


def unreadable_folders(skipped: list[Skipped]) -> list[str]:
    """The folders a scan could not list: what they hold is unknown, not gone."""
    return [s.path for s in skipped if s.reason.startswith(UNREADABLE_FOLDER)]


def _walk(root: Path, skipped: list[Skipped]) -> Iterator[SourceFile]:
    visited: set[tuple[int, int]] = set()
    root_text = str(root)

    def on_error(exc: OSError) -> None:
        skipped.append(Skipped(str(exc.filename), f"{UNREADABLE_FOLDER} ({exc.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=on_error):
        here = Path(dirpath)
        try:
            st = here.stat()
        except OSError as exc:
            skipped.append(Skipped(str(here), f"{UNREADABLE_FOLDER} ({exc.strerror})"))
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in visited:
            skipped.append(Skipped(str(here), "symbolic link loop: folder already visited"))
            dirnames[:] = []
            continue
        visited.add((st.st_dev, st.st_ino))
        inside = os.path.relpath(dirpath, root)
        prefix = "" if inside == "." else Path(inside).as_posix() + "/"
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        meta = _load_metadata(here, skipped) if METADATA_NAME in filenames else {}
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
                reason = "symbolic link loop" if exc.errno == 40 else f"cannot read ({exc.strerror})"
                skipped.append(Skipped(path, reason))
                continue
            yield SourceFile(
                root=root_text,
                rel=prefix + name,
                size=fst.st_size,
                mtime_ns=fst.st_mtime_ns,
                meta=meta.get(name),
                is_jsonl=suffix in JSONL_SUFFIXES,
            )


def _apply_meta(article: Article, meta: dict[str, Any] | None) -> None:
    if not meta:
        return
    for key in ("source", "url"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            setattr(article, key, utf8(value.strip()))
    if article.date is None and isinstance(meta.get("date"), str):
        try:
            article.date = parse_date(meta["date"])
        except ArticleError as exc:
            article.warnings.append(f"metadata: {exc}")


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
    where = str(source.path)
    limit = MAX_JSONL_BYTES if source.is_jsonl else MAX_ARTICLE_BYTES
    if source.size > limit:
        return [], [
            Skipped(where, f"file is {source.size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit")
        ]
    try:
        data = source.path.read_bytes()
    except FileNotFoundError:
        return [], [Skipped(where, "file disappeared while indexing")]
    except IsADirectoryError:
        return [], [Skipped(where, "is a folder, not a file")]
    except OSError as exc:
        reason = "symbolic link loop" if exc.errno == 40 else f"cannot read ({exc.strerror})"
        return [], [Skipped(where, reason)]
    if len(data) > limit:
        return [], [Skipped(where, f"file is {len(data) / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit")]
    if source.is_jsonl:
        return _read_jsonl(source, data)
    try:
        article = parse_bytes(data)
    except ArticleError as exc:
        return [], [Skipped(where, str(exc))]
    _apply_meta(article, source.meta)
    return [Record(source.rel, _hash(data, source.meta), article)], []


def _article_from_row(row: Any) -> Article:
    if not isinstance(row, dict):
        raise ArticleError("not a JSON object")
    title = row.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ArticleError("no title")
    paragraphs: list[str]
    if isinstance(row.get("paragraphs"), list):
        paragraphs = [" ".join(str(p).split()) for p in row["paragraphs"] if str(p).strip()]
    elif isinstance(row.get("text"), str):
        paragraphs = split_paragraphs(row["text"].replace("\r\n", "\n"))
    else:
        raise ArticleError('no "text" or "paragraphs"')
    if not paragraphs:
        raise ArticleError("title but no body")
    date: dt.date | None = None
    raw_date = row.get("date")
    if isinstance(raw_date, str) and raw_date.strip():
        date = parse_date(raw_date.strip()[:10])
    # a JSON escape can make a lone surrogate, which SQLite refuses
    paragraphs = [utf8(p) for p in paragraphs]
    article = Article(title=utf8(" ".join(title.split())), date=date, paragraphs=paragraphs)
    _apply_meta(article, {k: row.get(k) for k in ("source", "url")})
    return article


def _read_jsonl(source: SourceFile, data: bytes) -> tuple[list[Record], list[Skipped]]:
    records: list[Record] = []
    problems: list[Skipped] = []
    try:
        text, warning = decode(data)
    except ArticleError as exc:
        return [], [Skipped(str(source.path), str(exc))]
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        rel = f"{source.rel}#{number}"
        try:
            article = _article_from_row(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(Skipped(f"{source.path}#{number}", f"not valid JSON ({exc.msg})"))
            continue
        except ArticleError as exc:
            problems.append(Skipped(f"{source.path}#{number}", str(exc)))
            continue
        records.append(Record(rel, _hash(line.encode(), None), article))
    if warning and records:
        records[0].article.warnings.append(warning)
    if not records and not problems:
        problems.append(Skipped(str(source.path), "no articles in the file"))
    return records, problems
