"""How the adapters tell a user what a reindex did (bot embeds, the CLI's watch lines)."""

from __future__ import annotations

import datetime as dt

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
