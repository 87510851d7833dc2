"""Following new stories on a cluster (shards in this process): the announcements are one index's —
the same stories, topics and caps — and none is repeated, across reindexes and a reopen."""

from __future__ import annotations

from pathlib import Path

from newsbot.index.api import NewsIndex
from newsbot.index.model import Announcement
from tests.helpers import make_settings, write_article
from tests.test_cluster import cluster, news_copy


def seen(announcements: list[Announcement]) -> list[tuple[object, ...]]:
    return [
        (
            a.follow.guild_id,
            a.follow.channel_id,
            [(s.title, s.date, s.path, s.lead) for s in a.stories],
            a.more,
        )
        for a in announcements
    ]


def arrive(folder: Path, first: int, count: int) -> None:
    for i in range(first, first + count):  # one date each: the order of announcements is by date
        topic = "The harbor tram" if i % 2 else "The bay ferry"
        write_article(
            folder,
            f"new/{i}.txt",
            f"Story {i}",
            [f"{topic} changed its timetable, report {i}."],
            f"2026-11-{i:02d}",
        )


async def test_a_clusters_announcements_are_one_indexs(tmp_path: Path) -> None:
    folder = news_copy(tmp_path)
    cap = {"announce_cap": 2}
    one = await NewsIndex.open(make_settings(tmp_path / "one", [folder], watch=cap))
    settings = make_settings(tmp_path / "many", [folder], watch=cap)
    index = await cluster(settings, 3)
    try:
        for each in (one, index):
            await each.reindex()
            await each.follow(1, 10)
            await each.follow(2, 20, "harbor tram")
            assert await each.take_announcements() == []
        arrive(folder, 1, 6)
        got = []
        for each in (one, index):
            await each.reindex()
            got.append(seen(await each.take_announcements()))
            assert await each.take_announcements() == []  # announced once
        assert got[0] == got[1]
        assert [len(a[2]) for a in got[0]] == [2, 2] and [a[3] for a in got[0]] == [4, 1]
        assert all("harbor tram" in lead for _, _, stories, _ in got[0][1:] for *_, lead in stories)
    finally:
        await one.close()
        await index.close()

    index = await cluster(settings, 3)  # reopened: nothing old is announced again, new ones are
    try:
        await index.reindex()
        assert await index.take_announcements() == []
        arrive(folder, 7, 1)
        await index.reindex()
        assert [[s.title for s in a.stories] for a in await index.take_announcements()] == [
            ["Story 7"],
            ["Story 7"],
        ]
    finally:
        await index.close()
