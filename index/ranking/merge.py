"""The global cuts over every shard's candidates (``shard.py``): the ranking one index of all the
articles would give.

One index keeps the best ``PRESELECT`` paragraphs by coarse score and the paragraphs of the best
``TITLE_ARTICLES`` title matches, and ranks those by the final score, ties always to the lower
paragraph (or article) number. Each shard sends a superset of what it holds of those, with their
scores and their keys in the order of paragraph numbers, so taking the same cuts here over the union
gives the same paragraphs, scores and order.

A shard sends its best :func:`kept` by coarse score, not ``PRESELECT``: the preselection's
paragraphs are spread over the shards by their text's hash, about ``PRESELECT / shards`` each, and a
shard that sends fewer scores fewer. When every one a shard sent made the global cut, that cut may
want more of them: :attr:`Merged.short` names such shards, which are asked again for their full
``PRESELECT`` before the merge is taken again. The answer is the same either way.
"""

from __future__ import annotations

import math
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
    short: tuple[int, ...] = ()  # shards to ask for their full preselection (then merge again)

    def __len__(self) -> int:
        return len(self.score)


def kept(shards: int, preselect: int = PRESELECT) -> int:
    """How many paragraphs by coarse score each of ``shards`` shards sends: twice its share of the
    global preselection, and a few more. An article's paragraphs all live on one shard, so a shard's
    count of the global cut varies more than a coin's (``bench/cluster.py --profile`` counts the
    shards asked again: "candidates" calls per answer)."""
    return min(preselect, math.ceil(2 * preselect / max(shards, 1)) + 32)


def merge(
    parts: Sequence[Candidates],
    limit: int,
    *,
    preselect: int = PRESELECT,
    title_articles: int = TITLE_ARTICLES,
    cut: Sequence[int] = (),
) -> Merged:
    """The best ``limit`` candidates of all ``parts`` (one per shard), as one index ranks them.
    ``cut``: the preselection each part was cut at, where less than ``preselect`` (see the module
    docstring); a part cut short is named in ``short`` and the ranking must not be used."""
    none = [np.zeros(0, dtype=np.int64)]
    shard = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(parts)] or none)
    row = np.concatenate([np.arange(len(p), dtype=np.int64) for p in parts] or none)

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts]) if parts else np.empty(0)

    final, coarse, day, key, position = (joined(n) for n in ("final", "coarse", "day", "key", "position"))
    chosen = np.zeros(len(final), dtype=bool)
    ties = (day, key, position)
    bodied = np.flatnonzero(np.isfinite(coarse))
    top = bodied[_best(coarse[bodied], [t[bodied] for t in ties], preselect)]
    chosen[top] = True
    short = _short(parts, shard[top], cut, preselect)
    t_day, t_key, t_score = (joined(n) for n in ("titled_day", "titled_key", "titled_score"))
    best = np.lexsort((t_key, t_day, -t_score))[:title_articles]
    if len(best):
        chosen |= _of_articles(day, key, t_day[best], t_key[best])
    pick = np.flatnonzero(chosen)
    pick = pick[_best(final[pick], [t[pick] for t in ties], limit)]
    return Merged(shard[pick], row[pick], final[pick].astype(np.float64), short)


def _short(
    parts: Sequence[Candidates], top_shards: np.ndarray, cut: Sequence[int], preselect: int
) -> tuple[int, ...]:
    """The parts cut below ``preselect`` whose every paragraph by coarse score made the global cut:
    their next ones, not sent, might have made it too."""
    if not cut:
        return ()
    made = np.bincount(top_shards, minlength=len(parts))
    sent = [int(np.isfinite(p.coarse).sum()) for p in parts]
    return tuple(i for i, k in enumerate(cut) if k < preselect and sent[i] >= k and made[i] == sent[i])


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
