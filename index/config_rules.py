"""What each setting may hold beyond its type: ranges, and the rules that tie settings together.

:mod:`newsbot.index.config` defines the settings and reads them; this module holds the rules they must
meet, so that each stays short. A broken rule raises :class:`ConfigError` naming the key, in one line.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import Stemmer  # type: ignore[import-not-found]  # PyStemmer ships no types

from newsbot.index.errors import ConfigError
from newsbot.index.ranking.bm25 import VARIANTS

if TYPE_CHECKING:
    from newsbot.index.config import DiscordSettings, FeedSpec, FetchSettings, Settings

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

Need = Callable[[bool, str, str], None]  # need(ok, key, problem): raise ConfigError(key, problem) unless ok

_RAY_ADDRESS = re.compile(r"(ray://)?[\w.\-]+:\d{1,5}")  # a head's GCS, or its client server


def _validate_fetch(f: FetchSettings, feeds: list[FeedSpec], need: Need) -> None:
    need(f.interval_minutes >= 1, "fetch.interval_minutes", "must be 1 or more")
    need(f.user_agent.strip() != "", "fetch.user_agent", "must not be empty")
    need(not any(c in f.user_agent + f.contact for c in "\r\n"), "fetch.user_agent", "one line only")
    for key in ("connect_timeout_seconds", "read_timeout_seconds", "total_timeout_seconds"):
        need(0 < getattr(f, key) < math.inf, f"fetch.{key}", "must be above 0")
    need(f.max_feed_bytes >= 1024, "fetch.max_feed_bytes", "must be 1024 or more")
    need(f.max_page_bytes >= 1024, "fetch.max_page_bytes", "must be 1024 or more")
    need(0 <= f.max_redirects <= 20, "fetch.max_redirects", "must be 0 to 20")
    need(0 <= f.per_host_delay_seconds < math.inf, "fetch.per_host_delay_seconds", "must be 0 or more")
    need(1 <= f.concurrency <= 64, "fetch.concurrency", "must be 1 to 64")
    need(0 <= f.max_retry_after_seconds < math.inf, "fetch.max_retry_after_seconds", "must be 0 or more")
    need(0 < f.backoff_minutes < math.inf, "fetch.backoff_minutes", "must be above 0")
    ok = f.backoff_minutes <= f.max_backoff_hours * 60 < math.inf
    need(ok, "fetch.max_backoff_hours", "must be at least backoff_minutes")
    need(f.max_items_per_feed >= 1, "fetch.max_items_per_feed", "must be 1 or more")
    need(f.min_article_chars >= 0, "fetch.min_article_chars", "must be 0 or more")
    for i, value in enumerate(f.allowed_networks):
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            need(False, f"fetch.allowed_networks[{i}]", f"{value!r} is not an address or network (CIDR)")
    for i, feed in enumerate(feeds):
        need(
            feed.url.lower().startswith(("http://", "https://")), f"feeds[{i}].url", "must be an http(s) URL"
        )


def _validate_discord(d: DiscordSettings, need: Need) -> None:
    need(d.cooldown_questions >= 1, "discord.cooldown_questions", "must be 1 or more")
    need(d.cooldown_seconds >= 0, "discord.cooldown_seconds", "must be 0 or more")
    need(d.more_timeout_seconds > 0, "discord.more_timeout_seconds", "must be above 0")
    count = d.shard_count
    need(not isinstance(count, int) or count >= 1, "discord.shard_count", 'must be 1 or more (or "auto")')
    if not d.shard_ids:
        return
    if not isinstance(count, int):  # "auto": Discord picks the count at start-up, too late to split it
        raise ConfigError("discord.shard_ids", 'needs a number as discord.shard_count, not "auto"')
    for i, shard in enumerate(d.shard_ids):
        key = f"discord.shard_ids[{i}]"
        need(0 <= shard < count, key, f"must be 0 to {count - 1} (discord.shard_count is {count})")
        need(shard not in d.shard_ids[:i], key, f"shard {shard} is listed twice")


def validate(s: Settings) -> None:
    """Raise :class:`ConfigError` for the first setting out of its range (settings are typed already)."""

    def need(ok: bool, key: str, problem: str) -> None:
        if not ok:
            raise ConfigError(key, problem)

    need(bool(s.store.database.strip()), "store.database", "must not be empty")
    need(s.index.variant in VARIANTS, "index.variant", f"must be one of {', '.join(VARIANTS)}")
    need(s.index.k1 >= 0, "index.k1", "must be 0 or more")
    need(0 <= s.index.b <= 1, "index.b", "must be between 0 and 1")
    need(0 <= s.index.article_b <= 1, "index.article_b", "must be between 0 and 1")
    need(s.index.epsilon >= 0, "index.epsilon", "must be 0 or more")
    need(s.index.delta >= 0, "index.delta", "must be 0 or more")
    languages = Stemmer.algorithms()
    need(s.index.language in languages, "index.language", f"must be one of {', '.join(languages)}")
    need(1 <= s.answer.max_passages <= 10, "answer.max_passages", "must be between 1 and 10")
    need(
        1 <= s.answer.passages <= s.answer.max_passages,
        "answer.passages",
        "must be between 1 and answer.max_passages",
    )
    need(s.answer.per_article >= 1, "answer.per_article", "must be 1 or more")
    need(0 < s.answer.repeat_factor <= 1, "answer.repeat_factor", "must be above 0 and at most 1")
    need(40 <= s.answer.excerpt_chars <= 1000, "answer.excerpt_chars", "must be 40 to 1000")
    need(s.answer.min_score >= 0, "answer.min_score", "must be 0 (off) or more")
    need(s.ranking.recency_days >= 0, "ranking.recency_days", "must be 0 (off) or more")
    weight = s.ranking.whole_article_weight
    need(0 <= weight < math.inf, "ranking.whole_article_weight", "must be 0 (off) or more")
    _validate_discord(s.discord, need)
    need(s.watch.interval_seconds >= 1, "watch.interval_seconds", "must be 1 or more")
    need(s.watch.announce_cap >= 1, "watch.announce_cap", "must be 1 or more")
    need(s.logging.level.upper() in LOG_LEVELS, "logging.level", f"must be one of {', '.join(LOG_LEVELS)}")
    _validate_fetch(s.fetch, s.feeds, need)
    c = s.cluster
    need(0 <= c.shards <= 1024, "cluster.shards", "must be 0 (one index) to 1024")
    ok = c.address in ("local", "auto", "inprocess") or bool(_RAY_ADDRESS.fullmatch(c.address))
    need(ok, "cluster.address", 'must be "local", "auto", "inprocess", "HOST:PORT" or "ray://HOST:PORT"')
    need(0 < c.call_timeout_seconds < math.inf, "cluster.call_timeout_seconds", "must be above 0")
    need(1 <= c.replicas <= 8, "cluster.replicas", "must be 1 to 8")
