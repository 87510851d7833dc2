"""Articles as stories (title, date, source, link, file, first lines): one query shape, one builder.

Used by ``latest`` and by the announcements of new stories.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from newsbot.index.layout import FLAG_JUNK
from newsbot.index.model import Story

LEAD_CHARS = 240

KEY = "substr(a.text_hash, 1, 15)"
"""An article's stable identity (its text's hash), ordering same-day stories alike on every machine."""

SELECT = (
    "SELECT a.id, a.title, a.date, a.source, a.url,"
    " (SELECT rel FROM files f WHERE f.article_id = a.id ORDER BY rel LIMIT 1),"
    # the first lines: the first paragraph that is not junk (a byline, dateline, caption, a video
    # player's form), none for a page that holds nothing else
    f" (SELECT text FROM paragraphs p WHERE p.article_id = a.id AND coalesce(p.flags, 0) & {FLAG_JUNK} = 0"
    " ORDER BY position LIMIT 1),"
    f" {KEY}"
    " FROM articles a"
)
"""The columns :func:`story` reads; add ``WHERE``/``ORDER BY`` clauses after it."""


def lead(text: str) -> str:
    """The first lines of a story: its first paragraph that is not junk, cut on a word near LEAD_CHARS."""
    if len(text) <= LEAD_CHARS:
        return text
    cut = text[:LEAD_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—-") + "…"


def story(row: Sequence[Any]) -> Story:
    """A row of :data:`SELECT` as a Story."""
    return Story(
        title=row[1],
        date=dt.date.fromisoformat(row[2]) if row[2] else None,
        source=row[3],
        url=row[4],
        path=row[5] or "",
        lead=lead(row[6] or ""),
        article_id=int(row[0]),
        key=int(row[7], 16) if row[7] else 0,
    )
