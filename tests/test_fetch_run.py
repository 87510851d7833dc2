"""Fetch passes against a loopback news site: full text, fallbacks, conditional GET, backoff, dedup,
updates, and the stored files indexed and answered by newsbot itself."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path

import pytest

from newsbot.cli.main import main
from newsbot.index.fetch import (
    FeedSpec,
    FeedState,
    JsonStateStore,
    NotAFeedError,
    check_feed,
    default_feeds_root,
    fetch_feeds,
)
from newsbot.index.fetch.run import STATE_FILE, backoff_delay
from newsbot.index.fetch.settings import feed_folder, feed_name
from newsbot.index.ingest.parse import parse_bytes

from .fetch_server import (
    LoopbackServer,
    article_html,
    atom,
    fast_settings,
    json_feed,
    make_story,
    rss,
    story_paragraphs_html,
)


@pytest.fixture
async def site() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer() as srv:
        srv.add("/robots.txt", "User-agent: *\nDisallow: /members/\n", content_type="text/plain")
        for n in range(1, 7):
            story = make_story(n)
            srv.add(f"/news/{story.slug}", article_html(story))
            srv.add(f"/members/{story.slug}", article_html(story))
        yield srv


def item_for(srv: LoopbackServer, n: int, *, folder: str = "news", **kw: object) -> dict[str, object]:
    story = make_story(n)
    values: dict[str, object] = {
        "title": story.title,
        "link": srv.url(f"/{folder}/{story.slug}"),
        "guid": f"courier-{n}",
        "permalink": False,
        "date": dt.datetime.combine(story.date, dt.time(8, 30), dt.UTC),
        "author": story.author,
        "description": f"Teaser for story {n}: {story.paragraphs[0][:60]}",
    }
    values.update(kw)
    return values


def files(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in folder.rglob("*.txt")}


def rows(folder: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for meta in sorted(folder.rglob("metadata.jsonl"))
        for line in meta.read_text().splitlines()
    ]


async def test_pass_stores_full_articles_then_conditional_get_stores_nothing(
    site: LoopbackServer, tmp_path: Path
) -> None:
    site.add(
        "/rss.xml",
        rss([item_for(site, 1), item_for(site, 2), item_for(site, 3, folder="members")]),
        content_type="application/rss+xml",
        etag='"feed-v1"',
    )
    spec = FeedSpec(url=site.url("/rss.xml"), source="Coastline Courier")
    first = await fetch_feeds([spec], fast_settings(), feeds_root=tmp_path)
    (report,) = first.feeds
    assert report.status == "ok" and (report.new, report.pages, report.fallbacks) == (3, 3, 1), report
    assert first.changed and len(report.written) == 3
    assert any(
        "robots.txt asks crawlers not to fetch it; the feed's own text is used" in p for p in report.problems
    )
    folder = feed_folder(spec, tmp_path)
    assert folder == tmp_path / feed_name(spec) and feed_name(spec).startswith("coastline-courier-")
    assert default_feeds_root(tmp_path / "news.db") == tmp_path / "feeds"
    by_url = {r["url"]: r for r in rows(folder)}
    for n in (1, 2):
        story = make_story(n)
        row = by_url[site.url(f"/news/{story.slug}")]
        assert (
            row["text_from"] == "page"
            and row["source"] == "Coastline Courier"
            and row["author"] == story.author
        )
        article = parse_bytes((folder / story.date.strftime("%Y-%m") / str(row["file"])).read_bytes())
        assert article.title == story.title and article.paragraphs == story.paragraphs, "the page's full text"
        assert "Comments" not in " ".join(article.paragraphs) and "Related stories" not in " ".join(
            article.paragraphs
        )
    members = by_url[site.url("/members/story-3")]
    assert members["text_from"] == "feed" and site.hits["/members/story-3"] == 0
    hits_before = dict(site.hits)

    second = await fetch_feeds([spec], fast_settings(), feeds_root=tmp_path)
    assert second.feeds[0].status == "not-modified" and not second.changed
    assert len(files(folder)) == 3 and len(rows(folder)) == 3
    assert site.hits["/rss.xml"] == hits_before["/rss.xml"] + 1
    assert all(site.hits[k] == v for k, v in hits_before.items() if k != "/rss.xml"), "no page fetched again"
    state = FeedState.from_json(json.loads((tmp_path / STATE_FILE).read_text())[spec.url])
    assert (
        state.etag == '"feed-v1"'
        and state.failures == 0
        and state.stored == 3
        and state.title == "The Coastline Courier"
    )


async def test_feed_with_full_content_needs_no_page(site: LoopbackServer, tmp_path: Path) -> None:
    long_story = make_story(4)
    long_story.paragraphs = long_story.paragraphs * 3
    site.add(
        "/full.xml",
        rss([item_for(site, 4, content=story_paragraphs_html(long_story))]),
        content_type="application/rss+xml",
    )
    report = (
        await fetch_feeds([FeedSpec(url=site.url("/full.xml"))], fast_settings(), feeds_root=tmp_path)
    ).feeds[0]
    assert (report.new, report.pages) == (1, 0) and site.hits["/news/story-4"] == 0
    assert report.source == "The Coastline Courier", "the feed's title names the source when none is set"
    (path,) = files(tmp_path).values()
    assert parse_bytes(path.read_bytes()).paragraphs == long_story.paragraphs


async def test_atom_and_json_feed_while_bad_feeds_fail_and_back_off(
    site: LoopbackServer, tmp_path: Path
) -> None:
    s5, s6 = make_story(5), make_story(6)
    site.add(
        "/atom.xml",
        atom(
            [
                {
                    "title": s5.title,
                    "link": site.url("/news/story-5"),
                    "id": "urn:5",
                    "date": dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
                    "summary": "Short.",
                }
            ]
        ),
        content_type="application/atom+xml",
    )
    site.add(
        "/feed.json",
        json_feed(
            [
                {
                    "id": "6",
                    "url": site.url("/news/story-6"),
                    "title": s6.title,
                    "summary": "Short.",
                    "date_published": "2026-02-02T10:00:00Z",
                }
            ]
        ),
        content_type="application/feed+json",
    )
    site.add("/broken.xml", "<rss><channel><item><title>Half", content_type="application/rss+xml")
    site.add(
        "/home",
        '<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" href="/atom.xml"></head><body>Hi</body></html>',
    )
    site.add("/gone.xml", "", status=410)
    site.slow("/slow.xml", 1.5)
    site.gzip_bomb("/bomb.xml", 32 * 1024 * 1024, content_type="application/rss+xml")
    specs = [
        FeedSpec(url=site.url(p))
        for p in ("/atom.xml", "/feed.json", "/broken.xml", "/home", "/gone.xml", "/slow.xml", "/bomb.xml")
    ]
    settings = fast_settings(read_timeout_seconds=0.5, total_timeout_seconds=1.0, backoff_minutes=10)
    seen: list[str] = []
    result = await fetch_feeds(specs, settings, feeds_root=tmp_path, on_feed=lambda r: seen.append(r.url))
    by = {r.url.rsplit("/", 1)[1]: r for r in result.feeds}
    assert sorted(seen) == sorted(s.url for s in specs)
    assert (by["atom.xml"].status, by["atom.xml"].new) == ("ok", 1) and (
        by["feed.json"].status,
        by["feed.json"].new,
    ) == ("ok", 1)
    assert by["broken.xml"].status == "ok" and any("malformed XML" in p for p in by["broken.xml"].problems)
    assert by["home"].status == "failed" and "web page (HTML), not a feed; it links to the feed" in str(
        by["home"].error
    )
    assert by["gone.xml"].status == "failed" and "gone (410)" in str(by["gone.xml"].error)
    assert by["slow.xml"].status == "failed" and "did not answer in time" in str(by["slow.xml"].error)
    assert by["bomb.xml"].status == "failed" and "decompresses to over" in str(by["bomb.xml"].error)
    assert by["home"].summary().startswith("127.0.0.1: failed: feed http://127.0.0.1")
    store = JsonStateStore(tmp_path / STATE_FILE)
    home = await store.load(site.url("/home"))
    assert home is not None and home.failures == 1 and home.failing and home.next_try is not None
    assert home.next_try - result.started == dt.timedelta(minutes=10)
    gone = await store.load(site.url("/gone.xml"))
    assert (
        gone is not None
        and gone.next_try is not None
        and gone.next_try - result.started >= dt.timedelta(hours=6)
    )
    since = result.started.isoformat(timespec="minutes")
    assert f"failing since {since} (1 in a row)" in home.describe(result.started)

    again = await fetch_feeds(specs[:4], settings, feeds_root=tmp_path)
    assert {r.url.rsplit("/", 1)[1]: r.status for r in again.feeds}["home"] == "waiting"
    forced = await fetch_feeds([specs[3]], settings, feeds_root=tmp_path, force=True)
    assert forced.feeds[0].status == "failed"
    home = await JsonStateStore(tmp_path / STATE_FILE).load(site.url("/home"))  # a fresh read of the file
    assert (
        home is not None and home.failures == 2 and home.next_try - forced.started == dt.timedelta(minutes=20)
    )
    assert home.failing_since == result.started  # the first failure of the row
    assert backoff_delay(settings, 30) == dt.timedelta(hours=24), "capped"


async def test_rate_limited_feed_waits_as_long_as_asked(site: LoopbackServer, tmp_path: Path) -> None:
    site.add("/busy.xml", "", status=429, headers={"Retry-After": "7200"})
    result = await fetch_feeds([FeedSpec(url=site.url("/busy.xml"))], fast_settings(), feeds_root=tmp_path)
    report = result.feeds[0]
    assert report.status == "failed" and "asks to wait 2.0 h" in str(report.error)
    assert report.next_try is not None and report.next_try - result.started == dt.timedelta(hours=2)


async def test_updated_article_replaces_its_file_and_duplicates_are_not_stored(
    site: LoopbackServer, tmp_path: Path
) -> None:
    shared = tmp_path / "shared-folder"
    site.add("/a.xml", rss([item_for(site, 1), item_for(site, 2)]), content_type="application/rss+xml")
    # another outlet republishes story 1 word for word at another address
    site.add("/mirror/story-1", article_html(make_story(1)))
    site.add(
        "/b.xml",
        rss([item_for(site, 1, link=site.url("/mirror/story-1"), guid="mirror-1")]),
        content_type="application/rss+xml",
    )
    specs = [
        FeedSpec(url=site.url("/a.xml"), folder=str(shared)),
        FeedSpec(url=site.url("/b.xml"), folder=str(shared)),
    ]
    first = await fetch_feeds(specs[:1], fast_settings(), feeds_root=tmp_path)
    assert first.feeds[0].new == 2
    mirror = await fetch_feeds(specs[1:], fast_settings(), feeds_root=tmp_path)
    assert (mirror.feeds[0].new, mirror.feeds[0].duplicates) == (0, 1)
    assert len(files(shared)) == 2

    unchanged = await fetch_feeds(specs, fast_settings(), feeds_root=tmp_path)
    assert [(r.new, r.updated, r.unchanged, r.pages) for r in unchanged.feeds] == [(0, 0, 2, 0), (0, 0, 1, 0)]

    story = make_story(2)
    corrected = make_story(2)
    corrected.paragraphs = [*story.paragraphs, "Correction: the vote was held on Wednesday, not Tuesday."]
    site.add("/news/story-2", article_html(corrected))
    site.add(
        "/a.xml",
        rss([item_for(site, 1), item_for(site, 2, description="Updated teaser with the correction.")]),
        content_type="application/rss+xml",
    )
    before = files(shared)
    update = await fetch_feeds(specs[:1], fast_settings(), feeds_root=tmp_path)
    assert (update.feeds[0].new, update.feeds[0].updated, update.feeds[0].unchanged) == (0, 1, 1)
    after = files(shared)
    assert after.keys() == before.keys(), "the same file, replaced"
    (path,) = [p for p in after.values() if parse_bytes(p.read_bytes()).title == story.title]
    assert parse_bytes(path.read_bytes()).paragraphs[-1].startswith("Correction:")


async def test_page_fallbacks_too_large_not_html_and_missing(site: LoopbackServer, tmp_path: Path) -> None:
    site.add("/huge", "<html><body>" + ("<p>" + "word " * 2000 + "</p>") * 10 + "</body></html>")
    site.add("/report.pdf", b"%PDF-1.4 binary", content_type="application/pdf")
    feed = rss(
        [
            item_for(site, 1, link=site.url("/huge"), guid="h"),
            item_for(site, 2, link=site.url("/report.pdf"), guid="p"),
            item_for(site, 3, link=site.url("/nowhere"), guid="n"),
            item_for(site, 4, link=site.url("/nowhere-either"), guid="e", description=None),
        ]
    )
    site.add("/f.xml", feed, content_type="application/rss+xml")
    report = (
        await fetch_feeds(
            [FeedSpec(url=site.url("/f.xml"))], fast_settings(max_page_bytes=50_000), feeds_root=tmp_path
        )
    ).feeds[0]
    assert (report.new, report.fallbacks, report.failed_items) == (3, 3, 1)
    text = "\n".join(report.problems)
    assert "over the 50,000-byte limit; the feed's own text is used" in text
    assert "not an HTML page (application/pdf); the feed's own text is used" in text
    assert "not found (404); the feed's own text is used" in text
    assert "no text: the item has none and its page could not be used" in text
    again = (
        await fetch_feeds(
            [FeedSpec(url=site.url("/f.xml"))], fast_settings(max_page_bytes=50_000), feeds_root=tmp_path
        )
    ).feeds[0]
    assert (again.new, again.unchanged, again.pages) == (0, 4, 0), (
        "a failed item is not retried until it changes"
    )


async def test_check_feed_for_feeds_add(site: LoopbackServer) -> None:
    site.add("/rss.xml", rss([item_for(site, 1)]), content_type="application/rss+xml")
    site.add(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head><body>x</body></html>',
    )
    parsed = await check_feed(site.url("/rss.xml"), fast_settings())
    assert parsed.title == "The Coastline Courier" and len(parsed.items) == 1
    with pytest.raises(NotAFeedError) as caught:
        await check_feed(site.url("/"), fast_settings())
    assert caught.value.links == [site.url("/rss.xml")]


def test_feed_state_json_round_trip() -> None:
    state = FeedState(
        url="https://n.test/rss",
        etag='"x"',
        failures=2,
        last_error="feed https://n.test/rss: gone (410)",
        next_try=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )
    data = json.loads(json.dumps(state.to_json()))
    assert FeedState.from_json(data) == state
    assert FeedState.from_json(
        {"url": "u", "failures": "many", "next_try": "garbage", "future_key": 1}
    ) == FeedState("u")


async def test_fetched_page_is_indexed_and_answers_with_its_link(
    site: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scoop = make_story(1)
    scoop.paragraphs.insert(
        1,
        "The lighthouse keeper, Edda Quillfeather, confirmed that the beacon will be painted vermilion in June.",
    )
    site.add("/news/scoop", article_html(scoop))
    site.add(
        "/rss.xml",
        rss([item_for(site, 1, link=site.url("/news/scoop"), guid="scoop"), item_for(site, 2)]),
        content_type="application/rss+xml",
    )
    spec = FeedSpec(url=site.url("/rss.xml"), source="Coastline Courier")
    result = await fetch_feeds([spec], fast_settings(), feeds_root=tmp_path / "feeds")
    assert result.feeds[0].new == 2
    db = str(tmp_path / "news.db")
    # the CLI runs its own event loop: call it from a thread, as the terminal would from outside
    assert (
        await asyncio.to_thread(
            main, ["index", str(feed_folder(spec, tmp_path / "feeds")), "--db", db, "--json"]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == 2 and report["skipped"] == []
    question = "What colour will the lighthouse beacon be painted?"
    assert await asyncio.to_thread(main, ["ask", question, "--db", db, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    top = answer["hits"][0]
    assert top["url"] == site.url("/news/scoop") and top["source"] == "Coastline Courier"
    assert "vermilion" in top["text"] and top["title"] == escape(scoop.title).replace("&amp;", "&")


async def test_item_links_into_the_bots_own_network_are_not_fetched(tmp_path: Path) -> None:
    """SSRF through feed content: private addresses not allowed (only the feed server's own address
    is listed, as an admin would list a trusted server), an item linking to 127.0.0.1 is not fetched."""
    async with LoopbackServer("127.0.0.2") as feeds, LoopbackServer("127.0.0.1") as victim:
        victim.add("/admin", article_html(make_story(9)))
        feeds.add(
            "/rss.xml",
            rss(
                [
                    item_for(feeds, 9, link=victim.url("/admin"), guid="x"),
                    item_for(feeds, 1, link=f"http://localhost:{victim.port}/admin", guid="y"),
                ]
            ),
            content_type="application/rss+xml",
        )
        settings = fast_settings(allow_private_addresses=False, allowed_networks=["127.0.0.2/32"])
        report = (
            await fetch_feeds([FeedSpec(url=feeds.url("/rss.xml"))], settings, feeds_root=tmp_path)
        ).feeds[0]
    assert report.status == "ok" and (report.new, report.fallbacks) == (2, 2)
    assert victim.hits["/admin"] == 0 and victim.hits["/robots.txt"] == 0
    text = "\n".join(report.problems)
    assert (
        "127.0.0.1 is a loopback address" in text
        and "localhost is 127.0.0.1, a loopback address" in text.replace("::1", "127.0.0.1")
    )
