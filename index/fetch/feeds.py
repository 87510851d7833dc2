"""Read a feed (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.x) into items ready to be stored.

XML feeds are parsed by ``feedparser``; JSON Feed by ``json`` here, within size and depth limits.
No XML entity is ever expanded from the feed: a document type's internal subset (where entities
are declared) is removed before parsing, and ``feedparser`` itself fetches no external entity and
keeps only plain character entities. Every problem with the feed or one of its items (malformed XML,
a wrong charset, an item without a link or a date, a date in the future, an id used twice) is
reported as a :class:`FeedProblem` naming the feed and the item; every other item is kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import io
import json
import re
import time
import warnings
from dataclasses import dataclass, field
from html.entities import name2codepoint
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser  # type: ignore[import-untyped]

from newsbot.index.fetch.errors import NotAFeedError
from newsbot.index.fetch.text import canonical_url, clean_line, html_paragraphs, text_paragraphs

MAX_JSON_DEPTH = 32
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
UNTITLED_WORDS = 12

JSON_FEED_TYPES = ("application/feed+json", "application/json", "text/json")
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class FeedProblem:
    """Something wrong with a feed, or with one of its items (``item`` says which)."""

    feed: str
    item: str | None
    message: str

    def __str__(self) -> str:
        where = f"feed {self.feed}" + (f", {self.item}" if self.item else "")
        return f"{where}: {self.message}"


@dataclass(slots=True)
class FeedItem:
    """One item of a feed, normalised."""

    position: int  # its place in the feed, from 1
    id: str  # its id (guid, Atom id, JSON Feed id), else its link, else a hash of its text
    link: str | None  # absolute http(s) URL, tracking parameters removed
    title: str
    published: dt.datetime  # timezone-aware; the fetch time when the item has none (see date_note)
    date_note: str | None  # None, "missing" or "future": then ``published`` is the fetch time
    updated: dt.datetime | None
    author: str | None
    paragraphs: list[str]  # the item's own text (content, else summary)
    full_content: bool  # the feed gave content, not only a summary
    item_hash: str  # changes when the item's title, text or dates change
    title_from_text: bool = False  # the item had no title: ``title`` is its first words

    @property
    def date_estimated(self) -> bool:
        return self.date_note is not None

    @property
    def ref(self) -> str:
        """The item in a message: ``item 3 (https://…)``."""
        return f"item {self.position} ({self.link or self.title[:60] or self.id[:60]})"

    @property
    def text_chars(self) -> int:
        return sum(len(p) for p in self.paragraphs)


@dataclass(slots=True)
class ParsedFeed:
    url: str
    format: str  # feedparser's version ("rss20", "atom10"…) or "json1"/"json11"
    title: str | None
    link: str | None
    items: list[FeedItem] = field(default_factory=list)
    problems: list[FeedProblem] = field(default_factory=list)


def parse_feed(
    data: bytes,
    *,
    url: str,
    content_type: str = "",
    charset: str | None = None,
    fetched_at: dt.datetime | None = None,
    max_items: int | None = None,
    base_url: str | None = None,
) -> ParsedFeed:
    """Parse the bytes of a feed fetched from ``url`` (``base_url``: where it was finally fetched
    from after redirects, for relative links). Raises :class:`NotAFeedError` when the bytes are not
    a feed at all (an HTML page, an empty body, some other JSON); anything less is a problem
    reported in the result, naming ``url``."""
    fetched_at = fetched_at or dt.datetime.now(dt.UTC)
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise NotAFeedError(url, "the server sent an empty body")
    base = base_url or url
    if head.startswith((b"{", b"[")):
        return _parse_json_feed(data, url=url, base=base, fetched_at=fetched_at, max_items=max_items)
    if content_type in JSON_FEED_TYPES and not head.startswith(b"<"):
        raise NotAFeedError(url, "served as JSON, but it is not a JSON object")
    return _parse_xml_feed(data, url, base, content_type, charset, fetched_at, max_items)


# -- XML feeds ----------------------------------------------------------------------------------


def _parse_xml_feed(
    data: bytes,
    url: str,
    base: str,
    content_type: str,
    charset: str | None,
    fetched_at: dt.datetime,
    max_items: int | None,
) -> ParsedFeed:
    problems: list[FeedProblem] = []
    data, stripped = strip_internal_subset(data)
    if stripped:
        problems.append(
            FeedProblem(url, None, "the feed declares entities in a DOCTYPE; they are not expanded")
        )
    data = _numeric_entities(data)
    headers = {"content-location": base}
    if content_type:
        headers["content-type"] = content_type + (f"; charset={charset}" if charset else "")
    result = feedparser.parse(
        io.BytesIO(data), response_headers=headers, resolve_relative_uris=False, sanitize_html=False
    )
    version = result.get("version") or ""
    entries = result.get("entries") or []
    if not version and not entries:
        if looks_like_html(data, content_type):
            raise NotAFeedError(url, "it is a web page (HTML), not a feed", links=feed_links(data, base))
        reason = _bozo_reason(result.get("bozo_exception"))
        raise NotAFeedError(url, "it is not RSS, Atom or JSON Feed" + (f" ({reason})" if reason else ""))
    if result.get("bozo"):
        exc = result.get("bozo_exception")
        name = type(exc).__name__
        if name in ("CharacterEncodingOverride", "CharacterEncodingUnknown", "NonXMLContentType"):
            problems.append(FeedProblem(url, None, f"{exc} (encoding used: {result.get('encoding')})"))
        else:
            problems.append(
                FeedProblem(
                    url,
                    None,
                    f"malformed XML ({_bozo_reason(exc)}); read leniently: {len(entries)} item(s) recovered",
                )
            )
    feed_info = result.get("feed") or {}
    parsed = ParsedFeed(
        url=url,
        format=version or "unknown",
        title=clean_line(feed_info.get("title", "")) or None,
        link=_http_link(feed_info.get("link"), base),
        problems=problems,
    )
    with warnings.catch_warnings():  # feedparser warns that "updated" falls back to "published"
        warnings.simplefilter("ignore", DeprecationWarning)
        raw_items = [_from_feedparser(entry) for entry in entries]
    _finish(parsed, raw_items, base, fetched_at, max_items)
    return parsed


def _from_feedparser(entry: Any) -> dict[str, Any]:
    content_html = ""
    for content in entry.get("content") or []:
        value = content.get("value") or ""
        if content.get("type") == "text/plain":
            value = "".join(f"<p>{_escape(p)}</p>" for p in text_paragraphs(value))
        if len(value) > len(content_html):
            content_html = value
    summary = entry.get("summary") or ""
    title = entry.get("title") or ""
    if (entry.get("title_detail") or {}).get("type") == "text/html":
        title = " ".join(html_paragraphs(title))
    link = entry.get("link")
    if not link:
        for candidate in entry.get("links") or []:
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = candidate["href"]
                break
    return {
        "id": entry.get("id"),
        "link": link,
        "title": title,
        "content_html": content_html,
        "summary_html": summary,
        "published": _entry_date(entry, "published") or _entry_date(entry, "created"),
        "updated": _entry_date(entry, "updated"),
        "author": entry.get("author"),
    }


def _entry_date(entry: Any, key: str) -> dt.datetime | None:
    return parse_datetime(entry.get(key), entry.get(f"{key}_parsed"))


def parse_datetime(raw: Any, parsed: time.struct_time | None = None) -> dt.datetime | None:
    """A feed date (RFC 822, RFC 3339/ISO 8601), keeping its UTC offset; ``parsed`` (feedparser's
    UTC reading) when the text itself cannot be read. Naive times are taken as UTC."""
    value: dt.datetime | None = None
    if isinstance(raw, str) and raw.strip():
        text = raw.strip()
        try:
            value = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            try:
                value = dt.datetime.fromisoformat(text)
            except ValueError:
                value = None
    if value is None and parsed is not None:
        try:
            value = dt.datetime(*parsed[:6], tzinfo=dt.UTC)
        except (TypeError, ValueError):
            value = None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _bozo_reason(exc: Any) -> str:
    if exc is None:
        return ""
    text = str(exc).replace("<unknown>:", "line ").strip()
    return text[:200] or type(exc).__name__


_NAMED_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})


