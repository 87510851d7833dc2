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
    bodied = np.flatnonzero(np.isfinite(coarse))
    order = np.lexsort((position[bodied], key[bodied], day[bodied], -coarse[bodied]))
    chosen[bodied[order[:preselect]]] = True
    t_day, t_key, t_score = (joined(n) for n in ("titled_day", "titled_key", "titled_score"))
    best = np.lexsort((t_key, t_day, -t_score))[:title_articles]
    if len(best):
        titled = {(int(d), int(k)) for d, k in zip(t_day[best].tolist(), t_key[best].tolist(), strict=True)}
        pairs = zip(day.tolist(), key.tolist(), strict=True)
        chosen |= np.fromiter(((d, k) in titled for d, k in pairs), dtype=bool, count=len(final))
    pick = np.flatnonzero(chosen)
    order = np.lexsort((position[pick], key[pick], day[pick], -final[pick]))[:limit]
    pick = pick[order]
    return Merged(shard[pick], row[pick], final[pick].astype(np.float64))
