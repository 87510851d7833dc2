"""What an answer is read from: one generation and its store, or every shard of a cluster.

Answering asks three things of it: how many paragraphs and titles hold each word (to leave out the
words the index does not hold, and to suggest spellings), the ranking of a question's words as
passages, and the rows of the passages it shows. :class:`GenerationSource` answers them from one
generation; ``newsbot.index.cluster`` from its shards, with the same results.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from newsbot.index.answer import notes
from newsbot.index.generation import Generation
from newsbot.index.layout import FLAG_HEADLINE
from newsbot.index.ranking.search import RankParams, Window, rank
from newsbot.index.store.queries import Lookups, ParagraphKey, ParagraphRow


@dataclass(frozen=True, slots=True)
class Passage:
    """One ranked passage: its article (as ``paragraph_rows`` knows it) and place, its score, and
    whether its article is a video page (shown once, by its headline)."""

    article: int
    position: int
    score: float
    headline: bool


class Source(Protocol):
    def expect(self, terms: list[str], window: Window, params: RankParams, limit: int, rows: int) -> None:
        """The question's ``terms`` (all of them), and how it will likely be ranked next (``rank`` of
        the terms some paragraph or title holds) and how many of the best passages' rows it will
        want first: a source far from its data may fetch it all in one go."""
        ...

    async def term_use(self, terms: list[str]) -> dict[str, int]:
        """How many paragraphs and titles hold each of ``terms`` (those the vocabulary knows)."""
        ...

    async def rank(self, terms: list[str], window: Window, params: RankParams, limit: int) -> list[Passage]:
        """The best ``limit`` passages for the question's ``terms`` (known ones, repeats kept), best first."""
        ...

    async def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]: ...

    def gap(self) -> str | None:
        """What part of the archive could not be read for this question, said for users (None: none)."""
        ...


class GenerationSource:
    """A :class:`Source` over one generation and the store it was built from."""

    def __init__(self, gen: Generation, lookups: Lookups) -> None:
        self.gen = gen
        self.lookups = lookups
        self._ids: dict[str, int] = {}

    def expect(self, terms: list[str], window: Window, params: RankParams, limit: int, rows: int) -> None:
        return None  # its data is at hand

    async def term_use(self, terms: list[str]) -> dict[str, int]:
        ids = await self.lookups.term_ids(terms)
        self._ids.update(ids)
        return notes.term_use(self.gen, ids)

    async def rank(self, terms: list[str], window: Window, params: RankParams, limit: int) -> list[Passage]:
        missing = [t for t in dict.fromkeys(terms) if t not in self._ids]
        if missing:
            self._ids.update(await self.lookups.term_ids(missing))
        ids = [self._ids[t] for t in terms if t in self._ids]
        ranked = await asyncio.to_thread(rank, self.gen, ids, window, params, limit)
        return passages(self.gen, ranked)

    async def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]:
        return await self.lookups.paragraph_rows(keys)

    def gap(self) -> str | None:
        return None  # one generation: all of it is here


def passages(gen: Generation, ranked: list[tuple[int, float]]) -> list[Passage]:
    """``ranked`` (paragraph numbers of ``gen``, scores) as passages, from the arrays in memory."""
    paras = np.array([p for p, _ in ranked], dtype=np.int64)
    articles = np.asarray(gen.para_article)[paras]
    firsts = np.asarray(gen.art_start)[articles]
    heads = (np.asarray(gen.para_flags)[firsts] & FLAG_HEADLINE) != 0
    ids = np.asarray(gen.art_ids)[articles].tolist()
    places = (paras - firsts).tolist()
    return [
        Passage(a, pos, score, h)
        for (_, score), a, pos, h in zip(ranked, ids, places, heads.tolist(), strict=True)
    ]
