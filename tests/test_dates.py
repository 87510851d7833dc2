"""Date phrases in questions: what they mean relative to "today", and what is left alone."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsbot.index.answer.compose import search_window
from newsbot.index.answer.dates import DateQuery, parse_date_range, strip_phrases

D = dt.date
TODAY = D(2021, 10, 13)  # a Wednesday


def parse(question: str, today: dt.date = TODAY) -> DateQuery:
    return parse_date_range(question, today)


@pytest.mark.parametrize(
    ("question", "since", "until", "phrase"),
    [
        # whole years, only after a preposition
        ("What happened in 2020?", D(2020, 1, 1), D(2020, 12, 31), "in 2020"),
        ("floods during 2021", D(2021, 1, 1), D(2021, 12, 31), "during 2021"),
        ("news from 2019 about floods", D(2019, 1, 1), D(2019, 12, 31), "from 2019"),
        # months
        ("in October", D(2021, 10, 1), D(2021, 10, 31), "in October"),
        ("in November", D(2020, 11, 1), D(2020, 11, 30), "in November"),
        ("in October 2020", D(2020, 10, 1), D(2020, 10, 31), "in October 2020"),
        ("in Oct 2020", D(2020, 10, 1), D(2020, 10, 31), "in Oct 2020"),
        ("in Sept 2021", D(2021, 9, 1), D(2021, 9, 30), "in Sept 2021"),
        ("in sep 2021", D(2021, 9, 1), D(2021, 9, 30), "in sep 2021"),
        ("in February 2020", D(2020, 2, 1), D(2020, 2, 29), "in February 2020"),
        ("in March of 2019", D(2019, 3, 1), D(2019, 3, 31), "in March of 2019"),
        # since / after
        ("since October", D(2021, 10, 1), None, "since October"),
        ("since 2021-03-01", D(2021, 3, 1), None, "since 2021-03-01"),
        ("since March 3", D(2021, 3, 3), None, "since March 3"),
        ("since Oct. 3", D(2021, 10, 3), None, "since Oct. 3"),
        ("since 2020", D(2020, 1, 1), None, "since 2020"),
        ("after 2021-03-01", D(2021, 3, 2), None, "after 2021-03-01"),
        ("after March 2021", D(2021, 4, 1), None, "after March 2021"),
        ("after 2020", D(2021, 1, 1), None, "after 2020"),
        ("from March onwards", D(2021, 3, 1), None, "from March onwards"),
        # before / until
        ("before 2021-03-01", None, D(2021, 2, 28), "before 2021-03-01"),
        ("before 2020", None, D(2019, 12, 31), "before 2020"),
        ("until March 2021", None, D(2021, 3, 31), "until March 2021"),
        ("until 2021-03-01", None, D(2021, 3, 1), "until 2021-03-01"),
        ("up until June 2021", None, D(2021, 6, 30), "up until June 2021"),
        ("through 2020", None, D(2020, 12, 31), "through 2020"),
        # ranges
        ("between 2019 and 2020", D(2019, 1, 1), D(2020, 12, 31), "between 2019 and 2020"),
        ("between March and May 2020", D(2020, 3, 1), D(2020, 5, 31), "between March and May 2020"),
        ("between November and February", D(2020, 11, 1), D(2021, 2, 28), "between November and February"),
        (
            "between 2021-01-05 and 2021-02-01",
            D(2021, 1, 5),
            D(2021, 2, 1),
            "between 2021-01-05 and 2021-02-01",
        ),
        ("from 2019 to 2020", D(2019, 1, 1), D(2020, 12, 31), "from 2019 to 2020"),
        ("from March 3 to March 10, 2020", D(2020, 3, 3), D(2020, 3, 10), "from March 3 to March 10, 2020"),
        ("from March 2020 to May", D(2020, 3, 1), D(2020, 5, 31), "from March 2020 to May"),
        ("from November 2020 to February", D(2020, 11, 1), D(2021, 2, 28), "from November 2020 to February"),
        ("from January until March 2020", D(2020, 1, 1), D(2020, 3, 31), "from January until March 2020"),
        ("from 2019 - 2020", D(2019, 1, 1), D(2020, 12, 31), "from 2019 - 2020"),
        # single days
        ("on 2021-03-01", D(2021, 3, 1), D(2021, 3, 1), "on 2021-03-01"),
        ("on 2021/03/01", D(2021, 3, 1), D(2021, 3, 1), "on 2021/03/01"),
        ("on March 3, 2021", D(2021, 3, 3), D(2021, 3, 3), "on March 3, 2021"),
        ("on March 3rd 2021", D(2021, 3, 3), D(2021, 3, 3), "on March 3rd 2021"),
        ("on 3 March 2021", D(2021, 3, 3), D(2021, 3, 3), "on 3 March 2021"),
        ("on the 3rd of March", D(2021, 3, 3), D(2021, 3, 3), "on the 3rd of March"),
        ("on December 25", D(2020, 12, 25), D(2020, 12, 25), "on December 25"),
        ("on February 29", D(2020, 2, 29), D(2020, 2, 29), "on February 29"),
        ("on Monday", D(2021, 10, 11), D(2021, 10, 11), "on Monday"),
        ("on Wednesday", TODAY, TODAY, "on Wednesday"),
        ("last Wednesday", D(2021, 10, 6), D(2021, 10, 6), "last Wednesday"),
        # relative, no preposition needed
        ("yesterday", D(2021, 10, 12), D(2021, 10, 12), "yesterday"),
        ("today", TODAY, TODAY, "today"),
        ("today's headlines", TODAY, TODAY, "today's"),
        ("the day before yesterday", D(2021, 10, 11), D(2021, 10, 11), "the day before yesterday"),
        ("this week", D(2021, 10, 11), D(2021, 10, 17), "this week"),
        ("last week", D(2021, 10, 4), D(2021, 10, 10), "last week"),
        ("this month", D(2021, 10, 1), D(2021, 10, 31), "this month"),
        ("last month", D(2021, 9, 1), D(2021, 9, 30), "last month"),
        ("this year", D(2021, 1, 1), D(2021, 12, 31), "this year"),
        ("last year", D(2020, 1, 1), D(2020, 12, 31), "last year"),
        ("past 3 days", D(2021, 10, 10), TODAY, "past 3 days"),
        ("last 7 days", D(2021, 10, 6), TODAY, "last 7 days"),
        ("in the last 2 weeks", D(2021, 9, 29), TODAY, "in the last 2 weeks"),
        ("over the past week", D(2021, 10, 6), TODAY, "over the past week"),
        ("past 2 months", D(2021, 8, 13), TODAY, "past 2 months"),
        ("in the past three months", D(2021, 7, 13), TODAY, "in the past three months"),
        ("3 days ago", D(2021, 10, 10), D(2021, 10, 10), "3 days ago"),
        ("in the past 24 hours", D(2021, 10, 12), TODAY, "in the past 24 hours"),
        ("last 36 hours", D(2021, 10, 11), TODAY, "last 36 hours"),
        ("5 hours ago", D(2021, 10, 12), TODAY, "5 hours ago"),
        ("30 hours ago", D(2021, 10, 11), D(2021, 10, 12), "30 hours ago"),
        ("two weeks ago", D(2021, 9, 27), D(2021, 10, 3), "two weeks ago"),
        ("a month ago", D(2021, 9, 1), D(2021, 9, 30), "a month ago"),
        # relative after a preposition
        ("since yesterday", D(2021, 10, 12), None, "since yesterday"),
        ("since last week", D(2021, 10, 4), None, "since last week"),
        ("before last month", None, D(2021, 8, 31), "before last month"),
    ],
)
def test_phrases(question: str, since: dt.date | None, until: dt.date | None, phrase: str) -> None:
    dq = parse(question)
    assert (dq.since, dq.until) == (since, until)
    assert dq.phrases == (phrase,)
    assert dq.narrows


@pytest.mark.parametrize(
    "question",
    [
        "the 2020 Olympics",
        "the 2020 election results",
        "in the 2020 election",
        "2020",
        "what about 2021-03-01",
        "October surprise",
        "the March 2021 protests",
        "what may happen in the markets",
        "win 2020 prizes",
        "in 2020s fashion",
        "mid-2021 outlook",
        "in 1492",
        "in 3000 words",
        "since Octember",
        "before 2021-13-45",
        "on February 30",
        "on 2021-02-29",
        "after 32 March 2021",
        "between 2021 and",
        "since 2021-03-01T10:00",
        "in 20210",
        "in 2020.5 percent",
        "on October",
        "for 2020",
        "plans for the future",
        "",
        "   ",
    ],
)
def test_not_a_date(question: str) -> None:
    dq = parse(question)
    assert dq == DateQuery()
    assert not dq.narrows
    assert dq.phrases == ()


def test_case_insensitive() -> None:
    assert parse("IN 2020").since == D(2020, 1, 1)
    assert parse("Since OCT 2021").since == D(2021, 10, 1)
    assert parse("LAST WEEK").until == D(2021, 10, 10)
    assert parse("In 2020, what happened?").phrases == ("In 2020",)


def test_phrase_anywhere_in_question() -> None:
    dq = parse("what did the mayor say about floods in 2020 and why?")
    assert (dq.since, dq.until) == (D(2020, 1, 1), D(2020, 12, 31))
    assert dq.phrases == ("in 2020",)
    assert dq.text_without_phrases("what did the mayor say about floods in 2020 and why?") == (
        "what did the mayor say about floods and why?"
    )


def test_month_without_year_is_the_latest_not_after_today() -> None:
    assert parse("in October", D(2021, 10, 1)).since == D(2021, 10, 1)
    assert parse("in October", D(2021, 9, 30)).since == D(2020, 10, 1)
    assert parse("in December", D(2021, 1, 5)).since == D(2020, 12, 1)
    assert parse("since March 3", D(2021, 3, 3)).since == D(2021, 3, 3)
    assert parse("since March 3", D(2021, 3, 2)).since == D(2020, 3, 3)
    assert parse("on February 29", D(2023, 6, 1)).since == D(2020, 2, 29)


def test_relative_phrases_follow_today() -> None:
    assert parse("last month", D(2021, 1, 15)).since == D(2020, 12, 1)
    assert parse("last week", D(2021, 10, 11)).since == D(2021, 10, 4)  # a Monday
    assert parse("last week", D(2021, 10, 17)).until == D(2021, 10, 10)  # a Sunday
    assert parse("past 1 months", D(2021, 3, 31)).since == D(2021, 2, 28)
    assert parse("past year", D(2020, 2, 29)).since == D(2019, 2, 28)
    assert parse("yesterday", D(2021, 1, 1)).since == D(2020, 12, 31)


def test_several_phrases_narrow_together() -> None:
    dq = parse("since March 2021 and before 2021-06-01")
    assert (dq.since, dq.until) == (D(2021, 3, 1), D(2021, 5, 31))
    assert dq.phrases == ("since March 2021", "before 2021-06-01")


def test_since_after_until_is_ignored() -> None:
    assert parse("since 2022 until 2020") == DateQuery()
    assert parse("between 2021 and 2019") == DateQuery()
    assert parse("from 2021-03-01 to 2021-02-01") == DateQuery()
    assert parse("in 2020 and in 2021") == DateQuery()


def test_invalid_part_of_a_range_drops_the_range() -> None:
    assert parse("between 2020-02-30 and 2021") == DateQuery()
    dq = parse("between 2020-02-30 and 2021 or in 2019")
    assert dq.phrases == ("in 2019",)


def test_phrases_are_exact_substrings_with_spans() -> None:
    q = "Stories  FROM 2019   to 2020 about 'floods' — why?"
    dq = parse(q)
    assert dq.phrases == ("FROM 2019   to 2020",)
    assert [q[s:e] for s, e in dq.spans] == list(dq.phrases)


def test_strip_phrases_tidies_the_rest() -> None:
    q = "In 2020, who won the election?"
    dq = parse(q)
    assert strip_phrases(q, dq) == "who won the election?"
    q = "what happened last week?"
    assert parse(q).text_without_phrases(q) == "what happened?"
    q = "floods since 2021-03-01, in Spain"
    assert strip_phrases(q, parse(q)) == "floods, in Spain"


def test_strip_phrases_without_spans_matches_whole_words() -> None:
    dq = DateQuery(D(2020, 1, 1), D(2020, 12, 31), ("in 2020",))
    assert strip_phrases("to win 2020 medals in 2020", dq) == "to win 2020 medals"
    assert strip_phrases("nothing here", DateQuery()) == "nothing here"


def test_question_without_dates_is_unchanged_by_strip() -> None:
    q = "who is the mayor of Paris?"
    assert parse(q).text_without_phrases(q) == q


def test_repeated_phrase() -> None:
    q = "in 2020 and again in 2020"
    dq = parse(q)
    assert dq.phrases == ("in 2020", "in 2020")
    assert dq.text_without_phrases(q) == "and again"


def test_deterministic_given_today() -> None:
    a = parse("past 3 days", D(2000, 1, 10))
    b = parse("past 3 days", D(2030, 5, 10))
    assert (a.since, a.until) == (D(2000, 1, 7), D(2000, 1, 10))
    assert (b.since, b.until) == (D(2030, 5, 7), D(2030, 5, 10))
    assert parse("past 3 days", D(2000, 1, 10)) == a


def test_edges_of_the_calendar_do_not_raise() -> None:
    for today in (dt.date.min, dt.date.max):
        for q in ("this week", "last year", "past 9999 years", "after 2199", "9999 days ago", "next year"):
            dq = parse(q, today)
            assert dq.since is None or dq.until is None or dq.since <= dq.until


def test_lookalike_letters_do_not_crash() -> None:
    # "ſ" (long s) and the Kelvin sign match "s"/"k" when ignoring case
    assert parse("ſince ſept 2021").since == D(2021, 9, 1)
    assert parse("laſt weeK").since == D(2021, 10, 4)


FRAGMENTS = [
    "in",
    "on",
    "since",
    "after",
    "before",
    "until",
    "between",
    "and",
    "from",
    "to",
    "during",
    "the",
    "last",
    "past",
    "this",
    "ago",
    "week",
    "weeks",
    "month",
    "year",
    "days",
    "3",
    "29",
    "31",
    "2020",
    "2021-02-29",
    "2021-03-01",
    "9999-99-99",
    "October",
    "Feb",
    "Sept.",
    "May",
    "yesterday",
    "today",
    "Monday",
    ",",
    "?",
]


@settings(max_examples=300, deadline=None)
@given(st.text(), st.dates())
def test_any_text_never_raises(question: str, today: dt.date) -> None:
    dq = parse_date_range(question, today)
    assert dq.since is None or dq.until is None or dq.since <= dq.until
    assert [question[s:e] for s, e in dq.spans] == list(dq.phrases)
    assert isinstance(dq.text_without_phrases(question), str)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=12), st.dates())
def test_date_like_text_is_consistent(words: list[str], today: dt.date) -> None:
    question = " ".join(words)
    dq = parse_date_range(question, today)
    assert dq.since is None or dq.until is None or dq.since <= dq.until
    assert [question[s:e] for s, e in dq.spans] == list(dq.phrases)
    assert all(a[1] <= b[0] for a, b in zip(dq.spans, dq.spans[1:], strict=False))
    assert bool(dq.phrases) == dq.narrows
    rest = dq.text_without_phrases(question)
    assert len(rest) <= len(question)


@pytest.mark.parametrize(
    ("question", "ranged"),
    [
        ("storm since October", True),
        ("storm before 2021-03-01", True),
        ("storm after March 3", True),
        ("storm until May 2021", True),
        ("storm between March and May", True),
        ("storm from 2020 to 2021", True),
        ("storm in the past 3 days", True),
        ("storm the last two weeks", True),
        ("storm this week", False),
        ("storm last week", False),
        ("storm on Monday", False),
        ("storm in 2020", False),
        ("storm yesterday", False),
    ],
)
def test_search_ranges_are_told_apart_from_event_times(question: str, ranged: bool) -> None:
    dq = parse_date_range(question, dt.date(2022, 3, 24))
    assert dq.narrows and dq.ranged is ranged


CALENDAR_ENDS = [
    dt.date.min,
    dt.date.min + dt.timedelta(days=1),
    dt.date.max - dt.timedelta(days=1),
    dt.date.max,
]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=12),
    st.sampled_from(CALENDAR_ENDS) | st.dates(),
    st.floats(min_value=0, max_value=3650),
)
def test_a_search_window_holds_at_the_ends_of_the_calendar(
    words: list[str], today: dt.date, slack_days: float
) -> None:
    # a question asked as of the first or last day of the calendar still gets a window
    question = " ".join(words)
    dq = parse_date_range(question, today)
    window = search_window(dq, today, today, slack_days)
    assert window.until is not None and window.until <= today
    if window.prefer is not None:
        assert window.prefer[0] <= window.prefer[1]
