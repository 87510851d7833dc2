"""The bot's watchers.

- The folder watch: every ``watch.interval_seconds``, reindex if the news folders (the feeds' included)
  changed, then announce what arrived (also what another process, such as ``newsbot index --watch``,
  indexed).
- The feed fetch: every ``fetch.interval_minutes`` (when any feed is followed), fetch every feed, then run
  the same incremental reindex and announce, so new stories reach /ask, /latest and /follow on their own.

Both share the bot's :class:`FolderWatch` (its reindex slot too: never two reindexes at once). A failure
is logged in one line and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from newsbot.bot.announce import announce
from newsbot.index.errors import NewsbotError
from newsbot.index.fetch import PassReport
from newsbot.index.model import IndexReport

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot

log = logging.getLogger(__name__)


async def _log_report(report: IndexReport) -> None:
    if report.changed_anything:
        log.info(
            "Watch reindex: %d added, %d changed, %d removed, %d tokenized again (%d articles, %.1f s)",
            report.added,
            report.changed,
            report.removed,
            report.retokenized,
            report.articles,
            report.seconds,
        )


async def watch(bot: NewsBot) -> None:
    """Runs until cancelled (the bot cancels it on close). A round never overlaps /reindex."""
    interval = bot.settings.watch.interval_seconds
    while True:
        await asyncio.sleep(interval)
        await bot.folder_watch.round(_log_report)
        await announce(bot)
        bot.watch_rounds += 1


async def fetch_round(bot: NewsBot) -> PassReport | None:
    """Fetch every followed feed once, then reindex what changed and announce it. None when no feed
    is followed or the pass failed as a whole (logged in one line). One round at a time."""
    async with bot.fetch_lock:
        return await _fetch_round(bot)


async def _fetch_round(bot: NewsBot) -> PassReport | None:
    try:
        if not await bot.index.feeds.specs():
            return None
        report = await bot.index.feeds.fetch()
    except NewsbotError as exc:
        log.warning("Fetching the feeds: %s", exc)
        return None
    except Exception as exc:
        log.warning("Fetching the feeds failed (%r); trying again next round", exc)
        return None
    for feed in report.feeds:
        if feed.status == "failed":
            log.warning("Feed %s", feed.summary())
        elif feed.changed:
            log.info("Feed %s", feed.summary())
    # the watch reindexes only when the folders changed; always asked, so that what a busy round
    # (an admin's /reindex running) left unindexed is taken up by the next pass
    await bot.folder_watch.round(_log_report)
    await announce(bot)
    return report


async def fetch_loop(bot: NewsBot) -> None:
    """Runs until cancelled: a round at start, then every ``fetch.interval_minutes``."""
    interval = bot.settings.fetch.interval_minutes * 60
    while True:
        await fetch_round(bot)
        bot.fetch_rounds += 1
        await asyncio.sleep(interval)
