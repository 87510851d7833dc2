"""Reading feeds: the formats, and every kind of bad feed reported with what could be kept."""

from __future__ import annotations

import datetime as dt
import json
import time
import tracemalloc

import pytest

from newsbot.index.fetch import NotAFeedError, parse_feed
from newsbot.index.fetch.entities import strip_internal_subset
from newsbot.index.fetch.text import canonical_url, html_paragraphs

from .fetch_server import atom, json_feed, make_story, rss, story_paragraphs_html

FEED = "http://news.test/feed.xml"
NOW = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


def parse(data: str | bytes, content_type: str = "application/rss+xml", **kw: object):  # type: ignore[no-untyped-def]
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_feed(raw, url=FEED, content_type=content_type, fetched_at=NOW, **kw)  # type: ignore[arg-type]


def test_rss2_with_full_content() -> None:
    story = make_story(1)
    when = dt.datetime(2026, 3, 3, 22, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    feed = parse(
        rss(
            [
                {
                    "title": story.title,
                    "link": "http://news.test/a?utm_source=rss&id=4#top",
                    "guid": "tag:news.test,2026:1",
                    "date": when,
                    "author": story.author,
                    "description": "A short teaser.",
                    "content": story_paragraphs_html(story) + "<script>alert(1)</script>",
                }
            ]
        )
    )
    assert feed.format == "rss20" and feed.title == "The Coastline Courier" and feed.problems == []
    (item,) = feed.items
    assert item.title == story.title and item.paragraphs == story.paragraphs and item.full_content
    assert item.link == "http://news.test/a?id=4" and item.id == "tag:news.test,2026:1"
    assert item.published == when and item.published.date() == dt.date(2026, 3, 3), "the publisher's own date"
    assert item.author == story.author and item.date_note is None


def test_rss2_summary_only_and_relative_links() -> None:
    feed = parse(
        rss([{"title": "Ferry", "link": "/news/ferry", "date": NOW, "description": "<p>Teaser.</p>"}])
    )
    (item,) = feed.items
    assert item.link == "http://news.test/news/ferry" and item.paragraphs == ["Teaser."]
    assert not item.full_content and item.id == "http://news.test/news/ferry"


def test_feed_served_as_html_is_still_read() -> None:
    feed = parse(
        rss([{"title": "Tram", "link": "http://news.test/t", "date": NOW, "description": "x"}]), "text/html"
    )
    assert feed.items[0].title == "Tram"


def test_atom() -> None:
    story = make_story(2)
    feed = parse(
        atom(
            [
                {
                    "title": story.title,
                    "link": "https://kp.test/2",
                    "id": "urn:uuid:2",
                    "date": dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC),
                    "author": "Mina Olabode",
                    "summary": "Short.",
                    "content": story_paragraphs_html(story),
                }
            ]
        ),
        "application/atom+xml",
    )
    assert feed.format == "atom10" and feed.title == "Kestrel Point Post"
    (item,) = feed.items
    assert item.paragraphs == story.paragraphs and item.author == "Mina Olabode" and item.id == "urn:uuid:2"


def test_json_feed() -> None:
    story = make_story(3)
    feed = parse(
        json_feed(
            [
                {
                    "id": 17,
                    "url": "https://signal.test/17",
                    "title": story.title,
                    "content_text": "\n\n".join(story.paragraphs),
                    "date_published": "2026-06-01T10:00:00+02:00",
                    "authors": [{"name": "Owen Castell"}],
                },
                {"id": "x", "content_html": "<p>No title, no link, no date here.</p>"},
                "not an object",
            ]
        ),
        "application/feed+json",
    )
    assert feed.format == "json11" and feed.title == "Saltmarsh Signal"
    first, second = feed.items
    assert first.id == "17" and first.paragraphs == story.paragraphs and first.author == "Owen Castell"
    assert first.published.utcoffset() == dt.timedelta(hours=2)
    assert second.title == "No title, no link, no date here." and second.date_note == "missing"
    messages = [str(p) for p in feed.problems]
    assert any("item 3: not a JSON object" in m for m in messages)


