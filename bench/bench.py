"""Benchmark newsbot against rank-bm25 and tantivy on the same paragraphs, tokens and questions.

    python bench/bench.py [--sizes 20000,200000,all] [--out bench/results/latest.json]
        [--workdir /tmp/newsbot-bench] [--skip-rank-bm25-above 250000] [--queries 500]

For each size, the first articles of bbc + realtimeqa_news + reuters21578 (until that many
paragraphs) are put in a folder and newsbot indexes it from the files, as a user would. The tokens
newsbot stored are then given to rank-bm25 (as token lists) and to tantivy (joined by spaces, with
tantivy's whitespace tokenizer), so all three index the same words. Every stage runs in its own
process (``workers.py``) so that its peak memory is its own. See README.md for what is measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    REPO,
    ArticleFile,
    corpus_dirs,
    dump_tokens,
    first_files,
    folder_mb,
    machine_info,
    make_corpus,
    manifest,
    questions,
    read_json,
    spread,
    touch_articles,
    write_json,
)

WORKERS = Path(__file__).resolve().parent / "workers.py"
SCORE_TOLERANCE = 1e-6


# --- command line ------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="20000,200000,all", help="paragraph counts, comma-separated; 'all'")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/newsbot-bench"))
    p.add_argument("--skip-rank-bm25-above", type=int, default=250_000, help="paragraphs")
    p.add_argument("--queries", type=int, default=500, help="questions per system and size")
    p.add_argument("--rank-bm25-queries", type=int, default=30, help="it takes ~0.3 s a query at 200k")
    p.add_argument(
        "--warmup", type=int, default=-1, help="questions asked untimed before timing (-1: all of them)"
    )
    p.add_argument("--changed-share", type=float, default=0.01, help="articles changed for the reindex")
    p.add_argument("--tantivy-threads", type=int, default=1, help="indexing threads")
    p.add_argument("--tantivy-heap-mb", type=int, default=256)
    p.add_argument("--stage-timeout", type=float, default=2400, help="seconds before a stage is given up")
    return p.parse_args(argv)


def parse_sizes(text: str) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    for part in (s.strip() for s in text.split(",") if s.strip()):
        if part == "all":
            out.append(("all", None))
        else:
            n = int(part.replace("_", ""))
            out.append((f"{n // 1000}k" if n % 1000 == 0 else str(n), n))
    return out


# --- running a stage in its own process --------------------------------------------------------
def run_worker(task: str, args: dict[str, Any], folder: Path, timeout: float) -> dict[str, Any]:
    """Run one worker task; its result, plus the wall time from spawn to exit and when it began."""
    args_path, out_path = folder / f"{task}.args.json", folder / f"{task}.out.json"
    write_json(args_path, args)
    out_path.unlink(missing_ok=True)
    began = time.time()
    proc = subprocess.Popen([sys.executable, str(WORKERS), task, str(args_path), str(out_path)])
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return {"error": f"gave up after {timeout:.0f} s"}
    if code != 0 or not out_path.is_file():
        return {"error": f"exited with status {code}"}
    result: dict[str, Any] = read_json(out_path)
    result["process_wall_s"] = time.time() - began
    result["spawned_at"] = began
    return result


# --- comparing result lists --------------------------------------------------------------------
def same_top(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Equal top 10 up to ties: equal scores rank by rank, the same documents above the cut."""
    a, b = ours["scores"], theirs["scores"]
    if len(a) != len(b) or any(abs(x - y) > SCORE_TOLERANCE for x, y in zip(a, b, strict=True)):
        return False
    if not a:
        return True
    cut = a[-1] + SCORE_TOLERANCE
    above = {d for d, s in zip(ours["docs"], a, strict=True) if s > cut}
    return above == {d for d, s in zip(theirs["docs"], b, strict=True) if s > cut}


