"""Every third-party module the tests import (bench helpers they use included) is declared in pyproject.toml:
a dependency of newsbot or its ``test`` extra, so ``pip install -e '.[test]'`` is all the tests need."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

from .helpers import ROOT

OWN = {"newsbot", "tests", "bench"}  # ours
BENCH_USED_BY_TESTS = ["bench/common.py"]


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def imported_modules() -> dict[str, str]:
    """Top-level module -> a file importing it, for every import in tests/ (and the bench helpers they use)."""
    files = [*sorted((ROOT / "tests").rglob("*.py")), *(ROOT / f for f in BENCH_USED_BY_TESTS)]
    found: dict[str, str] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_of_the_tests_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_name(r) for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]}
    distributions = importlib.metadata.packages_distributions()
    third_party = {
        module: where
        for module, where in imported_modules().items()
        if module not in sys.stdlib_module_names and module not in OWN and module != "__future__"
    }
    assert {"aiohttp", "yarl", "hypothesis", "discord"} <= set(third_party)  # the scan sees them
    undeclared = {}
    for module, where in sorted(third_party.items()):
        dists = {_name(d) for d in distributions.get(module, [module])}
        if not dists & declared:
            undeclared[module] = (where, sorted(dists))
    assert not undeclared, f"imported by the tests, not declared in pyproject.toml: {undeclared}"
