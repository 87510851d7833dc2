"""Fixtures only (the helpers tests import are in tests/helpers.py); and numba tests skip where it is absent."""

from __future__ import annotations

import gc
import importlib.util
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from newsbot.index.config import Settings

from .helpers import make_settings

# numba has no wheels for the newest Pythons (it is not installed there: see pyproject.toml); numpy ranks.
HAS_NUMBA = importlib.util.find_spec("numba") is not None
# Tests that need numba but are in files other engineers are rewriting: their owners may replace this list by
# @pytest.mark.numba on the test (a name that no longer matches fails loudly without numba, never silently).
NEEDS_NUMBA = {"test_generation_of_an_older_layout_serves_then_is_rebuilt"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without numba, skip the tests that need the compiled ranking: those marked ``numba``, those using
    the ``kernels_ready`` fixture and those in NEEDS_NUMBA. Where numba is installed they all run (and
    fail if it cannot load)."""
    if HAS_NUMBA:
        return
    skip = pytest.mark.skip(reason="numba is not installed (the compiled ranking is unavailable)")
    for item in items:
        needs = item.get_closest_marker("numba") or getattr(item, "originalname", item.name) in NEEDS_NUMBA
        if needs or "kernels_ready" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the run even if a test left a thread running: an aiosqlite connection that a failing test
    never closed keeps its thread waiting, and Python waits for it at exit, so the run would never end.
    The run ends with the tests' own status; the threads are named."""
    gc.collect()  # (a connection no longer referenced ends its thread)
    deadline = time.monotonic() + 5
    left = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for thread in left:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    left = [t for t in left if t.is_alive()]
    if left:
        sys.stderr.write(f"\nthreads the tests left running, ended with the run: {[t.name for t in left]}\n")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(int(getattr(config, "_newsbot_status", 1)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._newsbot_status = exitstatus  # type: ignore[attr-defined]


@pytest.fixture
def sample_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)
