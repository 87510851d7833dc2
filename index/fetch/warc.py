"""Import the articles of a web archive (WARC, plain or gzipped) as news files.

Response records holding an HTML page are read, and trafilatura decides which hold an article;
those are written like feed articles (:mod:`newsbot.index.fetch.archive`) with the record's URL,
the page's date (else the crawl date, marked as such) and its author. Runs are resumable: how far
each archive got is kept in the folder (``.newsbot-warc-imports.json``), a finished archive is
not read again, an interrupted one resumes after the last record saved, and a link already stored
is not extracted again. A progress callback sees the bytes read; the report counts what was kept
and why the rest was skipped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]
from warcio.exceptions import ArchiveLoadFailed  # type: ignore[import-untyped]

from newsbot.index.fetch.archive import Archive, Draft
from newsbot.index.fetch.discover import HTML_TYPES
from newsbot.index.fetch.errors import ArchiveError, WarcError
from newsbot.index.fetch.items import parse_datetime
from newsbot.index.fetch.pages import extract_article
from newsbot.index.fetch.text import canonical_url, clean_line

PROGRESS_NAME = ".newsbot-warc-imports.json"
DEFAULT_MIN_CHARS = 500
DEFAULT_MAX_PAGE_BYTES = 3_000_000
SAVE_EVERY = 200  # records between two saves of the resume point
PROGRESS_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class WarcProgress:
    path: str
    bytes_read: int
    total_bytes: int
    records: int
    kept: int


@dataclass(slots=True)
class WarcReport:
    path: str
    folder: str
    records: int = 0  # WARC records read, of every type
    responses: int = 0  # response records among them
    kept: int = 0  # pages stored as new articles
    duplicates: int = 0  # pages whose link or text was already stored
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> pages
    resumed_after: int = 0  # records skipped because an earlier run had read them
    already_done: bool = False  # an earlier run finished this archive: nothing was read
    errors: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.already_done:
            return f"{self.path}: already imported into {self.folder}; nothing to add"
        text = (
            f"{self.path}: {self.records:,} records, {self.responses:,} responses; "
            f"{self.kept:,} articles kept, {self.duplicates:,} already stored"
        )
        if self.skipped:
            text += "; skipped: " + ", ".join(f"{n:,} {reason}" for reason, n in self.skipped.most_common())
        if self.resumed_after:
            text += f" (resumed after record {self.resumed_after:,})"
        return text


def fingerprint(path: Path) -> str:
    """Identifies an archive file by its size and first MiB (its name may change)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(str(os.fstat(f.fileno()).st_size).encode())
        h.update(f.read(1 << 20))
    return h.hexdigest()[:32]


def import_warc(
    path: Path | str,
    folder: Path | str,
    *,
    source: str | None = None,
    min_chars: int = DEFAULT_MIN_CHARS,
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    progress: Callable[[WarcProgress], None] | None = None,
    force: bool = False,
    archive: Archive | None = None,
) -> WarcReport:
    """Import ``path`` into ``folder``. Raises :class:`WarcError` when the file is not a readable
    web archive, :class:`ArchiveError` when the folder cannot be written; a file damaged part way
    is reported in ``errors`` with what was read before the damage kept."""
    path = Path(path)
    folder = Path(folder)
    report = WarcReport(path=str(path), folder=str(folder))
    try:
        total = path.stat().st_size
        key = fingerprint(path)
    except OSError as exc:
        raise WarcError(str(path), f"cannot read it ({exc.strerror})") from None
    own = archive is None
    store = archive or Archive(folder)
    try:
        resume = _load_progress(folder)
        entry = resume.get(key, {})
        if entry.get("done") and not force:
            report.already_done = True
            return report
        start_after = 0 if force else int(entry.get("records", 0) or 0)
        report.resumed_after = start_after
        _read(
            path, total, key, store, report, resume, start_after, source, min_chars, max_page_bytes, progress
        )
    finally:
        if own:
            store.close()
    return report


