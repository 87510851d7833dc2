"""The followed feeds: the settings file's ``[[feeds]]`` and those added from the terminal or Discord
(kept in the database), their fetch state, one fetch pass over all of them, and their folders.

:class:`newsbot.index.api.NewsIndex` holds one :class:`Feeds` as ``index.feeds``; the CLI and the
bot call it (adding a feed checks its URL and the feed once; a Discord user never names a folder).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsbot.index.config import FeedSpec, Settings
from newsbot.index.errors import NewsbotError
from newsbot.index.fetch.errors import NotAFeedError
from newsbot.index.fetch.settings import default_feeds_root, feed_folder
from newsbot.index.fetch.state import FeedState

if TYPE_CHECKING:
    from newsbot.index.fetch.run import FeedReport, PassReport
from newsbot.index.store.feedbook import FeedBook

SETTINGS = "settings"  # a feed's origin: the settings file ([[feeds]])
ADDED = "added"  # added from the terminal or Discord


@dataclass(frozen=True, slots=True)
class FollowedFeed:
    spec: FeedSpec
    origin: str  # SETTINGS or ADDED
    folder: Path
    state: FeedState | None
    added_at: str = ""
    added_by: str = ""

    @property
    def failing(self) -> bool:
        return self.state is not None and self.state.failing

    def describe(self, now: dt.datetime | None = None) -> str:
        """Its state in one line: ok / failing since … / next try, or not fetched yet."""
        return self.state.describe(now) if self.state else "not fetched yet"

    @property
    def name(self) -> str:
        title = self.state.title if self.state else None
        return self.spec.source or title or self.spec.url

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.spec.url,
            "source": self.spec.source,
            "name": self.name,
            "origin": self.origin,
            "folder": str(self.folder),
            "full_text": self.spec.full_text,
            "added_at": self.added_at or None,
            "added_by": self.added_by or None,
            "status": self.describe(),
            "failing": self.failing,
            "state": self.state.to_json() if self.state else None,
        }


class DatabaseStates:
    """A :class:`newsbot.index.fetch.FeedStateStore` on the database's ``feed_states`` table."""

    def __init__(self, book: FeedBook) -> None:
        self.book = book

    async def load(self, url: str) -> FeedState | None:
        data = await self.book.state(url)
        try:
            return FeedState.from_json(data) if data else None
        except (TypeError, ValueError):
            return None

    async def save(self, state: FeedState) -> None:
        await self.book.save_state(state.url, state.to_json())


class Feeds:
    """Every followed feed of one database."""

    def __init__(self, settings: Settings, database: Path) -> None:
        self.settings = settings
        self.root = default_feeds_root(database)
        self.book = FeedBook(database)
        self.states = DatabaseStates(self.book)

    async def close(self) -> None:
        await self.book.close()

    async def specs(self) -> list[FeedSpec]:
        """The settings file's feeds, then those added (a URL in both is the settings file's)."""
        configured = list(self.settings.feeds)
        known = {f.url for f in configured}
        added = [
            FeedSpec(url=r.url, source=r.source, folder=r.folder, full_text=r.full_text)
            for r in await self.book.all()
            if r.url not in known
        ]
        return configured + added

    async def folders(self) -> list[Path]:
        """The folders of the followed feeds that exist (a feed not fetched yet has none)."""
        out: list[Path] = []
        for spec in await self.specs():
            folder = feed_folder(spec, self.root)
            if folder.is_dir() and folder not in out:
                out.append(folder)
        return out

    async def followed(self) -> list[FollowedFeed]:
        rows = {r.url: r for r in await self.book.all()}
        out = []
        for spec in await self.specs():
            row = rows.get(spec.url)
            out.append(
                FollowedFeed(
                    spec=spec,
                    origin=ADDED if row else SETTINGS,
                    folder=feed_folder(spec, self.root),
                    state=await self.states.load(spec.url),
                    added_at=row.added_at if row else "",
                    added_by=row.added_by if row else "",
                )
            )
        return out

    async def failing(self) -> list[FollowedFeed]:
        return [f for f in await self.followed() if f.failing]

    async def add(
        self, url: str, *, source: str = "", full_text: bool = True, added_by: str = ""
    ) -> FollowedFeed:
        """Check ``url`` (the address rules, then the feed itself, once) and follow it. A web page
        that announces feeds is refused with their addresses."""
        url = url.strip()
        if any(f.url == url for f in self.settings.feeds):
            raise NewsbotError(f"{url} is already followed (it is in the settings file)")
        if await self.book.get(url) is not None:
            raise NewsbotError(f"{url} is already followed")
        try:
            from newsbot.index.fetch.run import check_feed  # the fetcher loads only when used

            parsed = await check_feed(url, self.settings.fetch)
        except NotAFeedError as exc:
            if exc.links:
                raise NewsbotError(
                    f"{url}: this is a web page; its feeds: {', '.join(exc.links[:5])}"
                ) from None
            raise
        source = " ".join(source.split())[:100]
        if not await self.book.add(url, source=source, folder="", full_text=full_text, added_by=added_by):
            raise NewsbotError(f"{url} is already followed")
        state = FeedState(url, title=parsed.title or None)
        await self.states.save(state)
        found = next(f for f in await self.followed() if f.spec.url == url)
        return found

    async def remove(self, url: str) -> FollowedFeed:
        """Stop following ``url`` (its stored articles stay until ``newsbot forget`` of its folder)."""
        url = url.strip()
        if any(f.url == url for f in self.settings.feeds):
            raise NewsbotError(
                f"{url} is in the settings file ([[feeds]]): remove it there, it cannot be removed here"
            )
        found = next((f for f in await self.followed() if f.spec.url == url), None)
        if found is None or not await self.book.remove(url):
            raise NewsbotError(f"{url} is not followed (see feeds list)")
        return found

    async def fetch(
        self, *, force: bool = False, on_feed: Callable[[FeedReport], None] | None = None
    ) -> PassReport:
        """One pass over every followed feed (``force``: those backing off too)."""
        from newsbot.index.fetch.run import fetch_feeds  # the fetcher loads only when used

        return await fetch_feeds(
            await self.specs(),
            self.settings.fetch,
            feeds_root=self.root,
            states=self.states,
            force=force,
            on_feed=on_feed,
        )
