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
"""

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
