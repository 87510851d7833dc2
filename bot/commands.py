"""The slash commands. Each handler parses, calls the core, renders; errors go to the tree's handler."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from newsbot.bot import render, reports
from newsbot.bot.checks import admin_only, question_cooldown
from newsbot.bot.feeds import feed_line, feeds
from newsbot.bot.follow import follow, unfollow
from newsbot.bot.reindex import BUSY
from newsbot.bot.views import answer_question

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot


@app_commands.command(name="ask", description="Ask a question about the stored news")
@app_commands.describe(question="What do you want to know?")
@question_cooldown()
async def ask(interaction: discord.Interaction[NewsBot], question: str) -> None:
    await interaction.response.defer(thinking=True)
    reply = await answer_question(
        interaction.client, question, asker_id=interaction.user.id, guild_id=interaction.guild_id
    )
    message = await interaction.edit_original_response(
        content=reply.parts.content,
        embeds=reply.parts.embeds,
        view=reply.view,
        allowed_mentions=render.NO_PINGS,
    )
    if reply.view is not None:
        reply.view.sent_as(message)


@app_commands.command(name="latest", description="The newest stories")
@app_commands.describe(count="How many stories (1-10)", topic="Only stories about this")
async def latest(
    interaction: discord.Interaction[NewsBot],
    count: app_commands.Range[int, 1, 10] = 5,
    topic: str | None = None,
) -> None:
    await interaction.response.defer(thinking=True)
    stories = await interaction.client.index.latest(count, topic=topic or None)
    parts = render.latest_message(stories, topic)
    await interaction.edit_original_response(
        content=parts.content, embeds=parts.embeds, allowed_mentions=render.NO_PINGS
    )


@app_commands.command(name="reindex", description="Re-read the news folders (admins only)")
@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
@admin_only()
async def reindex(interaction: discord.Interaction[NewsBot]) -> None:
    bot = interaction.client
    if not bot.claim_reindex():
        await interaction.response.send_message(BUSY, ephemeral=True, allowed_mentions=render.NO_PINGS)
        return
    try:
        await interaction.response.defer(thinking=True)
    except BaseException:
        bot.release_reindex()  # the acknowledgement failed: don't hold the slot for good
        raise
    bot.start_reindex(interaction)


@app_commands.command(name="stats", description="Index and usage statistics (admins only)")
@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
@admin_only()
async def stats(interaction: discord.Interaction[NewsBot]) -> None:
    await interaction.response.defer(thinking=True, ephemeral=True)
    bot = interaction.client
    failing = [feed_line(f) for f in await bot.index.feeds.failing()]
    shards = (bot.shard_count, bot.latencies)
    parts = reports.stats_message(await bot.index.stats(), failing=failing, shards=shards)
    await interaction.edit_original_response(
        content=parts.content, embeds=parts.embeds, allowed_mentions=render.NO_PINGS
    )


ALL: tuple[app_commands.Command[Any, Any, Any] | app_commands.Group, ...] = (
    ask,
    latest,
    reindex,
    stats,
    follow,
    unfollow,
    feeds,
)
