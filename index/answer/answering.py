"""From a question to an :class:`Answer`, on one generation: its dates, its words, the ranking, the
page of passages, and the note that says what was left out.

The dates a question names are read first and taken out of the words searched for; words the index
does not hold are left out of the search (and may earn a "did you mean"). The ranking is cut at a
generous depth and composed into a page; when a few articles filled that depth, it is ranked
deeper and composed again, so that every page of an answer is a slice of one list.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from dataclasses import dataclass

from newsbot.index.answer import notes
from newsbot.index.answer.answer_type import wants_number
from newsbot.index.answer.compose import Page, batch_size, compose, search_window
from newsbot.index.answer.dates import parse_date_range, strip_phrases
from newsbot.index.answer.source import Source
from newsbot.index.config import AnswerSettings
from newsbot.index.generation import Generation
from newsbot.index.model import Answer
from newsbot.index.ranking.search import RankParams, Window, article_matches
from newsbot.index.store.queries import Lookups
from newsbot.index.tokenizer import Tokenizer

MAX_QUESTION_CHARS = 2000  # the rest of a longer question is not read


@dataclass(frozen=True, slots=True)
class Context:
    """What answering reads with, and the settings it answers by."""

    tokenizer: Tokenizer
    settings: AnswerSettings
    ranking: RankParams


async def known_terms(source: Source, terms: list[str]) -> set[str]:
    """The terms that some paragraph or title holds (the vocabulary keeps the words of articles long
    gone)."""
    return {t for t, n in (await source.term_use(terms)).items() if n}


async def answer(
    ctx: Context, source: Source, question: str, *, k: int | None, as_of: dt.date | None, offset: int
) -> Answer:
    """The best ``k`` passages (default ``settings.passages``) for ``question``, skipping ``offset``;
    its note says when part of the archive could not be read."""
    out = await _answer(ctx, source, question, k=k, as_of=as_of, offset=offset)
    gap = source.gap()
    if gap:
        out = dataclasses.replace(out, note=f"{out.note} {gap}" if out.note else gap)
    return out


async def _answer(
    ctx: Context, source: Source, question: str, *, k: int | None, as_of: dt.date | None, offset: int
) -> Answer:
    a = ctx.settings
    k = max(1, min(k or a.passages, a.max_passages))
    offset = max(0, offset)
    text = question[:MAX_QUESTION_CHARS]
    today = as_of or dt.date.today()
    dates = parse_date_range(text, today)
    terms = ctx.tokenizer.tokens(strip_phrases(text, dates))
    if not terms:
        return Answer(question, as_of, (), note=notes.no_words(text))
    # nothing dated after "now" is seen: the as-of day, or today
    window = search_window(dates, today, today, ctx.ranking.date_slack_days, numbers=wants_number(text))
    # (a cluster ranks in the call that finds the words' use, and sends two batches of rows with it)
    source.expect(terms, window, ctx.ranking, first_limit(offset, k), 2 * batch_size(offset, k))
    known = await known_terms(source, terms)
    words = [t for t in terms if t in known]
    if not words:
        fixed = await notes.spellings(source, ctx.tokenizer, terms)
        unknown, suggestion = notes.unknown(text, ctx.tokenizer, fixed)
        return Answer(question, as_of, (), note=unknown, suggestion=suggestion)
    page = await _page(ctx, source, words, window, known, offset, k)
    if page is None:
        return Answer(question, as_of, (), note=notes.weak(dates, as_of))
    note: str | None = None
    respelt: str | None = None
    if not page.hits:  # the ranking held only passages an answer does not show (a video page's form)
        note = "No more passages for this question." if offset else notes.weak(dates, as_of)
    elif offset == 0 and (missing := [t for t in dict.fromkeys(terms) if t not in known]):
        fixed = await notes.spellings(source, ctx.tokenizer, missing, endings=False)
        note, respelt = notes.missing(text, ctx.tokenizer, fixed)
    return Answer(question, as_of, tuple(page.hits), note=note, has_more=page.more, suggestion=respelt)


def first_limit(offset: int, k: int) -> int:
    """How deep a page's passages are first ranked: deep enough that a page is rarely short of
    passages (near-duplicates collapsed, two per article). Ranking deeper costs next to nothing,
    ranking again costs it all."""
    return max(200, (offset + k) * 32)


async def _page(
    ctx: Context, source: Source, words: list[str], window: Window, terms: set[str], offset: int, k: int
) -> Page | None:
    """The settled page of passages for the question's known ``words``; None when nothing scores
    above ``settings.min_score``."""
    limit = first_limit(offset, k)
    while True:
        ranked = await source.rank(words, window, ctx.ranking, limit)
        everything = len(ranked) < limit  # nothing was cut off
        if ctx.settings.min_score > 0:
            kept = [p for p in ranked if p.score > ctx.settings.min_score]
            everything = everything or len(kept) < len(ranked)  # the rest scores lower still
            ranked = kept
        if not ranked:
            return None
        page = await compose(
            ranked,
            terms,
            offset=offset,
            k=k,
            everything=everything,
            lookups=source,
            tokenizer=ctx.tokenizer,
            settings=ctx.settings,
        )
        if page.complete:
            return page
        limit *= 4  # rare: a few articles filled the ranking; look further down


async def topic_articles(lookups: Lookups, gen: Generation, tokenizer: Tokenizer, topic: str) -> list[int]:
    """Ids of the articles of ``gen`` about ``topic`` (any of its words in the title or the text)."""
    known = await lookups.term_ids(tokenizer.tokens(topic))
    if not known:
        return []
    arts = await asyncio.to_thread(article_matches, gen, list(known.values()))
    return [int(gen.art_ids[i]) for i in arts]
