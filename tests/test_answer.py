"""Answering over the bundled sample news: passages, citations, excerpts, notes, dates, latest."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from newsbot.index.api import NewsIndex
from newsbot.index.config import SAMPLE_NEWS
from newsbot.index.errors import NoIndexError
from newsbot.index.store.queries import ROWS_AT_ONCE

from .helpers import make_settings, write_article

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def index(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[NewsIndex]:
    tmp = tmp_path_factory.mktemp("answer")
    async with await NewsIndex.open(make_settings(tmp)) as idx:
        await idx.reindex()
        yield idx


async def test_answer_cites_the_right_article(index: NewsIndex) -> None:
    answer = await index.ask(
        "How much did the Alderbrook library renovation cost?", as_of=dt.date(2026, 11, 30)
    )
    assert answer.hits and answer.note is None
    top = answer.hits[0]
    assert "library" in top.title.lower()
    assert top.path.endswith(".txt") and top.paragraph >= 0 and top.date is not None
    assert top.text and top.excerpt.text and top.excerpt.marks
    assert [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))
    for h in answer.hits:
        for start, end in h.excerpt.marks:
            assert h.excerpt.text[start:end].strip()


async def test_at_most_two_passages_per_article_and_no_duplicate_stories(index: NewsIndex) -> None:
    answer = await index.ask("Riverside marathon course record", k=10, as_of=dt.date(2026, 11, 30))
    per_article: dict[int, int] = {}
    for h in answer.hits:
        per_article[h.article_id] = per_article.get(h.article_id, 0) + 1
    assert max(per_article.values()) <= 2
    # the byte-identical wire copy is one article, so its passages never show twice
    assert len({h.text for h in answer.hits}) == len(answer.hits)


async def test_k_and_offset_page_through(index: NewsIndex) -> None:
    first = await index.ask("storm", k=2, as_of=dt.date(2026, 11, 30))
    second = await index.ask("storm", k=2, offset=2, as_of=dt.date(2026, 11, 30))
    assert len(first.hits) == 2 and first.has_more
    assert [h.rank for h in second.hits] == [3, 4]
    assert not {h.paragraph_id for h in first.hits} & {h.paragraph_id for h in second.hits}


async def test_as_of_hides_later_articles(index: NewsIndex) -> None:
    answer = await index.ask("Harbor Line tram opening", k=10, as_of=dt.date(2026, 10, 1))
    assert answer.hits
    assert all(h.date is None or h.date <= dt.date(2026, 10, 1) for h in answer.hits)


async def test_date_phrases_narrow_the_search(index: NewsIndex) -> None:
    answer = await index.ask("storm since October 9", k=10, as_of=dt.date(2026, 11, 30))
    assert answer.hits and all(h.date and h.date >= dt.date(2026, 10, 9) for h in answer.hits)
    before = await index.ask("storm before 2026-10-05", k=10, as_of=dt.date(2026, 11, 30))
    assert before.hits and all(h.date and h.date < dt.date(2026, 10, 5) for h in before.hits)
    wrong = await index.ask("storm since Octember", as_of=dt.date(2026, 11, 30))
    assert wrong.hits, "a date phrase that does not parse is ignored, never an error"


@pytest.mark.parametrize(
    ("question", "note"),
    [
        ("", "Ask a question"),
        ("the of and was it", "no words to search for"),
        ("xylophonist quokka", "None of these words appear"),
        ("storm before 2000-01-01", "Nothing in the news from"),
        ("storm since 2030", "Nothing in the news from"),
    ],
)
async def test_plain_notes_instead_of_noise(index: NewsIndex, question: str, note: str) -> None:
    answer = await index.ask(question, as_of=dt.date(2026, 11, 30))
    assert answer.hits == () and answer.note and note in answer.note


async def test_odd_questions_are_answered_safely(index: NewsIndex) -> None:
    long_q = ("tram " * 1000)[:5000]
    for q in [
        long_q,
        "**bold** `code` <@123> @everyone",
        "'; DROP TABLE articles; --",
        "Café Élodie fire 🔥",
        "\x00\u200b\u202e",
    ]:
        answer = await index.ask(q, as_of=dt.date(2026, 11, 30))
        assert answer.hits or answer.note
        for h in answer.hits:
            assert len(h.excerpt.render()) <= index.settings.answer.excerpt_chars + 2
    assert int(await index.store.scalar("SELECT count(*) FROM articles")) > 0


async def test_unicode_article_found_without_accents(index: NewsIndex) -> None:
    answer = await index.ask("cafe elodie reopens", as_of=dt.date(2026, 11, 30))
    assert answer.hits and "Élodie" in answer.hits[0].title


async def test_latest_is_newest_first_and_topical(index: NewsIndex) -> None:
    items = await index.latest(5)
    dates = [s.date for s in items]
    assert len(items) == 5 and dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    assert all(s.lead and s.title for s in items)
    tram = await index.latest(10, topic="tram")
    assert tram and all("tram" in (s.title + s.lead).lower() or s.path for s in tram)
    assert len(tram) < 10
    assert await index.latest(5, topic="xylophonist") == []
    ranged = await index.latest(25, since=dt.date(2026, 10, 1), until=dt.date(2026, 10, 7))
    assert ranged and all(s.date and dt.date(2026, 10, 1) <= s.date <= dt.date(2026, 10, 7) for s in ranged)


async def test_json_contract(index: NewsIndex) -> None:
    data = (await index.ask("Who won the Coastal Cup?", as_of=dt.date(2026, 11, 30))).to_json()
    assert set(data) == {"question", "as_of", "hits", "note"}
    hit = data["hits"][0]
    assert set(hit) == {
        "rank",
        "score",
        "path",
        "paragraph",
        "title",
        "date",
        "source",
        "url",
        "text",
        "excerpt",
    }
    assert data["as_of"] == "2026-11-30"


async def test_feedback_and_stats(index: NewsIndex) -> None:
    qid = await index.record_question("who won?", user_id=1, guild_id=2, hits=3)
    await index.record_question("xylophone", user_id=1, guild_id=2, hits=0)
    await index.record_feedback(qid, user_id=1, value=1)
    await index.record_feedback(qid, user_id=1, value=-1)  # the last vote wins
    await index.record_feedback(qid, user_id=5, value=-1)
    stats = await index.stats()
    assert stats.articles > 30 and stats.paragraphs > 100 and stats.newest == dt.date(2026, 11, 25)
    assert stats.feedback_down == 2 and stats.feedback_up == 0
    assert stats.unanswered >= 1 and stats.top_unanswered[0][0] == "xylophone"


async def test_empty_index_says_so(tmp_path: Path) -> None:
    async with await NewsIndex.open(make_settings(tmp_path)) as idx:
        assert idx.is_empty
        with pytest.raises(NoIndexError):
            await idx.ask("anything")


async def test_new_generation_picked_up_without_restart(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "a.txt", "Old story", ["Nothing about zebras here."])
    for i in range(8):  # enough other articles for idf to mean something
        write_article(folder, f"filler{i}.txt", f"Filler {i}", [f"Gardening tips number {i} for autumn."])
    settings = make_settings(tmp_path, [folder])
    async with await NewsIndex.open(settings) as reader, await NewsIndex.open(settings) as writer:
        await writer.reindex()
        assert (await reader.ask("zebras")).hits
        write_article(folder, "b.txt", "Zebra crossing", ["A new zebra crossing opened on Main Street."])
        await writer.reindex()
        answer = await reader.ask("zebra crossing Main Street")
        assert answer.hits[0].title == "Zebra crossing"


async def test_future_dated_articles_are_never_seen(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(
        folder, "now.txt", "Harbour regatta", ["The harbour regatta drew forty boats."], "2020-05-01"
    )
    write_article(
        folder,
        "later.txt",
        "Harbour regatta 2099",
        ["The harbour regatta of 2099 drew robots."],
        "2099-01-01",
    )
    for i in range(6):
        write_article(
            folder, f"f{i}.txt", f"Filler {i}", [f"Allotment news number {i} for spring."], "2020-01-01"
        )
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as idx:
        await idx.reindex()
        titles = [h.title for h in (await idx.ask("harbour regatta", k=10)).hits]
        assert titles == ["Harbour regatta"]
        assert "Harbour regatta 2099" not in [s.title for s in await idx.latest(25)]
        later = await idx.ask("harbour regatta", k=10, as_of=dt.date(2099, 6, 1))
        assert "Harbour regatta 2099" in [h.title for h in later.hits]


async def test_the_cap_counts_each_article_by_its_own_id(tmp_path: Path) -> None:
    # many articles, each with several matching paragraphs, ranked past the first fetch batch
    folder = tmp_path / "news"
    for i in range(30):
        write_article(
            folder,
            f"a{i:02}.txt",
            f"Canal story {i}",
            [f"Canal boats moved {i}x{j} {i}y{j} {i}z{j} {i}q{j} {i}r{j} freight." for j in range(4)],
        )
    settings = make_settings(tmp_path, [folder], answer={"per_article": 1})
    async with await NewsIndex.open(settings) as idx:
        await idx.reindex()
        answer = await idx.ask("canal boats", k=10)
        assert len(answer.hits) == 10 and len({h.article_id for h in answer.hits}) == 10


async def test_a_passage_from_an_article_about_the_question_beats_a_stray_mention(tmp_path: Path) -> None:
    # the bakery article's passage matches the question's words best on its own; the port
    # article is about the question as a whole (ranking.whole_article_weight), so it comes first
    news = tmp_path / "news"
    write_article(
        news,
        "port.txt",
        "Port authority meets",
        [
            "The port authority met on Tuesday about the harbor ferry.",
            "Members approved a new timetable for the winter.",
            "The ferry changes start in December, the harbor master said.",
            "Riders asked for the timetable to be posted at every pier.",
        ],
    )
    write_article(
        news,
        "bakery.txt",
        "Bakery opens on Elm Street",
        [
            "A new bakery opened on Elm Street with rye bread and pastries.",
            "Its owner read about harbor ferry timetable changes this winter.",
            *[f"The bakery sells {n} kinds of bread, cakes and pies to the neighbourhood." for n in range(8)],
        ],
    )
    question = "harbor ferry timetable changes winter"
    firsts = {}
    for weight in (0.0, 2.0):
        folders = [SAMPLE_NEWS, news]  # enough articles for meaningful idf
        settings = make_settings(tmp_path / f"w{weight}", folders, ranking={"whole_article_weight": weight})
        async with await NewsIndex.open(settings) as index:
            assert index.rank_params.whole_article_weight == weight
            await index.reindex()
            answer = await index.ask(question, k=3, as_of=dt.date(2026, 11, 30))
            firsts[weight] = answer.hits[0].title
    assert firsts == {0.0: "Bakery opens on Elm Street", 2.0: "Port authority meets"}


async def test_pages_are_slices_of_one_answer(tmp_path: Path) -> None:
    # a repeat from an article already shown is held back (answer.repeat_factor); paging must not
    # skip or repeat passages however far the ranking was cut for each page
    import random

    from newsbot.index.ranking.search import RankParams

    rng = random.Random(3)
    filler = [f"z{i}q" for i in range(5000)]
    news = tmp_path / "news"
    for name in "ABCD":
        paragraphs = ["The ferry sailed " + " ".join(rng.sample(filler, 6)) + "." for _ in range(13)]
        write_article(news, f"{name}.txt", f"Story {name}", paragraphs)
    for i in range(40):
        write_article(
            news,
            f"e{i:02d}.txt",
            f"Other {i:02d}",
            ["The ferry ferry sailed " + " ".join(rng.sample(filler, 12)) + "."],
        )
    for i in range(300):
        write_article(news, f"n{i}.txt", f"Noise {i}", [" ".join(rng.sample(filler, 8)) + "."])
    params = RankParams(lead_boost=0, neighbour_weight=0, title_weight=0, recency_days=0)
    async with await NewsIndex.open(make_settings(tmp_path, [news]), rank_params=params) as index:
        await index.reindex()
        whole = [h.paragraph_id for h in (await index.ask("ferry", k=10)).hits]
        paged: list[int] = []
        for offset in range(0, 12, 3):
            page = await index.ask("ferry", k=3, offset=offset)
            assert [h.rank for h in page.hits] == list(range(offset + 1, offset + 4)) and page.has_more
            paged += [h.paragraph_id for h in page.hits]
        assert paged[:10] == whole and len(set(paged)) == len(paged)
        assert [h.title[:5] for h in (await index.ask("ferry", k=2, offset=44)).hits] == ["Story"] * 2
        # rows are fetched in several queries when a deep page needs many (SQLite limits how deep
        # one expression may be)
        real = [
            (int(a), int(p)) for a, p in await index.store.rows("SELECT article_id, position FROM paragraphs")
        ]
        keys = real + [(a, p + 1000) for a, p in real]  # absent positions: no rows
        assert len(keys) > 3 * ROWS_AT_ONCE
        rows = await index.queries.paragraph_rows(keys)
        assert sorted(rows) == sorted(real) and all(rows[k].position == k[1] for k in real)


async def test_short_paragraphs_past_the_lead_count_less(tmp_path: Path) -> None:
    # BM25 alone puts a one-line subheading that repeats the question's words above the paragraph
    # with the substance; the length multiplier (search.short_table) turns that round past the
    # lead, and leaves the lead's short opening sentence alone
    from newsbot.index.ranking.params import RankParams, Window, short_table
    from newsbot.index.ranking.search import rank

    news = tmp_path / "news"
    body = (
        "Crews from three towns worked through the night after the storm flooded the harbour road,"
        " and the council says the sea wall repairs will take until the spring to finish properly"
    )
    lead = "Sea wall breached at Alderbrook harbour."  # 5 indexed words: not junk, but short
    heading = "Sea wall repairs and the harbour road"  # likewise
    write_article(news, "wall.txt", "After the storm", [lead, "Tides, boats and nets today.", heading, body])
    for i in range(30):
        write_article(
            news, f"n{i}.txt", f"Noise {i}", [f"Unrelated words about gardens number {i} and more."]
        )
    plain = RankParams(short_power=0, lead_boost=0, neighbour_weight=0, recency_days=0)
    short = RankParams(lead_boost=0, neighbour_weight=0, recency_days=0)
    table = short_table(short)
    assert table[0] == 0.0 and table[-1] == 1.0 and all(table[:-1] < 1.0)
    assert list(table) == sorted(table) and len(table) == int(short.short_words) + 1
    async with await NewsIndex.open(make_settings(tmp_path, [news])) as index:
        await index.reindex()
        gen = await index.current_generation()
        ids = list((await index.term_ids(["sea", "wall", "repairs"])).values())
    assert len(ids) == 3
    scores = {}
    for name, params in (("plain", plain), ("short", short)):
        ranked = rank(gen, ids, Window(), params, 10)
        start = int(gen.art_start[gen.para_article[ranked[0][0]]])  # wall.txt's first paragraph
        scores[name] = {p - start: s for p, s in ranked}
        order = [p - start for p, _ in ranked]
        assert order == ([2, 0, 3] if name == "plain" else [0, 3, 2]), (name, ranked)
    words = int(gen.para_words[start + 2])
    assert words == 5 and words == int(gen.para_len[start])
    assert scores["short"][2] == pytest.approx(scores["plain"][2] * (words / short.short_words) ** 0.75)
    assert scores["short"][0] == scores["plain"][0]  # the lead is exempt
    assert scores["short"][3] == scores["plain"][3]  # long enough: untouched
