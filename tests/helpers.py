"""Helpers shared by the tests: settings on a temp database, article files, the repository's paths."""

from __future__ import annotations

from pathlib import Path

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
