"""/feeds add|remove|list: the server's admins follow news feeds (the same gate as /reindex).

A URL from Discord is checked by the fetcher's address rules (``fetch.allow_private_addresses`` and
``fetch.allowed_networks``); a feed's folder is never taken from Discord (it goes under the feeds
folder beside the database). Replies are ephemeral; errors go to the tree's handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from newsbot.bot import render
from newsbot.bot.checks import admin_only
from newsbot.bot.watch import fetch_round
from newsbot.index.feeds import SETTINGS, FollowedFeed

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot

MAX_LISTED = 25


def feed_line(feed: FollowedFeed) -> str:
    origin = " (settings file)" if feed.origin == SETTINGS else ""
    return f"**{render.fit(feed.name, 80)}** <{feed.spec.url}>{origin}: {render.fit(feed.describe(), 200)}"


def list_text(feeds: list[FollowedFeed]) -> str:
    if not feeds:
        return "No feeds followed. `/feeds add url:` follows one."
    lines = [f"- {feed_line(f)}" for f in feeds[:MAX_LISTED]]
    if len(feeds) > MAX_LISTED:
        lines.append(f"… and {len(feeds) - MAX_LISTED} more (`newsbot feeds list` shows all).")
    return render.clip("\n".join(lines), render.CONTENT_LIMIT)


feeds = app_commands.Group(
    name="feeds",
    description="Follow news feeds (admins only)",
    default_permissions=discord.Permissions(manage_guild=True),
    guild_only=True,
)


@feeds.command(name="add", description="Check a news feed (RSS, Atom, JSON Feed) and follow it")
@app_commands.describe(url="The feed's address", source="The source name shown with answers")
@admin_only()
async def add(
    interaction: discord.Interaction[NewsBot],
    url: app_commands.Range[str, 1, 2000],
    source: app_commands.Range[str, 1, 100] | None = None,
) -> None:
    await interaction.response.defer(thinking=True, ephemeral=True)
    who = f"discord:{interaction.user.id}"
    feed = await interaction.client.index.feeds.add(url, source=source or "", added_by=who)
    bot = interaction.client
    text = (
        f"Following **{render.fit(feed.name, 80)}** <{feed.spec.url}>. Its stories are fetched now, then"
        f" every {bot.settings.fetch.interval_minutes:g} minutes, and indexed; `/feeds list` shows its state."
    )
    await interaction.edit_original_response(content=text, allowed_mentions=render.NO_PINGS)
    bot.spawn(fetch_round(bot), name="newsbot-fetch-now", drain=False)  # not in 15 minutes: now


@feeds.command(name="remove", description="Stop following a feed")
@app_commands.describe(url="The feed's address, as /feeds list shows it")
@admin_only()
async def remove(interaction: discord.Interaction[NewsBot], url: app_commands.Range[str, 1, 2000]) -> None:
    await interaction.response.defer(thinking=True, ephemeral=True)
    feed = await interaction.client.index.feeds.remove(url)
    text = f"No longer following **{render.fit(feed.name, 80)}**; its stories already indexed stay."
    await interaction.edit_original_response(content=text, allowed_mentions=render.NO_PINGS)


@feeds.command(name="list", description="The followed feeds and each one's state")
@admin_only()
async def list_feeds(interaction: discord.Interaction[NewsBot]) -> None:
    await interaction.response.defer(thinking=True, ephemeral=True)
    followed = await interaction.client.index.feeds.followed()
    await interaction.edit_original_response(content=list_text(followed), allowed_mentions=render.NO_PINGS)
