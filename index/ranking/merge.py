"""The global cuts over every shard's candidates (``shard.py``): the ranking one index of all the
articles would give.

One index keeps the best ``PRESELECT`` paragraphs by coarse score and the paragraphs of the best
``TITLE_ARTICLES`` title matches, and ranks those by the final score, ties always to the lower
paragraph (or article) number. Each shard sends a superset of what it holds of those, with their
scores and their keys in the order of paragraph numbers, so taking the same cuts here over the union
gives the same paragraphs, scores and order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsbot.index.ranking.params import PRESELECT, TITLE_ARTICLES
from newsbot.index.ranking.shard import Candidates


@dataclass(frozen=True, slots=True)
class Merged:
    """The ranking, best first: each passage's shard, and its row in that shard's candidates."""

    shard: np.ndarray  # int64
    row: np.ndarray  # int64
    score: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.score)


def merge(
    parts: Sequence[Candidates],
    limit: int,
    *,
    preselect: int = PRESELECT,
    title_articles: int = TITLE_ARTICLES,
) -> Merged:
    """The best ``limit`` candidates of all ``parts`` (one per shard), as one index ranks them."""
    none = [np.zeros(0, dtype=np.int64)]
    shard = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(parts)] or none)
    row = np.concatenate([np.arange(len(p), dtype=np.int64) for p in parts] or none)

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts]) if parts else np.empty(0)

    final, coarse, day, key, position = (joined(n) for n in ("final", "coarse", "day", "key", "position"))
    chosen = np.zeros(len(final), dtype=bool)
    ties = (day, key, position)
    bodied = np.flatnonzero(np.isfinite(coarse))
    chosen[bodied[_best(coarse[bodied], [t[bodied] for t in ties], preselect)]] = True
    t_day, t_key, t_score = (joined(n) for n in ("titled_day", "titled_key", "titled_score"))
    best = np.lexsort((t_key, t_day, -t_score))[:title_articles]
    if len(best):
        chosen |= _of_articles(day, key, t_day[best], t_key[best])
    pick = np.flatnonzero(chosen)
    pick = pick[_best(final[pick], [t[pick] for t in ties], limit)]
    return Merged(shard[pick], row[pick], final[pick].astype(np.float64))


def _best(values: np.ndarray, ties: list[np.ndarray], m: int) -> np.ndarray:
    """Indices of the ``m`` highest ``values``, best first, ties in the order of ``ties`` (day, key,
    position): the values below the m-th highest are dropped before the sort."""
    n = len(values)
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    near = np.flatnonzero(values >= np.partition(values, n - m)[n - m]) if n > m else np.arange(n)
    day, key, position = (t[near] for t in ties)
    return near[np.lexsort((position, key, day, -values[near]))[:m]]


def _of_articles(day: np.ndarray, key: np.ndarray, days: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each row's article, (day, key), is one of the articles (days, keys)."""
    hit = np.isin(key, keys)
    rows = np.flatnonzero(hit)  # a few hundred at most: the paragraphs of the best title matches
    if len(rows):
        wanted = set(zip(days.tolist(), keys.tolist(), strict=True))
        pairs = zip(day[rows].tolist(), key[rows].tolist(), strict=True)
        hit[rows] = [(d, k) in wanted for d, k in pairs]
    return hit
