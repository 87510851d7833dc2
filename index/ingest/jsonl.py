"""JSON lines from outside (a JSONL feed, a ``metadata.jsonl``): parsed with bounded nesting, and
checked field by field before anything is taken from them.

Python's parser recurses once per bracket: a 2 KB line of ``[[[[…`` raises ``RecursionError``. So a
line's nesting depth is measured first (brackets inside strings do not count) and a line deeper
than :data:`MAX_DEPTH` is refused; an article needs two levels. Each problem is an
:class:`ArticleError` whose reason the reindex reports after the file and line number.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import numpy as np

from newsbot.index.errors import ArticleError
from newsbot.index.ingest.parse import MAX_TITLE_CHARS, Article, parse_date, split_paragraphs, utf8

MAX_DEPTH = 32  # levels of nested arrays and objects in one line
MAX_SOURCE_CHARS = 300
MAX_URL_CHARS = 4096
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_LINE_END = re.compile(r"\r\n|\r|\n")


def lines(text: str) -> list[str]:
    """The lines of a JSONL text. Only CR and LF end a line: U+2028, U+2029 and U+0085, which
    ``str.splitlines`` also splits on, may stand unescaped inside a JSON string."""
    return _LINE_END.split(text)


def too_deep(line: str, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels deep in the JSON text ``line``."""
    if line.count("[") + line.count("{") <= limit:  # the usual line: no need to look closer
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", line)).encode("ascii")
    steps = np.frombuffer(brackets, dtype=np.uint8)
    # "[" and "{" open a level, "]" and "}" close one
    levels = np.cumsum(np.where((steps == ord("[")) | (steps == ord("{")), 1, -1))
    return bool(levels.size) and int(levels.max()) > limit


def loads(line: str) -> Any:
    """One JSON value, or :class:`ArticleError` saying why the line is not one."""
    if too_deep(line):
        raise ArticleError(f"JSON nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ArticleError(f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ArticleError(f"JSON nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:  # an integer of more than 4,300 digits
        raise ArticleError("not valid JSON (a number too long)") from None


def kind(value: Any) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else "text"


def _title(row: dict[str, Any]) -> str:
    title = row.get("title")
    if title is not None and not isinstance(title, str):
        raise ArticleError(f'"title" is {kind(title)}, not text')
    title = " ".join((title or "").split())
    if not title:
        raise ArticleError("no title")
    if len(title) > MAX_TITLE_CHARS:
        raise ArticleError(f"title is {len(title):,} characters: not a title")
    return utf8(title)


def _paragraphs(row: dict[str, Any]) -> list[str]:
    given = row.get("paragraphs")
    if isinstance(given, list):
        for number, item in enumerate(given, start=1):
            if not isinstance(item, str):
                raise ArticleError(f'"paragraphs" item {number} is {kind(item)}, not text')
        paragraphs = [" ".join(p.split()) for p in given if p.strip()]
    elif isinstance(row.get("text"), str):
        paragraphs = split_paragraphs(row["text"].replace("\r\n", "\n"))
    elif row.get("text") is not None:
        raise ArticleError(f'"text" is {kind(row["text"])}, not text')
    else:
        raise ArticleError('no "text" or "paragraphs"')
    if not paragraphs:
        raise ArticleError("title but no body")
    return [utf8(p) for p in paragraphs]  # a JSON escape can make a lone surrogate, which SQLite refuses


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ArticleError(f'"date" is {kind(value)}, not text')
    return parse_date(value.strip()[:10])


def article_from_row(row: Any) -> Article:
    """The article of one line of a JSONL feed (``{"title", "date", "url", "source", "text" or
    "paragraphs"}``); raises :class:`ArticleError` for a line that cannot be one."""
    if not isinstance(row, dict):
        raise ArticleError("not a JSON object")
    title = _title(row)
    paragraphs = _paragraphs(row)
    article = Article(title=title, date=_date(row.get("date")), paragraphs=paragraphs)
    apply_meta(article, {k: row.get(k) for k in ("source", "url")})
    return article


def apply_meta(article: Article, meta: dict[str, Any] | None) -> None:
    """Take the source, link and (for an undated article) the date from a metadata row; what is
    not text is ignored, and what is too long is ignored with a warning."""
    if not meta:
        return
    for key, limit in (("source", MAX_SOURCE_CHARS), ("url", MAX_URL_CHARS)):
        value = meta.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        if len(value.strip()) > limit:
            article.warnings.append(f"{key} is {len(value.strip()):,} characters: ignored")
            continue
        setattr(article, key, utf8(value.strip()))
    if article.date is None and isinstance(meta.get("date"), str):
        try:
            article.date = parse_date(meta["date"])
        except ArticleError as exc:
            article.warnings.append(f"metadata: {exc}")


def metadata_row(line: str) -> tuple[str, dict[str, Any]]:
    """The file a ``metadata.jsonl`` line is about, and the row; :class:`ArticleError` otherwise."""
    row = loads(line)
    if not isinstance(row, dict):
        raise ArticleError("not a JSON object")
    name = row.get("file")
    if not isinstance(name, str) or not name:
        raise ArticleError('no "file" name')
    return name, row
