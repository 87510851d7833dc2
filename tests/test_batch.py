"""``ask --batch`` lines: whatever a line holds, it is a question or a BadLine that says why, never an
exception of another kind (deep nesting, huge numbers, non-strings, any text)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsbot.cli.batch import BadLine, parse_line

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(["id", "question", "as_of", "extra"])


def check(line: str) -> None:
    try:
        q = parse_line(line, None)
    except BadLine as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(q.text, str) and q.text.strip()
        assert q.as_of is None or isinstance(q.as_of, dt.date)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=4))
def test_any_object(item: dict[str, object]) -> None:
    check(json.dumps(item))


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_json_value(value: object) -> None:
    check(json.dumps(value))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text(line: str) -> None:
    check(line)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=20_000),
    st.sampled_from(["[", '{"a": ', '{"question": ', "[{"]),
    st.booleans(),
)
def test_any_nesting(depth: int, opener: str, closed: bool) -> None:
    closer = {"[": "]", '{"a": ': "}", '{"question": ': "}", "[{": "}]"}[opener]
    check(opener * depth + ("1" + closer * depth if closed else ""))


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"question": null}', 'no "question"'),
        ('{"question": ["a"]}', "is a list"),
        ('{"question": {"a": 1}}', "is an object"),
        ('{"question": true}', "true or false"),
        ('{"question": 1.5}', "a number"),
        ('{"question": "\\t\\n"}', "empty"),
        ('{"question": "x", "as_of": "2024-02-30"}', "not a date"),
        ('{"question": "x", "as_of": null}', ""),
        ('{"question": "x", "id": Infinity}', "infinity is not a json number"),
        ('{"question": "x", "id": -1e400}', "too large"),
        ("[" * 5000, "nested too deeply"),
        ("", "not json"),
    ],
)
def test_what_each_bad_line_says(line: str, says: str) -> None:
    if not says:
        assert parse_line(line, dt.date(2026, 1, 1)).as_of == dt.date(2026, 1, 1)
        return
    with pytest.raises(BadLine, match=None) as raised:
        parse_line(line, None)
    assert says in str(raised.value).lower()