def _numeric_entities(data: bytes) -> bytes:
    """HTML's named entities (``&eacute;``, common in RSS 0.91) as character references, which
    every XML parser reads; the XML parser would otherwise drop or reject them."""

    def swap(m: re.Match[bytes]) -> bytes:
        name = m.group(1)
        if name in _XML_ENTITIES:
            return m.group(0)
        code = name2codepoint.get(name.decode("ascii"))
        return b"&#%d;" % code if code is not None else m.group(0)

    return _NAMED_ENTITY.sub(swap, data)


_PROLOG_END = re.compile(rb"<[A-Za-z_]")


def strip_internal_subset(data: bytes) -> tuple[bytes, bool]:
    """Remove the internal subset (``[ … ]``, where entities are declared) of a DOCTYPE before the
    root element; returns the bytes and whether anything was removed."""
    end = _PROLOG_END.search(data)
    prolog_end = end.start() if end else len(data)
    start = data.find(b"<!DOCTYPE", 0, prolog_end)
    if start < 0:
        start = data.upper().find(b"<!DOCTYPE", 0, prolog_end)
        if start < 0:
            return data, False
    i = start + 9
    quote = 0
    bracket_at = -1
    n = len(data)
    while i < n:
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x5B and bracket_at < 0:  # [
            bracket_at = i
            close = _subset_end(data, i + 1)
            if close < 0:
                return data[:start] + data[prolog_end:], True
            i = close
        elif c == 0x3E:  # >
            if bracket_at < 0:
                return data, False
            return data[:bracket_at] + b">" + data[i + 1 :], True
        i += 1
    return data[:start], True


