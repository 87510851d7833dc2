"""One page of an answer, from a ranking: which passages to show, their citations and excerpts.

Passages are chosen in rank order by :mod:`~newsbot.index.answer.diversity` (a few per article, no
near-copies). Their rows are fetched a few at a time, in rank order, until the page is full: most
answers need only the first batch. Any paragraph of a page that holds nothing but junk (a video
page: its first paragraph is flagged as the headline) stands for the whole page, shown once.

Everything here reads the store only through :class:`~newsbot.index.store.queries.Rows`, so a
page can be composed from rows held in memory.

The work on a paragraph's text is bounded: a paragraph longer than
:data:`~newsbot.index.answer.excerpt.LONG_PARAGRAPH` characters is compared by the words of its first
chunk, and excerpted from one chunk of it. Rows longer than :data:`INLINE_CHARS` are read in a
worker thread, so that the event loop is never held for long.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from newsbot.index.answer.dates import DateQuery
from newsbot.index.answer.diversity import Pick, Picker
from newsbot.index.answer.excerpt import head, make_excerpt
from newsbot.index.answer.source import Passage
from newsbot.index.config import AnswerSettings
from newsbot.index.model import Excerpt, Hit
from newsbot.index.ranking.search import Window
from newsbot.index.store.queries import ParagraphRow, Rows
from newsbot.index.tokenizer import Tokenizer

_T = TypeVar("_T")

INLINE_CHARS = 20_000  # rows of a batch are read on the event loop when none is longer than this


@dataclass(frozen=True, slots=True)
class Page:
    """The passages shown; whether the ranking holds more; whether the page is settled (else rank
    further down and compose again)."""

    hits: list[Hit]
    more: bool
    complete: bool


def search_window(
    dates: DateQuery, as_of: dt.date | None, today: dt.date, slack_days: float, *, numbers: bool = False
) -> Window:
    """How the dates of a question limit the search (and ``numbers``: whether it asks for one).

    Phrases that set a search range ("since October", "before 2021-03-01", "in the last 2 weeks")
    filter; phrases that say when something happened ("this week", "on Monday", "in 2020") only
    prefer articles from then, widened by ``slack_days`` on each side, because news about an
    event is often published days later (and about a year, the year after). Articles dated after
    ``as_of`` are never seen.
    """
    hard = dates.ranged
    since, until = (dates.since, dates.until) if hard else (None, None)
    if as_of is not None:
        until = min(until, as_of) if until else as_of
    prefer: tuple[dt.date, dt.date] | None = None
    if not hard and dates.narrows:
        slack = dt.timedelta(days=slack_days)
        prefer = (_shift(dates.since or dt.date.min, -slack), _shift(dates.until or dt.date.max, slack))
    return Window(since=since, until=until, now=until or today, prefer=prefer, numbers=numbers)


def _shift(day: dt.date, by: dt.timedelta) -> dt.date:
    """``day + by``, held within the calendar (questions may be asked as of its first or last day)."""
    try:
        return day + by
    except OverflowError:
        return dt.date.min if by < dt.timedelta(0) else dt.date.max


def batch_size(offset: int, k: int) -> int:
    """How many of the ranking's passages a page's rows are fetched for at a time."""
    return max(12, 2 * (offset + k + 1))


async def compose(
    ranked: list[Passage],
    terms: set[str],
    *,
    offset: int,
    k: int,
    everything: bool,
    lookups: Rows,
    tokenizer: Tokenizer,
    settings: AnswerSettings,
) -> Page:
    """Choose the passages of ranks ``offset + 1 ..`` ``offset + k``, then fetch, cite and excerpt them.

    ``ranked``: the ranking, best first; ``terms``: the question's terms the index knows;
    ``everything``: ``ranked`` is the whole ranking.
    """
    picker: Picker[ParagraphRow] = Picker(
        want=offset + k + 1, cap=settings.per_article, repeat_factor=settings.repeat_factor
    )
    batch = batch_size(offset, k)
    video_pages: set[int] = set()  # shown once, by their first paragraph (the headline)
    for lo in range(0, len(ranked), batch):
        if picker.full:
            break
        part = [c for c in _candidates(ranked[lo : lo + batch], video_pages) if picker.room_for(c.article)]
        rows = await lookups.paragraph_rows([(c.article, c.position) for c in part])
        found = [(c, row) for c in part if (row := rows.get((c.article, c.position))) is not None]
        # (a row missing was removed by a reindex since this generation was built)
        for c, row in found:
            if picker.full:
                break
            if not picker.room_for(c.article):  # its article filled up earlier in this batch
                continue
            # read only the rows offered: most answers fill their page from the first few
            offered, words = await _off_loop([row.text], functools.partial(_read, c, row, terms, tokenizer))
            picker.offer(Pick(offered.article_id, offered, c.score, words))
    chosen = picker.finish(everything, cut=ranked[-1].score)
    if not picker.full and not everything:
        return Page([], more=False, complete=False)
    shown = chosen[offset : offset + k]
    excerpts = await _off_loop(
        [p.row.text for p in shown],
        lambda: [make_excerpt(p.row.text, terms, tokenizer, settings.excerpt_chars) for p in shown],
    )
    hits = [
        to_hit(rank_no, pick.score, pick.row, excerpt)
        for rank_no, (pick, excerpt) in enumerate(zip(shown, excerpts, strict=True), start=offset + 1)
    ]
    return Page(hits, more=len(chosen) > offset + k, complete=True)


def _read(
    c: Passage, row: ParagraphRow, terms: set[str], tokenizer: Tokenizer
) -> tuple[ParagraphRow, set[str]]:
    """The row as shown (a video page's as its headline) and the words it is compared by."""
    shown = headline(row, terms, tokenizer) if c.headline else row
    return shown, word_set(shown.text, tokenizer)


async def _off_loop(texts: Sequence[str], work: Callable[[], _T]) -> _T:
    """``work()``, in a worker thread when any of ``texts`` is long (else at once, on the loop)."""
    if any(len(t) > INLINE_CHARS for t in texts):
        return await asyncio.to_thread(work)
    return work()


def word_set(text: str, tokenizer: Tokenizer) -> set[str]:
    """The terms of ``text`` (of its beginning, if it is long) that passages are compared by."""
    return set(tokenizer.tokens(head(text)))


def _candidates(window: list[Passage], video_pages: set[int]) -> list[Passage]:
    """The passages of ``window``; of a video page only its first paragraph, once (``video_pages``:
    the pages seen so far)."""
    out = []
    for p in window:
        if p.headline:  # any paragraph of a video page stands for the page, and its rest is junk
            if p.article in video_pages:
                continue
            video_pages.add(p.article)
            p = dataclasses.replace(p, position=0)
        out.append(p)
    return out


def headline(row: ParagraphRow, terms: set[str], tokenizer: Tokenizer) -> ParagraphRow:
    """The first paragraph of an article with nothing but junk (a video page) is shown as the
    article's headline, unless only the paragraph's own words match the question."""
    if not word_set(row.title, tokenizer) & terms and word_set(row.text, tokenizer) & terms:
        return row
    return dataclasses.replace(row, text=row.title, position=None)


def to_hit(rank_no: int, score: float, row: ParagraphRow, excerpt: Excerpt) -> Hit:
    return Hit(
        rank=rank_no,
        score=score,
        path=row.path or "",
        paragraph=row.position,
        title=row.title,
        date=dt.date.fromisoformat(row.date) if row.date else None,
        source=row.source,
        url=row.url,
        text=row.text,
        excerpt=excerpt,
        article_id=row.article_id,
        paragraph_id=row.id,
    )
