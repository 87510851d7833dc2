"""The public face of the core: open an index, ask it, list the latest, reindex it.

The CLI and the Discord bot use only this module (and the values in :mod:`newsbot.index.model`).
Heavy work (scoring, reindexing) runs off the event loop, so an adapter can await these methods
from its loop without stalling it. Each question is answered from the generation that was current
when it arrived; a reindex publishes a new one that the next question picks up.

This class only holds the connections and the current generation and hands work on: answering to
:mod:`newsbot.index.answer`, queries to :mod:`newsbot.index.store`, reindexing to
:mod:`newsbot.index.ingest`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Callable
from pathlib import Path

from newsbot.index import generation
from newsbot.index.answer import answering
from newsbot.index.answer.answering import MAX_QUESTION_CHARS
from newsbot.index.answer.source import GenerationSource, Source
from newsbot.index.config import Settings
from newsbot.index.errors import GenerationError, IndexBusyError, NewsbotError, StoreError
from newsbot.index.feeds import Feeds
from newsbot.index.generation import Generation
from newsbot.index.ingest import indexer
from newsbot.index.ingest.lock import writer_lock
from newsbot.index.ingest.parse import utf8
from newsbot.index.ingest.peers import Peers
from newsbot.index.model import Announcement, Answer, Follow, IndexReport, Skipped, Stats, Stories
from newsbot.index.ranking import compiled as compiled_ranking
from newsbot.index.ranking.bm25 import BM25Params
from newsbot.index.ranking.search import RankParams
from newsbot.index.store import generations
from newsbot.index.store.database import Store
from newsbot.index.store.follows import FollowBook
from newsbot.index.store.queries import Queries
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

__all__ = ["MAX_QUESTION_CHARS", "MAX_TOPIC_CHARS", "NewsIndex", "ProgressCallback", "ranking_for"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage is "scan", "parse", "retokenize" (the tokenizer changed),
"store" or "build"; total may be 0."""

MAX_TOPIC_CHARS = 200
FIRST_START = "first_start"  # meta: "sample" while a first start indexes the bundled sample news here


def _real_database(settings: Settings) -> Settings:
    """``settings`` naming the file a symlinked database points to: its index folder, lock and -wal
    files are beside the file itself, whichever link it is opened through."""
    path = settings.database
    try:
        if not path.is_symlink():
            return settings
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return settings  # Store.open names the problem
    return dataclasses.replace(settings, store=dataclasses.replace(settings.store, database=real))


def _exists(path: Path) -> bool:
    """Whether ``path`` holds something (a file that is not empty, or anything else)."""
    try:
        return os.lstat(path).st_size > 0 or not path.is_file()
    except (OSError, ValueError):
        return False


def ranking_for(settings: Settings) -> RankParams:
    """The ranking weights the settings choose (the rest are RankParams' defaults)."""
    return settings.rank_params()


