"""What a date expression found in a question means: the first and last day of it, given "today".

The vocabulary (month and weekday names, numbers in words) and one resolver per kind of expression
that :mod:`newsbot.index.answer.dates` matches. Impossible dates resolve to None, never raise.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

MIN_YEAR = 1800
MAX_YEAR = 2199

_MONTH_NAMES: tuple[str, ...] = ("january", "february", "march", "april", "may", "june", "july", "august")
_MONTH_NAMES += ("september", "october", "november", "december")
MONTHS = {name: n for n, name in enumerate(_MONTH_NAMES, start=1)}
MONTHS.update({name[:3]: n for n, name in enumerate(_MONTH_NAMES, start=1)})
MONTHS["sept"] = 9
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS = {name: n for n, name in enumerate(_DAY_NAMES)}

NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}

_KINDS = ("iso", "dmy", "mdy", "my", "mon", "year", "wd", "roll", "rel", "ago")

Range = tuple[dt.date, dt.date]


def kind_of(m: re.Match[str]) -> str:
    return next(k for k in _KINDS if m.group(k) is not None)


def explicit_year(m: re.Match[str]) -> int | None:
    """The year written in the expression, if any."""
    group = {"iso": "iso_y", "dmy": "dmy_y", "mdy": "mdy_y", "my": "my_y", "year": "year"}.get(kind_of(m))
    value = m.group(group) if group else None
    return int(value) if value else None


def yearless(m: re.Match[str]) -> bool:
    """True for a month or a day of a month written without a year."""
    return kind_of(m) in ("dmy", "mdy", "mon") and explicit_year(m) is None


def resolve(m: re.Match[str], today: dt.date, year: int | None = None) -> Range | None:
    """The first and last day an expression means, or ``None`` if it names no real date."""
    try:
        return _RESOLVERS[kind_of(m)](m, today, year)
    except (ValueError, OverflowError, LookupError):
        return None


def _check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year {year} out of range")
    return year


def _month_number(text: str) -> int:
    return MONTHS[text.rstrip(".").casefold()]


def _number(text: str) -> int:
    return NUMBERS.get(text.casefold()) or int(text)


def _month_range(year: int, month: int) -> Range:
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, 1), dt.date(year, month, last)


def _year_range(year: int) -> Range:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _week_range(day: dt.date) -> Range:
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _recent_day(month: int, day: int, today: dt.date) -> dt.date:
    """The latest ``month``/``day`` not after ``today`` (looking back far enough for 29 February)."""
    for year in range(today.year, today.year - 9, -1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    raise ValueError(f"no {month}/{day}")


def _day(m: re.Match[str], today: dt.date, year: int | None) -> Range:
    kind = kind_of(m)
    if kind == "iso":
        d = dt.date(_check_year(int(m.group("iso_y"))), int(m.group("iso_m")), int(m.group("iso_d")))
        return d, d
    month, day = _month_number(m.group(f"{kind}_m")), int(m.group(f"{kind}_d"))
    written = m.group(f"{kind}_y")
    if written:
        year = int(written)
    d = dt.date(_check_year(year), month, day) if year is not None else _recent_day(month, day, today)
    return d, d


def _month_year(m: re.Match[str], today: dt.date, year: int | None) -> Range:
    return _month_range(_check_year(int(m.group("my_y"))), _month_number(m.group("my_m")))


def _month(m: re.Match[str], today: dt.date, year: int | None) -> Range:
    month = _month_number(m.group("mon"))
    if year is None:
        year = today.year if month <= today.month else today.year - 1
    return _month_range(_check_year(year), month)


def _year(m: re.Match[str], today: dt.date, year: int | None) -> Range:
    return _year_range(_check_year(int(m.group("year"))))


def _weekday(m: re.Match[str], today: dt.date, year: int | None) -> Range:
    """The latest such weekday not after today ("last Monday": strictly before today)."""
    back = (today.weekday() - WEEKDAYS[m.group("wd_d").casefold()]) % 7
    if back == 0 and m.group("wd_last"):
        back = 7
    d = today - dt.timedelta(days=back)
    return d, d


def _rolling(m: re.Match[str], today: dt.date, year: int | None) -> Range:
    """The last N hours/days/weeks/months/years up to and including today (hours round up to days)."""
    n = _number(m.group("roll_n")) if m.group("roll_n") else 1
    unit = (m.group("roll_u") or m.group("roll_u1") or m.group("roll_u2")).casefold()
    if unit == "hour":
        return today - dt.timedelta(days=-(-n // 24)), today
    if unit == "day":
        return today - dt.timedelta(days=n), today
    if unit == "week":
        return today - dt.timedelta(weeks=n), today
    return _add_months(today, -n * (12 if unit == "year" else 1)), today


def _relative(m: re.Match[str], today: dt.date, year: int | None) -> Range:
    word = " ".join(m.group("rel").casefold().replace("’", "'").removesuffix("'s").split())
    if word.endswith("day before yesterday"):
        d = today - dt.timedelta(days=2)
        return d, d
    if word == "yesterday":
        d = today - dt.timedelta(days=1)
        return d, d
    if m.group("rel_u") is None:  # today, tonight, this morning...
        return today, today
    back = 1 if m.group("rel_w").casefold() in ("last", "previous") else 0
    return _calendar_back(m.group("rel_u").casefold(), today, back)


def _calendar_back(unit: str, today: dt.date, n: int) -> Range:
    """The calendar week, month or year ``n`` of them before the one holding ``today``."""
    if unit == "week":
        return _week_range(today - dt.timedelta(weeks=n))
    if unit == "month":
        first = _add_months(today.replace(day=1), -n)
        return _month_range(first.year, first.month)
    return _year_range(today.year - n)


def _ago(m: re.Match[str], today: dt.date, year: int | None) -> Range:
    """ "N days ago" is that day; weeks, months and years ago are the calendar week/month/year.

    "N hours ago" is today or yesterday when it may have been either.
    """
    n = _number(m.group("ago_n"))
    unit = m.group("ago_u").casefold()
    if unit == "hour":
        return today - dt.timedelta(days=-(-n // 24)), today - dt.timedelta(days=n // 24)
    if unit == "day":
        d = today - dt.timedelta(days=n)
        return d, d
    return _calendar_back(unit, today, n)


_RESOLVERS = {
    "iso": _day,
    "dmy": _day,
    "mdy": _day,
    "my": _month_year,
    "mon": _month,
    "year": _year,
    "wd": _weekday,
    "roll": _rolling,
    "rel": _relative,
    "ago": _ago,
}
