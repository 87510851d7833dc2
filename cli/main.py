"""``newsbot``: index stored news and ask it questions from a terminal; run the Discord bot.

Each subcommand is a few lines: parse the arguments, call the core, render. Errors of the
newsbot family become one line on stderr and a non-zero exit; nothing else is caught here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable
from pathlib import Path

from newsbot.cli import feeds, parser, render
from newsbot.cli.batch import ask_batch
from newsbot.cli.common import err, out
from newsbot.cli.common import print_report as _print_report
from newsbot.cli.common import progress_bar as _progress_bar
from newsbot.cli.common import settings_of as _settings
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings, StoreSettings
from newsbot.index.errors import NewsbotError
from newsbot.index.opening import open_index
from newsbot.index.ranking import compiled


# --- the first start ------------------------------------------------------------------------
# Only `newsbot start` on the default database, fresh, indexes the configured folders (the bundled
# sample news unless news.folders names others): so a newcomer can ask at once, and the sample never
# reaches a database someone chose (--db, store.database) or one that held anything before.
def _default_database(args: argparse.Namespace, settings: Settings) -> bool:
    """Whether the database is the default one: no --db, and no store.database in the settings file."""
    if getattr(args, "db", None):
        return False
    named = args.config or os.environ.get("NEWSBOT_CONFIG") or "newsbot.toml"
    default = Path(StoreSettings().database)
    if Path(named).is_file():  # settings_from_dict puts a relative database beside the settings file
        default = Path(named).resolve().parent / default
    return settings.database == default


async def _first_start(index: NewsIndex, args: argparse.Namespace, settings: Settings) -> None:
    """On a first start, index the configured folders into the default database."""
    if not (_default_database(args, settings) and await index.may_index_sample()):
        return
    folders = ", ".join(str(f) for f in index.settings.folders)
    err.print(f"[dim]First start: indexing {render.escape(folders)} …[/dim]")
    report = await index.reindex()
    err.print(f"[dim]Indexed {report.articles} articles ({report.paragraphs} paragraphs).[/dim]")


# --- subcommands ----------------------------------------------------------------------------
async def cmd_index(args: argparse.Namespace) -> int:
    settings = _settings(args)
    folders = [Path(p) for p in args.paths]
    if args.watch:
        return await _watch(settings, folders, args)
    if args.interval is not None:
        raise NewsbotError("--interval goes with --watch")
    progress, stop = _progress_bar(not args.json)
    async with await open_index(settings, compiled=False) as index:
        try:
            report = await index.reindex(folders or None, progress)
        finally:
            stop()
    _print_report(report, args.json)
    return 0 if report.published else 1


async def cmd_forget(args: argparse.Namespace) -> int:
    settings = _settings(args)
    folders = [Path(p) for p in args.paths]
    async with await open_index(settings, compiled=False, create=False) as index:
        report = await index.reindex(forget=folders)
    _print_report(report, args.json)
    configured = {f.expanduser().resolve() for f in settings.folders}
    for folder in folders:
        if folder.expanduser().resolve() in configured:
            err.print(
                f"[yellow]{render.escape(str(folder))} is still in news.folders: the next `newsbot index` "
                "will add it back. Remove it from the settings to keep it out.[/yellow]"
            )
    return 0


async def _watch(settings: Settings, folders: list[Path], args: argparse.Namespace) -> int:
    """``index --watch``: the folders named, else news.folders and the feeds' folders."""
    from newsbot.cli.watch import watch_folders

    interval = args.interval or settings.watch.interval_seconds
    async with await open_index(settings, compiled=False) as index:
        folders = folders or await index.news_folders()
        return await watch_folders(index, folders, interval, out, err, as_json=args.json)


async def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    # one question is answered by numpy before the compiled ranking could load; a batch uses it
    async with await open_index(settings, compiled=None if args.batch else False, reading=True) as index:
        if args.batch:
            return await ask_batch(
                index,
                args.batch,
                k=args.k,
                as_of=args.as_of,
                emit=lambda row: print(render.to_json(row), flush=False),
                warn=lambda text: err.print(f"[yellow]newsbot:[/yellow] {render.escape(text)}"),
            )
        if not args.question:
            raise NewsbotError("give a question, e.g. newsbot ask 'who won the marathon?'")
        answer = await index.ask(" ".join(args.question), k=args.k, as_of=args.as_of)
    if args.json:
        print(render.to_json(answer.to_json()))
    else:
        out.print(render.answer(answer))
    return 0


async def cmd_latest(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with await open_index(settings, compiled=False, reading=True) as index:
        items = await index.latest(args.n, topic=args.topic, since=args.since, until=args.until)
    if args.json:
        print(render.to_json([s.to_json() for s in items]))
        if items.note:  # (the JSON stays a list of stories)
            print(items.note, file=sys.stderr)
    else:
        out.print(render.stories(items))
    return 0


async def cmd_stats(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with await open_index(settings, compiled=False, reading=True) as index:
        stats = await index.stats()
    out.print(render.stats(stats))
    return 0


async def cmd_console(args: argparse.Namespace, *, start: bool = False) -> int:
    from newsbot.cli.console import run_console

    settings = _settings(args)
    async with await open_index(settings, create=start, reading=not start) as index:
        if start:
            await _first_start(index, args, settings)
        await index.check_serving()  # nothing indexed, or damaged: one line, before the prompt
        await run_console(index, out, as_of=args.as_of)
    if compiled.loading():  # the process waits for it rather than stop LLVM half-way
        err.print("[dim]Finishing a one-time compile of the fast ranking (a few seconds)…[/dim]")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise NewsbotError("set DISCORD_TOKEN to your bot's token to run the Discord bot (see README.md)")
    from newsbot.bot.run import run_bot

    run_bot(settings, token)
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    """The embedded default: the Discord bot when a token is set, otherwise the terminal console."""
    if os.environ.get("DISCORD_TOKEN", "").strip():
        return cmd_run(args)
    err.print("[dim]No DISCORD_TOKEN set: starting the terminal console (Ctrl-D to quit).[/dim]")
    return asyncio.run(cmd_console(args, start=True))


def build_parser() -> argparse.ArgumentParser:
    """The ``newsbot`` command line, each command bound to its handler here."""
    return parser.build(
        {
            "index": cmd_index,
            "forget": cmd_forget,
            "ask": cmd_ask,
            "latest": cmd_latest,
            "stats": cmd_stats,
            "console": cmd_console,
            "run": cmd_run,
            "start": cmd_start,
            **feeds.HANDLERS,
        }
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
        if isinstance(result, Awaitable):
            result = asyncio.run(result)  # type: ignore[arg-type]
        sys.stdout.flush()  # a reader that went away is found here, not as the interpreter exits
        return int(result)
    except NewsbotError as exc:
        err.print(f"[red]newsbot:[/red] {render.escape(str(exc))}", markup=True, highlight=False)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:  # stdout's reader went away (`newsbot latest --json | head -1`): stop quietly
        _stdout_to_devnull()
        return 141  # as a process stopped by SIGPIPE: 128 + 13


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so that flushing what is left at exit raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor (captured output): nothing is left to flush
        pass
