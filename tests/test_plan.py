"""Planning a reindex without a database or files: what to read, keep and drop, and the rows to write."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from newsbot.index.ingest.citations import StoredArticle
from newsbot.index.ingest.junk import junk_flag
from newsbot.index.ingest.parse import Article
from newsbot.index.ingest.plan import FileRow, Key, WriteState, compare, plan_rows
from newsbot.index.ingest.sources import Record, SourceFile
from newsbot.index.layout import FLAG_JUNK
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

ROOT = "/news"
OTHER = "/elsewhere"  # a folder another run indexes


def source(rel: str, size: int = 10, root: str = ROOT) -> SourceFile:
    return SourceFile(root=root, rel=rel, size=size, mtime_ns=1, meta=None, is_jsonl=rel.endswith(".jsonl"))


def stored(src: SourceFile, article_id: int, line: int | None = None) -> tuple[Key, FileRow]:
    rel = src.rel if line is None else f"{src.rel}#{line}"
    return (src.root, rel), FileRow(src.rel, src.stamp, f"hash-{rel}", article_id)


def test_only_new_and_changed_files_are_read_and_only_gone_ones_dropped() -> None:
    same, touched, lines = source("same.txt"), source("touched.txt"), source("lines.jsonl")
    gone, unlisted, other = source("gone.txt"), source("locked/x.txt"), source("o.txt", root=OTHER)
    old = dict(
        [
            stored(same, 1),
            stored(touched, 2),
            stored(lines, 3, line=1),
            stored(lines, 4, line=2),
            stored(gone, 5),
            stored(unlisted, 6),
            stored(other, 7),
        ]
    )
    new = source("new.txt")
    now = [same, source("touched.txt", size=11), lines, new]
    found = compare(old, now, scanned={ROOT}, blocked=(f"{ROOT}/locked/",))
    assert [s.rel for s in found.to_read] == ["touched.txt", "new.txt"]
    assert found.gone == [(ROOT, "gone.txt")]
    # a JSONL file's lines are kept together; a folder that could not be listed, or not scanned, is kept
    assert found.keep == {
        (ROOT, "same.txt"),
        (ROOT, "lines.jsonl#1"),
        (ROOT, "lines.jsonl#2"),
        (ROOT, "locked/x.txt"),
        (OTHER, "o.txt"),
    }
    assert sorted(found.drop) == [(ROOT, "gone.txt"), (ROOT, "touched.txt")]
    assert found.orphans == {2, 5}


def test_a_changed_jsonl_file_is_read_again_whole() -> None:
    lines = source("lines.jsonl")
    old = dict([stored(lines, 3, line=1), stored(lines, 4, line=2)])
    found = compare(old, [source("lines.jsonl", size=99)], scanned={ROOT}, blocked=())
    assert [s.rel for s in found.to_read] == ["lines.jsonl"] and found.keep == set()
    assert sorted(found.drop) == [(ROOT, "lines.jsonl#1"), (ROOT, "lines.jsonl#2")] and found.gone == []


def record(rel: str, title: str, paragraphs: list[str], date: dt.date | None = None) -> Record:
    return Record(rel, f"bytes-of-{rel}-{title}", Article(title, date, paragraphs, source="Wire"))


def test_the_rows_of_new_duplicate_and_known_articles() -> None:
    tokenizer = Tokenizer(TokenizerSpec())
    known = record("known.txt", "Harbor tram", ["The harbor tram opened to riders on Monday."])
    fresh = record("fresh.txt", "Ferry fares", ["By Ana Ruiz", "Ferry fares rise to 3 dollars in May."])
    copy = record("copy.txt", "Ferry fares", ["By Ana Ruiz", "Ferry fares rise to 3 dollars in May."])
    state = WriteState(
        vocab={"harbor": 4, "tram": 9},  # ids 0-3 and 5-8 belonged to terms since deleted
        by_hash={known.article.text_hash: 3},
        next_article=10,
        next_paragraph=100,
    )
    files = [(source("known.txt"), [known]), (source("fresh.txt"), [fresh]), (source("copy.txt"), [copy])]
    old = dict([stored(source("known.txt", size=1), 3)])  # a changed file of a stored article
    # the store holds the known article as its file said before, from another source
    before = StoredArticle(
        "Harbor tram", None, "Courier", None, ("The harbor tram opened to riders on Monday.",)
    )
    rows = plan_rows(
        files,
        old,
        orphans={3},
        state=state,
        tokenizer=tokenizer,
        indexed_at="now",
        dropped=old,
        stored={3: before},
    )

    assert (rows.added, rows.changed, rows.unchanged, rows.duplicates) == (2, 1, 0, 1)
    assert rows.added_article_ids == [10]
    assert rows.seen == {(ROOT, "known.txt"), (ROOT, "fresh.txt"), (ROOT, "copy.txt")}
    # the known article keeps its id and takes what its file now says (the title's terms are written again)
    assert [u[:4] + u[5:] for u in rows.updates] == [("Harbor tram", None, "Wire", None, 1, 3)]
    assert rows.rewritten == []  # the same text
    assert [(f[1], f[5]) for f in rows.files] == [("known.txt", 3), ("fresh.txt", 10), ("copy.txt", 10)]
    # only the new article is stored and tokenized; new terms get ids after the largest in use
    (article,) = rows.articles
    assert article[:6] == (10, fresh.article.text_hash, "Ferry fares", None, "Wire", None)
    assert article[7:] == (2, "now")
    names = {i: t for t, i in state.vocab.items()}
    assert {t for _, t in rows.terms} == {"ferry", "fares", "ana", "ruiz", "rise", "3", "dollars", "may"}
    assert sorted(i for i, _ in rows.terms) == list(range(10, 18))

    def words(blob: bytes) -> list[str]:
        return [names[int(i)] for i in np.frombuffer(blob, dtype=np.uint32)]

    assert words(article[6]) == ["ferry", "fares"]
    assert [(p[0], p[1], p[2], words(p[4]), p[5]) for p in rows.paragraphs] == [
        (100, 10, 0, ["ana", "ruiz"], FLAG_JUNK),  # a byline
        (101, 10, 1, ["ferry", "fares", "rise", "3", "dollars", "may"], 0),
    ]
    assert (state.next_article, state.next_paragraph) == (11, 102)


def test_terms_a_worker_process_found_are_used_as_they_are() -> None:
    class NoTokenizer(Tokenizer):
        def tokens_many(self, texts: list[str]) -> list[list[str]]:
            raise AssertionError("tokenized again")

    rec = record("a.txt", "Title", ["Some paragraph."])
    rec.terms = ["x\x00y", "z\x00z\x00z\x00z"]  # as workers.read_and_tokenize sends them
    state = WriteState(vocab={}, by_hash={}, next_article=1, next_paragraph=1)
    rows = plan_rows([(source("a.txt"), [rec])], {}, set(), state, NoTokenizer(TokenizerSpec()), "now")
    assert state.vocab.keys() == {"x", "y", "z"}
    assert rows.paragraphs[0][4] == np.array([state.vocab["z"]] * 4, dtype=np.uint32).tobytes()
    assert rows.paragraphs[0][5] == junk_flag("Some paragraph.", 15, 4) == 0


@pytest.mark.parametrize(
    ("vocab", "first_new"),
    [({}, 0), ({"a": 0, "b": 1}, 2), ({"a": 7}, 8), ({"a": 2, "b": 5}, 6)],
)
def test_term_ids_are_never_reused(vocab: dict[str, int], first_new: int) -> None:
    state = WriteState(vocab=dict(vocab), by_hash={}, next_article=1, next_paragraph=1)
    new: list[tuple[int, str]] = []
    state.encode([["a", "new"], ["newer"]], new)
    fresh = 3 - ("a" in vocab)
    assert sorted(i for i, _ in new) == list(range(first_new, first_new + fresh))
    assert all(state.vocab[t] == i for t, i in vocab.items())  # known terms keep their ids
