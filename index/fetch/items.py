"""Feed items: the model (:class:`FeedItem`, :class:`ParsedFeed`, :class:`FeedProblem`) and what every
feed format shares: dates, links, and the checks that turn raw items into :class:`FeedItem`.

Every problem with an item (no link or date, a date in the future, an id used twice) is reported as a
:class:`FeedProblem` naming the feed and the item; every other item is kept.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from newsbot.index.fetch.text import canonical_url, clean_line, html_paragraphs

FUTURE_TOLERANCE = dt.timedelta(minutes=10)
UNTITLED_WORDS = 12


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


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def http_link(value: Any, base: str) -> str | None:
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


def add_items(
    parsed: ParsedFeed,
    raw_items: list[dict[str, Any]],
    base: str,
    fetched_at: dt.datetime,
    max_items: int | None,
) -> None:
    """Check the raw items of a feed (dicts read by its format) into ``parsed.items``; every problem
    goes to ``parsed.problems``. At most ``max_items`` are kept."""
    ids: dict[str, int] = {}  # item id -> the position that first used it
    for position, raw in enumerate(raw_items, start=1):
        if raw.get("skip"):
            continue
        if max_items is not None and len(parsed.items) >= max_items:
            parsed.problems.append(
                FeedProblem(
                    parsed.url,
                    None,
                    f"{len(raw_items) - position + 1} item(s) past the first {max_items} left",
                )
            )
            break
        item = _item(parsed, raw, position, base, fetched_at, ids)
        if item is not None:
            parsed.items.append(item)


def _item(
    parsed: ParsedFeed,
    raw: dict[str, Any],
    position: int,
    base: str,
    fetched_at: dt.datetime,
    ids: dict[str, int],
) -> FeedItem | None:
    """One raw item as a :class:`FeedItem`, or None when it has neither title nor text."""
    link = http_link(raw.get("link"), base)
    ref = f"item {position} ({link})" if link else f"item {position}"

    def problem(message: str) -> None:
        parsed.problems.append(FeedProblem(parsed.url, ref, message))

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
            return None
        title = " ".join(words[:UNTITLED_WORDS]) + ("…" if len(words) > UNTITLED_WORDS else "")
        problem("no title; its first words are used")
    if link is None:
        problem("no link: stored from the feed's own text, identified by its id")
    published, note = _published(raw, fetched_at, problem)
    raw_id = clean_line(raw.get("id") or "")[:500]
    item_id = raw_id or link or _hash(title, *paragraphs)[:24]
    if item_id in ids:
        problem(f"id {item_id[:100]!r} was already used by item {ids[item_id]}; identified by its link")
        item_id = link or _hash(title, *paragraphs)[:24]
    ids.setdefault(item_id, position)
    updated = raw.get("updated")
    if updated is not None and updated > fetched_at + FUTURE_TOLERANCE:
        updated = None
    return FeedItem(
        position=position,
        id=item_id,
        link=link,
        title=title,
        published=published,
        date_note=note,
        updated=updated,
        author=clean_line(raw.get("author") or "")[:200] or None,
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


def _published(
    raw: dict[str, Any], fetched_at: dt.datetime, problem: Callable[[str], None]
) -> tuple[dt.datetime, str | None]:
    """The item's date and its note: the fetch time, noted "missing" or "future", when it has no
    usable date."""
    published: dt.datetime | None = raw.get("published") or raw.get("updated")
    if published is None:
        problem("no date; the fetch time is used (marked as such)")
        return fetched_at, "missing"
    if published > fetched_at + FUTURE_TOLERANCE:
        problem(f"date {published.isoformat()} is in the future; the fetch time is used (marked as such)")
        return fetched_at, "future"
    return published, None


def _hash(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()
