"""The Discord client: holds the index, registers and syncs the commands, routes events and errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import discord
from discord import app_commands

from newsbot.bot import commands, errors, mentions
from newsbot.bot.announce import announce
from newsbot.bot.checks import QuestionCooldown
from newsbot.bot.reindex import ReindexJob
from newsbot.bot.watch import fetch_loop, watch
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings
from newsbot.index.ingest.watch import FolderWatch

log = logging.getLogger(__name__)

T = TypeVar("T")
DRAIN_SECONDS = 5.0
# Seconds between two shards' IDENTIFYs: Discord allows one per 5 s (a bot's max_concurrency is 1
# until Discord raises it for very large bots); more at once and it refuses the session.
IDENTIFY_INTERVAL = 5.0


def intents_for(settings: Settings) -> discord.Intents:
    """Default intents minus members and presences; message content only when configured."""
    intents = discord.Intents.default()
    intents.members = False
    intents.presences = False
    intents.message_content = settings.discord.message_content_intent
    return intents


def shard_options(settings: Settings) -> dict[str, Any]:
    """discord.py's shard options: no count asks Discord (GET /gateway/bot); no ids runs every shard."""
    count = settings.discord.shard_count
    return {
        "shard_count": None if count == "auto" else count,
        "shard_ids": list(settings.discord.shard_ids) or None,
    }


