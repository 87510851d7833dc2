"""Load over the loopback Discord: a burst of 200 /ask at once, alone and during a /reindex; heartbeats.

Latency figures are printed (run with ``-s`` to see them); they are measured, never asserted. What is asserted
is that every interaction was acknowledged (a deferred response) and answered (the edit of @original) with
the right passage, that every question reached the question log, and, during a reindex, that the event loop
never stalled for a second (a lag probe) and heartbeats kept flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from newsbot.bot.app import NewsBot
from newsbot.index import generation
from newsbot.index.config import SAMPLE_NEWS

from .burst import Burst, collect, inject, make_people
from .corpus import write_filler
from .fake_discord import FakeDiscord, Request, Sent
from .helpers import assert_sendable, until

pytestmark = pytest.mark.e2e

BURST = 200
QUESTIONS = (
    "when does the Harbor Line tram open?",
    "who won the Riverside marathon?",
    "storm Bramwell damage in Kestrel Bay",
    "who was elected mayor of Alderbrook?",
    "boil water notice in Millbrook",
    "Lumora recycling funding",
    "comet discovered by an amateur",
    "ferry fare rise",
)
GATE_SECONDS = 60.0  # the longest a test holds a reindex back (a safety net; never reached when all is well)


@pytest.fixture
def news_dir(tmp_path: Path) -> Path:
    """A copy of the bundled sample news (42 articles), so a test can add files to it."""
    folder = tmp_path / "news"
    shutil.copytree(SAMPLE_NEWS, folder)
    return folder


@pytest.fixture
def discord_options() -> dict[str, object]:
    return {"more_timeout_seconds": 30.0}


async def expected_titles(bot: NewsBot) -> dict[str, str]:
    """The title of the first passage of each question, straight from the index."""
    titles = {}
    for question in QUESTIONS:
        answer = await bot.index.ask(question)
        assert answer.hits, question
        titles[question] = answer.hits[0].title
    return titles


def check_burst(burst: Burst, questions: list[str], titles: dict[str, str]) -> None:
    """Every interaction deferred first, then answered with the expected first passage."""
    for sent, callback, answer, question in zip(
        burst.sent, burst.callbacks, burst.answers, questions, strict=True
    ):
        assert callback.json["type"] == 5, callback  # deferred ("thinking"), within the 3-second window
        assert callback.status == 200 and answer.status == 200
        assert answer.at >= callback.at
        body = answer.json
        assert_sendable(body)
        assert body["embeds"] and body["embeds"][0]["title"] == titles[question], (sent, body)


async def questions_logged(bot: NewsBot, count: int, within: float = 60.0) -> int:
    """The number of logged questions once it reaches ``count`` (the log is written in the background)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while (logged := (await bot.index.stats()).questions) < count and loop.time() < end:
        await asyncio.sleep(0.02)
    return logged


async def report_of(fake: FakeDiscord, sent: Sent, within: float = 60.0) -> Request:
    """The edit of /reindex's response that carries the report."""
    path = f"/webhooks/{fake.app_id}/{sent.token}/messages/@original"
    return await fake.wait_for(
        lambda r: r.method == "PATCH" and r.path == path and bool(r.json.get("embeds")), within=within
    )


