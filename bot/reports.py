"""What admins see: a reindex's progress and report, and the index's statistics, as Discord messages
within Discord's limits (the shared pieces are in :mod:`newsbot.bot.render`)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import discord

from newsbot.bot.render import (
    COLOUR,
    CONTENT_LIMIT,
    FIELD_VALUE_LIMIT,
    MessageParts,
    clip,
    day,
    fit,
)
from newsbot.index.model import IndexReport, Stats


def progress_text(stage: str, done: int, total: int) -> str:
    names = {
        "scan": "Scanning files",
        "parse": "Reading articles",
        "retokenize": "Reading stored articles again (new tokenizer settings)",
        "store": "Storing",
        "build": "Building index",
    }
    name = names.get(stage, stage)
    count = f" {done}/{total}" if total else (f" {done}" if done else "")
    return clip(f"Reindexing… {name}{count}", CONTENT_LIMIT)


def _listing(items: Sequence[tuple[str, str]], limit: int = FIELD_VALUE_LIMIT) -> str:
    lines: list[str] = []
    size = 0
    for i, (path, reason) in enumerate(items):
        line = f"{fit(path, 200)}: {fit(reason, 200)}"
        left = len(items) - i
        tail = f"… and {left} more"
        if size + len(line) + 1 > limit - len(tail) - 1 and left > 1:
            lines.append(tail)
            break
        lines.append(line)
        size += len(line) + 1
    return clip("\n".join(lines), limit)


def report_message(report: IndexReport) -> MessageParts:
    title = "Reindex finished" if report.changed_anything else "Reindex finished — nothing changed"
    if not report.published:
        title = "Reindex finished — nothing new was published"
    embed = discord.Embed(title=title, colour=COLOUR)
    for name, value in (
        ("Added", report.added),
        ("Changed", report.changed),
        ("Removed", report.removed),
        ("Unchanged", report.unchanged),
        ("Duplicates", report.duplicates),
        ("Skipped", len(report.skipped)),
        ("Articles", report.articles),
        ("Paragraphs", report.paragraphs),
    ):
        embed.add_field(name=name, value=str(value), inline=True)
    if report.retokenized:
        embed.add_field(name="Read again with the new tokenizer", value=f"{report.retokenized} paragraphs")
    if report.skipped:
        embed.add_field(
            name="Skipped files", value=_listing([(s.path, s.reason) for s in report.skipped]), inline=False
        )
    if report.warnings:
        embed.add_field(
            name="Warnings", value=_listing([(s.path, s.reason) for s in report.warnings]), inline=False
        )
    embed.set_footer(text=f"{report.seconds:.1f} s · generation {report.generation}")
    return MessageParts(content=f"Reindex done in {report.seconds:.1f} s.", embeds=[embed])


# ---------------------------------------------------------------------------------------------- stats


def age(since: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if since is None:
        return "never built"
    now = now or dt.datetime.now(dt.UTC)
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


def shards_field(count: int | None, latencies: Sequence[tuple[int, float]]) -> tuple[str, str]:
    """The /stats field (name, value) on the gateway: how many shards, and each one's heartbeat latency
    (this process's shards only, when the bot runs as several processes)."""
    here = "" if count is None or len(latencies) == count else f", {len(latencies)} here"
    name = f"Gateway shards ({count if count is not None else len(latencies)}{here})"
    parts = []
    for shard_id, latency in sorted(latencies):
        shown = f"{latency * 1000:.0f} ms" if math.isfinite(latency) else "connecting"
        parts.append(f"{shard_id}: {shown}")
    return name, clip(" · ".join(parts) or "none connected", FIELD_VALUE_LIMIT)


def stats_message(
    stats: Stats,
    now: dt.datetime | None = None,
    *,
    failing: Sequence[str] = (),
    shards: tuple[int | None, Sequence[tuple[int, float]]] | None = None,
) -> MessageParts:
    """The /stats embed; ``shards`` is (the shard count, each shard's (id, latency in seconds))."""
    embed = discord.Embed(title="newsbot statistics", colour=COLOUR)
    embed.add_field(name="Articles", value=str(stats.articles))
    embed.add_field(name="Paragraphs", value=str(stats.paragraphs))
    embed.add_field(name="Newest article", value=day(stats.newest))
    embed.add_field(name="Index age", value=age(stats.built_at, now))
    embed.add_field(name="Generation", value=str(stats.generation))
    embed.add_field(name="Questions asked", value=str(stats.questions))
    embed.add_field(name="No good answer", value=str(stats.unanswered))
    embed.add_field(name="Feedback", value=f"👍 {stats.feedback_up} · 👎 {stats.feedback_down}")
    if shards is not None:
        name, value = shards_field(*shards)
        embed.add_field(name=name, value=value, inline=False)
    if stats.top_unanswered:
        lines = [f"{n}× {fit(q, 150)}" for q, n in stats.top_unanswered[:10]]
        embed.add_field(
            name="Most asked without a good answer",
            value=clip("\n".join(lines), FIELD_VALUE_LIMIT),
            inline=False,
        )
    if stats.note:
        embed.add_field(name="Part of the archive", value=clip(stats.note, FIELD_VALUE_LIMIT), inline=False)
    if failing:
        embed.add_field(
            name=f"Failing feeds ({len(failing)})",
            value=clip("\n".join(failing), FIELD_VALUE_LIMIT),
            inline=False,
        )
    return MessageParts(embeds=[embed])
