"""No user-reachable path prints a Python traceback: every CLI command over a matrix of bad inputs.

Each case runs ``newsbot`` and checks its exit status, that stderr holds no traceback, at most a couple
of lines, and says something specific. The matrix runs in-process (``main()``, stdout and stderr
captured: an exception escaping ``main`` fails the case); a representative subset, and what only a
real process shows (a closed stdout pipe, a closed or undecodable stdin, Ctrl-C, a strict UTF-8
locale, Discord out of reach), runs as real subprocesses with real stderr.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from newsbot.cli.main import main

from .helpers import write_article

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Place:
    """A workspace of good and bad inputs, with an index of three articles."""

    root: Path

    def __truediv__(self, name: str) -> str:
        return str(self.root / name)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Place:
    root = tmp_path_factory.mktemp("matrix")
    news = root / "news"
    write_article(news, "tram.txt", "Tram Opens Monday", ["The harbor tram opens to riders on Monday."])
    write_article(news, "ferry.txt", "Ferry Timetable", ["The ferry adds an early crossing."], "2026-10-02")
    write_article(
        news, "pier.txt", "Pier Repairs", ["Repairs to the quarry pier take a month."], "2026-10-03"
    )
    (root / "dir").mkdir()
    _write(root / "afile", b"just a file\n")

    def toml(name: str, text: str) -> None:
        _write(root / name, text.encode())

    toml("good.toml", f'[store]\ndatabase = "{root}/n.db"\n[news]\nfolders = ["{news}"]\n')
    toml("notoml.toml", "this is = = not toml\n[")
    toml("wrong.toml", f'[store]\ndatabase = "{root}/w.db"\n[answer]\npassages = "three"\n')
    toml("unknown.toml", f'[store]\ndatabase = "{root}/w.db"\n[answer]\nnonsense = 1\n')
    toml("range.toml", f'[store]\ndatabase = "{root}/w.db"\n[answer]\nexcerpt_chars = 5\n')
    toml("nuldb.toml", f'[store]\ndatabase = "{root}/a\\u0000b.db"\n[news]\nfolders = ["{news}"]\n')
    toml("nulnews.toml", f'[store]\ndatabase = "{root}/nul.db"\n[news]\nfolders = ["{root}/a\\u0000b"]\n')
    toml("dirdb.toml", f'[store]\ndatabase = "{root}/dir"\n[news]\nfolders = ["{news}"]\n')
    toml("nonews.toml", f'[store]\ndatabase = "{root}/e.db"\n[news]\nfolders = ["{root}/nowhere"]\n')
    _write(root / "latin1.toml", b'[store]\ndatabase = "caf\xe9.db"\n')
    _write(root / "empty.jsonl", b"")
    _write(root / "binary.jsonl", bytes(range(256)) * 8)
    _write(root / "nested.jsonl", b"[" * 3000 + b"]" * 3000 + b"\n" + b'{"a": ' * 3000 + b"1" + b"}" * 3000)
    lines = [
        '{"id": 1, "question": null}',
        '{"id": 2, "question": 5}',
        '{"id": 3, "question": "  "}',
        '{"id": 4}',
        '{"id": 1e999, "question": "tram"}',
        '{"id": NaN, "question": "tram"}',
        '{"id": 7, "question": "tram", "as_of": "2024-02-30"}',
        '{"id": 8, "question": "tram", "as_of": 20240201}',
        "[1, 2]",
        '"a string"',
        '{"id": "\\ud800", "question": "tram \\udcff"}',
        '{"id": ' + "9" * 5000 + ', "question": "tram"}',
        "not json",
        '{"id": "ok", "question": "harbor tram", "as_of": "2026-10-05"}',
    ]
    _write(root / "badlines.jsonl", ("\n".join(lines) + "\n").encode())
    assert main(["--config", str(root / "good.toml"), "index", "--json"]) == 0
    return Place(root)


# ---- the matrix, in-process ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    says: str  # a piece of stderr that shows the message is specific (lower case)
    code: int = 2
    stdin: str = ""
    out: str = ""  # a piece of stdout, when one is expected
    extra_lines: int = 0  # stderr lines allowed beyond the usual two
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


GOOD = ("--config", "{good}")
DB_CASES = {  # --db values and what the message says
    "db-is-a-folder": ("{dir}", "is a folder"),
    "db-under-a-file": ("{afile}/x.db", "afile is a file"),
    "db-not-newsbot": ("{afile}", "not a newsbot database"),
}
DB_COMMANDS = {
    "ask": ("ask", "tram"),
    "latest": ("latest",),
    "index": ("index",),
    "forget": ("forget", "{root}/news"),
    "stats": ("stats",),
    "console": ("console",),
    "start": ("start",),
}
CONFIG_CASES = {  # --config files and what the message says
    "config-missing": ("{root}/missing.toml", "config file not found"),
    "config-a-folder": ("{dir}", "cannot read"),
    "config-not-toml": ("{root}/notoml.toml", "not valid toml"),
    "config-not-utf8": ("{root}/latin1.toml", "not utf-8"),
    "config-wrong-type": ("{root}/wrong.toml", "answer.passages"),
    "config-unknown-setting": ("{root}/unknown.toml", "answer.nonsense"),
    "config-out-of-range": ("{root}/range.toml", "answer.excerpt_chars"),
    "config-nul-in-database": ("{root}/nuldb.toml", "nul"),
    "config-database-a-folder": ("{root}/dirdb.toml", "is a folder"),
}
CONFIG_COMMANDS = {**DB_COMMANDS, "run": ("run",)}
LAZY = {"config-nul-in-database", "config-database-a-folder"}  # `run` opens the database after the token


def _cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for bad, (db, says) in DB_CASES.items():
        for name, argv in DB_COMMANDS.items():
            cases[f"{name}-{bad}"] = Case((*GOOD, *argv, "--db", db), says)
    for bad, (config, says) in CONFIG_CASES.items():
        for name, argv in CONFIG_COMMANDS.items():
            if not (name == "run" and bad in LAZY):
                cases[f"{name}-{bad}"] = Case(("--config", config, *argv), says)
    cases["index-nul-in-news-folders"] = Case(("--config", "{root}/nulnews.toml", "index"), "nul")
    cases["ask-nul-in-news-folders"] = Case(("--config", "{root}/nulnews.toml", "ask", "x"), "nul")
    cases |= {
        # arguments
        "no-command": Case((), "required: command"),
        "unknown-command": Case(("bogus",), "invalid choice"),
        "ask-no-question": Case((*GOOD, "ask"), "give a question"),
        "ask-bad-date": Case((*GOOD, "ask", "tram", "--as-of", "2024-13-01"), "not a date"),
        "ask-not-a-date": Case((*GOOD, "ask", "tram", "--as-of", "yesterday"), "not a date"),
        "ask-k-0": Case((*GOOD, "ask", "tram", "--k", "0"), "between 1 and 10"),
        "ask-k-huge": Case((*GOOD, "ask", "tram", "--k", "99999999999999999999"), "between 1 and 10"),
        "ask-k-word": Case((*GOOD, "ask", "tram", "--k", "three"), "not a whole number"),
        "latest-n-0": Case((*GOOD, "latest", "--n", "0"), "between 1 and 25"),
        "latest-n-negative": Case((*GOOD, "latest", "--n", "-3"), "between 1 and 25"),
        "latest-n-huge": Case((*GOOD, "latest", "--n", "10000000000000"), "between 1 and 25"),
        "latest-n-word": Case((*GOOD, "latest", "--n", "five"), "not a whole number"),
        "latest-bad-since": Case((*GOOD, "latest", "--since", "2024-02-30"), "not a date"),
        "latest-bad-until": Case((*GOOD, "latest", "--until", "soon"), "not a date"),
        "console-bad-date": Case((*GOOD, "console", "--as-of", "2024-99-01"), "not a date"),
        "start-bad-date": Case((*GOOD, "start", "--as-of", "x"), "not a date"),
        "index-interval-0": Case((*GOOD, "index", "--watch", "--interval", "0"), "above 0"),
        "index-interval-nan": Case((*GOOD, "index", "--watch", "--interval", "nan"), "above 0"),
        "index-interval-inf": Case((*GOOD, "index", "--watch", "--interval", "inf"), "at most"),
        "index-interval-word": Case((*GOOD, "index", "--watch", "--interval", "soon"), "not a number"),
        "index-interval-alone": Case((*GOOD, "index", "--interval", "5"), "goes with --watch"),
        "forget-nothing": Case((*GOOD, "forget"), "required: path"),
        "run-no-token": Case((*GOOD, "run"), "discord_token"),
        # folders
        "index-missing-folder": Case((*GOOD, "index", "{root}/nowhere"), "folder not found"),
        "index-folder-is-a-file": Case((*GOOD, "index", "{afile}"), "not a folder"),
        "index-configured-folder-missing": Case(("--config", "{root}/nonews.toml", "index"), "not found"),
        "forget-missing-folder": Case((*GOOD, "forget", "{root}/nowhere"), "nothing from"),
        "forget-a-file": Case((*GOOD, "forget", "{afile}"), "nothing from"),
        # batch files
        "batch-missing": Case((*GOOD, "ask", "--batch", "{root}/missing.jsonl"), "cannot read the batch"),
        "batch-a-folder": Case((*GOOD, "ask", "--batch", "{dir}"), "cannot read the batch"),
        "batch-binary": Case((*GOOD, "ask", "--batch", "{root}/binary.jsonl"), "not utf-8 text (line 2)"),
        "batch-binary-stdin": Case((*GOOD, "ask", "--batch", "-"), "not utf-8", stdin="\udcff\udcfe"),
        "batch-endless": Case((*GOOD, "ask", "--batch", "/dev/zero"), "larger than 64 mib"),
        "batch-empty": Case((*GOOD, "ask", "--batch", "{root}/empty.jsonl"), "", code=0),
        "batch-nested": Case((*GOOD, "ask", "--batch", "{root}/nested.jsonl"), "2 bad lines in", code=0),
        "batch-bad-lines": Case(
            (*GOOD, "ask", "--batch", "{root}/badlines.jsonl"), "12 bad lines in", code=0, out='"id": "ok"'
        ),
        # dates at the ends of the calendar are answered, not refused
        "ask-first-day": Case((*GOOD, "ask", "tram", "--as-of", "0001-01-01"), "", code=0),
        "ask-last-day": Case((*GOOD, "ask", "tram in 9999", "--as-of", "9999-12-31"), "", code=0),
        "latest-last-day": Case(
            (*GOOD, "latest", "--since", "9999-12-31", "--until", "0001-01-01"), "", code=0
        ),
        # the console and start read stdin
        "console-questions": Case(
            (*GOOD, "console"), "", code=0, stdin="tram\nmore\nlatest\nstats\nhelp\nyes\n"
        ),
    }
    return cases


CASES = _cases()


def _fill(text: str, ws: Place) -> str:
    return text.format(root=ws.root, good=ws / "good.toml", dir=ws / "dir", afile=ws / "afile")


def check(code: int, err: str, expected_code: int, says: str, extra_lines: int = 0) -> None:
    """The shared assertions: the exit status, no traceback, a short and specific stderr."""
    assert "Traceback" not in err, err
    assert code == expected_code, (code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    # (the console and start may say they are finishing the compiled ranking's one-time compile)
    lines = [
        line for line in lines if "one-time compile" not in line and not line.startswith("No DISCORD_TOKEN")
    ]
    assert len(lines) <= 2 + extra_lines, err
    if expected_code != 0:
        assert lines and lines[-1].startswith("newsbot"), err
    assert says in err.lower(), err


@pytest.mark.parametrize("name", [pytest.param(n, marks=c.marks) for n, c in CASES.items()])
def test_the_cli_answers_bad_input_in_a_line(
    name: str, ws: Place, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    monkeypatch.chdir(ws.root)  # no ./newsbot.toml from elsewhere
    monkeypatch.delenv("NEWSBOT_CONFIG", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    stdin = io.TextIOWrapper(io.BytesIO(case.stdin.encode("utf-8", "surrogateescape")), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    try:
        code = main([_fill(a, ws) for a in case.argv])
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    check(code, err, case.code, case.says, case.extra_lines)
    assert case.out in out


def test_batch_rows_say_what_is_wrong_with_each_line(ws: Place, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["--config", ws / "good.toml", "ask", "--batch", ws / "badlines.jsonl"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    errors = [(r.get("line"), r.get("id"), r.get("error", "")) for r in rows]
    expected = [
        (1, 1, 'no "question"'),
        (2, 2, '"question" is a number, not a string'),
        (3, 3, '"question" is empty'),
        (4, 4, 'no "question"'),
        (5, None, "too large"),
        (6, None, "nan is not a json number"),
        (7, 7, "not a date"),
        (8, 8, '"as_of" is a number'),
        (9, None, "not a json object"),
        (10, None, "not a json object"),
    ]
    for (line, ident, says), got in zip(expected, errors, strict=False):
        assert got[0] == line and got[1] == ident and says in got[2].lower(), got
    assert rows[10]["id"] == "\ud800" and rows[10]["question"] == "tram \ufffd"  # asked; the id echoed
    assert errors[11][0] == 12 and "not usable json" in errors[11][2].lower()
    assert errors[12][0] == 13 and "not json" in errors[12][2].lower()
    assert rows[13]["id"] == "ok" and rows[13]["hits"] and rows[13]["as_of"] == "2026-10-05"
    assert all("bad input line: " in r["error"] for r in rows if "error" in r)
    assert "12 bad lines in" in err and "answered with an error row: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …" in err


# ---- real processes ----------------------------------------------------------------------------------


def newsbot(
    ws: Place,
    *argv: str,
    stdin: bytes | None = b"",
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if k not in ("NEWSBOT_CONFIG", "DISCORD_TOKEN")}
    return subprocess.run(
        [sys.executable, "-m", "newsbot.cli", *argv],
        input=stdin,
        capture_output=True,
        cwd=ws.root,
        env={**environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def test_a_subset_in_real_processes(ws: Place) -> None:
    """A few of the matrix's cases, as a user runs them (one process each)."""
    picked = {
        "config-not-toml": ("--config", ws / "notoml.toml", "stats"),
        "config-not-utf8": ("--config", ws / "latin1.toml", "ask", "tram"),
        "db-is-a-folder": ("--config", ws / "good.toml", "latest", "--db", ws / "dir"),
        "batch-binary": ("--config", ws / "good.toml", "ask", "--batch", ws / "binary.jsonl"),
        "latest-n-0": ("--config", ws / "good.toml", "latest", "--n", "0"),
        "ask-bad-date": ("--config", ws / "good.toml", "ask", "x", "--as-of", "2024-13-01"),
    }
    says = {
        "config-not-toml": "not valid toml",
        "config-not-utf8": "not utf-8",
        "db-is-a-folder": "is a folder",
        "batch-binary": "not utf-8",
        "latest-n-0": "between 1 and 25",
        "ask-bad-date": "not a date",
    }
    for name, argv in picked.items():
        done = newsbot(ws, *argv)
        check(done.returncode, text(done.stderr), 2, says[name])


