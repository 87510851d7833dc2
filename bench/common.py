"""Helpers shared by the benchmark's driver (``bench.py``) and its worker processes (``workers.py``).

Nothing here copies the shared corpora into the repository: they are read from ``../shared/``
(relative to the repository root) and the archives are unpacked under the benchmark's workdir.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import shutil
import sqlite3
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
EVAL_QUESTIONS = SHARED / "eval" / "realtimeqa_dev.jsonl"
# the corpora that make up "all", in this order; realtimeqa_demo is a subset of realtimeqa_news
CORPORA = ("bbc", "realtimeqa_news", "reuters21578")
ARCHIVED = {"realtimeqa_news", "reuters21578"}
METADATA = "metadata.jsonl"
MANIFEST_VERSION = 1


# --- measuring ---------------------------------------------------------------------------------
def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """The peak resident set size of this process so far, in MB.

    Read from VmHWM, not ``getrusage().ru_maxrss``: Linux carries ru_maxrss across exec, so a
    child spawned by a big parent would report the parent's peak.
    """
    return _status_mb("VmHWM")


def rss_mb() -> float:
    """The current resident set size of this process, in MB."""
    return _status_mb("VmRSS")


def machine_used_mb() -> float:
    """This machine's memory in use now, in MB (MemTotal − MemAvailable: every process's, page cache
    that can be dropped left out)."""
    fields: dict[str, int] = {}
    with open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            name, _, value = line.partition(":")
            fields[name] = int(value.split()[0])
    return (fields["MemTotal"] - fields["MemAvailable"]) / 1024


class MachinePeak:
    """The most memory this machine had in use while the ``with`` block ran, in MB above what it had
    in use when the block began (sampled four times a second): ``.extra_mb``."""

    def __enter__(self) -> MachinePeak:
        self.base = self.peak = machine_used_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, machine_used_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, machine_used_mb())

    @property
    def extra_mb(self) -> float:
        return self.peak - self.base


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """p50 / p99 / mean in milliseconds and sequential queries per second."""
    if not seconds:
        return {}
    ms = np.asarray(seconds) * 1000
    return {
        "n": len(seconds),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "qps": float(len(seconds) / sum(seconds)) if sum(seconds) > 0 else float("inf"),
    }


def folder_mb(*paths: Path) -> float:
    """Bytes on disk (apparent sizes) of the given files and folders, in MB."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return total / 1e6


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the machine -------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_kb = 0
    with open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(ram_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }


# --- corpora -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ArticleFile:
    corpus: str
    name: str
    paragraphs: int


def corpus_dirs(workdir: Path) -> dict[str, Path]:
    """Where each corpus's files are: bbc in place, the archives unpacked (once) under the workdir."""
    unpacked = workdir / "corpora"
    out: dict[str, Path] = {}
    for name in CORPORA:
        if name not in ARCHIVED:
            out[name] = CORPUS / name
            continue
        target = unpacked / name
        if not (target / METADATA).is_file():
            unpack(CORPUS / f"{name}.tar.gz", unpacked)
        out[name] = target
    return out


def unpack(archive: Path, into: Path) -> None:
    print(f"unpacking {archive.name} into {into} ...", flush=True)
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(into, filter="data")


def metadata_rows(folder: Path) -> list[dict[str, Any]]:
    path = folder / METADATA
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def count_paragraphs(path: Path) -> int:
    """Paragraphs as newsbot's parser splits them (0 for a file it would skip)."""
    from newsbot.index.errors import ArticleError
    from newsbot.index.ingest.parse import parse_bytes

    try:
        return len(parse_bytes(path.read_bytes()).paragraphs)
    except ArticleError:
        return 0


def file_order(folder: Path) -> list[str]:
    """A corpus's article files in its metadata's order, then any others by name."""
    listed = [row["file"] for row in metadata_rows(folder) if (folder / row["file"]).is_file()]
    seen = set(listed)
    rest = sorted(p.name for p in folder.glob("*.txt") if p.name not in seen)
    return listed + rest


def manifest(workdir: Path, dirs: dict[str, Path]) -> list[ArticleFile]:
    """Every article file of every corpus with its paragraph count (cached in the workdir)."""
    cache = workdir / "manifest.json"
    if cache.is_file():
        data = read_json(cache)
        if data.get("version") == MANIFEST_VERSION and data.get("corpora") == list(CORPORA):
            return [ArticleFile(**row) for row in data["files"]]
    started = time.perf_counter()
    files = [
        ArticleFile(corpus, name, count_paragraphs(folder / name))
        for corpus, folder in dirs.items()
        for name in file_order(folder)
    ]
    files = [f for f in files if f.paragraphs > 0]
    write_json(
        cache, {"version": MANIFEST_VERSION, "corpora": list(CORPORA), "files": [asdict(f) for f in files]}
    )
    print(f"counted paragraphs of {len(files):,} files in {time.perf_counter() - started:.1f}s", flush=True)
    return files


