"""Web archive imports: a WARC built here, articles kept, the rest skipped with reasons, resumable."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsbot.index.fetch import WarcError, WarcProgress, import_warc
from newsbot.index.fetch import warc as warc_module
from newsbot.index.fetch.archive import METADATA_NAME
from newsbot.index.ingest.parse import parse_bytes

from .fetch_server import article_html, make_story


def build_warc(path: Path, *, gzip: bool = True) -> list[str]:
    """A small crawl: articles, a duplicate, an error page, an image, a listing page, a request."""
    pages: list[tuple[str, bytes, str, str]] = []
    s1, s2, s3 = make_story(11), make_story(12), make_story(13)
    undated = article_html(s3).replace(
        f'<meta property="article:published_time" content="{s3.date.isoformat()}T08:30:00Z">', ""
    )
    undated = undated.replace(f'<time datetime="{s3.date.isoformat()}">{s3.date:%d %B %Y}</time>', "")
    listing = (
        "<html><body><ul>"
        + "".join(f'<li><a href="/n/{i}">Headline {i}</a></li>' for i in range(40))
        + "</ul></body></html>"
    )
    pages = [
        ("https://courier.test/news/11", article_html(s1).encode(), "200 OK", "text/html; charset=utf-8"),
        ("https://courier.test/news/12", article_html(s2).encode(), "200 OK", "text/html"),
        ("https://courier.test/news/13", undated.encode(), "200 OK", "text/html; charset=utf-8"),
        (
            "https://courier.test/missing",
            b"<html><body>Not found</body></html>",
            "404 Not Found",
            "text/html",
        ),
        ("https://courier.test/logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "200 OK", "image/png"),
        ("https://courier.test/", listing.encode(), "200 OK", "text/html"),
        ("https://courier.test/news/11?utm_source=x", article_html(s1).encode(), "200 OK", "text/html"),
        ("https://mirror.test/copy-of-11", article_html(s1).encode(), "200 OK", "text/html"),
    ]
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=gzip)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "newsbot tests"}))
        request = StatusAndHeaders("GET /news/11 HTTP/1.1", [("Host", "courier.test")], is_http_request=True)
        writer.write_record(
            writer.create_warc_record("https://courier.test/news/11", "request", http_headers=request)
        )
        for url, body, status, ctype in pages:
            headers = StatusAndHeaders(
                status, [("Content-Type", ctype), ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(body),
                    http_headers=headers,
                    warc_headers_dict={"WARC-Date": "2026-11-01T10:00:00Z"},
                )
            )
    return [p[0] for p in pages]


def test_import_keeps_articles_and_reports_the_rest_then_adds_nothing(tmp_path: Path) -> None:
    warc = tmp_path / "crawl.warc.gz"
    build_warc(warc)
    folder = tmp_path / "archive"
    ticks: list[WarcProgress] = []
    report = import_warc(warc, folder, source="Courier archive", progress=ticks.append)
    assert (report.records, report.responses, report.kept, report.duplicates) == (10, 8, 3, 2), report
    assert report.skipped == {
        "not a response record": 2,
        "HTTP status 404": 1,
        "not HTML": 1,
        "no article on the page": 1,
    }
    assert report.errors == [] and "3 articles kept" in report.summary()
    assert ticks and ticks[-1].bytes_read == ticks[-1].total_bytes == warc.stat().st_size
    rows = {
        r["url"]: r
        for meta in folder.rglob(METADATA_NAME)
        for r in map(json.loads, meta.read_text().splitlines())
    }
    assert set(rows) == {f"https://courier.test/news/{n}" for n in (11, 12, 13)}
    for n in (11, 12):
        story = make_story(n)
        row = rows[f"https://courier.test/news/{n}"]
        assert (
            row["date"] == story.date.isoformat() and not row["date_estimated"] and row["text_from"] == "warc"
        )
        assert row["source"] == "Courier archive" and row["warc"] == "crawl.warc.gz"
        article = parse_bytes(next(folder.rglob(str(row["file"]))).read_bytes())
        assert article.title == story.title and article.paragraphs == story.paragraphs
    undated = rows["https://courier.test/news/13"]
    assert undated["date"] == "2026-11-01" and undated["date_estimated"] is True, "the crawl date, marked"

    again = import_warc(warc, folder)
    assert again.already_done and again.kept == 0 and again.records == 0
    assert "already imported" in again.summary()
    assert len(list(folder.rglob("*.txt"))) == 3

    forced = import_warc(warc, folder, force=True)
    assert (forced.kept, forced.duplicates) == (0, 5), "read again, but every article is already stored"


def test_interrupted_import_resumes_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warc = tmp_path / "crawl.warc"
    build_warc(warc, gzip=False)
    folder = tmp_path / "archive"
    real = warc_module.extract_article
    calls = 0

    def crash_on_second(*args: object, **kw: object):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C while the second page was read
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(warc_module, "SAVE_EVERY", 3)
    monkeypatch.setattr(warc_module, "extract_article", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        import_warc(warc, folder)
    assert len(list(folder.rglob("*.txt"))) == 1
    monkeypatch.setattr(warc_module, "extract_article", real)
    resumed = import_warc(warc, folder)
    assert resumed.resumed_after == 3 and resumed.kept == 2 and resumed.duplicates == 2
    assert len(list(folder.rglob("*.txt"))) == 3
    assert import_warc(warc, folder).already_done


def test_not_a_warc_and_a_damaged_one(tmp_path: Path) -> None:
    junk = tmp_path / "notes.warc.gz"
    junk.write_bytes(b"this is not a web archive at all\n" * 10)
    with pytest.raises(WarcError, match="not a web archive"):
        import_warc(junk, tmp_path / "a")
    with pytest.raises(WarcError, match="cannot read it"):
        import_warc(tmp_path / "absent.warc", tmp_path / "a")
    warc = tmp_path / "crawl.warc.gz"
    build_warc(warc)
    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(warc.read_bytes() + b"\x00garbage where a record should be\r\n\r\n")
    report = import_warc(damaged, tmp_path / "b")
    assert report.kept == 3 and len(report.errors) == 1
    assert "unreadable after record 10" in report.errors[0] and "\x00" not in report.errors[0]
    assert not import_warc(damaged, tmp_path / "b").already_done, "an unfinished archive is read again"
