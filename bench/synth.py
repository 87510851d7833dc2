"""A synthetic news archive ``--factor`` times the size of the real corpus, to measure how a question's
cost grows with the archive (``scale.py``).

Real articles (bbc, realtimeqa_news and reuters21578, as ``bench/eval_quality.py --corpus all`` reads
them) are drawn with replacement until the archive holds ``factor`` times their paragraphs, so that the
words, their frequencies and the articles' lengths stay those of real news. Every original is kept at
its own date; each further copy is dated a random whole number of days (1 to ``--years`` years) before
its original (before the latest real date for an undated one), never twice the same day for one
text (an article the corpus holds twice shares its copies' days and numbers). Questions asked as of their real dates thus still find their recent stories, above an archive
of older ones.

newsbot keeps an article told twice once (by a hash of its title and paragraphs), so a copy's title
ends in a mark of its copy number made of symbols the tokenizer drops (``COPY_MARKS``): the copies stay
distinct articles while every word, in titles and paragraphs, stays as real news has it.

The archive is written as JSON lines (one article a line), in date order (oldest first, so article
numbers grow with dates as in an archive that grew over the years), in ``--files`` files: at least as
many as the indexer needs to read and tokenize in worker processes (``PROCESS_THRESHOLD``), and far
fewer than one file an article. Everything is seeded: the same arguments give the same bytes.

    python bench/synth.py [--factor 10] [--out /tmp/newsbot-synth/x10] [--workdir /tmp/newsbot-synth]
        [--years 10] [--paragraphs N] [--files 4000] [--seed 18] [--folders DIR ...]

Writes ``OUT/news/synth-NNNN.jsonl`` and a summary, ``OUT/synth.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common import corpus_dirs, file_order, metadata_rows, write_json

from newsbot.index.errors import ArticleError
from newsbot.index.ingest.jsonl import apply_meta
from newsbot.index.ingest.parse import MAX_TITLE_CHARS, parse_bytes
from newsbot.index.ingest.workers import PROCESS_THRESHOLD

COPY_MARKS = "†‡§¶•◊※⁂"  # not words to the tokenizer: a copy's number written with them adds no term
FILES = 2 * PROCESS_THRESHOLD


@dataclass(frozen=True, slots=True)
class Source:
    """One real article, ready to be written again with another title and date."""

    corpus: str
    key: str  # its text hash: articles told twice in the corpus share their copies' numbers
    title: str
    date: dt.date | None
    paragraphs: int
    rest: str  # the JSON members after the title and date: source, url, paragraphs


@dataclass(frozen=True, slots=True)
class Copy:
    article: int  # index into the sources
    number: int  # 0 for the original
    date: dt.date | None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--factor", type=float, default=10.0, help="paragraphs, as a multiple of the real corpus")
    p.add_argument("--out", type=Path, default=Path("/tmp/newsbot-synth/x10"))
    p.add_argument("--workdir", type=Path, default=Path("/tmp/newsbot-synth"), help="the corpora unpacked")
    p.add_argument("--folders", type=Path, nargs="+", help="the real corpus folders (default: all three)")
    p.add_argument("--years", type=float, default=10.0, help="how far back copies are dated")
    p.add_argument("--paragraphs", type=int, help="stop at about this many paragraphs (a sample)")
    p.add_argument("--files", type=int, default=FILES, help="JSONL files to spread the articles over")
    p.add_argument("--seed", type=int, default=18)
    return p.parse_args(argv)


def load(folders: dict[str, Path]) -> list[Source]:
    """Every real article newsbot reads from ``folders``' ``*.txt`` files and metadata, in order."""
    out: list[Source] = []
    for corpus, folder in folders.items():
        rows = {row["file"]: row for row in metadata_rows(folder) if isinstance(row.get("file"), str)}
        for name in file_order(folder):
            try:
                article = parse_bytes((folder / name).read_bytes())
            except ArticleError:
                continue
            apply_meta(article, rows.get(name))
            rest = json.dumps(
                {"source": article.source, "url": article.url, "paragraphs": article.paragraphs},
                ensure_ascii=False,
            )
            n = len(article.paragraphs)
            out.append(Source(corpus, article.text_hash, article.title, article.date, n, rest[1:]))
    return out


def mark(number: int) -> str:
    """Copy ``number`` (1 or more) in ``COPY_MARKS``' digits."""
    digits = ""
    while number:
        number, d = divmod(number, len(COPY_MARKS))
        digits = COPY_MARKS[d] + digits
    return digits


