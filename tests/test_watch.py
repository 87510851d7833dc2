"""Keeping up with the news: the folder watch, following new stories, and ``newsbot index --watch``."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from newsbot.cli.main import build_parser, cmd_index
from newsbot.index.api import NewsIndex
from newsbot.index.errors import NewsbotError
from newsbot.index.ingest.lock import writer_lock
from newsbot.index.ingest.watch import FolderWatch, OnReport, fingerprint
from newsbot.index.model import IndexReport

from .helpers import make_settings, write_article

TRAM = ["The Harbor Line tram opens to passengers on Monday after two years of track work."]
FERRY = ["The Bayline ferry adds an early crossing to its winter timetable from next week."]
LIGHTHOUSE = ["The Gullrock lighthouse keeper retired after forty years of service on the rock."]


def news(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    write_article(folder, "tram.txt", "Tram Opens Monday", TRAM, date="2026-10-01")
    write_article(folder, "ferry.txt", "Ferry Timetable Changes", FERRY, date="2026-10-02")
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return news(tmp_path)


@pytest.fixture
async def index(tmp_path: Path, folder: Path) -> AsyncIterator[NewsIndex]:
    idx = await NewsIndex.open(make_settings(tmp_path, [folder], watch={"announce_cap": 3}))
    try:
        await idx.reindex()
        yield idx
    finally:
        await idx.close()


def titles(index_announcements: list) -> list[list[str]]:  # type: ignore[type-arg]
    return [[s.title for s in a.stories] for a in index_announcements]


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not condition():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.01)


class Rounds:
    """Counts the rounds of every FolderWatch that have finished (the report, if any, handed on)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.done = 0
        real = FolderWatch.round

        async def counted(watch: FolderWatch, on_report: OnReport) -> None:
            await real(watch, on_report)
            self.done += 1

        monkeypatch.setattr(FolderWatch, "round", counted)

    async def more(self, count: int) -> None:
        """Until ``count`` whole rounds that started after this call have finished."""
        target = self.done + 1 + count  # + the round under way now, which may have looked already
        await eventually(lambda: self.done >= target)


# --- the watch ------------------------------------------------------------------------------------


def test_fingerprint_changes_when_an_article_file_does(folder: Path) -> None:
    first = fingerprint([folder])
    assert fingerprint([folder]) == first
    (folder / "notes.md").write_text("not an article", encoding="utf-8")
    assert fingerprint([folder]) == first
    added = write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
    second = fingerprint([folder])
    assert second != first
    write_article(folder, "lighthouse.txt", "Keeper Retires", [*LIGHTHOUSE, "A second paragraph."])
    assert fingerprint([folder]) != second
    added.unlink()
    assert fingerprint([folder]) == first


async def test_the_watch_reindexes_only_when_something_changed(index: NewsIndex, folder: Path) -> None:
    watch = FolderWatch(index, [folder])
    first = await watch.check()  # the first round has nothing to compare with: a (no-op) reindex
    assert first is not None and not first.changed_anything
    generation = index.generation.number if index.generation else 0
    assert await watch.check() is None

    write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
    report = await watch.check()
    assert report is not None and (report.added, report.removed) == (1, 0)
    assert index.generation is not None and index.generation.number == generation + 1
    assert (await index.ask("lighthouse keeper")).hits[0].title == "Keeper Retires"

    (folder / "lighthouse.txt").unlink()
    report = await watch.check()
    assert report is not None and report.removed == 1
    assert all(h.title != "Keeper Retires" for h in (await index.ask("lighthouse")).hits)


async def test_asking_for_the_words_of_a_removed_article(index: NewsIndex, folder: Path) -> None:
    path = write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
    await index.reindex()
    path.unlink()
    await index.reindex()  # its words stay known, with no postings left
    answer = await index.ask("lighthouse keeper")
    assert answer.hits == () and answer.note


async def test_a_round_finding_a_reindex_running_is_skipped_and_retried(
    index: NewsIndex, folder: Path
) -> None:
    slot_free = False
    watch = FolderWatch(index, [folder], claim=lambda: slot_free)
    write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
    assert await watch.check() is None  # the adapter's slot is taken (an admin's /reindex)

    slot_free = True
    with writer_lock(index.database):  # another process is reindexing
        assert await watch.check() is None

    report = await watch.check()
    assert report is not None and report.added == 1