class NewsTree(app_commands.CommandTree["NewsBot"]):
    async def interaction_check(self, interaction: discord.Interaction[NewsBot], /) -> bool:
        interaction.client.handling()  # the first thing the command's task does: idle() waits for it
        return True

    async def on_error(
        self, interaction: discord.Interaction[NewsBot], error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.qualified_name if interaction.command else "unknown command"
        await errors.report(interaction, error, f"/{name}")


class NewsBot(discord.AutoShardedClient):
    """newsbot on Discord. The index is opened and closed by whoever created the bot.

    It is always auto-sharded: one gateway connection per shard (one shard for a small bot), each
    carrying its servers' events into the same handlers, since Discord refuses an unsharded bot past
    2,500 servers. Everything else (REST, the index, the watchers) is shared by the shards.
    """

    def __init__(
        self,
        settings: Settings,
        index: NewsIndex,
        *,
        progress_interval: float = 2.0,
        identify_interval: float = IDENTIFY_INTERVAL,
        **options: Any,
    ) -> None:
        options.setdefault("intents", intents_for(settings))
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        for name, value in shard_options(settings).items():
            options.setdefault(name, value)
        super().__init__(**options)
        self.settings = settings
        self.index = index
        self.progress_interval = progress_interval
        self.identify_interval = identify_interval
        self.cooldown = QuestionCooldown(
            settings.discord.cooldown_questions, settings.discord.cooldown_seconds
        )
        self.tree = NewsTree(self)
        for command in commands.ALL:
            self.tree.add_command(command)
        self.synced: dict[int | None, list[app_commands.AppCommand]] = {}
        self._reindex_claimed = False
        self._draining: set[asyncio.Task[Any]] = set()
        self._cancelling: set[asyncio.Task[Any]] = set()
        self._handling: set[asyncio.Task[Any]] = set()
        self._views: set[discord.ui.View] = set()
        self.watcher: asyncio.Task[None] | None = None
        self.watch_rounds = 0  # rounds of the folder watch finished (a test waits for "one more round")
        self.folder_watch = FolderWatch(index, claim=self.claim_reindex, release=self.release_reindex)
        self.fetcher: asyncio.Task[None] | None = None  # the feed fetch loop (bot/watch.py)
        self.fetch_rounds = 0
        self.fetch_lock = asyncio.Lock()  # one fetch round at a time (the loop's, or one after /feeds add)

    async def setup_hook(self) -> None:
        """Start the watcher (when enabled); sync the commands to the configured guilds, or globally."""
        if self.settings.watch.enabled:
            self.watcher = self.spawn(watch(self), name="newsbot-watch", drain=False)
        if self.settings.fetch.interval_minutes > 0:
            self.fetcher = self.spawn(fetch_loop(self), name="newsbot-fetch", drain=False)
        guild_ids = self.settings.discord.guild_ids
        if not guild_ids:
            self.synced[None] = await self.tree.sync()
            log.info("Synced %d commands globally", len(self.synced[None]))
            return
        for guild_id in guild_ids:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            self.synced[guild_id] = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to guild %s", len(self.synced[guild_id]), guild_id)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait ``identify_interval`` before each IDENTIFY but a start's first (discord.py's default waits
        5 s; a test gateway has no such limit)."""
        if not initial and self.identify_interval > 0:
            await asyncio.sleep(self.identify_interval)

    async def on_shard_ready(self, shard_id: int) -> None:
        log.info("Shard %d of %s ready", shard_id, self.shard_count)

    async def on_ready(self) -> None:
        guilds, shards = len(self.guilds), len(self.shards)
        log.info("Ready as %s in %d guild(s), %d of %s shard(s)", self.user, guilds, shards, self.shard_count)

    async def on_message(self, message: discord.Message) -> None:
        self.handling()
        await mentions.on_mention(self, message)

    # --------------------------------------------------------------------- reindex

    def claim_reindex(self) -> bool:
        """Reserve the one reindex slot (synchronously, so two commands cannot both get it)."""
        if self._reindex_claimed or self.index.reindexing:
            return False
        self._reindex_claimed = True
        return True

    def release_reindex(self) -> None:
        self._reindex_claimed = False

    def start_reindex(self, interaction: discord.Interaction[NewsBot]) -> asyncio.Task[None]:
        job = ReindexJob(self, interaction, self.progress_interval)

        async def run() -> None:
            try:
                await job.run()
            finally:
                self.release_reindex()
            await announce(self)

        return self.spawn(run(), name="newsbot-reindex", drain=False)

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str, drain: bool = True) -> asyncio.Task[T]:
        """A background task the bot keeps a reference to.

        On close, ``drain`` tasks (small writes such as the question log) get a moment to finish;
        the others (a reindex) are cancelled.
        """
        task = asyncio.create_task(coro, name=name)
        (self._draining if drain else self._cancelling).add(task)
        task.add_done_callback(self._draining.discard)
        task.add_done_callback(self._cancelling.discard)
        return task

    # --------------------------------------------------------------------- busy or idle

    def handling(self) -> None:
        """Count the running task (discord.py's, for a command, a button or a message) as work of the bot's
        until it ends: :meth:`idle` waits for it. Called first thing by every event handler."""
        task = asyncio.current_task()
        if task is not None and task not in self._handling:
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)

    async def idle(self) -> None:
        """Return once nothing the bot started is running: no event handler (see :meth:`handling`) and no
        spawned task (question log, reindex, announcements), tasks started meanwhile included. The folder
        watch and the feed fetch, which never end, are not waited for (count ``watch_rounds`` instead),
        nor are the views' timeouts.

        An event the client has not read yet is not known here: wait for that first (the end-to-end tests'
        fake Discord has ``sync()``)."""
        me = asyncio.current_task()
        while True:
            busy = [
                task
                for task in (*self._handling, *self._draining, *self._cancelling)
                if not task.done() and task is not me and task not in (self.watcher, self.fetcher)
            ]
            if not busy:
                return
            await asyncio.wait(busy)

    @property
    def views(self) -> frozenset[discord.ui.View]:
        """The views (answer buttons) that are live: sent, and not yet timed out, stopped or replaced."""
        return frozenset(self._views)

    # --------------------------------------------------------------------- views

    def track_view(self, view: discord.ui.View) -> None:
        self._views.add(view)

    def untrack_view(self, view: discord.ui.View) -> None:
        self._views.discard(view)

    async def close(self) -> None:
        for view in list(self._views):
            view.stop()
        self._views.clear()
        if self._draining:
            await asyncio.wait(list(self._draining), timeout=DRAIN_SECONDS)
        tasks = [*self._draining, *self._cancelling]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await super().close()
        # discord.py leaves its "wait for GUILD_CREATEs, then dispatch ready" tasks (the bot's and each
        # shard's) running on close.
        state = self._connection
        waiting = [getattr(state, "_ready_task", None), *getattr(state, "_ready_tasks", {}).values()]
        ready_tasks = [t for t in waiting if isinstance(t, asyncio.Task) and not t.done()]
        for task in ready_tasks:
            task.cancel()
        await asyncio.gather(*ready_tasks, return_exceptions=True)  # let them finish cancelling
