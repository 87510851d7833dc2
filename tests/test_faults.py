"""Faults on the machine: the process killed mid-work, the database read-only or locked, the news folder
missing or unreadable, the disk full. Real SQLite, real files, real SIGKILL of a child process.

After a kill the index, the question log and the feedback are exactly as they were (or hold every write
that was acknowledged), SQLite's integrity check passes, and the debris of an interrupted reindex is gone
as soon as the index is opened again. Under the other faults a reindex fails with a message saying what
happened, and the previous index keeps answering.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsbot.index import generation
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings
from newsbot.index.errors import IndexingError, StoreError
from newsbot.index.generation import gens_dir
from newsbot.index.store import database as store

from .helpers import ROOT, make_settings, write_article

QUESTION = "harbor tram riders"


def news(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    write_article(folder, "tram.txt", "Tram line opens", ["The harbor tram opened to riders on Monday."])
    write_article(folder, "vote.txt", "Council vote", ["The council voted to repave Elm Street."])
    write_article(folder, "sub/storm.txt", "Storm warning", ["A red storm warning was issued for the bay."])
    return folder


def bulk(folder: Path, count: int) -> None:
    for i in range(count):
        write_article(
            folder, f"bulk/{i:04d}.txt", f"Bulk story {i}", [f"Filler paragraph {i} about gardens."] * 3
        )


TABLES = {
    "articles": "id",
    "paragraphs": "id",
    "files": "root, rel",
    "terms": "id",
    "questions": "id",
    "feedback": "question_id, user_id",
}


def snapshot(database: Path) -> dict[str, Any]:
    """Row counts and a hash of every table's rows, the published generation, SQLite's integrity check."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        out: dict[str, Any] = {}
        for table, order in TABLES.items():
            digest = hashlib.sha256()
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
            for row in rows:
                digest.update(repr(row).encode())
            out[table] = (len(rows), digest.hexdigest()[:16])
        out["generation"] = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        out["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0]
        out["foreign_keys"] = conn.execute("PRAGMA foreign_key_check").fetchall()
        return out
    finally:
        conn.close()


async def titles(index: NewsIndex, question: str = QUESTION) -> list[str]:
    return [h.title for h in (await index.ask(question)).hits]


async def indexed_with_a_log(tmp_path: Path) -> tuple[Settings, Path, list[str]]:
    """A published index of three articles, three logged questions and their feedback."""
    folder = news(tmp_path)
    settings = make_settings(tmp_path, [folder])
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        for n in range(3):
            qid = await index.record_question(f"question {n}", user_id=10 + n, guild_id=1, hits=1)
            await index.record_feedback(qid, user_id=10 + n, value=1 if n % 2 else -1)
        answer = await titles(index)
    assert answer and answer[0] == "Tram line opens"
    return settings, folder, answer


def index_part(snap: dict[str, Any]) -> dict[str, Any]:
    """The index's own tables of a snapshot (not the question log)."""
    return {k: snap[k] for k in ("articles", "paragraphs", "files", "terms", "generation", "integrity")}


def debris(database: Path, current: int) -> list[str]:
    """What is in the generations folder besides the published generation and the one before."""
    root = gens_dir(database)
    return sorted(
        p.name for p in root.iterdir() if not (p.name.isdigit() and current - 1 <= int(p.name) <= current)
    )


# ----------------------------------------------------------------------------------------------- the child

CHILD = textwrap.dedent(
    """
    import asyncio, errno, json, os, signal, sys
    sys.path.insert(0, {root!r})
    from newsbot.index import generation
    from newsbot.index.store import database as store
    from newsbot.index.api import NewsIndex
    from newsbot.index.config import settings_from_dict
    from newsbot.index.errors import NewsbotError

    args = json.loads(sys.argv[1])
    action, moment = args["action"], args.get("moment")
    settings = settings_from_dict(
        {{"news": {{"folders": [args["folder"]]}}, "store": {{"database": args["database"]}}}}
    )

    def die():
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    async def reindex():
        def progress(stage, done, total):
            if stage == moment and (stage != "store" or done > 0):
                die()
        real_write = generation.write
        def write(*a, **k):
            path = real_write(*a, **k)
            if moment == "published-not-committed":
                die()
            return path
        generation.write = write
        async with await NewsIndex.open(settings) as index:
            await index.reindex(progress=progress)

    async def feedback():
        if moment == "inside-the-transaction":
            async def add_feedback(self, question_id, user_id, value):
                await self.conn.execute("BEGIN IMMEDIATE")
                await self.conn.execute(
                    "INSERT INTO feedback(question_id, user_id, value, at) VALUES (?, ?, ?, 'now')"
                    " ON CONFLICT(question_id, user_id) DO UPDATE SET value = excluded.value",
                    (question_id, user_id, value),
                )
                die()
            store.Store.add_feedback = add_feedback
        async with await NewsIndex.open(settings) as index:
            n = 0
            while True:  # the parent kills us; each line is a vote that was committed
                qid = await index.record_question(f"burst {{n}}", user_id=1000 + n, guild_id=1, hits=1)
                await index.record_feedback(qid, user_id=1000 + n, value=1)
                await index.record_feedback(1, user_id=1000 + n, value=-1)
                n += 1
                print(n, flush=True)

    async def start():
        if moment == "migrating":
            real = store.statements
            def statements(script):
                for i, statement in enumerate(real(script)):
                    if i == 3:
                        die()
                    yield statement
            store.statements = statements
        if moment == "loading":
            generation.Generation.load = classmethod(lambda cls, *a: die())
        if moment == "sweeping":
            generation.shutil.rmtree = lambda *a, **k: die()
        if moment == "connecting":
            sys.path.insert(0, {root!r})
            import discord.gateway, discord.http
            from tests.e2e.fake_discord import FakeDiscord
            from newsbot.bot.app import NewsBot
            from newsbot.bot.run import start_bot
            fake = FakeDiscord()
            await fake.start()
            discord.http.Route.BASE = fake.api_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = fake.gateway_url
            async def setup_hook(self):
                await self.tree.sync(guild=discord.Object(fake.guild_id))
                die()
            NewsBot.setup_hook = setup_hook
            async with await NewsIndex.open(settings) as index:
                await start_bot(settings, fake.token, index, ready_timeout=10)
        async with await NewsIndex.open(settings) as index:
            print(json.dumps({{"titles": [h.title for h in (await index.ask("harbor tram riders")).hits]}}))

    async def faulty():
        # run where file permissions apply (see unprivileged()), or with the fault simulated
        if args.get("simulate") == "read-only database":
            import aiosqlite
            real_connect = aiosqlite.connect
            def connect(database, **kwargs):
                return real_connect(f"file:{{database}}?mode=ro", uri=True, **kwargs)
            store.aiosqlite.connect = connect
        if args.get("simulate") == "unreadable folder":
            real_scandir = os.scandir
            def scandir(path="."):
                if os.fspath(path) == args["unreadable"]:
                    raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
                return real_scandir(path)
            os.scandir = scandir
        out = {{}}
        async with await NewsIndex.open(settings) as index:
            out["before"] = [h.title for h in (await index.ask("harbor tram riders")).hits]
            try:
                report = await index.reindex()
                out["report"] = {{
                    "articles": report.articles, "removed": report.removed, "added": report.added,
                    "skipped": [[s.path, s.reason] for s in report.skipped],
                }}
            except NewsbotError as exc:
                out["error"] = [type(exc).__name__, str(exc)]
            out["after"] = [h.title for h in (await index.ask("harbor tram riders")).hits]
            out["storm"] = [h.title for h in (await index.ask("red storm warning bay")).hits]
            try:
                await index.record_question("asked during the fault", user_id=1, guild_id=1, hits=1)
                out["logged"] = True
            except NewsbotError as exc:
                out["log_error"] = str(exc)
        print(json.dumps(out))

    asyncio.run({{"reindex": reindex, "feedback": feedback, "start": start, "faulty": faulty}}[action]())
    """
)


def child(
    tmp_path: Path, settings: Settings, folder: Path, prefix: list[str] | None = None, **args: Any
) -> list[str]:
    """The command that runs CHILD with ``args`` against this database and folder."""
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT)), encoding="utf-8")
    payload = {"database": str(settings.database), "folder": str(folder), **args}
    return [*(prefix or []), sys.executable, str(script), json.dumps(payload)]


