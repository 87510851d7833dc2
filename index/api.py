"""The public face of the core: open an index, ask it, list the latest, reindex it.

The CLI and the Discord bot use only this module (and the values in :mod:`index.model`).
Heavy work (scoring, reindexing) runs off the event loop, so an adapter can await these methods
from its loop without stalling it. Each question is answered from the generation that was current
when it arrived; a reindex publishes a new one that the next question picks up.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from newsbot.index import generation
from newsbot.index.answer import spelling
from newsbot.index.answer.answer_type import wants_number
from newsbot.index.answer.dates import DateQuery, parse_date_range, strip_phrases
from newsbot.index.answer.diversity import Pick, Picker
from newsbot.index.answer.excerpt import make_excerpt
from newsbot.index.config import Settings
from newsbot.index.errors import IndexBusyError, NewsbotError, NoIndexError, StoreError
from newsbot.index.generation import Generation
from newsbot.index.ingest import indexer
from newsbot.index.ingest.parse import utf8
from newsbot.index.layout import FLAG_HEADLINE
from newsbot.index.model import Answer, Excerpt, Hit, IndexReport, Stats, Story
from newsbot.index.ranking import compiled as compiled_ranking
from newsbot.index.ranking.bm25 import BM25Params
from newsbot.index.ranking.search import RankParams, Window, article_matches, rank
from newsbot.index.store import stories
from newsbot.index.store.database import Store
from newsbot.index.store.follows import Announcement, Follow, FollowBook
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage is "scan", "parse", "retokenize" (the tokenizer changed),
"store" or "build"; total may be 0."""

MAX_QUESTION_CHARS = 2000
MAX_TOPIC_CHARS = 200
ROWS_AT_ONCE = 200  # paragraph rows fetched by one query


T = TypeVar("T")


def search_window(
    dates: DateQuery, as_of: dt.date | None, today: dt.date, slack_days: float, *, numbers: bool = False
) -> Window:
    """How the dates of a question limit the search (and ``numbers``: whether it asks for one).

    Phrases that set a search range ("since October", "before 2021-03-01", "in the last 2 weeks")
    filter; phrases that say when something happened ("this week", "on Monday", "in 2020") only
    prefer articles from then, widened by ``slack_days`` on each side, because news about an
    event is often published days later (and about a year, the year after). Articles dated after
    ``as_of`` are never seen.
    """
    hard = dates.ranged
    since, until = (dates.since, dates.until) if hard else (None, None)
    if as_of is not None:
        until = min(until, as_of) if until else as_of
    prefer: tuple[dt.date, dt.date] | None = None
    if not hard and dates.narrows:
        slack = dt.timedelta(days=slack_days)
        prefer = ((dates.since or dt.date.min + slack) - slack, (dates.until or dt.date.max - slack) + slack)
    return Window(since=since, until=until, now=until or today, prefer=prefer, numbers=numbers)


def ranking_for(settings: Settings) -> RankParams:
    """The ranking weights the settings choose (the rest are RankParams' defaults)."""
    return settings.rank_params()


