"""Video pages (a headline and a player's boilerplate, nothing else) are found by their headline,
and shown by it; a change of the junk rules reaches the paragraphs already stored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from bot import render as bot_render
from cli import render as cli_render
from cli.main import main
from index.api import NewsIndex
from index.indexer import FLAG_HEADLINE, FLAG_JUNK, FLAG_NUMBER, JUNK_RULES, is_junk

from .conftest import make_settings, write_article

PLAYER = (
    "Video player was slow to load content Video content never loaded Ad froze or did not finish loading"
    " Video content did not start after ad Audio on ad was too loud Other issues"
)
AD = "1. How relevant is this ad to you?"
VIDEO_TITLE = "Stromboli volcano erupts on Italian island"


def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    write_article(folder, "video.txt", VIDEO_TITLE, [AD, PLAYER], "2026-10-10")
    write_article(folder, "recall.txt", "Carmaker recalls 2.9 million vehicles", [AD, PLAYER], "2026-10-10")
    write_article(
        folder,
        "ferry.txt",
        "Island ferry timetable changes",
        [
            "The island ferry will leave the harbour at seven from next week, the operator said.",
            "Tickets bought for the old timetable stay valid until the end of the month.",
        ],
        "2026-10-09",
    )
    for i in range(6):  # enough other articles for idf to mean something
        write_article(folder, f"filler{i}.txt", f"Garden notes {i}", [f"Autumn gardening tips, number {i}."])
    return folder


def test_a_video_players_feedback_form_is_junk() -> None:
    assert is_junk(PLAYER[:120], len(PLAYER), 30)
    assert is_junk(AD[:120], len(AD), 5)
    sentence = "The video player was slow to load, viewers said, but the speech itself was clear and short."
    assert not is_junk(sentence[:120], len(sentence), 12)


async def test_a_video_page_is_found_and_shown_by_its_headline(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, [corpus(tmp_path)])
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        gen = await index._current()
        flags = {}
        with sqlite3.connect(settings.database) as conn:
            for name in ("video.txt", "recall.txt"):
                (article,) = conn.execute("SELECT article_id FROM files WHERE rel = ?", (name,)).fetchone()
                start = int(gen.art_start[int(np.flatnonzero(np.asarray(gen.art_ids) == article)[0])])
                flags[name] = np.asarray(gen.para_flags)[start : start + 2].tolist()
        # the first paragraph stands for the headline (with the number bit for the headline's number,
        # not for the form's "1."); the player's form stays junk
        assert flags == {
            "video.txt": [FLAG_HEADLINE, FLAG_JUNK],
            "recall.txt": [FLAG_HEADLINE | FLAG_NUMBER, FLAG_JUNK],
        }
        answer = await index.ask("Which volcano erupted on an island?", as_of=None)
    top = answer.hits[0]
    assert top.path == "video.txt" and top.text == VIDEO_TITLE and top.paragraph is None
    assert top.place == "headline"
    assert top.excerpt.plain == VIDEO_TITLE and top.excerpt.marks  # "Stromboli volcano …", marked
    assert top.to_json()["paragraph"] is None
    # the ferry article holds "island" too, and is shown by its paragraph
    assert {h.path for h in answer.hits[1:]} == {"ferry.txt"} and answer.hits[1].paragraph == 0
    assert "video.txt headline" in cli_render.hit(top)
    footer = bot_render.answer_message(answer).embeds[0].footer.text
    assert footer is not None and footer.endswith("video.txt headline")


async def test_an_all_junk_article_that_matches_in_its_text_shows_its_text(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "a.txt", "Old story", ["Nothing about zebras here."])  # too short: junk
    for i in range(6):
        write_article(folder, f"filler{i}.txt", f"Filler {i}", [f"Gardening tips number {i} for autumn."])
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        await index.reindex()
        by_text = (await index.ask("zebras")).hits
        by_title = (await index.ask("old story")).hits
    assert [(h.text, h.paragraph) for h in by_text] == [("Nothing about zebras here.", 0)]
    assert [(h.text, h.paragraph) for h in by_title] == [("Old story", None)]


def test_the_cli_prints_a_headline_passage_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "n.db")
    assert main(["index", str(corpus(tmp_path)), "--db", db, "--json"]) == 0
    capsys.readouterr()
    assert main(["ask", "Stromboli volcano", "--db", db, "--as-of", "2026-10-11", "--json"]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert (hit["path"], hit["paragraph"], hit["text"]) == ("video.txt", None, VIDEO_TITLE)
    assert main(["ask", "Stromboli volcano", "--db", db, "--as-of", "2026-10-11"]) == 0
    assert "video.txt headline" in capsys.readouterr().out


async def test_new_junk_rules_reach_the_stored_paragraphs(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, [corpus(tmp_path)])
    async with await NewsIndex.open(settings) as index:
        first = await index.reindex()
    with sqlite3.connect(settings.database) as conn:  # as an older version's rules left them
        conn.execute("UPDATE paragraphs SET flags = 0 WHERE text = ?", (PLAYER,))
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'junk_rules'")
        before = conn.execute("SELECT id, text, terms FROM paragraphs ORDER BY id").fetchall()
    async with await NewsIndex.open(settings) as index:
        again = await index.reindex()  # no file changed, but the flags did
        gen = await index._current()
        assert again.generation == first.generation + 1
        assert (await index.ask("volcano island")).hits[0].text == VIDEO_TITLE
        assert (await index.reindex()).generation == again.generation  # and now nothing did
    assert FLAG_HEADLINE in np.asarray(gen.para_flags).tolist()
    with sqlite3.connect(settings.database) as conn:
        assert conn.execute("SELECT flags FROM paragraphs WHERE text = ?", (PLAYER,)).fetchone() == (
            FLAG_JUNK,
        )
        assert conn.execute("SELECT value FROM meta WHERE key = 'junk_rules'").fetchone() == (
            str(JUNK_RULES),
        )
        assert conn.execute("SELECT id, text, terms FROM paragraphs ORDER BY id").fetchall() == before


async def test_latest_leads_with_the_first_paragraph_that_is_not_junk(tmp_path: Path) -> None:
    folder = corpus(tmp_path)
    byline = [
        "By Ana Ruiz",
        "Alderbrook CNN —",
        "The harbour crane lifted the new ferry into the water on Monday.",
    ]
    write_article(folder, "crane.txt", "Ferry launched", byline, "2026-10-12")
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        await index.reindex()
        stories = await index.latest(n=3)
    latest = {s.path: s.lead for s in stories}
    assert latest["crane.txt"] == byline[2]
    shown = cli_render.stories(stories).splitlines()
    assert len(shown) == 3 + 2 + 2 and all(line.strip() for line in shown)  # no empty lead line
    assert latest["video.txt"] == latest["recall.txt"] == ""  # nothing but the player's form
