"""Following feeds on Discord, with the real discord.py client against the loopback Discord and a loopback
news site: /feeds add → a fetch round → reindex → the /follow announcement → /ask answered from the page's
text citing its link; /feeds list and /stats show the state; non-admins are refused."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from newsbot.bot.app import NewsBot
from newsbot.bot.watch import fetch_round
from newsbot.index.config import Settings
from newsbot.index.fetch import FetchSettings

from ..fetch_server import LoopbackServer, article_html, make_story, rss
from .fake_discord import FakeDiscord, embed_text
from .helpers import answer_of, private_reply_of, refusal_of, settled
from .test_follow import follow, followed, nth_post, posts

pytestmark = pytest.mark.e2e

VERMILION = "The lighthouse keeper, Edda Quillfeather, said the beacon will be painted vermilion in June."


@pytest.fixture
async def site() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer() as srv:
        scoop = make_story(7)
        scoop.paragraphs.insert(1, VERMILION)
        srv.add("/news/scoop", article_html(scoop))
        item = {
            "title": scoop.title,
            "link": srv.url("/news/scoop"),
            "guid": "scoop",
            "description": "Teaser.",
        }
        srv.add("/rss.xml", rss([item]), content_type="application/rss+xml")
        srv.add("/down.xml", "gone", status=500, content_type="text/plain")
        yield srv


@pytest.fixture
def settings(settings: Settings, site: LoopbackServer) -> Settings:
    """The loopback site allowed (by network, private addresses otherwise refused), no politeness pauses;
    the fetch loop's own rounds far apart (the test drives rounds itself)."""
    fetch = FetchSettings(
        allowed_networks=["127.0.0.1/32"], per_host_delay_seconds=0.0, interval_minutes=600.0
    )
    return dataclasses.replace(settings, fetch=fetch)


async def test_feeds_add_fetch_announce_and_ask(
    fake: FakeDiscord, newsbot: NewsBot, site: LoopbackServer
) -> None:
    quiet = fake.quiet_channel_id
    assert f"<#{quiet}>" in await followed(fake, await follow(fake, quiet))
    url = site.url("/rss.xml")

    refused = await fake.slash(
        "feeds", {"add": {"type": 1, "options": [{"name": "url", "type": 3, "value": url}]}}
    )
    assert "admin" in (await refusal_of(fake, refused)).lower()
    add = {
        "add": {
            "type": 1,
            "options": [
                {"name": "url", "type": 3, "value": url},
                {"name": "source", "type": 3, "value": "Coastline Courier"},
            ],
        }
    }
    reply = await private_reply_of(fake, await fake.slash("feeds", add, user=fake.admin))
    assert "Following **Coastline Courier**" in reply and url in reply
    # a fetch round starts at once: the page is fetched, stored, indexed and announced
    body = await nth_post(fake, quiet, 1)
    (embed,) = body["embeds"]
    assert embed["url"] == site.url("/news/scoop") and "Coastline Courier" in embed["footer"]["text"]

    answer = await answer_of(
        fake, await fake.slash("ask", {"question": "What colour will the beacon be painted?"})
    )
    top = answer["embeds"][0]
    assert top["url"] == site.url("/news/scoop") and "vermilion" in embed_text(answer)

    listing = await private_reply_of(fake, await fake.slash("feeds", {"list": {"type": 1}}, user=fake.admin))
    assert "Coastline Courier" in listing and "ok, last fetched" in listing
    report = await fetch_round(newsbot)  # the loop's round: nothing new, no second announcement
    assert report is not None and report.feeds[0].status in ("ok", "not-modified")
    assert report.feeds[0].new == 0
    await settled(fake, newsbot)
    assert len(posts(fake, quiet)) == 1


async def test_private_addresses_refused_and_failing_feeds_shown(
    fake: FakeDiscord, newsbot: NewsBot, site: LoopbackServer
) -> None:
    inside = "http://10.0.0.1/feed.xml"  # not in allowed_networks
    add = {"add": {"type": 1, "options": [{"name": "url", "type": 3, "value": inside}]}}
    reply = await private_reply_of(fake, await fake.slash("feeds", add, user=fake.admin))
    assert "10.0.0.1" in reply and "Following" not in reply
    down = site.url("/down.xml")
    await newsbot.index.feeds.book.add(down, source="Down Daily", folder="", full_text=True, added_by="test")
    report = await fetch_round(newsbot)
    assert report is not None and report.feeds[0].status == "failed"
    stats = embed_text(await answer_of(fake, await fake.slash("stats", user=fake.admin)))
    assert "Failing feeds (1)" in stats and "Down Daily" in stats
    listing = await private_reply_of(fake, await fake.slash("feeds", {"list": {"type": 1}}, user=fake.admin))
    assert "Down Daily" in listing and "failing since" in listing
    remove = {"remove": {"type": 1, "options": [{"name": "url", "type": 3, "value": down}]}}
    reply = await private_reply_of(fake, await fake.slash("feeds", remove, user=fake.admin))
    assert "No longer following **Down Daily**" in reply