async def test_stopping_the_watch_stops_its_reindex(index: NewsIndex, folder: Path) -> None:
    for i in range(300):
        write_article(folder, f"filler-{i}.txt", f"Filler {i}", [f"Filler story {i} about the orchard."])
    task = asyncio.create_task(FolderWatch(index, [folder]).check())
    await eventually(lambda: index.reindexing)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not index.reindexing
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not others, others
    assert (await index.stats()).articles == 2  # rolled back: the previous index still serves


async def test_the_watch_loop_logs_failures_and_keeps_going(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "later"
    reports: list[IndexReport] = []
    rounds = Rounds(monkeypatch)

    async def collect(report: IndexReport) -> None:
        reports.append(report)

    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        task = asyncio.create_task(FolderWatch(index).run(0.02, collect))
        with caplog.at_level(logging.WARNING, logger="newsbot.index.ingest.watch"):
            await rounds.more(3)  # the folder is missing: every round fails, and is logged
        assert not reports and not task.done()
        failures = [r for r in caplog.records if r.name == "newsbot.index.ingest.watch"]
        assert len(failures) >= 3 and all("Watching the news folders" in r.getMessage() for r in failures)
        write_article(folder, "tram.txt", "Tram Opens Monday", TRAM)
        await eventually(lambda: bool(reports))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert reports[0].added == 1


async def test_a_reader_picks_up_what_another_connection_indexed(index: NewsIndex, folder: Path) -> None:
    write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
    async with await NewsIndex.open(index.settings) as other:  # e.g. `newsbot index --watch`
        await other.reindex()
    assert (await index.ask("lighthouse keeper")).hits[0].title == "Keeper Retires"


# --- following new stories --------------------------------------------------------------------------


async def test_only_articles_indexed_after_following_are_announced_once(
    index: NewsIndex, folder: Path
) -> None:
    follow = await index.follow(1, 10)
    assert (follow.guild_id, follow.channel_id, follow.topic) == (1, 10, None)
    assert await index.take_announcements() == []

    write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE, date="2026-10-03")
    write_article(
        folder, "older.txt", "Older Story Arrives", ["An older story about the quay walls."], "2026-09-01"
    )
    await index.reindex()
    announcements = await index.take_announcements()
    assert titles(announcements) == [["Keeper Retires", "Older Story Arrives"]]  # newest first
    story = announcements[0].stories[0]
    assert story.lead.startswith("The Gullrock lighthouse") and story.path == "lighthouse.txt"
    assert announcements[0].more == 0 and announcements[0].follow.channel_id == 10

    assert await index.take_announcements() == []
    await index.reindex()
    assert await index.take_announcements() == []


async def test_a_topic_limits_what_is_announced(index: NewsIndex, folder: Path) -> None:
    await index.follow(1, 10, "lighthouse keeper")
    await index.follow(2, 20)
    write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
    write_article(folder, "bridge.txt", "Bridge Reopens", ["The Kestrel bridge reopened on Saturday."])
    await index.reindex()
    by_guild = {a.follow.guild_id: [s.title for s in a.stories] for a in await index.take_announcements()}
    assert by_guild == {1: ["Keeper Retires"], 2: ["Keeper Retires", "Bridge Reopens"]}

    write_article(folder, "bridge2.txt", "Bridge Tolls", ["Tolls return to the Kestrel bridge in May."])
    await index.reindex()
    assert [a.follow.guild_id for a in await index.take_announcements()] == [2]


async def test_over_the_cap_the_rest_is_counted_not_posted(index: NewsIndex, folder: Path) -> None:
    await index.follow(1, 10)
    for i in range(10):
        write_article(folder, f"burst-{i}.txt", f"Burst Story {i}", [f"Burst story number {i} of ten."])
    await index.reindex()
    (announcement,) = await index.take_announcements()
    assert len(announcement.stories) == 3 and announcement.more == 7
    assert await index.take_announcements() == []


async def test_a_restart_neither_repeats_nor_loses_announcements(tmp_path: Path, folder: Path) -> None:
    settings = make_settings(tmp_path, [folder])
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        await index.follow(1, 10)
        write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
        await index.reindex()
    async with await NewsIndex.open(settings) as index:  # restarted before announcing: not lost
        assert titles(await index.take_announcements()) == [["Keeper Retires"]]
    async with await NewsIndex.open(settings) as index:  # restarted after: not repeated
        assert await index.take_announcements() == []
        assert (await index.following(1)) is not None


