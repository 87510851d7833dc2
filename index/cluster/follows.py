"""Following new stories on a cluster: the same follows, announcements and "shown once" records as on
one machine (``store/follows.py``), kept in the coordinator's database.

Arrivals are numbered here: after each cluster reindex the coordinator copies the shards' new
arrivals (:func:`pull_arrivals`), each under its cluster-wide article number, so a follow's
``since_seq`` is one number over every shard. A story's title, date and first lines are read from
the shard that holds it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from newsbot.index.cluster.stats import cluster_id
from newsbot.index.cluster.transport import Shards
from newsbot.index.model import Story
from newsbot.index.store.database import Store
from newsbot.index.store.follows import FollowBook, _Arrival, _newest_first

StoryReader = Callable[[list[int]], Awaitable[dict[int, Story]]]
"""``read(article_ids)``: those (cluster-wide) articles as stories, by id; missing ones left out."""

PULLED = "cluster_arrivals"  # meta: the last arrival copied from each shard


class ClusterFollowBook(FollowBook):
    """See the module docstring; ``serving`` names the meta that holds the cluster generation."""

    def __init__(self, database: Path, read: StoryReader, serving: str) -> None:
        super().__init__(database)
        self.read = read
        self.serving = serving

    async def _serving_number(self) -> int:
        text = await self.store.get_meta(self.serving)
        return int(json.loads(text)["number"]) if text else 0

    async def _arrivals(self, since: int) -> list[_Arrival]:
        rows = await self.store.rows(
            "SELECT seq, article_id FROM arrivals WHERE seq > ? ORDER BY seq", (since,)
        )
        found = await self.read([int(a) for _, a in rows])
        out: dict[int, _Arrival] = {}
        for seq, article in rows:
            story = found.get(int(article))
            if story is not None:  # (an article gone since it arrived is not news)
                out[int(article)] = _Arrival(int(seq), int(article), story.title, story.date, story.url)
        return sorted(out.values(), key=_newest_first, reverse=True)

    async def _stories(self, article_ids: list[int]) -> list[Story]:
        found = await self.read(article_ids)
        return [found[a] for a in article_ids if a in found]


async def pull_arrivals(store: Store, shards: Shards) -> None:
    """Copy the articles that arrived on each shard since the last pull into ``store``'s arrivals
    (numbered in the order copied; a text stored again keeps its number)."""
    count = shards.count
    text = await store.get_meta(PULLED)
    marks = [int(m) for m in json.loads(text)] if text else []
    marks = marks if len(marks) == count else [0] * count
    for shard in range(count):
        rows = await shards.call(shard, "arrivals", marks[shard])
        await store.execute_many(
            "INSERT INTO arrivals(text_key, article_id) VALUES (?, ?)"
            " ON CONFLICT(text_key) DO UPDATE SET article_id = excluded.article_id",
            [(key, cluster_id(article, shard, count)) for _, key, article in rows],
        )
        marks[shard] = max([marks[shard], *(seq for seq, _, _ in rows)])
    await store.set_meta(PULLED, json.dumps(marks))
