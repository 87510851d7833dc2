"""An article's page: fetched politely, its text, title, date and author extracted by trafilatura.

Paragraph breaks are kept (they are what the index ranks): each block trafilatura keeps (a
paragraph, a heading, a quote, each item of a list) becomes one paragraph. Extraction is CPU work;
:func:`fetch_page` runs it off the event loop (a thread, or the executor given).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import trafilatura
from trafilatura.settings import set_date_params

from newsbot.index.fetch.discover import HTML_TYPES
from newsbot.index.fetch.errors import FetchError
from newsbot.index.fetch.http import PAGE_ACCEPT, Fetcher
from newsbot.index.fetch.text import canonical_url, clean_line

log = logging.getLogger(__name__)

# Below this much text an extraction is not an article (a teaser, an index page, an error page).
DEFAULT_MIN_CHARS = 200
# An article has at least one real paragraph; link lists and menus are made of short lines.
MIN_LONGEST_PARAGRAPH = 80


@dataclass(slots=True)
class Extracted:
    """What trafilatura found on a page."""

    title: str | None
    date: dt.date | None
    author: str | None
    paragraphs: list[str]
    url: str | None  # the canonical URL the page declares, if any

    @property
    def chars(self) -> int:
        return sum(len(p) for p in self.paragraphs)


@dataclass(slots=True)
class PageOutcome:
    """A page fetched and read, or why not (``reason``: the feed item's own text is used instead)."""

    url: str
    article: Extracted | None
    reason: str | None = None


def extract_article(
    html: bytes | str,
    url: str | None = None,
    *,
    charset: str | None = None,
    min_chars: int = DEFAULT_MIN_CHARS,
    fast: bool = False,
) -> Extracted | None:
    """The article in ``html``, or None when trafilatura finds none (or too little text).

    ``charset`` (from the HTTP header) decodes bytes; without it trafilatura detects the encoding.
    """
    if isinstance(html, bytes) and charset:
        with contextlib.suppress(LookupError):  # an unknown charset name: trafilatura detects it
            html = html.decode(charset, "replace")
    try:
        doc: Any = trafilatura.bare_extraction(
            html,
            url=url,
            fast=fast,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            deduplicate=False,
            # dates from the page's markup only (meta tags, <time>, the URL): a guess from the
            # page's free text (a copyright year, say) would be worse than the fetch date, marked
            date_extraction_params=set_date_params(extensive=False),
        )
    except Exception as exc:  # trafilatura and lxml raise many kinds on hostile markup
        log.debug("extraction failed for %s: %r", url, exc)
        return None
    if doc is None or getattr(doc, "body", None) is None:
        return None
    title = clean_line(doc.title or "") or None
    paragraphs = body_paragraphs(doc.body)
    if paragraphs and title and _same(paragraphs[0], title):
        paragraphs = paragraphs[1:]
    if not paragraphs or sum(map(len, paragraphs)) < min_chars:
        return None
    if max(map(len, paragraphs)) < min(MIN_LONGEST_PARAGRAPH, min_chars):
        return None
    date = None
    if doc.date:
        try:
            date = dt.date.fromisoformat(str(doc.date)[:10])
        except ValueError:
            date = None
    page_url = canonical_url(doc.url) if isinstance(doc.url, str) and doc.url.startswith("http") else None
    return Extracted(
        title=title,
        date=date,
        author=clean_line(doc.author or "")[:200] or None,
        paragraphs=paragraphs,
        url=page_url,
    )


def body_paragraphs(body: Any) -> list[str]:
    """trafilatura's XML body to paragraphs: one per block, one per list item or table row."""
    out: list[str] = []
    for child in body:
        tag = child.tag
        if tag == "list":
            out.extend(_text(item) for item in child if item.tag == "item")
        elif tag == "table":
            for row in child.iter("row"):
                cells = [_text(cell) for cell in row]
                out.append(" | ".join(c for c in cells if c))
        elif tag in ("graphic", "lb"):
            continue
        else:
            out.append(_text(child))
    return [p for p in out if p]


def _text(element: Any) -> str:
    parts: list[str] = []

    def walk(el: Any) -> None:
        if el.text:
            parts.append(el.text)
        for child in el:
            if child.tag == "lb":
                parts.append(" ")
            else:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return clean_line("".join(parts))


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


async def fetch_page(
    fetcher: Fetcher,
    url: str,
    *,
    min_chars: int = DEFAULT_MIN_CHARS,
    executor: Executor | None = None,
) -> PageOutcome:
    """Fetch ``url`` (robots.txt honoured, size capped) and extract its article. Never raises for
    the page itself: a refusal, an error, a non-HTML or article-less page gives ``reason``."""
    try:
        resp = await fetcher.get(
            url,
            what="page",
            robots=True,
            max_bytes=fetcher.settings.max_page_bytes,
            accept=PAGE_ACCEPT,
        )
    except FetchError as exc:
        return PageOutcome(url, None, str(exc))
    if resp.content_type and resp.content_type not in HTML_TYPES:
        return PageOutcome(resp.url, None, f"page {resp.url}: not an HTML page ({resp.content_type})")
    job = functools.partial(extract_article, resp.body, resp.url, charset=resp.charset, min_chars=min_chars)
    extracted = await asyncio.get_running_loop().run_in_executor(executor, job)
    if extracted is None:
        return PageOutcome(resp.url, None, f"page {resp.url}: no article text found on it")
    return PageOutcome(resp.url, extracted)
