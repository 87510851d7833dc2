"""News from where it is published: feeds, article pages and web archives, stored as news files.

Nothing here imports discord or the CLI; the edges call:

- :func:`fetch_feeds` — one pass over the followed feeds (:class:`FeedSpec`) with
  :class:`FetchSettings`; feed state through a :class:`FeedStateStore` (:class:`JsonStateStore`
  or the database); returns a :class:`PassReport` (``changed`` says a reindex is due).
- :func:`check_feed` — fetch and parse one URL without storing (``feeds add``).
- :func:`import_warc` — a web archive into a folder; returns a :class:`WarcReport`.
- :class:`Fetcher` — the polite, safe HTTP client all of the above use.

Every error meant for a user is a :class:`FetchError`, :class:`ArchiveError` or
:class:`WarcError` (all :class:`newsbot.index.errors.NewsbotError`).

The package imports its parts on first use (PEP 562): opening an index, which only lists the feeds'
folders, does not load aiohttp, feedparser or trafilatura.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsbot.index.config import FeedSpec, FetchSettings
    from newsbot.index.fetch.archive import Archive, Draft, Stored
    from newsbot.index.fetch.errors import (
        ArchiveError,
        BlockedURLError,
        FetchError,
        FetchTimeoutError,
        HTTPStatusError,
        NotAFeedError,
        RateLimitedError,
        RobotsDisallowedError,
        TooLargeError,
        TooManyRedirectsError,
        WarcError,
    )
    from newsbot.index.fetch.feeds import parse_feed
    from newsbot.index.fetch.http import Fetcher, Response
    from newsbot.index.fetch.items import FeedItem, FeedProblem, ParsedFeed
    from newsbot.index.fetch.net import AddressPolicy, check_url
    from newsbot.index.fetch.pages import Extracted, extract_article, fetch_page
    from newsbot.index.fetch.run import FeedReport, PassReport, backoff_delay, check_feed, fetch_feeds
    from newsbot.index.fetch.settings import default_feeds_root, feed_folder, feed_name
    from newsbot.index.fetch.state import FeedState, FeedStateStore, JsonStateStore
    from newsbot.index.fetch.warc import WarcProgress, WarcReport, import_warc

_WHERE = {
    "AddressPolicy": "newsbot.index.fetch.net",
    "Archive": "newsbot.index.fetch.archive",
    "ArchiveError": "newsbot.index.fetch.errors",
    "BlockedURLError": "newsbot.index.fetch.errors",
    "Draft": "newsbot.index.fetch.archive",
    "Extracted": "newsbot.index.fetch.pages",
    "FeedItem": "newsbot.index.fetch.items",
    "FeedProblem": "newsbot.index.fetch.items",
    "FeedReport": "newsbot.index.fetch.run",
    "FeedSpec": "newsbot.index.config",
    "FeedState": "newsbot.index.fetch.state",
    "FeedStateStore": "newsbot.index.fetch.state",
    "FetchError": "newsbot.index.fetch.errors",
    "FetchSettings": "newsbot.index.config",
    "FetchTimeoutError": "newsbot.index.fetch.errors",
    "Fetcher": "newsbot.index.fetch.http",
    "HTTPStatusError": "newsbot.index.fetch.errors",
    "JsonStateStore": "newsbot.index.fetch.state",
    "NotAFeedError": "newsbot.index.fetch.errors",
    "ParsedFeed": "newsbot.index.fetch.items",
    "PassReport": "newsbot.index.fetch.run",
    "RateLimitedError": "newsbot.index.fetch.errors",
    "Response": "newsbot.index.fetch.http",
    "RobotsDisallowedError": "newsbot.index.fetch.errors",
    "Stored": "newsbot.index.fetch.archive",
    "TooLargeError": "newsbot.index.fetch.errors",
    "TooManyRedirectsError": "newsbot.index.fetch.errors",
    "WarcError": "newsbot.index.fetch.errors",
    "WarcProgress": "newsbot.index.fetch.warc",
    "WarcReport": "newsbot.index.fetch.warc",
    "backoff_delay": "newsbot.index.fetch.run",
    "check_feed": "newsbot.index.fetch.run",
    "check_url": "newsbot.index.fetch.net",
    "default_feeds_root": "newsbot.index.fetch.settings",
    "extract_article": "newsbot.index.fetch.pages",
    "feed_folder": "newsbot.index.fetch.settings",
    "feed_name": "newsbot.index.fetch.settings",
    "fetch_feeds": "newsbot.index.fetch.run",
    "fetch_page": "newsbot.index.fetch.pages",
    "import_warc": "newsbot.index.fetch.warc",
    "parse_feed": "newsbot.index.fetch.feeds",
}


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


__all__ = [
    "AddressPolicy",
    "Archive",
    "ArchiveError",
    "BlockedURLError",
    "Draft",
    "Extracted",
    "FeedItem",
    "FeedProblem",
    "FeedReport",
    "FeedSpec",
    "FeedState",
    "FeedStateStore",
    "FetchError",
    "FetchSettings",
    "FetchTimeoutError",
    "Fetcher",
    "HTTPStatusError",
    "JsonStateStore",
    "NotAFeedError",
    "ParsedFeed",
    "PassReport",
    "RateLimitedError",
    "Response",
    "RobotsDisallowedError",
    "Stored",
    "TooLargeError",
    "TooManyRedirectsError",
    "WarcError",
    "WarcProgress",
    "WarcReport",
    "backoff_delay",
    "check_feed",
    "check_url",
    "default_feeds_root",
    "extract_article",
    "feed_folder",
    "feed_name",
    "fetch_feeds",
    "fetch_page",
    "import_warc",
    "parse_feed",
]
