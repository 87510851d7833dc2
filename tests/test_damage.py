"""Fault injection: a damaged index is one line for reads and is rebuilt by the next ``newsbot index``.

Each case damages the published generation (or what ``meta`` says of it) in one way, then runs the
CLI in-process as a user would: ``ask`` and ``latest`` say in one line that the index is damaged and
that ``newsbot index`` rebuilds it, ``stats`` still shows the store; ``newsbot index`` rebuilds it from
the store, after which the answers equal those before the damage, and the question log, feedback and
follows are as they were. ``/reindex`` calls the same ``NewsIndex.reindex``, tested here through the API.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings, settings_from_dict
from newsbot.index.generation import gens_dir
from newsbot.index.tokenizer import TOKENIZER_VERSION

from .helpers import one_line, run

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

QUESTIONS = ["harbor tram riders", "storm warning for the bay", "council vote on the budget"]
ARTICLES = {
    "tram.txt": (
        "2026-10-01",
        "Tram line opens",
        ["The harbor tram opened to riders on Monday.", "Fares are low."],
    ),
    "storm.txt": ("2026-10-03", "Storm warning", ["A red storm warning was issued for the bay area."]),
    "vote.txt": ("2026-10-02", "Council vote", ["The council voted on the budget for the harbor."]),
}


def write_news(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    for name, (date, title, paragraphs) in ARTICLES.items():
        (folder / name).write_text(
            f" date {date} {title}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
        )
    return folder


def answers(capsys: pytest.CaptureFixture[str], db: Path) -> list[Any]:
    """What the CLI answers (every question, and the latest stories), as JSON."""
    out: list[Any] = []
    for question in QUESTIONS:
        code, text, err = run(capsys, "ask", question, "--db", str(db), "--as-of", "2026-11-01", "--json")
        assert code == 0, err
        out.append(json.loads(text))
    code, text, err = run(capsys, "latest", "--db", str(db), "--json")
    assert code == 0, err
    return [*out, json.loads(text)]


def log_rows(db: Path) -> dict[str, list[Any]]:
    """The question log, feedback and follows: what a damaged index must never cost."""
    with sqlite3.connect(db) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("questions", "feedback", "follows", "announced")
        }


def settings_for(folder: Path, db: Path) -> Settings:
    return settings_from_dict({"news": {"folders": [str(folder)]}, "store": {"database": str(db)}})


def indexed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """A database with an index, a logged question with feedback, and a follow."""
    folder, db = write_news(tmp_path), tmp_path / "news.db"
    assert run(capsys, "index", str(folder), "--db", str(db), "--json")[0] == 0

    async def log() -> None:
        async with await NewsIndex.open(settings_for(folder, db), compiled=False) as index:
            asked = await index.record_question("harbor tram", user_id=7, guild_id=9, hits=2)
            await index.record_feedback(asked, user_id=7, value=1)
            await index.follow(9, 11, "storm")

    asyncio.run(log())
    return folder, db


def current(db: Path) -> Path:
    with sqlite3.connect(db) as conn:
        (number,) = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return gens_dir(db) / f"{int(number):08d}"


def set_meta(db: Path, key: str, value: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))


def truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(size)


def replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x", encoding="utf-8")


def replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def shorter(path: Path) -> None:
    np.save(path, np.load(path)[:-1])  # a well-formed array of the wrong length (another generation's)


def tokenizer_newer(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        (spec,) = conn.execute("SELECT value FROM meta WHERE key = 'tokenizer'").fetchone()
    set_meta(db, "tokenizer", json.dumps({**json.loads(spec), "version": TOKENIZER_VERSION + 1}))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "generation folder missing": lambda db: shutil.rmtree(current(db)),
    "<db>.gens deleted": lambda db: shutil.rmtree(gens_dir(db)),
    "<db>.gens a file": lambda db: (shutil.rmtree(gens_dir(db)), gens_dir(db).write_text("x")),
    "array truncated": lambda db: truncate(current(db) / "w_data.npy", 100),
    "array cut in its data": lambda db: truncate(current(db) / "w_indices.npy", 130),
    "array emptied": lambda db: truncate(current(db) / "para_ids.npy", 0),
    "array missing": lambda db: (current(db) / "t_indptr.npy").unlink(),
    "array of the wrong length": lambda db: shorter(current(db) / "para_ids.npy"),
    "array replaced by a folder": lambda db: replace_with_folder(current(db) / "w_indices.npy"),
    "array replaced by a FIFO": lambda db: replace_with_fifo(current(db) / "w_data.npy"),
    "info.json replaced by a FIFO": lambda db: replace_with_fifo(current(db) / "info.json"),
    "info.json corrupt": lambda db: (current(db) / "info.json").write_text("{bad", encoding="utf-8"),
    "info.json not an object": lambda db: (current(db) / "info.json").write_text("[1]", encoding="utf-8"),
    "info.json missing": lambda db: (current(db) / "info.json").unlink(),
    "meta.generation not a number": lambda db: set_meta(db, "generation", "seven"),
    "meta.generation negative": lambda db: set_meta(db, "generation", "-2"),
    "tokenizer version newer than the code": tokenizer_newer,
    "tokenizer not readable": lambda db: set_meta(db, "tokenizer", '{"language": "english", "shape": 3}'),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_is_one_line_and_newsbot_index_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    folder, db = indexed(tmp_path, capsys)
    before, logged = answers(capsys, db), log_rows(db)
    assert before[0]["hits"] and before[-1]

    DAMAGE[damage](db)

    for argv in (["ask", "harbor tram"], ["latest"], ["console"]):
        code, out, err = run(capsys, *argv, "--db", str(db))
        assert code == 2 and out == ""
        line = one_line(err)
        assert "`newsbot index` rebuilds it from the database" in line
        assert "damaged" in line or "missing" in line or "cannot read" in line or "tokenizer" in line
    code, out, err = run(capsys, "stats", "--db", str(db))
    assert code == 0 and "Articles: 3" in out and "Questions: 1" in out and err == ""

    code, out, err = run(capsys, "index", str(folder), "--db", str(db), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["published"] and report["articles"] == 3
    assert [w["reason"].endswith("rebuilt from the database") for w in report["warnings"]] == [True] * len(
        report["warnings"]
    )
    assert answers(capsys, db) == before
    assert log_rows(db) == logged

    code, out, _ = run(capsys, "index", str(folder), "--db", str(db), "--json")  # once is enough
    again = json.loads(out)
    assert code == 0 and again["warnings"] == [] and again["generation"] == report["generation"]
    assert [p.name for p in gens_dir(db).iterdir() if not p.name.isdigit()] == []  # the damaged one is gone
    if damage == "<db>.gens a file":
        assert gens_dir(db).with_name(f"{gens_dir(db).name}-not-a-folder-{os.getpid()}").read_text() == "x"


def test_reindex_through_the_api_repairs_while_the_loaded_index_keeps_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What /reindex does: the process's loaded generation answers until the rebuilt one is published."""
    folder, db = indexed(tmp_path, capsys)
    asyncio.run(reindex_while_serving(folder, db))


