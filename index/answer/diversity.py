"""Which ranked passages an answer shows, so that its passages are different things.

- At most ``cap`` passages from one article.
- A further passage from an article already shown has to earn its place: its score counts
  ``repeat_factor`` times as much (squared for a third, …), so a passage from another story that
  scores nearly as well comes first.
- A passage that nearly repeats (by its words) a passage already shown from another article, as
  agencies' copies and newsletters' summaries do, is left out.

Passages are offered in rank order; the picker holds back repeats until a better-scoring or
equal passage would otherwise come after them. So that pages of an answer are slices of one list,
the held-back repeats are only let go at the end when the ranking offered was complete.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Row = TypeVar("Row")  # what a pick carries along (the paragraph's row)

NEAR_DUPLICATE = 0.6  # Jaccard similarity of two passages' word sets


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(slots=True)
class Pick(Generic[Row]):
    article: int
    row: Row
    score: float
    words: set[str]


@dataclass
class Picker(Generic[Row]):
    want: int  # stop once this many passages are chosen
    cap: int = 2
    repeat_factor: float = 0.85
    chosen: list[Pick[Row]] = field(default_factory=list)
    _counts: dict[int, int] = field(default_factory=dict)  # chosen or held back, per article
    _held: list[tuple[float, int, Pick[Row]]] = field(default_factory=list)  # (-effective score, order, pick)
    _order: int = 0

    @property
    def full(self) -> bool:
        return len(self.chosen) >= self.want

    def room_for(self, article: int) -> bool:
        """Whether a passage of this article could still be shown."""
        return self._counts.get(article, 0) < self.cap

    def offer(self, pick: Pick[Row]) -> None:
        """The next passage in rank order (scores never increase from one offer to the next)."""
        n = self._counts.get(pick.article, 0)
        if n >= self.cap or self.full:
            return
        self._counts[pick.article] = n + 1
        if n == 0:
            self._release(pick.score)
            self._choose(pick)
            return
        effective = pick.score - (1.0 - self.repeat_factor**n) * abs(pick.score)
        self._order += 1
        heapq.heappush(self._held, (-effective, self._order, pick))

    def finish(self, everything: bool = True, cut: float = float("-inf")) -> list[Pick[Row]]:
        """The chosen passages, in the order shown.

        ``everything``: every passage there is has been offered, so the held-back repeats may
        follow. Otherwise the ranking was cut at score ``cut``: held-back repeats that still score
        at least that follow, the others stay back (a passage not offered yet might come before
        them), and the list may be short: offer more, from a longer ranking.
        """
        self._release(float("-inf") if everything else cut)
        return self.chosen

    def _release(self, score: float) -> None:
        """Choose the held-back repeats that score at least ``score`` once discounted."""
        while self._held and -self._held[0][0] >= score and not self.full:
            self._choose(heapq.heappop(self._held)[2])

    def _choose(self, pick: Pick[Row]) -> None:
        if self.full:
            return
        if any(
            c.article != pick.article and jaccard(pick.words, c.words) >= NEAR_DUPLICATE for c in self.chosen
        ):
            self._counts[pick.article] -= 1
            return
        self.chosen.append(pick)
