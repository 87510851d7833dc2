"""Faults on the Discord side, permissions, and the token: the bot keeps answering and never leaks or obeys.

- The gateway drops the connection (before a question, while one is asked, mid-answer; a RESUME refused with
  INVALID_SESSION): the bot resumes or identifies again and answers the next question.
- The REST API answers 429 (with ``retry_after`` and the X-RateLimit headers) or 500: discord.py's retry is
  honoured and the user gets the answer, or a clear error, never silence.
- /reindex and /stats from a non-admin, from an admin whose role was removed since startup, from a DM; no
  user input names a folder to index.
- Hostile questions, typed in Discord, are answered within limits and ping nobody; a database locked by
  another process or a question log that cannot be written is told, never silent.
- A recognisable token never reaches a log line (DEBUG included), an error message or a message sent.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import discord
import discord.http
import discord.webhook.async_
import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.run import REDACTED, configure_logging, start_bot
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings
from newsbot.index.errors import StoreError
from newsbot.index.model import Answer
from newsbot.index.store import database as store

from ..test_faults import exclusive_lock
from .burst import make_people
from .fake_discord import FakeDiscord, Json, Sent
from .helpers import answer_of, assert_sendable, is_ephemeral, private_reply_of, refusal_of, settled

pytestmark = pytest.mark.e2e

CALLBACK = r"/interactions/\d+/[^/]+/callback"
BRIDGE = "Harbour Bridge Reopens After Repairs"


def original(fake: FakeDiscord) -> str:
    return rf"/webhooks/{fake.app_id}/[^/]+/messages/@original"


async def bridge_answer(fake: FakeDiscord, user: Any = None) -> dict[str, Any]:
    body = await answer_of(fake, await fake.slash("ask", {"question": "harbour bridge cables"}, user=user))
    assert body["embeds"][0]["title"] == BRIDGE
    return body


def trail(fake: FakeDiscord, sent: Sent) -> list[tuple[str, str, int]]:
    """(method, what, status) of every request made for ``sent``: what is callback, @original or webhook."""
    out = []
    for r in fake.for_interaction(sent):
        if r.path.endswith("/callback"):
            what = "callback"
        elif "/messages/" in r.path:
            what = r.path.rsplit("/", 1)[-1]
        else:
            what = "webhook"
        out.append((r.method, what, r.status))
    return out


async def delivered(fake: FakeDiscord, sent: Sent, within: float = 10.0) -> Json:
    """The edit of @original that carries the answer and that Discord accepted."""
    path = f"/webhooks/{fake.app_id}/{sent.token}/messages/@original"
    req = await fake.wait_for(
        lambda r: r.method == "PATCH" and r.path == path and r.status == 200 and bool(r.json.get("embeds")),
        within=within,
    )
    assert_sendable(req.json)
    return req.json


async def reply_to(fake: FakeDiscord, message: Json, within: float = 5.0) -> Json:
    """The bot's reply (a channel message referencing ``message``) that Discord accepted."""
    req = await fake.wait_for(
        lambda r: (
            r.method == "POST"
            and r.path == f"/channels/{message['channel_id']}/messages"
            and r.status == 200
            and str((r.json.get("message_reference") or {}).get("message_id")) == message["id"]
        ),
        within=within,
    )
    return req.json


# ----------------------------------------------------------------------------------------------- gateway


async def test_the_bot_resumes_after_the_gateway_drops(fake: FakeDiscord, newsbot: NewsBot) -> None:
    await fake.drop()
    await fake.wait_session()
    assert (fake.connections, fake.identifies, len(fake.resumes)) == (2, 1, 1)
    assert fake.resumes[0]["session_id"] == "fake-session" and fake.resumes[0]["token"] == fake.token
    await bridge_answer(fake)

    await fake.drop(code=1001)  # "going away", as when Discord restarts a gateway node
    await fake.wait_session()
    assert (fake.connections, fake.identifies, len(fake.resumes)) == (3, 1, 2)
    await bridge_answer(fake)


