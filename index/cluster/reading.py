"""A cluster reindex reads each new or changed file once: the shards say which files they need
(each knows its own), the coordinator reads the union once (``Shards.parse``: on Ray, as tasks on
every node) and gives each shard its own articles, by the hash that routes them
(``stats.shard_of``), with the files whose articles are all other shards'.
"""

from __future__ import annotations

from pathlib import Path

from newsbot.index.cluster.stats import shard_of
from newsbot.index.ingest.plan import Key
from newsbot.index.ingest.sources import SourceFile
from newsbot.index.ingest.workers import Reading
from newsbot.index.model import Skipped
from newsbot.index.tokenizer import TokenizerSpec

Ask = tuple[list[SourceFile], TokenizerSpec, list[Key]]
"""A shard's "read": the files it needs, its tokenizer, the articles it stores from those files."""
Routed = tuple[Reading, list[SourceFile]]  # a shard's articles, and the files that hold none of them


def union(asks: dict[int, Ask]) -> list[SourceFile]:
    """Every file some shard asked for, once, in the order first asked."""
    out: dict[tuple[str, str], SourceFile] = {}
    for sources, _, _ in asks.values():
        for src in sources:
            out.setdefault((src.root, src.rel), src)
    return list(out.values())


def moved(asks: dict[int, Ask], reading: Reading, count: int) -> int:
    """How many articles a shard stores from these files now go to another shard: that shard counts
    one added, and the first one removed, where one index counts one changed."""
    goes = {
        (src.root, r.rel): shard_of(r.text_hash, count) for src, records in reading.records for r in records
    }
    return sum(1 for shard, (_, _, held) in asks.items() for key in held if goes.get(key, shard) != shard)


def route(asks: dict[int, Ask], reading: Reading, count: int) -> dict[int, Routed]:
    """Each asking shard's part of ``reading`` (every file read, once)."""
    by_file = {(src.root, src.rel): records for src, records in reading.records}
    out: dict[int, Routed] = {}
    for shard, (sources, _, _) in asks.items():
        mine = Reading(skipped=list(reading.skipped))  # (a file not read is every asker's to report)
        away: list[SourceFile] = []
        for src in sources:
            records = by_file.get((src.root, src.rel), [])
            kept = [r for r in records if shard_of(r.text_hash, count) == shard]
            mine.records.append((src, kept))
            if records and not kept:
                away.append(src)
            for rec in kept:
                mine.warnings.extend(Skipped(str(Path(src.root) / rec.rel), w) for w in rec.article.warnings)
        out[shard] = (mine, away)
    return out
