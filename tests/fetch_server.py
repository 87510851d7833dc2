"""A loopback HTTP server for the fetch tests and benchmark, and invented news to serve from it.

Everything here is written for newsbot's tests: the stories, feeds and pages are generated, the
server listens on a loopback address only, and nothing reaches the internet.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from aiohttp import web

from newsbot.index.config import FetchSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fast_settings(**overrides: Any) -> FetchSettings:
    """Settings for tests: the loopback server allowed, no politeness pauses, short timeouts."""
    values: dict[str, Any] = {
        "allow_private_addresses": True,
        "per_host_delay_seconds": 0.0,
        "connect_timeout_seconds": 2.0,
        "read_timeout_seconds": 2.0,
        "total_timeout_seconds": 5.0,
        "max_retry_after_seconds": 2.0,
        "contact": "newsbot-tests@example.org",
    }
    values.update(overrides)
    return FetchSettings(**values)


class LoopbackServer:
    """An aiohttp.web server on a loopback address; tests add what it serves, path by path."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.headers: list[tuple[str, dict[str, str]]] = []
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> LoopbackServer:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        key = request.path_qs if request.path_qs in self.routes else request.path
        self.hits[key] += 1
        self.headers.append((key, dict(request.headers)))
        handler = self.routes.get(key)
        if handler is None:
            return web.Response(status=404, text="not here")
        return await handler(request)

    # -- what it serves -----------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """A fixed body; with ``etag``/``last_modified`` it answers conditional GETs with 304."""
        data = body.encode("utf-8") if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.StreamResponse:
            extra = dict(headers or {})
            if etag:
                extra["ETag"] = etag
            if last_modified:
                extra["Last-Modified"] = last_modified
            if (etag and request.headers.get("If-None-Match") == etag) or (
                last_modified and request.headers.get("If-Modified-Since") == last_modified
            ):
                return web.Response(status=304, headers=extra)
            return web.Response(status=status, body=data, headers={"Content-Type": content_type, **extra})

        self.routes[path] = handler

    def handler(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": to})

        self.routes[path] = handler

    def slow(self, path: str, seconds: float, body: str = "late") -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            await asyncio.sleep(seconds)
            return web.Response(text=body)

        self.routes[path] = handler

    def gzip_bomb(self, path: str, decompressed_bytes: int, content_type: str = "text/html") -> int:
        """A small gzip body that inflates to ``decompressed_bytes`` of zeros; returns its size."""
        data = gzip.compress(b"\0" * decompressed_bytes, compresslevel=9)

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(body=data, headers={"Content-Type": content_type, "Content-Encoding": "gzip"})

        self.routes[path] = handler
        return len(data)


# -- invented news ------------------------------------------------------------------------------

TOWNS = ["Marlow Bay", "Eastbridge", "Kestrel Point", "Upper Fenwick", "Saltmarsh", "Holloway Cross"]
SUBJECTS = [
    ("tram", "the harbour tram line", "passengers"),
    ("library", "the central library renovation", "readers"),
    ("ferry", "the night ferry service", "commuters"),
    ("orchard", "the community orchard", "volunteers"),
    ("bridge", "the swing bridge repairs", "drivers"),
    ("market", "the Saturday fish market", "traders"),
    ("school", "the new primary school", "parents"),
    ("festival", "the lantern festival", "visitors"),
]
PEOPLE = ["Ada Linford", "Tomas Rekke", "Priya Sandhu", "Owen Castell", "Mina Olabode", "Jonas Verhey"]


@dataclasses.dataclass
class Story:
    slug: str
    title: str
    paragraphs: list[str]
    date: dt.date
    author: str
    keyword: str


def make_story(n: int, *, date: dt.date | None = None) -> Story:
    """A plausible local news story, the same for the same ``n``."""
    rng = random.Random(n)
    town = rng.choice(TOWNS)
    key, subject, people = rng.choice(SUBJECTS)
    person = rng.choice(PEOPLE)
    figure = rng.randint(12, 940)
    day = date or dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
    title = f"{town} council backs plan for {subject} ({n})"
    sentences = [
        f"Councillors in {town} voted on Tuesday to back a plan for {subject}, ending months of debate.",
        f"The plan, costed at {figure} thousand pounds, was put forward by {person} after a public meeting.",
        f"Local {people} said the decision was overdue and that the work should start before the winter.",
        f"Officials expect the first phase to be finished within {rng.randint(3, 18)} months.",
        f"Opponents argued that the money would be better spent on roads, but they were outvoted {rng.randint(6, 11)} to {rng.randint(1, 5)}.",
        "A consultation on the details will open next month, and residents can comment online or at the town hall.",
        f"{person} told reporters that the scheme would make {town} a better place for {people} and for businesses alike.",
        f"The council will publish its timetable for {subject} in the spring, together with a list of contractors.",
    ]
    paragraphs = []
    for i in range(rng.randint(4, 7)):
        start = (i * 2) % len(sentences)
        paragraphs.append(" ".join(sentences[start : start + 2 + rng.randint(0, 1)]))
    paragraphs.append(f"Story number {n} in this series; reference {key}-{figure}-{n}.")
    return Story(f"story-{n}", title, paragraphs, day, person, key)


def article_html(story: Story, *, canonical: str | None = None, comments: bool = True) -> str:
    """A realistic article page: navigation, header, byline, the article, related links, footer."""
    paras = "\n".join(f"    <p>{escape(p)}</p>" for p in story.paragraphs)
    related = "\n".join(
        f'      <li><a href="/news/story-{story.slug}-{i}">More from {escape(TOWNS[i % len(TOWNS)])}</a></li>'
        for i in range(6)
    )
    canon = f'<link rel="canonical" href="{escape(canonical)}">' if canonical else ""
    comment_block = (
        '<section class="comments"><h3>Comments</h3><p>Great news for everyone!</p></section>'
        if comments
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8"><title>{escape(story.title)} | The Coastline Courier</title>
<meta name="author" content="{escape(story.author)}">
<meta property="og:type" content="article">
<meta property="article:published_time" content="{story.date.isoformat()}T08:30:00Z">
{canon}
<style>body {{ font-family: serif; }}</style>
<script>window.analytics = {{ page: "{story.slug}" }};</script>
</head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a>
<a href="/weather">Weather</a> <a href="/contact">Contact us</a></nav></header>
<main>
  <article>
    <h1>{escape(story.title)}</h1>
    <p class="byline">By {escape(story.author)} · <time datetime="{story.date.isoformat()}">{story.date:%d %B %Y}</time></p>
{paras}
  </article>
  <aside><h2>Related stories</h2><ul>
{related}
  </ul></aside>
  {comment_block}
</main>
<footer><p>© 2026 The Coastline Courier. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body></html>
"""


def rss(
    items: list[dict[str, Any]], *, title: str = "The Coastline Courier", link: str = "http://news.test/"
) -> str:
    """An RSS 2.0 document; each item: title, link, guid, date (datetime), description, content."""
    parts = []
    for it in items:
        bits = []
        for key, tag in (("title", "title"), ("link", "link"), ("author", "dc:creator")):
            if it.get(key) is not None:
                bits.append(f"<{tag}>{escape(str(it[key]))}</{tag}>")
        if it.get("guid") is not None:
            permalink = "" if it.get("permalink", True) else ' isPermaLink="false"'
            bits.append(f"<guid{permalink}>{escape(str(it['guid']))}</guid>")
        if it.get("date") is not None:
            bits.append(f"<pubDate>{it['date'].strftime('%a, %d %b %Y %H:%M:%S %z')}</pubDate>")
        if it.get("description") is not None:
            bits.append(f"<description>{escape(it['description'])}</description>")
        if it.get("content") is not None:
            bits.append(f"<content:encoded><![CDATA[{it['content']}]]></content:encoded>")
        parts.append("<item>" + "".join(bits) + "</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"<channel><title>{escape(title)}</title><link>{escape(link)}</link>"
        "<description>Local news</description>\n" + "\n".join(parts) + "\n</channel></rss>\n"
    )


def atom(entries: list[dict[str, Any]], *, title: str = "Kestrel Point Post") -> str:
    parts = []
    for e in entries:
        parts.append(
            "<entry>"
            f"<title>{escape(e['title'])}</title>"
            f'<link rel="alternate" href="{escape(e["link"])}"/>'
            f"<id>{escape(e['id'])}</id>"
            f"<updated>{e['date'].isoformat()}</updated>"
            f"<published>{e['date'].isoformat()}</published>"
            f"<author><name>{escape(e.get('author', 'Staff'))}</name></author>"
            f'<summary type="html">{escape(e.get("summary", ""))}</summary>'
            + (f'<content type="html">{escape(e["content"])}</content>' if e.get("content") else "")
            + "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test:feed</id><updated>2026-03-01T00:00:00Z</updated>"
        + "".join(parts)
        + "</feed>\n"
    )


def json_feed(items: list[dict[str, Any]], *, title: str = "Saltmarsh Signal") -> str:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items})


def story_paragraphs_html(story: Story) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
