"""Following feeds from the terminal, end to end against a loopback news site: ``feeds add``,
``fetch``, ``ask`` answered from the page's text with its link; the feeds kept in the database;
settings-file feeds listed and not removable; the address rules; ``import`` of a web archive."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from newsbot.cli.main import main
from newsbot.index.api import NewsIndex
from newsbot.index.config import load_settings

from .fetch_server import LoopbackServer, article_html, make_story, rss

FAST = """
[fetch]
allow_private_addresses = {private}
per_host_delay_seconds = 0.0
total_timeout_seconds = 5.0
contact = "newsbot-tests@example.org"
"""


@pytest.fixture
async def site() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer() as srv:
        scoop = make_story(1)
        scoop.paragraphs.insert(
            1, "The lighthouse keeper, Edda Quillfeather, said the beacon will be painted vermilion in June."
        )
        srv.add("/news/scoop", article_html(scoop))
        srv.add("/news/other", article_html(make_story(2)))
        items = [
            {
                "title": scoop.title,
                "link": srv.url("/news/scoop"),
                "guid": "scoop",
                "description": "A teaser.",
            },
            {"title": "Other", "link": srv.url("/news/other"), "guid": "other", "description": "Another."},
        ]
        srv.add("/rss.xml", rss(items), content_type="application/rss+xml")
        srv.add(
            "/home",
            f'<html><head><link rel="alternate" type="application/rss+xml" href="{srv.url("/rss.xml")}"></head><body>Home</body></html>',
        )
        yield srv


def config(tmp_path: Path, *, private: bool = True, extra: str = "") -> str:
    path = tmp_path / "newsbot.toml"
    text = f'[store]\ndatabase = "{tmp_path / "news.db"}"\n[news]\nfolders = []\n'
    path.write_text(text + FAST.format(private=str(private).lower()) + extra)
    return str(path)


async def run(*argv: str) -> int:
    # the CLI runs its own event loop: call it from a thread, as a terminal would
    return await asyncio.to_thread(main, list(argv))


async def test_feeds_add_fetch_ask_from_the_terminal(
    site: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    assert await run("--config", cfg, "index") == 2  # nothing configured: one line, not a crash
    assert "nothing to index" in capsys.readouterr().err
    assert (
        await run("--config", cfg, "feeds", "add", site.url("/rss.xml"), "--source", "Coastline Courier") == 0
    )
    assert "Following Coastline Courier" in capsys.readouterr().out
    assert await run("--config", cfg, "feeds", "add", site.url("/rss.xml")) == 2
    assert "already followed" in capsys.readouterr().err
    assert await run("--config", cfg, "fetch", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["feeds"][0]["new"] == 2 and result["reindex"]["added"] == 2
    question = "What colour will the lighthouse beacon be painted?"
    assert await run("--config", cfg, "ask", question, "--json") == 0
    top = json.loads(capsys.readouterr().out)["hits"][0]
    assert top["url"] == site.url("/news/scoop") and top["source"] == "Coastline Courier"
    assert "vermilion" in top["text"]
    # a second pass: a conditional GET or the same items, nothing new, no reindex
    assert await run("--config", cfg, "fetch") == 0
    assert "Nothing new" in capsys.readouterr().out
    # the feed and its state survive reopening
    async with await NewsIndex.open(load_settings(Path(cfg)), compiled=False) as index:
        (feed,) = await index.feeds.followed()
        assert feed.origin == "added" and feed.state is not None and feed.state.stored == 2
        assert (await index.news_folders()) == [feed.folder]
    assert await run("--config", cfg, "feeds", "list", "--json") == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["url"] == site.url("/rss.xml") and listed["status"].startswith("ok")
    assert await run("--config", cfg, "feeds", "remove", site.url("/rss.xml")) == 0
    assert "No longer following" in capsys.readouterr().out
    assert await run("--config", cfg, "feeds", "list") == 0
    assert "No feeds followed" in capsys.readouterr().out


async def test_settings_file_feed_is_listed_and_not_removable(
    site: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = site.url("/rss.xml")
    cfg = config(tmp_path, extra=f'\n[[feeds]]\nurl = "{url}"\nsource = "Courier"\n')
    assert await run("--config", cfg, "feeds", "list") == 0
    assert "Courier" in (listed := capsys.readouterr().out) and "settings file" in listed
    assert await run("--config", cfg, "feeds", "remove", url) == 2
    assert "in the settings file" in capsys.readouterr().err
    assert await run("--config", cfg, "feeds", "add", url) == 2
    assert "settings file" in capsys.readouterr().err


async def test_web_page_names_its_feeds_and_private_addresses_are_refused(
    site: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    assert await run("--config", cfg, "feeds", "add", site.url("/home")) == 2
    error = capsys.readouterr().err
    assert "this is a web page; its feeds:" in error and site.url("/rss.xml") in error
    (tmp_path / "strict").mkdir()
    strict = config(tmp_path / "strict", private=False)
    assert await run("--config", strict, "feeds", "add", site.url("/rss.xml")) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "127.0.0.1" in error
    assert await run("--config", strict, "feeds", "list") == 0
    assert "No feeds followed" in capsys.readouterr().out


def test_import_a_web_archive_then_again_adds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .test_fetch_warc import build_warc

    warc = tmp_path / "crawl.warc.gz"
    build_warc(warc)
    folder = tmp_path / "archive"
    assert main(["import", str(warc), "--into", str(folder), "--source", "Crawl", "--json"]) == 0
    (first,) = json.loads(capsys.readouterr().out)
    assert first["kept"] > 0
    assert main(["import", str(warc), "--into", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "nothing to add" in text and f"newsbot index {folder}" in text
    assert main(["import", str(tmp_path / "missing.warc"), "--into", str(folder)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
