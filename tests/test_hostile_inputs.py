"""What a news folder can hold besides articles: files that are not regular files, names that are not
UTF-8, and hostile JSON. Each is reported with its path (and line) and skipped, or indexed; the rest is
indexed, and nothing hangs, runs out of memory, or prints a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsbot.index.api import NewsIndex
from newsbot.index.errors import ArticleError
from newsbot.index.ingest import files, jsonl
from newsbot.index.ingest.files import printable, read_regular
from newsbot.index.ingest.jsonl import MAX_DEPTH, article_from_row, loads, too_deep
from newsbot.index.ingest.sources import read, scan
from newsbot.index.ingest.watch import FolderWatch, fingerprint
from newsbot.index.model import IndexReport

from .helpers import make_settings, write_article

STRICT = {"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


def newsbot(
    *argv: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own (a hang fails the test instead of stopping the suite)."""
    code = "import sys; from newsbot.cli.main import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def index_folder(tmp_path: Path, folder: Path) -> tuple[IndexReport, list[tuple[str, int]]]:
    async def run() -> tuple[IndexReport, list[tuple[str, int]]]:
        async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
            report = await index.reindex()
            rows = await index.store.rows("SELECT rel, article_id FROM files ORDER BY rel")
            return report, [(r[0], r[1]) for r in rows]

    return asyncio.run(run())


# --- 2. files that are not regular files ----------------------------------------------------------


