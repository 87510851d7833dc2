"""An article told twice: its citation (path, title, date, source, link) always belongs to one existing
file, its citing copy (the lowest path), and an incremental reindex stores what a build from scratch
stores, whatever sequence of additions, changes and deletions led there."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from newsbot.index.api import NewsIndex
from newsbot.index.ingest.indexer import reindex
from newsbot.index.ranking.bm25 import BM25Params
from newsbot.index.tokenizer import TokenizerSpec

from .helpers import make_settings, write_article

CITATIONS = """
    SELECT a.title, a.date, a.source, a.url,
        (SELECT rel FROM files f WHERE f.article_id = a.id ORDER BY rel LIMIT 1),
        (SELECT group_concat(text, '|') FROM (SELECT text FROM paragraphs p WHERE p.article_id = a.id
            ORDER BY position)),
        a.paragraphs
    FROM articles a
"""


def stored(database: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The citations of every article, and the file rows, in a comparable order."""
    with sqlite3.connect(database) as con:
        cites = sorted(con.execute(CITATIONS).fetchall(), key=repr)
        files = sorted(con.execute("SELECT root, rel, unit FROM files").fetchall())
    return cites, files


async def from_scratch(folders: list[Path]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "fresh.db"
        await reindex(database, folders, TokenizerSpec(), BM25Params())
        return stored(database)


def set_meta(folder: Path, rows: dict[str, tuple[str, str]]) -> None:
    lines = [json.dumps({"file": name, "source": s, "url": u}) for name, (s, u) in sorted(rows.items())]
    (folder / "metadata.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


async def test_the_citation_is_the_lowest_copy_and_follows_it_when_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    tram = ["The harbor tram opened to riders on Monday."]
    write_article(folder, "a-gazette.txt", "Harbor tram opens", tram, "2026-10-10")
    write_article(folder, "b-wire.txt", "Harbor tram opens", tram, "2026-10-01")
    set_meta(
        folder,
        {
            "a-gazette.txt": ("Gazette", "https://gazette.example/t"),
            "b-wire.txt": ("Wire", "https://wire.example/t"),
        },
    )
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        report = await index.reindex()
        assert report.duplicates == 1 and report.articles == 1
        (hit,) = (await index.ask("harbor tram")).hits
        assert (hit.path, hit.date, hit.source, hit.url) == (
            "a-gazette.txt",
            dt.date(2026, 10, 10),
            "Gazette",
            "https://gazette.example/t",
        )
        assert (await index.ask("harbor tram", as_of=dt.date(2026, 10, 5))).hits == ()

        (folder / "a-gazette.txt").unlink()
        await index.reindex()
        (hit,) = (await index.ask("harbor tram")).hits
        assert (hit.path, hit.date, hit.source, hit.url) == (
            "b-wire.txt",
            dt.date(2026, 10, 1),
            "Wire",
            "https://wire.example/t",
        )
        # the date of the copy that is left: found as of a day the deleted copy was not yet out
        assert [h.path for h in (await index.ask("harbor tram", as_of=dt.date(2026, 10, 5))).hits] == [
            "b-wire.txt"
        ]
    assert stored(tmp_path / "news.db") == await from_scratch([folder])


async def test_a_copy_with_a_lower_path_takes_over_and_a_copy_in_capitals_gives_its_text(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "news"
    write_article(folder, "m.txt", "Council vote", ["The council voted to repave Elm Street."], "2026-10-03")
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        await index.reindex()
        write_article(folder, "a.txt", "COUNCIL VOTE", ["THE COUNCIL VOTED TO REPAVE ELM STREET."], None)
        report = await index.reindex()
        assert report.duplicates == 1
        (hit,) = (await index.ask("council elm street")).hits
        assert (hit.path, hit.title, hit.date, hit.text) == (
            "a.txt",
            "COUNCIL VOTE",
            None,
            "THE COUNCIL VOTED TO REPAVE ELM STREET.",
        )
    assert stored(tmp_path / "news.db") == await from_scratch([folder])


@pytest.mark.parametrize("how", ["reindex-one-folder", "forget"])
async def test_the_next_copy_is_read_even_in_a_folder_this_run_does_not_scan(
    tmp_path: Path, how: str
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    tram = ["The harbor tram opened to riders on Monday."]
    write_article(one, "a.txt", "Harbor tram opens", tram, "2026-10-10")
    write_article(two, "b.txt", "Harbor tram opens", tram, "2026-10-01")
    set_meta(two, {"b.txt": ("Wire", "https://wire.example/t")})
    async with await NewsIndex.open(make_settings(tmp_path, [one, two])) as index:
        await index.reindex()
        if how == "forget":
            report = await index.reindex(forget=[one])
        else:
            (one / "a.txt").unlink()
            report = await index.reindex([one])  # "two" is not scanned
        assert report.removed == 1
        (hit,) = (await index.ask("harbor tram")).hits
        assert (hit.path, hit.date, hit.source, hit.url) == (
            "b.txt",
            dt.date(2026, 10, 1),
            "Wire",
            "https://wire.example/t",
        )
        # the file read for it is stored as a scan of its folder finds it: nothing to do there next
        again = await index.reindex([two])
        assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 1)
    assert stored(tmp_path / "news.db") == await from_scratch([two])


async def test_a_store_from_before_the_rule_is_brought_in_line_once(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    tram = ["The harbor tram opened to riders on Monday."]
    write_article(folder, "a.txt", "Harbor tram opens", tram, "2026-10-10")
    write_article(folder, "b.txt", "Harbor tram opens", tram, "2026-10-01")
    database = tmp_path / "news.db"
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        await index.reindex()
    with sqlite3.connect(database) as con:  # what an older version stored: the later copy's date
        con.execute("UPDATE articles SET date = '2026-10-01', source = 'Wire'")
        con.execute("DELETE FROM meta WHERE key = 'citations'")
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        report = await index.reindex()
        assert report.published and report.unchanged == 2
        (hit,) = (await index.ask("harbor tram")).hits
        assert (hit.path, hit.date, hit.source) == ("a.txt", dt.date(2026, 10, 10), None)
        again = await index.reindex()
        assert again.generation == report.generation  # once: nothing is read again after that
    assert stored(database) == await from_scratch([folder])


# --- any sequence of changes: incremental equals from scratch --------------------------------------

TEXTS = [
    ("Harbor tram opens", "The harbor tram opened to riders on Monday."),
    ("HARBOR TRAM OPENS", "THE HARBOR TRAM OPENED TO RIDERS ON MONDAY."),  # the same article, in capitals
    ("Council vote", "The council voted to repave Elm Street."),
]
NAMES = ["a.txt", "b.txt", "sub/a.txt", "z.txt"]
DATES = [None, "2026-10-01", "2026-10-09"]
SOURCES = [None, ("Gazette", "https://gazette.example/1"), ("Wire", "https://wire.example/2")]


@dataclass(frozen=True)
class Copy:
    text: int
    date: str | None
    meta: tuple[str, str] | None


class Duplicates(RuleBasedStateMachine):
    """Files in two folders holding a few articles, each possibly many times; after every step the
    incremental index equals one built from scratch, and each citation is its lowest copy's."""

    @initialize()
    def setup(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        base = Path(self.tmp.name)
        self.folders = [base / "one", base / "two"]
        for folder in self.folders:
            folder.mkdir()
        self.database = base / "news.db"
        self.files: dict[tuple[int, str], Copy] = {}
        self.feeds: dict[int, list[Copy]] = {}
        self.clock = 1_700_000_000_000_000_000
        self.dirty = False  # the folders changed since the last reindex

    def teardown(self) -> None:
        self.tmp.cleanup()

    def _stamp(self, path: Path) -> None:
        self.clock += 1_000_000_000  # a new mtime for every write: a change is always seen
        self.dirty = True
        os.utime(path, ns=(self.clock, self.clock))

    def _write_meta(self, folder: int) -> None:
        rows = {
            name.rsplit("/", 1)[-1]: copy.meta
            for (f, name), copy in self.files.items()
            if f == folder and copy.meta and "/" not in name
        }
        set_meta(self.folders[folder], rows)  # type: ignore[arg-type]
        self._stamp(self.folders[folder] / "metadata.jsonl")

    @rule(
        folder=st.integers(0, 1),
        name=st.sampled_from(NAMES),
        text=st.integers(0, len(TEXTS) - 1),
        date=st.sampled_from(DATES),
        meta=st.sampled_from(SOURCES),
    )
    def write(
        self, folder: int, name: str, text: int, date: str | None, meta: tuple[str, str] | None
    ) -> None:
        if "/" in name:
            meta = None  # (metadata rows are for the files beside metadata.jsonl)
        title, body = TEXTS[text]
        path = write_article(self.folders[folder], name, title, [body], date)
        self._stamp(path)
        self.files[folder, name] = Copy(text, date, meta)
        self._write_meta(folder)

    @rule(folder=st.integers(0, 1), name=st.sampled_from(NAMES))
    def delete(self, folder: int, name: str) -> None:
        if self.files.pop((folder, name), None) is not None:
            (self.folders[folder] / name).unlink()
            self.dirty = True
            self._write_meta(folder)

    @rule(
        folder=st.integers(0, 1),
        lines=st.lists(
            st.tuples(st.integers(0, len(TEXTS) - 1), st.sampled_from(DATES), st.sampled_from(SOURCES)),
            max_size=3,
        ),
    )
    def feed(self, folder: int, lines: list[tuple[int, str | None, tuple[str, str] | None]]) -> None:
        path = self.folders[folder] / "feed.jsonl"
        if not lines:
            if self.feeds.pop(folder, None) is not None:
                path.unlink()
                self.dirty = True
            return
        rows = []
        for text, date, meta in lines:
            title, body = TEXTS[text]
            row: dict[str, object] = {"title": title, "text": body, "date": date}
            if meta:
                row.update(source=meta[0], url=meta[1])
            rows.append(json.dumps(row))
        path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
        self._stamp(path)
        self.feeds[folder] = [Copy(t, d, m) for t, d, m in lines]

    def expected(self) -> list[tuple[object, ...]]:
        """The citations the rule gives, from what the folders hold."""
        copies: dict[str, list[tuple[str, str, Copy]]] = {}
        every = [(name, f, c) for (f, name), c in self.files.items()]
        every += [
            (f"feed.jsonl#{i}", f, c) for f, cs in self.feeds.items() for i, c in enumerate(cs, start=1)
        ]
        for rel, folder, copy in every:
            copies.setdefault(TEXTS[copy.text][1].casefold(), []).append(
                (rel, str(self.folders[folder]), copy)
            )
        out = []
        for group in copies.values():
            rel, _, copy = min(group, key=lambda g: (g[0], g[1]))
            title, body = TEXTS[copy.text]
            source, url = copy.meta or (None, None)
            out.append((title, copy.date, source, url, rel, body, 1))
        return sorted(out, key=repr)

    @precondition(lambda self: self.dirty)
    @rule()
    def reindex_and_compare(self) -> None:
        """An incremental reindex (after any number of changes) stores what a build from scratch does."""
        asyncio.run(reindex(self.database, self.folders, TokenizerSpec(), BM25Params()))
        self.dirty = False
        now = stored(self.database)
        assert now == asyncio.run(from_scratch(self.folders))
        assert now[0] == self.expected()


TestDuplicates = Duplicates.TestCase
TestDuplicates.settings = settings(
    max_examples=100,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
