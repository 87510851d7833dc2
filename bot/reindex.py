"""/reindex in the background: progress edits (throttled) and the final report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord

from newsbot.bot import errors, render, reports
from newsbot.index.api import ProgressCallback
from newsbot.index.errors import IndexBusyError, NewsbotError

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot

log = logging.getLogger(__name__)

BUSY = "A reindex is already running (started by an admin or by the folder watch); try again when it is done."


class Progress:
    """The latest progress report; written on the loop (the callback hops threads first)."""

    def __init__(self) -> None:
        self.latest: tuple[str, int, int] | None = None
        self.changed = asyncio.Event()

    def update(self, stage: str, done: int, total: int) -> None:
        self.latest = (stage, done, total)
        self.changed.set()


class ReindexJob:
    """One reindex started by an interaction that has already been deferred."""

    def __init__(self, bot: NewsBot, interaction: discord.Interaction[NewsBot], interval: float) -> None:
        self.bot = bot
        self.interaction = interaction
        self.interval = interval
        self.progress = Progress()

    def callback(self, loop: asyncio.AbstractEventLoop) -> ProgressCallback:
        def progress(stage: str, done: int, total: int) -> None:
            # May be called from a worker thread: hand the numbers to the loop.
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self.progress.update, stage, done, total)

        return progress

    async def _show_progress(self) -> None:
        """Edit the response with the latest progress, at most once per ``interval``."""
        while True:
            await self.progress.changed.wait()
            self.progress.changed.clear()
            if self.progress.latest is not None:
                try:
                    await self.interaction.edit_original_response(
                        content=reports.progress_text(*self.progress.latest), allowed_mentions=render.NO_PINGS
                    )
                except discord.HTTPException:
                    log.debug("Could not show reindex progress", exc_info=True)
            await asyncio.sleep(self.interval)

    async def run(self) -> None:
        reporter = asyncio.create_task(self._show_progress(), name="newsbot-reindex-progress")
        try:
            report = await self.bot.index.reindex(progress=self.callback(asyncio.get_running_loop()))
        except IndexBusyError as exc:  # e.g. `newsbot index` running in another process
            parts = render.MessageParts(content=f"Reindex not started: {exc}")
        except NewsbotError as exc:
            text = errors.redact(self.bot, f"Reindex failed: {exc}")
            parts = render.MessageParts(content=render.clip(text, render.CONTENT_LIMIT))
        except Exception as exc:
            parts = render.MessageParts(content=errors.user_message(exc, "reindex"))
        else:
            parts = reports.report_message(report)
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        try:
            await self.interaction.edit_original_response(
                content=parts.content, embeds=parts.embeds, allowed_mentions=render.NO_PINGS
            )
        except discord.HTTPException:
            log.warning("Could not post the reindex report", exc_info=True)
