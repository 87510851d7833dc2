"""What the fetcher derives from its settings: the User-Agent, a feed's name and folder, safe names.

The settings themselves (``[fetch]`` and ``[[feeds]]``) live with every other setting in
:mod:`newsbot.index.config`, which loads them without importing the fetcher.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

from newsbot.index.config import FeedSpec, FetchSettings

#: The product token robots.txt rules are matched against (``User-agent: newsbot``).
ROBOTS_TOKEN = "newsbot"


def user_agent_header(settings: FetchSettings) -> str:
    """The User-Agent sent: ``user_agent``, and the ``contact`` address when one is set."""
    contact = settings.contact.strip()
    return f"{settings.user_agent} (+{contact})" if contact else settings.user_agent


def feed_name(spec: FeedSpec) -> str:
    """A file-system-safe name for a feed: a slug of its source or host, and a hash of its URL."""
    host = urlsplit(spec.url).hostname or "feed"
    base = slug(spec.source or host, limit=40) or "feed"
    return f"{base}-{hashlib.sha256(spec.url.encode()).hexdigest()[:8]}"


def feed_folder(spec: FeedSpec, feeds_root: Path) -> Path:
    """The folder a feed's articles go to: its ``folder`` as set, else ``feeds_root/<name>``."""
    return Path(spec.folder) if spec.folder else feeds_root / feed_name(spec)


def default_feeds_root(database: Path | str) -> Path:
    """Where feeds' folders go unless one sets its own: ``feeds/`` beside the database."""
    return Path(database).parent / "feeds"


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, *, limit: int = 60) -> str:
    """Lower-case ASCII letters, digits and single hyphens only: safe in any file name, never ``..``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    out = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    return out[:limit].rstrip("-")
