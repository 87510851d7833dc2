"""A web page where a feed was expected: recognising it, and the feeds it links to."""

from __future__ import annotations

import contextlib
from html.parser import HTMLParser

from newsbot.index.fetch.items import http_link

HTML_TYPES = ("text/html", "application/xhtml+xml")


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
        link = http_link(href, base)
        if link and link not in out:
            out.append(link)
    return out
