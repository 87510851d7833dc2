"""The bundled sample news only ever goes into the default database of a first start.

``newsbot start`` with no ``--db`` and no ``store.database`` in the settings, on a database that is new
(or whose first start was interrupted), indexes the configured folders: the sample, unless the settings
name others. Everywhere else an empty database says "nothing is indexed yet", and nothing is indexed
into it; read commands never create a database (or its folder) that does not exist.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.errors import IndexingError

from .helpers import run

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

READS = [["ask", "harbor tram"], ["ask", "--batch", "-"], ["latest"], ["stats"], ["console"]]
NOTHING = "nothing is indexed yet: run `newsbot index FOLDER` (or /reindex) to index your news"


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, with no settings file and no token: as a newcomer would."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    monkeypatch.delenv("NEWSBOT_CONFIG", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # the console ends at once (end of input)
    return home


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if not line.startswith("No DISCORD_TOKEN set")]
    assert len(lines) == 1, err
    assert lines[0].startswith("newsbot: ")
    return lines[0].removeprefix("newsbot: ")


def nothing_indexed(argv: list[str], code: int, out: str, err: str) -> None:
    """What a command says on a database where nothing is indexed."""
    if argv[0] == "stats":
        assert code == 0 and "Articles: 0" in out
    elif argv[:2] == ["ask", "--batch"]:
        assert code == 0 and out == ""  # no questions (stdin is empty): nothing to answer
    else:
        assert code == 2 and one_line(err) == NOTHING


def articles(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM articles").fetchone()
    conn.close()
    return int(count)


@pytest.mark.parametrize("argv", [*READS, ["forget", "news"]], ids=lambda a: "-".join(a))
def test_a_read_on_a_missing_database_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    db = tmp_path / "typo" / "dir" / "x.db"
    code, out, err = run(capsys, *argv, "--db", str(db))
    assert code == 2 and out == ""
    assert (
        one_line(err)
        == f"the database {db} does not exist: check the path (`newsbot index FOLDER` creates it)"
    )
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("argv", [*READS, ["start"]], ids=lambda a: "-".join(a))
def test_an_empty_database_file_gets_no_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    db = tmp_path / "mine.db"
    db.touch()
    nothing_indexed(argv, *run(capsys, *argv, "--db", str(db)))
    assert articles(db) == 0


@pytest.mark.parametrize("argv", [*READS, ["start"]], ids=lambda a: "-".join(a))
def test_after_an_interrupted_first_index_a_named_database_gets_no_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    db = tmp_path / "mine.db"
    code, _, err = run(capsys, "index", str(tmp_path / "not-yet"), "--db", str(db))  # fails: db made, empty
    assert code == 2 and "folder not found" in err and db.exists()
    nothing_indexed(argv, *run(capsys, *argv, "--db", str(db)))
    assert articles(db) == 0


def test_the_first_start_indexes_the_sample_into_the_default_database_once(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "start")
    assert code == 0, err
    assert "First start: indexing" in err and "Traceback" not in err
    db = elsewhere / "newsbot.db"
    sample = articles(db)
    assert sample > 40
    code, out, _ = run(capsys, "ask", "Who won the Riverside marathon?", "--json")  # the default database
    assert code == 0 and json.loads(out)["hits"]
    code, _, err = run(capsys, "start")  # not a first start any more
    assert code == 0 and "First start" not in err and articles(db) == sample


def test_an_interrupted_first_start_is_taken_up_again(
    elsewhere: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = NewsIndex.reindex

    async def interrupted(self: NewsIndex, *args: object, **kwargs: object) -> object:
        raise IndexingError("interrupted")

    monkeypatch.setattr(NewsIndex, "reindex", interrupted)
    assert run(capsys, "start")[0] == 2
    monkeypatch.setattr(NewsIndex, "reindex", real)
    code, _, err = run(capsys, "start")
    assert code == 0 and "First start: indexing" in err
    assert articles(elsewhere / "newsbot.db") > 40


def test_the_default_database_made_by_another_command_gets_no_sample(
    elsewhere: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "index", str(tmp_path / "not-yet"))[0] == 2  # made newsbot.db, indexed nothing
    code, _, err = run(capsys, "start")
    assert code == 2 and one_line(err) == NOTHING
    assert articles(elsewhere / "newsbot.db") == 0


@pytest.mark.parametrize("how", ["--db", "store.database"])
def test_a_start_on_a_database_someone_named_gets_no_sample(
    elsewhere: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    if how == "--db":
        argv = ["start", "--db", "mine.db"]
    else:
        (elsewhere / "newsbot.toml").write_text('[store]\ndatabase = "mine.db"\n', encoding="utf-8")
        argv = ["start"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and one_line(err) == NOTHING
    assert articles(elsewhere / "mine.db") == 0  # start may create it, never fill it with the sample
    assert not (elsewhere / "newsbot.db").exists()


def test_a_settings_file_without_a_database_keeps_the_default_first_start(
    elsewhere: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "tram.txt").write_text(" date 2026-10-01 Tram\n\nThe harbor tram opened.\n", encoding="utf-8")
    (elsewhere / "newsbot.toml").write_text(f'[news]\nfolders = ["{folder}"]\n', encoding="utf-8")
    code, _, err = run(capsys, "start")
    assert code == 0 and "First start: indexing" in err
    assert articles(elsewhere / "newsbot.db") == 1  # the configured folder, not the sample
