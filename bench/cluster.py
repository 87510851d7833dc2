"""A cluster's answers against one index's on this machine: the same articles built as a single index
and as 1, 2 and 4 shards (Ray actors on a private local Ray), the 224 dev questions asked of each in
the same run.

    python bench/cluster.py [--corpus all|demo|FOLDER] [--shards 1,2,4] [--rounds 3]
        [--workdir /tmp/newsbot-cluster] [--reuse] [--profile] [--build-in-process] [--all-at-once]
        [--out bench/results/cluster.json]

Every configuration is opened as the CLI and the bot open it (``opening.open_index``; ``[cluster]
shards = N``, ``address = "local"``) and built from the files (``reindex``). Reported per
configuration: the build time and how far the machine's memory in use rose during it; the answer latency (``ask``, as of each question's date) p50 / p99
over ``--rounds`` rounds, each round asking every configuration each question in turn (so the
machine's noise falls on all alike); each shard actor's memory (RSS after the questions, and its
peak, the build's); and whether every answer, as JSON (passages, order, scores, excerpts, notes),
equals the single index's. The shards' compiled ranking is loaded before anything is timed.

``--profile`` adds where a cluster's answer time goes: the coordinator's calls to the shards by
method, a bare round trip to an actor, the merge, and pickling the shards' candidates.

Ray runs inside this process only: address "local", a short RAY_TMPDIR under /tmp (removed at the
end), no usage stats. It is never stopped with ``ray stop``, which would stop every Ray on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pickle
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import REPO, MachinePeak, dev_questions, latency_summary, machine_info, news_folders, write_json

Question = tuple[str, Any]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--corpus", default="all", help="all (../shared/corpus), demo (realtimeqa_demo), or a folder"
    )
    p.add_argument("--shards", default="1,2,4", help="shard counts, comma-separated")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds of the dev questions")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/newsbot-cluster"))
    p.add_argument("--reuse", action="store_true", help="keep what an earlier run built (no build times)")
    p.add_argument("--profile", action="store_true", help="also time the parts of a cluster's answer")
    p.add_argument(
        "--build-in-process",
        action="store_true",
        help="build the shards in this process (address inprocess), then serve them by Ray actors",
    )
    p.add_argument(
        "--all-at-once",
        action="store_true",
        help="build every shard at once, even shards that share a node (they build in turn otherwise)",
    )
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cluster.json")
    return p.parse_args(argv)


ACTORS: list[int] = []  # the process ids of the shard actors this run started


@contextlib.contextmanager
def private_ray() -> Iterator[None]:
    """Ray's settings for a Ray of this process's own; afterwards Ray is shut down, any of this run's
    actors still running is ended (by its id) and the temp folder is removed."""
    folder = tempfile.mkdtemp(prefix="nbray", dir="/tmp")  # Ray's socket paths must be short
    env = {"RAY_TMPDIR": folder, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    os.environ.update(env)
    try:
        yield
    finally:
        with contextlib.suppress(ImportError):
            import ray

            if ray.is_initialized():
                ray.shutdown()
        reap(ACTORS, f"RAY_TMPDIR={folder}")
        shutil.rmtree(folder, ignore_errors=True)


def reap(pids: list[int], mark: str, wait: float = 5.0) -> None:
    """End the processes ``pids`` still running after ``wait`` seconds whose environment holds ``mark``
    (an actor's worker can outlive a Ray shut down under it)."""
    deadline = time.monotonic() + wait
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ")
        while environ.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(OSError):
            if mark.encode() in environ.read_bytes().split(b"\0"):
                os.kill(pid, signal.SIGTERM)
                print(f"ended shard actor process {pid}, left running by Ray", flush=True)


def settings_for(news: list[Path], folder: Path, shards: int, address: str) -> Any:
    from newsbot.index.config import settings_from_dict

    return settings_from_dict(
        {
            "news": {"folders": [str(f) for f in news]},
            "store": {"database": str(folder / "newsbot.db")},
            "cluster": {"shards": shards, "address": address, "call_timeout_seconds": 900},
        }
    )


async def opened(
    news: list[Path], folder: Path, shards: int, reuse: bool, address: str = "local"
) -> tuple[Any, dict[str, Any]]:
    """The configuration opened (built unless ``reuse`` finds it built), and its build's figures."""
    from newsbot.index.opening import open_index

    if not reuse and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = await open_index(settings_for(news, folder, shards, address))
    built: dict[str, Any] = {}
    if index.is_empty:
        started = time.perf_counter()
        with MachinePeak() as memory:
            report = await index.reindex()
        built = {"build_s": time.perf_counter() - started, "articles": report.articles}
        built.update(paragraphs=report.paragraphs, build_machine_extra_mb=memory.extra_mb)
        print(
            f"  built in {built['build_s']:.1f} s: {report.paragraphs:,} paragraphs; the machine's memory"
            f" in use peaked {memory.extra_mb:,.0f} MB above its start",
            flush=True,
        )
    if shards:
        for i in range(shards):
            if address != "inprocess":
                ACTORS.append(int((await index.shards.call(i, "process"))["pid"]))
            if not await index.shards.call(i, "compiled_ready", 600.0):
                raise SystemExit(f"shard {i}'s compiled ranking did not load")
    else:
        from newsbot.index.ranking import compiled

        if not compiled.wait(600):
            raise SystemExit(f"the compiled ranking did not load: {compiled.failure()}")
    return index, built


async def answer_json(index: Any, question: Question) -> tuple[float, str]:
    """One answer's time and its JSON (as tests/test_cluster.py compares them)."""
    started = time.perf_counter()
    answer = await index.ask(question[0], as_of=question[1])
    seconds = time.perf_counter() - started
    return seconds, json.dumps({**answer.to_json(), "more": answer.has_more, "fix": answer.suggestion})


async def asked(configs: dict[str, Any], questions: list[Question], rounds: int) -> dict[str, Any]:
    """Round 0 (untimed) and ``rounds`` timed rounds, every configuration each question in turn; the
    times by configuration and round, and how many answers differ from the single index's."""
    names = list(configs)
    times: dict[str, list[list[float]]] = {n: [[] for _ in range(rounds)] for n in names}
    differ = dict.fromkeys(names, 0)
    for r in range(rounds + 1):
        for q, question in enumerate(questions):
            turn = names[q % len(names) :] + names[: q % len(names)]  # who goes first changes
            got = {}
            for name in turn:
                seconds, got[name] = await answer_json(configs[name], question)
                if r:
                    times[name][r - 1].append(seconds)
            for name in names:
                differ[name] += got[name] != got["single"]
        print(f"  round {r} done" + (" (untimed)" if r == 0 else ""), flush=True)
    return {"times": times, "differ": differ}


async def profiled(index: Any, questions: list[Question]) -> dict[str, Any]:
    """Where a cluster's answers spend their time: its calls to the shards by method (driver's view),
    a bare round trip to an actor, the merge, and pickling each shard's candidates."""
    from newsbot.index.cluster import source

    calls: dict[str, list[float]] = {}
    merges: list[float] = []
    pickled: list[float] = []
    shards, real_call, real_merge = index.shards, index.shards.call, source.merge
    real_search = shards.search

    async def call(shard: int, method: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return await real_call(shard, method, *args)
        finally:
            calls.setdefault(method, []).append(time.perf_counter() - started)

    async def search(*args: Any) -> Any:  # every shard at once, in one step (ray_graph.py)
        started = time.perf_counter()
        try:
            return await real_search(*args)
        finally:
            calls.setdefault("search, every shard in one step", []).append(time.perf_counter() - started)

    def merge(parts: Any, limit: int, **options: Any) -> Any:
        for part in parts:
            started = time.perf_counter()
            pickle.loads(pickle.dumps(part, protocol=5))
            pickled.append(time.perf_counter() - started)
        started = time.perf_counter()
        try:
            return real_merge(parts, limit, **options)
        finally:
            merges.append(time.perf_counter() - started)

    shards.call, shards.search, source.merge = call, search, merge
    try:
        answers = [(await answer_json(index, question))[0] for question in questions]
        bare = []
        for _ in range(200):
            started = time.perf_counter()
            await real_call(0, "open")  # an opened actor returns at once
            bare.append(time.perf_counter() - started)
    finally:
        del shards.call, shards.search
        source.merge = real_merge
    n = len(questions)
    return {
        "answer": latency_summary(answers),
        "calls_per_answer": {m: len(v) / n for m, v in calls.items()},
        "call": {m: latency_summary(v) for m, v in calls.items()},
        "bare_round_trip": latency_summary(bare),
        "merge": latency_summary(merges),
        "pickle_candidates": latency_summary(pickled),
    }


class Echo:
    """The least an actor can do: Ray's own cost of a call on this machine."""

    def same(self, value: Any) -> Any:
        return value


class AsyncEcho:
    async def same(self, value: Any) -> Any:  # an async actor, as the shards' (ray_shards.ShardHost)
        return value


async def ray_floor(n: int = 300) -> dict[str, Any]:
    """A call's round trip to an actor that does nothing, sync and async, awaited three ways: as
    ``ray_shards.RayShards.call`` does (``asyncio.wrap_future(ref.future())``), ``await ref``, and a
    blocking ``ray.get``."""
    import ray

    actors = {
        "sync actor": ray.remote(num_cpus=0)(Echo).remote(),
        "async actor": ray.remote(num_cpus=0, max_concurrency=64)(AsyncEcho).remote(),
    }
    ways = {
        "wrap_future": lambda ref: asyncio.wrap_future(ref.future()),
        "await ref": lambda ref: ref,
    }
    out: dict[str, Any] = {}
    try:
        for name, actor in actors.items():
            ray.get(actor.same.remote(0))
            for way, wait in ways.items():
                seconds = []
                for _ in range(n):
                    started = time.perf_counter()
                    await wait(actor.same.remote(0))
                    seconds.append(time.perf_counter() - started)
                out[f"{name}, {way}"] = latency_summary(seconds)
            seconds = []
            for _ in range(n):
                started = time.perf_counter()
                ray.get(actor.same.remote(0))
                seconds.append(time.perf_counter() - started)
            out[f"{name}, ray.get"] = latency_summary(seconds)
        out["sync actor, compiled graph"] = await graph_floor(actors["sync actor"], n)
    finally:
        for actor in actors.values():
            ray.kill(actor)
    return out


async def graph_floor(actor: Any, n: int) -> dict[str, Any]:
    """An execution of a compiled graph of one call to ``actor``, as ``ray_graph.py`` runs one."""
    from ray.dag import InputNode

    with InputNode() as given:
        graph = actor.same.bind(given).experimental_compile(enable_asyncio=True)
    try:
        seconds = []
        for _ in range(n + 1):
            started = time.perf_counter()
            await (await graph.execute_async(0))
            seconds.append(time.perf_counter() - started)
        return latency_summary(seconds[1:])
    finally:
        graph.teardown()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.all_at_once:  # (the coordinator asks steps.waves how to build)
        from newsbot.index.cluster import steps

        steps.waves = lambda nodes: [list(range(len(nodes)))]
    news = news_folders(args.corpus, args.workdir)
    questions = dev_questions()
    counts = [int(s) for s in args.shards.split(",") if s.strip()]
    configs: dict[str, Any] = {}
    figures: dict[str, Any] = {"machine": machine_info(), "args": {k: str(v) for k, v in vars(args).items()}}
    runs: dict[str, Any] = figures.setdefault("configs", {})
    try:
        for shards in [0, *counts]:
            name = "single" if shards == 0 else f"{shards} shards"
            print(f"{name}:", flush=True)
            folder = args.workdir / ("single" if shards == 0 else f"shards-{shards}")
            if shards and args.build_in_process and not args.reuse:  # (one process's memory, no copies)
                index, runs[name] = await opened(news, folder, shards, False, "inprocess")
                await index.close()
                configs[name] = (await opened(news, folder, shards, True))[0]
            else:
                configs[name], runs[name] = await opened(news, folder, shards, args.reuse)
        if args.profile:  # the same shards' databases, served in this process: the cost of Ray apart
            for shards in counts:
                name = f"{shards} shards, in process"
                folder = args.workdir / f"shards-{shards}"
                configs[name], runs[name] = await opened(news, folder, shards, True, "inprocess")
            figures["ray_floor"] = await ray_floor()
        result = await asked(configs, questions, args.rounds)
        for name, index in configs.items():
            every = [t for per_round in result["times"][name] for t in per_round]
            runs[name]["answer"] = latency_summary(every)
            runs[name]["answer_rounds"] = [latency_summary(t) for t in result["times"][name]]
            runs[name]["answers_differing"] = result["differ"][name]
            if name != "single" and "in process" not in name:
                shards = index.shards.count
                runs[name]["actors"] = [await index.shards.call(i, "process") for i in range(shards)]
                if args.profile:
                    runs[name]["profile"] = await profiled(index, questions)
    finally:
        for index in configs.values():
            await index.close()
    return figures


def table(figures: dict[str, Any]) -> str:
    single = figures["configs"]["single"]["answer"]["p50_ms"]
    lines = [
        "| configuration | build s | answer p50 ms | p99 ms | p50 − single's | p50 by round | RSS per shard MB "
        "(peak) | answers ≠ single's |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, run in figures["configs"].items():
        a = run["answer"]
        rounds = " / ".join(f"{r['p50_ms']:.2f}" for r in run["answer_rounds"])
        actors = run.get("actors", [])
        memory = ", ".join(f"{p['rss_mb']:.0f} ({p['peak_mb']:.0f})" for p in actors if "rss_mb" in p) or "–"
        build = f"{run['build_s']:.1f}" if "build_s" in run else "–"
        delta = f"{a['p50_ms'] - single:+.2f}" if name != "single" else ""
        lines.append(
            f"| {name} | {build} | {a['p50_ms']:.2f} | {a['p99_ms']:.2f} | {delta} | {rounds} | {memory} "
            f"| {run['answers_differing']} |"
        )
    return "\n".join(lines)


def profile_lines(figures: dict[str, Any]) -> list[str]:
    out = []
    for name, run in figures["configs"].items():
        prof = run.get("profile")
        if not prof:
            continue
        calls = ", ".join(
            f"{m} {prof['calls_per_answer'][m]:.1f}× p50 {prof['call'][m]['p50_ms']:.2f}"
            for m in sorted(prof["call"])
        )
        out.append(
            f"{name}: answer p50 {prof['answer']['p50_ms']:.2f} ms; calls per answer (ms): {calls}; "
            f"bare round trip p50 {prof['bare_round_trip']['p50_ms']:.2f}; merge p50 "
            f"{prof['merge']['p50_ms']:.3f}; pickling a shard's candidates p50 "
            f"{prof['pickle_candidates']['p50_ms']:.3f}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with private_ray():
        figures = asyncio.run(run(args))
    write_json(args.out, figures)
    print(table(figures))
    for line in profile_lines(figures):
        print(line)
    for way, times in figures.get("ray_floor", {}).items():
        print(f"bare Ray call, {way}: p50 {times['p50_ms']:.2f} ms, p99 {times['p99_ms']:.2f} ms")
    differing = sum(run["answers_differing"] for run in figures["configs"].values())
    if differing:
        print(f"ANSWERS DIFFER from the single index's: {differing}")
    print(f"(figures in {args.out}; load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