def _read(
    path: Path,
    total: int,
    key: str,
    store: Archive,
    report: WarcReport,
    resume: dict[str, Any],
    start_after: int,
    source: str | None,
    min_chars: int,
    max_page_bytes: int,
    progress: Callable[[WarcProgress], None] | None,
) -> None:
    last_tick = 0.0

    def save(done: bool) -> None:
        store.flush()
        resume[key] = {"file": path.name, "records": report.records, "done": done, "at": _now()}
        _save_progress(store.folder, resume)

    def tick(force_it: bool = False) -> None:
        nonlocal last_tick
        if progress is None:
            return
        now = time.monotonic()
        if force_it or now - last_tick >= PROGRESS_SECONDS:
            last_tick = now
            progress(WarcProgress(str(path), raw.tell(), total, report.records, report.kept))

    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below; tell() feeds the progress callback
    except OSError as exc:
        raise WarcError(str(path), f"cannot open it ({exc.strerror})") from None
    with raw:
        if not _looks_like_warc(raw):
            raise WarcError(str(path), "not a web archive (WARC) file: it does not start with a WARC record")
        try:
            for record in ArchiveIterator(raw):
                report.records += 1
                if report.records <= start_after:
                    continue
                _record(record, path, store, report, source, min_chars, max_page_bytes)
                if report.records % SAVE_EVERY == 0:
                    save(False)
                tick()
        except ArchiveLoadFailed as exc:
            if report.records == 0:
                raise WarcError(
                    str(path), f"not a web archive (WARC) file ({clean_line(str(exc.msg))[:160]})"
                ) from None
            reason = clean_line(str(exc.msg))[:160]
            report.errors.append(f"{path}: unreadable after record {report.records:,} ({reason}); stopped")
        except (OSError, EOFError, ValueError) as exc:  # a truncated gzip member, say
            if report.records == 0:
                raise WarcError(str(path), f"cannot read it ({exc})") from None
            report.errors.append(f"{path}: damaged after record {report.records:,} ({exc}); stopped")
        if report.records == 0 and total > 0:
            raise WarcError(str(path), "not a web archive (WARC) file: no record found")
        save(done=not report.errors)
        tick(True)


def _looks_like_warc(raw: BinaryIO) -> bool:
    """A WARC file starts with ``WARC/``, as plain text or inside its first gzip member."""
    head = raw.read(4096)
    raw.seek(0)
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        except zlib.error:
            return False
    return head.lstrip(b"\r\n").startswith(b"WARC/")


def _record(
    record: Any,
    path: Path,
    store: Archive,
    report: WarcReport,
    source: str | None,
    min_chars: int,
    max_page_bytes: int,
) -> None:
    if record.rec_type != "response":
        report.skipped["not a response record"] += 1
        return
    report.responses += 1
    headers = record.http_headers
    if headers is None:
        report.skipped["not an HTTP response"] += 1
        return
    status = headers.get_statuscode()
    if status != "200":
        report.skipped[f"HTTP status {status}"] += 1
        return
    ctype = (headers.get_header("Content-Type") or "").lower()
    media = ctype.split(";", 1)[0].strip()
    if media not in HTML_TYPES:
        report.skipped["not HTML"] += 1
        return
    target = record.rec_headers.get_header("WARC-Target-URI") or ""
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        report.skipped["no http(s) target URL"] += 1
        return
    url = canonical_url(target)
    if store.file_for(url=url) is not None:
        report.duplicates += 1
        return
    try:
        body = record.content_stream().read(max_page_bytes + 1)
    except (OSError, ValueError, EOFError):
        report.skipped["body unreadable"] += 1
        return
    if len(body) > max_page_bytes:
        report.skipped["page too large"] += 1
        return
    charset = None
    for part in ctype.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip() == "charset":
            charset = value.strip().strip("\"'") or None
    page = extract_article(body, url, charset=charset, min_chars=min_chars)
    if page is None or not page.title:
        report.skipped["no article on the page"] += 1
        return
    crawled = parse_datetime(record.rec_headers.get_header("WARC-Date")) or dt.datetime.now(dt.UTC)
    estimated = page.date is None or page.date > crawled.date()
    draft = Draft(
        title=page.title,
        date=crawled.date() if estimated else page.date,  # type: ignore[arg-type]
        paragraphs=page.paragraphs,
        url=url,
        source=source or urlsplit(url).hostname,
        author=page.author,
        published=None,
        fetched=crawled,
        date_estimated=estimated,
        text_from="warc",
        extra={"warc": path.name, "warc_record": record.rec_headers.get_header("WARC-Record-ID")},
    )
    stored = store.store(draft)
    if stored.status == "new":
        report.kept += 1
        report.written.append(str(store.folder / stored.file))
    else:
        report.duplicates += 1


def _load_progress(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / PROGRESS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_progress(folder: Path, data: dict[str, Any]) -> None:
    target = folder / PROGRESS_NAME
    tmp = folder / f".{PROGRESS_NAME}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ArchiveError(str(folder), f"cannot save the import's progress ({exc.strerror})") from None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
