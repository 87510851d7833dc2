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
from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class Scratch(NamedTuple):
    """One set of buffers for one generation's sizes (pages are only paid for once touched).

    A named tuple, so that the kernels take it as one argument.
    """

    body: npt.NDArray[np.float64]  # per paragraph: the question's BM25 (0: not touched)
    titles: npt.NDArray[np.float64]  # per article: its title's BM25
    whole: npt.NDArray[np.float64]  # per article: the whole article's BM25
    touched: npt.NDArray[np.int32]  # paragraph numbers, in the order first touched
    t_touched: npt.NDArray[np.int32]  # article numbers (titles)
    a_touched: npt.NDArray[np.int32]  # article numbers (whole articles)
    mark: npt.NDArray[np.uint8]  # per paragraph: 1 while it is a candidate
    coarse: npt.NDArray[np.float64]  # per touched paragraph: the preselection's score

    @classmethod
    def new(cls, n_paragraphs: int, n_articles: int) -> Scratch:
        return cls(
            body=np.zeros(n_paragraphs, dtype=np.float64),
            titles=np.zeros(n_articles, dtype=np.float64),
            whole=np.zeros(n_articles, dtype=np.float64),
            touched=np.empty(n_paragraphs, dtype=np.int32),
            t_touched=np.empty(n_articles, dtype=np.int32),
            a_touched=np.empty(n_articles, dtype=np.int32),
            mark=np.zeros(n_paragraphs, dtype=np.uint8),
            coarse=np.empty(n_paragraphs, dtype=np.float64),
        )

    @property
    def sizes(self) -> tuple[int, int]:
        return len(self.body), len(self.titles)


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
        scratch = Scratch.new(n_paragraphs, n_articles)
    yield scratch  # an exception propagates from here and the set is not returned
    with _lock:
        _free.append(scratch)
