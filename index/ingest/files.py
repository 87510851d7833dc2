"""Reading a file that may not be one: only regular files are read, never past a size limit, and
every name is made printable before it is stored or reported.

A FIFO named ``x.txt`` would block a plain ``open()`` forever, and a symbolic link to ``/dev/zero``
would be read until memory runs out. So the path is ``stat``-ed first (following symbolic links) and
only a regular file is opened, without blocking (``O_NONBLOCK``: a FIFO swapped in since the check
cannot block either), checked again on the open descriptor, and read up to the limit plus one byte.

File names are bytes on POSIX; Python holds the bytes that are not UTF-8 as lone surrogates, which
SQLite, a strict UTF-8 terminal and Discord refuse. :func:`printable` shows each such byte as
``\\xNN``: the form of a path that is stored, cited and reported.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat

from newsbot.index.errors import ArticleError
from newsbot.index.ingest.parse import utf8

_SURROGATE = re.compile("[\ud800-\udfff]")
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


def printable(name: str) -> str:
    """``name`` (a file name or path from the OS) as valid text: each byte that is not UTF-8 as
    ``\\xNN``. A name that is valid UTF-8 is returned as it is."""
    if not _SURROGATE.search(name):
        return name
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte: it cannot name a file
        return utf8(name)
    return raw.decode("utf-8", "backslashreplace")


def not_regular(mode: int) -> str | None:
    """What a file of this ``st_mode`` is when it is not a regular file (None when it is one)."""
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _KINDS if test(mode)), "a special file")


def too_big(size: int, limit: int) -> str:
    return f"file is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit"


def os_reason(exc: OSError) -> str:
    """An OS error met while opening or reading a file, as a reason to report."""
    if exc.errno == errno.ENOENT:
        return "file disappeared while indexing"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.EISDIR:
        return "is a folder, not a file"
    return f"cannot read ({exc.strerror or exc})"


def _refuse(mode: int) -> None:
    what = not_regular(mode)
    if what == "a folder":
        raise ArticleError("is a folder, not a file")
    if what:
        raise ArticleError(f"{what}, not a regular file: not read")


def read_regular(path: str, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (symbolic links followed), at most ``limit``.

    Raises :class:`ArticleError` with the reason to report for anything else: not a regular file,
    over the limit (checked before and while reading: a file may grow), gone, unreadable.
    """
    try:
        before = os.stat(path)
        _refuse(before.st_mode)
        if before.st_size > limit:
            raise ArticleError(too_big(before.st_size, limit))
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        raise ArticleError(os_reason(exc)) from None
    try:
        _refuse(os.fstat(fd).st_mode)  # what was opened, not what was looked at
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)  # a regular file
        with open(fd, "rb", closefd=False) as fh:
            want = min(before.st_size, limit) + 1
            data = fh.read(want)
            if len(data) == want and want <= limit:  # the file grew since: read on to the limit
                data += fh.read(limit + 1 - want)
    except OSError as exc:
        raise ArticleError(os_reason(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ArticleError(too_big(len(data), limit))
    return data
