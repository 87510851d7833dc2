"""``newsbot ask --batch FILE``: one JSON answer per line of questions, in order.

Each non-blank line of the file is a JSON object ``{"id": ..., "question": "...", "as_of": "YYYY-MM-DD"}``
(``id`` and ``as_of`` optional). Every such line gets one JSON row on stdout, in order: the answer
(with the line's ``id``), or, for a line that is not a usable question, an error row
``{"line": N, "id": ..., "error": "bad input line: ..."}``, so that rows and questions stay aligned and
one bad line stops nothing. A count of the bad lines and their numbers goes to stderr at the end.
A file that cannot be read, is larger than ``MAX_BATCH_BYTES`` or is not UTF-8 text is one error
(``NewsbotError``), and nothing is asked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsbot.index.api import NewsIndex
from newsbot.index.errors import NewsbotError

MAX_LINES_LISTED = 10  # bad line numbers named on stderr
MAX_BATCH_BYTES = 64 * 1024 * 1024  # a batch file's size, at most (an endless file is refused, not read on)


class BadLine(ValueError):
    """A line that is not a usable question; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class Question:
    id: Any
    text: str
    as_of: dt.date | None


def read_lines(name: str) -> list[str]:
    """The lines of the batch file ``name`` ("-": stdin), which must be UTF-8 text of at most
    ``MAX_BATCH_BYTES``."""
    try:
        if name == "-":
            stdin = getattr(sys.stdin, "buffer", None)  # a text stream without bytes (embedded, tests)
            if stdin is None:
                data = sys.stdin.read(MAX_BATCH_BYTES + 1).encode("utf-8", "surrogateescape")
            else:
                data = stdin.read(MAX_BATCH_BYTES + 1)
        else:
            with Path(name).open("rb") as file:
                data = file.read(MAX_BATCH_BYTES + 1)
    except OSError as exc:
        raise NewsbotError(f"cannot read the batch file {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_BATCH_BYTES:
        raise NewsbotError(f"the batch file {name} is larger than {MAX_BATCH_BYTES >> 20} MiB: split it")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise NewsbotError(f"the batch file {name} is not UTF-8 text (line {line})") from None
    return text.lstrip("\ufeff").splitlines()


def _no_constant(name: str) -> float:
    raise BadLine(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadLine(f"the number {text[:20]} is too large")
    return value


def parse_line(line: str, default_as_of: dt.date | None) -> Question:
    """The question a line asks; raises BadLine when it asks none."""
    item = _load(line)
    if not isinstance(item, dict):
        raise BadLine('not a JSON object like {"id": 1, "question": "..."}')
    question = item.get("question")
    if question is None:
        raise BadLine('no "question"')
    if not isinstance(question, str):
        raise BadLine(f'"question" is {_kind(question)}, not a string')
    if not question.strip():
        raise BadLine('"question" is empty')
    as_of = item.get("as_of")
    if as_of is None:
        return Question(item.get("id"), question, default_as_of)
    if not isinstance(as_of, str):
        raise BadLine(f'"as_of" is {_kind(as_of)}, not a date like "2024-03-01"')
    try:
        return Question(item.get("id"), question, dt.date.fromisoformat(as_of))
    except ValueError:
        raise BadLine(f'"as_of" {json.dumps(as_of[:40])} is not a date like "2024-03-01"') from None


def _load(line: str) -> Any:
    """The JSON value of ``line``; raises BadLine (never RecursionError, never a non-finite number)."""
    try:
        return json.loads(line, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise BadLine("JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except BadLine:
        raise
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise BadLine(f"not usable JSON ({str(exc)[:80]})") from None


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else "not text"


def _line_id(line: str) -> Any:
    """The ``id`` of a bad line, when it has one that can be read."""
    try:
        item = _load(line)
    except BadLine:
        return None
    return item.get("id") if isinstance(item, dict) else None


async def ask_batch(
    index: NewsIndex,
    name: str,
    *,
    k: int | None,
    as_of: dt.date | None,
    emit: Callable[[dict[str, Any]], None],
    warn: Callable[[str], None],
) -> int:
    """Answer every line of the batch file ``name``; ``emit(row)`` prints a JSON row, ``warn(text)``
    a line on stderr. Returns the exit status (0: every line was read, bad ones included)."""
    lines = await asyncio.to_thread(read_lines, name)
    bad: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            q = parse_line(line, as_of)
        except BadLine as exc:
            bad.append(number)
            emit({"line": number, "id": _line_id(line), "error": f"bad input line: {exc}"})
            continue
        answer = await index.ask(q.text, k=k, as_of=q.as_of)
        emit({"id": q.id, **answer.to_json()})
    if bad:
        listed = ", ".join(str(n) for n in bad[:MAX_LINES_LISTED])
        more = ", …" if len(bad) > MAX_LINES_LISTED else ""
        noun = "line" if len(bad) == 1 else "lines"
        warn(f"{len(bad)} bad {noun} in {name}, answered with an error row: {listed}{more}")
    return 0