def plan(sources: list[Source], factor: float, years: float, rng: random.Random) -> list[Copy]:
    """Every original, then copies drawn with replacement until ``factor`` times the paragraphs."""
    latest = max((s.date for s in sources if s.date), default=dt.date(2023, 12, 31))
    span = max(1, round(years * 365.25))
    if span < 4 * factor:
        raise ValueError(f"{years} years hold too few days for {factor} copies an article")
    copies = [Copy(i, 0, s.date) for i, s in enumerate(sources)]
    target = factor * sum(s.paragraphs for s in sources)
    total = sum(s.paragraphs for s in sources)
    made: dict[str, set[int]] = {}  # days back already given to the copies of each text
    while total < target:
        i = rng.randrange(len(sources))
        used = made.setdefault(sources[i].key, set())
        back = rng.randint(1, span)
        while back in used:
            back = rng.randint(1, span)
        used.add(back)
        base = sources[i].date or latest
        copies.append(Copy(i, len(used), base - dt.timedelta(days=back)))
        total += sources[i].paragraphs
    return copies


def cap(copies: list[Copy], sources: list[Source], paragraphs: int | None, rng: random.Random) -> list[Copy]:
    """A random sample of about ``paragraphs`` paragraphs (all of them for None)."""
    if paragraphs is None:
        return copies
    order = list(copies)
    rng.shuffle(order)
    kept, total = [], 0
    for c in order:
        if total >= paragraphs:
            break
        kept.append(c)
        total += sources[c.article].paragraphs
    return kept


def line(source: Source, copy: Copy) -> str:
    """One JSONL row: the title (with its copy mark), the date, then the original's other members."""
    title = source.title
    if copy.number:
        suffix = " " + mark(copy.number)
        title = title[: MAX_TITLE_CHARS - len(suffix)].rstrip() + suffix
    date = f'"{copy.date.isoformat()}"' if copy.date else "null"
    return f'{{"title": {json.dumps(title, ensure_ascii=False)}, "date": {date}, {source.rest}\n'


def write(out: Path, sources: list[Source], copies: list[Copy], files: int) -> dict[str, int]:
    """The copies in date order (undated first), in ``files`` files of consecutive articles."""
    news = out / "news"
    if news.exists():
        shutil.rmtree(news)
    news.mkdir(parents=True)
    copies = sorted(copies, key=lambda c: (c.date or dt.date.min, c.article, c.number))
    n_files = max(1, min(files, len(copies)))
    width = len(str(n_files - 1))
    per_corpus: dict[str, int] = {}
    for f in range(n_files):
        part = copies[f * len(copies) // n_files : (f + 1) * len(copies) // n_files]
        with open(news / f"synth-{f:0{width}d}.jsonl", "w", encoding="utf-8") as fh:
            for c in part:
                source = sources[c.article]
                fh.write(line(source, c))
                per_corpus[source.corpus] = per_corpus.get(source.corpus, 0) + 1
    return per_corpus


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    started = time.perf_counter()
    if opts.folders:
        folders = {f.name: f.resolve() for f in opts.folders}
    else:
        opts.workdir.mkdir(parents=True, exist_ok=True)
        folders = corpus_dirs(opts.workdir)
    sources = load(folders)
    if not sources:
        print("no articles found in " + ", ".join(map(str, folders.values())), file=sys.stderr)
        return 1
    real = sum(s.paragraphs for s in sources)
    print(f"read {len(sources):,} real articles, {real:,} paragraphs ({time.perf_counter() - started:.0f} s)")
    rng = random.Random(opts.seed)
    copies = cap(plan(sources, opts.factor, opts.years, rng), sources, opts.paragraphs, rng)
    per_corpus = write(opts.out, sources, copies, opts.files)
    paragraphs = sum(sources[c.article].paragraphs for c in copies)
    dates = sorted(c.date for c in copies if c.date)
    summary = {
        "factor": opts.factor,
        "years": opts.years,
        "seed": opts.seed,
        "paragraphs_cap": opts.paragraphs,
        "folders": {k: str(v) for k, v in folders.items()},
        "real_articles": len(sources),
        "real_paragraphs": real,
        "articles": len(copies),
        "originals": sum(c.number == 0 for c in copies),
        "paragraphs": paragraphs,
        "articles_by_corpus": per_corpus,
        "undated": len(copies) - len(dates),
        "first_date": dates[0].isoformat() if dates else None,
        "last_date": dates[-1].isoformat() if dates else None,
        "files": min(opts.files, len(copies)),
    }
    write_json(opts.out / "synth.json", summary)
    print(
        f"wrote {len(copies):,} articles ({summary['originals']:,} originals), {paragraphs:,} paragraphs"
        f" ({paragraphs / real:.2f}x the real corpus), dated {summary['first_date']} to"
        f" {summary['last_date']}, in {summary['files']:,} files under {opts.out / 'news'}"
        f" ({time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
