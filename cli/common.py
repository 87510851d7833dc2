"""What every command shares: the consoles, the settings (with ``--db``), the progress bar, reports."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from newsbot.cli import render
from newsbot.index.config import Settings, load_settings
from newsbot.index.errors import NewsbotError
from newsbot.index.model import IndexReport


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Stdout's reader went away: main() ends quietly (rich would exit with status 1 here)."""
        raise BrokenPipeError("stdout was closed")


out = _Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def settings_of(args: argparse.Namespace) -> Settings:
    named = Path(args.config) if args.config else None
    try:
        settings = load_settings(named)
    except UnicodeDecodeError:
        shown = named or os.environ.get("NEWSBOT_CONFIG") or "newsbot.toml"
        raise NewsbotError(f"config: {shown}: not UTF-8 text") from None
    if getattr(args, "db", None):
        settings = dataclasses.replace(settings, store=dataclasses.replace(settings.store, database=args.db))
    return settings


def progress_bar(enabled: bool) -> tuple[Callable[[str, int, int], None] | None, Callable[[], None]]:
    """A rich progress bar on a terminal (files, paragraphs, rate); nothing otherwise."""
    if not enabled or not err.is_terminal:
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, Any] = {}
    bar.start()

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total or None, rate="")
        task = tasks[stage]
        elapsed = bar.tasks[task].elapsed or 0.0
        rate = f"{done / elapsed:,.0f}/s" if elapsed > 0.2 and done else ""
        bar.update(task, completed=done, total=total or None, rate=rate)

    return update, bar.stop


def print_report(report: IndexReport, as_json: bool) -> None:
    if as_json:
        print(render.to_json(report.to_json()))
    else:
        out.print(render.report(report))
