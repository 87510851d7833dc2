"""Core values (Answer, Story, IndexReport, Stats) → Discord message parts, within Discord's limits.

Everything that comes from an article or a user is escaped (markdown and mentions) before it is shown;
only the bold marks around matched words are real markdown. Nothing here talks to Discord.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import discord

from newsbot.index.ingest.parse import utf8
from newsbot.index.model import Answer, Excerpt, Hit, Story

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000

QUESTION_SHOWN = 300  # characters of a question echoed back
COLOUR = discord.Colour(0x2B6CB0)
ELLIPSIS = "…"
NO_PINGS = discord.AllowedMentions.none()
ZWSP = "\u200b"

# Discord renders these as mentions (or channel links); a zero-width space after "@"/"#" stops that.
_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")
_TRAILING_AT = re.compile(r"[@#]$|<[@#][!&]?$")


def escape_mentions(text: str) -> str:
    """``@everyone``, ``@here``, ``<@123>``, ``<@!123>``, ``<@&456>`` and ``<#789>`` shown as plain text.

    Lone surrogates, which Discord's UTF-8 JSON cannot carry, become U+FFFD.
    """
    text = utf8(text)

    def defuse(m: re.Match[str]) -> str:
        if m.group(1):
            return "@" + ZWSP + m.group(1)
        return "<" + m.group(2) + ZWSP + m.group(3) + ">"

    text = _MENTION.sub(defuse, text)
    # An excerpt is escaped in pieces (the marks split it); a piece ending in "@" or "<@" could join
    # the next piece into a mention, so break it here too.
    return _TRAILING_AT.sub(lambda m: m.group(0) + ZWSP, text)


def escape(text: str) -> str:
    """Article or user text made safe to show: no markdown, no mentions."""
    return discord.utils.escape_markdown(escape_mentions(text))


def plain(text: str) -> str:
    """For places where Discord renders no markdown (footers): only defuse mentions."""
    return escape_mentions(text)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut (never a dangling backslash)."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + ELLIPSIS


def fit(raw: str, limit: int, escaper: Callable[[str], str] = escape) -> str:
    """``raw`` escaped and shortened (before escaping, so no escape is cut in half) to ``limit``."""
    out = escaper(raw)
    while len(out) > limit and raw:
        raw = raw[: max(0, len(raw) - (len(out) - limit) - 1)]
        out = escaper(raw) + ELLIPSIS
    return out if len(out) <= limit else clip(out, limit)


def render_excerpt(excerpt: Excerpt, limit: int) -> str:
    """The excerpt with matched words in bold, shortened (keeping the marks balanced) to ``limit``."""
    out = excerpt.render(open_mark="**", close_mark="**", escape=escape)
    text = excerpt.text
    while len(out) > limit and text:
        text = text[: max(0, len(text) - (len(out) - limit) - 1)]
        marks = tuple((s, min(e, len(text))) for s, e in excerpt.marks if s < len(text))
        out = Excerpt(text, marks, excerpt.cut_start, True).render("**", "**", escape)
    return out if len(out) <= limit else clip(excerpt.render(escape=escape), limit)


BUTTON_LABEL_LIMIT = 80


def suggestion_label(suggestion: str) -> str:
    """The label of the button that asks the respelt question (plain text: labels show no markdown)."""
    return clip(" ".join(f"Search: {suggestion}".split()), BUTTON_LABEL_LIMIT)


def safe_url(url: str | None) -> str | None:
    """A URL Discord accepts for an embed link, or None."""
    if (
        url
        and url.startswith(("https://", "http://"))
        and len(url) <= 2048
        and not any(c.isspace() for c in url)
    ):
        return url
    return None


def day(date: dt.date | None) -> str:
    return date.isoformat() if date else "undated"


@dataclass
class MessageParts:
    """What to send: content and embeds, already within limits."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)


