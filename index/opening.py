"""Open the index the settings name: one on this machine, or the shards of a cluster
(``[cluster] shards``); the CLI and the bot open through here and use either the same way."""

from __future__ import annotations

import dataclasses
from typing import Any

from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings


async def open_index(settings: Settings, **options: Any) -> NewsIndex:
    """:meth:`NewsIndex.open` with ``options``, or a cluster's index when ``cluster.shards`` is set."""
    if settings.cluster.shards <= 0:
        return await NewsIndex.open(settings, **options)
    from newsbot.index.cluster.coordinator import ClusterIndex
    from newsbot.index.cluster.transport import LocalShards, Shards

    compiled = options.pop("compiled", None)  # the coordinator only merges; the shards rank
    if compiled is not None:  # as asked (a one-shot command's shards need not load the compiled ranking)
        settings = dataclasses.replace(settings, index=dataclasses.replace(settings.index, compiled=compiled))
    count = settings.cluster.shards
    if settings.cluster.address == "inprocess":
        shards: Shards = LocalShards(settings, count)
    else:
        from newsbot.index.cluster.ray_shards import RayShards

        shards = RayShards(settings, count)
    return await ClusterIndex.open_cluster(settings, shards, **options)
