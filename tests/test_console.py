"""``newsbot console``: questions, ``more``, and ``yes`` to ask what an answer suggested."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest
from rich.console import Console

from newsbot.cli.console import run_console
from newsbot.index.api import NewsIndex
from newsbot.index.config import SAMPLE_NEWS

from .helpers import make_settings, run


async def test_console_answers_pages_and_takes_up_a_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = iter(["Alderbrok festivl", "yes", "more", "yes", "quit"])
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(lines))
    out = Console(record=True, width=200)
    async with await NewsIndex.open(make_settings(tmp_path)) as index:
        await index.reindex()
        await run_console(index, out)
    text = out.export_text()
    first, rest = text.split("(type 'yes' to ask that)", 1)
    assert "Did you mean “Alderbrook festival”?" in first
    assert rest.lstrip().startswith("Alderbrook festival")  # "yes" asked the suggestion
    assert "1. Alderbrook Winter Lights Festival" in rest and "4. " in rest  # then "more" paged on
    # "yes" with nothing suggested is a question like any other
    assert rest.count("Did you mean") == 0 and "appear in the news I have: “yes”" in rest


def test_the_console_answers_from_a_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'[store]\ndatabase = "{tmp_path / "news.db"}"\n[cluster]\nshards = 2\naddress = "inprocess"\n',
        encoding="utf-8",
    )
    assert run(capsys, "--config", str(config), "index", str(SAMPLE_NEWS))[0] == 0
    lines = iter(["harbor tram riders", "storm warning", "quit"])
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(lines))
    code, out, err = run(capsys, "--config", str(config), "console")
    assert code == 0 and err == "", err
    assert "1. Harbor Line Tram Opens" in out and out.count("1. ") == 2
