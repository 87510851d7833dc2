"""Turn the core's answers into terminal text (with colour on a terminal) or JSON.

Everything printed comes from news files, feeds and users, so no control character or escape
sequence in it may reach the terminal: one could retitle the window, recolour the screen, move the
cursor over earlier lines, or reorder text (bidirectional overrides). ``safe`` removes them, and
every piece of text goes through it (and through rich's ``escape``) before printing.
"""

from __future__ import annotations

import json
import re

from rich.markup import escape as escape_markup

from newsbot.index.model import Answer, Hit, IndexReport, Stats, Story

# C0 controls but tab and newline (ESC, BEL, CR, backspace …), DEL and C1 controls (8-bit CSI, OSC …),
# and the invisible bidirectional marks, embeddings, overrides and isolates
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# lone surrogates: the undecodable bytes of a file name or command line (U+DC80-U+DCFF), or a JSON
# escape; no terminal encoding can carry them
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED = re.compile(f"{_UNSAFE.pattern[:-1]}\ud800-\udfff]")


def _shown(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "\ufffd"


def safe(text: str) -> str:
    """``text`` without anything a terminal would act on rather than show, and printable in UTF-8
    (an undecodable byte of a file name is shown as ``\\xff``)."""
    return _SURROGATE.sub(_shown, _UNSAFE.sub("", text))


def escape(text: str) -> str:
    """``text`` made safe for a terminal and for rich's markup."""
    return escape_markup(safe(text))


def to_json(value: object) -> str:
    """One line of JSON, readable (non-ASCII kept) but with every unsafe character and every lone
    surrogate as a \\u escape (so it prints in UTF-8 and reads back the same)."""
    line = json.dumps(value, ensure_ascii=False)
    return _ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


def _cite(title: str, date: object, source: str | None) -> str:
    bits = [f"[bold]{escape(title)}[/bold]"]
    meta = " · ".join(str(x) for x in (source, date) if x)
    if meta:
        bits.append(f"[dim]({escape(meta)})[/dim]")
    return " ".join(bits)


def hit(h: Hit) -> str:
    excerpt = h.excerpt.render(open_mark="[bold yellow]", close_mark="[/bold yellow]", escape=escape)
    where = f"{h.path} {h.place}"
    lines = [
        f"[cyan]{h.rank}.[/cyan] {_cite(h.title, h.date, h.source)}",
        f"   {excerpt}",
        f"   [dim]{escape(where)}{' · ' + escape(h.url) if h.url else ''}[/dim]",
    ]
    return "\n".join(lines)


def answer(a: Answer) -> str:
    if not a.hits:
        return f"[yellow]{escape(a.note or 'No answer.')}[/yellow]"
    out = [f"[yellow]{escape(a.note)}[/yellow]"] if a.note else []
    out += [hit(h) for h in a.hits]
    if a.has_more:
        out.append("[dim](more passages: ask again with --k, or type 'more' in the console)[/dim]")
    return "\n\n".join(out)


def stories(items: list[Story]) -> str:
    note = getattr(items, "note", None)
    if not items:
        return "[yellow]No stories match.[/yellow]" + (f"\n[yellow]{escape(note)}[/yellow]" if note else "")
    out = [f"[yellow]{escape(note)}[/yellow]"] if note else []
    for i, s in enumerate(items, start=1):
        out.append(f"[cyan]{i}.[/cyan] {_cite(s.title, s.date, s.source)}")
        if s.lead:
            out.append(f"   {escape(s.lead)}")
        out.append(f"   [dim]{escape(s.path)}{' · ' + escape(s.url) if s.url else ''}[/dim]")
    return "\n".join(out)


def report(r: IndexReport) -> str:
    lines = [
        f"[bold]{'Published' if r.published else 'Not published'}[/bold] generation {r.generation}"
        f" in {r.seconds:.2f} s: {r.articles:,} articles, {r.paragraphs:,} paragraphs.",
        f"Files: {r.added:,} added, {r.changed:,} changed, {r.removed:,} removed, {r.unchanged:,} unchanged"
        f"{f', {r.duplicates:,} duplicate(s) of stored articles' if r.duplicates else ''}.",
    ]
    if r.retokenized:
        lines.append(f"Tokenizer changed: {r.retokenized:,} stored paragraphs read again.")
    if r.skipped:
        lines.append(f"[yellow]Skipped {len(r.skipped):,} file(s):[/yellow]")
        lines += [f"  {escape(s.path)}: {escape(s.reason)}" for s in r.skipped[:50]]
        if len(r.skipped) > 50:
            lines.append(f"  … and {len(r.skipped) - 50:,} more (use --json for all)")
    if r.warnings:
        lines.append(f"[yellow]Warnings for {len(r.warnings):,} file(s) (indexed anyway):[/yellow]")
        lines += [f"  {escape(s.path)}: {escape(s.reason)}" for s in r.warnings[:20]]
    return "\n".join(lines)


def stats(s: Stats) -> str:
    lines = [
        f"Articles: {s.articles:,}   paragraphs: {s.paragraphs:,}   generation: {s.generation}",
        f"Newest article: {s.newest or '—'}   index built: {s.built_at or '—'}",
        f"Questions: {s.questions:,} ({s.unanswered:,} without a good answer)",
        f"Feedback: {s.feedback_up:,} 👍  {s.feedback_down:,} 👎",
    ]
    if s.top_unanswered:
        lines.append("Most asked without a good answer:")
        lines += [f"  {n}× {escape(q)}" for q, n in s.top_unanswered]
    if s.note:
        lines.append(f"[yellow]{escape(s.note)}[/yellow]")
    return "\n".join(lines)
