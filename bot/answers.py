"""Answering a question, shared by /ask and mentions: ask, render, and log the question meanwhile."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsbot.bot import render
from newsbot.index.errors import NewsbotError

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot
    from newsbot.bot.views import AnswerView

log = logging.getLogger(__name__)


@dataclass
class Reply:
    parts: render.MessageParts
    view: AnswerView | None


async def answer_question(bot: NewsBot, question: str, *, asker_id: int, guild_id: int | None) -> Reply:
    """Ask the index and render the answer with its buttons.

    The question is logged in the background so that a slow write (say, while a reindex holds the
    database) never delays the answer; the feedback buttons wait for the log entry when pressed.
    """
    from newsbot.bot.views import AnswerView

    answer = await bot.index.ask(question)
    logged = bot.spawn(
        _log_question(bot, question, asker_id, guild_id, len(answer.hits)), name="newsbot-log-question"
    )
    parts = render.answer_message(answer)
    has_buttons = answer.hits or answer.suggestion
    view = AnswerView(bot, answer, asker_id=asker_id, question_id=logged) if has_buttons else None
    return Reply(parts, view)


async def _log_question(
    bot: NewsBot, question: str, user_id: int, guild_id: int | None, hits: int
) -> int | None:
    try:
        return await bot.index.record_question(question, user_id=user_id, guild_id=guild_id, hits=hits)
    except NewsbotError as exc:
        log.warning("Could not log a question (feedback on it will be refused): %s", exc)
        return None
