"""A cluster reindex reads each new or changed file once: the shards say which files they need
(each knows its own), the coordinator reads the union once (``Shards.parse``: on Ray, as tasks on
every node) and gives each shard its own articles, by the hash that routes them
(``stats.shard_of``), with the files whose articles are all other shards'.

The files are read a part at a time, and each part is handed to the shards before the next is read:
the coordinator holds one part, never the whole archive's text (a shard holds its own articles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from newsbot.index.cluster.stats import shard_of
from newsbot.index.ingest.plan import Key
from newsbot.index.ingest.sources import SourceFile
from newsbot.index.ingest.workers import Reading
from newsbot.index.model import Skipped
from newsbot.index.tokenizer import TokenizerSpec

Ask = tuple[list[SourceFile], TokenizerSpec, list[Key]]
"""A shard's "read": the files it needs, its tokenizer, the articles it stores from those files."""
END = "end of the files"  # the reply after the last part


@dataclass(slots=True)
class Part:
    """A shard's articles in one part of the files read, and those files that hold none of them."""

    reading: Reading
    away: list[SourceFile] = field(default_factory=list)


def union(asks: dict[int, Ask]) -> list[SourceFile]:
    """Every file some shard asked for, once, in the order first asked."""
    out: dict[tuple[str, str], SourceFile] = {}
    for sources, _, _ in asks.values():
        for src in sources:
            out.setdefault((src.root, src.rel), src)
    return list(out.values())


class Router:
    """Hands the parts read to the shards that asked (``asks``) among ``count``."""

    def __init__(self, asks: dict[int, Ask], count: int) -> None:
        self.count = count
        self.wanted = {shard: {(s.root, s.rel) for s in ask[0]} for shard, ask in asks.items()}
        self.held = {shard: set(ask[2]) for shard, ask in asks.items()}
        self.moved = 0  # articles a shard stored from these files that now go to another shard

    def route(self, part: Reading) -> dict[int, Part]:
        """Each asking shard's articles in ``part`` (a file not read is every asker's to report)."""
        out = {shard: Part(Reading(skipped=list(part.skipped))) for shard in self.wanted}
        for src, records in part.records:
            key = (src.root, src.rel)
            going = [(r, shard_of(r.text_hash, self.count)) for r in records]
            for shard, mine in out.items():
                if key not in self.wanted[shard]:
                    continue
                kept = [r for r, to in going if to == shard]
                mine.reading.records.append((src, kept))
                if records and not kept:
                    mine.away.append(src)
                for rec in kept:
                    where = str(Path(src.root) / rec.rel)
                    mine.reading.warnings.extend(Skipped(where, w) for w in rec.article.warnings)
                # one index counts a changed article once; here its old shard removes it and its new
                # one adds it: counted, to say "changed"
                held = self.held[shard]
                self.moved += sum(1 for r, to in going if to != shard and (src.root, r.rel) in held)
        return out


def assemble(sources: list[SourceFile], parts: list[Part]) -> tuple[Reading, list[SourceFile]]:
    """A shard's parts as one reading of ``sources``, in their order (as one index reads them)."""
    by_file = {(src.root, src.rel): (src, records) for part in parts for src, records in part.reading.records}
    out = Reading(records=[by_file[key] for key in ((s.root, s.rel) for s in sources) if key in by_file])
    for part in parts:
        out.skipped.extend(part.reading.skipped)
        out.warnings.extend(part.reading.warnings)
    return out, [src for part in parts for src in part.away]
