"""Video pages (a headline and a player's boilerplate, nothing else) are found by their headline,
and shown by it; a change of the junk rules reaches the paragraphs already stored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from newsbot.bot import render as bot_render
from newsbot.cli import render as cli_render
from newsbot.cli.main import main
from newsbot.index.api import NewsIndex
from newsbot.index.ingest.junk import JUNK_RULES, is_junk
from newsbot.index.layout import FLAG_HEADLINE, FLAG_JUNK, FLAG_NUMBER

from .helpers import make_settings, write_article

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
        gen = await index.current_generation()
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
    # the rest of a video page (its player's form) is never shown
    assert [h.path for h in answer.hits].count("video.txt") == 1
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
        gen = await index.current_generation()
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


async def test_the_headline_is_shown_when_the_question_also_matches_the_form(tmp_path: Path) -> None:
    async with await NewsIndex.open(make_settings(tmp_path, [corpus(tmp_path)])) as index:
        await index.reindex()
        both = (await index.ask("Stromboli ad")).hits  # "ad" is in the form, "Stromboli" in the title
        form_only = (await index.ask("how relevant is this ad")).hits
    assert (both[0].path, both[0].text, both[0].paragraph) == ("video.txt", VIDEO_TITLE, None)
    assert form_only and {(h.text, h.paragraph) for h in form_only} == {(AD, 0)}


async def test_paragraph_and_article_scores_are_rank_bm25s_over_the_documents_indexed(tmp_path: Path) -> None:
    # a video page's first paragraph is its title's words then its own; its whole article holds the
    # title once; the benchmark hands rank-bm25 the same documents
    from rank_bm25 import BM25Okapi

    from bench.common import stored_token_lines
    from newsbot.index.ranking.bm25 import scores

    settings = make_settings(tmp_path, [corpus(tmp_path)])
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        gen = await index.current_generation()
        body, articles = gen.body(), gen.articles()
        assert articles is not None
        paragraphs: list[list[int]] = []
        wholes: list[list[int]] = []
        for art_id in np.asarray(gen.art_ids).tolist():
            (title,) = (await index.store.rows("SELECT title_terms FROM articles WHERE id = ?", [art_id]))[0]
            rows = await index.store.rows(
                "SELECT terms, flags FROM paragraphs WHERE article_id = ? ORDER BY position", [art_id]
            )
            title_ids = np.frombuffer(title, dtype=np.uint32).tolist()
            docs = [np.frombuffer(blob, dtype=np.uint32).tolist() for blob, _ in rows]
            video = all(flags & FLAG_JUNK for _, flags in rows)
            if video:
                docs[0] = title_ids + docs[0]
            paragraphs += docs
            wholes.append((title_ids if not video else []) + [t for d in docs for t in d])
        names = dict(await index.store.rows("SELECT id, term FROM terms"))
    lines = list(stored_token_lines(settings.database))
    assert lines == [" ".join(names[t] for t in doc) for doc in paragraphs]
    by_paragraph = BM25Okapi(paragraphs, k1=1.5, b=0.75, epsilon=0.25)
    by_article = BM25Okapi(wholes, k1=1.5, b=0.5, epsilon=0.25)
    vocabulary = sorted({t for doc in paragraphs for t in doc})
    rng = np.random.default_rng(11)
    for query in [[t] for t in vocabulary] + [rng.choice(vocabulary, size=3).tolist() for _ in range(20)]:
        dense, _, constant = scores(body, query)
        np.testing.assert_allclose(dense + constant, by_paragraph.get_scores(query), atol=1e-9)
        dense, _, constant = scores(articles, query)
        np.testing.assert_allclose(dense + constant, by_article.get_scores(query), atol=1e-9)


async def test_a_question_matching_only_a_video_pages_form_gets_the_page_once(tmp_path: Path) -> None:
    async with await NewsIndex.open(make_settings(tmp_path, [corpus(tmp_path)])) as index:
        await index.reindex()
        answer = await index.ask("video player slow to load content", k=5)
    # both video pages, each once and by its headline (the form's words are all the question has)
    assert sorted((h.path, h.text, h.paragraph) for h in answer.hits) == [
        ("recall.txt", "Carmaker recalls 2.9 million vehicles", None),
        ("video.txt", VIDEO_TITLE, None),
    ]
