"""bench/synth.py: the synthetic archive is the same for the same seed, and newsbot keeps every copy
as an article of its own, with the words of its original."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from newsbot.index.ingest.jsonl import article_from_row
from newsbot.index.tokenizer import Tokenizer

from .helpers import CORPUS, ROOT

BBC = CORPUS / "bbc"


def synth(out: Path, *extra: str) -> dict[str, object]:
    argv = [sys.executable, str(ROOT / "bench" / "synth.py"), "--folders", str(BBC), "--out", str(out)]
    subprocess.run([*argv, "--paragraphs", "2000", "--files", "7", *extra], check=True, capture_output=True)
    return dict(json.loads((out / "synth.json").read_text(encoding="utf-8")))


def files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "news").iterdir())}


@pytest.mark.corpus
@pytest.mark.skipif(not BBC.is_dir(), reason="../shared/corpus is not here")
def test_the_same_seed_gives_the_same_archive_of_distinct_articles(tmp_path: Path) -> None:
    summary = synth(tmp_path / "a")
    assert synth(tmp_path / "b") == summary
    assert files(tmp_path / "b") == files(tmp_path / "a")
    synth(tmp_path / "c", "--seed", "5")
    assert files(tmp_path / "c") != files(tmp_path / "a")
    assert len(files(tmp_path / "a")) == 7
    assert 2000 <= int(str(summary["paragraphs"])) < 2200

    lines = [line for f in files(tmp_path / "a").values() for line in f.decode().splitlines()]
    articles = [article_from_row(json.loads(line)) for line in lines]
    assert len(articles) == summary["articles"]
    assert len({a.text_hash for a in articles}) == len(articles)  # no copy is taken for another
    dates = [a.date for a in articles if a.date]
    assert dates == sorted(dates)  # oldest first (bbc's originals are undated: they come first)
    tokenizer = Tokenizer()
    told: dict[tuple[str, ...], list[object]] = {}
    for a in articles:
        title, _, mark = a.title.rpartition(" ")
        if not title or tokenizer.tokens(mark):  # an original (a copy's title ends in a mark of no words)
            title = a.title
        assert tokenizer.tokens(a.title) == tokenizer.tokens(title)
        told.setdefault((title, *a.paragraphs), []).append(a.date)
    assert any(len(dates) > 1 for dates in told.values())  # drawn with replacement
    assert all(len(set(dates)) == len(dates) for dates in told.values())  # each copy on a day of its own
