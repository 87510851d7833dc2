"""A database or index that cannot be opened is one line from the error family, never a traceback.

The CLI is run in-process, as a user would call it; the store names the problem (a path under a
file, a folder, an unreadable or damaged file, a NUL), and the CLI prints that one line.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from newsbot.cli.main import main
from newsbot.index.api import NewsIndex
from newsbot.index.config import settings_from_dict
from newsbot.index.errors import GenerationError, StoreError
from newsbot.index.generation import gens_dir

from .helpers import one_line, run

# a thread's traceback (aiosqlite's worker, say) counts as one printed
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


def news(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "tram.txt").write_text(
        " date 2026-10-01 Tram line opens\n\nThe harbor tram opened to riders on Monday.\n", encoding="utf-8"
    )
    return folder


@pytest.mark.parametrize("command", ["stats", "ask", "latest", "index"])
def test_a_database_under_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    blocker = tmp_path / "hostname"
    blocker.write_text("not a folder\n", encoding="utf-8")
    db = blocker / "sub" / "news.db"
    argv = [command, *(["tram"] if command == "ask" else []), "--db", str(db)]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert one_line(err) == f"cannot open the database {db}: {blocker} is a file, not a folder"
    assert not db.parent.exists()


def test_a_folder_as_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "stats", "--db", str(tmp_path))
    assert code == 2 and one_line(err) == f"the database {tmp_path} is a folder: name a file inside it"


def test_a_path_with_a_nul(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"{tmp_path}/news\x00.db"
    code, _, err = run(capsys, "stats", "--db", db)
    assert code == 2 and one_line(err) == f"the database path {db!r} holds a NUL character"


def test_a_file_that_is_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("shopping list\n" * 300, encoding="utf-8")
    code, _, err = run(capsys, "latest", "--db", str(db))
    assert code == 2 and one_line(err) == f"{db} is not a newsbot database, or it is damaged"


def test_a_file_that_cannot_be_opened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "news.db"
    db.symlink_to(db)  # a loop: no process, root included, can open it
    code, _, err = run(capsys, "stats", "--db", str(db))
    assert code == 2
    assert one_line(err) == f"cannot open the database {db}: can it and its folder be read and written?"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "news.db"
    assert main(["index", str(news(tmp_path)), "--db", str(db), "--json"]) == 0
    db.chmod(0)
    try:
        code, _, err = run(capsys, "stats", "--db", str(db))
    finally:
        db.chmod(0o644)
    assert code == 2 and one_line(err).startswith(f"cannot open the database {db}")


def test_missing_index_files_are_named_and_a_reindex_writes_them_anew(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "news.db"
    folder = news(tmp_path)
    assert run(capsys, "index", str(folder), "--db", str(db), "--json")[0] == 0
    shutil.rmtree(gens_dir(db))

    code, _, err = run(capsys, "ask", "harbor tram", "--db", str(db))
    assert code == 2
    line = one_line(err)
    assert (
        line.startswith(f"cannot read the index at {gens_dir(db)}") and "`newsbot index` rebuilds it" in line
    )

    assert run(capsys, "index", str(folder), "--db", str(db), "--json")[0] == 0
    code, out, err = run(capsys, "ask", "harbor tram", "--db", str(db))
    assert code == 0 and "Tram line opens" in out and err == ""


async def test_the_loaded_index_keeps_serving_when_a_newer_one_cannot_be_read(tmp_path: Path) -> None:
    folder = news(tmp_path)
    settings = settings_from_dict(
        {"news": {"folders": [str(folder)]}, "store": {"database": str(tmp_path / "news.db")}}
    )
    async with await NewsIndex.open(settings) as serving:
        await serving.reindex()
        first = (await serving.current_generation()).number
        (folder / "vote.txt").write_text(" date 2026-10-02 Council vote\n\nElm Street.\n", encoding="utf-8")
        async with await NewsIndex.open(settings) as other:  # another process publishes
            second = (await other.reindex()).generation
        shutil.rmtree(gens_dir(settings.database) / f"{second:08d}")

        assert (await serving.current_generation()).number == first
        assert (await serving.ask("harbor tram")).hits[0].title == "Tram line opens"

    with pytest.raises(GenerationError) as failed:  # nothing loaded: the reason, not "nothing indexed"
        async with await NewsIndex.open(settings) as fresh:
            await fresh.ask("harbor tram")
    assert isinstance(failed.value, StoreError) and f"{second:08d}" in str(failed.value)
