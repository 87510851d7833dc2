"""/follow and /unfollow: which channel of a server is told about new stories, and about what."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from newsbot.bot import render
from newsbot.bot.checks import admin_only
from newsbot.index.store.follows import Follow

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot


def following_text(follow: Follow) -> str:
    return (
        f"New stories{render.about(follow.topic)} will be posted in <#{follow.channel_id}>"
        " after each reindex (nothing already indexed). `/unfollow` stops it."
    )


def unfollowed_text(follow: Follow | None) -> str:
    if follow is None:
        return "This server was not following new stories."
    return f"New stories are no longer posted in <#{follow.channel_id}>."


def cannot_post(channel: discord.TextChannel) -> str | None:
    """Why the bot could not post in ``channel`` (None when it can, or when that is unknown)."""
    me = channel.guild.me
    if me is None:
        return None
    perms = channel.permissions_for(me)
    if perms.view_channel and perms.send_messages:
        return None
    return f"I can't post in <#{channel.id}>: give me View Channel, Send Messages and Embed Links there."


@app_commands.command(name="follow", description="Post new stories in a channel (admins only)")
@app_commands.describe(channel="Where to post new stories", topic="Only stories about these words")
@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
@admin_only()
async def follow(
    interaction: discord.Interaction[NewsBot],
    channel: discord.TextChannel,
    topic: app_commands.Range[str, 1, 200] | None = None,
) -> None:
    if problem := cannot_post(channel):
        await interaction.response.send_message(problem, ephemeral=True, allowed_mentions=render.NO_PINGS)
        return
    await interaction.response.defer(thinking=True, ephemeral=True)
    followed = await interaction.client.index.follow(channel.guild.id, channel.id, topic)
    await interaction.edit_original_response(
        content=following_text(followed), allowed_mentions=render.NO_PINGS
    )


@app_commands.command(name="unfollow", description="Stop posting new stories (admins only)")
@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
@admin_only()
async def unfollow(interaction: discord.Interaction[NewsBot]) -> None:
    await interaction.response.defer(thinking=True, ephemeral=True)
    assert interaction.guild_id is not None  # guild_only
    removed = await interaction.client.index.unfollow(interaction.guild_id)
    await interaction.edit_original_response(
        content=unfollowed_text(removed), allowed_mentions=render.NO_PINGS
    )
