"""A shard's files whose articles all live on other shards (``newsbot.index.cluster``).

Every shard scans every news folder, but stores only the articles routed to it, so a file whose
articles went elsewhere leaves no file row behind and would be read again at every reindex. Each
such file is remembered here (table ``units_elsewhere``) with its stamp; the shard reads it again
only when it changes. One machine's index never writes the table.
"""

from __future__ import annotations

from newsbot.index.ingest.plan import Key
from newsbot.index.ingest.sources import SourceFile
from newsbot.index.store.database import Store

Elsewhere = dict[Key, str]
"""(root, file) → the stamp it had when its articles were found to be all another shard's."""


async def load(store: Store) -> Elsewhere:
    return {(root, unit): stamp for root, unit, stamp in await store.rows("SELECT * FROM units_elsewhere")}


async def remember(
    store: Store, elsewhere: Elsewhere, read: list[SourceFile], away: list[SourceFile], listed: set[Key]
) -> None:
    """Forget the files read again or gone (from the roots scanned); remember those now away."""
    stale = {(s.root, s.rel) for s in read} | {k for k in elsewhere if k not in listed}
    if not stale and not away:
        return
    async with store.transaction():
        await store.conn.executemany("DELETE FROM units_elsewhere WHERE root = ? AND unit = ?", sorted(stale))
        await store.conn.executemany(
            "INSERT OR REPLACE INTO units_elsewhere(root, unit, stamp) VALUES (?, ?, ?)",
            [(s.root, s.rel, s.stamp) for s in away],
        )
