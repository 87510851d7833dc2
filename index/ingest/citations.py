"""Which file an article told twice is cited from: one rule, so that incremental equals from scratch.

The same article (one text hash) may be in several files, each with its own date, source and link.
The article row takes its title, text, date, source and link from one of them, its *citing copy*:
the copy with the lowest path (``rel``, then ``root``), which is also the path a citation shows
(``ORDER BY rel LIMIT 1`` in the store's queries). So everything a citation says belongs to one file
that exists, and when that copy changes or goes away the next one's values are taken, as a build
from scratch would take them.

This module is pure: from the stored file rows, the rows this run drops and the records it read, it
says which articles must take their values from which record, and which kept files must be read
again because their copy became the citing one (:attr:`Citations.missing`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from newsbot.index.ingest.sources import Record, SourceFile

if TYPE_CHECKING:
    from newsbot.index.ingest.plan import Changes, FileRow, Key

RULE = "1"  # saved in the store (meta "citations"): an older store is brought in line once


def order(key: Key) -> tuple[str, str]:
    """The citing copy is the least of an article's rows in this order."""
    return key[1], key[0]


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """What the store holds of an article, to compare with its citing copy."""

    title: str
    date: str | None
    source: str | None
    url: str | None
    paragraphs: tuple[str, ...]


@dataclass(slots=True)
class Citations:
    """The citing copy of each article whose values this run must (re)set.

    ``winners`` maps an existing article's id, or a new article's text hash, to the key of its citing
    copy among the records read; ``missing`` lists the files (``(root, unit)``) that hold a citing copy
    that was not read.
    """

    winners: dict[int | str, Key] = field(default_factory=dict)
    missing: set[tuple[str, str]] = field(default_factory=set)

    def existing(self) -> list[int]:
        """The stored articles that take values from a record."""
        return sorted(a for a in self.winners if isinstance(a, int))


def records_by_key(records: Iterable[tuple[SourceFile, list[Record]]]) -> dict[Key, Record]:
    """Each article read, by key; a key read twice counts once (the first)."""
    out: dict[Key, Record] = {}
    for src, recs in records:
        for rec in recs:
            out.setdefault((src.root, rec.rel), rec)
    return out


def citations(
    records: Iterable[tuple[SourceFile, list[Record]]],
    old: dict[Key, FileRow],
    dropped: Collection[Key],
    by_hash: dict[str, int],
    force: Collection[int] = (),
) -> Citations:
    """The citing copies to apply, for the articles whose rows this run changes.

    ``dropped``: the stored rows deleted this run (files gone or read again); ``by_hash``: the stored
    articles' ids by text hash (before this run adds any); ``force``: articles whose stored values are
    not trusted to be their citing copy's (a store written before this rule).
    """
    read = records_by_key(records)
    new_rows: dict[int | str, list[Key]] = {}
    for key, record in read.items():
        text_hash = record.text_hash
        new_rows.setdefault(by_hash.get(text_hash, text_hash), []).append(key)
    out = Citations()
    for ident, keys in new_rows.items():
        if isinstance(ident, str):  # a new article: its citing copy is among the records
            out.winners[ident] = min(keys, key=order)
    drop = dropped if isinstance(dropped, set | frozenset) else set(dropped)
    touched = {i for i in new_rows if isinstance(i, int)} | {old[k].article_id for k in drop if k in old}
    touched |= set(force)
    before: dict[int, list[Key]] = {}
    for key, row in old.items():
        if row.article_id in touched:
            before.setdefault(row.article_id, []).append(key)
    for article in sorted(touched):
        stored = before.get(article, [])
        new = new_rows.get(article, [])
        # the usual case first: an article of one file, read again unchanged
        unchanged = new == stored and len(new) == 1 and read[new[0]].content_hash == old[new[0]].content_hash
        if unchanged and article not in force:
            continue
        # the rows kept, and those read (all rows of a file read are dropped, so none is both)
        final = [k for k in stored if k not in drop] + new
        if not final:
            continue  # no copy left: the article is deleted
        winner = min(final, key=order)
        rec = read.get(winner)
        same_copy = article not in force and bool(stored) and winner == min(stored, key=order)
        if same_copy and (rec is None or rec.content_hash == old[winner].content_hash):
            continue  # the same copy, unchanged: the stored values are its
        if rec is None:
            out.missing.add((winner[0], old[winner].unit))
        else:
            out.winners[article] = winner
    return out


def reread(found: Changes, old: dict[Key, FileRow], extra: list[SourceFile]) -> None:
    """Add files kept as they were to those read this run (their copies became citing ones)."""
    units = {(s.root, s.rel) for s in extra}
    dropped = set(found.drop)
    keys = [k for k, row in old.items() if (k[0], row.unit) in units and k not in dropped]
    found.to_read.extend(extra)
    found.keep.difference_update(keys)
    found.drop.extend(keys)
    found.orphans.update(old[k].article_id for k in keys)
