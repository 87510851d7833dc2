"""The store's rows a reindex reads and writes in bulk: chunked inserts, what a build reads, and what
the stored articles hold (to compare with their citing copies)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import aiosqlite

from newsbot.index.ingest.build import ArticleRow, ParagraphRow, Stored, article_key
from newsbot.index.ingest.citations import StoredArticle
from newsbot.index.ingest.junk import START, junk_flag
from newsbot.index.store.database import Store

INSERT_CHUNK = 20_000  # rows a statement at a time: progress is reported, the loop stays responsive


async def insert(
    conn: aiosqlite.Connection,
    sql: str,
    rows: Sequence[tuple[object, ...]],
    progress: Callable[[int], None] | None = None,
) -> None:
    """executemany in chunks, so progress can be reported and the loop stays responsive."""
    for i in range(0, len(rows), INSERT_CHUNK):
        await conn.executemany(sql, rows[i : i + INSERT_CHUNK])
        if progress:
            progress(min(i + INSERT_CHUNK, len(rows)))


async def stored_for_build(store: Store) -> Stored:
    """What a build reads from the store. Flags are set when a paragraph is stored; rows stored before
    schema 3 have none yet, and only for those is the text read (then the flags are saved, so that
    happens once)."""
    rows = await store.rows("SELECT id, date, title_terms, text_hash FROM articles ORDER BY id")
    articles = [(r[0], r[1], r[2]) for r in rows]
    keys = [article_key(r[3]) for r in rows]
    del rows
    paragraphs: list[Any] = await store.rows(
        "SELECT id, article_id, position, terms, flags,"
        " CASE WHEN flags IS NULL THEN length(text) END,"
        f" CASE WHEN flags IS NULL THEN substr(text, 1, {START}) END"
        " FROM paragraphs ORDER BY article_id, position"
    )
    missing = [(junk_flag(r[6], r[5], len(r[3]) // 4), r[0]) for r in paragraphs if r[4] is None]
    if missing:
        await insert(store.conn, "UPDATE paragraphs SET flags = ? WHERE id = ?", missing)
        fixed = dict((i, f) for f, i in missing)
        paragraphs = [(*r[:4], fixed[r[0]]) if r[4] is None else r for r in paragraphs]
    return Stored(
        articles=cast(list[ArticleRow], articles),
        paragraphs=cast(list[ParagraphRow], paragraphs),  # (the two extra columns are not read)
        n_terms=int(await store.scalar("SELECT coalesce(max(id), -1) + 1 FROM terms")),
        numeric=[int(i) for (i,) in await store.rows("SELECT id FROM terms WHERE term GLOB '*[0-9]*'")],
        keys=keys,
    )


async def stored_articles(store: Store, ids: list[int]) -> dict[int, StoredArticle]:
    """What the store holds of these articles, to compare with their citing copies."""
    out: dict[int, StoredArticle] = {}
    for lo in range(0, len(ids), 500):
        part = ids[lo : lo + 500]
        marks = ",".join("?" * len(part))
        texts: dict[int, list[str]] = {}
        sql = (
            f"SELECT article_id, text FROM paragraphs WHERE article_id IN ({marks})"
            " ORDER BY article_id, position"
        )
        for article, text in await store.rows(sql, part):
            texts.setdefault(int(article), []).append(str(text))
        sql = f"SELECT id, title, date, source, url FROM articles WHERE id IN ({marks})"
        for article, title, date, source, url in await store.rows(sql, part):
            out[int(article)] = StoredArticle(title, date, source, url, tuple(texts.get(int(article), ())))
    return out


async def vocabulary_of(store: Store, n_terms: int) -> list[str]:
    """Each term id's word, for ids below ``n_terms`` ("" for an id no word has)."""
    words = [""] * n_terms
    for i, term in await store.rows("SELECT id, term FROM terms"):
        if 0 <= i < n_terms:
            words[i] = term
    return words
