"""Score answers on the real weekly news-quiz questions of ../shared/eval/realtimeqa_dev.jsonl.

Each question is asked as of its quiz date. Prints article hit@1/5/10 (the gold article among the
articles of the top k passages), answer-paragraph hit@1/5 (a top-k passage is the gold paragraph)
and answer hit@1/5 (a top-k passage, from any article, contains the quiz's answer text). ``--corpus demo`` (default) indexes ../shared/corpus/realtimeqa_demo; ``--corpus all``
indexes all four corpora (unpacking the archives into --workdir once).

    python bench/eval_quality.py [--corpus demo|all] [--ablate] [--json FILE] [--answers FILE]

``--answers`` writes every question's JSON answer (all defaults), one a line: two runs of different
code agree exactly when the files are equal.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsbot.index.api import NewsIndex  # noqa: E402
from newsbot.index.config import settings_from_dict  # noqa: E402
from newsbot.index.ranking.params import RankParams  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
QUESTIONS = SHARED / "eval" / "realtimeqa_dev.jsonl"


def folders(which: str, workdir: Path) -> list[Path]:
    if which == "demo":
        return [CORPUS / "realtimeqa_demo"]
    out = [CORPUS / "bbc"]
    for name in ("realtimeqa_news", "reuters21578"):
        target = workdir / name
        if not target.is_dir():
            workdir.mkdir(parents=True, exist_ok=True)
            subprocess.run(["tar", "xzf", str(CORPUS / f"{name}.tar.gz"), "-C", str(workdir)], check=True)
        out.append(target)
    return out


def norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def score(rows: list[dict[str, Any]], answers: list[dict[str, Any]]) -> dict[str, float]:
    hits = {"article@1": 0, "article@5": 0, "article@10": 0, "paragraph@1": 0, "paragraph@5": 0}
    hits |= {"answer@1": 0, "answer@5": 0}
    n_para = n_answer = 0
    for row, answer in zip(rows, answers, strict=True):
        # answer@k: a top-k passage, from any article, contains the quiz's answer (what a reader needs)
        if row.get("answer") and not row.get("needs_choices"):
            n_answer += 1
            wanted = norm(str(row["answer"]))
            for k in (1, 5):
                hits[f"answer@{k}"] += any(wanted in norm(h["text"]) for h in answer["hits"][:k])
        gold = Path(row["article_file"]).name
        names = [Path(h["path"]).name for h in answer["hits"]]
        for k in (1, 5, 10):
            hits[f"article@{k}"] += gold in names[:k]
        if row.get("answer_paragraph"):
            n_para += 1
            texts = [norm(h["text"]) for h in answer["hits"]]
            target = norm(row["answer_paragraph"])
            for k in (1, 5):
                hits[f"paragraph@{k}"] += any(t == target for t in texts[:k])
    totals = {"paragraph": n_para, "answer": n_answer, "article": len(rows)}
    return {key: round(v / max(1, totals[key.split("@")[0]]), 3) for key, v in hits.items()}


async def evaluate(
    index: NewsIndex, rows: list[dict[str, Any]], answers: list[dict[str, Any]] | None = None
) -> tuple[dict[str, float], dict[str, float], float]:
    """Figures over every question, over those whose gold link is live, and seconds per question.

    A stale link (``stale_link``) points at a page that is not the story the quiz asks about (an
    index page, an older article), so only luck finds that "gold" article or paragraph.
    """
    started = time.perf_counter()
    answers = [] if answers is None else answers
    for row in rows:
        as_of = dt.date.fromisoformat(row["question_date"])
        answers.append((await index.ask(row["question"], k=10, as_of=as_of)).to_json())
    per_q = (time.perf_counter() - started) / len(rows)
    live = [(r, a) for r, a in zip(rows, answers, strict=True) if not r.get("stale_link")]
    return score(rows, answers), score([r for r, _ in live], [a for _, a in live]), per_q


OFF: dict[str, float] = dict(
    recency_days=0,
    title_weight=0,
    neighbour_weight=0,
    whole_article_weight=0,
    junk_factor=1,
    date_boost=0,
    lead_boost=0,
    short_power=0,
    number_boost=0,
    repeat_factor=1,  # an answer setting, not a ranking one
)
ANSWER_KEYS = {"repeat_factor"}
FEATURES = [  # cumulative: each row turns one more feature on
    ("recency prior", ("recency_days",)),
    ("title field", ("title_weight",)),
    ("neighbouring paragraphs, junk damped", ("neighbour_weight", "junk_factor")),
    ("whole article's BM25", ("whole_article_weight",)),
    ("period named in the question preferred", ("date_boost",)),
    ("lead paragraphs preferred", ("lead_boost",)),
    ("an article's second passage discounted", ("repeat_factor",)),
    ("short paragraphs count less", ("short_power",)),
    ("numbers preferred when a question asks for one", ("number_boost",)),
]


def ablations() -> dict[str, dict[str, float]]:
    """Plain BM25 (as of the quiz date, date phrases as filters), then the features one by one."""
    out = {"plain BM25 (as of the quiz date)": dict(OFF)}
    on: set[str] = set()
    for name, fields in FEATURES:
        on.update(fields)
        out[f"+ {name}"] = {k: v for k, v in OFF.items() if k not in on}
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("demo", "all"), default="demo")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsbot-eval"))
    parser.add_argument(
        "--ablate", action="store_true", help="also score with the ranking features turned on one at a time"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--answers", type=Path, help="write every answer (all defaults) here, one a line")
    args = parser.parse_args()
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    db = args.workdir / f"eval-{args.corpus}.db"
    settings = settings_from_dict(
        {
            "news": {"folders": [str(f) for f in folders(args.corpus, args.workdir)]},
            "store": {"database": str(db)},
        }
    )
    results: dict[str, Any] = {"corpus": args.corpus, "questions": len(rows)}
    async with await NewsIndex.open(settings) as index:
        report = await index.reindex()
        print(
            f"index: {report.articles:,} articles, {report.paragraphs:,} paragraphs ({report.seconds:.1f} s)"
        )
        variants = ablations() if args.ablate else {"newsbot (all features)": {}}
        base = index.settings
        for name, overrides in variants.items():
            ranking = {k: v for k, v in overrides.items() if k not in ANSWER_KEYS}
            answer = {k: v for k, v in overrides.items() if k in ANSWER_KEYS}
            index.rank_params = dataclasses.replace(RankParams(), **ranking)
            index.settings = dataclasses.replace(base, answer=dataclasses.replace(base.answer, **answer))
            given: list[dict[str, Any]] = []
            figures, live, per_q = await evaluate(index, rows, given)
            if args.answers and not overrides:
                args.answers.write_text("".join(json.dumps(a, sort_keys=True) + "\n" for a in given), "utf-8")
            results[name] = figures
            results[f"{name}, live links"] = live
            for label, got in ((name, figures), ("  (questions whose gold link is live)", live)):
                cells = "  ".join(f"{k} {v:.3f}" for k, v in got.items())
                print(
                    f"{label:<44} {cells}" + (f"  ({per_q * 1000:.1f} ms/question)" if got is figures else "")
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
