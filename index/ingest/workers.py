"""Reading the new and changed article files: on threads for a few, in worker processes for many.

Tokenizing a large archive is most of the work of indexing it, and the tokenizer holds the GIL, so a
large run reads, parses and tokenizes in worker processes, one per core, which send back each
article's terms ready to be given ids. The processes are spawned, never forked (the parent runs
threads); when they cannot start (a script without a main guard) the rest is read on threads.
Workers end when the process that started them dies, even by ``kill -9``: on Linux the kernel sends
them SIGKILL (``PR_SET_PDEATHSIG``), and everywhere a watchdog thread in each notices it is orphaned.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from newsbot.index.ingest.sources import Record, SourceFile, read
from newsbot.index.model import Skipped
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

T = TypeVar("T")
Progress = Callable[[str, int, int], None]  # (stage, done, total); may be called from any thread
PROCESS_THRESHOLD = 2000  # files to read before worker processes pay for their start-up
PROCESS_CHUNK = 250
THREADS = 4  # reading a few files is waiting for the disk
ORPHAN_CHECK_SECONDS = 0.5  # how often a worker's watchdog looks whether its parent is alive
_PR_SET_PDEATHSIG = 1
_worker_tokenizer: Tokenizer | None = None

Read = tuple[list[Record], list[Skipped]]  # one file's articles and what was skipped in it


def end_with_parent(parent: int) -> None:
    """In a worker process, first thing (the pool's initializer): end when ``parent`` dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the kernel was told
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="orphan-watchdog", daemon=True).start()


def _watch_parent(parent: int) -> None:
    """A worker's watchdog: once orphaned (adopted by another process), exit at once."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)


def read_and_tokenize(sources: list[SourceFile], spec: TokenizerSpec) -> list[Read]:
    """In a worker process: read, parse and tokenize a chunk of files."""
    global _worker_tokenizer
    if _worker_tokenizer is None or _worker_tokenizer.spec != spec:
        _worker_tokenizer = Tokenizer(spec)
    out = []
    for source in sources:
        records, skipped = read(source)
        for rec in records:
            texts = [rec.article.title, *rec.article.paragraphs]
            rec.terms = ["\x00".join(t) for t in _worker_tokenizer.tokens_many(texts)]
        out.append((records, skipped))
    return out


@dataclass(slots=True)
class Reading:
    """What reading the files gave: each file with its articles, in the order given, and the problems."""

    records: list[tuple[SourceFile, list[Record]]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # files (or lines) that were not read
    warnings: list[Skipped] = field(default_factory=list)  # articles read despite a problem


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def read_all(to_read: list[SourceFile], spec: TokenizerSpec, progress: Progress) -> Reading:
    """Read and parse ``to_read`` (blocking: run it on a thread). In worker processes, which
    tokenize too, when there are at least ``PROCESS_THRESHOLD`` files and more than one core."""
    progress("parse", 0, len(to_read))
    with contextlib.closing(_stream(to_read, spec)) as results:
        return collect(to_read, results, progress)


def read_parts(
    to_read: list[SourceFile], spec: TokenizerSpec, progress: Progress, size: int
) -> Generator[Reading, None, None]:
    """:func:`read_all` a part at a time: a :class:`Reading` of each ``size`` files of ``to_read`` in
    turn (a cluster's coordinator hands each part on to the shards before it reads the next)."""
    total = len(to_read)
    progress("parse", 0, total)
    with contextlib.closing(_stream(to_read, spec)) as results:
        for lo in range(0, total, size):
            part = to_read[lo : lo + size]
            yield collect(part, itertools.islice(results, len(part)), progress, lo, total)


def collect(
    to_read: list[SourceFile],
    results: Iterable[Read],
    progress: Progress,
    before: int = 0,
    total: int | None = None,
) -> Reading:
    """Each file's :data:`Read`, in the order of ``to_read``, as one :class:`Reading`; progress is told
    of ``before`` files read earlier, of ``total`` (default: these)."""
    out = Reading()
    total = len(to_read) if total is None else total
    for done, (src, (records, skipped)) in enumerate(zip(to_read, results, strict=True), start=before + 1):
        out.records.append((src, records))
        out.skipped.extend(skipped)
        for rec in records:
            for w in rec.article.warnings:
                out.warnings.append(Skipped(str(Path(src.root) / rec.rel), w))
        if done % 200 == 0 or done == total:
            progress("parse", done, total)
    return out


def _stream(to_read: list[SourceFile], spec: TokenizerSpec) -> Generator[Read, None, None]:
    """Each file's :data:`Read`, in order: in worker processes, which tokenize too, when there are at
    least ``PROCESS_THRESHOLD`` files and more than one core; else on threads."""
    n_cores = cores()
    if len(to_read) >= PROCESS_THRESHOLD and n_cores > 1:
        return _in_processes(to_read, spec, n_cores)
    return _in_threads(to_read)


def _in_order(pool: Executor, fn: Callable[..., T], items: list[Any], *more: Any) -> Generator[T, None, None]:
    """``pool.map(fn, items, *more)``, but with at most twice the pool's workers' calls ahead of the
    result taken last (``map`` would read everything ahead, holding it all until taken)."""
    ahead = 2 * getattr(pool, "_max_workers", 1)
    waiting: collections.deque[Future[T]] = collections.deque()
    for args in zip(items, *more, strict=True):
        waiting.append(pool.submit(fn, *args))
        if len(waiting) >= ahead:
            yield waiting.popleft().result()
    while waiting:
        yield waiting.popleft().result()


def _in_threads(sources: list[SourceFile]) -> Generator[Read, None, None]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        yield from _in_order(pool, read, sources)


def _in_processes(
    to_read: list[SourceFile], spec: TokenizerSpec, n_cores: int
) -> Generator[Read, None, None]:
    chunks = [to_read[i : i + PROCESS_CHUNK] for i in range(0, len(to_read), PROCESS_CHUNK)]
    done = 0
    try:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs threads
        with ProcessPoolExecutor(
            max_workers=n_cores, mp_context=context, initializer=end_with_parent, initargs=(os.getpid(),)
        ) as pool:
            for chunk in _in_order(pool, read_and_tokenize, chunks, [spec] * len(chunks)):
                for item in chunk:
                    yield item
                    done += 1
    except BrokenProcessPool:
        # workers could not start (e.g. a script without a main guard): finish on threads
        yield from _in_threads(to_read[done:])