def test_json_feed_limits() -> None:
    with pytest.raises(NotAFeedError, match=r"nested deeper"):
        parse(
            b'{"version": "https://jsonfeed.org/version/1", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            "application/json",
        )
    with pytest.raises(NotAFeedError, match=r"not a JSON Feed"):
        parse(json.dumps({"hello": "world"}), "application/json")
    with pytest.raises(NotAFeedError, match=r"not valid JSON"):
        parse(b"{nope", "application/feed+json")


def test_rss1_rdf_and_rss091() -> None:
    rdf = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://news.test/"><title>RDF News</title><link>http://news.test/</link></channel>
<item rdf:about="http://news.test/r1"><title>Orchard opens</title><link>http://news.test/r1</link>
<description>The orchard opened.</description><dc:date>2026-04-02T08:00:00Z</dc:date></item>
</rdf:RDF>"""
    feed = parse(rdf)
    assert feed.format == "rss10" and feed.items[0].published == dt.datetime(2026, 4, 2, 8, tzinfo=dt.UTC)
    old = """<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old</title><link>http://news.test/</link>
<item><title>Caf&eacute; reopens</title><link>http://news.test/o1</link><description>It&apos;s back.</description></item>
</channel></rss>"""
    feed = parse(old)
    assert feed.format.startswith("rss09") and feed.items[0].title == "Café reopens"


def test_malformed_xml_keeps_what_can_be_read() -> None:
    bad = (
        '<rss version="2.0"><channel><title>Broken</title>'
        "<item><title>One & two</title><link>http://news.test/1</link><description>a<b</description></item>"
        "<item><title>Second</title><link>http://news.test/2</link><description>fine</description></item>"
    )
    feed = parse(bad)
    assert [i.link for i in feed.items] == ["http://news.test/1", "http://news.test/2"]
    assert any("malformed XML" in str(p) and "2 item(s) recovered" in str(p) for p in feed.problems)
    assert all(str(p).startswith(f"feed {FEED}") for p in feed.problems)


def test_html_served_as_a_feed_names_the_real_feed() -> None:
    page = (
        "<!DOCTYPE html><html><head><title>Courier</title>"
        '<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head>'
        "<body><p>Welcome</p></body></html>"
    )
    with pytest.raises(
        NotAFeedError, match=r"web page \(HTML\), not a feed; it links to the feed http://news.test/rss.xml"
    ) as caught:
        parse(page, "text/html")
    assert caught.value.links == ["http://news.test/rss.xml"]
    with pytest.raises(NotAFeedError, match=r"not RSS, Atom or JSON Feed"):
        parse("just some words", "text/plain")
    with pytest.raises(NotAFeedError, match=r"empty body"):
        parse(b"  \n", "application/rss+xml")


def test_billion_laughs_is_not_expanded() -> None:
    levels = ['<!ENTITY a "lollollollollollollollollollol">']
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        levels.append(f'<!ENTITY {name} "{("&" + prev + ";") * 10}">')
    for joiner in ("\n ", " "):  # one declaration a line, and all on one line
        doc = (
            '<?xml version="1.0"?>\n<!DOCTYPE rss [\n ' + joiner.join(levels) + "\n]>\n"
            '<rss version="2.0"><channel><title>Laughs</title>'
            "<item><title>&j;</title><link>http://news.test/lol</link><description>&j;</description></item>"
            "<item><title>Real story</title><link>http://news.test/real</link><description>Text.</description></item>"
            "</channel></rss>"
        )
        tracemalloc.start()
        started = time.monotonic()
        feed = parse(doc)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert elapsed < 1 and peak < 20_000_000
        assert all(len(i.title) < 100 and sum(map(len, i.paragraphs)) < 100 for i in feed.items)
        assert any(i.link == "http://news.test/real" for i in feed.items)
        assert any("entities in a DOCTYPE; they are not expanded" in str(p) for p in feed.problems)


def test_external_entities_are_not_fetched() -> None:
    doc = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xx SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><title>T</title><item><title>x&xx;</title>'
        "<link>http://news.test/e</link><description>d</description></item></channel></rss>"
    )
    feed = parse(doc)
    assert "root:" not in feed.items[0].title


def test_strip_internal_subset_keeps_the_rest() -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "x.dtd" [<!ENTITY a "]>">]><rss/>'
    out, changed = strip_internal_subset(data)
    assert changed and out == b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "x.dtd" ><rss/>'
    assert strip_internal_subset(b"<rss/>") == (b"<rss/>", False)


def test_wrong_and_missing_charsets() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Caf\xe9 cr\xe8me returns</title><link>http://news.test/c</link>"
        "<description>D\xe9j\xe0 vu.</description></item></channel></rss>"
    ).encode("latin-1")
    for ctype in ("application/rss+xml", "text/xml"):
        feed = parse(body, ctype)
        assert feed.items[0].title == "Café crème returns" and feed.items[0].paragraphs == ["Déjà vu."]
        assert any("encoding" in str(p) or "declared" in str(p) for p in feed.problems)
    declared = (
        b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Na\xefve</title><link>http://news.test/n</link><description>x</description></item></channel></rss>"
    )
    assert parse(declared).items[0].title == "Naïve"


def test_items_without_link_or_date_future_dates_and_duplicate_ids() -> None:
    items = [
        {"title": "No date", "link": "http://news.test/1", "guid": "same", "description": "One."},
        {
            "title": "Future",
            "link": "http://news.test/2",
            "guid": "same",
            "date": NOW + dt.timedelta(days=400),
            "description": "Two.",
        },
        {"title": "No link", "guid": "g3", "permalink": False, "date": NOW, "description": "Three."},
        {
            "title": "Bad link",
            "link": "javascript:alert(1)",
            "guid": "g4",
            "permalink": False,
            "date": NOW,
            "description": "Four.",
        },
        {"guid": "g5", "date": NOW},
    ]
    feed = parse(rss(items))
    by_title = {i.title: i for i in feed.items}
    assert set(by_title) == {"No date", "Future", "No link", "Bad link"}, "every usable item kept"
    assert by_title["No date"].date_note == "missing" and by_title["No date"].published == NOW
    assert by_title["Future"].date_note == "future" and by_title["Future"].published == NOW
    assert by_title["Future"].id == "http://news.test/2", "a repeated id gives way to the link"
    assert by_title["No link"].link is None and by_title["Bad link"].link is None
    text = "\n".join(map(str, feed.problems))
    assert "item 1 (http://news.test/1): no date; the fetch time is used" in text
    assert "item 2 (http://news.test/2): date 2027-" in text and "in the future" in text
    assert "item 2 (http://news.test/2): id 'http://news.test/same' was already used by item 1" in text
    assert by_title["No link"].id == "g3", "an id that is not a permalink is kept as it is"
    assert "item 3: no link" in text and "item 4: link 'javascript:alert(1)' is not an http(s) URL" in text
    assert "item 5 (http://news.test/g5): no title and no text; skipped" in text, "a permalink guid is a link"


def test_max_items() -> None:
    feed = parse(
        rss(
            [
                {"title": f"S{i}", "link": f"http://news.test/{i}", "date": NOW, "description": "x"}
                for i in range(5)
            ]
        ),
        max_items=2,
    )
    assert len(feed.items) == 2 and any("3 item(s) past the first 2 left" in str(p) for p in feed.problems)


def test_html_paragraphs() -> None:
    html = "<div><p>One <b>bold</b> line.</p>Loose text<br><br>After breaks<br>same para<ul><li>Item</li></ul><style>x{}</style><script>bad()</script></div>"
    assert html_paragraphs(html) == ["One bold line.", "Loose text", "After breaks same para", "Item"]
    assert html_paragraphs("Plain &amp; simple\n\nSecond") == ["Plain & simple", "Second"]
    assert html_paragraphs("a\u202eb\x00c") == ["abc"]


def test_canonical_url() -> None:
    assert canonical_url("HTTP://News.Test:80/a?utm_medium=x&id=1&fbclid=z#frag") == "http://news.test/a?id=1"
    assert canonical_url("https://news.test:8443") == "https://news.test:8443/"
    assert canonical_url("https://news.test/p?q=a%20b&x") == "https://news.test/p?q=a%20b&x"
