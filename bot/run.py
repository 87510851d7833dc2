"""Starting the bot: ``run_bot`` for ``newsbot run``, ``start_bot`` for tests and embedding."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import discord

from newsbot.bot.app import NewsBot
from newsbot.bot.errors import REDACTED
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings

log = logging.getLogger(__name__)


class RedactingFormatter(logging.Formatter):
    """Wraps a formatter and removes the token from everything it formats (messages and tracebacks)."""

    def __init__(self, inner: logging.Formatter | None, secret: str) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.secret = secret

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        return text.replace(self.secret, REDACTED) if self.secret else text


def configure_logging(level: str, token: str, handler: logging.Handler | None = None) -> logging.Handler:
    """discord.py's logging setup on the root logger, with the token redacted from every line."""
    handler = handler or logging.StreamHandler()
    discord.utils.setup_logging(handler=handler, level=getattr(logging, level.upper()), root=True)
    handler.setFormatter(RedactingFormatter(handler.formatter, token.strip()))
    return handler


def create_bot(settings: Settings, index: NewsIndex, **options: Any) -> NewsBot:
    """A bot (not yet connected). ``options`` go to :class:`discord.Client` (e.g. ``guild_ready_timeout``)."""
    return NewsBot(settings, index, **options)


async def start_bot(
    settings: Settings, token: str, index: NewsIndex, *, ready_timeout: float = 30.0, **options: Any
) -> tuple[NewsBot, asyncio.Task[None]]:
    """Log in, connect in a task and wait until ready. The caller closes the bot (and then the index).

    If the connection task ends before the bot is ready, its exception is raised here.
    """
    bot = create_bot(settings, index, **options)
    try:
        await bot.login(token)
        task = asyncio.create_task(bot.connect(reconnect=False), name="newsbot-gateway")
        ready = asyncio.ensure_future(bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()
                raise RuntimeError("the Discord connection ended before the bot was ready")
            raise TimeoutError("the bot did not become ready in time")
    except BaseException:
        await bot.close()
        raise
    return bot, task


async def serve(settings: Settings, token: str) -> None:
    """Open the index and run the bot until it is closed (Ctrl+C), closing both."""
    async with await NewsIndex.open(settings) as index:
        if index.is_empty:
            log.warning("The index is empty: questions will fail until an admin runs /reindex")
        async with NewsBot(settings, index) as bot:
            await bot.start(token)


def run_bot(settings: Settings, token: str) -> None:
    """Run the bot in the foreground (used by ``newsbot run``)."""
    configure_logging(settings.logging.level, token)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, token))
