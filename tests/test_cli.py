"""The ``newsbot`` command line, called as a user would (in-process, real database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsbot.index.config import SAMPLE_NEWS

from .helpers import run, write_article


def test_index_ask_latest_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "n.db")
    code, out, _ = run(capsys, "index", str(SAMPLE_NEWS), "--db", db, "--json")
    report = json.loads(out)
    assert code == 0 and report["published"] and report["added"] > 40 and report["skipped"] == []

    code, out, _ = run(
        capsys, "ask", "who won the Coastal Cup final?", "--db", db, "--as-of", "2026-11-30", "--json"
    )
    answer = json.loads(out)
    assert code == 0 and answer["as_of"] == "2026-11-30" and answer["hits"]
    assert "Coastal Cup" in answer["hits"][0]["title"]

    code, out, _ = run(capsys, "ask", "tram", "--db", db, "--k", "5", "--json")
    assert len(json.loads(out)["hits"]) == 5

    code, out, _ = run(capsys, "latest", "--db", db, "--n", "3", "--json")
    stories = json.loads(out)
    assert len(stories) == 3 and stories[0]["date"] >= stories[1]["date"] >= stories[2]["date"]

    code, out, _ = run(capsys, "ask", "Who won the Riverside marathon?", "--db", db)
    assert code == 0 and "1." in out and "Riverside" in out


def test_batch_keeps_order_and_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "n.db")
    run(capsys, "index", str(SAMPLE_NEWS), "--db", db, "--json")
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"id": "a", "question": "storm warning", "as_of": "2026-10-03"}\n'
        "\n"
        '{"id": 7, "question": "library renovation cost"}\n'
        "not json\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "ask", "--batch", str(batch), "--db", db, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r.get("id") for r in rows[:2]] == ["a", 7]
    assert rows[0]["as_of"] == "2026-10-03" and all(h["date"] <= "2026-10-03" for h in rows[0]["hits"])
    assert rows[2]["line"] == 4 and "bad input" in rows[2]["error"]


def test_index_exit_codes_and_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "n.db")
    folder = tmp_path / "news"
    write_article(folder, "ok.txt", "Fine", ["A perfectly good paragraph about ferries."])
    (folder / "bad.txt").write_text(" date 2020-13-45 Bad\n\nBody\n", encoding="utf-8")
    code, out, _ = run(capsys, "index", str(folder), "--db", db)
    assert code == 0 and "Skipped 1 file" in out and "impossible date 2020-13-45" in out
    code, _, err = run(capsys, "index", str(tmp_path / "nowhere"), "--db", db)
    assert code == 2 and "folder not found" in err and "previous index is still serving" in err


def test_ask_before_anything_is_indexed_indexes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only a first start indexes the bundled sample news, into the default database (test_first_start.py)."""
    db = tmp_path / "fresh.db"
    code, _, err = run(capsys, "ask", "Harbor Line tram", "--db", str(db), "--json")
    assert code == 2 and "does not exist" in err and not db.exists()
    assert run(capsys, "index", str(tmp_path / "nowhere"), "--db", str(db))[0] == 2  # made, left empty
    code, _, err = run(capsys, "ask", "Harbor Line tram", "--db", str(db), "--json")
    assert code == 2 and "nothing is indexed yet" in err


def test_forget_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "n.db")
    mine, other = tmp_path / "mine", tmp_path / "other"
    write_article(
        mine, "a.txt", "Quarry blast rattles windows", ["The quarry blast rattled windows in the valley."]
    )
    write_article(mine, "b.txt", "Quarry to close", ["The quarry will close next spring, its owners said."])
    write_article(other, "c.txt", "Orchard harvest", ["Apple growers reported a record orchard harvest."])
    assert run(capsys, "index", str(mine), str(other), "--db", db, "--json")[0] == 0

    code, out, err = run(capsys, "forget", str(mine), "--db", db, "--json")
    report = json.loads(out)
    assert code == 0 and report["published"] and report["removed"] == 2
    assert "still in news.folders" not in err  # mine is not in the settings
    assert (mine / "a.txt").exists()  # files on disk are left alone

    _, out, _ = run(capsys, "ask", "quarry blast", "--db", db, "--json")
    assert json.loads(out)["hits"] == []
    _, out, _ = run(capsys, "ask", "orchard harvest", "--db", db, "--json")
    assert json.loads(out)["hits"][0]["title"] == "Orchard harvest"
    _, out, _ = run(capsys, "latest", "--db", db, "--json")
    assert [s["title"] for s in json.loads(out)] == ["Orchard harvest"]

    code, _, err = run(capsys, "forget", str(mine), "--db", db)  # nothing left from there
    assert code != 0 and "nothing from" in err and str(other.resolve()) in err


def test_forget_warns_when_the_folder_is_still_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "n.db")
    run(capsys, "index", "--db", db, "--json")  # the configured folders: the bundled sample
    code, out, err = run(capsys, "forget", str(SAMPLE_NEWS), "--db", db, "--json")
    assert code == 0 and json.loads(out)["removed"] > 40
    assert "still in news.folders" in err


def test_index_says_when_a_new_tokenizer_read_the_stored_articles_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "n.db")
    code, out, _ = run(capsys, "index", str(SAMPLE_NEWS), "--db", db, "--json")
    assert code == 0 and json.loads(out)["retokenized"] == 0
    config = tmp_path / "stem.toml"
    config.write_text("[index]\nstem = true\n", encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(config), "index", str(SAMPLE_NEWS), "--db", db)
    assert code == 0 and "Tokenizer changed:" in out and "stored paragraphs read again" in out
    code, out, _ = run(capsys, "--config", str(config), "index", str(SAMPLE_NEWS), "--db", db, "--json")
    report = json.loads(out)
    assert code == 0 and report["retokenized"] == 0 and report["unchanged"] > 40  # done once
