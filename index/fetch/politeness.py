"""Politeness toward each host: one request at a time, a pause between two (``Crawl-delay`` raises
it), and ``Retry-After`` read from a 429/503."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from dataclasses import dataclass

from yarl import URL

from newsbot.index.config import FetchSettings

MAX_CRAWL_DELAY = 60.0


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) as seconds from now; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True, slots=True)
class Busy:
    """A 429/503 that said how long to wait."""

    status: int
    delay: float


class HostTurns:
    """The turns of every host: a lock each, when the next request may start, its ``Crawl-delay``."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self._locks: dict[str, asyncio.Lock] = {}
        self._next: dict[str, float] = {}
        self._delay: dict[str, float] = {}

    def set_crawl_delay(self, host: str, delay: float) -> None:
        self._delay[host] = min(delay, MAX_CRAWL_DELAY)

    def turn(self, url: URL) -> _HostTurn:
        """The turn of ``url``'s host, as an async context manager around one request."""
        key = (url.host or "").lower()
        lock = self._locks.setdefault(key, asyncio.Lock())
        return _HostTurn(self, key, lock)


class _HostTurn:
    """One request's turn at a host: one at a time, with the host's delay between two."""

    def __init__(self, hosts: HostTurns, key: str, lock: asyncio.Lock) -> None:
        self.hosts = hosts
        self.key = key
        self.lock = lock

    async def __aenter__(self) -> None:
        await self.lock.acquire()
        wait = self.hosts._next.get(self.key, 0.0) - time.monotonic()
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except BaseException:
                self.lock.release()
                raise

    async def __aexit__(self, *exc: object) -> None:
        hosts = self.hosts
        delay = max(hosts.settings.per_host_delay_seconds, hosts._delay.get(self.key, 0.0))
        hosts._next[self.key] = time.monotonic() + delay
        self.lock.release()
