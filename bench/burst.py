"""The load test's burst of /ask interactions, over a full-size index, by hand (not in CI).

    python bench/burst.py --db /tmp/newsbot-bench/sizes/all/newsbot.db [--questions 200]
        [--with-reindex [--at-stage Building]] [--reindex-db PATH] [--extra-articles 2000]
        [--workdir /tmp/newsbot-burst]

The bot runs in a process of its own (as in production, where Discord is across the network), connected
to the fake Discord of the end-to-end tests (``tests/e2e/fake_discord.py``, imported, not copied), which
runs in this process. After a few warm-up questions, ``--questions`` /ask interactions are injected at once,
each from a different member, and every acknowledgement (the deferred response) and answer (the edit of
the original response) is awaited. Printed: acknowledgement and answer latency p50 / p99 / max, measured
from the moment the fake sent an interaction to the moment it received the bot's request.

The given database is never written (the bot logs every question, and a reindex writes): it is copied,
with its generations, under ``--workdir`` (emptied first), and the bot serves the copy.
``--with-reindex`` then does the same burst while an admin's /reindex of that copy runs, with
``--extra-articles`` generated articles added in a folder of their own so that the reindex has real work
(storing them, then rebuilding the whole index). ``--reindex-db`` reindexes a copy of another (e.g.
smaller) database for that part instead.
The questions are the real news-quiz questions of ``../shared/eval/realtimeqa_dev.jsonl`` when present.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.burst import Burst, collect, inject, make_people  # noqa: E402
from tests.e2e.corpus import write_filler  # noqa: E402
from tests.e2e.fake_discord import FakeDiscord, Request, Sent  # noqa: E402

EVAL_QUESTIONS = REPO.parent / "shared" / "eval" / "realtimeqa_dev.jsonl"
FALLBACK_QUESTIONS = [
    "What happened in the election?",
    "Which company announced record profits?",
    "Who won the championship final?",
    "What did the central bank decide about interest rates?",
    "Where did the earthquake strike?",
]
WAIT = 1800.0  # seconds: the longest anything is waited for
HEARTBEAT = 1.0  # seconds: the heartbeat interval the fake asks for during the reindex part


def the_questions(n: int) -> list[str]:
    found: list[str] = []
    if EVAL_QUESTIONS.exists():
        for line in EVAL_QUESTIONS.read_text(encoding="utf-8").splitlines():
            if line.strip():
                found.append(json.loads(line)["question"])
    found = found or FALLBACK_QUESTIONS
    return [found[i % len(found)] for i in range(n)]


def folders_of(database: Path) -> list[str]:
    """The folders the database was indexed from (so a reindex reads the same ones)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT DISTINCT root FROM files ORDER BY root")]
    finally:
        conn.close()


def copy_database(source: Path, workdir: Path) -> Path:
    """A copy of ``source`` and its generations in ``workdir`` (emptied first)."""
    print(f"copying {source} to {workdir} ...", flush=True)
    target = workdir / source.name
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)  # consistent even if the original is in use
    gens = source.with_name(source.name + ".gens")
    if gens.is_dir():
        shutil.copytree(gens, target.with_name(target.name + ".gens"))
    return target


# --------------------------------------------------------------------------------------- the bot process


async def serve(config: dict[str, Any]) -> None:
    """In the child: run the real bot against the fake until stdin closes."""
    import logging

    import discord.gateway
    import discord.http
    import yarl

    from newsbot.bot.run import start_bot
    from newsbot.index.api import NewsIndex
    from newsbot.index.config import settings_from_dict

    logging.basicConfig(level=logging.WARNING, format="bot: %(levelname)s %(name)s: %(message)s")
    discord.http.Route.BASE = config["api_base"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config["gateway"])
    settings = settings_from_dict(
        {
            "news": {"folders": config["folders"]},
            "store": {"database": config["database"]},
            "discord": {
                "guild_ids": [config["guild_id"]],
                "admin_role_ids": [config["admin_role_id"]],
                "more_timeout_seconds": 3600.0,
            },
        }
    )
    async with await NewsIndex.open(settings) as index:
        bot, task = await start_bot(
            settings, config["token"], index, ready_timeout=300, guild_ready_timeout=0.01
        )
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await bot.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 10)


class BotProcess:
    """The bot in a child process, connected to ``fake``."""

    def __init__(self, fake: FakeDiscord, database: Path, folders: list[str]) -> None:
        config = {
            "api_base": fake.api_base,
            "gateway": str(fake.gateway_url),
            "token": fake.token,
            "guild_id": fake.guild_id,
            "admin_role_id": fake.admin_role_id,
            "database": str(database),
            "folders": folders,
        }
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    async def ready(self) -> None:
        assert self.proc.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, self.proc.stdout.readline)
        if line.strip() != "ready":
            raise SystemExit(f"the bot did not start (exit code {self.proc.poll()})")

    async def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        await asyncio.get_running_loop().run_in_executor(None, self.proc.wait, 60)


# --------------------------------------------------------------------------------------- measuring


def report_line(burst: Burst, label: str) -> str:
    bad = [
        (s, c, a)
        for s, c, a in zip(burst.sent, burst.callbacks, burst.answers, strict=True)
        if c.json.get("type") != 5 or c.status != 200 or a.status != 200
    ]
    empty = sum(1 for body in burst.bodies if not body.get("embeds"))
    note = f" ({len(bad)} NOT acknowledged and answered properly)" if bad else ""
    return f"{burst.figures(label)}; {empty} answers without a passage{note}"


