"""The fetcher's settings (a ``[fetch]`` section) and one followed feed (a ``[[feeds]]`` table).

Both are plain frozen dataclasses of bools, numbers, strings and lists of strings, the types the
settings loader (``newsbot.index.config``) checks, so they can become sections as they are.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from newsbot.index.errors import ConfigError
from newsbot.index.fetch.net import parse_networks

try:
    _VERSION = metadata.version("newsbot")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout without install
    _VERSION = "0"

#: The product token robots.txt rules are matched against (``User-agent: newsbot``).
ROBOTS_TOKEN = "newsbot"


@dataclass(frozen=True)
class FetchSettings:
    # How often ``newsbot run`` fetches every feed (then reindexes).
    interval_minutes: float = 15.0
    # Sent with every request; give an address where site owners can reach you.
    user_agent: str = f"newsbot/{_VERSION}"
    contact: str = ""
    # Timeouts: to connect, between two reads, and for one whole request.
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 20.0
    total_timeout_seconds: float = 60.0
    # Size caps, counted on the decompressed body while it streams.
    max_feed_bytes: int = 5_000_000
    max_page_bytes: int = 3_000_000
    max_redirects: int = 5
    # Pause between two requests to one host (robots.txt Crawl-delay raises it, to 60 s at most).
    per_host_delay_seconds: float = 1.0
    # Requests in flight at once (over all hosts).
    concurrency: int = 4
    # A 429/503 asking to wait at most this long is waited for once; a longer wait backs the feed off.
    max_retry_after_seconds: float = 30.0
    # Honour robots.txt for article pages (feeds are fetched because someone subscribed to them).
    respect_robots: bool = True
    robots_cache_minutes: float = 60.0
    # A failing feed waits backoff_minutes, doubling at each failure, at most max_backoff_hours.
    backoff_minutes: float = 15.0
    max_backoff_hours: float = 24.0
    # At most this many items of one feed are read in one pass.
    max_items_per_feed: int = 200
    # A page whose extracted text is shorter than this falls back to the feed item's own text.
    min_article_chars: int = 200
    # Feed content at least this long is taken as the full article (no page fetched).
    full_content_chars: int = 1500
    # Off, no host that resolves to a loopback, private, link-local or reserved address is fetched.
    allow_private_addresses: bool = False
    # Networks fetched even so (CIDR, e.g. "10.1.2.3/32" for a feed server on your own network).
    allowed_networks: list[str] = field(default_factory=list)

    @property
    def user_agent_header(self) -> str:
        contact = self.contact.strip()
        return f"{self.user_agent} (+{contact})" if contact else self.user_agent

    def validate(self) -> None:
        """Raise :class:`ConfigError` for a value out of range."""

        def need(ok: bool, key: str, problem: str) -> None:
            if not ok:
                raise ConfigError(f"fetch.{key}", problem)

        need(self.interval_minutes >= 1, "interval_minutes", "must be 1 or more")
        need(self.user_agent.strip() != "", "user_agent", "must not be empty")
        need(not any(c in self.user_agent + self.contact for c in "\r\n"), "user_agent", "one line only")
        for key in ("connect_timeout_seconds", "read_timeout_seconds", "total_timeout_seconds"):
            need(getattr(self, key) > 0, key, "must be above 0")
        need(self.max_feed_bytes >= 1024, "max_feed_bytes", "must be 1024 or more")
        need(self.max_page_bytes >= 1024, "max_page_bytes", "must be 1024 or more")
        need(0 <= self.max_redirects <= 20, "max_redirects", "must be 0 to 20")
        need(self.per_host_delay_seconds >= 0, "per_host_delay_seconds", "must be 0 or more")
        need(1 <= self.concurrency <= 64, "concurrency", "must be 1 to 64")
        need(self.max_retry_after_seconds >= 0, "max_retry_after_seconds", "must be 0 or more")
        need(self.backoff_minutes > 0, "backoff_minutes", "must be above 0")
        backoff_ok = self.max_backoff_hours * 60 >= self.backoff_minutes
        need(backoff_ok, "max_backoff_hours", "must be at least backoff_minutes")
        need(self.max_items_per_feed >= 1, "max_items_per_feed", "must be 1 or more")
        need(self.min_article_chars >= 0, "min_article_chars", "must be 0 or more")
        try:
            parse_networks(self.allowed_networks)
        except ValueError as exc:
            raise ConfigError("fetch.allowed_networks", str(exc)) from None


@dataclass(frozen=True)
class FeedSpec:
    """One followed feed, as a ``[[feeds]]`` table or a row added from the terminal or Discord."""

    url: str
    # The source name shown with answers; default: the feed's own title, else its host.
    source: str = ""
    # Where its articles are written; default: <feeds folder>/<name>. Never taken from a Discord user.
    folder: str = ""
    # Fetch each item's linked page and extract the whole article (unless the feed carries it).
    full_text: bool = True

    @property
    def name(self) -> str:
        """A file-system-safe name for this feed: a slug of its source or host, and a hash of its URL."""
        host = urlsplit(self.url).hostname or "feed"
        base = slug(self.source or host, limit=40) or "feed"
        return f"{base}-{hashlib.sha256(self.url.encode()).hexdigest()[:8]}"

    def folder_in(self, feeds_root: Path) -> Path:
        """The folder this feed's articles go to: ``folder`` as set, else ``feeds_root/<name>``."""
        return Path(self.folder) if self.folder else feeds_root / self.name


def default_feeds_root(database: Path | str) -> Path:
    """Where feeds' folders go unless one sets its own: ``feeds/`` beside the database."""
    return Path(database).parent / "feeds"


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, *, limit: int = 60) -> str:
    """Lower-case ASCII letters, digits and single hyphens only: safe in any file name, never ``..``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    out = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    return out[:limit].rstrip("-")
