"""Read a feed (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.x) into items ready to be stored.

XML feeds are parsed by ``feedparser`` here; JSON Feed by :mod:`newsbot.index.fetch.jsonfeed`.
No XML entity is ever expanded from the feed: a document type's internal subset (where entities
are declared) is removed before parsing (:mod:`newsbot.index.fetch.entities`), and ``feedparser``
itself fetches no external entity and keeps only plain character entities. Every problem with the
feed or one of its items (malformed XML, a wrong charset, an item without a link or a date, a date in
the future, an id used twice) is reported as a :class:`FeedProblem` naming the feed and the item;
every other item is kept (:mod:`newsbot.index.fetch.items`).
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from typing import Any

import feedparser  # type: ignore[import-untyped]

from newsbot.index.fetch.discover import feed_links, looks_like_html
from newsbot.index.fetch.entities import numeric_entities, strip_internal_subset
from newsbot.index.fetch.errors import NotAFeedError
from newsbot.index.fetch.items import (
    FeedProblem,
    ParsedFeed,
    add_items,
    escape_html,
    http_link,
    parse_datetime,
)
from newsbot.index.fetch.jsonfeed import parse_json_feed
from newsbot.index.fetch.text import clean_line, html_paragraphs, text_paragraphs

JSON_FEED_TYPES = ("application/feed+json", "application/json", "text/json")


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
        return parse_json_feed(data, url=url, base=base, fetched_at=fetched_at, max_items=max_items)
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
    data = numeric_entities(data)
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
        link=http_link(feed_info.get("link"), base),
        problems=problems,
    )
    with warnings.catch_warnings():  # feedparser warns that "updated" falls back to "published"
        warnings.simplefilter("ignore", DeprecationWarning)
        raw_items = [_from_feedparser(entry) for entry in entries]
    add_items(parsed, raw_items, base, fetched_at, max_items)
    return parsed


def _from_feedparser(entry: Any) -> dict[str, Any]:
    content_html = ""
    for content in entry.get("content") or []:
        value = content.get("value") or ""
        if content.get("type") == "text/plain":
            value = "".join(f"<p>{escape_html(p)}</p>" for p in text_paragraphs(value))
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


def _bozo_reason(exc: Any) -> str:
    if exc is None:
        return ""
    text = str(exc).replace("<unknown>:", "line ").strip()
    return text[:200] or type(exc).__name__
