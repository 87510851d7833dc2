"""How a question's cost grows with the archive: newsbot's build, ranking and answers, and tantivy's
plain BM25, over the real corpus or a synthetic archive many times its size (``synth.py``).

    python bench/scale.py [--archive all|DIR] [--workdir /tmp/newsbot-synth] [--titles 1000]
        [--max-rss-gb 20] [--skip-build] [--skip-tantivy] [--out bench/results/scale-LABEL.json]

``all`` is bbc + realtimeqa_news + reuters21578 as they are; DIR is a folder of news files (a
``synth.py`` output: its ``news/`` folder is read). newsbot builds its index from the files in a fresh
process while the driver watches the memory of that process and its workers, and stops the build if
their resident memory passes ``--max-rss-gb`` (or the machine runs short), saying which stage it was
in. Then a serving process asks the 224 dev questions, each as of its quiz date, and ``--titles``
real article titles (a seeded sample of the dated ones), each as of its article's date, so that the
same questions are asked of every archive (a synthetic one keeps every original at its date). Each
question is asked once untimed, then timed: the ranking call alone, pruned and exhaustive (they must
give the same ranking), and the whole answer, back to back in a turning order. tantivy indexes the same paragraphs' tokens and answers each question's searched words
(``workers.py``'s stages, as ``bench.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from common import (
    EVAL_QUESTIONS,
    REPO,
    corpus_dirs,
    dump_tokens,
    folder_mb,
    machine_info,
    metadata_rows,
    read_json,
    write_json,
)

HERE = Path(__file__).resolve().parent
SCALE_WORKERS = HERE / "scale_workers.py"
WORKERS = HERE / "workers.py"
SAMPLE_SECONDS = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--archive", default="all", help="'all' (the real corpus) or a folder of news files")
    p.add_argument("--label", help="the archive's name in the results (default: all, or the folder's)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/newsbot-synth"))
    p.add_argument("--titles", type=int, default=1000, help="questions drawn from article titles")
    p.add_argument("--seed", type=int, default=18)
    p.add_argument("--out", type=Path, help="default: bench/results/scale-LABEL.json")
    p.add_argument("--max-rss-gb", type=float, default=20.0, help="stop a stage whose processes pass this")
    p.add_argument("--min-available-gb", type=float, default=1.5, help="stop a stage below this free memory")
    p.add_argument("--skip-build", action="store_true", help="serve the database a previous run built")
    p.add_argument("--skip-tantivy", action="store_true")
    p.add_argument("--tantivy-threads", type=int, default=1)
    p.add_argument("--tantivy-heap-mb", type=int, default=256)
    p.add_argument("--stage-timeout", type=float, default=4 * 3600, help="seconds")
    return p.parse_args(argv)


# --- a stage in its own process, its memory watched --------------------------------------------
def tree_rss_mb(proc: psutil.Process) -> tuple[float, float]:
    """Resident memory of ``proc`` and of it with all its descendants, in MB."""
    try:
        main = proc.memory_info().rss
        children = proc.children(recursive=True)
    except psutil.Error:
        return 0.0, 0.0
    total = main
    for child in children:
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return main / 2**20, total / 2**20


def stop_tree(proc: psutil.Process) -> None:
    """Kill the stage's process and the workers it started."""
    try:
        family = [*proc.children(recursive=True), proc]
    except psutil.Error:
        family = [proc]
    for p in family:
        with contextlib.suppress(psutil.Error):
            p.kill()


def run_stage(script: Path, task: str, args: dict[str, Any], folder: Path, opts: argparse.Namespace) -> dict:
    """Run one task of ``script`` in a fresh process, sampling the memory of its process tree."""
    args_path, out_path = folder / f"{task}.args.json", folder / f"{task}.out.json"
    stage_file = folder / f"{task}.stage"
    args = {**args, "stage_file": str(stage_file)}
    write_json(args_path, args)
    out_path.unlink(missing_ok=True)
    stage_file.unlink(missing_ok=True)
    print(f"[{time.strftime('%H:%M:%S')}] {task}", flush=True)
    began = time.time()
    popen = subprocess.Popen([sys.executable, str(script), task, str(args_path), str(out_path)])
    proc = psutil.Process(popen.pid)
    limit_mb, floor_mb = opts.max_rss_gb * 1024, opts.min_available_gb * 1024
    peak = {"tree_mb": 0.0, "main_mb": 0.0, "stage": None, "at_s": 0.0}
    samples: list[list[Any]] = []
    stopped: str | None = None
    while popen.poll() is None:
        main, tree = tree_rss_mb(proc)
        stage = stage_file.read_text(encoding="utf-8").split()[0] if stage_file.exists() else None
        elapsed = time.time() - began
        if tree > peak["tree_mb"]:
            peak = {"tree_mb": tree, "main_mb": main, "stage": stage, "at_s": round(elapsed, 1)}
        if not samples or elapsed - samples[-1][0] >= 10:
            samples.append([round(elapsed, 1), stage, round(main), round(tree)])
        available = psutil.virtual_memory().available / 2**20
        if tree > limit_mb or available < floor_mb:
            stopped = (
                f"stopped at {tree:,.0f} MB in the process tree ({available:,.0f} MB free) in stage {stage}"
            )
        elif elapsed > opts.stage_timeout:
            stopped = f"gave up after {opts.stage_timeout:.0f} s in stage {stage}"
        if stopped:
            stop_tree(proc)
            popen.wait()
            print(f"  {task}: {stopped}", flush=True)
            break
        time.sleep(SAMPLE_SECONDS)
    watched = {"tree_peak": peak, "memory_samples": samples, "wall_s": time.time() - began}
    # (sampled: the tree's peak may fall between samples; the stage's own process reports its VmHWM)
    if stopped or popen.returncode != 0 or not out_path.is_file():
        return {"error": stopped or f"exited with status {popen.returncode}", **watched}
    return {**read_json(out_path), **watched}


