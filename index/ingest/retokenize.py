"""A new tokenizer, or new junk rules, reach the articles already stored.

Changed tokenizer settings need no full reindex: every stored title and paragraph is tokenized again
from the text the store keeps, and its junk flag computed again. Files are not read for this, so the
articles of folders this run does not scan, or that have gone since, are kept. New junk rules only
compute the flags again.

Both read the store in chunks before the reindex's write transaction, so that the question log and
follows (other writers of the database) wait only while the rows are written; the writer's lock keeps
any other reindex from changing paragraphs meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from newsbot.index.ingest.junk import START, junk_flag
from newsbot.index.ingest.plan import WriteState
from newsbot.index.ingest.workers import Progress
from newsbot.index.store.database import Store
from newsbot.index.tokenizer import Tokenizer

RETOKENIZE_CHUNK = 20_000  # stored paragraphs tokenized again at a time


@dataclass(slots=True)
class Retokenized:
    """The rows a new tokenizer rewrites: (terms, id) of titles, (terms, flags, id) of paragraphs,
    and the new (id, term) pairs."""

    titles: list[tuple[bytes, int]] = field(default_factory=list)
    paragraphs: list[tuple[bytes, int, int]] = field(default_factory=list)
    terms: list[tuple[int, str]] = field(default_factory=list)


async def retokenize(store: Store, tokenizer: Tokenizer, progress: Progress) -> Retokenized:
    """Every stored title and paragraph tokenized again (the rows to write, not written yet).

    Terms keep their ids; new terms get ids never used before, so a reader still on the previous
    generation cannot mistake one term for another.
    """
    out = Retokenized()
    state = WriteState(
        vocab={t: i for t, i in await store.rows("SELECT term, id FROM terms")},
        by_hash={},
        next_article=0,
        next_paragraph=0,
    )

    def encode(texts: list[str]) -> list[bytes]:
        return state.encode(tokenizer.tokens_many(texts), out.terms)

    titles = await store.rows("SELECT id, title FROM articles")
    blobs = await asyncio.to_thread(encode, [str(t) for _, t in titles])
    out.titles = [(blob, i) for blob, (i, _) in zip(blobs, titles, strict=True)]
    total = int(await store.scalar("SELECT count(*) FROM paragraphs"))
    progress("retokenize", 0, total)
    last = -1
    while True:
        rows = await store.rows(
            "SELECT id, text FROM paragraphs WHERE id > ? ORDER BY id LIMIT ?", (last, RETOKENIZE_CHUNK)
        )
        if not rows:
            break
        texts = [str(text) for _, text in rows]
        blobs = await asyncio.to_thread(encode, texts)
        out.paragraphs.extend(
            (blob, junk_flag(text[:START], len(text), len(blob) // 4), pid)
            for (pid, _), text, blob in zip(rows, texts, blobs, strict=True)
        )
        last = int(rows[-1][0])
        progress("retokenize", len(out.paragraphs), total)
    return out


async def reflag(store: Store) -> list[tuple[int, int]]:
    """New junk rules: the stored paragraphs whose flag they change, as ``(flags, id)`` rows to write."""
    out: list[tuple[int, int]] = []
    last = -1
    while True:
        rows = await store.rows(
            f"SELECT id, flags, length(text), substr(text, 1, {START}), length(terms) FROM paragraphs"
            " WHERE id > ? ORDER BY id LIMIT ?",
            (last, RETOKENIZE_CHUNK),
        )
        if not rows:
            return out
        for pid, flags, length, start, n_bytes in rows:
            junk = junk_flag(start, length, n_bytes // 4)
            if flags is None or flags != junk:
                out.append((junk, pid))
        last = int(rows[-1][0])
