"""One measured stage of the benchmark, run in a fresh process so its memory is its own.

Usage: ``python bench/workers.py TASK ARGS.json OUT.json``. The driver (``bench.py``) writes the
arguments, runs the task and reads the result; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import latency_summary, peak_rss_mb, read_json, rss_mb, write_json

TOP = 10


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def top_k(dense: np.ndarray, k: int = TOP) -> tuple[list[int], list[float]]:
    """The ``k`` best documents, best first (ties by document number)."""
    n = min(k, len(dense))
    if n == 0:
        return [], []
    top = np.argpartition(-dense, n - 1)[:n] if n < len(dense) else np.arange(len(dense))
    top = top[np.lexsort((top, -dense[top]))]
    return [int(i) for i in top], [float(dense[i]) for i in top]


# --- newsbot -----------------------------------------------------------------------------------
def newsbot_settings(args: dict[str, Any]) -> Any:
    from newsbot.index.config import settings_from_dict

    return settings_from_dict({"news": {"folders": args["folders"]}, "store": {"database": args["database"]}})


class StageClock:
    """Records when each reindex stage starts, from the progress callback."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: dict[str, float] = {}
        self.last_print = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage not in self.first:
            self.first[stage] = now
            log(f"stage {stage} (total {total:,})")
        elif now - self.last_print > 30:
            log(f"stage {stage}: {done:,}/{total:,}")
        else:
            return
        self.last_print = now

    def durations(self, ended: float) -> dict[str, float]:
        marks = sorted(self.first.items(), key=lambda kv: kv[1])
        ends = [t for _, t in marks[1:]] + [ended]
        return {stage: round(end - start, 3) for (stage, start), end in zip(marks, ends, strict=True)}


async def newsbot_build(args: dict[str, Any]) -> dict[str, Any]:
    """Open (or create) the index and reindex the folders: a full build or an incremental one."""
    from newsbot.index.api import NewsIndex

    settings = newsbot_settings(args)
    rss_before = rss_mb()
    clock = StageClock()
    async with await NewsIndex.open(settings) as index:
        report = await index.reindex(progress=clock)
        ended = time.perf_counter()
    return {
        "seconds": ended - clock.started,
        "stages_s": clock.durations(ended),
        "articles": report.articles,
        "paragraphs": report.paragraphs,
        "added": report.added,
        "changed": report.changed,
        "removed": report.removed,
        "duplicates": report.duplicates,
        "skipped": len(report.skipped),
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
    }


async def newsbot_cold(args: dict[str, Any]) -> dict[str, Any]:
    """Open the index and answer one question, as a fresh process does."""
    imported = time.time()
    from newsbot.index.api import NewsIndex

    ready = time.time()
    from newsbot.index.ranking import compiled

    index = await NewsIndex.open(newsbot_settings(args))
    opened = time.time()
    answer = await index.ask(args["question"])
    answered = time.time()
    first_by_kernels = compiled.ready()
    compiled.wait()  # the compiled ranking loads in the background meanwhile
    await index.close()
    return {
        "imports_s": ready - imported,
        "open_s": opened - ready,
        "first_answer_s": answered - opened,
        "answered_at": answered,
        "hits": len(answer.hits),
        "first_answer_compiled": first_by_kernels,
        "compiled_ready_s": compiled.seconds_to_ready,
    }


async def term_ids(index: Any, terms: list[str]) -> list[int]:
    """Term ids of the known terms, looked up in the store the way a question's are."""
    unique = sorted(set(terms))
    if not unique:
        return []
    marks = ",".join("?" * len(unique))
    rows = await index.store.rows(f"SELECT term, id FROM terms WHERE term IN ({marks})", unique)
    known = {t: int(i) for t, i in rows}
    return [known[t] for t in terms if t in known]


async def timed_retrieval(index: Any, questions: list[str], limit: int, numpy: bool = False) -> list[float]:
    """Tokenize, look the terms up and rank, one question at a time (``numpy``: without the kernels)."""
    from newsbot.index.ranking.params import Window
    from newsbot.index.ranking.search import rank, rank_numpy

    ranker = rank_numpy if numpy else rank
    params = index.settings.rank_params()
    window = Window(now=dt.date.today())
    out = []
    for q in questions:
        started = time.perf_counter()
        ids = await term_ids(index, index.tokenizer.tokens(q))
        ranker(index.generation, ids, window, params, limit)
        out.append(time.perf_counter() - started)
    return out


async def timed_bm25(index: Any, questions: list[str]) -> tuple[list[float], list[dict[str, Any]]]:
    """Pure BM25 over the paragraph matrix (no title, neighbour or recency features): top 10.

    By the compiled kernel when it is loaded, else with numpy over a dense score array.
    """
    from newsbot.index.ranking import compiled
    from newsbot.index.ranking.bm25 import scores

    body = index.generation.body()
    times, tops = [], []
    for q in questions:
        started = time.perf_counter()
        ids = await term_ids(index, index.tokenizer.tokens(q))
        top = compiled.bm25_top(index.generation, ids, TOP)
        if top is not None and len(top) < TOP:  # fewer touched: pad as a full ranking would
            constant = sum(float(body.floor[t]) for t in ids if 0 <= t < body.n_terms)
            taken = {d for d, _ in top}
            spare = (d for d in range(body.n_docs) if d not in taken)
            top += [(d, constant) for d, _ in zip(spare, range(TOP - len(top)), strict=False)]
        if top is None:
            dense, _, constant = scores(body, ids)
            docs, values = top_k(dense)
            top = [(d, v + constant) for d, v in zip(docs, values, strict=True)]
        times.append(time.perf_counter() - started)
        tops.append({"docs": [d for d, _ in top], "scores": [v for _, v in top]})
    return times, tops


