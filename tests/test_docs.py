"""The docs stay true: every command they show works, every setting is real, every link resolves.

- Every ``newsbot …`` line in a code block of README.md or docs/ parses with the CLI's own parser, and
  the README's commands that need no network, token or terminal run (in-process, as a user would type
  them) against a temporary index of the bundled sample news, exiting 0.
- ``config.example.toml`` loads as users load it, and its keys and the ``Settings`` dataclasses match
  both ways (walked generically, so renamed or added settings need no change here); every setting the
  README or docs/ name in backticks (``answer.per_article``) is a real one.
- README.md is at most 150 lines; every relative link (and #anchor) in the docs resolves; the docs hold
  no development history or run timestamps.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import tomllib
import typing
from pathlib import Path

import pytest

from newsbot.cli.main import build_parser, main
from newsbot.index.config import SAMPLE_NEWS, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [
    README,
    ROOT / "CHANGELOG.md",
    ROOT / "bench" / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
]
EXAMPLE = ROOT / "config.example.toml"

INSTALL_AND_RUN = "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/newsbot start"
TESTS = "bash .ci/run"
MAX_README_LINES = 150
# subcommands that run here: no Discord token, no network, no interactive terminal, no endless loop
RUNNABLE = {"ask", "latest", "stats", "index", "forget"}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --------------------------------------------------------------------------- commands in code blocks
def code_lines(text: str) -> list[str]:
    """The lines of the fenced code blocks, with backslash continuations joined."""
    lines: list[str] = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S):
        lines += block.replace("\\\n", " ").splitlines()
    return lines


def newsbot_argv(line: str) -> list[list[str]]:
    """The argument lists of every newsbot call in a shell line (``&&`` chains and comments handled)."""
    calls = []
    for part in re.split(r"&&|\|\||;", line):
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            continue
        for i, word in enumerate(words):
            if word == "newsbot" or word.endswith("/newsbot"):
                calls.append(words[i + 1 :])
                break
            if word == "-m" and words[i + 1 : i + 2] == ["newsbot.cli"]:
                calls.append(words[i + 2 :])
                break
    return calls


def documented_commands(paths: list[Path]) -> list[tuple[str, list[str]]]:
    return [
        (rel(path), argv)
        for path in paths
        for line in code_lines(path.read_text(encoding="utf-8"))
        for argv in newsbot_argv(line)
    ]


ALL_COMMANDS = documented_commands(DOCS)
README_COMMANDS = documented_commands([README])
RUN_COMMANDS = [argv for _, argv in README_COMMANDS if argv and argv[0] in RUNNABLE and "--watch" not in argv]


def test_the_readme_shows_the_commands_this_test_runs() -> None:
    assert INSTALL_AND_RUN in README.read_text(encoding="utf-8")
    assert TESTS in README.read_text(encoding="utf-8") and (ROOT / ".ci" / "run").is_file()
    shown = {argv[0] for argv in RUN_COMMANDS}
    assert shown == RUNNABLE, f"the README no longer shows newsbot {sorted(RUNNABLE - shown)}"
    assert any("--batch" in argv for argv in RUN_COMMANDS), "the README no longer shows ask --batch"


@pytest.mark.parametrize(
    ("where", "argv"), ALL_COMMANDS, ids=[f"{w}: newsbot {' '.join(a)}" for w, a in ALL_COMMANDS]
)
def test_every_documented_command_parses(
    where: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `newsbot {' '.join(argv)}` does not parse: {capsys.readouterr().err.strip()}")


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's folder: ./newsbot.toml with the sample news as news.folders, ~ pointing at a home."""
    work = tmp_path / "work"
    shutil.copytree(SAMPLE_NEWS, work / "news")
    (work / "newsbot.toml").write_text(
        '[news]\nfolders = ["news"]\n[store]\ndatabase = "news.db"\n'
        "[index]\ncompiled = false\n",  # one-shot commands: do not compile the numba kernels here
        encoding="utf-8",
    )
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEWSBOT_CONFIG", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    return work


def _prepare(argv: list[str]) -> list[str]:
    """The command as the shell would pass it (~ expanded), with the folders and files it names made."""
    argv = [os.path.expanduser(a) for a in argv]
    command = argv[0]
    for i, arg in enumerate(argv[1:], start=1):
        if argv[i - 1] == "--batch" and arg != "-":
            Path(arg).write_text(
                '{"id": 1, "question": "who won the Riverside marathon?"}\n'
                '{"id": 2, "question": "storm damage", "as_of": "2026-10-12"}\n',
                encoding="utf-8",
            )
        elif command in ("index", "forget") and not arg.startswith("-") and argv[i - 1] != "--interval":
            folder = Path(arg)
            if not folder.exists():
                shutil.copytree(SAMPLE_NEWS, folder)
    return argv


