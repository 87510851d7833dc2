"""The writer's lock: one reindex at a time per database, across processes.

A bot, a ``newsbot index --watch`` and a one-off ``newsbot index`` may share one database. A reindex
reads the store before its write transaction (a retokenize) and deletes what unfinished builds left on
disk; both are safe only while no other reindex runs. The lock is advisory (``flock``) on a file beside
the database: a second reindex fails at once with :class:`IndexBusyError`, and the kernel releases the
lock when its holder dies, even by ``kill -9``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from newsbot.index.errors import IndexBusyError, IndexingError


@contextlib.contextmanager
def writer_lock(database: Path) -> Iterator[None]:
    """One reindex at a time per database, across processes (an advisory lock beside it)."""
    lock_path = database.with_name(database.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise IndexingError(f"cannot create the lock file {lock_path} ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError("a reindex is already running; try again when it has finished") from None
        yield
    finally:
        os.close(fd)
