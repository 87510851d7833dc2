"""Planning a reindex: from what the store holds and what the folders hold, what to read, keep and
drop, and then every row to write.

No database and no files here (the orchestrator, ``indexer.py``, reads both and writes what the plan
says), so each decision can be tested on a few literal rows. The rules:

- A file whose stamp (size, mtime, metadata row) is unchanged is not read again.
- A file gone from a folder this run scanned is dropped; one under a folder that is missing, could
  not be listed, or was not scanned this run (another process may index it) is kept.
- An article is stored once, however many files hold it (its text hash names it); a file read again
  gets a new row pointing at the article, which keeps its id if its text did not change.
- An article's title, text, date, source and link are those of its citing copy, the one with the
  lowest path (``citations.py``); they are set again when that copy changes or another takes its place.
- Term ids are never reused, so a reader still on the previous generation cannot mistake one term
  for another.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from newsbot.index.ingest.citations import Citations, StoredArticle, citations, records_by_key
from newsbot.index.ingest.junk import START, junk_flag
from newsbot.index.ingest.sources import Record, SourceFile
from newsbot.index.tokenizer import Tokenizer

Key = tuple[str, str]  # (root, rel): where one article was read, a file or a line of a JSONL file
TOKENIZE_BATCH = 256  # articles tokenized at a time

# the rows a plan writes, in the columns of their statements (indexer.py)
# (id, text_hash, title, date, source, url, title_terms, paragraphs, indexed_at)
NewArticle = tuple[int, str, str, str | None, str | None, str | None, bytes, int, str]
NewParagraph = tuple[int, int, int, str, bytes, int]  # (id, article_id, position, text, terms, flags)
# (title, date, source, url, title_terms, paragraphs, id) of an article stored: its citing copy's
Update = tuple[str, str | None, str | None, str | None, bytes, int, int]
NewFile = tuple[str, str, str, str, str, int]  # (root, rel, unit, stamp, content_hash, article_id)


@dataclass(frozen=True, slots=True)
class FileRow:
    """What the store knows of one article's file."""

    unit: str  # the file read, relative to the root (``rel`` without a JSONL line number)
    stamp: str
    content_hash: str
    article_id: int


@dataclass(slots=True)
class Changes:
    """What changed on disk since the stored rows were written."""

    to_read: list[SourceFile] = field(default_factory=list)  # new or changed files
    keep: set[Key] = field(default_factory=set)  # stored rows that stay as they are
    gone: list[Key] = field(default_factory=list)  # stored rows whose files are gone
    drop: list[Key] = field(default_factory=list)  # stored rows to delete: of files gone or read again
    # the articles of those rows: each left with no file row once the new rows are in is deleted
    orphans: set[int] = field(default_factory=set)
    listed: dict[Key, SourceFile] = field(default_factory=dict)  # every file found, by (root, rel)


def compare(
    old: dict[Key, FileRow],
    sources: list[SourceFile],
    scanned: set[str],
    blocked: tuple[str, ...],
    elsewhere: dict[Key, str] | None = None,
) -> Changes:
    """Compare the stored file rows ``old`` with the files found, ``sources``.

    ``scanned``: the roots this run looked through completely; ``blocked``: folders (each ending in
    ``/``) that could not be listed, whose files are unknown rather than gone; ``elsewhere``: a
    shard's files, by stamp, whose articles are all other shards' (not read again unless changed).
    """
    out = Changes(listed={(s.root, s.rel): s for s in sources})
    by_unit: dict[Key, list[Key]] = {}
    for key, row in old.items():
        by_unit.setdefault((key[0], row.unit), []).append(key)
    for src in sources:
        keys = by_unit.get((src.root, src.rel), [])
        if not keys and elsewhere and elsewhere.get((src.root, src.rel)) == src.stamp:
            continue  # another shard's articles, unchanged
        if keys and all(old[k].stamp == src.stamp for k in keys):
            out.keep.update(keys)
        else:
            out.to_read.append(src)
    found = {(s.root, s.rel) for s in sources}
    for key, row in old.items():
        if (key[0], row.unit) in found:
            continue
        unlisted = f"{key[0]}/{row.unit}".startswith(blocked)
        if key[0] in scanned and not unlisted:
            out.gone.append(key)
        else:
            # another folder (indexed by another run or process), or one missing or unreadable
            # this time: keep its articles rather than lose them
            out.keep.add(key)
    reread = {(s.root, s.rel) for s in out.to_read}
    out.drop = [k for k, r in old.items() if (k[0], r.unit) in reread] + out.gone
    out.orphans = {old[key].article_id for key in out.drop}
    return out


@dataclass(slots=True)
class WriteState:
    """What planning needs to know of the store: the ids in use and the vocabulary."""

    vocab: dict[str, int]
    by_hash: dict[str, int]  # article id by text hash
    next_article: int
    next_paragraph: int
    term_offset: int = 0

    def __post_init__(self) -> None:
        # new term ids continue after the largest in use (ids are never reused)
        self.term_offset = (max(self.vocab.values()) + 1 - len(self.vocab)) if self.vocab else 0

    def encode(self, tokens: list[list[str]], new_terms: list[tuple[int, str]]) -> list[bytes]:
        """Each token list as its term ids (4 bytes each); words not seen before get new ids, and
        their ``(id, term)`` pairs are added to ``new_terms``."""
        vocab = self.vocab
        for term in {t for toks in tokens for t in toks}.difference(vocab):
            vocab[term] = len(vocab) + self.term_offset
            new_terms.append((vocab[term], term))
        return [array("I", map(vocab.__getitem__, toks)).tobytes() for toks in tokens]