class NewsIndex:
    """An open news index. Cheap to query concurrently; one reindex at a time."""

    def __init__(self, settings: Settings, store: Store, rank_params: RankParams | None = None) -> None:
        self.settings = settings
        self.rank_params = rank_params or ranking_for(settings)
        self.store = store
        self.log_store: Store | None = None  # the question log's own connection (see open())
        self.database = settings.database
        self.generation: Generation | None = None
        self.tokenizer = Tokenizer(self._wanted_spec())
        self._data_version: int | None = None
        self._reindex_task: asyncio.Task[IndexReport] | None = None
        self._refresh_lock = asyncio.Lock()
        self._follows: FollowBook | None = None  # opened on first use, on its own connection

    # --- opening and closing ---------------------------------------------------------------
    @classmethod
    async def open(
        cls, settings: Settings, rank_params: RankParams | None = None, *, compiled: bool | None = None
    ) -> NewsIndex:
        """Open (creating if needed) the database named in ``settings.store.database``.

        ``rank_params`` overrides the ranking features (for evaluation and tuning). ``compiled``
        (default: ``settings.index.compiled``) starts loading the compiled ranking in the
        background; one-shot commands pass False rather than wait for it at exit.
        """
        if settings.index.compiled if compiled is None else compiled:
            compiled_ranking.start()
        database = settings.database
        if not database.parent.exists():
            database.parent.mkdir(parents=True, exist_ok=True)
        store = await Store.open(database)
        try:
            index = cls(settings, store, rank_params)
        except BaseException:
            await store.close()
            raise
        try:
            # Writes to the question log get a connection of their own: on the reading connection an
            # insert that overlaps a read while a reindex holds the write lock fails at once (SQLite
            # refuses to upgrade a read transaction rather than deadlock), and waits would stall reads.
            index.log_store = await Store.open(database, migrate=False)
            await index.refresh(force=True)
            await index._sweep()
        except BaseException:
            await index.close()
            raise
        return index

    async def _sweep(self) -> None:
        """Delete what an interrupted reindex left on disk (an unfinished or unpublished generation).

        Only when no reindex is running (it holds the writer's lock, and cleans up after itself).
        """
        try:
            with indexer.writer_lock(self.database):
                current = int(await self.store.get_meta("generation") or 0)
                await asyncio.to_thread(generation.cleanup, self.database, current)
        except (NewsbotError, OSError, sqlite3.Error):
            pass  # a reindex is running, or the folder is read-only: the next reindex cleans up

    async def close(self) -> None:
        if self._reindex_task is not None and not self._reindex_task.done():
            self._reindex_task.cancel()
        if self.log_store is not None:
            await self.log_store.close()
        if self._follows is not None:
            await self._follows.close()
        await self.store.close()

    async def __aenter__(self) -> NewsIndex:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _wanted_spec(self) -> TokenizerSpec:
        s = self.settings.index
        return TokenizerSpec(language=s.language, stem=s.stem, stopwords=s.stopwords)

    def _bm25(self) -> BM25Params:
        return self.settings.bm25()

    async def refresh(self, force: bool = False) -> None:
        """Load the current generation if another connection published a new one."""
        async with self._refresh_lock:
            version = int(await self.store.scalar("PRAGMA data_version"))
            if not force and version == self._data_version and self.generation is not None:
                return
            self._data_version = version
            number = int(await self.store.get_meta("generation") or 0)
            if number == 0 or (self.generation is not None and self.generation.number == number):
                return
            spec = await self.store.get_meta("tokenizer")
            gen = await asyncio.to_thread(Generation.load, self.database, number)
            if spec:
                self.tokenizer = Tokenizer(TokenizerSpec.from_json(spec))
            self.generation = gen

    @property
    def is_empty(self) -> bool:
        """True until a first reindex has published something."""
        return self.generation is None

    @property
    def reindexing(self) -> bool:
        return self._reindex_task is not None and not self._reindex_task.done()

    async def _current(self) -> Generation:
        with contextlib.suppress(sqlite3.Error, OSError):  # keep serving what we have
            await self.refresh()
        if self.generation is None:
            raise NoIndexError("nothing is indexed yet: run `newsbot index` (or /reindex) first")
        return self.generation

    # --- asking ------------------------------------------------------------------------------
    async def _term_ids(self, terms: list[str]) -> dict[str, int]:
        unique = sorted(set(terms))
        if not unique:
            return {}
        marks = ",".join("?" * len(unique))
        rows = await self.store.rows(f"SELECT term, id FROM terms WHERE term IN ({marks})", unique)
        return {t: int(i) for t, i in rows}

    async def _known(self, gen: Generation, terms: list[str]) -> dict[str, int]:
        """The ids of the terms that some paragraph or title of ``gen`` holds (the terms table keeps
        the words of articles long gone)."""
        ids = await self._term_ids(terms)
        use = _use(gen, ids)
        return {t: i for t, i in ids.items() if use[t]}

    async def ask(
        self, question: str, *, k: int | None = None, as_of: dt.date | None = None, offset: int = 0
    ) -> Answer:
        """The best ``k`` passages (default ``settings.answer.passages``), skipping the first ``offset``.

        Raises NoIndexError when nothing has been indexed.
        """
        gen = await self._current()
        a = self.settings.answer
        k = max(1, min(k or a.passages, a.max_passages))
        offset = max(0, offset)
        question = utf8(question)
        text = question[:MAX_QUESTION_CHARS]
        today = as_of or dt.date.today()
        dates = parse_date_range(text, today)
        search_text = strip_phrases(text, dates)
        terms = self.tokenizer.tokens(search_text)
        known = await self._known(gen, terms)
        ids = [known[t] for t in terms if t in known]
        if not terms:
            return Answer(question, as_of, (), note=self._note_no_words(text))
        if not ids:
            note, respelt = await self._note_unknown(gen, text, terms)
            return Answer(question, as_of, (), note=note, suggestion=respelt)
        # nothing dated after "now" is seen: the as-of day, or today
        slack = self.rank_params.date_slack_days
        window = search_window(dates, today, today, slack, numbers=wants_number(text))
        limit = max(50, (offset + k) * 8)
        while True:
            ranked = await asyncio.to_thread(rank, gen, ids, window, self.rank_params, limit)
            everything = len(ranked) < limit  # nothing was cut off
            if a.min_score > 0:
                kept = [(p, s) for p, s in ranked if s > a.min_score]
                everything = everything or len(kept) < len(ranked)  # the rest scores lower still
                ranked = kept
            if not ranked:
                return Answer(question, as_of, (), note=self._note_weak(dates, as_of))
            hits, more, complete = await self._compose(gen, ranked, set(known), offset, k, everything)
            if complete:
                break
            limit *= 4  # rare: a few articles filled the ranking; look further down
        note = respelt = None
        if not hits:  # the ranking held only passages an answer does not show (a video page's form)
            note = "No more passages for this question." if offset else self._note_weak(dates, as_of)
        elif offset == 0 and (missing := [t for t in dict.fromkeys(terms) if t not in known]):
            note, respelt = await self._note_missing(gen, text, missing)
        return Answer(question, as_of, tuple(hits), note=note, has_more=more, suggestion=respelt)

    async def _compose(
        self,
        gen: Generation,
        ranked: list[tuple[int, float]],
        terms: set[str],
        offset: int,
        k: int,
        everything: bool,
    ) -> tuple[list[Hit], bool, bool]:
        """Choose the passages to show (``diversity``), then fetch, cite and excerpt them; also
        whether there are more, and whether the page is settled (else rank further and retry).

        Paragraph rows are fetched a few at a time, in rank order, until the page is full: most
        answers need only the first batch. ``everything``: ``ranked`` is the whole ranking.
        """
        para_article, art_ids, art_start, para_flags = (
            gen.para_article,
            gen.art_ids,
            gen.art_start,
            gen.para_flags,
        )
        a = self.settings.answer
        picker = Picker(want=offset + k + 1, cap=a.per_article, repeat_factor=a.repeat_factor)
        batch = max(12, 2 * (offset + k + 1))
        video_pages: set[int] = set()  # shown once, by their first paragraph (the headline)
        for lo in range(0, len(ranked), batch):
            if picker.full:
                break
            window = ranked[lo : lo + batch]
            # paragraphs are looked up by (article, position): arrays the ranking has in memory
            paras = np.array([p for p, _ in window], dtype=np.int64)
            articles = np.asarray(para_article)[paras]
            firsts = np.asarray(art_start)[articles]
            heads = (np.asarray(para_flags)[firsts] & FLAG_HEADLINE) != 0
            keys = []
            for (p, score), art, first, headline in zip(
                window, np.asarray(art_ids)[articles].tolist(), firsts.tolist(), heads.tolist(), strict=True
            ):
                if headline:  # any paragraph of a video page stands for the page, and its rest is junk
                    if first in video_pages:
                        continue
                    video_pages.add(first)
                keys.append((art, (first if headline else p) - first, score, headline))
            part = [key for key in keys if picker.room_for(key[0])]
            rows = await self._paragraph_rows([(art, pos) for art, pos, _, _ in part])
            for art, pos, score, headline in part:
                row = rows.get((art, pos))
                if row is None:  # removed by a reindex since this generation was built
                    continue
                if picker.full:
                    break
                if not picker.room_for(art):  # its article filled up earlier in this batch
                    continue
                if headline:
                    row = self._headline(row, terms)
                words = set(self.tokenizer.tokens(str(row["text"])))
                picker.offer(Pick(int(row["article_id"]), row, score, words))  # type: ignore[call-overload]
        chosen = picker.finish(everything, cut=ranked[-1][1])
        if not picker.full and not everything:
            return [], False, False
        more = len(chosen) > offset + k
        hits = []
        for rank_no, pick in enumerate(chosen[offset : offset + k], start=offset + 1):
            excerpt = make_excerpt(str(pick.row["text"]), terms, self.tokenizer, a.excerpt_chars)
            hits.append(_hit(rank_no, pick.score, pick.row, excerpt))
        return hits, more, True

    def _headline(self, row: dict[str, object], terms: set[str]) -> dict[str, object]:
        """The first paragraph of an article with nothing but junk (a video page) is shown as the
        article's headline, unless only the paragraph's own words match the question."""
        if (
            not set(self.tokenizer.tokens(str(row["title"]))) & terms
            and set(self.tokenizer.tokens(str(row["text"]))) & terms
        ):
            return row
        return {**row, "text": row["title"], "position": None}

    async def _paragraph_rows(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, object]]:
        """Paragraph rows with their article's citation, by (article id, position)."""
        names = ("id", "position", "text", "article_id", "title", "date", "source", "url", "path")
        out: dict[tuple[int, int], dict[str, object]] = {}
        # an OR of pairs is looked up in the (article_id, position) index (a row-value IN scans
        # it); SQLite allows expressions about 1,000 deep, so at most ROWS_AT_ONCE pairs a query
        for lo in range(0, len(keys), ROWS_AT_ONCE):
            part = keys[lo : lo + ROWS_AT_ONCE]
            where = " OR ".join(["(p.article_id = ? AND p.position = ?)"] * len(part))
            rows = await self.store.rows(
                "SELECT p.id, p.position, p.text, a.id, a.title, a.date, a.source, a.url,"
                " (SELECT rel FROM files f WHERE f.article_id = a.id ORDER BY rel LIMIT 1)"
                f" FROM paragraphs p JOIN articles a ON a.id = p.article_id WHERE {where}",
                [v for key in part for v in key],
            )
            out.update(((int(r[3]), int(r[1])), dict(zip(names, r, strict=True))) for r in rows)
        return out

    def _note_no_words(self, question: str) -> str:
        if not question.strip():
            return "Ask a question about the news, e.g. “what happened with the tram line?”"
        return (
            "Your question has no words to search for (only common words or symbols). "
            "Try naming a person, place or event, or see the latest stories."
        )

    async def _note_unknown(self, gen: Generation, text: str, terms: list[str]) -> tuple[str, str | None]:
        """No word of the question is in the news (``text``: the question as asked, dates and all):
        the note, and the question respelt if some of its words look misspelt."""
        words = self.tokenizer.words(text)[:8]
        listed = ", ".join(f"“{w}”" for w in words)
        fixed = await self._spellings(gen, terms)
        if fixed:
            respelt = spelling.respell(text, self.tokenizer.spans(text), fixed)
            note = (
                f"None of these words appear in the news I have: {listed}. {spelling.did_you_mean(respelt)}"
            )
            return f"{note} Or try other words.", respelt
        note = f"None of these words appear in the news I have: {listed}. "
        return note + "Check the spelling, try other words, or see the latest stories.", None

    async def _note_missing(
        self, gen: Generation, text: str, missing: list[str]
    ) -> tuple[str | None, str | None]:
        """For an answer that searched without some of the question's words: the ones that look
        misspelt, and the question spelt as the index would find it (None, None: none look misspelt)."""
        fixed = await self._spellings(gen, missing, endings=False)
        if not fixed:
            return None, None
        spans = self.tokenizer.spans(text)
        typed = {t: text[s:e] for s, e, t in reversed(spans)}  # a term's first spelling in the question
        listed = ", ".join(f"“{typed.get(t, t)}”" for t in fixed)
        respelt = spelling.respell(text, spans, fixed)
        return f"Not in the news: {listed}. {spelling.did_you_mean(respelt)}", respelt

    async def _spellings(self, gen: Generation, terms: list[str], *, endings: bool = True) -> dict[str, str]:
        """Words of the index one typing slip away from the first 8 of the question's unknown ones
        (``spelling.candidates``), by unknown term; none when the index holds stems, which nobody types."""
        if self.tokenizer.spec.stem:
            return {}
        unique = list(dict.fromkeys(terms))[:8]
        wanted = await asyncio.to_thread(lambda: {t: spelling.candidates(t, endings=endings) for t in unique})
        pool = sorted(set().union(*wanted.values()))
        ids: dict[str, int] = {}
        for lo in range(0, len(pool), 500):
            ids.update(await self._term_ids(pool[lo : lo + 500]))
        use = _use(gen, ids)
        found = {t: spelling.best({c: use[c] for c in cands if c in use}) for t, cands in wanted.items()}
        return {t: f for t, f in found.items() if f}

    def _note_weak(self, dates: object, as_of: dt.date | None) -> str:
        since = getattr(dates, "since", None)
        until = getattr(dates, "until", None)
        if since or until or as_of:
            end = min(d for d in (until, as_of) if d) if (until or as_of) else "now"
            span = f"{since or 'the start'} to {end}"
            return f"Nothing in the news from {span} matches well. Try a wider date range or other words."
        return "Nothing in the news matches well enough. Try other words, or see the latest stories."

    # --- latest ------------------------------------------------------------------------------
    async def latest(
        self,
        n: int = 5,
        *,
        topic: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[Story]:
        gen = await self._current()
        n = max(1, min(n, 25))
        where = ["1 = 1"]
        params: list[object] = []
        if since:
            where.append("a.date >= ?")
            params.append(since.isoformat())
        until = min(until, dt.date.today()) if until else dt.date.today()  # no future-dated stories
        where.append("(a.date IS NULL OR a.date <= ?)")
        params.append(until.isoformat())
        if topic and topic.strip():
            terms = self.tokenizer.tokens(utf8(topic[:MAX_QUESTION_CHARS]))
            known = await self._term_ids(terms)
            if not known:
                return []
            arts = await asyncio.to_thread(article_matches, gen, list(known.values()))
            art_ids = [int(gen.art_ids[i]) for i in arts]
            if not art_ids:
                return []
            where.append(f"a.id IN ({','.join('?' * len(art_ids))})")
            params.extend(art_ids)
        rows = await self.store.rows(
            f"{stories.SELECT} WHERE {' AND '.join(where)}"
            " ORDER BY a.date IS NULL, a.date DESC, a.id DESC LIMIT ?",
            [*params, n],
        )
        return [stories.story(r) for r in rows]

    # --- reindexing --------------------------------------------------------------------------
    async def reindex(
        self,
        folders: list[Path] | None = None,
        progress: ProgressCallback | None = None,
        *,
        forget: list[Path] | None = None,
    ) -> IndexReport:
        """Incrementally reindex ``folders`` (default: the configured ones) and publish atomically.

        With ``forget``, only those folders are touched: every article that came from them leaves
        the index (other folders are neither scanned nor changed). Raises IndexBusyError if a
        reindex is already running (in this process or another). Questions keep being answered
        from the previous generation until the new one is published.
        """
        if self.reindexing:
            raise IndexBusyError("a reindex is already running; try again when it has finished")
        scan = [] if forget else (folders or self.settings.folders)
        task = asyncio.ensure_future(
            indexer.reindex(self.database, scan, self._wanted_spec(), self._bm25(), progress, forget)
        )
        self._reindex_task = task
        try:
            report = await asyncio.shield(task)
        finally:
            if task.done():
                self._reindex_task = None
        await self.refresh(force=True)
        return report

    # --- statistics and the question log -----------------------------------------------------
    async def stats(self) -> Stats:
        s = self.store
        newest = await s.scalar("SELECT max(date) FROM articles")
        built = await s.get_meta("built_at")
        top = await s.rows(
            "SELECT question, count(*) AS n FROM questions WHERE hits = 0"
            " GROUP BY lower(question) ORDER BY n DESC, max(id) DESC LIMIT 5"
        )
        return Stats(
            articles=int(await s.scalar("SELECT count(*) FROM articles")),
            paragraphs=int(await s.scalar("SELECT count(*) FROM paragraphs")),
            newest=dt.date.fromisoformat(newest) if newest else None,
            built_at=dt.datetime.fromisoformat(built) if built else None,
            generation=self.generation.number if self.generation else 0,
            questions=int(await s.scalar("SELECT count(*) FROM questions")),
            unanswered=int(await s.scalar("SELECT count(*) FROM questions WHERE hits = 0")),
            top_unanswered=tuple((str(q), int(c)) for q, c in top),
            feedback_up=int(await s.scalar("SELECT count(*) FROM feedback WHERE value = 1")),
            feedback_down=int(await s.scalar("SELECT count(*) FROM feedback WHERE value = -1")),
        )

    async def record_question(
        self, question: str, *, user_id: int | None, guild_id: int | None, hits: int
    ) -> int:
        """Log a question; returns its id (for feedback)."""
        try:
            text = utf8(question[:MAX_QUESTION_CHARS])
            return await self._log().add_question(text, user_id, guild_id, hits)
        except sqlite3.Error as exc:
            raise self.store.error(exc) from None

    async def record_feedback(self, question_id: int, *, user_id: int, value: int) -> None:
        """Store +1 / -1 feedback on a logged question (one vote per user, last one wins)."""
        if value not in (-1, 1):
            raise NewsbotError("feedback is +1 or -1")
        try:
            await self._log().add_feedback(question_id, user_id, value)
        except sqlite3.IntegrityError:
            raise NewsbotError("that question is no longer in the log") from None
        except sqlite3.Error as exc:
            raise self.store.error(exc) from None

    def _log(self) -> Store:
        return self.log_store or self.store

    # --- following new stories (index/follow.py) ---------------------------------------------
    async def follow(self, guild_id: int, channel_id: int, topic: str | None = None) -> Follow:
        """Announce new stories (about ``topic``) in ``channel_id``; replaces the server's follow.

        Nothing indexed before this call is announced.
        """
        topic = " ".join(topic.split())[:MAX_TOPIC_CHARS] if topic else None
        if topic and not self.tokenizer.tokens(topic):
            raise NewsbotError("that topic has only common words: name a person, place or subject")
        return await self._with_follows(lambda book: book.set(guild_id, channel_id, topic or None))

    async def unfollow(self, guild_id: int) -> Follow | None:
        """Stop announcing in ``guild_id``; returns the follow that was removed, if any."""
        return await self._with_follows(lambda book: book.remove(guild_id))

    async def following(self, guild_id: int) -> Follow | None:
        return await self._with_follows(lambda book: book.get(guild_id))

    async def take_announcements(self) -> list[Announcement]:
        """What each follow should post about the articles stored since the last call (by any
        process), at most ``watch.announce_cap`` stories each; recorded, so never returned again."""
        cap = self.settings.watch.announce_cap
        return await self._with_follows(lambda book: book.take(self._topic_articles, cap))

    async def _topic_articles(self, number: int, topic: str) -> set[int]:
        """Ids of the articles of generation ``number`` that match ``topic`` (as /latest does)."""
        if self.generation is None or self.generation.number != number:
            await self.refresh(force=True)
        gen = self.generation
        if gen is None or gen.number != number:
            raise StoreError("the index changed while announcing new stories; trying again later")
        known = await self._term_ids(self.tokenizer.tokens(topic[:MAX_TOPIC_CHARS]))
        if not known:
            return set()
        arts = await asyncio.to_thread(article_matches, gen, list(known.values()))
        return {int(gen.art_ids[i]) for i in arts}

    async def _with_follows(self, work: Callable[[FollowBook], Awaitable[T]]) -> T:
        if self._follows is None:
            store = await Store.open(self.database, migrate=False)
            if self._follows is None:
                self._follows = FollowBook(store)
            else:
                await store.close()
        try:
            return await work(self._follows)
        except sqlite3.Error as exc:
            raise self.store.error(exc) from None

    # --- watching (index/watch.py) -----------------------------------------------------------
    async def cancel_reindex(self) -> None:
        """Cancel this process's running reindex, if any (it rolls back), and wait until it stopped."""
        task = self._reindex_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _use(gen: Generation, ids: dict[str, int]) -> dict[str, int]:
    """How many of ``gen``'s paragraphs and titles hold each term (0: none holds it any more)."""
    numbers = np.fromiter(ids.values(), dtype=np.int64, count=len(ids))
    total = np.zeros(len(ids), dtype=np.int64)
    for indptr in (np.asarray(gen.body().indptr), np.asarray(gen.titles().indptr)):
        inside = numbers + 1 < len(indptr)  # a term newer than the generation: held by none of it
        total[inside] += indptr[numbers[inside] + 1] - indptr[numbers[inside]]
    return dict(zip(ids, total.tolist(), strict=True))


def _hit(rank_no: int, score: float, row: dict[str, object], excerpt: Excerpt) -> Hit:
    date = row["date"]
    return Hit(
        rank=rank_no,
        score=score,
        path=str(row["path"] or ""),
        paragraph=None if row["position"] is None else int(row["position"]),  # type: ignore[call-overload]
        title=str(row["title"]),
        date=dt.date.fromisoformat(str(date)) if date else None,
        source=row["source"] if isinstance(row["source"], str) else None,
        url=row["url"] if isinstance(row["url"], str) else None,
        text=str(row["text"]),
        excerpt=excerpt,
        article_id=int(row["article_id"]),  # type: ignore[call-overload]
        paragraph_id=int(row["id"]),  # type: ignore[call-overload]
    )