async def reindex_while_serving(folder: Path, db: Path) -> None:
    async with await NewsIndex.open(settings_for(folder, db), compiled=False) as index:
        before = [h.title for h in (await index.ask("harbor tram riders")).hits]
        (current(db) / "info.json").write_text("{bad", encoding="utf-8")
        set_meta(db, "bm25", "changed elsewhere")  # makes the next check reload: the same number
        assert [h.title for h in (await index.ask("harbor tram riders")).hits] == before
        report = await index.reindex()
        assert report.published and "rebuilt from the database" in report.warnings[0].reason
        assert (await index.current_generation()).number == report.generation
        assert [h.title for h in (await index.ask("harbor tram riders")).hits] == before
        assert index.damage is None


def test_a_damaged_index_never_makes_the_database_look_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, db = indexed(tmp_path, capsys)
    set_meta(db, "generation", "x")
    asyncio.run(looks_damaged(folder, db))


async def looks_damaged(folder: Path, db: Path) -> None:
    async with await NewsIndex.open(settings_for(folder, db), compiled=False) as index:
        assert not index.is_empty and "names generation 'x'" in (index.damage or "")
        assert not await index.may_index_sample()  # a first start never indexes the sample here
        assert await index.take_announcements() == []  # follows wait for the rebuild, losing nothing
        assert (await index.following(9)) is not None


