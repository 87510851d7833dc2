"""robots.txt: fetched once per origin, cached for ``robots_cache_minutes``, read as RFC 9309 says.

A site's ``Crawl-delay`` is passed to the per-host turns (:mod:`newsbot.index.fetch.politeness`).
"""

from __future__ import annotations

import asyncio
import time
import urllib.robotparser
from collections.abc import Awaitable, Callable

from yarl import URL

from newsbot.index.config import FetchSettings
from newsbot.index.fetch.errors import BlockedURLError, FetchError, HTTPStatusError, RobotsDisallowedError
from newsbot.index.fetch.politeness import HostTurns
from newsbot.index.fetch.settings import ROBOTS_TOKEN

MAX_ROBOTS_BYTES = 512_000


class Robots:
    """robots.txt of one origin: rules, or allow/deny everything."""

    def __init__(self, parser: urllib.robotparser.RobotFileParser | None, allow: bool, expires: float):
        self.parser = parser
        self.allow = allow
        self.expires = expires

    def can_fetch(self, url: str) -> bool:
        if self.parser is None:
            return self.allow
        return self.parser.can_fetch(ROBOTS_TOKEN, url)

    def crawl_delay(self) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(ROBOTS_TOKEN)
        return float(delay) if delay is not None else None


class RobotsCache:
    """The robots.txt of every origin seen; ``fetch`` GETs a robots.txt URL and returns its body."""

    def __init__(self, settings: FetchSettings, fetch: Callable[[str], Awaitable[bytes]], hosts: HostTurns):
        self.settings = settings
        self._fetch = fetch
        self._hosts = hosts
        self._cached: dict[str, Robots] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def check(self, url: URL, what: str) -> None:
        """Raise :class:`RobotsDisallowedError` when the site's robots.txt asks not to fetch ``url``."""
        robots = await self.robots_for(url)
        if not robots.can_fetch(str(url)):
            reason = "the site's robots.txt asks crawlers not to fetch it"
            raise RobotsDisallowedError(str(url), reason, what=what)

    async def robots_for(self, url: URL) -> Robots:
        """The robots.txt of ``url``'s origin, from the cache or fetched now."""
        origin = f"{url.scheme}://{url.raw_authority}"
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._cached.get(origin)
            now = time.monotonic()
            if cached is not None and cached.expires > now:
                return cached
            robots = await self._load(origin, now)
            self._cached[origin] = robots
            delay = robots.crawl_delay()
            if delay is not None:
                self._hosts.set_crawl_delay((url.host or "").lower(), delay)
            return robots

    async def _load(self, origin: str, now: float) -> Robots:
        ttl = self.settings.robots_cache_minutes * 60
        try:
            body = await self._fetch(origin + "/robots.txt")
        except BlockedURLError:
            raise
        except HTTPStatusError as exc:
            if 400 <= exc.status < 500:  # RFC 9309: unavailable, so everything may be crawled
                return Robots(None, True, now + ttl)
            return Robots(None, False, now + min(ttl, 600))  # server error: nothing, for a while
        except FetchError:
            return Robots(None, False, now + min(ttl, 600))
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(body.decode("utf-8", "replace").splitlines())
        parser.modified()
        return Robots(parser, True, now + ttl)
