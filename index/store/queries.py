"""The queries that answering reads with: term ids, paragraphs with their citation, the latest
stories, and the counts of ``stats``.

Answering needs only :class:`Lookups` (term ids and paragraph rows), so that composing an answer
can be tested with rows held in memory; :class:`Queries` is that on a real :class:`Store`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from newsbot.index.model import Stats, Story
from newsbot.index.store import stories
from newsbot.index.store.database import Store

ROWS_AT_ONCE = 200  # paragraph rows fetched by one query

ParagraphKey = tuple[int, int]
"""A paragraph by (article id, position): what the ranking's arrays know of it."""


@dataclass(frozen=True, slots=True)
class ParagraphRow:
    """A stored paragraph with its article's citation (``path``: the article's first file)."""

    id: int
    position: int | None  # None: the paragraph stands for its article (shown as the headline)
    text: str
    article_id: int
    title: str
    date: str | None  # ISO
    source: str | None
    url: str | None
    path: str | None


def term_ids_query(terms: list[str]) -> tuple[str, list[str]]:
    """The query of :meth:`Queries.term_ids` (no parameters: nothing to ask)."""
    unique = sorted(set(terms))
    return f"SELECT term, id FROM terms WHERE term IN ({','.join('?' * len(unique))})", unique


def paragraph_rows_queries(keys: list[ParagraphKey]) -> list[tuple[str, list[int]]]:
    """The queries of :meth:`Queries.paragraph_rows`, whose rows ``paragraph_rows_of`` reads."""
    out = []
    # an OR of pairs is looked up in the (article_id, position) index (a row-value IN scans
    # it); SQLite allows expressions about 1,000 deep, so at most ROWS_AT_ONCE pairs a query
    for lo in range(0, len(keys), ROWS_AT_ONCE):
        part = keys[lo : lo + ROWS_AT_ONCE]
        where = " OR ".join(["(p.article_id = ? AND p.position = ?)"] * len(part))
        sql = (
            "SELECT p.id, p.position, p.text, a.id, a.title, a.date, a.source, a.url,"
            " (SELECT rel FROM files f WHERE f.article_id = a.id ORDER BY rel LIMIT 1)"
            f" FROM paragraphs p JOIN articles a ON a.id = p.article_id WHERE {where}"
        )
        out.append((sql, [v for key in part for v in key]))
    return out


def paragraph_rows_of(rows: Iterable[Sequence[Any]]) -> dict[ParagraphKey, ParagraphRow]:
    out: dict[ParagraphKey, ParagraphRow] = {}
    for r in rows:
        article, position = int(r[3]), int(r[1])
        out[article, position] = ParagraphRow(
            id=int(r[0]),
            position=position,
            text=str(r[2]),
            article_id=article,
            title=str(r[4]),
            date=str(r[5]) if r[5] else None,
            source=r[6] if isinstance(r[6], str) else None,
            url=r[7] if isinstance(r[7], str) else None,
            path=str(r[8]) if r[8] else None,
        )
    return out


class Rows(Protocol):
    """What composing an answer reads: the rows of the passages shown."""

    async def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]: ...


class Lookups(Rows, Protocol):
    """What answering reads from one store."""

    async def term_ids(self, terms: list[str]) -> dict[str, int]: ...


class Queries:
    """The read queries of answering, ``latest`` and ``stats`` on one connection."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def term_ids(self, terms: list[str]) -> dict[str, int]:
        """The ids of those of ``terms`` the vocabulary holds (it keeps words of articles long gone)."""
        sql, params = term_ids_query(terms)
        return {t: int(i) for t, i in await self.store.rows(sql, params)} if params else {}

    async def paragraph_rows(self, keys: list[ParagraphKey]) -> dict[ParagraphKey, ParagraphRow]:
        """Paragraph rows with their article's citation, by (article id, position); absent keys
        (removed by a reindex since) have no row."""
        out: dict[ParagraphKey, ParagraphRow] = {}
        for sql, params in paragraph_rows_queries(keys):
            out.update(paragraph_rows_of(await self.store.rows(sql, params)))
        return out

    async def latest(
        self, n: int, *, until: dt.date, since: dt.date | None = None, article_ids: list[int] | None = None
    ) -> list[Story]:
        """The ``n`` newest stories dated up to ``until`` (undated ones last), from ``since`` on,
        and among ``article_ids`` when given."""
        where = ["1 = 1"]
        params: list[object] = []
        if since:
            where.append("a.date >= ?")
            params.append(since.isoformat())
        where.append("(a.date IS NULL OR a.date <= ?)")
        params.append(until.isoformat())
        if article_ids is not None:
            where.append(f"a.id IN ({','.join('?' * len(article_ids))})")
            params.extend(article_ids)
        rows = await self.store.rows(
            f"{stories.SELECT} WHERE {' AND '.join(where)}"
            f" ORDER BY a.date IS NULL, a.date DESC, {stories.KEY} DESC LIMIT ?",
            [*params, n],
        )
        return [stories.story(r) for r in rows]

    async def stats(self, generation: int) -> Stats:
        """What is stored and how questions went (``generation``: the one being served)."""
        s = self.store
        newest = await s.scalar("SELECT max(date) FROM articles")
        built = await s.get_meta("built_at")
        top = await s.rows(
            "SELECT question, count(*) AS n FROM questions WHERE hits = 0"
            " GROUP BY lower(question) ORDER BY n DESC, max(id) DESC LIMIT 5"
        )
        return Stats(
            articles=int(await s.scalar("SELECT count(*) FROM articles")),
            paragraphs=int(await s.scalar("SELECT count(*) FROM paragraphs")),
            newest=dt.date.fromisoformat(newest) if newest else None,
            built_at=_moment(built),
            generation=generation,
            questions=int(await s.scalar("SELECT count(*) FROM questions")),
            unanswered=int(await s.scalar("SELECT count(*) FROM questions WHERE hits = 0")),
            top_unanswered=tuple((str(q), int(c)) for q, c in top),
            feedback_up=int(await s.scalar("SELECT count(*) FROM feedback WHERE value = 1")),
            feedback_down=int(await s.scalar("SELECT count(*) FROM feedback WHERE value = -1")),
        )


def _moment(text: str | None) -> dt.datetime | None:
    """``meta.built_at`` (None if unset, or not a time: stats still show the rest)."""
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
