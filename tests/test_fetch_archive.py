"""Articles written as news files: the reference format, safe names, no duplicates, atomic updates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsbot.index.fetch import Archive, ArchiveError, Draft
from newsbot.index.fetch.archive import METADATA_NAME, file_name, normalise, render
from newsbot.index.ingest.parse import parse_bytes
from newsbot.index.ingest.sources import read, scan

from .fetch_server import make_story

FETCHED = dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC)


def draft(n: int = 1, **kw: object) -> Draft:
    story = make_story(n)
    values: dict[str, object] = {
        "title": story.title,
        "date": story.date,
        "paragraphs": story.paragraphs,
        "url": f"https://courier.test/{story.slug}",
        "source": "The Coastline Courier",
        "feed": "https://courier.test/rss.xml",
        "author": story.author,
        "published": dt.datetime.combine(story.date, dt.time(8, 30), dt.UTC),
        "fetched": FETCHED,
        "item_id": f"guid-{n}",
        "item_hash": f"h{n}",
        "text_from": "page",
    }
    values.update(kw)
    return Draft(**values)  # type: ignore[arg-type]


def test_written_file_parses_back_and_the_indexer_reads_its_row(tmp_path: Path) -> None:
    with Archive(tmp_path) as archive:
        stored = archive.store(draft())
    assert stored.status == "new"
    path = tmp_path / stored.file
    story = make_story(1)
    assert path.parent.name == story.date.strftime("%Y-%m")
    data = path.read_bytes()
    assert data.startswith(f" date {story.date.isoformat()} {story.title}\n\n".encode())
    article = parse_bytes(data)
    assert (article.title, article.date, article.paragraphs) == (story.title, story.date, story.paragraphs)
    row = json.loads((path.parent / METADATA_NAME).read_text(encoding="utf-8"))
    assert row["file"] == path.name and row["url"] == "https://courier.test/story-1"
    assert row["source"] == "The Coastline Courier" and row["feed"] == "https://courier.test/rss.xml"
    assert row["author"] == story.author and row["published"].startswith(story.date.isoformat())
    assert row["fetched"] == "2026-03-05T09:00:00+00:00" and row["date_estimated"] is False
    found, skipped = scan([tmp_path])
    assert skipped == [] and [f.rel for f in found] == [stored.file], "hidden state files are not articles"
    records, problems = read(found[0])
    assert problems == [] and records[0].article.url == "https://courier.test/story-1"
    assert records[0].article.source == "The Coastline Courier"


def test_file_names_are_safe_whatever_the_feed_says(tmp_path: Path) -> None:
    hostile = draft(
        title="../../../etc/passwd\x00\u202e<script> " + "very long title " * 40,
        url="https://courier.test/../../x",
    )
    with Archive(tmp_path / "feed") as archive:
        stored = archive.store(hostile)
    path = (tmp_path / "feed" / stored.file).resolve()
    assert path.is_relative_to((tmp_path / "feed").resolve()) and len(path.name) <= 80
    assert all(c.isalnum() or c in "-." for c in path.name)
    title = parse_bytes(path.read_bytes()).title
    assert "\x00" not in title and "\u202e" not in title and len(title) <= 300 and title.endswith("…")
    assert file_name(dt.date(2026, 1, 2), "Ünïcödé ✓ — title!", "k").startswith("2026-01-02-unicode-title-")
    assert file_name(dt.date(2026, 1, 2), "✓✓✓", "k").startswith("2026-01-02-article-")


def test_same_link_is_stored_once_and_an_update_replaces_the_file(tmp_path: Path) -> None:
    with Archive(tmp_path) as archive:
        first = archive.store(draft())
        again = archive.store(draft(item_hash="h-other"))
        assert again.status == "unchanged" and again.file == first.file
        changed = [*make_story(1).paragraphs, "A correction was added to this story on Thursday."]
        updated = archive.store(draft(paragraphs=changed, title="Council backs the plan (corrected)"))
        assert updated.status == "updated" and updated.file == first.file
        assert archive.lookup(url="https://courier.test/story-1")["content_hash"]  # type: ignore[index]
    files = list(tmp_path.rglob("*.txt"))
    assert len(files) == 1
    article = parse_bytes(files[0].read_bytes())
    assert article.title == "Council backs the plan (corrected)" and article.paragraphs[-1].startswith(
        "A correction"
    )
    found, _ = scan([tmp_path])
    records, _ = read(found[0])
    assert records[0].article.url == "https://courier.test/story-1"
    with Archive(tmp_path) as reopened:  # what is stored is known again from the files
        assert (
            reopened.store(draft(paragraphs=changed, title="Council backs the plan (corrected)")).status
            == "unchanged"
        )
        assert reopened.lookup(url="https://courier.test/story-1")["item_hash"] == "h1"  # type: ignore[index]


def test_same_text_at_another_link_is_a_duplicate(tmp_path: Path) -> None:
    with Archive(tmp_path) as archive:
        first = archive.store(draft())
        twin = archive.store(draft(url="https://mirror.test/copy", item_id="other", item_hash="hx"))
        assert twin.status == "duplicate" and twin.file == first.file
    with Archive(tmp_path) as reopened:
        seen = reopened.lookup(url="https://mirror.test/copy")
        assert seen is not None and seen["same_as"] == first.file and seen["item_hash"] == "hx"
    assert len(list(tmp_path.rglob("*.txt"))) == 1


def test_item_without_link_is_known_by_feed_and_id(tmp_path: Path) -> None:
    with Archive(tmp_path) as archive:
        first = archive.store(draft(url=None))
        assert archive.store(draft(url=None)).status == "unchanged"
        other_feed = archive.store(draft(2, url=None, feed="https://other.test/rss", item_id="guid-1"))
        assert other_feed.status == "new" and other_feed.file != first.file, "ids are per feed"


def test_interrupted_metadata_line_is_repaired_and_the_article_written_again(tmp_path: Path) -> None:
    with Archive(tmp_path) as archive:
        first = archive.store(draft(1))
        second = archive.store(draft(2, date=make_story(1).date))
    meta = tmp_path / first.file.split("/")[0] / METADATA_NAME
    data = meta.read_bytes()
    meta.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1) + 1] + b'{"file": "half')  # the 2nd row torn
    with Archive(tmp_path) as archive:
        assert archive.repairs and "unfinished last line" in archive.repairs[0]
        assert meta.read_bytes().endswith(b"\n") and len(archive) == 1
        again = archive.store(draft(2, date=make_story(1).date))
        assert again.status == "new" and again.file == second.file, "the same name: nothing left behind"
    found, skipped = scan([tmp_path])
    assert skipped == [] and len(found) == 2


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    with Archive(tmp_path), pytest.raises(ArchiveError, match="another newsbot fetch or import is writing"):
        Archive(tmp_path)
    Archive(tmp_path).close()  # free again


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ArchiveError, match="cannot create the folder"):
        Archive(blocker / "sub")


paragraph_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], min_codepoint=1), min_size=0, max_size=80
)


@settings(max_examples=150, deadline=None)
@given(title=paragraph_text, paragraphs=st.lists(paragraph_text, min_size=1, max_size=5))
def test_any_text_round_trips_through_the_parser(title: str, paragraphs: list[str]) -> None:
    clean_title, clean_paragraphs = normalise(title, paragraphs)
    if not clean_paragraphs:
        return
    article = parse_bytes(render(clean_title, dt.date(2026, 2, 3), clean_paragraphs))
    assert article.title == clean_title and article.paragraphs == clean_paragraphs
    assert article.date == dt.date(2026, 2, 3)
