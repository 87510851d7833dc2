"""Giving back what a reindex freed: the C heap keeps the memory of the rows, postings and records a
build let go, and would otherwise hold its peak for as long as the process serves (a bot that
reindexes, a cluster shard: about 1 GB more a shard at 1.2M paragraphs)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


def give_back() -> bool:
    """Return the heap's free pages to the system (glibc's ``malloc_trim``; a few ms); False where
    there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # another C library (musl)
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return bool(trim(0))
