"""``newsbot console``: a question-and-answer loop in the terminal."""

from __future__ import annotations

import asyncio
import datetime as dt

from rich.console import Console

from newsbot.cli import render
from newsbot.cli.render import escape
from newsbot.index.api import NewsIndex
from newsbot.index.errors import NewsbotError

MAX_UNDECODABLE = 3  # lines in a row that are not UTF-8 text before the console gives up

HELP = """Type a question and press Enter. Commands:
  latest [topic]   the newest stories (about a topic)
  more             the next passages for the last question
  yes              ask what the last answer suggested ("Did you mean …?")
  stats            what is indexed
  help             this text
  quit             leave (or Ctrl-D)"""


async def run_console(index: NewsIndex, out: Console, as_of: dt.date | None = None) -> None:
    out.print("[bold]newsbot[/bold] — ask about the news. Type [cyan]help[/cyan] for commands.")
    last: tuple[str, int] | None = None
    suggested: str | None = None  # the respelt question the last answer offered
    undecodable = 0  # lines in a row that were not UTF-8 text
    while True:
        try:
            line = (await asyncio.to_thread(input, "? ")).strip()
            undecodable = 0
        except EOFError:
            out.print()
            return
        except RuntimeError:  # input(): lost sys.stdin (it was closed): as at the end of the input
            return
        except UnicodeDecodeError:
            undecodable += 1
            if undecodable >= MAX_UNDECODABLE:
                raise NewsbotError("the console's input is not UTF-8 text") from None
            out.print("[red]That line is not UTF-8 text; type it again.[/red]")
            continue
        if not line:
            continue
        word, _, rest = line.partition(" ")
        try:
            if word in ("quit", "exit"):
                return
            if word == "help":
                out.print(HELP)
            elif word == "latest":
                out.print(render.stories(await index.latest(5, topic=rest or None)))
            elif word == "stats":
                out.print(render.stats(await index.stats()))
            elif word == "more" and not rest:
                if last is None:
                    out.print("Ask a question first.")
                    continue
                question, shown = last
                answer = await index.ask(question, as_of=as_of, offset=shown)
                last = (question, shown + len(answer.hits))
                out.print(render.answer(answer))
            else:
                if word in ("yes", "y") and not rest and suggested:
                    line = suggested
                    out.print(f"[dim]{escape(line)}[/dim]")
                answer = await index.ask(line, as_of=as_of)
                last, suggested = (line, len(answer.hits)), answer.suggestion
                out.print(render.answer(answer))
                if suggested:
                    out.print("[dim](type 'yes' to ask that)[/dim]")
        except NewsbotError as exc:
            out.print(f"[red]{escape(str(exc))}[/red]")
