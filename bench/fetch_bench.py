"""Fetching and extracting article pages: pages per second and peak memory, on a loopback site.

    python bench/fetch_bench.py [--pages 1000] [--concurrency 8] [--workers 0] [--fast]

A server process on 127.0.0.1 holds ``--pages`` generated article pages, each dressed as a real
news page is (a long menu, inline scripts and styles, JSON-LD, related links, comments, a footer:
about 60 KB), a robots.txt, and a feed listing every page. This process then measures:

1. pages: every page fetched through newsbot's fetcher (robots.txt honoured, size capped, SSRF
   checks on) and its article extracted by trafilatura (threads, or ``--workers`` processes);
2. pass: one full fetch pass of the feed into an empty folder (feed, pages, files and metadata
   written), as ``newsbot fetch`` does;
3. new item: the pass's articles indexed and a channel following, the same feed with one new item
   added: the time from that new story in a feed to its file on disk, and on to its announcement
   (the incremental reindex and the follow's new stories, what ``newsbot run`` posts to Discord).

Printed: pages/s for 1 and 2, seconds for 3, and the peak resident memory of this process (the
server runs in its own process, so its pages are not counted). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsbot.index.api import NewsIndex  # noqa: E402
from newsbot.index.config import settings_from_dict  # noqa: E402
from newsbot.index.fetch import FeedSpec, Fetcher, fetch_feeds, fetch_page  # noqa: E402
from tests.fetch_server import LoopbackServer, article_html, fast_settings, make_story, rss  # noqa: E402


def dressed_page(n: int) -> str:
    """An article page with the weight of a real one around the story."""
    story = make_story(n)
    page = article_html(story, canonical=f"/news/{story.slug}")
    menu = "".join(f'<li><a href="/section/{i}">Section {i} of the paper</a></li>' for i in range(150))
    script = (
        "<script>" + "".join(f"var tracker{i} = {{id: {i}, on: true}};\n" for i in range(900)) + "</script>"
    )
    style = (
        "<style>"
        + "".join(f".c{i} {{ margin: {i % 7}px; color: #{i:06x}; }}\n" for i in range(500))
        + "</style>"
    )
    ld = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "'
        + story.title.replace('"', "")
        + f'", "datePublished": "{story.date.isoformat()}"}}</script>'
    )
    comments = "".join(
        f'<div class="comment"><p>Reader {i} says: I was at the meeting and I agree with most of it.</p></div>'
        for i in range(25)
    )
    page = page.replace("</head>", f"{style}{ld}</head>", 1)
    page = page.replace("<header>", f'<header><ul class="menu">{menu}</ul>', 1)
    page = page.replace("</footer>", f"</footer>{script}<section>{comments}</section>", 1)
    return page


def serve(pages: int, ready: mp.Queue, stop: mp.Event) -> None:  # type: ignore[type-arg]
    async def run() -> None:
        async with LoopbackServer() as srv:
            srv.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
            items = []
            for n in range(pages):
                story = make_story(n)
                srv.add(f"/news/{story.slug}", dressed_page(n))
                items.append({"title": story.title, "link": srv.url(f"/news/{story.slug}"), "guid": story.slug,
                              "date": dt.datetime.combine(story.date, dt.time(8), dt.UTC),
                              "description": story.paragraphs[0][:80]})  # fmt: skip
            srv.add("/feed.xml", rss(items), content_type="application/rss+xml")
            extra = make_story(pages + 1)
            srv.add(f"/news/{extra.slug}", dressed_page(pages + 1))
            newer = [{"title": extra.title, "link": srv.url(f"/news/{extra.slug}"), "guid": extra.slug,
                      "description": extra.paragraphs[0][:80]}, *items]  # fmt: skip
            srv.add("/feed-plus-one.xml", rss(newer), content_type="application/rss+xml")
            ready.put((srv.port, sum(len(dressed_page(n)) for n in range(min(pages, 20))) // min(pages, 20)))
            while not stop.is_set():
                await asyncio.sleep(0.1)

    asyncio.run(run())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench_pages(port: int, pages: int, concurrency: int, executor: Executor | None) -> float:
    settings = fast_settings(concurrency=concurrency, total_timeout_seconds=30, read_timeout_seconds=20)
    urls = [f"http://127.0.0.1:{port}/news/{make_story(n).slug}" for n in range(pages)]
    gate = asyncio.Semaphore(concurrency)
    kept = 0

    async with Fetcher(settings) as fetcher:

        async def one(url: str) -> None:
            nonlocal kept
            async with gate:
                outcome = await fetch_page(fetcher, url, executor=executor)
            kept += outcome.article is not None

        started = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        elapsed = time.perf_counter() - started
    assert kept == pages, f"only {kept} of {pages} pages gave an article"
    return elapsed


async def bench_pass(port: int, folder: Path, executor: Executor | None, feed: str) -> tuple[float, int]:
    settings = fast_settings(max_items_per_feed=100_000, total_timeout_seconds=30, read_timeout_seconds=20)
    started = time.perf_counter()
    report = await fetch_feeds(
        [FeedSpec(url=f"http://127.0.0.1:{port}/{feed}", source="Bench Courier", folder=str(folder))],
        settings,
        feeds_root=folder.parent,
        executor=executor,
        force=True,
    )
    elapsed = time.perf_counter() - started
    (feed_report,) = report.feeds
    assert feed_report.status == "ok", feed_report.error
    return elapsed, feed_report.new


async def bench_announcement(
    port: int, pages: int, folder: Path, executor: Executor | None
) -> tuple[float, float]:
    """(seconds to the new item's file, seconds to its announcement) after the first pass."""
    database = folder.parent.parent / "bench.db"
    settings = settings_from_dict(
        {"news": {"folders": []}, "store": {"database": str(database)}, "index": {"compiled": False}}
    )
    extra = make_story(pages + 1)  # the story feed-plus-one.xml adds
    async with await NewsIndex.open(settings, compiled=False) as index:
        await index.reindex([folder.parent])  # the first pass's articles, then a channel follows
        await index.follow(1, 2)
        started = time.perf_counter()
        stored, new = await bench_pass(port, folder, executor, "feed-plus-one.xml")
        await index.reindex([folder.parent])
        (announcement,) = await index.take_announcements()
        announced = time.perf_counter() - started
    assert new == 1 and len(announcement.stories) == 1, (new, announcement)
    assert announcement.stories[0].title == extra.title, announcement.stories[0].title
    return stored, announced


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8, help="pages fetched at once (part 1)")
    parser.add_argument("--workers", type=int, default=0, help="extraction processes (0: threads)")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    ready: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    stop = ctx.Event()
    server = ctx.Process(target=serve, args=(args.pages, ready, stop), daemon=True)
    server.start()
    port, page_bytes = ready.get(timeout=300)
    executor: Executor | None = ProcessPoolExecutor(args.workers) if args.workers else None
    try:
        base_rss = peak_rss_mb()
        print(f"{args.pages} pages of about {page_bytes / 1024:.0f} KB on 127.0.0.1:{port}; "
              f"extraction in {f'{args.workers} processes' if args.workers else 'threads'}")  # fmt: skip
        elapsed = asyncio.run(bench_pages(port, args.pages, args.concurrency, executor))
        print(f"1. pages fetched and extracted: {args.pages / elapsed:.1f} pages/s "
              f"({elapsed:.1f} s, {args.concurrency} at once)")  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "feeds" / "bench"
            elapsed, new = asyncio.run(bench_pass(port, folder, executor, "feed.xml"))
            print(
                f"2. one fetch pass (feed, {new} pages, files written): {new / elapsed:.1f} pages/s ({elapsed:.1f} s)"
            )
            stored, announced = asyncio.run(bench_announcement(port, args.pages, folder, executor))
            print(f"3. a new item in the feed to its file on disk: {stored:.2f} s ({args.pages} unchanged "
                  f"items skipped without fetching their pages); to its announcement: {announced:.2f} s")  # fmt: skip
        print(f"peak memory of this process: {peak_rss_mb():.0f} MB (after imports: {base_rss:.0f} MB)")
    finally:
        if executor is not None:
            executor.shutdown()
        stop.set()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
