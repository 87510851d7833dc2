"""Date phrases in a news question ("in 2020", "since March 3", "last week"), read relative to a given day.

:func:`parse_date_range` finds the phrases it understands and turns them into one inclusive range.
Absolute dates count only after a preposition ("in 2020", never "the 2020 election"); relative ones
("yesterday", "last month", "past 3 days", "2 weeks ago") stand alone. Impossible dates are ignored,
never raised. Nothing here reads the clock: "today" is always passed in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from newsbot.index.answer.date_resolve import (
    MONTHS,
    NUMBERS,
    WEEKDAYS,
    Range,
    explicit_year,
    kind_of,
    resolve,
    yearless,
)

__all__ = ["DateQuery", "parse_date_range", "strip_phrases"]

_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")(?:\.(?=\s*[0-9]))?"
_WEEKDAY = "(?:" + "|".join(WEEKDAYS) + ")"
_N = r"[0-9]{1,4}|" + "|".join(sorted(NUMBERS, key=len, reverse=True))
_UNIT = r"hour|day|week|month|year"
_ORD = r"(?:st|nd|rd|th)?"

# One alternative per kind of date expression; the outer group names say which one matched.
_EXPR = re.compile(
    rf"""(?<![\w-])(?:
      (?P<iso>(?P<iso_y>[0-9]{{4}})(?P<iso_sep>[-/])(?P<iso_m>[0-9]{{1,2}})(?P=iso_sep)(?P<iso_d>[0-9]{{1,2}}))
    | (?P<dmy>(?:the\s+)?(?P<dmy_d>[0-9]{{1,2}}){_ORD}\s+(?:of\s+)?(?P<dmy_m>{_MONTH})
        (?:,?\s+(?P<dmy_y>[0-9]{{4}}))?)
    | (?P<mdy>(?P<mdy_m>{_MONTH})\s+(?:the\s+)?(?P<mdy_d>[0-9]{{1,2}}){_ORD}(?:,?\s+(?P<mdy_y>[0-9]{{4}}))?)
    | (?P<my>(?P<my_m>{_MONTH}),?\s+(?:of\s+)?(?P<my_y>[0-9]{{4}}))
    | (?P<mon>{_MONTH})
    | (?P<year>[0-9]{{4}})
    | (?P<wd>(?P<wd_last>last\s+)?(?P<wd_d>{_WEEKDAY}))
    | (?P<roll>(?:the\s+|this\s+)?(?:past|last|previous)\s+(?P<roll_n>{_N})\s+(?P<roll_u>{_UNIT})s?
        | (?:the\s+|this\s+)?past\s+(?P<roll_u1>{_UNIT})
        | the\s+(?:last|previous)\s+(?P<roll_u2>{_UNIT}))
    | (?P<rel>(?:(?:the\s+)?day\s+before\s+yesterday|yesterday|today|tonight
        | this\s+(?:morning|afternoon|evening)
        | (?P<rel_w>this|last|previous|current)\s+(?P<rel_u>week|month|year))(?:['’]s)?)
    | (?P<ago>(?P<ago_n>{_N})\s+(?P<ago_u>{_UNIT})s?\s+ago)
    )(?!\w|[-/.][0-9])""",
    re.IGNORECASE | re.VERBOSE,
)
_RELATIVE = frozenset({"roll", "rel", "ago"})
_DAYS = frozenset({"iso", "dmy", "mdy", "wd"})

_PREP = re.compile(
    r"(?<![\w-])(?P<p>between|from|since|after|before|until|till|til|up\s+(?:to|until)|through|thru"
    r"|in|during|throughout|on|over|within|for)\s+$",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+(?:and|&)\s+|\s*&\s*", re.IGNORECASE)
_TO = re.compile(r"\s+(?:to|until|till|through|thru)\s+|\s*[-–—]\s*", re.IGNORECASE)
_ONWARDS = re.compile(r"\s+(?:onwards?|forwards?|on(?=\s*(?:$|[?!.,;])))", re.IGNORECASE)

_RANGE_PREPS = frozenset({"in", "during", "throughout", "on", "from", "over", "within", "for"})
_UNTIL_PREPS = frozenset({"until", "till", "til", "up to", "up until", "through", "thru"})
_LIMIT_PREPS = _UNTIL_PREPS | {"since", "after", "before"}  # prepositions that set a search range


@dataclass(frozen=True, slots=True)
class DateQuery:
    """The dates a question asks about: ``since``/``until`` are inclusive, ``None`` when open.

    ``phrases`` are the exact substrings that were understood (``spans`` their offsets), so the
    caller can search for the rest of the question.
    """

    since: dt.date | None = None
    until: dt.date | None = None
    phrases: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()
    # True when a phrase sets a search range ("since October", "before 2021", "between March and
    # May", "the past 3 days") rather than saying when something happened ("this week", "in 2020")
    ranged: bool = False

    @property
    def narrows(self) -> bool:
        """True when the question limits the dates at all."""
        return self.since is not None or self.until is not None

    def text_without_phrases(self, question: str) -> str:
        """``question`` with the understood phrases taken out."""
        return strip_phrases(question, self)


def parse_date_range(question: str, today: dt.date) -> DateQuery:
    """The date range asked for in ``question``, reading relative phrases from ``today``."""
    found: list[tuple[int, int, dt.date | None, dt.date | None, bool]] = []
    exprs = list(_EXPR.finditer(question))
    i = 0
    while i < len(exprs):
        m = exprs[i]
        i += 1
        prep_match = _PREP.search(question, max(0, m.start() - 16), m.start())
        prep = " ".join(prep_match.group("p").casefold().split()) if prep_match else None
        start = prep_match.start() if prep_match else m.start()
        if prep in ("between", "from") and i < len(exprs):
            link = (_AND if prep == "between" else _TO).fullmatch(question, m.end(), exprs[i].start())
            if link:
                other = exprs[i]
                i += 1
                pair = _pair(m, other, today)
                if pair is not None:
                    found.append((start, other.end(), pair[0], pair[1], True))
                continue
        end = m.end()
        onwards = _ONWARDS.match(question, end) if prep == "from" else None
        if onwards:
            prep, end = "since", onwards.end()
        item = _bound(m, prep, today)
        if item is not None:
            ranged = prep in _LIMIT_PREPS or kind_of(m) == "roll"
            found.append((start, end, item[0], item[1], ranged))
    return _combine(question, found)


def strip_phrases(question: str, dq: DateQuery) -> str:
    """``question`` without the phrases of ``dq``, spaces and stray punctuation tidied."""
    spans = list(dq.spans)
    if [question[s:e] for s, e in spans] != list(dq.phrases):
        spans = _find_phrases(question, dq.phrases)
    pieces: list[str] = []
    pos = 0
    for s, e in spans:
        pieces.append(question[pos:s])
        pos = e
    pieces.append(question[pos:])
    text = re.sub(r"\s+", " ", " ".join(pieces))
    text = re.sub(r" (?=[?!.,;:])", "", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    return text.strip(" ,;:")


def _find_phrases(question: str, phrases: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where each phrase occurs as whole words, in order, each after the one before."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for phrase in phrases:
        m = re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)").search(question, pos)
        if m:
            spans.append(m.span())
            pos = m.end()
    return spans


def _combine(question: str, found: list[tuple[int, int, dt.date | None, dt.date | None, bool]]) -> DateQuery:
    """One query from every phrase found: the latest since and the earliest until."""
    sinces = [s for _, _, s, _, _ in found if s is not None]
    untils = [u for _, _, _, u, _ in found if u is not None]
    since = max(sinces) if sinces else None
    until = min(untils) if untils else None
    if since is not None and until is not None and since > until:
        return DateQuery()
    spans = tuple((s, e) for s, e, _, _, _ in found)
    ranged = any(r for *_, r in found)
    return DateQuery(since, until, tuple(question[s:e] for s, e in spans), spans, ranged)


def _bound(
    m: re.Match[str], prep: str | None, today: dt.date
) -> tuple[dt.date | None, dt.date | None] | None:
    """The since/until that one expression sets, given the preposition before it (if any)."""
    kind = kind_of(m)
    if prep is None:
        standalone = kind in _RELATIVE or (kind == "wd" and m.group("wd_last") is not None)
        prep = "in" if standalone else None
    if prep is None or prep == "between":
        return None
    if kind not in _RELATIVE and prep in ("over", "within", "for"):
        return None
    if prep == "on" and kind not in _DAYS and kind not in _RELATIVE:
        return None
    rng = resolve(m, today)
    if rng is None:
        return None
    try:
        if prep == "since":
            return rng[0], None
        if prep == "after":
            return rng[1] + dt.timedelta(days=1), None
        if prep == "before":
            return None, rng[0] - dt.timedelta(days=1)
        if prep in _UNTIL_PREPS:
            return None, rng[1]
    except OverflowError:
        return None
    return rng if prep in _RANGE_PREPS else None


def _pair(first: re.Match[str], second: re.Match[str], today: dt.date) -> Range | None:
    """The range "between X and Y" / "from X to Y"; a year given on one side serves the other."""
    y1, y2 = explicit_year(first), explicit_year(second)
    if y1 is None and y2 is not None and yearless(first):
        a, b = resolve(first, today, y2), resolve(second, today)
        if a is not None and b is not None and a[0] > b[1]:
            a = resolve(first, today, y2 - 1)
    elif y2 is None and y1 is not None and yearless(second):
        a, b = resolve(first, today), resolve(second, today, y1)
        if a is not None and b is not None and b[1] < a[0]:
            b = resolve(second, today, y1 + 1)
    else:
        a, b = resolve(first, today), resolve(second, today)
        if a is not None and b is not None and a[0] > b[1] and yearless(first) and yearless(second):
            a = resolve(first, today, a[0].year - 1)
    if a is None or b is None or a[0] > b[1]:
        return None
    return a[0], b[1]
