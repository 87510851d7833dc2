"""The import rules of the codebase, read from the source (function-local imports included).

- ``newsbot.index`` never imports Discord, the bot or the CLI; the bot and the CLI never import each other.
- The read path (ranking, answers, the store, the generation's layout) never imports the build path
  (``newsbot.index.ingest``).
- No import cycles among newsbot's modules, counting imports inside functions (imports only for type
  checkers, under ``if TYPE_CHECKING:``, are left out: they never run).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"index": "newsbot.index", "bot": "newsbot.bot", "cli": "newsbot.cli"}
READ_PATH = (
    "newsbot.index.ranking",
    "newsbot.index.answer",
    "newsbot.index.store",
    "newsbot.index.generation",
    "newsbot.index.layout",
    "newsbot.index.tokenizer",
    "newsbot.index.model",
)


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([package, *parts])] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(name: str, path: Path, *, typing_only: bool) -> Iterator[str]:
    """The modules ``name`` imports: at run time, or (``typing_only``) also for type checkers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"

    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child) and not typing_only:
                yield from (n for stmt in child.orelse for n in [stmt, *walk(stmt)])
                continue
            yield child
            yield from walk(child)

    for node in walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph(*, typing_only: bool) -> dict[str, set[str]]:
    mods = modules()
    return {
        name: {m for m in imports(name, path, typing_only=typing_only) if m in mods and m != name}
        for name, path in mods.items()
    }


def all_imports() -> dict[str, set[str]]:
    mods = modules()
    return {name: set(imports(name, path, typing_only=True)) for name, path in mods.items()}


def under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_rules_see_every_module() -> None:
    mods = modules()
    assert "newsbot.index.api" in mods and "newsbot.bot.app" in mods and "newsbot.cli.main" in mods
    assert "newsbot.index.ranking.search" in graph(typing_only=False)["newsbot.index.api"]


def test_the_core_never_imports_the_adapters() -> None:
    bad = [
        (mod, imp)
        for mod, imps in all_imports().items()
        if under(mod, "newsbot.index")
        for imp in imps
        if under(imp, "discord") or under(imp, "newsbot.bot") or under(imp, "newsbot.cli")
    ]
    assert bad == []


def test_the_adapters_never_import_each_other() -> None:
    bad = [
        (mod, imp)
        for mod, imps in all_imports().items()
        for imp in imps
        if (under(mod, "newsbot.bot") and under(imp, "newsbot.cli"))
        or (under(mod, "newsbot.cli") and under(imp, "newsbot.bot") and not mod.endswith(".main"))
    ]
    # the CLI's `run` command starts the bot: main imports newsbot.bot.run inside that command only
    assert bad == []


def test_the_read_path_never_imports_the_build_path() -> None:
    bad = [
        (mod, imp)
        for mod, imps in all_imports().items()
        if any(under(mod, p) for p in READ_PATH)
        for imp in imps
        if under(imp, "newsbot.index.ingest")
    ]
    assert bad == []


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def _package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's __init__ is imported by every import of a module inside it: drop those edges,
    which are not cycles of the code (newsbot's __init__ files import nothing)."""
    return {m: {i for i in imps if not under(m, i)} for m, imps in edges.items()}


KNOWN_CYCLES: list[list[str]] = []


@pytest.mark.parametrize("typing_only", [False])
def test_no_import_cycles(typing_only: bool) -> None:
    assert cycles(_package_edges(graph(typing_only=typing_only))) == KNOWN_CYCLES


# --------------------------------------------------------------------------- sizes
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
LONGER = {
    # numba compiles a kernel as one function: splitting its posting loop into helpers costs a call per
    # posting (each call reference-counts every array of the named tuples it is given)
    "newsbot.index.ranking.kernels.rank": 120,
}


def test_modules_and_functions_stay_small() -> None:
    too_long = []
    for name, path in modules().items():
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        if lines > LONGER.get(name, MAX_MODULE_LINES):
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LONGER.get(f"{name}.{node.name}", MAX_FUNCTION_LINES):
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []


# --------------------------------------------------------------------------- what a question loads
HEAVY = ("discord", "aiohttp", "feedparser", "trafilatura", "lxml", "warcio", "scipy.sparse", "ray")


def test_asking_from_the_terminal_loads_neither_discord_nor_the_fetcher() -> None:
    # `newsbot ask` starts cold every time: the bot's and the fetcher's libraries stay unloaded until used
    code = (
        "import sys; import newsbot.cli.main, newsbot.index.api, newsbot.index.feeds; "
        f"print(sorted({{m for m in sys.modules for h in {HEAVY!r} if m == h or m.startswith(h + '.')}}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