STRICT = {"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}


def test_the_console_with_stdin_closed_undecodable_or_at_its_end(ws: Place) -> None:
    good = ("--config", ws / "good.toml")
    done = newsbot(ws, *good, "console", stdin=b"\xff\xfe tram\n", env=STRICT)
    check(done.returncode, text(done.stderr), 0, "")
    assert text(done.stdout).count("not UTF-8 text") == 1
    done = newsbot(ws, *good, "console", stdin=bytes(range(128, 256)) * 40 + b"\n" * 3, env=STRICT)
    check(done.returncode, text(done.stderr), 0, "")
    done = newsbot(ws, *good, "console", stdin=b"harbor tram\n", env=STRICT)
    check(done.returncode, text(done.stderr), 0, "")
    assert "Tram Opens Monday" in text(done.stdout)
    # stdin closed (not merely empty): start falls back to the console, which ends at once
    closed = subprocess.run(
        [sys.executable, "-m", "newsbot.cli", *good, "start"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=ws.root,
        env={k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"},
        timeout=60,
        check=False,
        preexec_fn=lambda: os.close(0),
    )
    check(closed.returncode, text(closed.stderr), 0, "no discord_token set")


def test_the_console_gives_up_on_input_that_is_never_utf8(
    ws: Place, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def undecodable(prompt: str = "") -> str:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    monkeypatch.setattr("builtins.input", undecodable)
    code = main(["--config", ws / "good.toml", "console"])
    out, err = capsys.readouterr()
    check(code, err, 2, "not utf-8 text")
    assert out.count("That line is not UTF-8 text") == 2


def test_names_that_are_not_utf8_are_printed_escaped_under_a_strict_locale() -> None:
    from rich.console import Console

    from newsbot.cli import render
    from newsbot.index.model import IndexReport, Skipped

    name = os.fsdecode(b"news/caf\xe9\x1b[31m.txt")
    report = IndexReport(skipped=[Skipped(name, "not UTF-8 text")], warnings=[Skipped(name, "odd")])
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    Console(file=stream, highlight=False, soft_wrap=True).print(render.report(report))
    stream.flush()
    shown = stream.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
    assert "news/caf\\xe9[31m.txt: not UTF-8 text" in shown, shown
    line = render.to_json(report.to_json())
    assert line.encode("utf-8") and "caf\\udce9" in line and "\x1b" not in line


def test_a_file_name_that_is_not_utf8_is_indexed_and_printed_under_a_strict_locale(
    ws: Place, tmp_path: Path
) -> None:
    folder = tmp_path / "news"
    write_article(folder, "ok.txt", "Fine", ["A good paragraph about the harbor tram."])
    (folder / "ok.txt").rename(os.fsdecode(bytes(folder) + b"/caf\xe9.txt"))
    db = str(tmp_path / "s.db")
    done = newsbot(ws, "index", str(folder), "--db", db, env=STRICT)
    check(done.returncode, text(done.stderr), 0, "")
    done = newsbot(ws, "ask", "harbor tram", "--db", db, env=STRICT)
    check(done.returncode, text(done.stderr), 0, "")
    assert "caf\\xe9.txt" in text(done.stdout), text(done.stdout)


def _closed_pipe(ws: Place, *argv: str) -> tuple[int, str]:
    """Run newsbot with stdout a pipe whose reading end is closed before anything is written."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsbot.cli", *argv],
            stdin=subprocess.DEVNULL,
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=ws.root,
        )
    finally:
        os.close(write)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, text(err)


@pytest.mark.parametrize(
    "argv",
    [
        ("latest", "--json"),
        ("ask", "harbor tram", "--json"),
        ("ask", "harbor tram"),
        ("stats",),
        ("index", "--json"),
    ],
    ids=lambda argv: " ".join(argv),
)
def test_a_closed_stdout_pipe_ends_quietly(ws: Place, argv: tuple[str, ...]) -> None:
    code, err = _closed_pipe(ws, "--config", ws / "good.toml", *argv)
    assert code == 141 and err.strip() == "", (code, err)


def test_head_of_a_batch_ends_it_quietly(ws: Place) -> None:
    """``newsbot ask --batch FILE --json | head -1``: a real reader that stops reading."""
    batch = ws.root / "many.jsonl"
    batch.write_text('{"question": "harbor tram"}\n' * 400, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsbot.cli", "--config", ws / "good.toml", "ask", "--batch", str(batch)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ws.root,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # as head does after one line
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert b'"question": "harbor tram"' in first
    assert proc.returncode == 141 and text(err).strip() == "", (proc.returncode, text(err))


def test_watch_stops_after_a_round_on_ctrl_c_and_on_a_closed_pipe(ws: Place) -> None:
    argv = [sys.executable, "-m", "newsbot.cli", "--config", ws / "good.toml", "index", "--watch"]
    proc = subprocess.Popen(
        [*argv, "--interval", "0.2"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ws.root,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the first round's line
    assert b"nothing changed" in line, line
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in text(err), (proc.returncode, text(err))
    assert "Stopped watching." in text(err) and len(text(err).splitlines()) <= 2, text(err)

    code, err_text = _closed_pipe(
        ws, "--config", ws / "good.toml", "index", "--watch", "--interval", "0.2", "--json"
    )
    assert code == 141 and "Traceback" not in err_text and len(err_text.splitlines()) <= 1, (code, err_text)


RUN_WITHOUT_DISCORD = """
import socket, sys
import discord.http
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()  # nobody listens
discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
from newsbot.cli.main import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["run", "start"])
def test_run_without_discord_ends_in_one_line(ws: Place, command: str) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "NEWSBOT_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT_DISCORD, "--config", ws / "good.toml", command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=ws.root,
        env={**environ, "DISCORD_TOKEN": "not.a.token"},
        timeout=60,
        check=False,
    )
    err = text(done.stderr)
    assert done.returncode == 2 and "Traceback" not in err, err
    ours = [line for line in err.splitlines() if line.startswith("newsbot:")]
    assert len(ours) == 1 and ours[0].startswith("newsbot: cannot reach Discord: "), err
    assert "not.a.token" not in err


def test_start_failures_are_one_line() -> None:
    """What each way of failing to start says (raised where ``serve`` would raise it)."""
    import aiohttp
    import discord

    from newsbot.bot.run import start_failure

    class Response:
        status = 503
        reason = "Service Unavailable"

    key = aiohttp.client_reqrep.ConnectionKey("discord.com", 443, True, None, None, None, None)
    dns = aiohttp.ClientConnectorError(key, OSError(-3, "Temporary failure in name resolution"))
    said = {
        "token": start_failure(discord.LoginFailure("Improper token has been passed.")),
        "dns": start_failure(dns),
        "timeout": start_failure(TimeoutError()),
        "gateway": start_failure(discord.GatewayNotFound()),
        "http": start_failure(discord.DiscordServerError(Response(), "down")),  # type: ignore[arg-type]
        "intents": start_failure(discord.PrivilegedIntentsRequired(None)),
    }
    assert "refused the token" in (said["token"] or "")
    assert (said["dns"] or "").startswith("cannot reach Discord: ") and "name resolution" in (
        said["dns"] or ""
    )
    assert (said["timeout"] or "").startswith("cannot reach Discord")
    assert (said["gateway"] or "").startswith("cannot reach Discord")
    assert "503" in (said["http"] or "")
    assert "message content intent" in (said["intents"] or "")
    assert all("\n" not in s for s in said.values() if s)
    assert start_failure(RuntimeError("a bug")) is None  # bugs keep their traceback


def test_discord_reconnect_logs_are_one_line_and_bugs_keep_their_traceback() -> None:
    import logging

    import aiohttp

    from newsbot.bot.run import REDACTED, RedactingFormatter

    formatter = RedactingFormatter(logging.Formatter("%(name)s %(message)s"), "sekrit")

    def record(name: str, error: BaseException) -> logging.LogRecord:
        try:
            raise error
        except BaseException:
            info = sys.exc_info()
        return logging.LogRecord(
            name, logging.ERROR, __file__, 1, "Attempting a reconnect in %.2fs", (1.5,), info
        )

    line = formatter.format(record("discord.client", aiohttp.ClientConnectionError("lost sekrit")))
    assert line == f"discord.client Attempting a reconnect in 1.50s (ClientConnectionError: lost {REDACTED})"
    bug = formatter.format(record("discord.client", RuntimeError("a bug with sekrit")))
    assert "Traceback" in bug and "sekrit" not in bug