async def test_a_question_sent_while_disconnected_is_replayed_on_resume_and_answered(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    await fake.drop()
    sent = await fake.slash("ask", {"question": "marathon course record"})  # kept for the RESUME
    body = await answer_of(fake, sent)
    assert body["embeds"][0]["title"] == "Riverside Marathon Won by Oduya"
    assert len(fake.resumes) == 1


async def test_the_connection_drops_mid_answer_twice(
    fake: FakeDiscord, newsbot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ask = NewsIndex.ask
    go_on = asyncio.Event()
    asking = asyncio.Event()

    async def held_ask(self: NewsIndex, question: str, **kwargs: Any) -> Answer:
        asking.set()
        await go_on.wait()
        return await real_ask(self, question, **kwargs)

    monkeypatch.setattr(NewsIndex, "ask", held_ask)
    for round_ in range(2):
        go_on.clear()
        asking.clear()
        sent = await fake.slash("ask", {"question": "library funding reading rooms"})
        assert (await fake.callback(sent)).json["type"] == 5
        await asyncio.wait_for(asking.wait(), 5)
        await fake.drop()  # while the answer is being prepared
        go_on.set()
        body = await answer_of(fake, sent)  # the answer goes over REST, which did not drop
        assert body["embeds"][0]["title"] == "Library Gets Extra Funding"
        await fake.wait_session()
        assert len(fake.resumes) == round_ + 1
    go_on.set()
    await bridge_answer(fake)


async def test_a_refused_resume_makes_the_bot_identify_again(fake: FakeDiscord, newsbot: NewsBot) -> None:
    fake.invalidate_resume = True
    await fake.drop()
    await fake.wait_session()
    assert fake.identifies == 2 and len(fake.resumes) == 1
    await bridge_answer(fake)


# ----------------------------------------------------------------------------------------------- REST


class RecordedSleeps:
    """Stands in for ``asyncio`` in discord.py's HTTP modules: records each retry wait, caps long ones."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.calls: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.calls.append(delay)
        return await asyncio.sleep(min(delay, self.cap), result)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> RecordedSleeps:
    """discord.py's retry waits, recorded; its 5xx back-off (1 s, 3 s, 5 s, ...) shortened to 0.3 s."""
    recorder = RecordedSleeps(cap=0.3)
    for module in (discord.http, discord.webhook.async_):
        monkeypatch.setattr(module, "asyncio", recorder)
    return recorder


@pytest.mark.parametrize("step", ["acknowledgement", "answer"])
async def test_a_429_is_waited_out_for_retry_after_then_answered(
    fake: FakeDiscord, newsbot: NewsBot, sleeps: RecordedSleeps, step: str
) -> None:
    path = CALLBACK if step == "acknowledgement" else original(fake)
    fault = fake.fail("POST" if step == "acknowledgement" else "PATCH", path, 429, retry_after=0.3)
    sent = await fake.slash("ask", {"question": "harbour bridge cables"})
    body = await delivered(fake, sent)
    assert body["embeds"][0]["title"] == BRIDGE

    limited, retried = [r for r in fake.for_interaction(sent) if fault.path.fullmatch(r.path)][:2]
    assert (limited.status, retried.status) == (429, 200)
    assert 0.3 in sleeps.calls  # discord.py waited the retry_after it was given ...
    assert retried.at - limited.at >= 0.3  # ... before trying again (a lower bound, not a speed)


async def test_a_global_429_on_a_reply_is_waited_out(
    fake: FakeDiscord, newsbot: NewsBot, sleeps: RecordedSleeps
) -> None:
    fault = fake.fail("POST", rf"/channels/{fake.channel_id}/messages", 429, retry_after=0.2, scope="global")
    message = await fake.post_message(f"<@{fake.app_id}> storm farm sheds")
    reply = await reply_to(fake, message)
    assert reply["embeds"][0]["title"] == "Storm Damages Farm Sheds"
    assert len(fault.hits) == 1 and 0.2 in sleeps.calls


async def test_a_500_is_retried_and_the_answer_delivered(
    fake: FakeDiscord, newsbot: NewsBot, sleeps: RecordedSleeps
) -> None:
    fake.fail("POST", CALLBACK, 500)
    fake.fail("PATCH", original(fake), 502, times=2)
    sent = await fake.slash("ask", {"question": "harbour bridge cables"})
    body = await delivered(fake, sent)
    assert body["embeds"][0]["title"] == BRIDGE
    assert trail(fake, sent) == [
        ("POST", "callback", 500),
        ("POST", "callback", 200),
        ("PATCH", "@original", 502),
        ("PATCH", "@original", 502),
        ("PATCH", "@original", 200),
    ]
    assert sleeps.calls[:3] == [1, 1, 3]  # discord.py's back-off: 1 s, then 3 s (shortened here)


async def test_when_discord_keeps_failing_the_answer_the_user_gets_a_clear_error(
    fake: FakeDiscord, newsbot: NewsBot, sleeps: RecordedSleeps
) -> None:
    fault = fake.fail("PATCH", original(fake), 500, times=5)  # every try discord.py makes
    sent = await fake.slash("ask", {"question": "harbour bridge cables"})
    line = await fake.followup(sent, within=10)
    assert is_ephemeral(line)
    assert_sendable(line)
    assert "Discord" in line["content"] and "try again" in line["content"], line["content"]
    assert len(fault.hits) == 5 and sleeps.calls[:4] == [1, 3, 5, 7]
    # the "thinking…" placeholder was removed so the error could be shown, and nothing is left hanging
    assert [m for m, *_ in trail(fake, sent)] == ["POST", *["PATCH"] * 5, "DELETE", "POST"]
    await bridge_answer(fake, user=fake.user2)  # and the next question is answered


# ----------------------------------------------------------------------------------------------- permissions


async def test_admin_commands_from_a_member_a_manager_and_a_dm_are_refused(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    refused = []
    for name in ("reindex", "stats"):
        for who, dm in ((fake.user, False), (fake.manager, False), (fake.admin, True)):
            sent = await fake.slash(name, user=who, dm=dm)
            text = await refusal_of(fake, sent)
            assert ("server" if dm else "admin") in text.lower(), text
            refused.append(sent)
    await settled(fake, newsbot)
    assert not newsbot.index.reindexing
    for sent in refused:
        assert len(fake.for_interaction(sent)) == 1  # the refusal, and nothing else


async def test_an_admin_whose_role_was_removed_since_startup_is_refused(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    stats = await fake.slash("stats", user=fake.admin)
    assert (await fake.callback(stats)).json["type"] == 5  # an admin when the bot started
    assert (await fake.edit_of_original(stats))["embeds"][0]["title"] == "newsbot statistics"

    # The role is taken away. Discord sends GUILD_MEMBER_UPDATE (only with the members intent, which
    # newsbot does not ask for), and every later interaction carries the member's current roles.
    fake.admin.roles = []
    await fake.dispatch("GUILD_MEMBER_UPDATE", {"guild_id": str(fake.guild_id), **fake.admin.member()})
    for name in ("reindex", "stats"):
        sent = await fake.slash(name, user=fake.admin)
        assert "admin" in (await refusal_of(fake, sent)).lower()
    assert not newsbot.index.reindexing


async def test_nothing_a_user_types_names_a_folder_to_index(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path, tmp_path: Path
) -> None:
    synced = fake.commands[(fake.guild_id, "reindex")]
    assert not synced.get("options"), synced  # /reindex takes no parameters at all

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text(" date 2026-10-01 Secret Plans\n\nThe zebrafish plans.\n")
    hostile = ["../../etc/passwd", str(elsewhere), f"{elsewhere}/secret.txt", "file:///etc/shadow"]
    for i, text in enumerate(hostile):
        asker = make_people(fake, 1, f"curious-{i}")[0]
        await answer_of(fake, await fake.slash("ask", {"question": text}, user=asker))
        latest = await fake.slash("latest", {"topic": text}, user=asker)
        assert_sendable(await fake.edit_of_original(latest))
        message = await fake.post_message(f"<@{fake.app_id}> reindex {text}", user=asker)
        assert_sendable(await reply_to(fake, message))

    # a /reindex forged with an extra "folder" option still reads the configured folder only
    sent = await fake.slash("reindex", {"folder": str(elsewhere)}, user=fake.admin)
    report = await fake.edit_of_original(sent, lambda b: bool(b.get("embeds")), within=10)
    assert report["embeds"][0]["title"].startswith("Reindex finished")
    roots = {r[0] for r in await newsbot.index.store.rows("SELECT DISTINCT root FROM files")}
    assert roots == {str(news_dir.resolve())}
    answer = await newsbot.index.ask("zebrafish")
    assert not answer.hits
    for r in fake.requests:
        assert "The zebrafish plans" not in json.dumps(r.json)  # nothing from outside was ever shown


# ----------------------------------------------------------------------------------------------- input, storage

PING = re.compile(r"@everyone|@here|<@!?[0-9]+>|<@&[0-9]+>|<#[0-9]+>")  # what Discord would ping


@pytest.mark.parametrize(
    "question",
    [
        "@everyone @here <@123> <@!123> <@&456> <#789> notice board prank",
        "```\n@here storm\n``` **bold** ||spoiler|| > quote",
        "'; DROP TABLE articles; --",
        "storm\x00 farm\u200b sheds\u202e\u200f",
        ("harbour bridge " * 400)[:6000],  # Discord's longest string option
        "../../etc/passwd",
    ],
)
async def test_hostile_questions_typed_in_discord_are_answered_safely(
    fake: FakeDiscord, newsbot: NewsBot, question: str
) -> None:
    [asker] = make_people(fake, 1)
    articles = (await newsbot.index.stats()).articles
    body = await answer_of(fake, await fake.slash("ask", {"question": question}, user=asker))
    message = await fake.post_message(f"<@{fake.app_id}> {question}", user=asker)
    reply = await reply_to(fake, message)
    for sent in (body, reply):
        assert_sendable(sent)  # within limits, allowed_mentions parse [] and no users or roles
        assert not PING.search(sent["content"]), sent["content"]
        for embed in sent["embeds"]:
            assert not PING.search(json.dumps(embed, ensure_ascii=False)), embed
    assert (await newsbot.index.stats()).articles == articles


async def test_a_reindex_while_another_process_locks_the_database_says_so(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "BUSY_TIMEOUT", 0.3)  # the reindex's connection gives up after 0.3 s
    (news_dir / "2026-10-20-new.txt").write_text(" date 2026-10-20 Kite Festival\n\nKites flew high.\n")
    with exclusive_lock(settings.database):
        sent = await fake.slash("reindex", user=fake.admin)
        body = await fake.edit_of_original(sent, lambda b: "failed" in (b.get("content") or ""), within=10)
        assert body["content"] == (
            f"Reindex failed: the database {settings.database} is locked by another process; try again shortly"
        )
        assert_sendable(body)
        await bridge_answer(fake)  # questions are still answered meanwhile
    assert not newsbot.index.reindexing


async def test_when_the_question_log_cannot_be_written_the_answer_still_comes(
    fake: FakeDiscord, newsbot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def full(*args: Any, **kwargs: Any) -> int:
        raise StoreError("the disk holding newsbot.db is full")

    monkeypatch.setattr(NewsIndex, "record_question", full)
    sent = await fake.slash("ask", {"question": "harbour bridge cables"})
    body = await answer_of(fake, sent)
    assert body["embeds"][0]["title"] == BRIDGE
    click = await fake.click(fake.original_id(sent), "newsbot:up")
    assert "feedback isn't available" in await private_reply_of(fake, click)


# ----------------------------------------------------------------------------------------------- the token

TOKEN = "NEWSBOT.FAKE-TOKEN.never-log-me_0123456789abcdef"  # recognisable, not a real token
WRONG_TOKEN = "NEWSBOT.WRONG-TOKEN.never-log-me-either_fedcba9876543210"


class RawRecords(logging.Handler):
    """Every record as logged, before any formatter could redact it: message and exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.texts.append(text)


@pytest.fixture
def logs() -> Iterator[tuple[io.StringIO, RawRecords]]:
    """The bot's own logging set up at DEBUG (as ``newsbot run`` does), plus a raw capture."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging("DEBUG", TOKEN, logging.StreamHandler(stream))
    raw = RawRecords()
    root.addHandler(raw)
    try:
        yield stream, raw
    finally:
        root.removeHandler(handler)
        root.removeHandler(raw)
        root.setLevel(level)


class TestTheToken:
    @pytest.fixture
    def fake_options(self) -> dict[str, Any]:
        return {"token": TOKEN}

    async def test_the_token_never_reaches_a_log_line_an_error_or_a_message(
        self,
        logs: tuple[io.StringIO, RawRecords],
        fake: FakeDiscord,
        newsbot: NewsBot,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        stream, raw = logs
        assert fake.identify_payload is not None and fake.identify_payload["token"] == TOKEN  # it was used
        await bridge_answer(fake)
        startup = list(raw.texts)
        assert any("logging in using static token" in t for t in startup)  # discord.py's DEBUG lines
        assert not [t for t in startup if TOKEN in t]  # nothing even tried to log it

        # errors in handlers whose text carries the token: a bug (logged with a reference) and an
        # expected error (shown to the user as it is)
        failures: list[BaseException] = [
            RuntimeError(f"request failed: Authorization: Bot {TOKEN}"),
            StoreError(f"the database newsbot-{TOKEN}.db is read-only: cannot write to it"),
        ]

        async def failing_ask(self: NewsIndex, question: str, **kwargs: Any) -> Answer:
            raise failures.pop(0)

        monkeypatch.setattr(NewsIndex, "ask", failing_ask)
        bug = await fake.slash("ask", {"question": "harbour bridge"})
        bug_line = await fake.followup(bug)
        assert "reference" in bug_line["content"]
        expected = await fake.slash("ask", {"question": "harbour bridge"}, user=fake.user2)
        expected_line = await fake.followup(expected)
        assert "read-only" in expected_line["content"] and REDACTED in expected_line["content"]
        failures.append(StoreError(f"the database is locked by {TOKEN}"))
        mention = await fake.post_message(f"<@{fake.app_id}> harbour bridge", user=fake.admin)
        assert REDACTED in (await reply_to(fake, mention))["content"]

        text = stream.getvalue()
        assert "Unexpected error in /ask" in text and "Authorization: Bot " + REDACTED in text
        assert TOKEN not in text
        for r in fake.requests:  # nothing the bot sent to Discord (over REST) carries it
            assert TOKEN not in json.dumps(r.json), r

    async def test_a_failed_login_does_not_reveal_the_token(
        self, logs: tuple[io.StringIO, RawRecords], fake: FakeDiscord, settings: Settings, index: NewsIndex
    ) -> None:
        stream, raw = logs
        with pytest.raises(discord.LoginFailure) as failed:
            await start_bot(settings, WRONG_TOKEN, index, ready_timeout=5.0)
        assert [r.status for r in fake.requests if r.path == "/users/@me"] == [401]
        assert WRONG_TOKEN not in str(failed.value) and WRONG_TOKEN not in repr(failed.value)
        assert WRONG_TOKEN not in "".join(
            logging.Formatter().formatException((type(failed.value), failed.value, failed.tb))
        )
        assert not [t for t in raw.texts if WRONG_TOKEN in t]
        assert WRONG_TOKEN not in stream.getvalue()
        assert "logging in using static token" in stream.getvalue()
