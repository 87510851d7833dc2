"""The fetch errors: each a :class:`NewsbotError` whose message says what failed, where, and why."""

from __future__ import annotations

from newsbot.index.errors import NewsbotError


class FetchError(NewsbotError):
    """Something could not be fetched or used: ``what`` (feed, page, robots.txt) at ``url``, ``reason``."""

    def __init__(self, url: str, reason: str, *, what: str = "page") -> None:
        self.url = url
        self.reason = reason
        self.what = what
        super().__init__(f"{what} {url}: {reason}")


class BlockedURLError(FetchError):
    """The URL is not fetched at all: not http(s), malformed, or its host is a private address."""


class RobotsDisallowedError(FetchError):
    """The site's robots.txt asks crawlers like newsbot not to fetch this page."""


class TooLargeError(FetchError):
    """The body (as sent, or once decompressed) is over the size limit."""


class FetchTimeoutError(FetchError):
    """The server did not connect or answer in time."""


class TooManyRedirectsError(FetchError):
    """More redirects than ``fetch.max_redirects``, or a redirect loop."""


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, url: str, status: int, reason: str, *, what: str = "page") -> None:
        self.status = status
        super().__init__(url, reason, what=what)


class RateLimitedError(HTTPStatusError):
    """429 or 503 with a ``Retry-After`` longer than newsbot waits inline: try again after ``retry_after``."""

    def __init__(self, url: str, status: int, retry_after: float, *, what: str = "page") -> None:
        self.retry_after = retry_after
        super().__init__(
            url,
            status,
            f"the server is busy ({status}) and asks to wait {_duration(retry_after)} before trying again",
            what=what,
        )


class NotAFeedError(FetchError):
    """What the URL serves is not RSS, Atom or JSON Feed (an HTML page, say)."""

    def __init__(self, url: str, reason: str, *, links: list[str] | None = None) -> None:
        self.links = list(links or [])
        if self.links:
            reason += "; it links to the feed " + ", ".join(self.links[:3])
        super().__init__(url, reason, what="feed")


class ArchiveError(NewsbotError):
    """Articles cannot be written to a folder (busy, read-only, disk full)."""

    def __init__(self, folder: str, reason: str) -> None:
        self.folder = folder
        self.reason = reason
        super().__init__(f"folder {folder}: {reason}")


class WarcError(NewsbotError):
    """A web archive cannot be read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"web archive {path}: {reason}")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
