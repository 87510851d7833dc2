"""Questions asked by mentioning the bot in a channel: answered like /ask, as a reply."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord

from newsbot.bot import errors
from newsbot.bot.views import answer_question

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot

log = logging.getLogger(__name__)

HELP = "Ask me something about the news, e.g. “@newsbot what happened to the harbour project?”"


def question_in(bot: NewsBot, message: discord.Message) -> str | None:
    """The question in ``message`` if it is addressed to the bot where mentions are answered, else None."""
    me = bot.user
    if me is None or message.author.bot or message.guild is None or message.webhook_id is not None:
        return None
    if bot.settings.discord.guild_ids and message.guild.id not in bot.settings.discord.guild_ids:
        return None
    channels = bot.settings.discord.mention_channel_ids
    parent = getattr(message.channel, "parent_id", None)
    if channels and message.channel.id not in channels and parent not in channels:
        return None
    mention = re.compile(rf"<@!?{me.id}>")
    if not mention.search(message.content):
        return None
    return " ".join(mention.sub(" ", message.content).split())


async def on_mention(bot: NewsBot, message: discord.Message) -> None:
    question = question_in(bot, message)
    if question is None:
        return
    try:
        if not question:
            await reply(message, HELP)
            return
        retry_after = bot.cooldown.hit(message.author.id)
        if retry_after is not None:
            await reply(message, errors.cooldown_message(retry_after))
            return
        answer = await answer_question(
            bot, question, asker_id=message.author.id, guild_id=message.guild.id if message.guild else None
        )
        sent = await reply(message, answer.parts.content, embeds=answer.parts.embeds, view=answer.view)
        if answer.view is not None:
            answer.view.sent_as(sent)
    except Exception as exc:  # one handler for every failure, as for slash commands
        try:
            await reply(message, errors.redact(bot, errors.user_message(exc, "mention")))
        except discord.HTTPException:
            log.warning("Could not reply to message %s", message.id, exc_info=True)


async def reply(
    message: discord.Message,
    content: str | None,
    *,
    embeds: list[discord.Embed] | None = None,
    view: discord.ui.View | None = None,
) -> discord.Message:
    none = discord.AllowedMentions.none()
    if view is None:
        return await message.reply(content, embeds=embeds or [], mention_author=False, allowed_mentions=none)
    return await message.reply(
        content, embeds=embeds or [], view=view, mention_author=False, allowed_mentions=none
    )