def run_child(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def killed(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-3000:])


# ----------------------------------------------------------------------------------------------- kills


@pytest.mark.parametrize("moment", ["parse", "store", "build", "published-not-committed"])
async def test_killed_during_a_reindex_nothing_is_lost_and_the_debris_goes_on_restart(
    tmp_path: Path, moment: str
) -> None:
    settings, folder, answer = await indexed_with_a_log(tmp_path)
    before = snapshot(settings.database)
    bulk(folder, 600)

    killed(run_child(child(tmp_path, settings, folder, action="reindex", moment=moment)))
    if moment == "published-not-committed":
        assert debris(settings.database, 1) == ["00000002"], "the kill left nothing behind to clean"

    async with await NewsIndex.open(settings) as index:  # the restart
        assert debris(settings.database, 1) == []  # the unfinished generation was swept at once
        assert snapshot(settings.database) == before  # index, question log and feedback as they were
        assert index.generation is not None and index.generation.number == 1
        assert await titles(index) == answer
        report = await index.reindex()
    assert report.published and report.articles == 603 and report.added == 600
    assert snapshot(settings.database)["questions"] == before["questions"]
    assert snapshot(settings.database)["feedback"] == before["feedback"]


async def test_killed_while_writing_feedback_keeps_every_acknowledged_vote(tmp_path: Path) -> None:
    settings, folder, _ = await indexed_with_a_log(tmp_path)
    before = snapshot(settings.database)
    proc = subprocess.Popen(
        child(tmp_path, settings, folder, action="feedback"), stdout=subprocess.PIPE, text=True
    )
    try:
        acknowledged = 0
        assert proc.stdout is not None
        while acknowledged < 40:  # then kill it in the middle of its stream of writes
            line = proc.stdout.readline()
            assert line, "the child stopped writing"
            acknowledged = int(line)
        proc.send_signal(signal.SIGKILL)
        # the child may have acknowledged more while the kill was on its way: read what it said
        for line in proc.stdout:
            acknowledged = max(acknowledged, int(line))
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    after = snapshot(settings.database)
    assert after["integrity"] == "ok" and after["foreign_keys"] == []
    conn = sqlite3.connect(settings.database)
    try:
        first = conn.execute("SELECT * FROM questions WHERE id <= 3 ORDER BY id").fetchall()
        votes = dict(conn.execute("SELECT user_id, value FROM feedback WHERE question_id = 1").fetchall())
        burst = conn.execute("SELECT count(*) FROM feedback WHERE user_id >= 1000 AND value = 1").fetchone()[
            0
        ]
        questions = conn.execute("SELECT count(*) FROM questions").fetchone()[0]
    finally:
        conn.close()
    assert len(first) == 3 and [q[2] for q in first] == ["question 0", "question 1", "question 2"]
    assert votes[10] == -1  # the vote given before the burst is still there
    assert acknowledged <= burst <= acknowledged + 1  # every acknowledged vote, at most one more
    assert acknowledged + 3 <= questions <= acknowledged + 4
    for table in ("articles", "paragraphs", "files", "terms"):
        assert after[table] == before[table]