def hold_reindex(monkeypatch: pytest.MonkeyPatch, until_set: Callable[[], bool]) -> threading.Event:
    """Hold every reindex just before it writes its generation until ``until_set()`` holds.

    The wait happens on the reindex's worker thread (off the event loop), like a slow disk; the returned
    event is set when a reindex reached that point.
    """
    real_write = generation.write
    reached = threading.Event()

    def write(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        end = time.monotonic() + GATE_SECONDS
        while not until_set() and time.monotonic() < end:
            time.sleep(0.01)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(generation, "write", write)
    return reached


async def test_a_burst_of_200_questions_is_acknowledged_and_answered(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    titles = await expected_titles(newsbot)
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(BURST)]
    before = (await newsbot.index.stats()).questions

    sent = await inject(fake, questions, make_people(fake, BURST))
    burst = await collect(fake, sent)

    check_burst(burst, questions, titles)
    assert await questions_logged(newsbot, before + BURST) == before + BURST
    print("\n" + burst.figures("burst over the sample news"))


async def test_a_burst_during_a_reindex_is_answered_from_the_old_index(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    titles = await expected_titles(newsbot)
    generation_before = newsbot.index.generation.number  # type: ignore[union-attr]
    write_filler(news_dir, 600)
    answered = threading.Event()
    reached = hold_reindex(monkeypatch, answered.is_set)

    reindex = await fake.slash("reindex", user=fake.admin)
    assert (await fake.callback(reindex)).json["type"] == 5
    await until(reached.is_set, within=30)  # the reindex has read, stored and built; it holds the writer lock
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(BURST)]
    sent = await inject(fake, questions, make_people(fake, BURST))
    try:
        burst = await collect(fake, sent)
        assert newsbot.index.reindexing
        assert newsbot.index.generation.number == generation_before  # type: ignore[union-attr]
    finally:
        answered.set()

    check_burst(burst, questions, titles)
    report = await report_of(fake, reindex)
    fields = {f["name"]: f["value"] for f in report.json["embeds"][0]["fields"]}
    assert fields["Added"] == "600"
    assert max(a.at for a in burst.answers) < report.at  # every answer came before the new index
    assert await questions_logged(newsbot, BURST) == BURST  # none lost while the reindex held the database
    assert (await newsbot.index.stats()).generation > generation_before
    print("\n" + burst.figures("burst during a reindex (answered from the old index)"))


class LagProbe:
    """A task that sleeps ``period`` over and over and records how late the event loop woke it: the loop's
    longest stall while the probe ran (anything that blocks the loop, for however short, delays it)."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.worst = 0.0  # seconds: the largest overshoot of one sleep
        self.wakes = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.period)
            self.worst = max(self.worst, time.perf_counter() - before - self.period)
            self.wakes += 1

    async def __aenter__(self) -> LagProbe:
        self._task = asyncio.create_task(self._run(), name="lag-probe")
        await asyncio.sleep(0)  # running before the caller goes on
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class TestHeartbeats:
    INTERVAL = 0.1  # seconds: the heartbeat interval the fake sends in HELLO
    ARTICLES = 1500
    STALL_LIMIT = 1.0  # seconds: the longest the event loop may stall during a reindex (a generous bound)

    @pytest.fixture
    def fake_options(self) -> dict[str, Any]:
        return {"heartbeat_interval": self.INTERVAL}

    async def test_the_loop_never_stalls_and_heartbeats_keep_flowing_during_a_reindex(
        self, fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
    ) -> None:
        write_filler(news_dir, self.ARTICLES)
        # A real reindex (read, parse, store and build 1,500 articles), nothing held: the probe measures
        # how long the loop stalls meanwhile; discord.py's keep-alive thread sends a heartbeat every
        # INTERVAL through the loop, so a stalled loop also shows as a gap between heartbeats.
        async with LagProbe() as probe:
            started = time.perf_counter()
            reindex = await fake.slash("reindex", user=fake.admin)
            report = await report_of(fake, reindex, within=90)
            finished = report.at

        embed = report.json["embeds"][0]
        assert embed["title"] == "Reindex finished"
        assert {f["name"]: f["value"] for f in embed["fields"]}["Added"] == str(self.ARTICLES)
        seconds = finished - started
        during = [t for t in fake.heartbeats if started <= t <= finished]
        gaps = [b - a for a, b in itertools.pairwise([started, *during, finished])]
        print(
            f"\nduring a {seconds:.1f} s reindex of {self.ARTICLES:,} articles: longest loop stall "
            f"{probe.worst * 1000:.0f} ms ({probe.wakes} probes of {probe.period * 1000:.0f} ms); "
            f"{len(during)} heartbeats (interval {self.INTERVAL * 1000:.0f} ms), longest gap {max(gaps) * 1000:.0f} ms"
        )
        assert probe.wakes >= 1
        assert probe.worst < self.STALL_LIMIT, (
            f"the event loop stalled {probe.worst:.2f} s during the reindex"
        )
        assert max(gaps) < self.INTERVAL + self.STALL_LIMIT, (gaps, seconds)
        # every INTERVAL when nothing stalls; at least half of that, however busy the machine
        assert len(during) >= max(1, round(seconds / self.INTERVAL / 2)), (len(during), seconds)
