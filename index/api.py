"""The public face of the core: open an index, ask it, list the latest, reindex it.

The CLI and the Discord bot use only this module (and the values in :mod:`index.model`).
SKELETON: signatures are fixed; bodies are being written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from .config import Settings
from .model import Answer, IndexReport, Stats, Story

ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage is "scan", "parse", "store" or "build"; total may be 0 (unknown)."""


class NewsIndex:
    """An open news index. Cheap to query concurrently; one reindex at a time."""

    settings: Settings

    @classmethod
    async def open(cls, settings: Settings) -> NewsIndex:
        """Open (creating if needed) the database named in ``settings.store.database``."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> NewsIndex:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def is_empty(self) -> bool:
        """True until a first reindex has published something."""
        raise NotImplementedError

    @property
    def reindexing(self) -> bool:
        raise NotImplementedError

    async def ask(
        self, question: str, *, k: int | None = None, as_of: dt.date | None = None, offset: int = 0
    ) -> Answer:
        """The best ``k`` passages (default ``settings.answer.passages``), skipping the first ``offset``.

        Raises NoIndexError when nothing has been indexed.
        """
        raise NotImplementedError

    async def latest(
        self,
        n: int = 5,
        *,
        topic: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[Story]:
        raise NotImplementedError

    async def reindex(
        self, folders: list[Path] | None = None, progress: ProgressCallback | None = None
    ) -> IndexReport:
        """Incrementally reindex ``folders`` (default: the configured ones) and publish atomically.

        Raises IndexBusyError if a reindex is already running (in this process or another).
        Questions keep being answered from the previous generation until the new one is published.
        """
        raise NotImplementedError

    async def stats(self) -> Stats:
        raise NotImplementedError

    async def record_question(
        self, question: str, *, user_id: int | None, guild_id: int | None, hits: int
    ) -> int:
        """Log a question; returns its id (for feedback)."""
        raise NotImplementedError

    async def record_feedback(self, question_id: int, *, user_id: int, value: int) -> None:
        """Store +1 / -1 feedback on a logged question (one vote per user, last one wins)."""
        raise NotImplementedError
