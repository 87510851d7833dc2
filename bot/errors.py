"""One place that turns exceptions into short messages for users (and logs the unexpected ones)."""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any

import discord
from discord import app_commands

from newsbot.index.errors import NewsbotError

log = logging.getLogger(__name__)

REDACTED = "[redacted token]"
DISCORD_TROUBLE = (
    "Discord's servers are having trouble right now, so my reply could not be delivered; "
    "please try again in a minute."
)


def expected_message(error: BaseException) -> str | None:
    """A short user-facing line for an expected error, or None when ``error`` is a bug."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, NewsbotError):
        return str(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return cooldown_message(error.retry_after)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only in a server."
    if isinstance(
        error, app_commands.MissingPermissions | app_commands.MissingAnyRole | app_commands.MissingRole
    ):
        return "You don't have permission to use this command."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) if str(error) else "You can't use this command here."
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        return "That command is out of date; please try again in a minute."
    if isinstance(error, app_commands.TransformerError):
        return "I couldn't understand one of the options."
    if isinstance(error, discord.RateLimited):
        wait = math.ceil(error.retry_after)
        return f"Discord is limiting how fast I can reply; please try again in {wait} s."
    if isinstance(error, discord.DiscordServerError):
        return DISCORD_TROUBLE
    return None


def cooldown_message(retry_after: float) -> str:
    return f"Easy there — you can ask again in {max(1, math.ceil(retry_after))} s."


def user_message(error: BaseException, where: str) -> str:
    """The line to show for ``error``; unexpected errors are logged with a short reference."""
    text = expected_message(error)
    if text is not None:
        cause = getattr(error, "original", None) or error
        if isinstance(cause, discord.HTTPException | discord.RateLimited):  # Discord's trouble, not ours
            log.warning("Discord failed a request in %s (after discord.py's retries): %s", where, cause)
        return text
    ref = secrets.token_hex(4)
    original = getattr(error, "original", None) or error
    log.error("Unexpected error in %s [ref %s]", where, ref, exc_info=original)
    return f"Sorry, something went wrong on my side. If you report it, please quote reference `{ref}`."


def redact(client: discord.Client, text: str) -> str:
    """``text`` without the bot's token (an error's text may quote anything; the token must never show)."""
    token = (getattr(client.http, "token", None) or "").strip()
    return text.replace(token, REDACTED) if token else text


async def tell(interaction: discord.Interaction[Any], text: str) -> None:
    """Show ``text`` to the user alone, whatever state the interaction's response is in."""
    none = discord.AllowedMentions.none()
    text = redact(interaction.client, text)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=none)
            return
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            # Still "thinking": drop the placeholder so the error can be ephemeral.
            try:
                await interaction.delete_original_response()
            except discord.HTTPException:
                await interaction.edit_original_response(
                    content=text, embeds=[], view=None, allowed_mentions=none
                )
                return
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=none)
    except discord.HTTPException:
        log.warning("Could not tell the user about an error (interaction %s)", interaction.id, exc_info=True)


async def report(interaction: discord.Interaction[Any], error: BaseException, where: str) -> None:
    if interaction.client.is_closed():  # shutting down: nobody to tell, and nothing to worry about
        log.debug("Error in %s while closing", where, exc_info=error)
        return
    await tell(interaction, user_message(error, where))