async def test_killed_inside_a_feedback_transaction_the_vote_is_rolled_back(tmp_path: Path) -> None:
    settings, folder, _ = await indexed_with_a_log(tmp_path)
    before = snapshot(settings.database)
    killed(run_child(child(tmp_path, settings, folder, action="feedback", moment="inside-the-transaction")))
    after = snapshot(settings.database)
    # the question logged just before survives; the vote whose transaction never committed does not
    assert after["questions"][0] == before["questions"][0] + 1
    assert after["feedback"] == before["feedback"]
    assert after["integrity"] == "ok"
    async with await NewsIndex.open(settings) as index:  # and the log takes new votes
        await index.record_feedback(1, user_id=77, value=1)
        assert (await index.stats()).feedback_up == 2  # the one given before, and this one


@pytest.mark.parametrize("moment", ["migrating", "loading", "sweeping", "connecting"])
async def test_killed_during_startup_nothing_is_lost(tmp_path: Path, moment: str) -> None:
    if moment == "migrating":  # a first start: the schema is being created
        folder = news(tmp_path)
        settings = make_settings(tmp_path, [folder])
        killed(run_child(child(tmp_path, settings, folder, action="start", moment=moment)))
        assert settings.database.exists()
        async with await NewsIndex.open(settings) as index:
            assert (await index.reindex()).articles == 3
            assert await titles(index)
        assert snapshot(settings.database)["integrity"] == "ok"
        return

    settings, folder, answer = await indexed_with_a_log(tmp_path)
    stray = gens_dir(settings.database) / "tmp-00000002-99999"  # as a killed reindex leaves it
    stray.mkdir()
    (stray / "w_data.npy").write_bytes(b"\x93NUMPY partial")
    before = snapshot(settings.database)

    killed(run_child(child(tmp_path, settings, folder, action="start", moment=moment)))

    assert snapshot(settings.database) == before
    proc = run_child(child(tmp_path, settings, folder, action="start"))  # the restart
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.splitlines()[-1])["titles"] == answer
    assert debris(settings.database, 1) == []
    assert snapshot(settings.database) == before


