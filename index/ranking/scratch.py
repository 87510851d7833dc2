"""Work buffers for ranking, reused across questions: one set per question being ranked at once.

A set holds score arrays as long as the index (10 MB each at a million paragraphs). Keeping one per
thread would hold a set for every worker thread that ever ranked; a pool holds as many as ran at
the same time, usually one. Every user returns the buffers as it found them: scores and marks
zero.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


class Scratch:
    """One set of buffers for one generation's sizes (pages are only paid for once touched)."""

    def __init__(self, n_paragraphs: int, n_articles: int) -> None:
        self.sizes = (n_paragraphs, n_articles)
        self.body = np.zeros(n_paragraphs, dtype=np.float64)
        self.titles = np.zeros(n_articles, dtype=np.float64)
        self.whole = np.zeros(n_articles, dtype=np.float64)
        self.a_touched = np.empty(n_articles, dtype=np.int32)
        self.touched = np.empty(n_paragraphs, dtype=np.int32)
        self.t_touched = np.empty(n_articles, dtype=np.int32)
        self.mark = np.zeros(n_paragraphs, dtype=np.uint8)
        self.coarse = np.empty(n_paragraphs, dtype=np.float64)


_free: list[Scratch] = []
_lock = threading.Lock()


@contextmanager
def take(n_paragraphs: int, n_articles: int) -> Iterator[Scratch]:
    """A set of buffers for these sizes, back in the pool afterwards.

    Sets of other sizes (an older generation's) are dropped; a set whose user raised is dropped
    too, since it may not have been cleaned.
    """
    sizes = (n_paragraphs, n_articles)
    with _lock:
        _free[:] = [s for s in _free if s.sizes == sizes]
        scratch = _free.pop() if _free else None
    if scratch is None:
        scratch = Scratch(n_paragraphs, n_articles)
    yield scratch  # an exception propagates from here and the set is not returned
    with _lock:
        _free.append(scratch)
