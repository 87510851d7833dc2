"""store/reader.py: the term ids and paragraph rows a shard's search reads on any thread give what the
store's own queries give, see each commit, and fail as the store does."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.errors import StoreError
from newsbot.index.store import queries
from newsbot.index.store.reader import Reader
from tests.helpers import make_settings, write_article
from tests.test_cluster import news_copy


async def test_reads_on_many_threads_equal_the_stores_and_see_new_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "ROWS_AT_ONCE", 10)  # (several queries a call)
    folder = news_copy(tmp_path)
    settings = make_settings(tmp_path / "one", [folder])
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        words = ["harbor", "tram", "storm", "budget", "zzqx"]
        keys = [
            (int(a), int(p)) for a, p in await index.store.rows("SELECT article_id, position FROM paragraphs")
        ]
        reader = Reader(settings.database)
        try:
            with ThreadPoolExecutor(8) as pool:
                ids = list(pool.map(lambda _: reader.term_ids(words), range(16)))
                rows = list(pool.map(lambda i: reader.paragraph_rows(keys[i::4]), range(4)))
            assert ids == [await index.queries.term_ids(words)] * 16 and "zzqx" not in ids[0]
            assert {k: r for part in rows for k, r in part.items()} == await index.queries.paragraph_rows(
                keys
            )
            assert len(keys) > 100

            assert reader.term_ids(["zephyrine"]) == {}
            write_article(folder, "new/ferry.txt", "Night ferry", ["The zephyrine ferry now runs at night."])
            await index.reindex()
            assert reader.term_ids(["zephyrine"]) == await index.queries.term_ids(["zephyrine"]) != {}
        finally:
            reader.close()
        assert reader.term_ids(["zephyrine"])  # a read after close opens a connection again
        reader.close()


def test_a_database_that_cannot_be_read_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        Reader(tmp_path / "missing.db").term_ids(["harbor"])
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError):
        Reader(bad).paragraph_rows([(1, 0)])
    sqlite3.connect(tmp_path / "empty.db").close()
    with pytest.raises(StoreError):  # (no newsbot tables)
        Reader(tmp_path / "empty.db").term_ids(["harbor"])
