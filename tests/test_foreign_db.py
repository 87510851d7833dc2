"""Someone else's file given as ``--db`` is refused in one line naming it, and left byte for byte as it was.

newsbot's database is one that holds newsbot's tables; an empty file or a path where nothing is yet is
fine (``newsbot index`` sets it up). Anything else, an SQLite database with tables of its own or a
file that is not SQLite at all, is refused before anything is written: no tables added, no switch to
WAL, no index folder or lock file beside it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import one_line, run

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

COMMANDS = [["ask", "tram"], ["latest"], ["stats"], ["console"], ["index", "{news}"], ["forget", "{news}"]]


def news(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "tram.txt").write_text(
        " date 2026-10-01 Tram line opens\n\nThe harbor tram opened to riders on Monday.\n", encoding="utf-8"
    )
    return folder


def digest(folder: Path) -> dict[str, str]:
    """Everything in ``folder`` by name: a file's bytes' hash (a folder or anything else is named)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "not a file"
        for p in sorted(folder.iterdir())
    }


def foreign(path: Path, journal: str = "delete") -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA journal_mode = {journal}")
        conn.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT, steps TEXT)")
        conn.execute("CREATE INDEX recipes_by_name ON recipes(name)")
        conn.executemany(
            "INSERT INTO recipes(name, steps) VALUES (?, ?)", [("bread", "knead"), ("soup", "stir")]
        )
        conn.execute("PRAGMA user_version = 3")  # as many applications keep their own
    conn.close()


@pytest.mark.parametrize("argv", COMMANDS, ids=[c[0] for c in COMMANDS])
@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_someone_elses_sqlite_database_is_refused_and_left_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], journal: str
) -> None:
    folder = news(tmp_path)
    home = tmp_path / "app"
    home.mkdir()
    db = home / "recipes.sqlite"
    foreign(db, journal)
    before = digest(home)

    args = [a.replace("{news}", str(folder)) for a in argv]
    code, out, err = run(capsys, *args, "--db", str(db))

    assert code == 2 and out == ""
    assert one_line(err) == (
        f"{db} is not a newsbot database (it holds recipes, recipes_by_name): newsbot leaves it unchanged;"
        " name a new file for newsbot's own database"
    )
    assert digest(home) == before  # byte-identical, and nothing beside it (no -wal, .gens, .lock)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == journal
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == {"recipes"}


@pytest.mark.parametrize("argv", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_file_that_is_not_sqlite_is_refused_and_left_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    folder = news(tmp_path)
    home = tmp_path / "docs"
    home.mkdir()
    db = home / "notes.txt"
    db.write_text("shopping list: bread, soup\n" * 300, encoding="utf-8")
    before = digest(home)

    code, out, err = run(capsys, *[a.replace("{news}", str(folder)) for a in argv], "--db", str(db))

    assert code == 2 and out == ""
    assert one_line(err) == f"{db} is not a newsbot database, or it is damaged"
    assert digest(home) == before


def test_an_empty_file_or_a_new_path_becomes_newsbots_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = news(tmp_path)
    empty, fresh = tmp_path / "empty.db", tmp_path / "sub" / "fresh.db"
    empty.touch()
    for db in (empty, fresh):
        code, out, err = run(capsys, "index", str(folder), "--db", str(db), "--json")
        assert code == 0 and json.loads(out)["articles"] == 1, err
        code, out, _ = run(capsys, "ask", "harbor tram", "--db", str(db), "--json")
        assert code == 0 and json.loads(out)["hits"][0]["title"] == "Tram line opens"


def test_newsbots_database_with_a_table_added_by_its_owner_is_still_newsbots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, db = news(tmp_path), tmp_path / "news.db"
    assert run(capsys, "index", str(folder), "--db", str(db), "--json")[0] == 0
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE my_notes (note TEXT)")
    conn.close()
    code, out, _ = run(capsys, "ask", "harbor tram", "--db", str(db), "--json")
    assert code == 0 and json.loads(out)["hits"]


OPEN_AT_ONCE = """
import asyncio, sys, time
from pathlib import Path
from newsbot.index.store.database import SCHEMA_VERSION, Store

async def main() -> None:
    print("ready", flush=True)
    while not Path(sys.argv[2]).exists():  # every process starts together
        time.sleep(0.001)
    store = await Store.open(Path(sys.argv[1]))
    print(await store.scalar("PRAGMA user_version") == SCHEMA_VERSION)
    await store.close()

asyncio.run(main())
"""


def test_processes_opening_one_new_database_at_once_each_set_it_up_or_find_it_set_up(tmp_path: Path) -> None:
    # (a shard's replicas open its new database together: each step of the schema is taken once)
    db, go = tmp_path / "shard.db", tmp_path / "go"
    for attempt in range(3):
        fresh = db.with_name(f"shard{attempt}.db")
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AT_ONCE, str(fresh), str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        assert [p.stdout.readline() for p in procs if p.stdout] == ["ready\n"] * 4
        go.touch()
        results = [p.communicate(timeout=60) for p in procs]
        go.unlink()
        assert [(p.returncode, out.strip()) for p, (out, _) in zip(procs, results, strict=True)] == [
            (0, "True")
        ] * 4, [err for _, err in results]


async def test_a_locked_answer_given_at_once_while_opening_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (SQLite says "locked" without waiting out its busy timeout in some races between processes)
    from newsbot.index.errors import StoreError
    from newsbot.index.store import database

    real, tries = database.Store._open, []

    async def locked_twice(path: Path, target: str, **options: object) -> database.Store:
        tries.append(path)
        if len(tries) <= 2:
            exc = sqlite3.OperationalError("database is locked")
            exc.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
            raise exc
        return await real(path, target, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(database.Store, "_open", staticmethod(locked_twice))
    store = await database.Store.open(tmp_path / "news.db")
    await store.close()
    assert len(tries) == 3

    async def always_locked(path: Path, target: str, **options: object) -> database.Store:
        tries.append(path)
        exc = sqlite3.OperationalError("database is locked")
        exc.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
        raise exc

    tries.clear()  # locked for good: said in one line, after the tries
    monkeypatch.setattr(database, "OPEN_AGAIN", (0.01, None))
    monkeypatch.setattr(database.Store, "_open", staticmethod(always_locked))
    with pytest.raises(StoreError, match="is locked by another process"):
        await database.Store.open(tmp_path / "news.db")
    assert len(tries) == 2
