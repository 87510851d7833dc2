"""Time one shard's part of a cluster's ranking (``ranking/shard.py: candidates``), by numpy and by
the compiled kernels, on the calls a cluster makes for the 224 dev questions (as of their dates).

    python bench/shard_candidates.py [--corpus all|demo|FOLDER] [--shards 1,2,4]
        [--workdir /tmp/newsbot-cluster] [--repeat 5]

Each shard count's cluster is built in this process (``address = "inprocess"``) into
``WORKDIR/shards-N/`` unless a cluster generation is already there (``bench/cluster.py`` builds the
same databases with Ray). The dev questions are asked once with every shard's ``candidates`` call
recorded; each call is then timed by either implementation (the best of ``--repeat``, so that the
machine's noise counts less), and the two outputs are compared field by field.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import dev_questions, latency_summary, news_folders, write_json

FIELDS = ("final", "coarse", "day", "key", "position", "article", "headline")
TITLED = ("titled_day", "titled_key", "titled_score")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--corpus", default="all", help="all (../shared/corpus), demo (realtimeqa_demo), or a folder"
    )
    p.add_argument("--shards", default="1,2,4", help="shard counts, comma-separated")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/newsbot-cluster"))
    p.add_argument("--repeat", type=int, default=5, help="timings per call; the best is kept")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here too")
    return p.parse_args(argv)


def cluster_settings(news: list[Path], folder: Path, shards: int, address: str) -> Any:
    from newsbot.index.config import settings_from_dict

    return settings_from_dict(
        {
            "news": {"folders": [str(f) for f in news]},
            "store": {"database": str(folder / "newsbot.db")},
            "cluster": {"shards": shards, "address": address, "call_timeout_seconds": 600},
        }
    )


async def recorded_calls(settings: Any, questions: list[tuple[str, dt.date]]) -> list[tuple[Any, ...]]:
    """Open (building if need be) the in-process cluster and ask ``questions``; every shard's
    ``candidates`` call, as (shard, generation, term ids, window, params, the preselection's cut)."""
    from newsbot.index.cluster import shard as cluster_shard
    from newsbot.index.opening import open_index

    calls: list[tuple[Any, ...]] = []
    real = cluster_shard.candidates
    index = await open_index(settings)
    try:
        if index.is_empty:
            started = time.perf_counter()
            report = await index.reindex()
            print(
                f"  built {report.paragraphs:,} paragraphs in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
        held = {id(g): s.number for s in index.shards.shards for g in s._held.values()}  # type: ignore[attr-defined]

        def recording(gen: Any, ids: list[int], window: Any, params: Any, preselect: Any = None) -> Any:
            calls.append((held.get(id(gen), -1), gen, list(ids), window, params, preselect))
            return real(gen, ids, window, params, preselect)

        cluster_shard.candidates = recording  # type: ignore[assignment]
        for question, as_of in questions:
            await index.ask(question, as_of=as_of)
    finally:
        cluster_shard.candidates = real  # type: ignore[assignment]
        await index.close()
    return calls


def best_of(fn: Any, args: tuple[Any, ...], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - started)
    return best, out


def differences(a: Any, b: Any) -> list[str]:
    """The fields in which two Candidates differ (scores to 1e-12), empty when they are the same."""
    out = []
    for name in FIELDS + TITLED:
        x, y = getattr(a, name), getattr(b, name)
        if x.shape != y.shape or x.dtype != y.dtype:
            out.append(f"{name}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}")
        elif x.dtype == np.float64:
            if not np.array_equal(np.isfinite(x), np.isfinite(y)) or not np.allclose(
                x, y, rtol=0, atol=1e-12, equal_nan=True
            ):
                out.append(name)
        elif not np.array_equal(x, y):
            out.append(name)
    return out


def timed(calls: list[tuple[Any, ...]], shards: int, repeat: int) -> dict[str, Any]:
    from newsbot.index.ranking import compiled
    from newsbot.index.ranking import shard as ranking_shard

    numpy_version = getattr(ranking_shard, "candidates_numpy", ranking_shard.candidates)
    rows: dict[str, Any] = {}
    for label, fn in (("numpy", numpy_version), ("compiled", ranking_shard.candidates)):
        if label == "compiled" and not compiled.ready():
            continue
        per: list[list[float]] = [[] for _ in range(shards)]
        outs = []
        for number, gen, ids, window, params, preselect in calls:
            seconds, out = best_of(fn, (gen, ids, window, params, preselect), repeat)
            per[number].append(seconds)
            outs.append(out)
        rows[label] = {"per_shard": [latency_summary(p) for p in per], "outs": outs}
        rows[label]["rows"] = int(np.mean([len(o) for o in outs]))
    if "compiled" in rows:
        bad = [i for i, (a, b) in enumerate(zip(rows["numpy"]["outs"], rows["compiled"]["outs"], strict=True))
               if differences(a, b)]  # fmt: skip
        rows["mismatches"] = len(bad)
        if bad:
            first = bad[0]
            print(f"  MISMATCH on {len(bad)} calls, e.g. call {first}: "
                  f"{differences(rows['numpy']['outs'][first], rows['compiled']['outs'][first])}")  # fmt: skip
    for label in ("numpy", "compiled"):
        if label in rows:
            del rows[label]["outs"]
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from newsbot.index.ranking import compiled

    compiled.start()
    news = news_folders(args.corpus, args.workdir)
    questions = dev_questions()
    figures: dict[str, Any] = {"corpus": args.corpus, "repeat": args.repeat, "runs": {}}
    for shards in [int(s) for s in args.shards.split(",") if s.strip()]:
        folder = args.workdir / f"shards-{shards}"
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{shards} shard(s) in {folder}", flush=True)
        calls = asyncio.run(recorded_calls(cluster_settings(news, folder, shards, "inprocess"), questions))
        compiled.wait()
        result = timed(calls, shards, args.repeat)
        figures["runs"][str(shards)] = result
        for label in ("numpy", "compiled"):
            if label not in result:
                continue
            cells = [f"p50 {s['p50_ms']:.3f} p99 {s['p99_ms']:.3f} mean {s['mean_ms']:.3f}"
                     for s in result[label]["per_shard"]]  # fmt: skip
            print(f"  {label:8s} ({len(calls)} calls, ~{result[label]['rows']} rows): " + " | ".join(cells))
        if "mismatches" in result:
            print(f"  outputs differ on {result['mismatches']} of {len(calls)} calls")
    if args.out:
        write_json(args.out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
