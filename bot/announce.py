"""Posting new stories in the channels servers follow: render an Announcement and send it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from newsbot.bot import render
from newsbot.index.store.follows import Announcement

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot

log = logging.getLogger(__name__)

STORIES_PER_MESSAGE = 5


def announcement_messages(announcement: Announcement) -> list[render.MessageParts]:
    """The stories, newest first, a few per message; "and N more" at the end when over the cap."""
    stories = list(announcement.stories)
    about = render.about(announcement.follow.topic)
    messages: list[render.MessageParts] = []
    for start in range(0, len(stories), STORIES_PER_MESSAGE):
        group = stories[start : start + STORIES_PER_MESSAGE]
        messages.append(render.MessageParts(embeds=render.story_embeds(group)))
    if messages:
        total = len(stories) + announcement.more
        noun = "story" if total == 1 else "stories"
        messages[0].content = render.clip(f"**{total} new {noun}{about}**", render.CONTENT_LIMIT)
    if announcement.more:
        noun = "story" if announcement.more == 1 else "stories"
        more = f"…and {announcement.more} more new {noun}{about}. See `/latest` for the newest."
        last = messages[-1]
        last.content = render.clip(f"{last.content}\n{more}" if last.content else more, render.CONTENT_LIMIT)
    return messages


async def announce(bot: NewsBot) -> None:
    """Post what every follow should see now (nothing when nothing new arrived). Never raises."""
    try:
        announcements = await bot.index.take_announcements()
    except Exception:
        log.warning("Could not look for new stories to announce", exc_info=True)
        return
    for announcement in announcements:
        follow = announcement.follow
        channel = bot.get_partial_messageable(follow.channel_id, guild_id=follow.guild_id)
        for parts in announcement_messages(announcement):
            try:
                await channel.send(
                    content=parts.content, embeds=parts.embeds, allowed_mentions=render.NO_PINGS
                )
            except Exception as exc:  # gone, no permission, Discord down: these stories are skipped
                log.warning("Could not post new stories in channel %s: %s", channel.id, exc)
                break
