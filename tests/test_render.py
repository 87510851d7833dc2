"""How the adapters tell a user what a reindex did (bot embeds, the CLI's watch lines), and the gateway's
shards in /stats."""

from __future__ import annotations

import datetime as dt
import math

from newsbot.bot import reports
from newsbot.cli.watch import report_line
from newsbot.index.model import IndexReport


def test_a_reindex_that_only_read_the_stored_articles_again_is_not_nothing() -> None:
    report = IndexReport(unchanged=42, articles=42, paragraphs=147, published=True, retokenized=147)
    assert report.changed_anything
    embed = reports.report_message(report).embeds[0]
    assert embed.title == "Reindex finished"
    assert {"name": "Read again with the new tokenizer", "value": "147 paragraphs"} in [
        {"name": f.name, "value": f.value} for f in embed.fields
    ]
    line = report_line(report, dt.datetime(2026, 11, 27, 12, 0))
    assert "0 added, 0 changed, 0 removed, 147 paragraphs tokenized again" in line
    assert reports.progress_text("retokenize", 5, 10).startswith("Reindexing… Reading stored articles again")
    quiet = IndexReport(unchanged=42, articles=42, published=True)
    assert not quiet.changed_anything and "nothing changed" in report_line(quiet)
    assert reports.report_message(quiet).embeds[0].title == "Reindex finished — nothing changed"


def test_stats_shows_the_shards_and_each_ones_latency() -> None:
    assert reports.shards_field(2, [(1, 0.0384), (0, 0.0416)]) == (
        "Gateway shards (2)",
        "0: 42 ms · 1: 38 ms",
    )
    # a process running some of the shards says so; a shard not yet heard from is "connecting"
    name, value = reports.shards_field(4, [(2, math.inf), (0, 0.001)])
    assert (name, value) == ("Gateway shards (4, 2 here)", "0: 1 ms · 2: connecting")
    many = reports.shards_field(500, [(i, 0.05) for i in range(500)])[1]
    assert len(many) <= 1024 and many.startswith("0: 50 ms · 1: 50 ms")
