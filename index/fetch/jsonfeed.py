"""JSON Feed 1.x, read by ``json`` within size and depth limits."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from newsbot.index.fetch.errors import NotAFeedError
from newsbot.index.fetch.items import (
    FeedProblem,
    ParsedFeed,
    add_items,
    escape_html,
    http_link,
    parse_datetime,
)
from newsbot.index.fetch.text import clean_line, text_paragraphs

MAX_JSON_DEPTH = 32


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


def parse_json_feed(
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
        link=http_link(doc.get("home_page_url"), base),
        problems=problems,
    )
    add_items(parsed, raw_items, base, fetched_at, max_items)
    return parsed


def _from_json_item(item: dict[str, Any]) -> dict[str, Any]:
    def text(key: str) -> str:
        value = item.get(key)
        return value if isinstance(value, str) else ""

    content_html = text("content_html")
    if not content_html and text("content_text"):
        content_html = "".join(f"<p>{escape_html(p)}</p>" for p in text_paragraphs(text("content_text")))
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
        "summary_html": escape_html(text("summary")),
        "published": parse_datetime(text("date_published")),
        "updated": parse_datetime(text("date_modified")),
        "author": author,
    }
