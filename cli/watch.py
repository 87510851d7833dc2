"""``newsbot index --watch``: reindex whenever the folders change, one line per reindex, until Ctrl-C."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from rich.console import Console

from newsbot.cli import render
from newsbot.cli.render import escape
from newsbot.index.api import NewsIndex
from newsbot.index.ingest.watch import FolderWatch
from newsbot.index.model import IndexReport


def report_line(report: IndexReport, now: dt.datetime | None = None) -> str:
    """One line: when, what changed, the totals, what was skipped, how long it took."""
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
    if report.changed_anything:
        change = f"{report.added} added, {report.changed} changed, {report.removed} removed"
        if report.retokenized:
            change += f", {report.retokenized:,} paragraphs tokenized again"
    else:
        change = "nothing changed"
    parts = [stamp, change, f"{report.articles:,} articles", f"generation {report.generation}"]
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped")
    parts.append(f"{report.seconds:.1f} s")
    return " · ".join(parts)


async def watch_folders(
    index: NewsIndex, folders: list[Path], interval: float, out: Console, err: Console, *, as_json: bool
) -> int:
    """Check every ``interval`` seconds (the first time at once); returns 0 when stopped (Ctrl-C)."""

    closed = False  # stdout's reader went away: stop watching (main() exits quietly)
    watcher = asyncio.current_task()

    async def show(report: IndexReport) -> None:
        nonlocal closed
        try:
            if as_json:
                print(render.to_json(report.to_json()), flush=True)
            else:
                out.print(escape(report_line(report)))
                out.file.flush()
        except BrokenPipeError:
            closed = True
            if watcher is not None:
                watcher.cancel()

    names = ", ".join(str(f) for f in folders) or "news.folders and the feeds' folders"
    err.print(f"[dim]Watching {escape(names)} every {interval:g} s; Ctrl-C to stop.[/dim]")
    try:
        await FolderWatch(index, folders).run(interval, show)
    except asyncio.CancelledError:
        if closed:
            raise BrokenPipeError("stdout was closed") from None
        err.print("[dim]Stopped watching.[/dim]")
    return 0