async def warm_up(fake: FakeDiscord, questions: list[str]) -> list[float]:
    """A few questions one at a time (loads the index pages the burst will use); their answer times."""
    out = []
    for i, question in enumerate(questions):
        [person] = make_people(fake, 1, f"warm-{i}")
        sent = await inject(fake, [question], [person])
        burst = await collect(fake, sent, within=WAIT)
        out.append(burst.answer_seconds[0])
    return out


async def burst_alone(fake: FakeDiscord, questions: list[str], label: str) -> Burst:
    sent = await inject(fake, questions, make_people(fake, len(questions)))
    burst = await collect(fake, sent, within=WAIT)
    print(report_line(burst, label), flush=True)
    return burst


def edit_of(fake: FakeDiscord, sent: Sent, request: Request) -> str | None:
    """The text of ``request`` when it edits the response to ``sent`` (else None)."""
    if (
        request.method != "PATCH"
        or request.path != f"/webhooks/{fake.app_id}/{sent.token}/messages/@original"
    ):
        return None
    body = request.json or {}
    return " ".join([body.get("content") or "", *[e.get("title") or "" for e in body.get("embeds") or []]])


async def report_of(fake: FakeDiscord, sent: Sent) -> Request:
    """The edit that ends a /reindex: the report, or the reason it failed."""
    return await fake.wait_for(
        lambda r: any(
            word in (edit_of(fake, sent, r) or "") for word in ("Reindex finished", "Reindex failed")
        ),
        within=WAIT,
    )


async def burst_with_reindex(fake: FakeDiscord, questions: list[str], label: str, stage: str) -> None:
    """The burst, sent once the /reindex's progress line shows ``stage``."""
    reindex = await fake.slash("reindex", user=fake.admin)
    started = time.perf_counter()
    progress = await fake.wait_for(
        lambda r: (
            (edit_of(fake, reindex, r) or "").startswith("Reindexing")
            and stage in (edit_of(fake, reindex, r) or "")
        ),
        within=WAIT,
    )
    shown = (edit_of(fake, reindex, progress) or "").strip()
    burst = await burst_alone(fake, questions, f"{label} (sent {progress.at - started:.1f} s in: {shown!r})")
    report = await report_of(fake, reindex)
    before_swap = sum(1 for a in burst.answers if a.at < report.at)
    beats = [started, *(t for t in fake.heartbeats if started <= t <= report.at), report.at]
    gap = max(b - a for a, b in itertools.pairwise(beats))
    print(
        f"  reindex: {report.at - started:.1f} s ({(edit_of(fake, reindex, report) or '').strip()}); "
        f"{before_swap} of {len(burst.answers)} answers arrived before it published; "
        f"{len(beats) - 2} heartbeats meanwhile (interval {HEARTBEAT:.0f} s), longest gap {gap:.2f} s",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    questions = the_questions(args.questions)
    database = Path(args.db).resolve()
    if not database.exists():
        raise SystemExit(f"no database at {database} (build one with bench/bench.py)")
    workdir = Path(args.workdir)
    copy = copy_database(database, workdir / "serve")
    fake = FakeDiscord()
    await fake.start()
    try:
        bot = BotProcess(fake, copy, folders_of(copy))
        await bot.ready()
        try:
            warm = await warm_up(fake, questions[:5])
            print(
                f"{database}: warm-up answers (one at a time): {', '.join(f'{s * 1000:.0f} ms' for s in warm)}"
            )
            await burst_alone(fake, questions, "burst")
        finally:
            await bot.stop()
        if not args.with_reindex:
            return

        source = Path(args.reindex_db).resolve() if args.reindex_db else database
        copy = copy_database(source, workdir / "reindex")
        extra = workdir / "extra-news"
        write_filler(extra, args.extra_articles, prefix="burst")
        fake2 = FakeDiscord(heartbeat_interval=HEARTBEAT)
        await fake2.start()
        try:
            bot = BotProcess(fake2, copy, [*folders_of(copy), str(extra)])
            await bot.ready()
            try:
                await warm_up(fake2, questions[:5])
                await burst_with_reindex(
                    fake2,
                    questions,
                    f"burst during a /reindex (+{args.extra_articles} articles) of {source.name}",
                    args.at_stage,
                )
            finally:
                await bot.stop()
        finally:
            await fake2.stop()
    finally:
        await fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--db", help="the newsbot database to serve (e.g. /tmp/newsbot-bench/sizes/all/newsbot.db)"
    )
    p.add_argument("--questions", type=int, default=200, help="interactions in the burst (default 200)")
    p.add_argument("--with-reindex", action="store_true", help="also the burst during a /reindex (of a copy)")
    p.add_argument(
        "--at-stage",
        default="",
        help='send the burst when the reindex progress shows this ("Reading", "Storing", "Building"; default: at once)',
    )
    p.add_argument("--reindex-db", help="the database to copy and reindex (default: --db)")
    p.add_argument(
        "--extra-articles", type=int, default=2000, help="articles the reindex adds (default 2000)"
    )
    p.add_argument("--workdir", default="/tmp/newsbot-burst", help="where the copies go (each emptied first)")
    p.add_argument("--serve", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.serve and not args.db:
        p.error("--db is required")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve:
        asyncio.run(serve(json.loads(arguments.serve)))
    else:
        asyncio.run(main(arguments))