def test_a_database_through_a_symlink_has_one_index_and_one_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, real = write_news(tmp_path), tmp_path / "data" / "news.db"
    real.parent.mkdir()
    link = tmp_path / "link.db"
    link.symlink_to(real)
    assert run(capsys, "index", str(folder), "--db", str(link), "--json")[0] == 0
    assert gens_dir(real).is_dir() and not gens_dir(link).exists()
    assert real.with_name("news.db.lock").exists() and not link.with_name("link.db.lock").exists()
    through_link = answers(capsys, link)
    assert through_link == answers(capsys, real) and through_link[0]["hits"]
    # indexed through the file itself, and asked through the link
    (folder / "late.txt").write_text(" date 2026-10-04 Late news\n\nThe ferry was late.\n", encoding="utf-8")
    assert run(capsys, "index", str(folder), "--db", str(real), "--json")[0] == 0
    code, out, _ = run(capsys, "ask", "ferry late", "--db", str(link), "--json")
    assert code == 0 and json.loads(out)["hits"][0]["title"] == "Late news"


def test_an_unreadable_array_as_a_user_whose_permissions_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """chmod 000 on an array. As root permissions do not apply: run the CLI without the capabilities
    that override them (setpriv), or skip."""
    prefix = unprivileged()
    if prefix is None:
        pytest.skip("no way to run without CAP_DAC_OVERRIDE here (setpriv)")
    folder = write_news(tmp_path)
    db = tmp_path / "news.db"
    assert run(capsys, "index", str(folder), "--db", str(db), "--json")[0] == 0
    before = answers(capsys, db)
    target = current(db) / "w_data.npy"
    target.chmod(0)
    cli = [*prefix, sys.executable, "-m", "newsbot.cli"]
    proc = subprocess.run(
        [*cli, "ask", "harbor tram", "--db", str(db)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert one_line(proc.stderr).startswith(f"cannot read the index at {target.parent}: it cannot be read (")
    proc = subprocess.run(
        [*cli, "index", str(folder), "--db", str(db)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "rebuilt from the database" in proc.stdout, proc.stderr
    assert answers(capsys, db) == before


def unprivileged() -> list[str] | None:
    """A command prefix under which file permissions apply to the child (see test_faults.py)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]
    try:
        probe = subprocess.run(
            [*prefix, "cat", "/proc/self/status"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    caps = [line for line in probe.stdout.splitlines() if line.startswith("CapEff:")]
    if probe.returncode == 0 and caps and not int(caps[0].split()[1], 16) & 0b110:
        return prefix
    return None


def test_an_index_written_beside_the_link_by_an_older_version_is_rebuilt_beside_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before symlinks were followed, the index folder was made beside the link: from the file's point
    of view, the index is missing."""
    folder, real = write_news(tmp_path), tmp_path / "data" / "news.db"
    real.parent.mkdir()
    assert run(capsys, "index", str(folder), "--db", str(real), "--json")[0] == 0
    before = answers(capsys, real)
    link = tmp_path / "link.db"
    link.symlink_to(real)
    gens_dir(real).rename(gens_dir(link))

    code, _, err = run(capsys, "ask", "harbor tram", "--db", str(link))
    assert code == 2 and one_line(err).startswith(f"cannot read the index at {gens_dir(real)}/")
    assert run(capsys, "index", str(folder), "--db", str(link), "--json")[0] == 0
    assert answers(capsys, link) == answers(capsys, real) == before
