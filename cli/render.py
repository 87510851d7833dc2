"""Turn the core's answers into terminal text (with colour on a terminal) or JSON."""

from __future__ import annotations

from rich.markup import escape

from newsbot.index.model import Answer, Hit, IndexReport, Stats, Story


def _cite(title: str, date: object, source: str | None) -> str:
    bits = [f"[bold]{escape(title)}[/bold]"]
    meta = " · ".join(str(x) for x in (source, date) if x)
    if meta:
        bits.append(f"[dim]({escape(meta)})[/dim]")
    return " ".join(bits)


def hit(h: Hit) -> str:
    excerpt = h.excerpt.render(open_mark="\x01", close_mark="\x02")
    excerpt = escape(excerpt).replace("\x01", "[bold yellow]").replace("\x02", "[/bold yellow]")
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
    if not items:
        return "[yellow]No stories match.[/yellow]"
    out = []
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
    return "\n".join(lines)