def _subset_end(data: bytes, i: int) -> int:
    """Index of the ``]`` closing an internal subset starting at ``i`` (quotes and comments skipped)."""
    n = len(data)
    quote = 0
    while i < n:
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif data.startswith(b"<!--", i):
            close = data.find(b"-->", i + 4)
            if close < 0:
                return -1
            i = close + 2
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x5D:  # ]
            return i
        i += 1
    return -1


def looks_like_html(data: bytes, content_type: str = "") -> bool:
    """An HTML page rather than a feed: served as HTML, or starting like one."""
    if content_type in HTML_TYPES:
        head = data[:2048].lower()
        return b"<rss" not in head and b"<feed" not in head and b"<rdf" not in head
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:300]


class _FeedLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        a = {k: (v or "") for k, v in attrs}
        rel = a.get("rel", "").lower().split()
        kind = a.get("type", "").lower()
        if "alternate" in rel and kind in (
            "application/rss+xml",
            "application/atom+xml",
            "application/feed+json",
        ):
            self.links.append(a.get("href", ""))


def feed_links(html: bytes, base: str) -> list[str]:
    """The feeds a web page announces (``<link rel="alternate" type="application/rss+xml">``)."""
    parser = _FeedLinks()
    with contextlib.suppress(AssertionError, ValueError):
        parser.feed(html[:200_000].decode("utf-8", "replace"))
    out: list[str] = []
    for href in parser.links:
        link = _http_link(href, base)
        if link and link not in out:
            out.append(link)
    return out


# -- JSON Feed ----------------------------------------------------------------------------------


