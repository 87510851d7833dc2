"""Reads work on a database newsbot cannot write: a read-only folder, a disk with no space at all.

SQLite needs a ``-shm`` file beside a WAL database to read it, and cannot make one in a read-only folder
or on a full disk. Read commands (ask, latest, stats, console) then open the database read-only, or
immutable when no ``-wal`` file holds writes not yet in it; writes say in one line what stops them.

For real, a read-only folder is a read-only bind mount and a full disk a small tmpfs, both in a mount
namespace of their own (``unshare -m``: needs root or user namespaces; skipped where that is not
possible). The choice between the two ways of reading is also tested with the failure simulated.
"""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from newsbot.index.store import database

from .helpers import one_line, run

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

QUESTION = ["ask", "harbor tram riders", "--as-of", "2026-11-01", "--json"]


def indexed(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: Path) -> tuple[Path, Path, list[Any]]:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "tram.txt").write_text(
        " date 2026-10-01 Tram line opens\n\nThe harbor tram opened to riders on Monday.\n", encoding="utf-8"
    )
    (folder / "storm.txt").write_text(
        " date 2026-10-03 Storm\n\nA storm warning for the bay.\n", encoding="utf-8"
    )
    where.mkdir(parents=True, exist_ok=True)
    db = where / "news.db"
    assert run(capsys, "index", str(folder), "--db", str(db), "--json")[0] == 0
    code, out, _ = run(capsys, *QUESTION, "--db", str(db))
    assert code == 0
    return folder, db, json.loads(out)["hits"]


# --- for real, in a mount namespace ----------------------------------------------------------------
@functools.cache
def can_mount() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run(
        [
            unshare,
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs /mnt 2>/dev/null || mount -t tmpfs tmpfs /tmp",
        ],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not can_mount(), reason="no mount namespace here (unshare -m)")


def in_namespace(
    setup: str, folder: Path, commands: list[list[str]]
) -> list[subprocess.CompletedProcess[str]]:
    """Run each CLI command after ``setup`` (a shell line; $1 is ``folder``) in one mount namespace."""
    results = []
    for argv in commands:
        script = f'{setup} && shift && exec "$@"'
        cmd = [
            "unshare",
            "-m",
            "sh",
            "-c",
            script,
            "sh",
            str(folder),
            sys.executable,
            "-m",
            "newsbot.cli",
            *argv,
        ]
        results.append(
            subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        )
    return results


def reads(db: Path) -> list[list[str]]:
    return [[*QUESTION, "--db", str(db)], ["latest", "--db", str(db), "--json"], ["stats", "--db", str(db)]]


@needs_mount
def test_a_read_only_folder_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, db, hits = indexed(tmp_path, capsys, tmp_path / "data")
    assert not db.with_name("news.db-shm").exists()  # no -wal, no -shm: nobody has it open
    read_only = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1"'
    ask, latest, stats, write = in_namespace(
        read_only, db.parent, [*reads(db), ["index", str(folder), "--db", str(db)]]
    )
    assert ask.returncode == 0 and json.loads(ask.stdout)["hits"] == hits, ask.stderr
    assert latest.returncode == 0 and len(json.loads(latest.stdout)) == 2
    assert stats.returncode == 0 and "Articles: 2" in stats.stdout
    assert (
        write.returncode == 2
        and one_line(write.stderr) == f"cannot write the database {db}: its folder is read-only"
    )


@needs_mount
def test_a_full_disk_is_read_and_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, db, hits = indexed(tmp_path, capsys, tmp_path / "data")
    (folder / "new.txt").write_text(" date 2026-10-05 New\n\nA new article to write.\n", encoding="utf-8")
    full = (
        'cp -a "$1" /tmp/saved-$$ && mount -t tmpfs -o size=4m tmpfs "$1" && cp -a /tmp/saved-$$/. "$1"'
        ' && rm -rf /tmp/saved-$$ && { dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null; true; }'
    )
    ask, latest, stats, write = in_namespace(
        full, db.parent, [*reads(db), ["index", str(folder), "--db", str(db)]]
    )
    assert ask.returncode == 0 and json.loads(ask.stdout)["hits"] == hits, ask.stderr
    assert latest.returncode == 0 and stats.returncode == 0
    assert write.returncode == 2 and one_line(write.stderr) == f"the disk holding {db} is full"


# --- simulated -------------------------------------------------------------------------------------
def cantopen() -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("unable to open database file")
    exc.sqlite_errorcode = 14  # SQLITE_CANTOPEN, as for a -shm file that cannot be made
    return exc


@pytest.fixture
def no_shm(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], list[str]]:
    """``no_shm(immutable_works)``: from now on, connections fail as SQLite's do in a read-only folder
    (all of them, or all but immutable ones); returns the list of targets connected to (a path, or a
    file: URI)."""

    def start(immutable_works: bool) -> list[str]:
        real = database._connect
        tried: list[str] = []

        async def connect(target: str, *, uri: bool = False) -> Any:
            tried.append(target)
            if immutable_works and target.endswith("immutable=1"):
                return await real(target, uri=uri)
            raise cantopen()

        monkeypatch.setattr(database, "_connect", connect)
        return tried

    return start


def test_reads_fall_back_to_an_immutable_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_shm: Callable[[bool], list[str]]
) -> None:
    _, db, hits = indexed(tmp_path, capsys, tmp_path / "data")
    tried = no_shm(True)
    code, out, err = run(capsys, *QUESTION, "--db", str(db))
    assert code == 0 and json.loads(out)["hits"] == hits, err
    assert [t.rsplit("?", 1)[-1] for t in tried] == [str(db), "mode=ro", "immutable=1"]
    code, _, err = run(capsys, "index", str(tmp_path / "news"), "--db", str(db))  # writes are not
    assert (
        code == 2
        and one_line(err) == f"cannot open the database {db}: can it and its folder be read and written?"
    )


def test_no_immutable_read_while_a_wal_holds_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_shm: Callable[[bool], list[str]]
) -> None:
    _, db, _ = indexed(tmp_path, capsys, tmp_path / "data")
    writer = sqlite3.connect(db, isolation_level=None)  # another process's writes, not yet checkpointed
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("INSERT INTO questions(asked_at, question, hits) VALUES ('2026-10-01', 'q', 0)")
        assert db.with_name("news.db-wal").stat().st_size > 0
        tried = no_shm(True)
        code, _, err = run(capsys, *QUESTION, "--db", str(db))
    finally:
        writer.close()
    assert code == 2 and "cannot open the database" in one_line(err)
    assert not any(t.endswith("immutable=1") for t in tried)
