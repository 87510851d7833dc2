"""Small assertions shared by the bot tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from newsbot.bot.app import NewsBot

from .fake_discord import EPHEMERAL, FakeDiscord, Json, Sent, check_limits

NO_PINGS = {"parse": []}


def assert_sendable(body: Json) -> None:
    """Within Discord's limits and pinging nobody."""
    assert check_limits(body) == [], check_limits(body)
    mentions = body.get("allowed_mentions")
    assert mentions is not None, f"no allowed_mentions in {body}"
    assert mentions.get("parse") == [], mentions
    assert not mentions.get("users") and not mentions.get("roles") and not mentions.get("replied_user")


def is_ephemeral(data: dict[str, Any]) -> bool:
    return bool((data.get("flags") or 0) & EPHEMERAL)


async def answer_of(fake: FakeDiscord, sent: Sent) -> Json:
    """The deferred (type 5) response of /ask, then the edit that carries the answer."""
    callback = await fake.callback(sent)
    assert callback.json["type"] == 5, callback
    body = await fake.edit_of_original(sent)
    assert_sendable(body)
    return body


async def refusal_of(fake: FakeDiscord, sent: Sent) -> str:
    """An ephemeral immediate reply (type 4, flags 64); returns its text."""
    callback = await fake.callback(sent)
    assert callback.json["type"] == 4, callback
    assert is_ephemeral(callback.json["data"]), callback
    return callback.json["data"]["content"]


async def private_reply_of(fake: FakeDiscord, sent: Sent) -> str:
    """A reply only the user sees: an ephemeral message, or an ephemeral deferral then its text."""
    callback = await fake.callback(sent)
    assert is_ephemeral(callback.json["data"] or {}), callback
    if callback.json["type"] == 4:
        return callback.json["data"]["content"]
    assert callback.json["type"] == 5, callback
    req = await fake.wait_for(
        lambda r: (
            f"/{sent.token}" in r.path
            and (
                (
                    r.method == "PATCH"
                    and r.path.endswith("/messages/@original")
                    and "content" in (r.json or {})
                )
                or (r.method == "POST" and r.path.endswith(f"/{sent.token}"))
            )
        )
    )
    if req.method == "POST":
        assert is_ephemeral(req.json), req
    return req.json["content"]


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``condition`` until it holds (fail after ``within`` seconds)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not condition():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.005)


async def settled(fake: FakeDiscord, bot: NewsBot) -> None:
    """Until all is quiet: the bot has read every event the fake sent, finished handling each (and every task
    that started), and the fake has answered every request. What has not happened by then will not, unless
    something new happens (the folder watch excepted: see ``NewsBot.watch_rounds``). Assert absence after this,
    never after a sleep."""
    await fake.sync()
    await bot.idle()
    await fake.idle()
