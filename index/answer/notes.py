"""The notes an answer carries when it cannot simply show passages, and the spelling look-ups
behind "did you mean".

An answer with nothing (or less) to show says why in words a reader can act on: the question had
no words to search for, none of its words are in the news (and which look misspelt), nothing in its
dates matched well. The note builders are pure; :func:`spellings` looks the candidates up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Protocol

import numpy as np

from newsbot.index.answer import spelling
from newsbot.index.answer.dates import DateQuery
from newsbot.index.generation import Generation
from newsbot.index.tokenizer import Tokenizer

LOOKUP_CHUNK = 500  # candidate spellings looked up per query
SPELL_WORDS = 8  # unknown words of a question that get spelling suggestions


def term_use(gen: Generation, ids: dict[str, int]) -> dict[str, int]:
    """How many of ``gen``'s paragraphs and titles hold each term (0: none holds it any more)."""
    numbers = np.fromiter(ids.values(), dtype=np.int64, count=len(ids))
    total = np.zeros(len(ids), dtype=np.int64)
    for indptr in (np.asarray(gen.body().indptr), np.asarray(gen.titles().indptr)):
        inside = numbers + 1 < len(indptr)  # a term newer than the generation: held by none of it
        total[inside] += indptr[numbers[inside] + 1] - indptr[numbers[inside]]
    return dict(zip(ids, total.tolist(), strict=True))


class Uses(Protocol):
    async def term_use(self, terms: list[str]) -> dict[str, int]: ...


async def spellings(
    uses: Uses, tokenizer: Tokenizer, terms: list[str], *, endings: bool = True
) -> dict[str, str]:
    """Words of the index one typing slip away from the first few of the question's unknown ones
    (``spelling.candidates``), by unknown term; none when the index holds stems, which nobody types."""
    if tokenizer.spec.stem:
        return {}
    unique = list(dict.fromkeys(terms))[:SPELL_WORDS]
    wanted = await asyncio.to_thread(lambda: {t: spelling.candidates(t, endings=endings) for t in unique})
    pool = sorted(set().union(*wanted.values()))
    use: dict[str, int] = {}
    for lo in range(0, len(pool), LOOKUP_CHUNK):
        use.update(await uses.term_use(pool[lo : lo + LOOKUP_CHUNK]))
    found = {t: spelling.best({c: use[c] for c in cands if c in use}) for t, cands in wanted.items()}
    return {t: f for t, f in found.items() if f}


def no_words(question: str) -> str:
    """The question has nothing to search for (blank, or only common words and symbols)."""
    if not question.strip():
        return "Ask a question about the news, e.g. “what happened with the tram line?”"
    return (
        "Your question has no words to search for (only common words or symbols). "
        "Try naming a person, place or event, or see the latest stories."
    )


def unknown(text: str, tokenizer: Tokenizer, fixed: dict[str, str]) -> tuple[str, str | None]:
    """No word of the question is in the news (``text``: the question as asked, dates and all): the
    note, and the question respelt with ``fixed`` (unknown term → the index's word) if there are any."""
    words = tokenizer.words(text)[:SPELL_WORDS]
    listed = ", ".join(f"“{w}”" for w in words)
    if fixed:
        respelt = spelling.respell(text, tokenizer.spans(text), fixed)
        note = f"None of these words appear in the news I have: {listed}. {spelling.did_you_mean(respelt)}"
        return f"{note} Or try other words.", respelt
    note = f"None of these words appear in the news I have: {listed}. "
    return note + "Check the spelling, try other words, or see the latest stories.", None


def missing(text: str, tokenizer: Tokenizer, fixed: dict[str, str]) -> tuple[str | None, str | None]:
    """For an answer that searched without some of the question's words: the ones that look misspelt
    (``fixed``), and the question spelt as the index would find it (None, None: none look misspelt)."""
    if not fixed:
        return None, None
    spans = tokenizer.spans(text)
    typed = {t: text[s:e] for s, e, t in reversed(spans)}  # a term's first spelling in the question
    listed = ", ".join(f"“{typed.get(t, t)}”" for t in fixed)
    respelt = spelling.respell(text, spans, fixed)
    return f"Not in the news: {listed}. {spelling.did_you_mean(respelt)}", respelt


def weak(dates: DateQuery, as_of: dt.date | None) -> str:
    """Nothing matched well enough (within the question's dates, or up to ``as_of``)."""
    since, until = dates.since, dates.until
    if since or until or as_of:
        end = min(d for d in (until, as_of) if d) if (until or as_of) else "now"
        span = f"{since or 'the start'} to {end}"
        return f"Nothing in the news from {span} matches well. Try a wider date range or other words."
    return "Nothing in the news matches well enough. Try other words, or see the latest stories."
