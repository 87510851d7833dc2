"""The article parser: the reference format and its variants, and what it refuses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsbot.index.errors import ArticleError, NewsbotError
from newsbot.index.ingest.parse import decode, parse_bytes, parse_text, split_paragraphs
from newsbot.index.ingest.sources import read, scan


def test_reference_format() -> None:
    art = parse_text(" date 2020-10-16 A title here\n\nFirst para.\n\nSecond para\nwrapped line.\n")
    assert art.title == "A title here"
    assert art.date == dt.date(2020, 10, 16)
    assert art.paragraphs == ["First para.", "Second para wrapped line."]


def test_leading_space_optional_and_bare_title() -> None:
    assert parse_text("date 2021-01-02 T\n\nBody").date == dt.date(2021, 1, 2)
    bare = parse_text("Ad sales boost Time Warner profit\n\nQuarterly profits rose.\n")
    assert bare.title == "Ad sales boost Time Warner profit" and bare.date is None
    # a title that merely starts with the word "date" is a title, not a header
    assert parse_text("Date night ideas\n\nBody.").title == "Date night ideas"


def test_crlf_cr_bom_and_legacy_encoding() -> None:
    crlf = parse_bytes(b"\xef\xbb\xbf date 2020-01-01 T\r\n\r\nOne\r\n\r\nTwo\r\n")
    assert crlf.paragraphs == ["One", "Two"] and not crlf.warnings
    cr = parse_bytes(b" date 2020-01-01 T\r\rOne\r\rTwo\r")
    assert cr.paragraphs == ["One", "Two"]
    legacy = parse_bytes(" date 2020-01-01 Caf\xe9\n\nA na\xefve r\xe9sum\xe9.".encode("latin-1"))
    assert legacy.title == "Café" and "naïve résumé" in legacy.paragraphs[0]
    assert legacy.warnings and "Windows-1252" in legacy.warnings[0]
    utf16 = parse_bytes(" date 2020-01-01 T\n\nÜber".encode("utf-16"))
    assert utf16.paragraphs == ["Über"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n \n", "empty file"),
        (b" date 2020-01-01 Only a title\n\n", "title but no body"),
        (b" date 2020-13-45 Bad date\n\nBody", "impossible date 2020-13-45"),
        (b" date 2020-02-30 Bad date\n\nBody", "impossible date 2020-02-30"),
        (b" date 20-1-1 Bad date\n\nBody", "not YYYY-MM-DD"),
        (b"\x00\x01\x02binary\x00junk" * 10, "binary"),
        (bytes(range(1, 32)) * 50, "binary"),
        (b" date 2020-01-01 \n\nBody", "no title"),
    ],
)
def test_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        parse_bytes(data)


def test_paragraph_splitting_ignores_whitespace_only_lines() -> None:
    assert split_paragraphs("a\n \t\nb\n\n\n\nc  d\ne") == ["a", "b", "c d e"]


def test_same_text_same_hash_whatever_the_spacing() -> None:
    a = parse_text(" date 2020-01-01 Title\n\nSome  text\nhere.")
    b = parse_text("date 2020-01-01   Title\r\n\r\nSome text here.\r\n")
    c = parse_text(" date 2020-01-01 Title\n\nOther text here.")
    assert a.text_hash == b.text_hash != c.text_hash


paragraph = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    min_size=1,
    max_size=80,
).filter(lambda s: s.strip() != "")
title = paragraph.filter(lambda s: not s.strip().lower().startswith("date"))


@given(title=title, paras=st.lists(paragraph, min_size=1, max_size=6), date=st.dates())
def test_round_trip(title: str, paras: list[str], date: dt.date) -> None:
    text = f" date {date.isoformat()} {title}\n\n" + "\n\n".join(paras) + "\n"
    art = parse_text(text)
    assert art.date == date
    assert art.title == " ".join(title.split())
    assert art.paragraphs == [" ".join(p.split()) for p in paras]


@given(st.binary(max_size=400))
def test_any_bytes_parse_or_give_a_reason(data: bytes) -> None:
    try:
        art = parse_bytes(data)
    except ArticleError as exc:
        assert str(exc)
    else:
        assert art.title and art.paragraphs and all(p.strip() == p and p for p in art.paragraphs)


def test_decode_prefers_utf8() -> None:
    assert decode("naïve".encode()) == ("naïve", None)


def test_a_refusal_belongs_to_the_error_family_and_is_only_the_reason() -> None:
    with pytest.raises(NewsbotError) as caught:
        parse_bytes(b" date 2020-01-01 Only a title\n\n")
    assert isinstance(caught.value, ArticleError) and not isinstance(caught.value, ValueError)
    assert str(caught.value) == caught.value.reason == "title but no body"


def test_refused_files_are_skipped_with_their_path_and_reason(tmp_path: Path) -> None:
    # what a reindex reports for each file it cannot use: the path, then the parser's reason
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "date.txt").write_bytes(b" date 2020-02-30 Bad date\n\nBody")
    (tmp_path / "lines.jsonl").write_text(
        '{"title": "Good", "text": "Body."}\n'
        "not json\n"
        '{"title": "", "text": "Body."}\n'
        '{"title": "No body"}\n'
        '{"title": "Bad date", "text": "Body.", "date": "2020-13-01"}\n'
        "[1, 2]\n",
        encoding="utf-8",
    )
    sources, problems = scan([tmp_path])
    assert problems == []
    reports = {src.rel: read(src) for src in sources}
    assert [len(records) for records, _ in reports.values()] == [0, 0, 1]
    assert [(s.path, s.reason) for _, skipped in reports.values() for s in skipped] == [
        (f"{tmp_path}/date.txt", "impossible date 2020-02-30"),
        (f"{tmp_path}/empty.txt", "empty file"),
        (f"{tmp_path}/lines.jsonl#2", "not valid JSON (Expecting value)"),
        (f"{tmp_path}/lines.jsonl#3", "no title"),
        (f"{tmp_path}/lines.jsonl#4", 'no "text" or "paragraphs"'),
        (f"{tmp_path}/lines.jsonl#5", "impossible date 2020-13-01"),
        (f"{tmp_path}/lines.jsonl#6", "not a JSON object"),
    ]
