"""Text from news files never drives the user's terminal: control characters and escape sequences in
titles, paragraphs, sources and links are removed from what ``ask``, ``latest``, ``stats`` and the
console print, and escaped in their JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsbot.cli import render
from newsbot.cli.main import main

# what a terminal acts on: C0 but tab and newline, DEL, C1, bidirectional controls
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
OSC_TITLE = "\x1b]0;you have been pwned\x07"
RED = "\x1b[31m"
CSI_8BIT = "\x9b2J"  # clear the screen, as one 8-bit control
BIDI = "\u202e"  # right-to-left override


@given(st.text())
def test_safe_text_holds_nothing_a_terminal_acts_on(text: str) -> None:
    cleaned = render.safe(text)
    assert not UNSAFE.search(cleaned)
    assert render.safe(cleaned) == cleaned
    # printable text is left alone
    assert render.safe("".join(c for c in text if not UNSAFE.match(c))) == cleaned


@given(
    st.recursive(st.text() | st.integers() | st.none(), lambda kids: st.lists(kids, max_size=4), max_leaves=8)
)
def test_json_escapes_what_it_must_and_reads_back_the_same(value: object) -> None:
    line = render.to_json(value)
    assert not UNSAFE.search(line) and "\n" not in line
    assert json.loads(line) == value


def hostile_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "tram.txt").write_text(
        f" date 2026-10-01 Tram{OSC_TITLE} opens {RED}today\n\n"
        f"The harbor tram opens{CSI_8BIT} to riders on Monday {BIDI}after years of work.\r\n\n"
        "A second paragraph about the harbor tram and its riders.\n",
        encoding="utf-8",
    )
    (folder / "metadata.jsonl").write_text(
        json.dumps(
            {"file": "tram.txt", "source": f"Gazette{RED}", "url": f"https://example.com/t{OSC_TITLE}"}
        )
        + "\n",
        encoding="utf-8",
    )
    return folder


def test_commands_print_no_escape_sequences_from_the_news(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "n.db")
    assert main(["index", str(hostile_folder(tmp_path)), "--db", db]) == 0
    printed = []
    for argv in (
        ["ask", "harbor tram riders", "--as-of", "2026-10-02"],
        ["latest", "--n", "3"],
        ["stats"],
        [
            "ask",
            "tram\x1b[2J riders\x07",
            "--as-of",
            "2026-10-02",
        ],  # the question itself is echoed nowhere raw
    ):
        assert main([*argv, "--db", db]) == 0
        captured = capsys.readouterr()
        printed.append(captured.out + captured.err)
    assert "Tram" in printed[0] and "harbor tram" in printed[0] and "Gazette" in printed[0]
    assert "Tram" in printed[1]
    for text in printed:
        assert not UNSAFE.search(text), repr(UNSAFE.search(text))

    assert main(["ask", "harbor tram riders", "--as-of", "2026-10-02", "--db", db, "--json"]) == 0
    out = capsys.readouterr().out
    assert not UNSAFE.search(out)
    answer = json.loads(out)
    assert OSC_TITLE in answer["hits"][0]["title"]  # the data is kept as it is, only escaped in JSON
