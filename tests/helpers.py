"""Helpers shared by the tests: settings on a temp database, article files, the repository's paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.cli.main import main
from newsbot.index.config import SAMPLE_NEWS, Settings, settings_from_dict

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


def make_settings(
    tmp_path: Path, folders: list[Path] | None = None, **sections: dict[str, object]
) -> Settings:
    raw: dict[str, dict[str, object]] = {
        "news": {"folders": [str(f) for f in (folders or [SAMPLE_NEWS])]},
        "store": {"database": str(tmp_path / "news.db")},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return settings_from_dict(raw)


def write_article(
    folder: Path, name: str, title: str, paragraphs: list[str], date: str | None = "2026-10-01"
) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    head = f" date {date} {title}" if date else title
    path.write_text(head + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``newsbot ARGV`` in-process: its exit code, stdout and stderr."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    """The one line of an error on stderr (no traceback), without its ``newsbot:`` prefix."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("newsbot: ")
    return lines[0].removeprefix("newsbot: ")