# ----------------------------------------------------------------------------------------------- permissions


@functools.cache
def unprivileged() -> list[str] | None:
    """A command prefix under which file permissions apply to the child, or None if there is none here.

    As root they do not (CAP_DAC_OVERRIDE): setpriv drops the capabilities that override them.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        probe = subprocess.run(
            [*prefix, "cat", "/proc/self/status"], capture_output=True, text=True, timeout=30
        )
        caps = [line for line in probe.stdout.splitlines() if line.startswith("CapEff:")]
        if probe.returncode == 0 and caps and not int(caps[0].split()[1], 16) & 0b110:  # bits 1 and 2
            return prefix
    return None


@contextlib.contextmanager
def mode(path: Path, bits: int) -> Iterator[None]:
    old = path.stat().st_mode & 0o7777
    path.chmod(bits)
    try:
        yield
    finally:
        path.chmod(old)


def run_faulty(
    tmp_path: Path, settings: Settings, folder: Path, target: Path, bits: int, fault: str
) -> dict[str, Any]:
    """Run CHILD's "faulty" action with ``target`` chmod-ed to ``bits``, for real where file permissions
    can apply, else with the fault simulated inside the child (the report says which)."""
    prefix = unprivileged()
    args: dict[str, Any] = {"action": "faulty"}
    if prefix is None:
        args |= {"simulate": fault, "unreadable": str(target)}
        cmd = child(tmp_path, settings, folder, **args)
        proc = run_child(cmd)
    else:
        cmd = child(tmp_path, settings, folder, prefix, **args)
        with mode(target, bits):
            proc = run_child(cmd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


async def test_a_read_only_database_keeps_answering_and_says_why_it_cannot_reindex(tmp_path: Path) -> None:
    settings, folder, answer = await indexed_with_a_log(tmp_path)
    write_article(folder, "new.txt", "Library reopens", ["The library reopened after renovation."])
    before = snapshot(settings.database)

    out = run_faulty(tmp_path, settings, folder, settings.database, 0o444, "read-only database")

    assert out["error"] == [
        "StoreError",
        f"the database {settings.database} is read-only: cannot write to it",
    ]
    assert out["before"] == out["after"] == answer  # it kept answering, from the old index
    assert "read-only" in out["log_error"]  # the question log says so too (the bot logs it and answers)
    assert snapshot(settings.database) == before


@pytest.mark.parametrize("which", ["the news folder", "a subfolder"])
async def test_an_unreadable_news_folder_loses_nothing(tmp_path: Path, which: str) -> None:
    settings, folder, answer = await indexed_with_a_log(tmp_path)
    before = snapshot(settings.database)
    target = folder if which == "the news folder" else folder / "sub"

    out = run_faulty(tmp_path, settings, folder, target, 0o000, "unreadable folder")

    assert out["before"] == out["after"] == answer
    assert out["storm"] == ["Storm warning"]  # the article in the unreadable folder is still there
    if which == "the news folder":
        kind, text = out["error"]
        assert kind == "IndexingError"
        assert text == (
            f"none of the news folders could be read: {target}: cannot open folder (Permission denied). "
            "The previous index is still serving."
        )
        assert index_part(snapshot(settings.database)) == index_part(before)
    else:
        assert "error" not in out
        assert out["report"]["removed"] == 0 and out["report"]["articles"] == 3
        assert out["report"]["skipped"] == [[str(target), "cannot open folder (Permission denied)"]]
        assert snapshot(settings.database)["articles"] == before["articles"]


async def test_a_missing_news_folder_keeps_the_old_index(tmp_path: Path) -> None:
    settings, folder, answer = await indexed_with_a_log(tmp_path)
    before = snapshot(settings.database)
    folder.rename(tmp_path / "moved")
    async with await NewsIndex.open(settings) as index:
        with pytest.raises(IndexingError) as failed:
            await index.reindex()
        assert str(failed.value) == (
            f"none of the news folders could be read: {folder}: folder not found. "
            "The previous index is still serving."
        )
        assert await titles(index) == answer
    assert snapshot(settings.database) == before


# ----------------------------------------------------------------------------------------------- locks, disk


@contextlib.contextmanager
def exclusive_lock(database: Path) -> Iterator[None]:
    """Another process holds ``BEGIN EXCLUSIVE`` on the database until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n"
            "c.execute('ROLLBACK')\n",
            str(database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)


