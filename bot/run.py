"""Starting the bot: ``run_bot`` for ``newsbot run``, ``start_bot`` for tests and embedding."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import discord

from newsbot.bot.app import NewsBot
from newsbot.bot.errors import REDACTED
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings
from newsbot.index.errors import NewsbotError
from newsbot.index.opening import open_index

log = logging.getLogger(__name__)

# The gateway's close code for a bot in more servers than its shards may carry (Discord's "sharding required")
SHARDING_REQUIRED = 4011


def network_trouble(error: BaseException) -> bool:
    """Whether ``error`` says Discord could not be reached (or the connection to it was lost)."""
    return isinstance(
        error, aiohttp.ClientError | discord.GatewayNotFound | discord.ConnectionClosed | TimeoutError
    )


def describe(error: BaseException) -> str:
    """``error`` in one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class RedactingFormatter(logging.Formatter):
    """Wraps a formatter and removes the token from everything it formats (messages and tracebacks).

    discord.py logs each lost connection it retries with a traceback; those are shortened to one
    line (the error), since they are Discord's or the network's trouble and say nothing of the code.
    """

    def __init__(self, inner: logging.Formatter | None, secret: str) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.secret = secret

    def format(self, record: logging.LogRecord) -> str:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and record.name.startswith("discord.") and network_trouble(error):
            line = f"{record.getMessage()} ({describe(error)})"
            record = logging.makeLogRecord(
                {**record.__dict__, "msg": line, "args": None, "exc_info": None, "exc_text": None}
            )
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
    async with await open_index(settings) as index:
        if index.is_empty:
            log.warning("The index is empty: questions will fail until an admin runs /reindex")
        async with NewsBot(settings, index) as bot:
            await bot.start(token)


def run_bot(settings: Settings, token: str) -> None:
    """Run the bot in the foreground (used by ``newsbot run``) until Ctrl+C.

    Raises NewsbotError, in one line, when Discord cannot be reached or refuses the bot.
    """
    configure_logging(settings.logging.level, token)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(settings, token))
    except NewsbotError:
        raise
    except Exception as exc:
        message = start_failure(exc)
        if message is None:
            raise
        raise NewsbotError(message.replace(token.strip(), REDACTED) if token.strip() else message) from None


def start_failure(error: BaseException) -> str | None:
    """What to tell the operator when the bot could not start because of ``error`` (None: a bug)."""
    if isinstance(error, discord.LoginFailure):
        return "Discord refused the token: check DISCORD_TOKEN (the bot's token from the Developer Portal)"
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return (
            "Discord refused the message content intent: enable it for the bot in the Developer Portal, "
            "or set discord.message_content_intent = false"
        )
    if isinstance(error, discord.ConnectionClosed) and error.code == SHARDING_REQUIRED:
        return (
            "Discord requires more gateway shards for this many servers: "
            'set discord.shard_count = "auto" (or a larger number)'
        )
    if isinstance(error, discord.HTTPException):
        return f"Discord refused the bot's start-up request: {describe(error)}"
    if network_trouble(error):
        return f"cannot reach Discord: {describe(error)}"
    return None
