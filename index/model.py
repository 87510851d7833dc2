"""The values that cross the boundary between the core and its adapters (CLI, bot).

They are plain, immutable data: the CLI renders them as text or JSON, the bot as embeds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A short piece of a paragraph, with the spans that matched the question.

    ``marks`` are ``(start, end)`` character offsets into ``text``, sorted and disjoint.
    ``cut_start``/``cut_end`` say whether text was left out before/after (render an ellipsis).
    """

    text: str
    marks: tuple[tuple[int, int], ...] = ()
    cut_start: bool = False
    cut_end: bool = False

    def render(
        self,
        open_mark: str = "",
        close_mark: str = "",
        escape: Any = None,
        ellipsis: str = "…",
    ) -> str:
        """The excerpt as one string, matched words wrapped in ``open_mark``/``close_mark``.

        ``escape`` (a ``str -> str`` function) is applied to the article text but not to the marks,
        so that the bot can escape markdown and still bold the matches.
        """
        esc = escape or (lambda s: s)
        out: list[str] = []
        pos = 0
        for start, end in self.marks:
            out.append(esc(self.text[pos:start]))
            out.append(open_mark + esc(self.text[start:end]) + close_mark)
            pos = end
        out.append(esc(self.text[pos:]))
        body = "".join(out)
        if self.cut_start:
            body = ellipsis + body
        if self.cut_end:
            body = body + ellipsis
        return body

    @property
    def plain(self) -> str:
        return self.render()


@dataclass(frozen=True, slots=True)
class Hit:
    """One cited passage of an answer."""

    rank: int
    score: float
    path: str
    paragraph: int | None  # None: the passage is the headline (the article has no other text to show)
    title: str
    date: dt.date | None
    source: str | None
    url: str | None
    text: str
    excerpt: Excerpt
    article_id: int = 0
    paragraph_id: int = 0

    @property
    def place(self) -> str:
        """Where the passage is in its article, for a citation: "¶3" (0-based), or "headline"."""
        return "headline" if self.paragraph is None else f"¶{self.paragraph}"

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "path": self.path,
            "paragraph": self.paragraph,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "source": self.source,
            "url": self.url,
            "text": self.text,
            "excerpt": self.excerpt.plain,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """The passages that answer a question, or a note saying why there are none; a note beside
    passages names the question's misspelt-looking words that the search went without."""

    question: str
    as_of: dt.date | None
    hits: tuple[Hit, ...]
    note: str | None = None
    has_more: bool = False
    suggestion: str | None = None  # the question respelt, when the note suggests it ("Did you mean …")

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "hits": [h.to_json() for h in self.hits],
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Story:
    """One article in a list of the latest stories."""

    title: str
    date: dt.date | None
    source: str | None
    url: str | None
    path: str
    lead: str
    article_id: int = 0
    key: int = 0  # the article's text hash, as a number: same-day stories are listed by it

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "source": self.source,
            "url": self.url,
            "path": self.path,
            "lead": self.lead,
        }


class Stories(list[Story]):
    """The latest stories, newest first, with a note when part of the archive could not be read."""

    def __init__(self, items: Iterable[Story] = (), note: str | None = None) -> None:
        super().__init__(items)
        self.note = note


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(slots=True)
class IndexReport:
    """What one reindex did."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    articles: int = 0
    paragraphs: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    generation: int = 0
    published: bool = False
    added_article_ids: list[int] = field(default_factory=list)
    retokenized: int = 0  # stored paragraphs tokenized again (the tokenizer's settings changed)

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.retokenized)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        del data["added_article_ids"]
        return data


@dataclass(frozen=True, slots=True)
class Stats:
    """A summary of the store for ``/stats`` and ``newsbot stats``."""

    articles: int
    paragraphs: int
    newest: dt.date | None
    built_at: dt.datetime | None
    generation: int
    questions: int
    unanswered: int
    top_unanswered: tuple[tuple[str, int], ...]
    feedback_up: int
    feedback_down: int
    note: str | None = None  # what the figures leave out (a cluster's shard that did not answer)


@dataclass(frozen=True, slots=True)
class Follow:
    """A server's follow: new stories (about ``topic``, when set) are posted in ``channel_id``."""

    guild_id: int
    channel_id: int
    topic: str | None
    created_at: str
    since_seq: int


@dataclass(frozen=True, slots=True)
class Announcement:
    """New stories for one follow, newest first; ``more`` matched too but are over the cap."""

    follow: Follow
    stories: tuple[Story, ...]
    more: int = 0