async def test_a_story_removed_re_added_or_edited_is_not_announced_again(
    index: NewsIndex, folder: Path
) -> None:
    await index.follow(1, 10)
    path = write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
    await index.reindex()
    assert titles(await index.take_announcements()) == [["Keeper Retires"]]

    text = path.read_text(encoding="utf-8")
    path.unlink()
    await index.reindex()
    path.write_text(text, encoding="utf-8")
    await index.reindex()
    assert await index.take_announcements() == []  # the same text keeps its arrival number

    write_article(folder, "lighthouse.txt", "Keeper Retires", [*LIGHTHOUSE, "He moves to the mainland."])
    report = await index.reindex()
    assert report.changed == 1
    assert await index.take_announcements() == []  # same title and date: the same story


async def test_following_an_empty_index_does_not_announce_the_first_index(tmp_path: Path) -> None:
    folder = news(tmp_path)
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        await index.follow(1, 10)
        await index.reindex()
        assert await index.take_announcements() == []
        write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
        await index.reindex()
        assert titles(await index.take_announcements()) == [["Keeper Retires"]]


async def test_what_another_process_indexed_is_announced(index: NewsIndex, folder: Path) -> None:
    await index.follow(1, 10, "lighthouse")
    generation = index.generation.number if index.generation else 0
    write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
    write_article(folder, "bridge.txt", "Bridge Reopens", ["The Kestrel bridge reopened on Saturday."])
    async with await NewsIndex.open(index.settings) as other:
        await other.reindex()
    assert index.generation is not None and index.generation.number == generation  # not refreshed yet
    assert titles(await index.take_announcements()) == [["Keeper Retires"]]


async def test_follow_unfollow_and_topic_checks(index: NewsIndex) -> None:
    with pytest.raises(NewsbotError, match="common words"):
        await index.follow(1, 10, "the of and")
    first = await index.follow(1, 10, "  tram   line ")
    assert first.topic == "tram line"
    moved = await index.follow(1, 11)
    assert (moved.channel_id, moved.topic, moved.since_seq) == (11, None, first.since_seq)
    removed = await index.unfollow(1)
    assert removed is not None and removed.channel_id == 11
    assert await index.unfollow(1) is None and await index.following(1) is None


async def test_migration_2_counts_existing_articles_as_arrived(tmp_path: Path, folder: Path) -> None:
    settings = make_settings(tmp_path, [folder])
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
    with sqlite3.connect(settings.database) as conn:  # back to schema 1
        conn.executescript(
            "DROP TRIGGER articles_arrive; DROP TABLE arrivals; DROP TABLE follows; DROP TABLE announced;"
            " ALTER TABLE paragraphs DROP COLUMN flags; DROP TABLE feeds; DROP TABLE feed_states;"
            " DROP TABLE units_elsewhere;"
            " DELETE FROM sqlite_sequence; PRAGMA user_version = 1;"
        )
    async with await NewsIndex.open(settings) as index:
        assert await index.store.scalar("SELECT count(*) FROM arrivals") == 2
        await index.follow(1, 10)
        (folder / "tram.txt").rename(folder / "tram-moved.txt")  # an old article stored again
        await index.reindex()
        assert await index.take_announcements() == []


# --- newsbot index --watch -------------------------------------------------------------------------


async def test_cli_watch_prints_a_line_per_change_and_stops_cleanly(
    tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds = Rounds(monkeypatch)
    db = str(tmp_path / "cli.db")
    args = build_parser().parse_args(
        ["index", "--watch", str(folder), "--db", db, "--interval", "0.05", "--json"]
    )
    task = asyncio.create_task(cmd_index(args))
    lines: list[dict[str, object]] = []

    def seen(count: int) -> Callable[[], bool]:
        def check() -> bool:
            lines.extend(json.loads(line) for line in capsys.readouterr().out.splitlines())
            return len(lines) >= count

        return check

    await eventually(seen(1))
    assert lines[0]["added"] == 2
    await rounds.more(2)
    assert not seen(2)()  # unchanged rounds print nothing
    write_article(folder, "lighthouse.txt", "Keeper Retires", LIGHTHOUSE)
    await eventually(seen(2))
    assert (lines[1]["added"], lines[1]["articles"]) == (1, 3)
    task.cancel()
    assert await task == 0
    assert "Stopped watching" in capsys.readouterr().err


def test_cli_interval_needs_watch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from newsbot.cli.main import main

    assert main(["index", str(tmp_path), "--db", str(tmp_path / "x.db"), "--interval", "5"]) == 2
    assert "--interval goes with --watch" in capsys.readouterr().err
