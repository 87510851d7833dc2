"""The measured stages of the scale benchmark (``scale.py``), each run in a fresh process.

Usage: ``python bench/scale_workers.py TASK ARGS.json OUT.json``, as ``workers.py``. The build writes
each stage it enters to ``ARGS.json``'s ``stage_file``, so that the driver, which watches the memory
of the whole process tree, can say where a build stood when it had to be stopped.

Serving asks each question as of its own date and times the ranking call alone, with the inputs
answering gives it (:func:`search_inputs` takes them from answering's own call), and the whole
answer. The pruned ranking (``search.rank_traced``) is timed and checked against the exhaustive one
on every question; on a newsbot without it, ``search.rank`` is timed and the postings visited are not
known.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import latency_summary, peak_rss_mb, rss_mb
from workers import StageClock, log, newsbot_settings, run_task

SCORE_TOLERANCE = 1e-9  # relative: "the same ranking" when an exact comparison fails on rounding


# --- building ----------------------------------------------------------------------------------
class StageFile(StageClock):
    """A stage clock that also writes the stage entered (and this process's memory) to a file."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.first:
            self.path.write_text(f"{stage} {rss_mb():.0f}\n", encoding="utf-8")
        super().__call__(stage, done, total)


async def scale_build(args: dict[str, Any]) -> dict[str, Any]:
    """A full build from the files (a fresh database), with the time of each reindex stage."""
    from newsbot.index.api import NewsIndex

    clock = StageFile(Path(args["stage_file"]))
    async with await NewsIndex.open(newsbot_settings(args)) as index:
        report = await index.reindex(progress=clock)
        ended = time.perf_counter()
    clock.path.write_text(f"done {rss_mb():.0f}\n", encoding="utf-8")
    return {
        "seconds": ended - clock.started,
        "stages_s": clock.durations(ended),
        "articles": report.articles,
        "paragraphs": report.paragraphs,
        "duplicates": report.duplicates,
        "skipped": len(report.skipped),
        "peak_rss_mb": peak_rss_mb(),
    }


# --- what answering ranks ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Search:
    """One ranking call as answering makes it for a question's first page."""

    terms: list[str]  # the words searched for (date phrases taken out, unknown words left out)
    ids: list[int]
    window: Any  # ranking.params.Window
    limit: int


async def search_inputs(index: Any, question: str, as_of: dt.date | None) -> Search | None:
    """The term ids, date window and depth ``NewsIndex.ask`` ranks ``question`` with for its first
    page (default number of passages), taken from answering's own first ranking call, so that they
    stay answering's as it changes; None when it ranks nothing (no known words)."""
    from newsbot.index.answer import source as source_mod

    calls: list[tuple[list[int], Any, int]] = []
    rank = source_mod.rank

    def recorded(gen: Any, ids: list[int], window: Any, params: Any, limit: int) -> Any:
        calls.append((list(ids), window, limit))
        return rank(gen, ids, window, params, limit)

    source_mod.rank = recorded  # type: ignore[assignment]
    try:
        await index.ask(question, as_of=as_of)
    finally:
        source_mod.rank = rank  # type: ignore[assignment]
    if not calls:
        return None
    ids, window, limit = calls[0]
    marks = ",".join("?" * len(set(ids)))
    names = dict(
        await index.store.rows(f"SELECT id, term FROM terms WHERE id IN ({marks})", sorted(set(ids)))
    )
    return Search([names[i] for i in ids], ids, window, limit)


def term_postings(gen: Any, ids: list[int]) -> int:
    """Postings of the question's known words in the paragraph, title and whole-article matrices: what
    the exhaustive ranking reads (each word once, as it reads them)."""
    from newsbot.index.ranking import compiled
    from newsbot.index.ranking.bm25 import query_counts

    known = query_counts(ids, len(gen.w_indptr) - 1)
    return compiled.postings(gen, np.fromiter(known, dtype=np.int64, count=len(known)))


def ranker(gen: Any, params: Any) -> tuple[Callable[[Search, bool], tuple[list[Any], int | None]], bool]:
    """``(search, exhaustive) -> (ranking, postings visited)``, and whether the pruned ranking exists."""
    from newsbot.index.ranking import search as ranking

    traced = getattr(ranking, "rank_traced", None)

    def call(s: Search, exhaustive: bool) -> tuple[list[Any], int | None]:
        if traced is None:
            return ranking.rank(gen, s.ids, s.window, params, s.limit), None
        ranked, visited = traced(gen, s.ids, s.window, params, s.limit, exhaustive=exhaustive)
        return ranked, int(visited)

    return call, traced is not None


def same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    """The same paragraphs in the same order, with scores equal up to rounding."""
    return len(a) == len(b) and all(
        p == q and abs(x - y) <= SCORE_TOLERANCE * max(1.0, abs(x), abs(y))
        for (p, x), (q, y) in zip(a, b, strict=True)
    )


def first_difference(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def percentiles(values: list[int | None]) -> dict[str, float] | None:
    known = [v for v in values if v is not None]
    if not known:
        return None
    return {
        "p50": float(np.percentile(known, 50)),
        "p99": float(np.percentile(known, 99)),
        "mean": float(np.mean(known)),
    }


# --- serving -----------------------------------------------------------------------------------
def resident_by_mapping() -> dict[str, float]:
    """This process's resident memory in MB by what is mapped (``/proc/self/smaps``): each array of
    the generation by name, anonymous memory, the libraries."""
    out: dict[str, float] = {}
    where = "anonymous"
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            head = line.split(maxsplit=5)
            if head and "-" in head[0] and not head[0].endswith(":"):
                path = head[5].strip() if len(head) > 5 else ""
                if ".gens/" in path:
                    where = Path(path).stem
                elif ".so" in path:
                    where = "libraries"
                else:
                    where = "anonymous" if not path or path.startswith("[") else "other files"
            elif head and head[0] == "Rss:":
                out[where] = out.get(where, 0.0) + int(head[1]) / 1024
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


@dataclass(slots=True)
class Measured:
    """One question's timed calls: the pruned ranking, the exhaustive one, the whole answer."""

    pruned_s: float | None = None
    exhaustive_s: float | None = None
    answer_s: float | None = None
    visited: int | None = None
    visited_exhaustive: int | None = None
    pruned: Any = None
    exhaustive: Any = None


async def measure(
    index: Any, call: Any, q: dict[str, Any], as_of: dt.date | None, s: Search | None, turn: int
) -> Measured:
    """Time the three calls back to back, in an order that turns with ``turn``, so that neither a
    busy moment of a shared machine nor the order of the calls favours one of them."""
    m = Measured()
    for step in range(3):
        which = (turn + step) % 3
        if which == 2:
            began = time.perf_counter()
            await index.ask(q["text"], as_of=as_of)
            m.answer_s = time.perf_counter() - began
        elif s is not None:
            exhaustive = which == 1
            began = time.perf_counter()
            ranked, seen = call(s, exhaustive)
            took = time.perf_counter() - began
            if exhaustive:
                m.exhaustive_s, m.visited_exhaustive, m.exhaustive = took, seen, ranked
            else:
                m.pruned_s, m.visited, m.pruned = took, seen, ranked
    return m


async def scale_serve(args: dict[str, Any]) -> dict[str, Any]:
    """Every question as of its date: the pruned and exhaustive ranking alone, the whole answer."""
    from newsbot.index.api import NewsIndex
    from newsbot.index.ranking import compiled

    qs = args["questions"]
    dates = [dt.date.fromisoformat(q["as_of"]) if q.get("as_of") else None for q in qs]
    started = time.perf_counter()
    async with await NewsIndex.open(newsbot_settings(args)) as index:
        compiled_ready = compiled.wait()
        opened = time.perf_counter() - started
        gen = await index.current_generation()
        searches = [await search_inputs(index, q["text"], d) for q, d in zip(qs, dates, strict=True)]
        call, pruned = ranker(gen, index.rank_params)
        log(f"serve: {len(qs)} questions answered, untimed (serving memory is measured after them)")
        for q, d in zip(qs, dates, strict=True):
            await index.ask(q["text"], as_of=d)
        serving, by_mapping = rss_mb(), resident_by_mapping()
        log("serve: each question's three calls, untimed (their pages into memory)")
        for i, (q, d) in enumerate(zip(qs, dates, strict=True)):
            await measure(index, call, q, d, searches[i], i)
        log("serve: timed")
        timed = [
            await measure(index, call, q, d, searches[i], i)
            for i, (q, d) in enumerate(zip(qs, dates, strict=True))
        ]
        per_question = []
        for i, (s, m) in enumerate(zip(searches, timed, strict=True)):
            a, b = m.pruned, m.exhaustive
            per_question.append(
                {
                    "kind": qs[i]["kind"],
                    "text": qs[i]["text"],
                    "as_of": qs[i].get("as_of"),
                    "terms": s.terms if s else [],
                    "postings": term_postings(gen, s.ids) if s else None,
                    "visited": m.visited,
                    "visited_exhaustive": m.visited_exhaustive,
                    "retrieval_s": m.pruned_s,
                    "exhaustive_s": m.exhaustive_s,
                    "answer_s": m.answer_s,
                    "identical": None if s is None or not pruned else a == b,
                    "same": None if s is None or not pruned else same(a, b),
                    "first_difference": None if s is None or not pruned or a == b else first_difference(a, b),
                }
            )
        return {
            "paragraphs": gen.n_paragraphs,
            "articles": gen.n_articles,
            "pruned_ranking": pruned,
            "compiled": compiled_ready,
            "open_s": opened,
            "summary": summarize(per_question),
            "serving_rss_mb": serving,  # answering alone: the exhaustive ranking reads more pages
            "serving_rss_by_mapping_mb": by_mapping,
            "rss_after_exhaustive_mb": rss_mb(),
            "peak_rss_mb": peak_rss_mb(),
            "questions": per_question,
        }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency, postings and identity over all questions and by kind (dev, title)."""
    out: dict[str, Any] = {}
    for kind in ("all", *sorted({r["kind"] for r in rows})):
        part = [r for r in rows if kind in ("all", r["kind"])]
        ranked = [r for r in part if r["retrieval_s"] is not None]
        checked = [r for r in ranked if r["identical"] is not None]
        out[kind] = {
            "questions": len(part),
            "ranked": len(ranked),
            "retrieval": latency_summary([r["retrieval_s"] for r in ranked]),
            "retrieval_exhaustive": latency_summary([r["exhaustive_s"] for r in ranked]),
            "answer": latency_summary([r["answer_s"] for r in part]),
            "postings": percentiles([r["postings"] for r in ranked]),
            "visited": percentiles([r["visited"] for r in ranked]),
            "visited_exhaustive": percentiles([r["visited_exhaustive"] for r in ranked]),
            "identical": sum(r["identical"] for r in checked) if checked else None,
            "same_up_to_rounding": sum(r["same"] for r in checked) if checked else None,
            "checked": len(checked),
        }
    return out


TASKS: dict[str, Callable[[dict[str, Any]], Any]] = {"scale-build": scale_build, "scale-serve": scale_serve}


if __name__ == "__main__":
    run_task(TASKS, sys.argv[1:])
