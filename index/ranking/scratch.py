"""Work buffers for ranking, reused across questions: one set per question being ranked at once.

A set holds score arrays as long as the index (10 MB each at a million paragraphs). Keeping one per
thread would hold a set for every worker thread that ever ranked; a pool holds as many as ran at
the same time, usually one. Every user returns the buffers as it found them: scores and marks
zero.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from newsbot.index.generation import Generation

MAX_TERMS = 32  # distinct words the pruned ranking takes; a longer question is ranked exhaustively


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
    # the pruned ranking's, per block of paragraphs (pruned.py)
    state: npt.NDArray[np.uint8]  # bits: see pruned.py
    bound: npt.NDArray[np.float64]  # the sum of the words' bounds (by block)
    blocks: npt.NDArray[np.int64]  # the blocks holding the question's words, in the order found
    # the entries found, in the order found (position p: by word, then block), and grouped by block:
    # block b's are grouped[first[b]:first[b] + count[b]], by word
    grouped: npt.NDArray[np.int64]
    first: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]
    found_block: npt.NDArray[np.int64]
    found_word: npt.NDArray[np.int64]  # the question word's position in the query
    found_entry: npt.NDArray[np.int64]  # the entry
    found_body: npt.NDArray[np.int64]  # where the block's paragraph postings of the word start
    found_row: npt.NDArray[np.int64]  # the article cursor there: row block …
    found_art: npt.NDArray[np.int64]  # … and posting

    @classmethod
    def new(cls, n_paragraphs: int, n_articles: int, n_blocks: int = 1) -> Scratch:
        slots = n_blocks * MAX_TERMS
        return cls(
            body=np.zeros(n_paragraphs, dtype=np.float64),
            titles=np.zeros(n_articles, dtype=np.float64),
            whole=np.zeros(n_articles, dtype=np.float64),
            touched=np.empty(n_paragraphs, dtype=np.int32),
            t_touched=np.empty(n_articles, dtype=np.int32),
            a_touched=np.empty(n_articles, dtype=np.int32),
            mark=np.zeros(n_paragraphs, dtype=np.uint8),
            coarse=np.empty(n_paragraphs, dtype=np.float64),
            state=np.zeros(n_blocks, dtype=np.uint8),
            bound=np.empty(n_blocks, dtype=np.float64),
            blocks=np.empty(n_blocks, dtype=np.int64),
            grouped=np.empty(slots, dtype=np.int64),
            first=np.empty(n_blocks, dtype=np.int64),
            count=np.empty(n_blocks, dtype=np.int64),
            found_block=np.empty(slots, dtype=np.int64),
            found_word=np.empty(slots, dtype=np.int64),
            found_entry=np.empty(slots, dtype=np.int64),
            found_body=np.empty(slots, dtype=np.int64),
            found_row=np.empty(slots, dtype=np.int64),
            found_art=np.empty(slots, dtype=np.int64),
        )

    @property
    def sizes(self) -> tuple[int, int, int]:
        return len(self.body), len(self.titles), len(self.state)


_free: list[Scratch] = []
_lock = threading.Lock()


@contextmanager
def take(n_paragraphs: int, n_articles: int, n_blocks: int = 1) -> Iterator[Scratch]:
    """A set of buffers for these sizes, back in the pool afterwards.

    Sets of other sizes (an older generation's) are dropped; a set whose user raised is dropped
    too, since it may not have been cleaned.
    """
    sizes = (n_paragraphs, n_articles, n_blocks)
    with _lock:
        _free[:] = [s for s in _free if s.sizes == sizes]
        scratch = _free.pop() if _free else None
    if scratch is None:
        scratch = Scratch.new(n_paragraphs, n_articles, n_blocks)
    yield scratch  # an exception propagates from here and the set is not returned
    with _lock:
        _free.append(scratch)


def take_for(gen: Generation) -> AbstractContextManager[Scratch]:
    """A set of buffers for ranking ``gen`` (see :func:`take`)."""
    block = int(gen.info.get("prune_block", 0)) if gen.has_bounds else 0
    n_blocks = max(1, -(-gen.n_paragraphs // block)) if block > 0 else 1
    return take(gen.n_paragraphs, gen.n_articles, n_blocks)
