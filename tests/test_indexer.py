"""The indexer on real files and a real SQLite database: incremental, deduplicating, atomic."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.config import SAMPLE_NEWS, Settings
from newsbot.index.errors import IndexBusyError, IndexingError
from newsbot.index.generation import gens_dir, numbers_on_disk
from newsbot.index.ingest.lock import writer_lock
from newsbot.index.layout import FLAG_JUNK, FLAG_NUMBER

from .helpers import ROOT, make_settings, write_article


def news(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    write_article(
        folder,
        "tram.txt",
        "Tram line opens",
        ["The harbor tram opened to riders on Monday.", "Fares are two dollars."],
    )
    write_article(
        folder,
        "vote.txt",
        "Council vote",
        ["The council voted to repave Elm Street.", "Work starts in spring."],
    )
    write_article(
        folder,
        "sub/storm.txt",
        "Storm warning",
        ["A red storm warning was issued for the bay."],
        "2026-10-07",
    )
    return folder


async def open_index(settings: Settings) -> NewsIndex:
    return await NewsIndex.open(settings)


async def test_sample_news_indexes_with_one_duplicate(tmp_path: Path) -> None:
    async with await NewsIndex.open(make_settings(tmp_path)) as index:
        report = await index.reindex()
        files = len(list(SAMPLE_NEWS.rglob("*.txt")))
        assert report.published and report.added == files
        assert report.duplicates == 1 and report.articles == files - 1
        assert report.skipped == [] and report.paragraphs > 100
        # both paths of the duplicated article are known
        rows = await index.store.rows("SELECT count(*) FROM files GROUP BY article_id HAVING count(*) > 1")
        assert [r[0] for r in rows] == [2]


async def test_incremental_reindex(tmp_path: Path) -> None:
    folder = news(tmp_path)
    settings = make_settings(tmp_path, [folder])
    async with await NewsIndex.open(settings) as index:
        first = await index.reindex()
        assert (first.added, first.articles, first.generation) == (3, 3, 1)

        again = await index.reindex()
        assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 3)
        assert again.generation == 1, "an unchanged folder must not publish a new generation"

        (folder / "vote.txt").unlink()
        write_article(folder, "tram.txt", "Tram line opens", ["The harbor tram opened on Tuesday instead."])
        write_article(folder, "new.txt", "Library reopens", ["The library reopened after renovation."])
        os.utime(folder / "sub/storm.txt")  # touched, not changed
        third = await index.reindex()
        assert (third.added, third.changed, third.removed, third.unchanged) == (1, 1, 1, 1)
        assert third.articles == 3 and third.generation == 2
        texts = [r[0] for r in await index.store.rows("SELECT text FROM paragraphs ORDER BY id")]
        assert "The council voted to repave Elm Street." not in texts
        assert "The harbor tram opened on Tuesday instead." in texts
        assert not any("two dollars" in t for t in texts)


async def test_metadata_supplies_source_and_link(tmp_path: Path) -> None:
    folder = news(tmp_path)
    (folder / "metadata.jsonl").write_text(
        '{"file": "tram.txt", "title": "Tram line opens", "source": "Gazette", "url": "https://news.example.com/t"}\n'
        "not json\n",
        encoding="utf-8",
    )
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        report = await index.reindex()
        row = await index.store.rows("SELECT source, url FROM articles WHERE title = 'Tram line opens'")
        assert tuple(row[0]) == ("Gazette", "https://news.example.com/t")
        assert any("metadata" in s.reason for s in report.skipped)
        # changing only the metadata is noticed
        (folder / "metadata.jsonl").write_text(
            '{"file": "tram.txt", "source": "Courier"}\n', encoding="utf-8"
        )
        report = await index.reindex()
        assert report.changed == 1
        row = await index.store.rows("SELECT source FROM articles WHERE title = 'Tram line opens'")
        assert row[0][0] == "Courier"


async def test_jsonl_articles(tmp_path: Path) -> None:
    folder = tmp_path / "scraped"
    folder.mkdir()
    (folder / "feed.jsonl").write_text(
        '{"title": "One", "date": "2026-01-02", "url": "https://x.example.org/1", "source": "Feed", "text": "Alpha beta.\\n\\nGamma."}\n'
        '{"title": "Two", "paragraphs": ["Delta epsilon.", "Zeta."]}\n'
        '{"title": "", "text": "no title"}\n'
        "{broken\n",
        encoding="utf-8",
    )
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        report = await index.reindex()
        assert report.added == 2 and report.paragraphs == 4
        assert sorted(s.path.rsplit("#", 1)[1] for s in report.skipped) == ["3", "4"]
        rows = await index.store.rows("SELECT rel FROM files ORDER BY rel")
        assert [r[0] for r in rows] == ["feed.jsonl#1", "feed.jsonl#2"]


async def test_bad_input_is_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    folder = news(tmp_path)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "title_only.txt").write_text(" date 2026-01-01 Just a title\n", encoding="utf-8")
    (folder / "bad_date.txt").write_text(" date 2020-13-45 Bad date\n\nBody text.\n", encoding="utf-8")
    big = folder / "huge.txt"
    with open(big, "wb") as fh:
        fh.write(b" date 2026-01-01 Huge\n\n")
        fh.truncate(50 * 1024 * 1024)
    locked = folder / "locked.txt"
    write_article(folder, "locked.txt", "Locked", ["Cannot read me."])
    locked.chmod(0)
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "sub" / "back").symlink_to(folder)  # a folder loop
    (folder / "latin1.txt").write_bytes(
        " date 2026-01-01 Caf\xe9\n\nCr\xe8me br\xfbl\xe9e.".encode("latin-1")
    )
    (folder / "notes.md").write_text("not an article", encoding="utf-8")
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        report = await index.reindex()
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert reasons["title_only.txt"] == "title but no body"
    assert reasons["bad_date.txt"] == "impossible date 2020-13-45"
    assert "over the 10 MB limit" in reasons["huge.txt"]
    assert "loop" in reasons["loop.txt"]
    assert "loop" in reasons["back"]
    if os.geteuid() != 0:  # root reads any file
        assert "cannot read" in reasons["locked.txt"]
    assert "notes.md" not in reasons
    assert [Path(w.path).name for w in report.warnings] == ["latin1.txt"]
    assert report.published and report.articles >= 4  # the three good ones and the Latin-1 one


async def test_path_disappearing_mid_run_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = news(tmp_path)
    from newsbot.index.ingest import sources

    real_read = sources.read

    def vanish(source: sources.SourceFile) -> object:
        if source.rel == "vote.txt":
            source.path.unlink()
        return real_read(source)

    monkeypatch.setattr("newsbot.index.ingest.workers.read", vanish)
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        report = await index.reindex()
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("vote.txt", "file disappeared while indexing")
    ]
    assert report.articles == 2


async def test_missing_folder_keeps_the_old_index(tmp_path: Path) -> None:
    folder = news(tmp_path)
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        await index.reindex()
        folder.rename(tmp_path / "elsewhere")
        with pytest.raises(IndexingError, match="folder not found"):
            await index.reindex()
        answer = await index.ask("harbor tram")
        assert answer.hits and answer.hits[0].title == "Tram line opens"


async def test_one_reindex_at_a_time(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, [news(tmp_path)])
    async with await NewsIndex.open(settings) as index:
        with writer_lock(settings.database), pytest.raises(IndexBusyError):
            await index.reindex()
        first = asyncio.create_task(index.reindex())
        await asyncio.sleep(0)
        with pytest.raises(IndexBusyError):
            await index.reindex()
        assert (await first).published


async def test_schema_is_versioned(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with await NewsIndex.open(settings):
        pass
    with sqlite3.connect(settings.database) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute("PRAGMA user_version = 999")
    from newsbot.index.errors import StoreError

    with pytest.raises(StoreError, match="newer newsbot"):
        await NewsIndex.open(settings)


async def test_paragraph_flags_kept_in_the_store_and_filled_in_for_older_rows(tmp_path: Path) -> None:
    news = tmp_path / "news"
    body = [
        "By Ana Ruiz",
        "The harbour crane lifted the new ferry into the water on Monday.",
        "Photo: crane",
        "Alderbrook Harbour CNN Business —",  # a dateline on a line of its own
        "The crane operator, who has lifted every ferry built here for thirty years, said it went well -",
        "The new ferry carries 400 passengers and 60 cars across the bay.",
        "Photo 2 of 12: the crane at work",  # holds a number, but junk: no number bit
        "Updated March 26, 2026, 7:29 a.m. ET",  # a time stamp on its own line
        "Polls close at 8:00 pm ET",  # a sentence, not a stamp
    ]
    write_article(news, "a.txt", "Ferry launched", body)
    settings = make_settings(tmp_path, [news])
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        first = np.asarray((await index.current_generation()).para_flags).copy()
    # the byline, the captions, the dateline and the time stamp are junk; the number bit (only in the
    # generation) marks the paragraphs with "400" and "8:00"
    assert first.tolist() == [1, 0, 1, 1, 0, FLAG_NUMBER, 1, 1, FLAG_NUMBER]
    with sqlite3.connect(settings.database) as conn:  # as a database from before schema 3 has them
        conn.execute("UPDATE paragraphs SET flags = NULL")
    write_article(
        news, "b.txt", "A new story", ["A fresh paragraph about the tram line and its stops."], "2026-10-02"
    )
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        again = np.asarray((await index.current_generation()).para_flags)
    assert np.array_equal(again[: len(first)], first)  # the new article, a day newer, sorts last
    with sqlite3.connect(settings.database) as conn:
        assert conn.execute("SELECT count(*) FROM paragraphs WHERE flags IS NULL").fetchone()[0] == 0
        assert conn.execute("SELECT max(flags) FROM paragraphs").fetchone()[0] == FLAG_JUNK  # no number bits


KILLER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from newsbot.index import generation
    from newsbot.index.api import NewsIndex
    from newsbot.index.config import settings_from_dict

    stage = sys.argv[1]
    settings = settings_from_dict({{"news": {{"folders": [sys.argv[2]]}}, "store": {{"database": sys.argv[3]}}}})

    def progress(name, done, total):
        if name == stage and (stage != "store" or done > 0):
            os.kill(os.getpid(), signal.SIGKILL)

    real_write = generation.write
    def write_then_die(*args, **kwargs):
        path = real_write(*args, **kwargs)
        if stage == "published-not-committed":
            os.kill(os.getpid(), signal.SIGKILL)
        return path
    generation.write = write_then_die

    async def main():
        async with await NewsIndex.open(settings) as index:
            await index.reindex(progress=progress)
    asyncio.run(main())
    """
)


