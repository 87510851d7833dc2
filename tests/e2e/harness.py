"""Running a real discord.py client against the fake, and watching it so a crash fails the test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord

from .fake_discord import FakeDiscord


async def wait_ready(client: discord.Client, task: asyncio.Task[None], within: float = 5.0) -> None:
    """Wait for on_ready; raise at once if the client task ends first (a parse error kills it silently)."""
    ready = asyncio.ensure_future(client.wait_until_ready())
    done, _ = await asyncio.wait({ready, task}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()  # re-raise what killed it
            raise AssertionError("the client stopped before it was ready")
        raise AssertionError("the client did not become ready in time")


def check_alive(task: asyncio.Task[None]) -> None:
    """Fail if the client task has ended (with its exception when it has one)."""
    if task.done():
        task.result()
        raise AssertionError("the client task ended")


@contextlib.asynccontextmanager
async def running(client: discord.Client, fake: FakeDiscord) -> AsyncIterator[asyncio.Task[None]]:
    """Log in and connect ``client`` to ``fake``; close it on exit and check it never died."""
    task: asyncio.Task[None] | None = None
    try:
        await client.login(fake.token)
        task = asyncio.create_task(client.connect(reconnect=False), name="discord-client")
        await wait_ready(client, task)
        yield task
        check_alive(task)
    finally:
        await client.close()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
