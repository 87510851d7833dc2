"""Watching the news folders: run the incremental reindex when a file is added, changed or removed.

A periodic check is enough (and works on every filesystem, network mounts included): each round lists
the folders with their files' stamps (size, mtime, metadata row; nothing is read) and reindexes only
when that listing differs from the last one that was indexed. A round that finds a reindex already
running (an admin's, or another process's) is skipped; the next one tries again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from newsbot.index.config import Settings
from newsbot.index.errors import IndexBusyError, NewsbotError
from newsbot.index.ingest.sources import scan
from newsbot.index.model import IndexReport

log = logging.getLogger(__name__)

OnReport = Callable[[IndexReport], Awaitable[None]]


class Reindexable(Protocol):
    """What a watch needs of the index (``NewsIndex`` is one; ingest does not import it, which
    imports ingest)."""

    @property
    def settings(self) -> Settings: ...

    async def reindex(self, folders: list[Path] | None = None) -> IndexReport:
        """Reindex ``folders``; raises IndexBusyError when a reindex is already running."""
        ...

    async def cancel_reindex(self) -> None:
        """Cancel this process's running reindex, if any, and wait until it stopped."""
        ...

    async def news_folders(self) -> list[Path]:
        """What a reindex scans by default (the configured folders and the feeds' folders)."""
        ...


def fingerprint(folders: list[Path]) -> str:
    """A digest of every article file's path and stamp under ``folders`` (and of what could not be read)."""
    sources, skipped = scan(folders)
    digest = hashlib.blake2b(digest_size=16)
    for src in sources:
        digest.update(f"{src.root}\0{src.rel}\0{src.stamp}\n".encode())
    for problem in skipped:
        digest.update(f"!{problem.path}\0{problem.reason}\n".encode())
    return digest.hexdigest()


class FolderWatch:
    """Reindexes ``index`` from ``folders`` (default: the index's news folders, feeds' included, as
    they are at each round) when they change.

    ``claim``/``release`` let an adapter share its own reindex slot (the bot's, so that a watch
    round and an admin's /reindex never run together); ``claim`` returns False when it is taken.
    """

    def __init__(
        self,
        index: Reindexable,
        folders: list[Path] | None = None,
        *,
        claim: Callable[[], bool] = lambda: True,
        release: Callable[[], None] = lambda: None,
    ) -> None:
        self.index = index
        self.folders = folders
        self.claim = claim
        self.release = release
        self.indexed: str | None = None  # the fingerprint last indexed

    async def check(self) -> IndexReport | None:
        """One round: the reindex's report, or None when nothing changed or a reindex was running."""
        folders = self.folders or await self.index.news_folders()
        if not folders:  # nothing configured and no feed stored anything yet
            return None
        current = await asyncio.to_thread(fingerprint, folders)
        if current == self.indexed or not self.claim():
            return None
        try:
            report = await self.index.reindex(folders)
        except IndexBusyError:
            return None
        except asyncio.CancelledError:  # the watcher is stopping: leave no reindex running behind it
            await self.index.cancel_reindex()
            raise
        finally:
            self.release()
        self.indexed = current
        return report

    async def run(self, interval: float, on_report: OnReport) -> None:
        """Check at once, then every ``interval`` seconds, until cancelled; ``on_report`` gets each
        reindex's report. Failures are logged and retried."""
        while True:
            await self.round(on_report)
            await asyncio.sleep(interval)

    async def round(self, on_report: OnReport) -> None:
        """:meth:`check`, then ``on_report``; a failure is logged, never raised."""
        try:
            report = await self.check()
            if report is not None:
                await on_report(report)
        except NewsbotError as exc:
            log.warning("Watching the news folders: %s", exc)
        except Exception:
            log.exception("Watching the news folders failed; trying again next round")
