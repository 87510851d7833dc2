"""A polite, safe HTTP fetcher on aiohttp.

- conditional GET (``ETag`` / ``Last-Modified`` in, the new validators out; 304 is a result);
- gzip and deflate, decompressed as they stream so the size cap counts the decompressed bytes
  (a decompression bomb stops at the cap, never in memory: :mod:`newsbot.index.fetch.decode`);
- connect, read and total timeouts; redirects followed one hop at a time, each hop checked;
- one request at a time per host with a pause between two (``Crawl-delay`` raises it);
- ``Retry-After`` on 429/503 waited for once when short, otherwise a :class:`RateLimitedError`
  (both :mod:`newsbot.index.fetch.politeness`);
- robots.txt honoured for pages (fetched once per host and cached: :mod:`newsbot.index.fetch.robots`);
- no request to the bot's own network (:mod:`newsbot.index.fetch.net`).

Usage::

    async with Fetcher(settings) as fetcher:
        response = await fetcher.get(url, what="feed", etag=state.etag)
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from yarl import URL

from newsbot.index.config import FetchSettings
from newsbot.index.fetch.decode import read_capped
from newsbot.index.fetch.errors import (
    BlockedURLError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    RateLimitedError,
    TooManyRedirectsError,
)
from newsbot.index.fetch.net import (
    AddressPolicy,
    BlockedAddress,
    GuardedResolver,
    check_url,
    guarded_socket_factory,
)
from newsbot.index.fetch.politeness import Busy, HostTurns, retry_after_seconds
from newsbot.index.fetch.robots import MAX_ROBOTS_BYTES, RobotsCache
from newsbot.index.fetch.settings import user_agent_header

REDIRECTS = (301, 302, 303, 307, 308)
PERMANENT = (301, 308)
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "application/json;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(slots=True)
class Response:
    """A fetched body (status 200), or a 304 Not Modified (``body`` empty)."""

    url: str  # where the body came from, after redirects
    status: int
    body: bytes
    content_type: str  # the media type, lower case, "" when the server sent none
    charset: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: dt.datetime
    redirects: list[tuple[int, str]] = field(default_factory=list)  # (status, next URL) per hop

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def moved_to(self) -> str | None:
        """Where the URL now lives, when every redirect on the way was permanent (301/308)."""
        if self.redirects and all(status in PERMANENT for status, _ in self.redirects):
            return self.redirects[-1][1]
        return None


class Fetcher:
    """One aiohttp session with newsbot's rules. Use as an async context manager."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        resolver: aiohttp.abc.AbstractResolver | None = None,
    ) -> None:
        """``resolver`` replaces the system's name resolution (tests); the address checks stay."""
        self.settings = settings or FetchSettings()
        self.policy = AddressPolicy(
            allow_private=self.settings.allow_private_addresses,
            allowed_networks=self.settings.allowed_networks,
        )
        self._inner_resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._hosts = HostTurns(self.settings)
        self._robots = RobotsCache(self.settings, self._robots_txt, self._hosts)
        self.requests = 0  # HTTP requests sent (robots.txt included), for reports and tests

    async def __aenter__(self) -> Fetcher:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is not None:
            return
        s = self.settings
        guarded = not (s.allow_private_addresses and self._inner_resolver is None)
        connector = aiohttp.TCPConnector(
            limit=s.concurrency * 2,
            ttl_dns_cache=60,
            resolver=GuardedResolver(self.policy, self._inner_resolver) if guarded else None,
            socket_factory=guarded_socket_factory(self.policy) if guarded else None,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=s.total_timeout_seconds,
                sock_connect=s.connect_timeout_seconds,
                sock_read=s.read_timeout_seconds,
            ),
            headers={"User-Agent": user_agent_header(s)},
            auto_decompress=False,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the one public request -------------------------------------------------------------

    async def get(
        self,
        url: str,
        *,
        what: str = "page",
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        accept: str | None = None,
        robots: bool = False,
    ) -> Response:
        """GET ``url`` under newsbot's rules; raises a :class:`FetchError` subclass on any failure.

        ``what`` names the thing in error messages ("feed", "page"). With ``robots`` the site's
        robots.txt is consulted first (for each hop of a redirect too).
        """
        if self._session is None:
            await self.open()
        s = self.settings
        cap = max_bytes if max_bytes is not None else s.max_page_bytes
        headers = {"Accept": accept or (PAGE_ACCEPT if what == "page" else FEED_ACCEPT)}
        headers["Accept-Encoding"] = "gzip, deflate"
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = self._checked(url, url, what)
        hops: list[tuple[int, str]] = []
        seen = {str(current)}
        for _ in range(s.max_redirects + 1):
            if robots and s.respect_robots:
                await self._robots.check(current, what)
            result = await self._request(current, headers, cap, what)
            if isinstance(result, Response):
                result.redirects = hops
                return result
            status, location = result
            try:
                target = str(current.join(URL(location)))
            except (ValueError, TypeError):
                reason = f"redirect ({status}) to a malformed URL"
                raise HTTPStatusError(url, status, reason, what=what) from None
            nxt = self._checked(url, target, what, hop=True)
            hops.append((status, str(nxt)))
            if str(nxt) in seen:
                raise TooManyRedirectsError(url, "redirect loop", what=what)
            seen.add(str(nxt))
            current = nxt
        raise TooManyRedirectsError(url, f"more than {s.max_redirects} redirects", what=what)

    # -- internals ----------------------------------------------------------------------------

    def _checked(self, original: str, url: str, what: str, *, hop: bool = False) -> URL:
        parsed, problem = check_url(url, self.policy)
        if parsed is None:
            reason = f"redirected to {url}: {problem}" if hop else str(problem)
            raise BlockedURLError(original, reason, what=what)
        return parsed.with_fragment(None)

    async def _request(
        self, url: URL, headers: Mapping[str, str], cap: int, what: str
    ) -> Response | tuple[int, str]:
        """One URL (no redirect followed): a Response, or (status, Location) for a redirect."""
        waited = False
        while True:
            async with self._hosts.turn(url):
                self.requests += 1
                try:
                    result = await self._send(url, headers, cap, what)
                except BlockedAddress as exc:
                    raise self._blocked(str(url), exc, what) from None
            if isinstance(result, Busy):
                if not waited and result.delay <= self.settings.max_retry_after_seconds:
                    waited = True
                    await asyncio.sleep(result.delay)
                    continue
                raise RateLimitedError(str(url), result.status, result.delay, what=what)
            return result

    async def _send(
        self, url: URL, headers: Mapping[str, str], cap: int, what: str
    ) -> Response | tuple[int, str] | Busy:
        assert self._session is not None
        shown = str(url)
        try:
            async with self._slots, self._session.get(url, headers=headers, allow_redirects=False) as resp:
                status = resp.status
                if status in REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        reason = f"redirect ({status}) without a Location"
                        raise HTTPStatusError(shown, status, reason, what=what)
                    return status, location
                if status == 304:
                    return self._response(shown, resp, b"")
                if status in (429, 503):
                    delay = retry_after_seconds(resp.headers.get("Retry-After"))
                    if delay is not None:
                        return Busy(status, delay)
                if status != 200:
                    raise HTTPStatusError(shown, status, _status_reason(status, resp.reason), what=what)
                body = await read_capped(resp, cap, shown, what)
                return self._response(shown, resp, body)
        except FetchError:
            raise
        except BlockedAddress:
            raise
        except aiohttp.ClientConnectorError as exc:
            blocked = _find_blocked(exc)
            if blocked is not None:
                raise blocked from None
            raise FetchError(shown, f"cannot connect to {url.host} ({_os_reason(exc)})", what=what) from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise FetchTimeoutError(shown, self._timeout_reason(), what=what) from None
        except aiohttp.InvalidURL as exc:
            raise BlockedURLError(shown, f"not a valid URL ({exc})", what=what) from None
        except aiohttp.ClientPayloadError as exc:
            raise FetchError(shown, f"the body was cut short or malformed ({exc})", what=what) from None
        except aiohttp.ClientResponseError as exc:
            raise FetchError(shown, f"bad HTTP response ({exc.message})", what=what) from None
        except aiohttp.ClientError as exc:
            raise FetchError(shown, f"connection failed ({type(exc).__name__}: {exc})", what=what) from None

    def _timeout_reason(self) -> str:
        s = self.settings
        return (
            f"the server did not answer in time (connect {s.connect_timeout_seconds:g} s, "
            f"read {s.read_timeout_seconds:g} s, whole request {s.total_timeout_seconds:g} s)"
        )

    def _blocked(self, url: str, exc: BlockedAddress, what: str) -> BlockedURLError:
        return BlockedURLError(
            url,
            f"{exc}; newsbot does not fetch from its own network (fetch.allow_private_addresses)",
            what=what,
        )

    @staticmethod
    def _response(url: str, resp: aiohttp.ClientResponse, body: bytes) -> Response:
        ctype = resp.headers.get("Content-Type", "")
        media = ctype.split(";", 1)[0].strip().lower()
        return Response(
            url=url,
            status=resp.status,
            body=body,
            content_type=media,
            charset=_charset(ctype),
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            fetched_at=dt.datetime.now(dt.UTC),
        )

    # -- robots.txt ---------------------------------------------------------------------------

    async def allowed_by_robots(self, url: str) -> bool:
        """Whether robots.txt lets newsbot fetch ``url`` (fetching and caching robots.txt)."""
        parsed = URL(url)
        robots = await self._robots.robots_for(parsed)
        return robots.can_fetch(str(parsed))

    async def _robots_txt(self, url: str) -> bytes:
        resp = await self.get(url, what="robots.txt", max_bytes=MAX_ROBOTS_BYTES, accept="text/plain")
        return resp.body


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'").lower() or None
    return None


def _status_reason(status: int, reason: str | None) -> str:
    if status == 404:
        return "not found (404)"
    if status == 410:
        return "gone (410): the publisher removed it"
    if status in (401, 403):
        return f"access refused ({status} {reason or ''})".replace(" )", ")")
    if status >= 500:
        return f"the server failed ({status} {reason or ''})".replace(" )", ")")
    return f"unexpected answer ({status} {reason or ''})".replace(" )", ")")


def _find_blocked(exc: BaseException) -> BlockedAddress | None:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, BlockedAddress):
            return e
        todo.extend([getattr(e, "os_error", None), e.__cause__, e.__context__])
        todo.extend(x for x in getattr(e, "exceptions", ()) if isinstance(x, BaseException))
    return None


def _os_reason(exc: aiohttp.ClientConnectorError) -> str:
    err = exc.os_error
    return err.strerror or str(err) if isinstance(err, OSError) else str(exc)