def budget(fixed: int, count: int, total: int = EMBED_TOTAL_LIMIT, each: int = DESCRIPTION_LIMIT) -> int:
    """Characters each of ``count`` descriptions may use when the rest of the embeds take ``fixed``."""
    if count <= 0:
        return each
    return max(0, min(each, (total - fixed) // count))


# ---------------------------------------------------------------------------------------------- answers


def question_line(question: str, *, first: int = 0, last: int = 0) -> str:
    shown = fit(" ".join(question.split()), QUESTION_SHOWN)
    where = f" — passages {first}–{last}" if first > 1 else ""
    return clip(f"**Q:** {shown}{where}", CONTENT_LIMIT)


def _hit_embed(hit: Hit, description: str) -> discord.Embed:
    embed = discord.Embed(
        title=fit(hit.title or hit.path, TITLE_LIMIT),
        url=safe_url(hit.url),
        description=description,
        colour=COLOUR,
    )
    footer = " · ".join(p for p in (day(hit.date), hit.source, f"{hit.path} {hit.place}") if p)
    embed.set_footer(text=clip(plain(footer), FOOTER_LIMIT))
    return embed


def answer_message(answer: Answer, *, offset: int = 0) -> MessageParts:
    """The cited passages of ``answer``, under its note if it has one (alone when there are none)."""
    hits = list(answer.hits[:EMBEDS_PER_MESSAGE])
    if not hits:
        return no_answer_message(answer, more=offset > 0)
    content = question_line(answer.question, first=offset + 1, last=offset + len(hits))
    if answer.note:
        content = clip(f"{content}\n*{fit(answer.note, 500)}*", CONTENT_LIMIT)
    fixed = sum(len(_hit_embed(h, "")) for h in hits)
    each = budget(fixed, len(hits))
    embeds = [_hit_embed(h, render_excerpt(h.excerpt, each)) for h in hits]
    return MessageParts(content=content, embeds=embeds)


def no_answer_message(answer: Answer, *, more: bool = False) -> MessageParts:
    if more:
        note = "There are no more passages for this question."
    else:
        note = answer.note or "I found nothing about that in the stored news."
    description = fit(note, 1000)
    embed = discord.Embed(
        title="No good answer", description=clip(description, DESCRIPTION_LIMIT), colour=COLOUR
    )
    return MessageParts(content=question_line(answer.question), embeds=[embed])


def _fits(raw: str, limit: int) -> int:
    """The longest prefix of ``raw`` (in characters) whose escaped form fits in ``limit``."""
    lo, hi = 0, min(len(raw), limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(escape(raw[:mid])) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _split(text: str, limit: int) -> list[str]:
    """``text`` escaped, in pieces of at most ``limit`` characters, cut at spaces where possible."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        n = _fits(rest, limit)
        if n < len(rest):
            space = rest.rfind(" ", 0, n)
            if space > n // 2:
                n = space + 1
        n = max(n, 1)
        pieces.append(escape(rest[:n].strip()) or ZWSP)
        rest = rest[n:].lstrip()
    return pieces


def pack(embeds: Iterable[discord.Embed]) -> list[list[discord.Embed]]:
    """Embeds grouped into messages of at most 10 embeds and 6,000 characters."""
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        n = len(embed)
        if current and (len(current) >= EMBEDS_PER_MESSAGE or size + n > EMBED_TOTAL_LIMIT):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += n
    if current:
        messages.append(current)
    return messages


FULL_TEXT_CHARS = 12_000  # characters of a paragraph shown by "Full paragraph", at most


def paragraph_messages(hits: Sequence[Hit]) -> list[MessageParts]:
    """The whole paragraph of each hit (its first ``FULL_TEXT_CHARS`` when longer, the footer saying
    so), split over embeds and messages as the limits require."""
    embeds: list[discord.Embed] = []
    for hit in hits:
        title = fit(hit.title or hit.path, TITLE_LIMIT)
        text, where = hit.text, f"{day(hit.date)} · {hit.path} {hit.place}"
        if len(text) > FULL_TEXT_CHARS:
            space = text.rfind(" ", FULL_TEXT_CHARS // 2, FULL_TEXT_CHARS)
            text = text[: space if space > 0 else FULL_TEXT_CHARS].rstrip() + ELLIPSIS
            where += f" · its first {len(text) - 1:,} of {len(hit.text):,} characters"
        footer = clip(plain(where), FOOTER_LIMIT)
        room = EMBED_TOTAL_LIMIT - len(title) - len(footer)
        chunks = _split(text, min(DESCRIPTION_LIMIT, room)) or [""]
        for i, chunk in enumerate(chunks):
            embed = discord.Embed(
                title=title if i == 0 else None,
                url=safe_url(hit.url) if i == 0 else None,
                description=chunk or None,
                colour=COLOUR,
            )
            if i == len(chunks) - 1:
                embed.set_footer(text=footer)
            embeds.append(embed)
    return [MessageParts(embeds=group) for group in pack(embeds)] or [
        MessageParts(content="Nothing to show.")
    ]


# ---------------------------------------------------------------------------------------------- latest


LEAD_LIMIT = 600  # characters of a story's first lines, at most


def about(topic: str | None) -> str:
    return f" about {fit(topic, 200)}" if topic else ""


def story_embed(story: Story, lead: str) -> discord.Embed:
    """Title as a link, the first lines, then date · source · file."""
    embed = discord.Embed(
        title=fit(story.title or story.path, TITLE_LIMIT),
        url=safe_url(story.url),
        description=lead or None,
        colour=COLOUR,
    )
    footer = " · ".join(p for p in (day(story.date), story.source, story.path) if p)
    embed.set_footer(text=clip(plain(footer), FOOTER_LIMIT))
    return embed


def story_embeds(stories: Sequence[Story]) -> list[discord.Embed]:
    """One embed per story, the first lines sharing what room the message has left."""
    fixed = sum(len(story_embed(s, "")) for s in stories)
    each = budget(fixed, len(stories), each=LEAD_LIMIT)
    return [story_embed(s, fit(s.lead, each) if s.lead else "") for s in stories]


def latest_message(stories: Sequence[Story], topic: str | None = None) -> MessageParts:
    """The stories as embeds, under a note when part of the archive could not be read."""
    note = getattr(stories, "note", None)
    if not stories:
        found = f"No stories found{about(topic)}."
        return MessageParts(content=clip(f"{found}\n*{fit(note, 500)}*" if note else found, CONTENT_LIMIT))
    stories = stories[:EMBEDS_PER_MESSAGE]
    embeds = story_embeds(stories)
    content = f"**Latest {len(stories)} {'story' if len(stories) == 1 else 'stories'}{about(topic)}**"
    if note:
        content = f"{content}\n*{fit(note, 500)}*"
    return MessageParts(content=clip(content, CONTENT_LIMIT), embeds=embeds)


# ---------------------------------------------------------------------------------------------- reindex
