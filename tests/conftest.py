"""Fixtures only: the helpers tests import are in tests/helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.index.config import Settings

from .helpers import make_settings


@pytest.fixture
def sample_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)
