"""The bot's watcher: every ``watch.interval_seconds``, reindex if the news folders changed, then
announce what arrived (also what another process, such as ``newsbot index --watch``, indexed)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from newsbot.bot.announce import announce
from newsbot.index.ingest.watch import FolderWatch
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
    watcher = FolderWatch(bot.index, claim=bot.claim_reindex, release=bot.release_reindex)
    interval = bot.settings.watch.interval_seconds
    while True:
        await asyncio.sleep(interval)
        await watcher.round(_log_report)
        await announce(bot)
        bot.watch_rounds += 1
