"""One fetch pass over the followed feeds: fetch each (conditionally), store its new items.

Each feed is fetched with ``If-None-Match``/``If-Modified-Since`` from its :class:`FeedState`; a
304 stores nothing. Each new or changed item is stored as a news file in the feed's folder, with
the full article from its page when the feed has ``full_text`` on (and the item does not already
carry the whole article), falling back to the item's own text when the page cannot be had. A feed
that fails backs off (``backoff_minutes``, doubling, at most ``max_backoff_hours``; longer when the
server asks for it) and its state says so; the other feeds go on. The validators are saved only
once the items are stored, so an interrupted pass fetches the same items again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from newsbot.index.config import FeedSpec, FetchSettings
from newsbot.index.errors import NewsbotError
from newsbot.index.fetch.archive import Archive, Draft
from newsbot.index.fetch.errors import ArchiveError, HTTPStatusError, RateLimitedError
from newsbot.index.fetch.feeds import parse_feed
from newsbot.index.fetch.http import FEED_ACCEPT, Fetcher
from newsbot.index.fetch.items import FUTURE_TOLERANCE, FeedItem, ParsedFeed
from newsbot.index.fetch.pages import fetch_page
from newsbot.index.fetch.settings import feed_folder
from newsbot.index.fetch.state import FeedState, FeedStateStore, JsonStateStore

log = logging.getLogger(__name__)

STATE_FILE = ".feeds-state.json"


@dataclass(slots=True)
class FeedReport:
    """What one pass did with one feed."""

    url: str
    source: str
    folder: str
    status: str = "ok"  # "ok", "not-modified", "failed" or "waiting" (backing off, not fetched)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    failed_items: int = 0
    pages: int = 0  # article pages fetched and read
    fallbacks: int = 0  # items stored from the feed's own text because the page could not be used
    problems: list[str] = field(default_factory=list)  # item-level and feed-level warnings
    error: str | None = None  # why the feed failed (status "failed" or "waiting")
    next_try: dt.datetime | None = None
    moved_to: str | None = None  # the feed answered with a permanent redirect to this URL
    written: list[str] = field(default_factory=list)  # paths of the files written (new and updated)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)

    def summary(self) -> str:
        """One line for the terminal or Discord."""
        if self.status == "failed":
            return f"{self.source}: failed: {self.error}"
        if self.status == "waiting":
            when = self.next_try.isoformat(timespec="minutes") if self.next_try else "later"
            return f"{self.source}: backing off until {when} ({self.error})"
        if self.status == "not-modified":
            return f"{self.source}: not modified"
        parts = [f"{self.new} new", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate")
        if self.failed_items:
            parts.append(f"{self.failed_items} failed")
        if self.problems:
            parts.append(f"{len(self.problems)} warning(s)")
        return f"{self.source}: " + ", ".join(parts)


@dataclass(slots=True)
class PassReport:
    feeds: list[FeedReport]
    started: dt.datetime
    finished: dt.datetime

    @property
    def changed(self) -> bool:
        """Something was written: a reindex will find it."""
        return any(f.changed for f in self.feeds)

    @property
    def failed(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.status == "failed"]

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.feeds)


async def fetch_feeds(
    feeds: Sequence[FeedSpec],
    settings: FetchSettings,
    *,
    feeds_root: Path | str,
    states: FeedStateStore | None = None,
    force: bool = False,
    fetcher: Fetcher | None = None,
    executor: Executor | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
    now: dt.datetime | None = None,
) -> PassReport:
    """Fetch every feed once and store what is new. Never raises for one feed's failure: it is in
    that feed's report. ``force`` fetches feeds that are backing off too (``newsbot fetch``)."""
    started = now or dt.datetime.now(dt.UTC)
    root = Path(feeds_root)
    store: FeedStateStore = states if states is not None else JsonStateStore(root / STATE_FILE)
    own_fetcher = fetcher is None
    client = fetcher or Fetcher(settings)
    archives: dict[Path, Archive | ArchiveError] = {}
    archive_lock = asyncio.Lock()
    limit = asyncio.Semaphore(settings.concurrency)

    async def archive_for(folder: Path) -> Archive:
        async with archive_lock:
            if folder not in archives:
                try:
                    archives[folder] = await asyncio.to_thread(Archive, folder)
                except ArchiveError as exc:
                    archives[folder] = exc
            found = archives[folder]
        if isinstance(found, ArchiveError):
            raise found
        return found

    async def one(spec: FeedSpec) -> FeedReport:
        async with limit:
            report = await _fetch_one(
                spec, settings, root, store, client, archive_for, executor, force, started
            )
        if on_feed is not None:
            on_feed(report)
        return report

    try:
        await client.open()
        reports = list(await asyncio.gather(*(one(spec) for spec in feeds)))
    finally:
        for archive in archives.values():
            if isinstance(archive, Archive):
                archive.close()
        if own_fetcher:
            await client.close()
    return PassReport(reports, started, dt.datetime.now(dt.UTC))