def overlap(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> float:
    """Mean share of newsbot's pure-BM25 top 10 that the other system also returns."""
    shares = [
        len(set(a["docs"]) & set(b["docs"])) / len(a["docs"])
        for a, b in zip(ours, theirs, strict=True)
        if a["docs"] and b["docs"]
    ]
    return sum(shares) / len(shares) if shares else float("nan")


def times(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


# --- one size ----------------------------------------------------------------------------------
class SizeRun:
    """Every measurement at one corpus size; results land in ``self.result`` as they come."""

    def __init__(
        self, label: str, files: list[ArticleFile], opts: argparse.Namespace, qs: list[dict[str, Any]]
    ) -> None:
        self.label = label
        self.files = files
        self.opts = opts
        self.questions = qs
        self.root = opts.workdir / "sizes" / label
        self.news = self.root / "news"
        self.database = self.root / "newsbot.db"
        self.tokens = self.root / "tokens.txt"
        self.tantivy_dir = self.root / "tantivy"
        self.result: dict[str, Any] = {
            "articles_in_folder": len(files),
            "paragraphs_in_files": sum(f.paragraphs for f in files),
        }

    @property
    def warmup(self) -> int:
        """How many questions each server answers untimed first, so that its pages are in memory."""
        return len(self.questions) if self.opts.warmup < 0 else self.opts.warmup

    def stage(self, task: str, args: dict[str, Any]) -> dict[str, Any]:
        print(f"[{time.strftime('%H:%M:%S')}] {self.label}: {task}", flush=True)
        return run_worker(task, args, self.root, self.opts.stage_timeout)

    def newsbot_args(self, **extra: Any) -> dict[str, Any]:
        return {"folders": [str(self.news)], "database": str(self.database), **extra}

    def prepare(self, dirs: dict[str, Path]) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        make_corpus(self.news, self.files, dirs)

    def newsbot(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["build"] = build = self.stage("newsbot-build", self.newsbot_args())
        if "error" in build:
            return out
        db_files = [self.database.with_name(self.database.name + s) for s in ("", "-wal", "-shm")]
        gens = self.database.with_name(self.database.name + ".gens")
        out["disk_mb"] = folder_mb(*db_files, gens)
        out["disk_gens_mb"] = folder_mb(gens)  # the BM25 arrays; the database also holds the text
        out["corpus_files_mb"] = folder_mb(self.news)
        started = time.perf_counter()
        n = dump_tokens(self.database, self.tokens)
        print(f"  wrote {n:,} token lines in {time.perf_counter() - started:.1f}s", flush=True)
        cold = self.stage("newsbot-cold", self.newsbot_args(question=self.questions[0]["text"]))
        if "error" not in cold:
            cold["cold_start_s"] = cold["answered_at"] - cold["spawned_at"]
        out["cold"] = cold
        texts = [q["text"] for q in self.questions]
        out["serve"] = self.stage("newsbot-serve", self.newsbot_args(questions=texts, warmup=self.warmup))
        return out

    def incremental(self) -> dict[str, Any]:
        changed = touch_articles(self.news, self.opts.changed_share)
        result = self.stage("newsbot-build", self.newsbot_args())
        result["files_changed"] = changed
        return result

    def rank_bm25(self, paragraphs: int) -> dict[str, Any]:
        if paragraphs > self.opts.skip_rank_bm25_above:
            return {"skipped": f"over {self.opts.skip_rank_bm25_above:,} paragraphs"}
        picked = spread(list(range(len(self.questions))), self.opts.rank_bm25_queries)
        queries = [self.questions[i]["tokens"] for i in picked]
        result = self.stage("rank-bm25", {"tokens": str(self.tokens), "queries": queries})
        result["query_numbers"] = picked
        return result

    def tantivy(self) -> dict[str, Any]:
        args = {
            "tokens": str(self.tokens),
            "index": str(self.tantivy_dir),
            "threads": self.opts.tantivy_threads,
            "heap_mb": self.opts.tantivy_heap_mb,
        }
        out: dict[str, Any] = {"build": self.stage("tantivy-build", args)}
        if "error" in out["build"]:
            return out
        out["disk_mb"] = folder_mb(self.tantivy_dir)
        queries = [q["tokens"] for q in self.questions]
        serve = self.stage(
            "tantivy-serve", {"index": str(self.tantivy_dir), "queries": queries, "warmup": self.warmup}
        )
        if "error" not in serve:
            serve["cold_start_s"] = serve["answered_at"] - serve["spawned_at"]
        out["serve"] = serve
        return out

    def run(self, dirs: dict[str, Path], save: Any) -> dict[str, Any]:
        self.prepare(dirs)
        r = self.result
        r["newsbot"] = self.newsbot()
        save()
        serve = r["newsbot"].get("serve", {})
        if "error" in r["newsbot"]["build"] or "error" in serve:
            return r
        paragraphs = int(r["newsbot"]["build"]["paragraphs"])
        r["paragraphs"] = paragraphs
        r["rank_bm25"] = self.rank_bm25(paragraphs)
        save()
        r["tantivy"] = self.tantivy()
        save()
        r["newsbot"]["incremental"] = self.incremental()
        r["comparison"] = compare(r)
        drop_result_lists(r)
        r["load_average_at_end"] = os.getloadavg()
        save()
        return r


def drop_result_lists(r: dict[str, Any]) -> None:
    """The per-query top 10s served the comparison; the JSON keeps the figures only."""
    get(r, "newsbot", "serve").pop("bm25_top", None)
    r.get("rank_bm25", {}).pop("top", None)
    (get(r, "tantivy", "serve") or {}).pop("top", None)


# --- pairwise comparisons ----------------------------------------------------------------------
def compare(r: dict[str, Any]) -> dict[str, Any]:
    nb = r["newsbot"]
    tops = nb["serve"]["bm25_top"]
    out: dict[str, Any] = {}
    rb = r.get("rank_bm25", {})
    if "top" in rb:
        same = sum(same_top(tops[i], t) for i, t in zip(rb["query_numbers"], rb["top"], strict=True))
        out["rank_bm25"] = {
            "identical_top10": f"{'yes' if same == len(rb['top']) else 'no'} ({same}/{len(rb['top'])} queries)",
            "retrieval_speedup_p50": times(rb["retrieval"]["p50_ms"], nb["serve"]["retrieval"]["p50_ms"]),
            "bm25_only_speedup_p50": times(rb["retrieval"]["p50_ms"], nb["serve"]["bm25_only"]["p50_ms"]),
            "build_time_ratio": times(nb["build"]["seconds"], rb["build_s"]),
        }
    tv = r.get("tantivy", {})
    if "top" in tv.get("serve", {}):
        s = tv["serve"]
        out["tantivy"] = {
            "top10_overlap_with_newsbot_bm25": overlap(tops, s["top"]),
            "build_time_ratio": times(nb["build"]["seconds"], tv["build"]["build_s"]),
            "retrieval_p50_ratio": times(nb["serve"]["retrieval"]["p50_ms"], s["retrieval"]["p50_ms"]),
            "retrieval_p99_ratio": times(nb["serve"]["retrieval"]["p99_ms"], s["retrieval"]["p99_ms"]),
            "bm25_only_p50_ratio": times(nb["serve"]["bm25_only"]["p50_ms"], s["retrieval"]["p50_ms"]),
            "peak_rss_ratio": times(nb["build"]["peak_rss_mb"], tv["build"]["peak_rss_mb"]),
            "serving_rss_ratio": times(nb["serve"]["serving_rss_mb"], s["serving_rss_mb"]),
            "disk_ratio": times(nb["disk_mb"], tv["disk_mb"]),
            "cold_start_ratio": times(nb["cold"].get("cold_start_s"), s["cold_start_s"]),
        }
    return out


# --- the table ---------------------------------------------------------------------------------
COLUMNS = (
    ("size", 5),
    ("system", 18),
    ("paras", 9),
    ("build s", 8),
    ("para/s", 8),
    ("peak MB", 8),
    ("incr s", 7),
    ("cold s", 7),
    ("ret p50", 8),
    ("ret p99", 8),
    ("ans p50", 8),
    ("ans p99", 8),
    ("ret QPS", 8),
    ("ans QPS", 8),
    ("RSS MB", 7),
    ("disk MB", 8),
)


def cell(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = (
            f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
        )
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return text.rjust(width)


def get(d: dict[str, Any] | None, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def rows_for(label: str, r: dict[str, Any]) -> list[list[Any]]:
    nb, rb, tv = r.get("newsbot", {}), r.get("rank_bm25", {}), r.get("tantivy", {})
    paras = r.get("paragraphs") or r.get("paragraphs_in_files")
    build = get(nb, "build", "seconds")
    serve = get(nb, "serve")
    rows = [
        [label, "newsbot", paras, build, paras / build if build else None, get(nb, "build", "peak_rss_mb"),
         get(nb, "incremental", "seconds"), get(nb, "cold", "cold_start_s"),
         get(serve, "retrieval", "p50_ms"), get(serve, "retrieval", "p99_ms"),
         get(serve, "answer", "p50_ms"), get(serve, "answer", "p99_ms"),
         get(serve, "retrieval", "qps"), get(serve, "answer", "qps"), get(serve, "serving_rss_mb"),
         get(nb, "disk_mb")],
        [label, "newsbot, numpy only", paras, None, None, None, None, None,
         get(serve, "retrieval_numpy", "p50_ms"), get(serve, "retrieval_numpy", "p99_ms"), None, None,
         get(serve, "retrieval_numpy", "qps"), None, None, None],
        [label, "newsbot BM25 only", paras, None, None, None, None, None,
         get(serve, "bm25_only", "p50_ms"), get(serve, "bm25_only", "p99_ms"), None, None,
         get(serve, "bm25_only", "qps"), None, None, None],
    ]  # fmt: skip
    if "skipped" in rb or "error" in rb:
        rows.append([label, "rank-bm25", paras, rb.get("skipped") or rb.get("error")] + [None] * 12)
    elif rb:
        b = rb["build_s"]
        rows.append(
            [label, "rank-bm25", paras, b, paras / b if b else None, rb["peak_rss_mb"], None, None,
             get(rb, "retrieval", "p50_ms"), get(rb, "retrieval", "p99_ms"), None, None,
             get(rb, "retrieval", "qps"), None, rb["serving_rss_mb"], None]
        )  # fmt: skip
    if tv:
        b = get(tv, "build", "build_s")
        rows.append(
            [label, "tantivy", paras, b, paras / b if b else None, get(tv, "build", "peak_rss_mb"), None,
             get(tv, "serve", "cold_start_s"), get(tv, "serve", "retrieval", "p50_ms"),
             get(tv, "serve", "retrieval", "p99_ms"), None, None, get(tv, "serve", "retrieval", "qps"),
             None, get(tv, "serve", "serving_rss_mb"), tv.get("disk_mb")]
        )  # fmt: skip
    return rows


def fold(ratio: float | None, better: str, worse: str) -> str:
    """``ratio`` is newsbot / peer for a lower-is-better figure."""
    if not ratio:
        return "-"
    return f"{1 / ratio:.2f}× {better}" if ratio < 1 else f"{ratio:.2f}× {worse}"


def comparison_lines(label: str, c: dict[str, Any]) -> list[str]:
    lines = []
    if "rank_bm25" in c:
        x = c["rank_bm25"]
        lines.append(
            f"{label}: newsbot vs rank-bm25: identical top 10 (pure BM25): {x['identical_top10']}; "
            f"retrieval p50 {x['retrieval_speedup_p50']:.0f}× faster (BM25 only: "
            f"{x['bm25_only_speedup_p50']:.0f}× faster); build {fold(x['build_time_ratio'], 'faster', 'slower')}"
            " (newsbot from files, rank-bm25 from token lists)"
        )
    if "tantivy" in c:
        x = c["tantivy"]
        lines.append(
            f"{label}: newsbot vs tantivy: build {fold(x['build_time_ratio'], 'faster', 'slower')}, "
            f"retrieval p50 {fold(x['retrieval_p50_ratio'], 'faster', 'slower')} "
            f"(BM25 only {fold(x['bm25_only_p50_ratio'], 'faster', 'slower')}), "
            f"p99 {fold(x['retrieval_p99_ratio'], 'faster', 'slower')}, "
            f"build peak memory {fold(x['peak_rss_ratio'], 'less', 'more')}, "
            f"serving memory {fold(x['serving_rss_ratio'], 'less', 'more')}, "
            f"disk {fold(x['disk_ratio'], 'smaller', 'larger')}, "
            f"cold start {fold(x['cold_start_ratio'], 'faster', 'slower')}; "
            f"top-10 overlap with newsbot's pure BM25 {x['top10_overlap_with_newsbot_bm25']:.0%}"
        )
    return lines


def render(results: dict[str, Any]) -> str:
    head = " ".join(name.rjust(w) if i > 1 else name.ljust(w) for i, (name, w) in enumerate(COLUMNS))
    lines = [head, "-" * len(head)]
    notes: list[str] = []
    for label, r in results["sizes"].items():
        for row in rows_for(label, r):
            cells = [
                str(v).ljust(w) if i < 2 else cell(v, w)
                for i, (v, (_, w)) in enumerate(zip(row, COLUMNS, strict=True))
            ]
            lines.append(" ".join(cells))
        notes += comparison_lines(label, r.get("comparison", {}))
        stages = get(r, "newsbot", "build", "stages_s")
        if stages:
            notes.append(f"{label}: newsbot build stages (s): {stages}")
        incr = get(r, "newsbot", "incremental")
        if incr and "stages_s" in incr:
            notes.append(
                f"{label}: incremental reindex after changing {incr['files_changed']} files: "
                f"{incr['seconds']:.1f}s, stages (s): {incr['stages_s']}"
            )
    lines.append("times in ms unless marked; ret = retrieval alone, ans = whole answer (ask)")
    return "\n".join([*lines, "", *notes])


# --- main --------------------------------------------------------------------------------------
def tokenize_questions(qs: list[dict[str, Any]]) -> None:
    from newsbot.index.tokenizer import Tokenizer

    tokenizer = Tokenizer()
    for q in qs:
        q["tokens"] = tokenizer.tokens(q["text"])


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    opts.workdir.mkdir(parents=True, exist_ok=True)
    dirs = corpus_dirs(opts.workdir)
    files = manifest(opts.workdir, dirs)
    qs = questions(opts.queries, dirs)
    tokenize_questions(qs)
    results: dict[str, Any] = {
        "machine": machine_info(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(opts).items()},
        "questions": {"total": len(qs), "eval": sum(q["kind"] == "eval" for q in qs)},
        "sizes": {},
    }

    def save() -> None:
        write_json(opts.out, results)

    for label, n in parse_sizes(opts.sizes):
        run = SizeRun(label, first_files(files, n), opts, qs)
        results["sizes"][label] = run.result
        run.run(dirs, save)
        save()
        print(render(results), flush=True)
    print(f"\nwrote {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
