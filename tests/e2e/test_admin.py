"""/reindex and /stats: the admin gate, the background reindex with progress, the busy case, stats."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from newsbot.bot.app import NewsBot
from newsbot.index import generation

from .corpus import ARTICLES, write_filler
from .fake_discord import FakeDiscord, Json, Sent, embed_text
from .helpers import answer_of, assert_sendable, is_ephemeral, private_reply_of, refusal_of, settled, until

pytestmark = pytest.mark.e2e

NEW_ARTICLE = (
    " date 2026-10-20 Lighthouse Keeper Retires\n\nThe Gullrock lighthouse keeper retired at last.\n"
)


def _fields(embed: Json) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def _report(fake: FakeDiscord, sent: Sent) -> Json:
    return await fake.edit_of_original(sent, lambda b: bool(b.get("embeds")), within=10)


async def test_reindex_is_refused_to_non_admins_even_with_manage_server(
    fake: FakeDiscord, newsbot: NewsBot
) -> None:
    before = await newsbot.index.stats()

    plain = await fake.slash("reindex", user=fake.user)
    assert "admin" in (await refusal_of(fake, plain)).lower()

    manager = await fake.slash("reindex", user=fake.manager)  # has Manage Server, not the configured role
    assert fake.manager.permissions & (1 << 5)
    assert "admin" in (await refusal_of(fake, manager)).lower()

    in_dm = await fake.slash("reindex", user=fake.admin, dm=True)
    assert "server" in (await refusal_of(fake, in_dm)).lower()

    stats = await fake.slash("stats", user=fake.manager)
    assert "admin" in (await refusal_of(fake, stats)).lower()

    await settled(fake, newsbot)
    assert not newsbot.index.reindexing
    assert (await newsbot.index.stats()).generation == before.generation
    for sent in (plain, manager, in_dm, stats):
        assert len(fake.for_interaction(sent)) == 1  # the refusal and nothing else


class TestConfiguredAdminUser:
    @pytest.fixture
    def discord_options(self, fake: FakeDiscord) -> dict[str, object]:
        return {"admin_user_ids": [fake.user.id]}

    async def test_an_admin_user_id_is_accepted_without_the_role(
        self, fake: FakeDiscord, newsbot: NewsBot
    ) -> None:
        assert not fake.user.roles
        sent = await fake.slash("reindex", user=fake.user)
        callback = await fake.callback(sent)
        assert callback.json["type"] == 5
        body = await _report(fake, sent)
        assert body["embeds"][0]["title"].startswith("Reindex finished")


async def test_admin_reindex_edits_in_progress_and_the_report(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
) -> None:
    (news_dir / "2026-10-20-lighthouse.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    (news_dir / "2026-10-14-marathon.txt").unlink()
    (news_dir / "broken.txt").write_bytes(b"\xff\xfe not an article")
    write_filler(news_dir, 150)

    sent = await fake.slash("reindex", user=fake.admin)
    callback = await fake.callback(sent)
    assert callback.json["type"] == 5 and not is_ephemeral(callback.json.get("data") or {})
    body = await _report(fake, sent)
    assert_sendable(body)

    embed = body["embeds"][0]
    fields = _fields(embed)
    assert embed["title"] == "Reindex finished"
    assert fields["Added"] == "151" and fields["Removed"] == "1"
    assert int(fields["Unchanged"]) == len(ARTICLES) - 1
    assert int(fields["Skipped"]) >= 1 and "broken.txt" in fields["Skipped files"]
    edits = [r.json for r in fake.for_interaction(sent) if r.method == "PATCH"]
    assert edits[-1] == body  # the report is the last word
    assert len(edits) >= 2, "no progress was shown"
    for progress in edits[:-1]:
        assert progress["content"].startswith("Reindexing…") and not progress.get("embeds")

    asked = await fake.slash("ask", {"question": "lighthouse keeper retired"})
    answer = await answer_of(fake, asked)
    assert answer["embeds"][0]["title"] == "Lighthouse Keeper Retires"


@pytest.mark.parametrize("progress_interval", [30.0])
async def test_reindex_progress_edits_are_throttled(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
) -> None:
    write_filler(news_dir, 150)
    sent = await fake.slash("reindex", user=fake.admin)
    await _report(fake, sent)
    edits = [r.json for r in fake.for_interaction(sent) if r.method == "PATCH"]
    # progress is reported many times, but at most one edit per 30 s window reaches Discord
    assert len(edits) <= 2
    assert edits[-1]["embeds"][0]["title"] == "Reindex finished"


async def test_a_second_reindex_while_one_runs_is_told_so(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
) -> None:
    write_filler(news_dir, 300)
    first = await fake.slash("reindex", user=fake.admin)
    second = await fake.slash("reindex", user=fake.admin)

    text = await refusal_of(fake, second)
    assert "already running" in text
    report = await _report(fake, first)
    assert _fields(report["embeds"][0])["Added"] == "300"
    await settled(fake, newsbot)
    assert len(fake.for_interaction(second)) == 1  # the refusal, and nothing else

    # once it has finished, a new reindex is accepted again
    third = await fake.slash("reindex", user=fake.admin)
    again = await _report(fake, third)
    assert again["embeds"][0]["title"] == "Reindex finished — nothing changed"


async def test_questions_are_answered_while_a_reindex_runs(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path
) -> None:
    write_filler(news_dir, 400)
    reindex = await fake.slash("reindex", user=fake.admin)
    await fake.callback(reindex)
    await until(lambda: newsbot.index.reindexing)

    questions = [
        (fake.user, "harbour bridge cables"),
        (fake.user2, "marathon course record"),
        (fake.admin, "library funding reading rooms"),
        (fake.manager, "storm damaged farm sheds"),
    ]
    asks = [await fake.slash("ask", {"question": q}, user=u) for u, q in questions]
    bodies = [await answer_of(fake, sent) for sent in asks]
    report = await _report(fake, reindex)

    expected = ["Harbour Bridge", "Riverside Marathon", "Library Gets", "Storm Damages"]
    for body, title in zip(bodies, expected, strict=True):
        assert body["embeds"][0]["title"].startswith(title), embed_text(body)
    assert _fields(report["embeds"][0])["Added"] == "400"
    # the questions were answered before the reindex finished (it had 400 files to read)
    last_answer = max(
        fake.requests.index(r) for s in asks for r in fake.for_interaction(s) if r.method == "PATCH"
    )
    report_at = max(fake.requests.index(r) for r in fake.for_interaction(reindex) if r.method == "PATCH")
    assert last_answer < report_at


async def test_stats_for_an_admin(fake: FakeDiscord, newsbot: NewsBot) -> None:
    for question in ("harbour bridge", "zorbulent quaffle", "zorbulent quaffle"):
        await answer_of(fake, await fake.slash("ask", {"question": question}))
    await settled(fake, newsbot)  # the questions are logged in the background: all three, by now

    sent = await fake.slash("stats", user=fake.admin)
    callback = await fake.callback(sent)
    assert callback.json["type"] == 5 and is_ephemeral(callback.json["data"])
    body = await fake.edit_of_original(sent)
    assert_sendable(body)

    fields = _fields(body["embeds"][0])
    assert fields["Articles"] == str(len(ARTICLES))
    assert fields["Newest article"] == max(a.date for a in ARTICLES)
    assert fields["Questions asked"] == "3"
    assert fields["No good answer"] == "2"
    assert "2× zorbulent quaffle" in fields["Most asked without a good answer"]
    assert fields["Feedback"] == "👍 0 · 👎 0"
    assert fields["Index age"].endswith(" s")


async def test_questions_asked_during_a_reindex_are_logged_for_feedback(
    fake: FakeDiscord, newsbot: NewsBot, news_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_filler(news_dir, 40)
    # hold the reindex inside its write transaction (just before it publishes) while people ask
    entered, release = threading.Event(), threading.Event()
    real_write = generation.write

    def held_write(*args: object, **kwargs: object) -> object:
        entered.set()
        release.wait(10)
        return real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(generation, "write", held_write)
    reindex = await fake.slash("reindex", user=fake.admin)
    assert await asyncio.to_thread(entered.wait, 10), "the reindex never reached its write"
    assert newsbot.index.reindexing

    people = [fake.user, fake.user2, fake.admin, fake.manager] * 3
    asks = [await fake.slash("ask", {"question": "storm farm sheds"}, user=p) for p in people]
    bodies = [await answer_of(fake, sent) for sent in asks]
    release.set()
    await _report(fake, reindex)

    for sent, body in zip(asks, bodies, strict=True):
        assert body["embeds"]
        click = await fake.click(fake.original_id(sent), "newsbot:up", user=sent.user)
        assert "thanks" in (await private_reply_of(fake, click)).lower(), "the question was not logged"
    stats = await newsbot.index.stats()
    assert (stats.questions, stats.feedback_up) == (len(asks), len(asks))