# --- the archive and the questions -------------------------------------------------------------
def archive_folders(opts: argparse.Namespace) -> tuple[str, list[Path]]:
    if opts.archive == "all":
        return opts.label or "all", list(corpus_dirs(opts.workdir).values())
    folder = Path(opts.archive).resolve()
    news = folder / "news" if (folder / "news").is_dir() else folder
    return opts.label or folder.name, [news]


def scale_questions(real: list[Path], titles: int, seed: int) -> list[dict[str, Any]]:
    """The dev questions as of their quiz dates, then a seeded sample of the real corpus's dated
    article titles, each as of its article's date."""
    rows = [json.loads(s) for s in EVAL_QUESTIONS.read_text(encoding="utf-8").splitlines() if s.strip()]
    out = [{"kind": "dev", "text": r["question"], "as_of": r["question_date"]} for r in rows]
    dated = sorted(
        {
            (str(r["title"]).strip(), str(r["date"])[:10])
            for folder in real
            for r in metadata_rows(folder)
            if str(r.get("title") or "").strip() and r.get("date")
        }
    )
    picked = random.Random(seed).sample(dated, min(titles, len(dated)))
    return out + [{"kind": "title", "text": t, "as_of": d} for t, d in picked]


# --- one archive -------------------------------------------------------------------------------
def newsbot(root: Path, folders: list[Path], qs: list[dict[str, Any]], opts: argparse.Namespace) -> dict:
    database = root / "newsbot.db"
    base = {"folders": [str(f) for f in folders], "database": str(database)}
    out: dict[str, Any] = {}
    if not opts.skip_build:
        for path in root.glob("newsbot.db*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        out["build"] = run_stage(SCALE_WORKERS, "scale-build", base, root, opts)
        if "error" in out["build"]:
            return out
    db_files = [database.with_name(database.name + s) for s in ("", "-wal", "-shm")]
    gens = database.with_name(database.name + ".gens")
    out["disk_mb"] = folder_mb(*db_files, gens)
    out["disk_gens_mb"] = folder_mb(gens)
    out["serve"] = run_stage(SCALE_WORKERS, "scale-serve", {**base, "questions": qs}, root, opts)
    return out


def tantivy(root: Path, terms: list[list[str]], opts: argparse.Namespace) -> dict[str, Any]:
    tokens, index = root / "tokens.txt", root / "tantivy"
    started = time.perf_counter()
    n = dump_tokens(root / "newsbot.db", tokens)
    print(f"  wrote {n:,} token lines in {time.perf_counter() - started:.0f} s", flush=True)
    if index.exists():
        shutil.rmtree(index)
    args = {"tokens": str(tokens), "index": str(index), "threads": opts.tantivy_threads}
    out: dict[str, Any] = {
        "build": run_stage(WORKERS, "tantivy-build", {**args, "heap_mb": opts.tantivy_heap_mb}, root, opts)
    }
    if "error" not in out["build"]:
        out["disk_mb"] = folder_mb(index)
        serve = run_stage(
            WORKERS,
            "tantivy-serve",
            {"index": str(index), "queries": terms, "warmup": len(terms)},
            root,
            opts,
        )
        serve.pop("top", None)
        out["serve"] = serve
    tokens.unlink(missing_ok=True)
    return out


# --- the report --------------------------------------------------------------------------------
def get(d: Any, *keys: str) -> Any:
    for key in keys:
        d = d.get(key) if isinstance(d, dict) else None
    return d


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def pair(d: Any, a: str, b: str) -> str:
    return f"{fmt(get(d, a))} / {fmt(get(d, b))}" if d else "-"


def render(label: str, r: dict[str, Any]) -> str:
    nb, tv = r.get("newsbot", {}), r.get("tantivy", {})
    build, serve = nb.get("build") or {}, nb.get("serve") or {}
    s = get(serve, "summary", "all") or {}
    pruned = "pruned" if serve.get("pruned_ranking") else "rank (no rank_traced)"
    lines = [
        f"{label}: {fmt(serve.get('paragraphs') or build.get('paragraphs'))} paragraphs, "
        f"{fmt(serve.get('articles') or build.get('articles'))} articles",
        f"  newsbot build: {fmt(build.get('seconds'))} s, peak {fmt(build.get('peak_rss_mb'))} MB (build process), "
        f"{fmt(get(build, 'tree_peak', 'tree_mb'))} MB sampled with its workers (in stage {get(build, 'tree_peak', 'stage')}); "
        f"stages (s) {build.get('stages_s')}; disk {fmt(nb.get('disk_mb'))} MB"
        + (f"; {build['error']}" if "error" in build else "")
        if build
        else f"  newsbot: the index built before (disk {fmt(nb.get('disk_mb'))} MB)",
        f"  newsbot {pruned}: retrieval p50 / p99 {pair(s.get('retrieval'), 'p50_ms', 'p99_ms')} ms, "
        f"exhaustive {pair(s.get('retrieval_exhaustive'), 'p50_ms', 'p99_ms')} ms, "
        f"answer {pair(s.get('answer'), 'p50_ms', 'p99_ms')} ms, serving RSS {fmt(serve.get('serving_rss_mb'))} MB"
        f" ({fmt(serve.get('rss_after_exhaustive_mb'))} MB after the exhaustive rankings too)"
        + (f"; {serve['error']}" if "error" in serve else ""),
        f"  postings of the terms p50 / p99 {pair(s.get('postings'), 'p50', 'p99')}, visited pruned "
        f"{pair(s.get('visited'), 'p50', 'p99')}, exhaustive {pair(s.get('visited_exhaustive'), 'p50', 'p99')}; "
        f"identical rankings {fmt(s.get('identical'))} of {fmt(s.get('checked'))} "
        f"(same up to rounding {fmt(s.get('same_up_to_rounding'))})",
    ]
    mapped = serve.get("serving_rss_by_mapping_mb") or {}
    if mapped:
        lines.append(
            "    serving RSS by mapping (MB): "
            + ", ".join(f"{k} {v:,.0f}" for k, v in list(mapped.items())[:8])
        )
    differ = [q for q in serve.get("questions", []) if q.get("identical") is False]
    for q in differ[:5]:
        lines.append(
            f"    differs from rank {q['first_difference']}: {q['kind']} {q['text'][:70]!r} as of {q['as_of']}"
        )
    for kind in ("dev", "title"):
        k = get(serve, "summary", kind)
        if k:
            lines.append(
                f"    {kind} ({k['ranked']} ranked of {k['questions']}): retrieval {pair(k['retrieval'], 'p50_ms', 'p99_ms')}"
                f" ms, answer {pair(k['answer'], 'p50_ms', 'p99_ms')} ms, postings {pair(k['postings'], 'p50', 'p99')},"
                f" visited {pair(k['visited'], 'p50', 'p99')}"
            )
    if tv:
        tb, ts = tv.get("build", {}), tv.get("serve", {})
        lines.append(
            f"  tantivy: build {fmt(tb.get('build_s'))} s, peak {fmt(tb.get('peak_rss_mb'))} MB, retrieval p50 / p99 "
            f"{pair(ts.get('retrieval'), 'p50_ms', 'p99_ms')} ms, serving RSS {fmt(ts.get('serving_rss_mb'))} MB, "
            f"disk {fmt(tv.get('disk_mb'))} MB"
            + (f"; {tb.get('error') or ts.get('error')}" if "error" in tb or "error" in ts else "")
        )
    lines.append("  times in ms unless marked; retrieval = the ranking call alone, answer = NewsIndex.ask")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    opts.workdir.mkdir(parents=True, exist_ok=True)
    label, folders = archive_folders(opts)
    root = opts.workdir / "scale" / label
    root.mkdir(parents=True, exist_ok=True)
    out = opts.out or REPO / "bench" / "results" / f"scale-{label}.json"
    qs = scale_questions(list(corpus_dirs(opts.workdir).values()), opts.titles, opts.seed)
    result: dict[str, Any] = {
        "machine": machine_info(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(opts).items()},
        "folders": [str(f) for f in folders],
        "questions": {
            "dev": sum(q["kind"] == "dev" for q in qs),
            "title": sum(q["kind"] == "title" for q in qs),
        },
    }
    result["newsbot"] = nb = newsbot(root, folders, qs, opts)
    write_json(out, result)
    rows = get(nb, "serve", "questions")
    if rows and not opts.skip_tantivy:
        result["tantivy"] = tantivy(root, [q["terms"] for q in rows], opts)
    write_json(out, result)
    print(render(label, result), flush=True)
    print(f"\nwrote {out}")
    return 1 if "error" in (get(nb, "build") or {}) else 0


if __name__ == "__main__":
    sys.exit(main())
