"""ingest/memory.py: after a reindex, the C heap's free memory goes back to the system (glibc)."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import ctypes
    from newsbot.index.ingest.memory import give_back

    def rss_mb():
        with open("/proc/self/status") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS")) // 1024

    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(64 * 1024) for _ in range(4000)]  # 250 MB on the heap (below mmap's threshold)
    for b in blocks:
        ctypes.memset(b, 1, 64 * 1024)
    for b in blocks[:-1]:  # all freed but the last, which keeps the heap from shrinking at its top
        libc.free(b)
    before = rss_mb()
    print(give_back(), before, rss_mb())
    """
)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_the_heaps_free_memory_goes_back() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=True
    )
    trimmed, before, after = out.stdout.split()
    assert trimmed == "True" and int(before) > 200 and int(after) < int(before) - 150, out.stdout