def first_files(files: list[ArticleFile], paragraphs: int | None) -> list[ArticleFile]:
    """The first articles until ``paragraphs`` paragraphs are reached (all of them for None)."""
    if paragraphs is None:
        return list(files)
    chosen: list[ArticleFile] = []
    total = 0
    for f in files:
        if total >= paragraphs:
            break
        chosen.append(f)
        total += f.paragraphs
    return chosen


def link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def make_corpus(target: Path, files: list[ArticleFile], dirs: dict[str, Path]) -> None:
    """A folder per corpus holding the chosen article files and their metadata rows."""
    if target.exists():
        shutil.rmtree(target)
    by_corpus: dict[str, list[ArticleFile]] = {}
    for f in files:
        by_corpus.setdefault(f.corpus, []).append(f)
    for corpus, chosen in by_corpus.items():
        folder = target / corpus
        folder.mkdir(parents=True)
        names = {f.name for f in chosen}
        for name in sorted(names):
            link_or_copy(dirs[corpus] / name, folder / name)
        rows = [row for row in metadata_rows(dirs[corpus]) if row.get("file") in names]
        (folder / METADATA).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def touch_articles(folder: Path, share: float, seed: int = 11) -> int:
    """Change the text of ``share`` of the article files (replacing, never editing, a hard link)."""
    paths = sorted(folder.rglob("*.txt"))
    rng = random.Random(seed)
    chosen = rng.sample(paths, max(1, round(len(paths) * share)))
    for n, path in enumerate(chosen):
        text = path.read_text(encoding="utf-8", errors="replace").rstrip("\n")
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(f"{text}\n\nBenchmark update {n}: this article was revised with a new paragraph.\n")
        os.replace(tmp, path)
    return len(chosen)


# --- questions ---------------------------------------------------------------------------------
def questions(total: int, dirs: dict[str, Path], seed: int = 20261127) -> list[dict[str, str]]:
    """The evaluation questions, then article titles drawn with a fixed seed, ``total`` in all."""
    evals = [
        json.loads(line)["question"]
        for line in EVAL_QUESTIONS.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    out = [{"kind": "eval", "text": q} for q in evals[:total]]
    if len(out) < total:
        titles = sorted(
            {
                str(row["title"]).strip()
                for folder in dirs.values()
                for row in metadata_rows(folder)
                if str(row.get("title") or "").strip()
            }
        )
        picked = random.Random(seed).sample(titles, min(len(titles), total - len(out)))
        out += [{"kind": "title", "text": t} for t in picked]
    return out


def dev_questions() -> list[tuple[str, dt.date]]:
    """The evaluation's dev questions with the dates they are asked as of."""
    rows = [
        json.loads(line) for line in EVAL_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [(r["question"], dt.date.fromisoformat(r["question_date"])) for r in rows]


def news_folders(corpus: str, workdir: Path) -> list[Path]:
    """The news folders of ``corpus``: ``all`` (../shared/corpus: bbc, realtimeqa_news and
    reuters21578, the archives unpacked once under the workdir), ``demo`` (realtimeqa_demo) or a folder."""
    if corpus == "all":
        return list(corpus_dirs(workdir).values())
    if corpus == "demo":
        return [CORPUS / "realtimeqa_demo"]
    return [Path(corpus).resolve()]


def spread(items: list[Any], n: int) -> list[Any]:
    """``n`` items evenly spread over the list (all of them if there are fewer)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


# --- the paragraphs as newsbot tokenized them --------------------------------------------------
def stored_token_lines(database: Path) -> Iterator[str]:
    """Each paragraph's BM25 document (its stored tokens; for a video page's first paragraph, the
    title's first: ``build.headline_documents``) joined by spaces, in the generation's order (articles
    by date, the undated first, then by key, the start of their text's hash: ``build.date_order``)."""
    from newsbot.index.ingest.build import headline_documents

    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        vocab = dict(conn.execute("SELECT id, term FROM terms"))
        table = np.empty(max(vocab, default=-1) + 1, dtype=object)
        for tid, term in vocab.items():
            table[tid] = term

        def article(title: bytes, blobs: list[bytes], flags: list[int]) -> Iterator[str]:
            headline_documents(blobs, [title], np.array(flags, dtype=np.uint8), np.array([0, len(blobs)]))
            for blob in blobs:
                yield " ".join(table[np.frombuffer(blob, dtype=np.uint32)])

        rows = conn.execute(
            "SELECT p.article_id, a.title_terms, p.terms, coalesce(p.flags, 0) FROM paragraphs p"
            " JOIN articles a ON a.id = p.article_id"
            " ORDER BY a.date, substr(a.text_hash, 1, 15), p.article_id, p.position"
        )
        current, title, blobs, flags = None, b"", [], []
        for art, title_terms, blob, flag in rows:
            if art != current:
                yield from article(title, blobs, flags)
                current, title, blobs, flags = art, title_terms, [], []
            blobs.append(blob)
            flags.append(flag)
        yield from article(title, blobs, flags)
    finally:
        conn.close()


def dump_tokens(database: Path, target: Path) -> int:
    """Write one line of tokens per paragraph; returns the number of lines."""
    n = 0
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for line in stored_token_lines(database):
            fh.write(line)
            fh.write("\n")
            n += 1
    os.replace(tmp, target)
    return n
