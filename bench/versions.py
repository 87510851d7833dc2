"""Answer latency and serving memory of two newsbot installs, measured alternately in one run.

Each install (a Python with newsbot installed, and a database built by that install) answers the 224
dev questions of ../shared/eval, each as of its quiz date, once untimed and then ``--passes`` times
timed, in a fresh process; the two alternate ``--rounds`` times, so that a machine that slows down or
speeds up during the run weighs on both alike.

    python bench/versions.py --a OLD_PYTHON OLD_DB --b NEW_PYTHON NEW_DB [--rounds 3] [--passes 3]

A database's pages that are already in the page cache are mapped by the kernel around each page a
process touches, so serving RSS depends on how recently a database was written or read: compare
installs on databases in the same state (both built shortly before, or both read once).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "realtimeqa_dev.jsonl"

CHILD = """
import asyncio, datetime as dt, json, sys, time
from newsbot.index.api import NewsIndex
from newsbot.index.config import settings_from_dict
from newsbot.index.ranking import compiled

database, questions, passes = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(line) for line in open(questions, encoding="utf-8") if line.strip()]


def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


async def main():
    settings = settings_from_dict({"store": {"database": database}})
    async with await NewsIndex.open(settings) as index:
        compiled.wait()
        asked = [(r["question"], dt.date.fromisoformat(r["question_date"])) for r in rows]
        for question, as_of in asked:
            await index.ask(question, k=5, as_of=as_of)
        times = []
        for _ in range(passes):
            for question, as_of in asked:
                started = time.perf_counter()
                await index.ask(question, k=5, as_of=as_of)
                times.append((time.perf_counter() - started) * 1000)
        print(json.dumps({"times": times, "rss_mb": rss_mb()}))


asyncio.run(main())
"""


def run(python: str, database: str, passes: int) -> dict[str, object]:
    done = subprocess.run(
        [python, "-c", CHILD, database, str(QUESTIONS), str(passes)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.splitlines()[-1]))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", nargs=2, metavar=("PYTHON", "DB"), required=True, help="the first install")
    parser.add_argument("--b", nargs=2, metavar=("PYTHON", "DB"), required=True, help="the second install")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="timed passes over the questions per round")
    args = parser.parse_args()
    results: dict[str, list[dict[str, object]]] = {"a": [], "b": []}
    for _ in range(args.rounds):
        for name in ("a", "b"):
            python, database = getattr(args, name)
            results[name].append(run(python, database, args.passes))
    print(f"{'install':<8} {'answer p50 ms':>14} {'answer p99 ms':>14} {'serving RSS MB':>15}  (per round)")
    for name in ("a", "b"):
        rounds = results[name]
        p50 = [percentile(list(r["times"]), 0.5) for r in rounds]  # type: ignore[arg-type]
        p99 = [percentile(list(r["times"]), 0.99) for r in rounds]  # type: ignore[arg-type]
        rss = [float(r["rss_mb"]) for r in rounds]  # type: ignore[arg-type]
        print(
            f"{name:<8} {statistics.median(p50):>14.2f} {statistics.median(p99):>14.2f} "
            f"{statistics.median(rss):>15.0f}  p50 {', '.join(f'{v:.2f}' for v in p50)}"
        )


if __name__ == "__main__":
    sys.exit(main())