async def test_a_database_locked_by_another_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "BUSY_TIMEOUT", 0.3)  # instead of waiting 30 s for the lock
    settings, folder, answer = await indexed_with_a_log(tmp_path)
    write_article(folder, "new.txt", "Library reopens", ["The library reopened after renovation."])
    before = snapshot(settings.database)
    async with await NewsIndex.open(settings) as index:
        with exclusive_lock(settings.database):
            with pytest.raises(StoreError) as failed:
                await index.reindex()
            assert str(failed.value) == (
                f"the database {settings.database} is locked by another process; try again shortly"
            )
            assert await titles(index) == answer  # readers are not blocked (WAL)
            with pytest.raises(StoreError, match="locked by another process"):
                await index.record_question("during the lock", user_id=1, guild_id=1, hits=0)
            assert snapshot(settings.database) == before
        report = await index.reindex()  # once the lock is gone, all is well
        assert report.added == 1 and await titles(index, "library renovation") == ["Library reopens"]


async def test_the_disk_full_while_writing_the_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, folder, answer = await indexed_with_a_log(tmp_path)
    write_article(folder, "new.txt", "Library reopens", ["The library reopened after renovation."])
    before = snapshot(settings.database)
    written = 0
    real_save = generation.np.save

    def save(*args: Any, **kwargs: Any) -> None:
        nonlocal written
        written += 1
        if written == 3:  # a few arrays in
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(*args, **kwargs)

    monkeypatch.setattr(generation.np, "save", save)
    async with await NewsIndex.open(settings) as index:
        with pytest.raises(IndexingError) as failed:
            await index.reindex()
        assert str(failed.value) == (
            f"the disk is full (no space left in {settings.database.parent}); the previous index is still serving"
        )
        assert debris(settings.database, 1) == []  # the partial generation was removed at once
        assert await titles(index) == answer
        assert snapshot(settings.database) == before
        monkeypatch.setattr(generation.np, "save", real_save)
        report = await index.reindex()  # space again: the next reindex works and clears the debris
        assert report.published and report.added == 1
    assert debris(settings.database, report.generation) == []


async def test_the_disk_full_while_writing_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, folder, answer = await indexed_with_a_log(tmp_path)
    bulk(folder, 300)
    before = snapshot(settings.database)
    real_open = store.Store.open

    async def full_disk(path: Path, *, migrate: bool = True) -> store.Store:
        opened = await real_open(path, migrate=migrate)
        pages = int(await opened.scalar("PRAGMA page_count"))
        await opened.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own "disk full"
        return opened

    async with await NewsIndex.open(settings) as index:
        monkeypatch.setattr(store.Store, "open", full_disk)  # the reindex's own connection
        with pytest.raises(StoreError) as failed:
            await index.reindex()
        assert str(failed.value) == f"the disk holding {settings.database} is full"
        assert await titles(index) == answer
    assert snapshot(settings.database) == before


async def test_a_damaged_database_file_is_named_as_such(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, [news(tmp_path)])
    settings.database.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StoreError) as failed:
        await NewsIndex.open(settings)
    assert str(failed.value) == f"{settings.database} is not a newsbot database, or it is damaged"