@pytest.mark.parametrize("argv", RUN_COMMANDS, ids=[" ".join(a) for a in RUN_COMMANDS])
def test_every_readme_command_runs(
    argv: list[str], user_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index"]) == 0  # the configured news, as `newsbot start` would have indexed it
    argv = _prepare(argv)
    if argv[0] == "forget":  # a folder is forgotten after it was indexed
        assert main(["index", *[a for a in argv[1:] if not a.startswith("-")]]) == 0
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, f"newsbot {' '.join(argv)} exited {code}: {err.strip()}"
    assert out.strip(), f"newsbot {' '.join(argv)} printed nothing"
    assert "Traceback" not in out + err


# --------------------------------------------------------------------------- settings
def _section_types(cls: type) -> dict[str, typing.Any]:
    return typing.get_type_hints(cls)


def _walk(cls: type, raw: dict[str, typing.Any], prefix: str = "") -> tuple[set[str], set[str]]:
    """(keys of ``raw`` that are no field of ``cls``, fields of ``cls`` missing from ``raw``), nested."""
    unknown, missing = set(), set()
    hints = _section_types(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key, value in raw.items():
        if key not in fields:
            unknown.add(prefix + key)
        elif dataclasses.is_dataclass(hints[key]) and isinstance(value, dict):
            u, m = _walk(hints[key], value, f"{prefix}{key}.")
            unknown |= u
            missing |= m
    for name in fields - raw.keys():
        missing.add(prefix + name)
    return unknown, missing


def setting_names(cls: type = Settings, prefix: str = "") -> set[str]:
    """Every setting's dotted name (``answer.per_article``), from the dataclasses."""
    names = set()
    hints = _section_types(cls)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if dataclasses.is_dataclass(hints[f.name]):
            names |= setting_names(hints[f.name], f"{prefix}{f.name}.")
        else:
            names.add(prefix + f.name)
    return names


def test_the_example_config_loads_as_users_load_it() -> None:
    settings = load_settings(EXAMPLE)
    # relative paths are taken from the file's folder: the example's news folder is the bundled sample
    assert all(folder.is_dir() for folder in settings.folders)
    assert settings.database.parent == ROOT


def _tables_of(kind: typing.Any) -> type | None:
    """The dataclass of a ``list[...]`` of tables (``[[feeds]]``), else None."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) is list and args and dataclasses.is_dataclass(args[0]):
        return typing.cast(type, args[0])
    return None


def test_every_example_key_is_a_setting_and_every_setting_is_in_the_example() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    unknown, missing = _walk(Settings, raw)
    # arrays of tables ([[feeds]]) are shown commented out, since any given would be followed
    for name, kind in _section_types(Settings).items():
        table = _tables_of(kind)
        if table is None or name in raw:
            continue
        shown = re.search(rf"^# \[\[{name}\]\]$", text, flags=re.M)
        keys = {f.name for f in dataclasses.fields(table) if re.search(rf"^# {f.name} = ", text, flags=re.M)}
        if shown and keys == {f.name for f in dataclasses.fields(table)}:
            missing.discard(name)
    assert not unknown, f"config.example.toml has keys that are no setting: {sorted(unknown)}"
    assert not missing, f"config.example.toml lacks settings: {sorted(missing)}"


def test_every_setting_the_docs_name_is_real() -> None:
    sections = "|".join(f.name for f in dataclasses.fields(Settings))
    named = re.compile(rf"`((?:{sections})\.[a-z_]+)(?:\s*=[^`]*)?`")
    real = setting_names()
    bad = [
        f"{rel(path)}: {name}"
        for path in DOCS
        if path.name != "CHANGELOG.md"  # it names settings as they were, too
        for name in named.findall(path.read_text(encoding="utf-8"))
        if name not in real and not re.search(r"\.(py|md|toml|jsonl?|txt|db)$", name)  # files
    ]
    assert not bad, f"the docs name settings that do not exist: {bad}"


# --------------------------------------------------------------------------- length, links, history
def test_the_readme_is_short() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail into docs/"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, flags=re.M)}


def test_slugs_are_githubs() -> None:
    assert slug("The /ask burst over a full-size index") == "the-ask-burst-over-a-full-size-index"
    assert slug("Dependencies, and why each earns its place") == "dependencies-and-why-each-earns-its-place"


@pytest.mark.parametrize("path", DOCS, ids=rel)
def test_every_relative_link_resolves(path: Path) -> None:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        missing_anchor = (
            dest.suffix == ".md" and dest.exists() and bool(anchor) and anchor not in anchors(dest)
        )
        if not dest.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{rel(path)} links to what does not exist: {broken}"


HISTORY = re.compile(r"\bsessions? \d|\b\d{1,2}:\d{2} UTC\b|\brun of \d{1,2}:\d{2}", re.I)


@pytest.mark.parametrize("path", DOCS, ids=rel)
def test_no_development_history_or_run_timestamps(path: Path) -> None:
    found = HISTORY.findall(path.read_text(encoding="utf-8"))
    assert not found, f"{rel(path)}: figures come with a command, not a session or a time: {found}"
