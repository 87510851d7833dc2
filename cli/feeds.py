"""``newsbot feeds add|list|remove``, ``newsbot fetch`` and ``newsbot import``: following feeds and
importing web archives from the terminal. Handlers are bound to the grammar by :data:`HANDLERS`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsbot.cli import render
from newsbot.cli.common import err, out, print_report, progress_bar, settings_of
from newsbot.index.errors import NewsbotError
from newsbot.index.feeds import SETTINGS, FollowedFeed
from newsbot.index.opening import open_index

if TYPE_CHECKING:
    from newsbot.index.fetch.run import FeedReport
    from newsbot.index.fetch.warc import WarcProgress


def _line(feed: FollowedFeed) -> str:
    where = " (settings file)" if feed.origin == SETTINGS else ""
    return f"{feed.name} <{feed.spec.url}>{where}: {feed.describe()}"


async def cmd_feeds_add(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    async with await open_index(settings, compiled=False) as index:
        feed = await index.feeds.add(
            args.url, source=args.source or "", full_text=not args.no_full_text, added_by=_who()
        )
    out.print(render.escape(f"Following {feed.name} <{feed.spec.url}>; its articles go to {feed.folder}."))
    out.print("[dim]`newsbot fetch` fetches it now; `newsbot run` every fetch.interval_minutes.[/dim]")
    return 0


def _who() -> str:
    try:
        return "terminal:" + getpass.getuser()
    except (OSError, KeyError):  # no user name for this uid
        return "terminal"


async def cmd_feeds_list(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    async with await open_index(settings, compiled=False) as index:
        feeds = await index.feeds.followed()
    if args.json:
        print(render.to_json([f.to_json() for f in feeds]))
    elif not feeds:
        out.print("No feeds followed. Add one with: newsbot feeds add URL")
    else:
        for feed in feeds:
            out.print(render.escape(_line(feed)))
    return 0


async def cmd_feeds_remove(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    async with await open_index(settings, compiled=False) as index:
        feed = await index.feeds.remove(args.url)
    out.print(
        render.escape(
            f"No longer following {feed.name} <{feed.spec.url}>. Its stored articles stay indexed;"
            f" `newsbot forget {feed.folder}` removes them."
        )
    )
    return 0


async def cmd_fetch(args: argparse.Namespace) -> int:
    """One pass over every followed feed now (backing-off ones too), then an incremental reindex."""
    settings = settings_of(args)
    show: Callable[[FeedReport], None] | None = None
    if not args.json:

        def show(report: FeedReport) -> None:
            out.print(render.escape(report.summary()))

    async with await open_index(settings, compiled=False) as index:
        if not await index.feeds.specs():
            raise NewsbotError(
                "no feeds followed: add one with newsbot feeds add URL, or [[feeds]] in the settings"
            )
        fetched = await index.feeds.fetch(force=True, on_feed=show)
        due = fetched.changed or (index.is_empty and bool(await index.news_folders()))
        report = await index.reindex() if due else None
    if args.json:
        result: dict[str, Any] = {
            "feeds": [_feed_json(f) for f in fetched.feeds],
            "reindex": report.to_json() if report else None,
        }
        print(render.to_json(result))
    elif report is not None:
        print_report(report, False)
    else:
        out.print("Nothing new: no reindex needed.")
    return 1 if fetched.failed and len(fetched.failed) == len(fetched.feeds) else 0


def _feed_json(report: FeedReport) -> dict[str, Any]:
    keys = ("url", "source", "folder", "status", "new", "updated", "unchanged", "duplicates")
    row: dict[str, Any] = {k: getattr(report, k) for k in keys}
    row.update(failed_items=report.failed_items, problems=report.problems, error=report.error)
    row["next_try"] = report.next_try.isoformat() if report.next_try else None
    return row


async def cmd_import(args: argparse.Namespace) -> int:
    """Web archives into a folder (resumable: a second run adds nothing)."""
    from newsbot.index.fetch.warc import import_warc  # loaded only by this command

    folder = Path(args.into)
    update, stop = progress_bar(not args.json)
    progress = None
    if update is not None:

        def progress(p: WarcProgress) -> None:
            update(Path(p.path).name[:20], p.bytes_read, p.total_bytes)

    reports = []
    try:
        for path in args.files:
            reports.append(
                await asyncio.to_thread(import_warc, path, folder, source=args.source, progress=progress)
            )
    finally:
        stop()
    if args.json:
        print(
            json.dumps(
                [
                    {"path": r.path, "folder": r.folder, "kept": r.kept, "summary": r.summary()}
                    for r in reports
                ]
            )
        )
    else:
        for report in reports:
            out.print(render.escape(report.summary()))
            for problem in report.errors:
                err.print(f"[yellow]{render.escape(problem)}[/yellow]")
        out.print(render.escape(f"Index them with: newsbot index {folder}"))
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "feeds add": cmd_feeds_add,
    "feeds list": cmd_feeds_list,
    "feeds remove": cmd_feeds_remove,
    "fetch": cmd_fetch,
    "import": cmd_import,
}