@pytest.fixture
def special(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "news"
    write_article(folder, "good.txt", "Harbor tram opens", ["The harbor tram opened on Monday."])
    os.mkfifo(folder / "x.txt")
    os.mkfifo(folder / "feed.jsonl")
    (folder / "zero.txt").symlink_to("/dev/zero")
    (folder / "random.jsonl").symlink_to("/dev/urandom")
    (folder / "null.txt").symlink_to("/dev/null")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock.txt"))
    write_article(folder, "dir.txt/inside.txt", "Ferry fares rise", ["Ferry fares rise in May."])
    os.mkfifo(folder / "metadata.jsonl")  # the metadata of a folder is read too
    try:
        yield folder
    finally:
        sock.close()


EXPECTED_SPECIAL = {
    "x.txt": "a FIFO (named pipe), not a regular file: not read",
    "feed.jsonl": "a FIFO (named pipe), not a regular file: not read",
    "zero.txt": "a character device, not a regular file: not read",
    "random.jsonl": "a character device, not a regular file: not read",
    "null.txt": "a character device, not a regular file: not read",
    "sock.txt": "a socket, not a regular file: not read",
    "metadata.jsonl": "metadata not read: a FIFO (named pipe), not a regular file",
}


def test_only_regular_files_are_read_the_rest_is_reported(tmp_path: Path, special: Path) -> None:
    # in a process of its own, with a time limit: a FIFO used to block the reindex forever
    done = newsbot("index", "--db", str(tmp_path / "news.db"), "--json", str(special), timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert {Path(s["path"]).name: s["reason"] for s in report["skipped"]} == EXPECTED_SPECIAL
    assert report["added"] == 2 and report["articles"] == 2  # good.txt and dir.txt/inside.txt
    # the next run is as quick, and changes nothing
    again = newsbot("index", "--db", str(tmp_path / "news.db"), "--json", str(special), timeout=120)
    assert json.loads(again.stdout)["unchanged"] == 2


def test_a_watch_lists_special_files_without_opening_them(special: Path) -> None:
    finished = threading.Event()
    threading.Thread(target=lambda: (fingerprint([special]), finished.set()), daemon=True).start()
    assert finished.wait(30), "listing a folder with a FIFO blocked"


def test_a_fifo_swapped_in_after_the_check_cannot_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "x.txt"
    os.mkfifo(fifo)
    regular = os.stat(__file__)  # what the path was when it was looked at
    monkeypatch.setattr(files.os, "stat", lambda path: regular)
    outcome: list[BaseException | bytes] = []

    def attempt() -> None:
        try:
            outcome.append(read_regular(str(fifo), 10_000_000))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "opening a FIFO blocked"
    (error,) = outcome
    assert (
        isinstance(error, ArticleError)
        and error.reason == "a FIFO (named pipe), not a regular file: not read"
    )


def test_the_size_limit_holds_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grown = tmp_path / "grown.txt"
    grown.write_bytes(b"x" * 1_000_000)
    small = os.stat_result((0o100644, 0, 0, 1, 0, 0, 10, 0, 0, 0))  # 10 bytes when it was listed
    monkeypatch.setattr(files.os, "stat", lambda path: small)
    with pytest.raises(ArticleError, match="over the"):
        read_regular(str(grown), 1000)
    assert read_regular(str(grown), 2_000_000) == b"x" * 1_000_000  # grown, but under the limit


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    for size in (0, 1, 4095, 65_537):
        path.write_bytes(os.urandom(size))
        assert read_regular(str(path), 65_537) == path.read_bytes()
    with pytest.raises(ArticleError, match="file disappeared"):
        read_regular(str(tmp_path / "gone.txt"), 10)
    with pytest.raises(ArticleError, match="folder, not a file"):
        read_regular(str(tmp_path), 10)


# --- 3. names that are not UTF-8 ------------------------------------------------------------------


def test_names_that_are_not_utf8_are_indexed_with_a_printable_path(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "plain.txt", "Council vote", ["The council voted on the budget."])
    raw = os.fsencode(folder)
    with open(raw + b"/caf\xe9-tram.txt", "wb") as fh:
        fh.write(b" date 2026-01-02 Tram opens\n\nThe harbor tram opened to riders.\n")
    os.mkdir(raw + b"/d\xff\xfe")
    with open(raw + b"/d\xff\xfe/storm.txt", "wb") as fh:
        fh.write(b"Storm warning\n\nA red storm warning was issued for the bay.\n")
    with open(raw + b"/bad\x80.txt", "wb") as fh:  # a file that cannot be used, named in the report
        fh.write(b"")
    os.mkfifo(raw + b"/fifo\xc3.txt")
    report, stored = index_folder(tmp_path, folder)
    assert sorted(rel for rel, _ in stored) == ["caf\\xe9-tram.txt", "d\\xff\\xfe/storm.txt", "plain.txt"]
    assert {(Path(s.path).name, s.reason) for s in report.skipped} == {
        ("bad\\x80.txt", "empty file"),
        ("fifo\\xc3.txt", "a FIFO (named pipe), not a regular file: not read"),
    }
    # the printable form is how the file is found again: an unchanged reindex reads nothing
    report, _ = index_folder(tmp_path, folder)
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 0, 0, 3)
    os.unlink(raw + b"/caf\xe9-tram.txt")
    report, stored = index_folder(tmp_path, folder)
    assert report.removed == 1 and sorted(rel for rel, _ in stored) == ["d\\xff\\xfe/storm.txt", "plain.txt"]


def test_two_names_shown_alike_one_is_read_the_other_reported(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "a\\xff.txt", "Literal backslash", ["Its name has a backslash in it."])
    with open(os.fsencode(folder) + b"/a\xff.txt", "wb") as fh:
        fh.write(b"Byte name\n\nIts name has a byte that is not UTF-8.\n")
    report, stored = index_folder(tmp_path, folder)
    assert [rel for rel, _ in stored] == ["a\\xff.txt"]
    (skip,) = report.skipped
    assert skip.path.endswith("a\\xff.txt") and "not UTF-8" in skip.reason


def test_reports_naming_such_files_print_under_a_strict_utf8_locale(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    raw = os.fsencode(folder)
    os.makedirs(raw + b"/sub\xff")
    with open(raw + b"/sub\xff/t\xe9.txt", "wb") as fh:
        fh.write(b" date 2026-01-02 Tram opens\n\nThe harbor tram opened to riders.\n")
    with open(raw + b"/sub\xff/empty\xfe.txt", "wb") as fh:
        fh.write(b"")
    db = str(tmp_path / "news.db")
    done = newsbot("index", "--db", db, str(folder), env=STRICT)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "sub\\xff/empty\\xfe.txt: empty file" in done.stdout
    done = newsbot("index", "--db", db, "--json", str(folder), env=STRICT)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert json.loads(done.stdout)["skipped"][0]["path"].endswith("sub\\xff/empty\\xfe.txt")
    asked = newsbot("ask", "--db", db, "harbor tram", env=STRICT)
    assert asked.returncode == 0 and asked.stderr == "" and "sub\\xff/t\\xe9.txt" in asked.stdout


def test_a_watch_round_over_such_names_indexes_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    with open(os.fsencode(folder) + b"/\xff.txt", "wb") as fh:
        fh.write(b"Odd name\n\nA file whose name is one byte.\n")
    reports: list[IndexReport] = []

    async def on_report(report: IndexReport) -> None:
        reports.append(report)

    async def run() -> None:
        async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
            await FolderWatch(index, [folder]).round(on_report)

    with caplog.at_level(logging.WARNING):
        asyncio.run(run())
    assert caplog.records == [] and [r.added for r in reports] == [1]


name_bytes = (
    st.binary(min_size=1, max_size=30)
    .map(lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_"))
    .filter(lambda b: not b.startswith(b"."))
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(name_bytes, min_size=1, max_size=5, unique=True), folder_name=name_bytes)
def test_any_file_name_as_bytes_is_indexed_under_its_printable_form(
    names: list[bytes], folder_name: bytes
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folder = os.fsencode(base) + b"/" + folder_name
        os.mkdir(folder)
        for i, name in enumerate(names):
            with open(folder + b"/" + name + b".txt", "wb") as fh:
                fh.write(f"Story number {i}\n\nThe body of story number {i}.\n".encode())
        report, stored = index_folder(base, Path(os.fsdecode(folder)))
        shown = {n.decode("utf-8", "backslashreplace") + ".txt" for n in names}
        kept = {rel for rel, _ in stored}
        for problem in report.skipped:  # only a name shown as another's is left out
            assert "not UTF-8" in problem.reason
            problem.path.encode("utf-8")  # printable
        assert kept | {Path(s.path).name for s in report.skipped} == shown
        assert len(kept) == len(names) - len(report.skipped)
        assert report.articles == len(kept) and report.published


def test_printable_escapes_only_the_bytes_that_are_not_utf8() -> None:
    assert printable("café/plain.txt") == "café/plain.txt"
    assert printable(os.fsdecode(b"caf\xe9/\xff\xfe.txt")) == "caf\\xe9/\\xff\\xfe.txt"
    assert printable("lone \ud800 surrogate") == "lone \ufffd surrogate"


# --- 4. hostile JSON ------------------------------------------------------------------------------


def write_feed(folder: Path, lines: list[str], name: str = "feed.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


GOOD = json.dumps({"title": "Harbor tram opens", "text": "The harbor tram opened on Monday."})


def test_deep_nesting_and_wrong_types_in_a_feed_each_line_reported(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    lines = [
        "[" * 1000 + "]" * 1000,  # 2 KB of brackets: once a RecursionError that stopped everything
        '{"a":' * 5000 + "1" + "}" * 5000,
        json.dumps({"title": "Booleans", "paragraphs": [True, None, 3]}),
        json.dumps({"title": "T" * 5000, "text": "A title of 5,000 characters."}),
        json.dumps({"title": 7, "text": "A number for a title."}),
        json.dumps({"title": "Numeric date", "text": "Body.", "date": 20260101}),
        json.dumps({"title": "Text list", "text": ["Body."]}),
        '{"n": ' + "9" * 5000 + "}",
        GOOD,
        json.dumps({"title": "[[[[ " * 100, "text": "Brackets inside a string do not nest."}),
    ]
    write_feed(folder, lines)
    report, stored = index_folder(tmp_path, folder)
    reasons = {s.path.rsplit("#", 1)[1]: s.reason for s in report.skipped}
    assert reasons == {
        "1": f"JSON nested more than {MAX_DEPTH} levels deep",
        "2": f"JSON nested more than {MAX_DEPTH} levels deep",
        "3": '"paragraphs" item 1 is true/false, not text',
        "4": "title is 5,000 characters: not a title",
        "5": '"title" is a number, not text',
        "6": '"date" is a number, not text',
        "7": '"text" is a list, not text',
        "8": "not valid JSON (a number too long)",
    }
    assert all(s.path.startswith(str(folder / "feed.jsonl#")) for s in report.skipped)
    assert [rel for rel, _ in stored] == ["feed.jsonl#10", "feed.jsonl#9"]


def test_unescaped_line_separators_inside_json_strings_do_not_split_the_line(tmp_path: Path) -> None:
    # JSON allows U+2028, U+2029 and U+0085 unescaped in a string (json.dumps(ensure_ascii=False) writes them)
    row = {"title": "Line\u2029separators", "text": "One\u2028two\x85three."}
    path = write_feed(tmp_path, [json.dumps(row, ensure_ascii=False), GOOD])
    ((source,), _) = scan([tmp_path])
    records, skipped = read(source)
    assert skipped == [] and [r.rel for r in records] == ["feed.jsonl#1", "feed.jsonl#2"]
    assert (records[0].article.title, records[0].article.paragraphs) == (
        "Line separators",
        ["One two three."],
    )
    assert path.read_text(encoding="utf-8").count("\n") == 2


def test_a_hostile_metadata_file_each_bad_line_reported(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "tram.txt", "Harbor tram opens", ["The harbor tram opened on Monday."], None)
    write_article(folder, "vote.txt", "Council vote", ["The council voted on the budget."], None)
    write_feed(
        folder,
        [
            "[" * 1000 + "]" * 1000,
            json.dumps(
                {"file": "tram.txt", "source": "Gazette", "date": "2026-10-05", "url": "https://x.example/t"}
            ),
            json.dumps({"file": 3, "source": "Nobody"}),
            json.dumps(["tram.txt"]),
            "{broken",
            json.dumps({"file": "vote.txt", "source": "S" * 1000, "url": ["not", "text"]}),
        ],
        name="metadata.jsonl",
    )

    async def run() -> tuple[IndexReport, list[Any]]:
        async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
            report = await index.reindex()
            rows = await index.store.rows("SELECT title, date, source, url FROM articles ORDER BY title")
            return report, [tuple(r) for r in rows]

    report, rows = asyncio.run(run())
    meta = str(folder / "metadata.jsonl")
    assert [(s.path, s.reason) for s in report.skipped] == [
        (f"{meta}#1", f"metadata line ignored: JSON nested more than {MAX_DEPTH} levels deep"),
        (f"{meta}#3", 'metadata line ignored: no "file" name'),
        (f"{meta}#4", "metadata line ignored: not a JSON object"),
        (
            f"{meta}#5",
            "metadata line ignored: not valid JSON (Expecting property name enclosed in double quotes)",
        ),
    ]
    assert rows == [
        ("Council vote", None, None, None),
        ("Harbor tram opens", "2026-10-05", "Gazette", "https://x.example/t"),
    ]
    assert [(Path(w.path).name, w.reason) for w in report.warnings] == [
        ("vote.txt", "source is 1,000 characters: ignored")
    ]


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def nested(depth: int, opener: str) -> str:
    if opener == "[":
        return "[" * depth + "]" * depth
    return '{"k":' * depth + "0" + "}" * depth


@given(value=json_value)
def test_nesting_depth_is_measured_exactly(value: Any) -> None:
    line = json.dumps(value)

    def depth(v: Any) -> int:
        if isinstance(v, list):
            return 1 + max(map(depth, v), default=0)
        if isinstance(v, dict):
            return 1 + max(map(depth, v.values()), default=0)
        return 0

    for limit in range(depth(value) + 1):
        assert too_deep(line, limit) == (depth(value) > limit)


row_field = st.one_of(json_value, st.text(max_size=600), st.just("2026-02-30"), st.just("2026-01-05T10:00Z"))
hostile_row = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "title": row_field,
            "text": row_field,
            "paragraphs": st.one_of(st.lists(row_field, max_size=4), row_field),
            "date": row_field,
            "source": row_field,
            "url": row_field,
        },
    ),
    json_value,
)


@settings(max_examples=300, deadline=None)
@given(row=hostile_row)
def test_any_json_row_is_an_article_of_text_or_a_reason(row: Any) -> None:
    try:
        article = article_from_row(loads(json.dumps(row)))
    except ArticleError as exc:
        assert exc.reason.strip()
        return
    assert isinstance(article.title, str) and 0 < len(article.title) <= 500
    assert article.paragraphs and all(isinstance(p, str) and p.strip() for p in article.paragraphs)
    for text in (article.title, *article.paragraphs, article.source or "", article.url or ""):
        text.encode("utf-8")  # storable
    assert isinstance(row, dict) and isinstance(row.get("title"), str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        st.one_of(
            hostile_row.map(json.dumps),
            st.builds(nested, st.integers(0, 3000), st.sampled_from("[{")),
            st.text(alphabet='[]{}",:0\\', max_size=200),
        ),
        max_size=6,
    )
)
def test_a_feed_of_any_lines_never_stops_the_rest(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_feed(folder, [*lines, GOOD])
        ((source,), problems) = scan([folder])
        assert problems == []
        records, skipped = read(source)
    numbers = {int(r.rel.rsplit("#", 1)[1]) for r in records} | {
        int(s.path.rsplit("#", 1)[1]) for s in skipped
    }
    assert len(lines) + 1 in {int(r.rel.rsplit("#", 1)[1]) for r in records}  # the good line is in
    non_blank = {n for n, line in enumerate([*lines, GOOD], start=1) if line.strip()}
    assert numbers == non_blank  # every line is indexed or reported, by its number
    assert not {int(r.rel.rsplit("#", 1)[1]) for r in records} & {
        int(s.path.rsplit("#", 1)[1]) for s in skipped
    }


def test_jsonl_module_limits_are_sane() -> None:
    assert 2 < MAX_DEPTH < 200 and jsonl.MAX_SOURCE_CHARS >= 100 and jsonl.MAX_URL_CHARS >= 2000