def _json_depth_ok(data: bytes, limit: int) -> bool:
    depth = 0
    for m in re.finditer(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', data):
        token = m.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return False
        elif token in (b"]", b"}"):
            depth -= 1
    return True


def _parse_json_feed(
    data: bytes, *, url: str, base: str, fetched_at: dt.datetime, max_items: int | None
) -> ParsedFeed:
    if not _json_depth_ok(data, MAX_JSON_DEPTH):
        raise NotAFeedError(url, f"JSON nested deeper than {MAX_JSON_DEPTH} levels: not a JSON Feed")
    try:
        doc = json.loads(data.decode("utf-8-sig", "replace"))
    except (ValueError, RecursionError) as exc:
        raise NotAFeedError(url, f"not valid JSON ({str(exc)[:120]})") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/1"):
        raise NotAFeedError(url, "JSON, but not a JSON Feed (no jsonfeed.org version)")
    problems: list[FeedProblem] = []
    items = doc.get("items")
    if not isinstance(items, list):
        problems.append(FeedProblem(url, None, 'no "items" list'))
        items = []
    raw_items: list[dict[str, Any]] = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(FeedProblem(url, f"item {position}", "not a JSON object; skipped"))
            raw_items.append({"skip": True})
            continue
        raw_items.append(_from_json_item(item))
    parsed = ParsedFeed(
        url=url,
        format="json11" if version.endswith("1.1") else "json1",
        title=clean_line(str(doc.get("title") or "")) or None,
        link=_http_link(doc.get("home_page_url"), base),
        problems=problems,
    )
    _finish(parsed, raw_items, base, fetched_at, max_items)
    return parsed


def _from_json_item(item: dict[str, Any]) -> dict[str, Any]:
    def text(key: str) -> str:
        value = item.get(key)
        return value if isinstance(value, str) else ""

    content_html = text("content_html")
    if not content_html and text("content_text"):
        content_html = "".join(f"<p>{_escape(p)}</p>" for p in text_paragraphs(text("content_text")))
    author = None
    authors = item.get("authors")
    if isinstance(authors, list):
        names = [str(a["name"]) for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
        author = ", ".join(names) or None
    elif isinstance(item.get("author"), dict) and isinstance(item["author"].get("name"), str):
        author = item["author"]["name"]
    raw_id = item.get("id")
    return {
        "id": str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None,
        "link": text("url") or text("external_url") or None,
        "title": text("title"),
        "content_html": content_html,
        "summary_html": _escape(text("summary")),
        "published": parse_datetime(text("date_published")),
        "updated": parse_datetime(text("date_modified")),
        "author": author,
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- common -------------------------------------------------------------------------------------


def _http_link(value: Any, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        link = urljoin(base, value.strip())
        scheme = urlsplit(link).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https") or len(link) > 2048:
        return None
    return canonical_url(link)


def _finish(
    parsed: ParsedFeed,
    raw_items: list[dict[str, Any]],
    base: str,
    fetched_at: dt.datetime,
    max_items: int | None,
) -> None:
    url = parsed.url
    ids: dict[str, int] = {}
    for position, raw in enumerate(raw_items, start=1):
        if raw.get("skip"):
            continue
        if max_items is not None and len(parsed.items) >= max_items:
            parsed.problems.append(
                FeedProblem(
                    url, None, f"{len(raw_items) - position + 1} item(s) past the first {max_items} left"
                )
            )
            break
        link = _http_link(raw.get("link"), base)
        ref = f"item {position} ({link})" if link else f"item {position}"

        def problem(message: str, ref: str = ref) -> None:
            parsed.problems.append(FeedProblem(url, ref, message))

        if raw.get("link") and link is None:
            problem(f"link {str(raw['link'])[:100]!r} is not an http(s) URL; ignored")
        content = html_paragraphs(raw.get("content_html") or "")
        summary = html_paragraphs(raw.get("summary_html") or "")
        paragraphs = content if sum(map(len, content)) >= sum(map(len, summary)) else summary
        title = clean_line(raw.get("title") or "")
        title_from_text = not title
        if not title:
            words = " ".join(paragraphs).split()
            if not words:
                problem("no title and no text; skipped")
                continue
            title = " ".join(words[:UNTITLED_WORDS]) + ("…" if len(words) > UNTITLED_WORDS else "")
            problem("no title; its first words are used")
        if link is None:
            problem("no link: stored from the feed's own text, identified by its id")
        published = raw.get("published") or raw.get("updated")
        note: str | None = None
        if published is None:
            note = "missing"
            problem("no date; the fetch time is used (marked as such)")
            published = fetched_at
        elif published > fetched_at + FUTURE_TOLERANCE:
            note = "future"
            problem(f"date {published.isoformat()} is in the future; the fetch time is used (marked as such)")
            published = fetched_at
        raw_id = clean_line(raw.get("id") or "")[:500]
        item_id = raw_id or link or _hash(title, *paragraphs)[:24]
        if item_id in ids:
            problem(f"id {item_id[:100]!r} was already used by item {ids[item_id]}; identified by its link")
            item_id = link or _hash(title, *paragraphs)[:24]
        ids.setdefault(item_id, position)
        updated = raw.get("updated")
        if updated is not None and updated > fetched_at + FUTURE_TOLERANCE:
            updated = None
        author = clean_line(raw.get("author") or "")[:200] or None
        parsed.items.append(
            FeedItem(
                position=position,
                id=item_id,
                link=link,
                title=title,
                published=published,
                date_note=note,
                updated=updated,
                author=author,
                paragraphs=paragraphs,
                full_content=bool(content) and content is paragraphs,
                item_hash=_hash(
                    title,
                    *paragraphs,
                    published.isoformat() if note is None else "",
                    updated.isoformat() if updated else "",
                )[:32],
                title_from_text=title_from_text,
            )
        )


def _hash(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()
