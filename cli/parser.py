"""The ``newsbot`` command line's grammar: its commands, their arguments and the checks on them.

Mistakes are one line naming what was wrong (the usage is one ``--help`` away). The handlers live in
:mod:`newsbot.cli.main`, which binds them by command name.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from newsbot.cli import render

MAX_INTERVAL = 7 * 24 * 3600  # seconds between checks of --watch, at most (a week)

Handler = Callable[[argparse.Namespace], Any]


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-03-01") from None


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 < seconds <= MAX_INTERVAL:  # (not NaN, not infinite)
        raise argparse.ArgumentTypeError(f"the interval must be above 0 and at most {MAX_INTERVAL:,} seconds")
    return seconds


def _whole(value: str, low: int, high: int, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"choose between {low} and {high} {what}")
    return number


def _k(value: str) -> int:
    return _whole(value, 1, 10, "passages")


def _n(value: str) -> int:
    return _whole(value, 1, 25, "stories")


class _Parser(argparse.ArgumentParser):
    """Mistakes on the command line are one line (the usage is one --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {render.safe(message)} (see {self.prog} --help)\n")


def build(handlers: Mapping[str, Handler]) -> argparse.ArgumentParser:
    """The parser of every command; ``handlers[name]`` runs command ``name``."""
    parser = _Parser(
        prog="newsbot",
        description="Answer questions about stored news with cited excerpts, from a terminal or Discord.",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="settings file (default: $NEWSBOT_CONFIG or ./newsbot.toml)"
    )
    commands = _Commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True), handlers)
    _indexing(commands)
    _asking(commands)
    _feeds(commands)
    _running(commands)
    return parser


class _Commands:
    """Adds commands that share the ``--config`` and ``--db`` options."""

    def __init__(self, sub: Any, handlers: Mapping[str, Handler], prefix: str = "") -> None:
        self.sub = sub
        self.handlers = handlers
        self.prefix = prefix

    def add(self, name: str, help_text: str, *, db: bool = True) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = self.sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="settings file")
        if db:
            p.add_argument(
                "--db", metavar="FILE", help="database file (default: store.database from the settings)"
            )
        p.set_defaults(func=self.handlers[self.prefix + name])
        return p


def _indexing(commands: _Commands) -> None:
    p = commands.add("index", "Index news folders (incrementally) and publish the new index atomically.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="folders to index (default: news.folders)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument(
        "--watch", action="store_true", help="keep watching: reindex whenever files change (Ctrl-C stops)"
    )
    p.add_argument(
        "--interval",
        type=_seconds,
        metavar="SECONDS",
        help="with --watch: seconds between checks (default: watch.interval_seconds)",
    )
    p = commands.add("forget", "Remove every article of these folders from the index (other folders stay).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="folders indexed before")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")


def _asking(commands: _Commands) -> None:
    p = commands.add("ask", "Answer a question with cited passages.")
    p.add_argument("question", nargs="*", metavar="QUESTION", help="the question (quote it or not)")
    p.add_argument("--k", type=_k, default=None, metavar="K", help="how many passages (1-10, default 3)")
    p.add_argument(
        "--as-of", type=_date, default=None, metavar="YYYY-MM-DD", help="answer as if today were this day"
    )
    p.add_argument(
        "--batch", metavar="FILE", help="JSON Lines of {id, question, as_of?}; one JSON answer per line"
    )
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p = commands.add("latest", "List the newest stories, optionally about a topic.")
    p.add_argument("--n", type=_n, default=5, metavar="N", help="how many stories (1-25, default 5)")
    p.add_argument("--topic", metavar="WORDS", help="only stories about these words")
    p.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="only stories from this day on")
    p.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="only stories up to this day")
    p.add_argument("--json", action="store_true", help="print the stories as JSON")
    commands.add("stats", "Show what is indexed and how questions went.")
    p = commands.add("console", "Ask questions interactively in the terminal.")
    p.add_argument(
        "--as-of", type=_date, default=None, metavar="YYYY-MM-DD", help="answer as if today were this day"
    )


def _feeds(commands: _Commands) -> None:
    group = commands.sub.add_parser(
        "feeds", help="Follow news feeds (RSS, Atom, JSON Feed).", description="Follow news feeds."
    )
    feeds = _Commands(
        group.add_subparsers(
            dest="feeds_command", metavar="COMMAND", required=True, help="add, list or remove"
        ),
        commands.handlers,
        "feeds ",
    )
    p = feeds.add("add", "Check a feed once and follow it (kept in the database).")
    p.add_argument("url", metavar="URL", help="the feed's address (http or https)")
    p.add_argument(
        "--source", metavar="NAME", help="the source name shown with answers (default: the feed's title)"
    )
    p.add_argument(
        "--no-full-text",
        action="store_true",
        help="store the feed's own text; don't fetch each article's page",
    )
    p = feeds.add("list", "List the followed feeds and each one's state.")
    p.add_argument("--json", action="store_true", help="print the feeds as JSON")
    p = feeds.add("remove", "Stop following a feed added from the terminal or Discord.")
    p.add_argument("url", metavar="URL", help="the feed's address, as listed")
    p = commands.add("fetch", "Fetch every followed feed now, then reindex what changed.")
    p.add_argument("--json", action="store_true", help="print the feeds' and the reindex's reports as JSON")
    p = commands.add("import", "Import the article pages of web archives (WARC) into a folder.", db=False)
    p.add_argument("files", nargs="+", metavar="FILE", help="WARC files (.warc or .warc.gz)")
    p.add_argument("--into", required=True, metavar="FOLDER", help="where the articles are written")
    p.add_argument("--source", metavar="NAME", help="the source name shown with answers")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")


def _running(commands: _Commands) -> None:
    commands.add("run", "Run the Discord bot (needs DISCORD_TOKEN in the environment).", db=False)
    p = commands.add("start", "Run the Discord bot if DISCORD_TOKEN is set, else the terminal console.")
    p.add_argument("--as-of", type=_date, default=None, metavar="YYYY-MM-DD", help=argparse.SUPPRESS)