@pytest.mark.parametrize("stage", ["scan", "parse", "store", "build", "published-not-committed"])
async def test_killed_reindex_leaves_previous_generation_serving(tmp_path: Path, stage: str) -> None:
    folder = news(tmp_path)
    settings = make_settings(tmp_path, [folder])
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        before = await index.ask("harbor tram")
    for i in range(600):
        write_article(
            folder, f"bulk/{i}.txt", f"Bulk story {i}", [f"Filler paragraph number {i} about gardens."] * 3
        )
    script = tmp_path / "killer.py"
    script.write_text(KILLER.format(root=str(ROOT)), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), stage, str(folder), str(settings.database)],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    async with await NewsIndex.open(settings) as index:
        assert index.generation is not None and index.generation.number == 1
        after = await index.ask("harbor tram")
        assert [h.text for h in after.hits] == [h.text for h in before.hits]
        assert int(await index.store.scalar("SELECT count(*) FROM articles")) == 3
        report = await index.reindex()
        assert report.published and report.articles == 603 and report.generation >= 2
    leftovers = [p.name for p in gens_dir(settings.database).iterdir()]
    assert not any(name.startswith("tmp-") for name in leftovers)
    assert numbers_on_disk(settings.database)[-1] == report.generation


async def test_worker_processes_index_the_same_as_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large reindexes read and tokenize in worker processes; the store must come out identical."""
    import numpy as np

    from newsbot.index.ingest import workers
    from newsbot.index.tokenizer import Tokenizer

    async def stored(settings: Settings) -> list[tuple[object, ...]]:
        async with await NewsIndex.open(settings) as index:
            report = await index.reindex()
            assert report.published and report.skipped == [] and report.articles > 30
            vocab = {i: t for t, i in await index.store.rows("SELECT term, id FROM terms")}
            rows = await index.store.rows(
                "SELECT a.title, p.position, p.text, p.terms FROM paragraphs p"
                " JOIN articles a ON a.id = p.article_id ORDER BY a.title, p.position"
            )
            return [
                (t, pos, text, [vocab[i] for i in np.frombuffer(blob, np.uint32)])
                for t, pos, text, blob in rows
            ]

    threads = await stored(make_settings(tmp_path / "threads"))
    monkeypatch.setattr(workers, "PROCESS_THRESHOLD", 1)
    monkeypatch.setattr(workers, "PROCESS_CHUNK", 7)

    def not_here(self: Tokenizer, texts: list[str]) -> list[list[str]]:
        raise AssertionError("the parent tokenized: the worker processes were not used")

    monkeypatch.setattr(Tokenizer, "tokens_many", not_here)  # workers are fresh processes: unaffected
    processes = await stored(make_settings(tmp_path / "processes"))
    assert processes == threads


async def test_a_reindex_of_one_folder_keeps_the_articles_of_others(tmp_path: Path) -> None:
    """`newsbot index --watch A` and a bot indexing B share one database: neither undoes the other."""
    first = news(tmp_path)
    second = tmp_path / "other"
    write_article(second, "ferry.txt", "Ferry returns", ["The island ferry returned to service on Friday."])
    async with await NewsIndex.open(make_settings(tmp_path, [first])) as index:
        assert (await index.reindex([first])).articles == 3
        report = await index.reindex([second])
        assert (report.added, report.removed, report.articles) == (1, 0, 4)
        (first / "vote.txt").unlink()
        report = await index.reindex([first])
        assert (report.removed, report.articles) == (1, 3)
        assert (await index.ask("island ferry")).hits[0].title == "Ferry returns"


async def test_whole_article_weights_equal_rank_bm25_over_articles(tmp_path: Path) -> None:
    # each article's title and paragraphs as one document, scored as rank-bm25's BM25Okapi does
    from rank_bm25 import BM25Okapi

    from newsbot.index.ranking.bm25 import scores

    async with await NewsIndex.open(make_settings(tmp_path)) as index:
        await index.reindex()
        gen = await index.current_generation()
        articles = gen.articles()
        assert articles is not None and articles.n_docs == gen.n_articles
        corpus: list[list[int]] = []
        for art_id in np.asarray(gen.art_ids).tolist():
            (title,) = (await index.store.rows("SELECT title_terms FROM articles WHERE id = ?", [art_id]))[0]
            rows = await index.store.rows(
                "SELECT terms FROM paragraphs WHERE article_id = ? ORDER BY position", [art_id]
            )
            tokens = np.frombuffer(title, dtype=np.uint32).tolist()
            for (blob,) in rows:
                tokens += np.frombuffer(blob, dtype=np.uint32).tolist()
            corpus.append(tokens)
    ref = BM25Okapi(corpus, k1=1.5, b=0.5, epsilon=0.25)  # index.article_b
    rng = np.random.default_rng(5)
    vocabulary = sorted({t for doc in corpus for t in doc})
    for _ in range(30):
        query = [int(t) for t in rng.choice(vocabulary, size=int(rng.integers(1, 6)))]
        dense, _, constant = scores(articles, query)
        np.testing.assert_allclose(dense + constant, ref.get_scores(query), atol=1e-9)


async def test_generation_of_an_older_layout_serves_then_is_rebuilt(tmp_path: Path) -> None:
    # a generation written before whole-article scores: answers still come (numpy ranks it, without
    # that feature), and the next reindex builds a new generation even though no file changed
    from newsbot.index.generation import OPTIONAL, Generation
    from newsbot.index.ranking import compiled, search
    from newsbot.index.ranking.search import RankParams, Window

    settings = make_settings(tmp_path)
    async with await NewsIndex.open(settings) as index:
        first = (await index.reindex()).generation
    database = Path(settings.store.database)
    folder = gens_dir(database) / f"{first:08d}"
    words = np.load(folder / "para_words.npy")
    for name in (*OPTIONAL, "para_words"):
        (folder / f"{name}.npy").unlink()
    info = json.loads((folder / "info.json").read_text())
    info["layout"] = 8  # before the number bits
    (folder / "info.json").write_text(json.dumps(info))
    flags = folder / "para_flags.npy"
    np.save(flags, np.load(flags) & ~np.uint8(FLAG_NUMBER))
    old = Generation.load(database, first)
    assert old.articles() is None
    assert old.para_words.dtype == np.uint8 and np.array_equal(old.para_words, words)  # derived on loading
    assert np.array_equal(words, np.minimum(old.para_len, 255)) and words.max() > 0
    terms = [0, 1, 2]
    compiled.start()
    assert compiled.wait(timeout=300) and compiled.ready()
    assert compiled.rank(old, terms, Window(), RankParams(), 5) is None  # left to numpy
    assert compiled.bm25_top(old, terms, 5) is not None  # plain BM25 needs no whole articles
    plain = dataclasses.replace(RankParams(), whole_article_weight=0)
    assert search.rank(old, terms, Window(), RankParams(), 5) == search.rank_numpy(
        old, terms, Window(), plain, 5
    )
    async with await NewsIndex.open(settings) as index:
        answer = await index.ask("tram harbour ferry")
        assert answer.hits
        report = await index.reindex()
        assert report.generation > first and report.added == 0 and report.changed == 0
        assert (await index.current_generation()).articles() is not None
        assert (np.asarray((await index.current_generation()).para_flags) & FLAG_NUMBER).any()


async def test_a_gap_in_paragraph_positions_fails_the_build_and_keeps_the_old_index(tmp_path: Path) -> None:
    # positions are derived from paragraph numbers (p - art_start[a]); a store that broke that
    # (a paragraph row deleted by hand) must not publish an index whose citations would be wrong
    folder = news(tmp_path)
    settings = make_settings(tmp_path, [folder])
    async with await NewsIndex.open(settings) as index:
        first = (await index.reindex()).generation
    with sqlite3.connect(settings.store.database) as db:
        db.execute(
            "DELETE FROM paragraphs WHERE position = 0"
            " AND article_id IN (SELECT article_id FROM paragraphs WHERE position = 1)"
        )
    async with await NewsIndex.open(settings) as index:
        write_article(folder, "new.txt", "Bridge repairs", ["The old bridge closes for repairs."])
        with pytest.raises(IndexingError, match="positions have gaps"):
            await index.reindex()
        assert (await index.current_generation()).number == first
        assert (await index.ask("tram harbor riders")).hits


async def test_an_index_of_an_older_tokenizer_is_read_its_way_then_retokenized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tokenizer version 1 split "AT&T" into two stopwords; version 2 keeps it a word. An index
    # made by version 1 answers with version 1 (the terms it holds) until a reindex, which reads
    # every stored paragraph again with version 2, though no file changed
    from newsbot.index.tokenizer import TOKENIZER_VERSION, TokenizerSpec

    folder = tmp_path / "news"
    write_article(folder, "att.txt", "Carrier news", ["AT&T switches off its 3G network on Tuesday."])
    for i in range(12):
        write_article(folder, f"n{i}.txt", f"Tram news {i}", [f"The harbor tram ran {i} times on Monday."])
    settings = make_settings(tmp_path, [folder])
    with monkeypatch.context() as m:
        m.setattr(NewsIndex, "tokenizer_spec", lambda self: TokenizerSpec(version=1))
        async with await NewsIndex.open(settings) as index:
            await index.reindex()
    async with await NewsIndex.open(settings) as index:
        assert index.tokenizer.spec.version == 1
        assert not (await index.ask("AT&T")).hits  # two stopwords to version 1
        assert (await index.ask("3G network")).hits[0].path == "att.txt"
        report = await index.reindex()
        assert report.added == 0 and report.changed == 0
        assert index.tokenizer.spec.version == TOKENIZER_VERSION == 2
        answer = await index.ask("What did AT&T switch off?")
        assert [h.path for h in answer.hits] == ["att.txt"]
        hit = answer.hits[0]
        assert "AT&T" in [hit.excerpt.text[s:e] for s, e in hit.excerpt.marks]
    stored = sqlite3.connect(settings.store.database).execute("SELECT term FROM terms").fetchall()
    assert ("at&t",) in stored


async def test_a_new_tokenizer_retokenizes_every_stored_article_even_of_folders_not_scanned(
    tmp_path: Path,
) -> None:
    # turning stemming on changes every term: the stored texts are tokenized again, including the
    # articles of a folder this reindex does not scan (or that has since gone), and nothing is lost
    first = news(tmp_path)
    second = tmp_path / "other"
    write_article(
        second, "ferry.txt", "Island service", ["The island ferries returned to service on Friday."]
    )
    async with await NewsIndex.open(make_settings(tmp_path, [first])) as index:
        await index.reindex([first])
        await index.reindex([second])
        assert not (await index.ask("ferry")).hits  # "ferries" without stemming
    (second / "ferry.txt").unlink()
    second.rmdir()
    with sqlite3.connect(tmp_path / "news.db") as conn:  # flags are computed again with the terms
        original = conn.execute("SELECT flags FROM paragraphs ORDER BY id").fetchall()
        assert (1,) in original and (0,) in original  # "Fares are two dollars.": too short to answer
        conn.execute("UPDATE paragraphs SET flags = 1 - flags")
    stemmed = make_settings(tmp_path, [first], index={"stem": True})
    async with await NewsIndex.open(stemmed) as index:
        report = await index.reindex([first])
        assert report.articles == 4 and report.added == 0 and report.removed == 0
        assert index.tokenizer.spec.stem
        hits = (await index.ask("ferry")).hits
        assert [h.title for h in hits] == ["Island service"]  # stemmed: ferries -> ferri <- ferry
        assert (await index.ask("opening trams")).hits[0].title == "Tram line opens"
        assert await index.store.rows("SELECT flags FROM paragraphs ORDER BY id") == original


async def test_forget_right_after_the_tokenizer_changed(tmp_path: Path) -> None:
    # a changed tokenizer needs no `newsbot index` before `newsbot forget`: the stored texts are
    # tokenized again and the forgotten folder's articles leave, in one run
    first = news(tmp_path)
    second = tmp_path / "other"
    write_article(
        second, "ferry.txt", "Island service", ["The island ferries returned to service on Friday."]
    )
    async with await NewsIndex.open(make_settings(tmp_path, [first, second])) as index:
        await index.reindex()
    async with await NewsIndex.open(make_settings(tmp_path, [first], index={"stem": True})) as index:
        report = await index.reindex(forget=[second])
        assert (report.removed, report.articles, report.retokenized) == (1, 3, 6)
        assert not (await index.ask("ferry island")).hits
        assert (await index.ask("warnings of storms")).hits[0].title == "Storm warning"

        assert report.retokenized == 6 and report.changed_anything


def _stored(database: Path) -> list[list[tuple[object, ...]]]:
    with sqlite3.connect(database) as conn:
        return [
            conn.execute(sql).fetchall()
            for sql in (
                "SELECT * FROM terms ORDER BY id",
                "SELECT id, terms, flags FROM paragraphs ORDER BY id",
                "SELECT id, title_terms FROM articles ORDER BY id",
                "SELECT key, value FROM meta WHERE key IN ('tokenizer', 'generation') ORDER BY key",
            )
        ]


@pytest.mark.parametrize("stage", ["retokenize", "store", "build"])
async def test_a_failed_retokenize_leaves_the_previous_index_serving(tmp_path: Path, stage: str) -> None:
    folder = news(tmp_path)
    database = tmp_path / "news.db"
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        first = (await index.reindex()).generation
    before = _stored(database)

    def fail(name: str, done: int, total: int) -> None:
        if name == stage and (stage != "retokenize" or done > 0):
            raise RuntimeError("disk trouble")

    stemmed = make_settings(tmp_path, [folder], index={"stem": True})
    async with await NewsIndex.open(stemmed) as index:
        with pytest.raises(RuntimeError, match="disk trouble"):
            await index.reindex(progress=fail)
    assert _stored(database) == before  # terms, paragraph terms and flags, titles, meta: untouched
    write_article(folder, "late.txt", "Late story", ["The harbor tram ran late on Tuesday evening."])
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        assert (await index.current_generation()).number == first and not index.tokenizer.spec.stem
        assert (await index.ask("harbor tram opened")).hits[0].title == "Tram line opens"
        report = await index.reindex()  # the old settings: a plain incremental reindex, no retokenize
        assert (report.added, report.retokenized) == (1, 0)
        assert (await index.ask("tram late Tuesday")).hits[0].title == "Late story"
        assert (await index.ask("red storm warning")).hits[0].title == "Storm warning"
    async with await NewsIndex.open(stemmed) as index:  # and now it succeeds
        report = await index.reindex()
        assert report.retokenized == 6 and report.changed_anything
        assert (await index.ask("warnings of storms")).hits[0].title == "Storm warning"