@dataclass(slots=True)
class Plan:
    """The rows one reindex writes, and what it counts for the report."""

    seen: set[Key] = field(default_factory=set)  # every article read in this run
    terms: list[tuple[int, str]] = field(default_factory=list)  # (id, term)
    articles: list[NewArticle] = field(default_factory=list)
    paragraphs: list[NewParagraph] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    rewritten: list[int] = field(default_factory=list)  # articles whose paragraphs are written anew
    files: list[NewFile] = field(default_factory=list)
    added: int = 0  # articles read from files the store did not know
    changed: int = 0  # ... from files whose bytes changed
    unchanged: int = 0  # ... from files touched but not changed
    duplicates: int = 0  # new files holding an article already stored
    added_article_ids: list[int] = field(default_factory=list)


def plan_rows(
    records: list[tuple[SourceFile, list[Record]]],
    old: dict[Key, FileRow],
    orphans: set[int],
    state: WriteState,
    tokenizer: Tokenizer,
    indexed_at: str,
    *,
    dropped: Collection[Key] = (),
    cites: Citations | None = None,
    stored: dict[int, StoredArticle] | None = None,
) -> Plan:
    """Decide every row to write for the articles read, and tokenize the new ones (CPU work: run it
    off the event loop). ``state`` is updated: the ids and terms the plan uses are taken.

    ``dropped``: the stored rows this run deletes; ``cites``: the citing copies to apply (computed
    from the other arguments when not given); ``stored``: what the store holds of the existing
    articles among them (an article not in it is written whole).
    """
    out = Plan()
    if cites is None:
        cites = citations(records, old, dropped, state.by_hash)
    new_ids: dict[str, int] = {}
    for src, recs in records:
        for rec in recs:
            key = (src.root, rec.rel)
            if key in out.seen:
                continue
            out.seen.add(key)
            article_id = state.by_hash.get(rec.text_hash)
            if article_id is None:
                article_id = state.next_article
                state.next_article += 1
                state.by_hash[rec.text_hash] = new_ids[rec.text_hash] = article_id
                out.added_article_ids.append(article_id)
            elif article_id not in orphans and key not in old:
                out.duplicates += 1
            out.files.append((src.root, rec.rel, src.rel, src.stamp, rec.content_hash, article_id))
            prior = old.get(key)
            if prior is None:
                out.added += 1
            elif prior.content_hash != rec.content_hash:
                out.changed += 1
            else:
                out.unchanged += 1
    read = records_by_key(records)
    fresh = sorted((new_ids[h], read[key]) for h, key in cites.winners.items() if isinstance(h, str))
    for i in range(0, len(fresh), TOKENIZE_BATCH):
        _new_articles(tokenizer, fresh[i : i + TOKENIZE_BATCH], state, out, indexed_at)
    for article_id in cites.existing():
        _recite(
            tokenizer, article_id, read[cites.winners[article_id]], (stored or {}).get(article_id), state, out
        )
    return out


def _tokens(tokenizer: Tokenizer, recs: list[Record]) -> list[list[str]]:
    """The terms of each record's title and paragraphs, in order (a worker process's, when it sent them)."""
    if all(rec.terms is not None for rec in recs):
        return [t.split("\x00") if t else [] for rec in recs for t in rec.terms or ()]
    texts: list[str] = []
    for rec in recs:
        texts.append(rec.article.title)
        texts.extend(rec.article.paragraphs)
    return tokenizer.tokens_many(texts)


def _paragraph_rows(
    article_id: int, paragraphs: list[str], ids: Iterator[bytes], state: WriteState, out: Plan
) -> None:
    for position, text in enumerate(paragraphs):
        terms = next(ids)
        flags = junk_flag(text[:START], len(text), len(terms) // 4)
        out.paragraphs.append((state.next_paragraph, article_id, position, text, terms, flags))
        state.next_paragraph += 1


def _new_articles(
    tokenizer: Tokenizer, batch: list[tuple[int, Record]], state: WriteState, out: Plan, indexed_at: str
) -> None:
    """The article and paragraph rows of new articles, their terms given ids."""
    ids = iter(state.encode(_tokens(tokenizer, [rec for _, rec in batch]), out.terms))
    for article_id, rec in batch:
        art = rec.article
        day = art.date.isoformat() if art.date else None
        title_terms = next(ids)
        out.articles.append(
            (
                article_id,
                rec.text_hash,
                art.title,
                day,
                art.source,
                art.url,
                title_terms,
                len(art.paragraphs),
                indexed_at,
            )
        )
        _paragraph_rows(article_id, art.paragraphs, ids, state, out)


def _recite(
    tokenizer: Tokenizer,
    article_id: int,
    rec: Record,
    stored: StoredArticle | None,
    state: WriteState,
    out: Plan,
) -> None:
    """Give a stored article the values of its citing copy ``rec``: what differs is written."""
    art = rec.article
    day = art.date.isoformat() if art.date else None
    same_text = stored is not None and stored.paragraphs == tuple(art.paragraphs)
    if (
        stored is not None
        and same_text
        and (stored.title, stored.date, stored.source, stored.url)
        == (
            art.title,
            day,
            art.source,
            art.url,
        )
    ):
        return
    if same_text:  # only the title's terms are needed
        title = (
            [rec.terms[0].split("\x00") if rec.terms[0] else []]
            if rec.terms
            else tokenizer.tokens_many([art.title])
        )
        ids = iter(state.encode(title, out.terms))
    else:
        ids = iter(state.encode(_tokens(tokenizer, [rec]), out.terms))
    out.updates.append((art.title, day, art.source, art.url, next(ids), len(art.paragraphs), article_id))
    if not same_text:  # the copies differ in letter case (the text hash is of the case-folded text)
        out.rewritten.append(article_id)
        _paragraph_rows(article_id, art.paragraphs, ids, state, out)