class NewsIndex:
    """An open news index. Cheap to query concurrently; one reindex at a time."""

    def __init__(self, settings: Settings, store: Store, rank_params: RankParams | None = None) -> None:
        self.settings = settings
        self.rank_params = rank_params or ranking_for(settings)
        self.store = store
        self.queries = Queries(store)
        self.log_store: Store | None = None  # the question log's own connection (see open())
        self.database = settings.database
        self.created = False  # the database did not exist (or was an empty file) before open()
        self._serving = generations.Serving(store, Tokenizer(self.tokenizer_spec()))
        self._reindex_task: asyncio.Task[IndexReport] | None = None
        self._follows = FollowBook(self.database)  # connects on first use
        self.feeds = Feeds(settings, self.database)  # the followed feeds (index/feeds.py)

    # --- opening and closing ---------------------------------------------------------------
    @classmethod
    async def open(
        cls,
        settings: Settings,
        rank_params: RankParams | None = None,
        *,
        compiled: bool | None = None,
        create: bool = True,
        reading: bool = False,
    ) -> NewsIndex:
        """Open the database named in ``settings.store.database`` (creating it if needed, unless
        not ``create``).

        ``rank_params`` overrides the ranking features (for evaluation and tuning). ``compiled``
        (default: ``settings.index.compiled``) starts loading the compiled ranking in the
        background; one-shot commands pass False rather than wait for it at exit. ``reading``: the
        caller only reads (ask, latest, stats): a database that does not exist is an error, and one
        that cannot be written (a read-only folder, a full disk) is opened read-only. A database
        that cannot be opened, or is not newsbot's, raises StoreError; an index that cannot be read
        does not (see :attr:`damage`).
        """
        settings = _real_database(settings)
        if settings.index.compiled if compiled is None else compiled:
            compiled_ranking.start()
        created = not _exists(settings.database)
        store = await Store.open(settings.database, create=create, reading=reading)
        try:
            index = cls(settings, store, rank_params)
            index.created = created
        except BaseException:
            await store.close()
            raise
        try:
            # Writes to the question log get a connection of their own: on the reading connection an
            # insert that overlaps a read while a reindex holds the write lock fails at once (SQLite
            # refuses to upgrade a read transaction rather than deadlock), and waits would stall reads.
            if not reading:
                index.log_store = await Store.open(settings.database, migrate=False)
            try:
                await index.refresh(force=True)
            except GenerationError as exc:  # questions say so; a reindex writes the index anew
                log.info("%s", exc)
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
            with writer_lock(self.database):
                current = generations.number_of(await self.store.get_meta("generation"))
                await asyncio.to_thread(generation.cleanup, self.database, current)
        except (NewsbotError, OSError):
            pass  # a reindex is running, the folder is read-only or meta is damaged: a reindex cleans up

    async def close(self) -> None:
        if self._reindex_task is not None and not self._reindex_task.done():
            self._reindex_task.cancel()
        if self.log_store is not None:
            await self.log_store.close()
        await self._follows.close()
        await self.feeds.close()
        await self.store.close()

    async def __aenter__(self) -> NewsIndex:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def tokenizer_spec(self) -> TokenizerSpec:
        """The tokenizer the settings ask for (a reindex tokenizes with it)."""
        s = self.settings.index
        return TokenizerSpec(language=s.language, stem=s.stem, stopwords=s.stopwords)

    def _bm25(self) -> BM25Params:
        return self.settings.bm25()

    # --- the generation served ---------------------------------------------------------------
    @property
    def generation(self) -> Generation | None:
        """The generation loaded last (None: none yet)."""
        return self._serving.generation

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer of the generation served (the settings' one before any)."""
        return self._serving.tokenizer

    async def refresh(self, force: bool = False) -> None:
        """Load the current generation if another connection published a new one."""
        await self._serving.refresh(force)

    async def current_generation(self) -> Generation:
        """The generation a question arriving now is answered from; raises NoIndexError when nothing
        is indexed, StoreError when nothing can be read (a newer one that cannot be read is passed by)."""
        return await self._serving.current()

    async def check_serving(self) -> None:
        """Raise NoIndexError when nothing is indexed, StoreError when it cannot be read: what a
        question would meet (a console says it before its prompt)."""
        await self.current_generation()

    @property
    def is_empty(self) -> bool:
        """True until a first reindex has published something."""
        serving = self._serving
        return serving.generation is None and serving.published == 0 and serving.error is None

    @property
    def damage(self) -> str | None:
        """Why the published index cannot be served, as last seen (None: it can, or none is published);
        the next reindex builds it anew from the store."""
        error = self._serving.error
        return None if error is None else str(error)

    async def may_index_sample(self) -> bool:
        """Whether a first start may index the bundled sample news into this database: nothing was
        ever published in it, and it was just created or a first start into it was interrupted.
        Marks the database so (an interrupted first start is taken up again, nothing else ever is)."""
        if not self.is_empty:
            return False
        if not self.created and await self.store.get_meta(FIRST_START) != "sample":
            return False
        await self.store.set_meta(FIRST_START, "sample")
        return True

    @property
    def reindexing(self) -> bool:
        return self._reindex_task is not None and not self._reindex_task.done()

    async def term_ids(self, terms: list[str]) -> dict[str, int]:
        """The ids the vocabulary gives ``terms`` (tokenized as :attr:`tokenizer` does), if it holds them."""
        return await self.queries.term_ids(terms)

    # --- asking ------------------------------------------------------------------------------
    async def ask(
        self, question: str, *, k: int | None = None, as_of: dt.date | None = None, offset: int = 0
    ) -> Answer:
        """The best ``k`` passages (default ``settings.answer.passages``), skipping the first ``offset``.

        Raises NoIndexError when nothing has been indexed.
        """
        source = await self._source()
        context = answering.Context(self.tokenizer, self.settings.answer, self.rank_params)
        return await answering.answer(context, source, utf8(question), k=k, as_of=as_of, offset=offset)

    async def _source(self) -> Source:
        """What a question arriving now is answered from (a cluster's index answers from its shards)."""
        return GenerationSource(await self.current_generation(), self.queries)

    async def latest(
        self,
        n: int = 5,
        *,
        topic: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> Stories:
        """The ``n`` newest stories (at most 25), about ``topic`` and between the dates when given."""
        gen = await self.current_generation()
        n = max(1, min(n, 25))
        until = min(until, dt.date.today()) if until else dt.date.today()  # no future-dated stories
        articles = None
        if topic and topic.strip():
            text = utf8(topic[:MAX_QUESTION_CHARS])
            articles = await answering.topic_articles(self.queries, gen, self.tokenizer, text)
            if not articles:
                return Stories()
        return Stories(await self.queries.latest(n, since=since, until=until, article_ids=articles))

    # --- reindexing --------------------------------------------------------------------------
    async def reindex(
        self,
        folders: list[Path] | None = None,
        progress: ProgressCallback | None = None,
        *,
        forget: list[Path] | None = None,
        peers: Peers | None = None,
    ) -> IndexReport:
        """Incrementally reindex ``folders`` (default: the configured ones) and publish atomically.

        With ``forget``, only those folders are touched: every article that came from them leaves
        the index (other folders are neither scanned nor changed). Raises IndexBusyError if a
        reindex is already running (in this process or another). Questions keep being answered
        from the previous generation until the new one is published.
        """
        if self.reindexing:
            raise IndexBusyError("a reindex is already running; try again when it has finished")
        scan = [] if forget else (folders or await self.news_folders())
        if not scan and not forget:
            raise NewsbotError(
                "nothing to index: news.folders is empty and no followed feed has stored anything yet"
                " (name a folder: newsbot index PATH, or follow a feed: newsbot feeds add URL)"
            )
        task = asyncio.ensure_future(self._reindex(scan, progress, forget, peers))
        self._reindex_task = task
        try:
            report = await asyncio.shield(task)
        finally:
            if task.done():
                self._reindex_task = None
        await self.refresh(force=True)
        return report

    async def news_folders(self) -> list[Path]:
        """What a reindex scans by default: ``news.folders`` and the followed feeds' folders."""
        folders = list(self.settings.folders)
        return folders + [f for f in await self.feeds.folders() if f not in folders]

    async def _reindex(
        self,
        scan: list[Path],
        progress: ProgressCallback | None,
        forget: list[Path] | None,
        peers: Peers | None = None,
    ) -> IndexReport:
        """Set a damaged index aside (the reindex then builds it anew from the store), and reindex."""
        with writer_lock(self.database):
            damage = await generations.set_aside_damaged(self.store, self.database)
        for problem in damage:
            log.info("Rebuilding the index from the database: %s", problem)
        spec, params = self.tokenizer_spec(), self._bm25()
        report = await indexer.reindex(self.database, scan, spec, params, progress, forget, peers)
        where = str(generation.gens_dir(self.database))
        report.warnings[:0] = [Skipped(where, f"{p}: rebuilt from the database") for p in damage]
        return report

    async def cancel_reindex(self) -> None:
        """Cancel this process's running reindex, if any (it rolls back), and wait until it stopped."""
        task = self._reindex_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # --- statistics and the question log -----------------------------------------------------
    async def stats(self) -> Stats:
        return await self.queries.stats(self.generation.number if self.generation else 0)

    async def record_question(
        self, question: str, *, user_id: int | None, guild_id: int | None, hits: int
    ) -> int:
        """Log a question; returns its id (for feedback)."""
        text = utf8(question[:MAX_QUESTION_CHARS])
        return await self._log().add_question(text, user_id, guild_id, hits)

    async def record_feedback(self, question_id: int, *, user_id: int, value: int) -> None:
        """Store +1 / -1 feedback on a logged question (one vote per user, last one wins)."""
        if value not in (-1, 1):
            raise NewsbotError("feedback is +1 or -1")
        await self._log().add_feedback(question_id, user_id, value)

    def _log(self) -> Store:
        return self.log_store or self.store

    # --- following new stories (store/follows.py) --------------------------------------------
    async def follow(self, guild_id: int, channel_id: int, topic: str | None = None) -> Follow:
        """Announce new stories (about ``topic``) in ``channel_id``; replaces the server's follow.

        Nothing indexed before this call is announced.
        """
        topic = " ".join(topic.split())[:MAX_TOPIC_CHARS] if topic else None
        if topic and not self.tokenizer.tokens(topic):
            raise NewsbotError("that topic has only common words: name a person, place or subject")
        return await self._follows.set(guild_id, channel_id, topic or None)

    async def unfollow(self, guild_id: int) -> Follow | None:
        """Stop announcing in ``guild_id``; returns the follow that was removed, if any."""
        return await self._follows.remove(guild_id)

    async def following(self, guild_id: int) -> Follow | None:
        return await self._follows.get(guild_id)

    async def take_announcements(self) -> list[Announcement]:
        """What each follow should post about the articles stored since the last call (by any
        process), at most ``watch.announce_cap`` stories each; recorded, so never returned again."""
        cap = self.settings.watch.announce_cap
        return await self._follows.take(self._topic_articles, cap)

    async def _topic_articles(self, number: int, topic: str) -> set[int]:
        """Ids of the articles of generation ``number`` that match ``topic`` (as /latest does)."""
        if self.generation is None or self.generation.number != number:
            await self.refresh(force=True)
        gen = self.generation
        if gen is None or gen.number != number:
            raise StoreError("the index changed while announcing new stories; trying again later")
        text = topic[:MAX_TOPIC_CHARS]
        return set(await answering.topic_articles(self.queries, gen, self.tokenizer, text))