async def check_feed(url: str, settings: FetchSettings, *, fetcher: Fetcher | None = None) -> ParsedFeed:
    """Fetch and parse ``url`` once, storing nothing (for ``feeds add``: is it a feed, what is it
    called). Raises :class:`FetchError` / :class:`NotAFeedError`, which may name the feeds a web
    page links to."""
    client = fetcher or Fetcher(settings)
    try:
        resp = await client.get(url, what="feed", max_bytes=settings.max_feed_bytes, accept=FEED_ACCEPT)
        return await asyncio.to_thread(
            parse_feed,
            resp.body,
            url=url,
            base_url=resp.url,
            content_type=resp.content_type,
            charset=resp.charset,
            fetched_at=resp.fetched_at,
            max_items=settings.max_items_per_feed,
        )
    finally:
        if fetcher is None:
            await client.close()


def backoff_delay(settings: FetchSettings, failures: int) -> dt.timedelta:
    """The wait after ``failures`` failures in a row: doubling from backoff_minutes, capped."""
    minutes = settings.backoff_minutes * 2 ** min(max(failures - 1, 0), 30)
    return dt.timedelta(minutes=min(minutes, settings.max_backoff_hours * 60))


async def _fetch_one(
    spec: FeedSpec,
    settings: FetchSettings,
    root: Path,
    store: FeedStateStore,
    fetcher: Fetcher,
    archive_for: Callable[[Path], Awaitable[Archive]],
    executor: Executor | None,
    force: bool,
    now: dt.datetime,
) -> FeedReport:
    state = await store.load(spec.url) or FeedState(spec.url)
    folder = feed_folder(spec, root)
    report = FeedReport(
        url=spec.url,
        source=spec.source or state.title or urlsplit(spec.url).hostname or spec.url,
        folder=str(folder),
    )
    if not force and state.waiting(now):
        report.status = "waiting"
        report.error = state.last_error
        report.next_try = state.next_try
        return report
    state.last_attempt = now
    try:
        resp = await fetcher.get(
            spec.url,
            what="feed",
            etag=state.etag,
            last_modified=state.last_modified,
            max_bytes=settings.max_feed_bytes,
            accept=FEED_ACCEPT,
        )
        report.moved_to = resp.moved_to
        if resp.not_modified:
            report.status = "not-modified"
        else:
            # feedparser takes about 0.3 ms an item: off the event loop (a bot keeps answering)
            parsed = await asyncio.to_thread(
                parse_feed,
                resp.body,
                url=spec.url,
                base_url=resp.url,
                content_type=resp.content_type,
                charset=resp.charset,
                fetched_at=resp.fetched_at,
                max_items=settings.max_items_per_feed,
            )
            state.title = parsed.title or state.title
            if not spec.source and parsed.title:
                report.source = parsed.title
            report.problems.extend(str(p) for p in parsed.problems)
            archive = await archive_for(folder)
            for item in parsed.items:
                await _store_item(item, spec, settings, report, archive, fetcher, executor, resp.fetched_at)
            archive.flush()
            state.etag = resp.etag
            state.last_modified = resp.last_modified
    except Exception as exc:  # one feed's failure never stops the others
        _failed(exc, spec, settings, state, report, now)
    else:
        state.failures = 0
        state.failing_since = None
        state.last_error = None
        state.next_try = None
        state.last_success = now
        state.moved_to = report.moved_to
        state.stored += report.new
    await store.save(state)
    return report