async def timed_answers(index: Any, questions: list[str]) -> tuple[list[float], int]:
    times, answered = [], 0
    for q in questions:
        started = time.perf_counter()
        answer = await index.ask(q)
        times.append(time.perf_counter() - started)
        answered += bool(answer.hits)
    return times, answered


async def newsbot_serve(args: dict[str, Any]) -> dict[str, Any]:
    """Warm query latency (retrieval alone, pure BM25, whole answers) and serving memory."""
    from newsbot.index.api import NewsIndex
    from newsbot.index.ranking import compiled

    questions: list[str] = args["questions"]
    async with await NewsIndex.open(newsbot_settings(args)) as index:
        compiled_ready = compiled.wait()
        for q in questions[: args["warmup"]]:
            await index.ask(q)
        log(f"newsbot: {len(questions)} questions, retrieval alone (numpy, then compiled)")
        retrieval_numpy = await timed_retrieval(index, questions, limit=50, numpy=True)
        retrieval = await timed_retrieval(index, questions, limit=50)
        bm25, tops = await timed_bm25(index, questions)
        log("newsbot: whole answers")
        answers, answered = await timed_answers(index, questions)
        return {
            "paragraphs": index.generation.n_paragraphs,
            "compiled": compiled_ready,
            "retrieval": latency_summary(retrieval),
            "retrieval_numpy": latency_summary(retrieval_numpy),
            "bm25_only": latency_summary(bm25),
            "answer": latency_summary(answers),
            "answered": answered,
            "serving_rss_mb": rss_mb(),
            "peak_rss_mb": peak_rss_mb(),
            "bm25_top": tops,
        }


# --- rank-bm25 ---------------------------------------------------------------------------------
def read_token_lists(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8") as fh:
        return [line.split() for line in fh]


def rank_bm25(args: dict[str, Any]) -> dict[str, Any]:
    """BM25Okapi built on the same token lists; its top 10 for each question."""
    from rank_bm25 import BM25Okapi

    corpus = read_token_lists(Path(args["tokens"]))
    loaded_rss = rss_mb()
    log(f"rank-bm25: building over {len(corpus):,} paragraphs")
    started = time.perf_counter()
    model = BM25Okapi(corpus, k1=1.5, b=0.75, epsilon=0.25)
    build = time.perf_counter() - started
    times, tops = [], []
    for tokens in args["queries"]:
        started = time.perf_counter()
        docs, values = top_k(model.get_scores(tokens))
        times.append(time.perf_counter() - started)
        tops.append({"docs": docs, "scores": values})
    return {
        "paragraphs": len(corpus),
        "build_s": build,
        "input_rss_mb": loaded_rss,
        "peak_rss_mb": peak_rss_mb(),
        "retrieval": latency_summary(times),
        "serving_rss_mb": rss_mb(),
        "top": tops,
    }


# --- tantivy -----------------------------------------------------------------------------------
def tantivy_schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    builder.add_integer_field("pid", stored=True, indexed=False)
    return builder.build()


def tantivy_build(args: dict[str, Any]) -> dict[str, Any]:
    """Index the token lines (one document per paragraph) with a whitespace tokenizer."""
    import tantivy

    folder = Path(args["index"])
    folder.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(tantivy_schema(), path=str(folder))
    started = time.perf_counter()
    writer = index.writer(heap_size=args["heap_mb"] * 1_000_000, num_threads=args["threads"])
    n = 0
    with open(args["tokens"], encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            writer.add_document(tantivy.Document(body=line.rstrip("\n"), pid=n - 1))
    writer.commit()
    writer.wait_merging_threads()
    return {"paragraphs": n, "build_s": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def tantivy_query(index: Any, schema: Any, tokens: list[str]) -> Any:
    import tantivy

    clauses = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in tokens]
    return tantivy.Query.boolean_query(clauses)


def tantivy_serve(args: dict[str, Any]) -> dict[str, Any]:
    """Open the index and answer the first query (cold), then warm top-10 latency and memory."""
    import tantivy

    opened_at = time.time()
    index = tantivy.Index.open(args["index"])
    schema = index.schema
    searcher = index.searcher()
    queries: list[list[str]] = args["queries"]
    asked = [q for q in queries if q]
    searcher.search(tantivy_query(index, schema, asked[0]), TOP)
    first_at = time.time()
    for tokens in asked[: args["warmup"]]:
        searcher.search(tantivy_query(index, schema, tokens), TOP)
    times, tops = [], []
    for tokens in queries:
        if not tokens:  # nothing to search for: no result, as newsbot
            tops.append({"docs": []})
            continue
        started = time.perf_counter()
        result = searcher.search(tantivy_query(index, schema, tokens), TOP)
        times.append(time.perf_counter() - started)
        tops.append({"docs": [searcher.doc(addr)["pid"][0] for _, addr in result.hits]})
    return {
        "open_and_first_s": first_at - opened_at,
        "answered_at": first_at,
        "retrieval": latency_summary(times),
        "serving_rss_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "top": tops,
    }


TASKS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "newsbot-build": newsbot_build,
    "newsbot-cold": newsbot_cold,
    "newsbot-serve": newsbot_serve,
    "rank-bm25": rank_bm25,
    "tantivy-build": tantivy_build,
    "tantivy-serve": tantivy_serve,
}


def run_task(tasks: dict[str, Callable[[dict[str, Any]], Any]], argv: list[str]) -> None:
    """Run ``tasks[TASK]`` on the arguments in ARGS_PATH and write its result to OUT_PATH (``argv``)."""
    task, args_path, out_path = argv
    result = tasks[task](read_json(Path(args_path)))
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    write_json(Path(out_path), result)


if __name__ == "__main__":
    run_task(TASKS, sys.argv[1:])
