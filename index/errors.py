"""One error family for everything a user can see.

Every error raised on purpose by newsbot derives from :class:`NewsbotError` and carries a
message written for the person at the terminal or in the Discord channel. The edges (the CLI and
the bot) translate these into a one-line message; anything else is a bug and is logged.
"""

from __future__ import annotations

import errno
import re


class NewsbotError(Exception):
    """Base class: ``str(err)`` is a complete sentence fit to show a user."""


class ConfigError(NewsbotError):
    """A setting is missing, of the wrong type, or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config: {key}: {problem}")


class NoIndexError(NewsbotError):
    """Nothing has been indexed yet (or the index cannot be opened)."""


class IndexBusyError(NewsbotError):
    """A reindex is already running."""


class IndexingError(NewsbotError):
    """A reindex could not publish a usable index; the previous one is still serving."""


class StoreError(NewsbotError):
    """The database cannot be read or written (locked, read-only, disk full, corrupt)."""


class GenerationError(StoreError):
    """The published index cannot be served: its files beside the database cannot be read (deleted,
    unreadable, damaged), or ``meta`` names no usable generation or tokenizer. The store holds all it
    is built from, so the message says that ``newsbot index`` builds it anew."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}; `newsbot index` rebuilds it from the database")


class ArticleError(NewsbotError):
    """An article file (or one line of a JSONL file) cannot be used; ``str(err)`` is the reason.

    Parsing raises it without knowing where the text came from; the reindex reports the reason after
    the file's path (a ``Skipped`` entry) and goes on without that article.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ShardUnavailable(NewsbotError):
    """A shard of a cluster did not answer (it died, or its node is gone); Ray restarts it."""

    def __init__(self, shard: int, reason: str) -> None:
        super().__init__(f"shard {shard} is unavailable ({reason})")
        self.shard = shard


class ClusterUnavailable(NewsbotError):
    """No shard of the cluster answered a question (the cluster is gone, or restarting)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the archive's cluster is not answering right now ({reason}); try again in a minute"
        )


_SHORT_WRITE = re.compile(r"^\d+ requested and \d+ written$")


def disk_full(exc: OSError) -> bool:
    """Whether ``exc`` says the disk is full: ENOSPC or a quota, or numpy's short write, which
    carries no errno ("N requested and M written")."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT) or (
        exc.errno is None and bool(_SHORT_WRITE.match(str(exc)))
    )