def _failed(
    exc: Exception,
    spec: FeedSpec,
    settings: FetchSettings,
    state: FeedState,
    report: FeedReport,
    now: dt.datetime,
) -> None:
    """A feed's fetch failed: the error in its report and state, and when to try it next."""
    if not isinstance(exc, NewsbotError):
        log.exception("fetching feed %s failed", spec.url)
    report.status = "failed"
    report.error = str(exc) if isinstance(exc, NewsbotError) else f"internal error ({exc!r})"
    if not state.failures:
        state.failing_since = now
    state.failures += 1
    state.last_error = report.error
    delay = backoff_delay(settings, state.failures)
    cap = dt.timedelta(hours=settings.max_backoff_hours)
    if isinstance(exc, RateLimitedError):
        delay = min(max(delay, dt.timedelta(seconds=exc.retry_after)), cap)
    elif isinstance(exc, HTTPStatusError) and exc.status in (404, 410):
        delay = max(delay, min(cap, dt.timedelta(hours=6)))
    state.next_try = now + delay
    report.next_try = state.next_try


async def _store_item(
    item: FeedItem,
    spec: FeedSpec,
    settings: FetchSettings,
    report: FeedReport,
    archive: Archive,
    fetcher: Fetcher,
    executor: Executor | None,
    fetched_at: dt.datetime,
) -> None:
    prior = archive.lookup(url=item.link, feed=spec.url, item_id=item.id)
    if prior is not None and prior.get("item_hash") == item.item_hash:
        report.unchanged += 1
        return
    paragraphs = item.paragraphs
    title = item.title
    author = item.author
    date = item.published.date()
    estimated = item.date_estimated
    text_from = "feed"
    has_whole = item.full_content and item.text_chars >= settings.full_content_chars
    if spec.full_text and item.link and not has_whole:
        outcome = await fetch_page(
            fetcher, item.link, min_chars=settings.min_article_chars, executor=executor
        )
        report.pages += 1
        page = outcome.article
        if page is not None:
            paragraphs = page.paragraphs
            author = author or page.author
            if item.title_from_text and page.title:
                title = page.title
            text_from = "page"
            if estimated and page.date and page.date <= (fetched_at + FUTURE_TOLERANCE).date():
                date, estimated = page.date, False
        else:
            if paragraphs:
                report.fallbacks += 1
                report.problems.append(
                    f"feed {spec.url}, {item.ref}: {outcome.reason}; the feed's own text is used"
                )
            else:
                report.problems.append(f"feed {spec.url}, {item.ref}: {outcome.reason}")
    if not paragraphs:
        report.failed_items += 1
        reason = "no text: the item has none and its page could not be used"
        report.problems.append(f"feed {spec.url}, {item.ref}: {reason}")
        archive.remember_failure(
            url=item.link, feed=spec.url, item_id=item.id, item_hash=item.item_hash, reason=reason
        )
        return
    draft = Draft(
        title=title,
        date=date,
        paragraphs=paragraphs,
        url=item.link,
        source=report.source,
        feed=spec.url,
        author=author,
        published=None if item.date_estimated else item.published,
        fetched=fetched_at,
        date_estimated=estimated,
        item_id=item.id,
        item_hash=item.item_hash,
        text_from=text_from,
    )
    stored = archive.store(draft)
    if stored.status == "new":
        report.new += 1
    elif stored.status == "updated":
        report.updated += 1
    elif stored.status == "duplicate":
        report.duplicates += 1
    else:
        report.unchanged += 1
    if stored.status in ("new", "updated"):
        report.written.append(str(archive.folder / stored.file))
