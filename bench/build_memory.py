"""The build stage's memory, step by step: where a generation's build peaks, on a database already built.

    python bench/build_memory.py --db /tmp/newsbot-synth/scale/x10/newsbot.db

Reads the rows a reindex's build reads (``rows.stored_for_build``) and runs ``build.build`` on them in
this process, printing the resident memory before and after each of its steps and the highest value
sampled in between (every 50 ms). Nothing is written: the database is only read. A reindex adds to
these figures what its process kept from reading and storing the articles (``scale.py`` samples it).
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import rss_mb

# the steps of ingest/build.py that are timed; a name the build no longer has is skipped
STEPS = (
    "date_order",
    "_places",
    "headline_documents",
    "count_matrix",
    "_flag_numbers",
    "weigh",
    "article_counts",
    "count_weights",
    "block_bounds",
)


class Sampler:
    """The highest resident memory since the last mark, sampled on a thread."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.high = rss_mb()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self.high = max(self.high, rss_mb())
            time.sleep(0.05)

    def mark(self, what: str) -> None:
        now = rss_mb()
        high = max(self.high, now)
        print(
            f"{time.perf_counter() - self.started:7.1f} s  {what:<36} {now:9,.0f} MB  (peak {high:,.0f} MB)"
        )
        self.high = now


def watch(module: Any, sampler: Sampler) -> None:
    """Wrap each of ``STEPS`` in ``module`` to mark memory before and after it."""
    for name in STEPS:
        step = getattr(module, name, None)
        if step is None:
            continue

        def wrapped(*args: Any, _step: Callable[..., Any] = step, _name: str = name, **kwargs: Any) -> Any:
            sampler.mark(f"before {_name}")
            result = _step(*args, **kwargs)
            sampler.mark(f"after {_name}")
            return result

        setattr(module, name, wrapped)


async def main(database: Path) -> None:
    from newsbot.index.ingest import build
    from newsbot.index.ingest.rows import stored_for_build
    from newsbot.index.ranking.bm25 import BM25Params
    from newsbot.index.store.database import Store
    from newsbot.index.tokenizer import TokenizerSpec

    sampler = Sampler()
    watch(build, sampler)
    store = await Store.open(database, migrate=False, create=False, reading=True)
    try:
        stored = await stored_for_build(store)
    finally:
        await store.close()
    sampler.mark(f"rows read ({len(stored.paragraphs):,} paragraphs)")
    _, arrays = build.build(stored, BM25Params(), TokenizerSpec(), 0, "")
    sampler.mark("built")
    sizes = sorted(((a.nbytes / 2**20, name) for name, a in arrays.items()), reverse=True)
    print(
        f"arrays: {sum(s for s, _ in sizes):,.0f} MB ("
        + ", ".join(f"{n} {s:,.0f}" for s, n in sizes[:5])
        + ")"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a database newsbot built")
    asyncio.run(main(parser.parse_args().db))
