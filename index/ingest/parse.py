"""Turn the bytes of one stored article into a title, a date and paragraphs.

The reference format (``../shared/seeds/``)::

     date 2020-10-16 Title of the article
    <blank line>
    First paragraph.
    <blank line>
    Second paragraph.

The leading space is optional, and so is the ``date YYYY-MM-DD`` part (a bare title, as in the
BBC corpus). CRLF and CR line endings, a UTF-8 BOM and text in legacy encodings are accepted.
Lines of one paragraph are joined with a space. Problems raise :class:`ArticleError` with a
reason fit to print after the file's path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from newsbot.index.errors import ArticleError

MAX_TITLE_CHARS = 500

_HEADER = re.compile(r"^\s*date\s+(\S+)\s*(.*)$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BLANK_LINES = re.compile(r"\n[ \t\f\v\u00a0]*\n[\s]*")
_SPACE = re.compile(r"\s+")


_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8(text: str) -> str:
    """``text`` as it can be stored and sent (UTF-8): each lone surrogate replaced by U+FFFD.

    Lone surrogates come from a JSON escape such as ``"\\ud800"`` or from the undecodable bytes of a
    command line; SQLite and Discord refuse them.
    """
    return _SURROGATE.sub("\ufffd", text)


@dataclass(slots=True)
class Article:
    """One parsed article, before it is stored."""

    title: str
    date: dt.date | None
    paragraphs: list[str]
    source: str | None = None
    url: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def text_hash(self) -> str:
        """A fingerprint of the normalised text: two files telling the same article share it."""
        h = hashlib.sha256()
        h.update(_SPACE.sub(" ", self.title).strip().casefold().encode())
        for p in self.paragraphs:
            h.update(b"\x00")
            h.update(_SPACE.sub(" ", p).strip().casefold().encode())
        return h.hexdigest()


def decode(data: bytes) -> tuple[str, str | None]:
    """Bytes to text: UTF-8 (with or without a BOM), else UTF-16 with a BOM, else Windows-1252.

    Returns the text and a warning when a fallback was used. Raises ArticleError for binary data.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "decoded as UTF-16"
        except UnicodeDecodeError:
            raise ArticleError("binary file (not text)") from None
    if b"\x00" in data[:8192]:
        raise ArticleError("binary file (not text)")
    try:
        text = data.decode("utf-8-sig")
        warning = None
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        warning = "not valid UTF-8: decoded as Windows-1252"
    sample = text[:8192]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f\v")
    if sample and controls / len(sample) > 0.05:
        raise ArticleError("binary file (not text)")
    return text, warning


def parse_date(value: str) -> dt.date:
    """An ISO date ``YYYY-MM-DD``; raises ArticleError when impossible or malformed."""
    if not _ISO.match(value):
        raise ArticleError(f"date {value!r} is not YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ArticleError(f"impossible date {value}") from None


def split_paragraphs(body: str) -> list[str]:
    """Paragraphs are separated by blank lines; the lines of one paragraph are joined by a space."""
    parts = _BLANK_LINES.split(body)
    return [p for p in (_SPACE.sub(" ", part).strip() for part in parts) if p]


def parse_text(text: str) -> Article:
    """Parse an article already decoded to text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not text.strip():
        raise ArticleError("empty file")
    first, _, body = text.lstrip("\n").partition("\n")
    header = _HEADER.match(first)
    date: dt.date | None = None
    if header and header.group(1)[0].isdigit():
        date = parse_date(header.group(1))
        title = header.group(2).strip()
    else:
        title = first.strip()
    title = _SPACE.sub(" ", title)
    if not title:
        raise ArticleError("no title on the first line")
    if len(title) > MAX_TITLE_CHARS:
        raise ArticleError(f"first line is {len(title):,} characters: not a title")
    paragraphs = split_paragraphs(body)
    if not paragraphs:
        raise ArticleError("title but no body")
    return Article(title=title, date=date, paragraphs=paragraphs)


def parse_bytes(data: bytes) -> Article:
    """Decode and parse one article file's bytes."""
    text, warning = decode(data)
    article = parse_text(text)
    if warning:
        article.warnings.append(warning)
    return article
