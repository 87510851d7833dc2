"""An answer message and its buttons: More (asker only), Full paragraph, and 👍 / 👎 feedback; and when
the answer suggests a respelt question, a button that asks it (asker only). ``answer_question`` is
shared by /ask, mentions and that button: ask, render, and log the question meanwhile."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from newsbot.bot import errors, render
from newsbot.index.errors import NewsbotError
from newsbot.index.model import Answer

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot

log = logging.getLogger(__name__)


class AnswerView(discord.ui.View):
    """Buttons for one answer. Custom ids are per message, so fixed names are fine."""

    def __init__(
        self, bot: NewsBot, answer: Answer, *, asker_id: int, question_id: asyncio.Future[int | None]
    ) -> None:
        super().__init__(timeout=bot.settings.discord.more_timeout_seconds)
        self.bot = bot
        self.answer = answer
        self.asker_id = asker_id
        self.question_id = question_id
        self.offset = 0
        self._paging = asyncio.Lock()  # two quick presses page once each, in order
        self.replaced = False  # the Search button put another answer (with its own view) in its place
        self.message: discord.Message | discord.InteractionMessage | None = None
        self.more.disabled = not answer.has_more
        if not answer.hits:  # a suggestion alone
            for item in (self.more, self.full, self.thumbs_up, self.thumbs_down):
                self.remove_item(item)
        if answer.suggestion:
            self.add_item(RespeltButton(answer.suggestion))

    def sent_as(self, message: discord.Message | discord.InteractionMessage) -> None:
        """The answer was sent: remember its message, and keep the view until it times out."""
        self.message = message
        self.bot.track_view(self)  # only now: a view never sent never times out, so never untracks

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        self.bot.handling()  # the first thing a button's task does: the bot's idle() waits for it
        return True

    @discord.ui.button(label="More", style=discord.ButtonStyle.primary, custom_id="newsbot:more")
    async def more(
        self, interaction: discord.Interaction[NewsBot], button: discord.ui.Button[AnswerView]
    ) -> None:
        if interaction.user.id != self.asker_id:
            await errors.tell(interaction, "Only the person who asked can page through this answer.")
            return
        await interaction.response.defer()
        async with self._paging:
            if self.replaced:
                return
            offset = self.offset + len(self.answer.hits)
            answer = await self.bot.index.ask(self.answer.question, offset=offset)
            if not answer.hits:
                button.disabled = True
                await interaction.edit_original_response(view=self, allowed_mentions=render.NO_PINGS)
                await errors.tell(interaction, "There are no more passages for this question.")
                return
            self.answer, self.offset = answer, offset
            button.disabled = not answer.has_more
            parts = render.answer_message(answer, offset=offset)
            await interaction.edit_original_response(
                content=parts.content, embeds=parts.embeds, view=self, allowed_mentions=render.NO_PINGS
            )

    @discord.ui.button(label="Full paragraph", style=discord.ButtonStyle.secondary, custom_id="newsbot:full")
    async def full(
        self, interaction: discord.Interaction[NewsBot], button: discord.ui.Button[AnswerView]
    ) -> None:
        first, *rest = render.paragraph_messages(self.answer.hits)
        await interaction.response.send_message(
            content=first.content, embeds=first.embeds, ephemeral=True, allowed_mentions=render.NO_PINGS
        )
        for parts in rest:
            await interaction.followup.send(
                content=parts.content or "",
                embeds=parts.embeds,
                ephemeral=True,
                allowed_mentions=render.NO_PINGS,
            )

    @discord.ui.button(emoji="👍", style=discord.ButtonStyle.secondary, custom_id="newsbot:up")
    async def thumbs_up(
        self, interaction: discord.Interaction[NewsBot], button: discord.ui.Button[AnswerView]
    ) -> None:
        await self._feedback(interaction, +1)

    @discord.ui.button(emoji="👎", style=discord.ButtonStyle.secondary, custom_id="newsbot:down")
    async def thumbs_down(
        self, interaction: discord.Interaction[NewsBot], button: discord.ui.Button[AnswerView]
    ) -> None:
        await self._feedback(interaction, -1)

    async def _feedback(self, interaction: discord.Interaction[NewsBot], value: int) -> None:
        # acknowledge first: the write below may wait for a reindex's transaction to finish
        await interaction.response.defer(ephemeral=True, thinking=True)
        question_id = await self.question_id  # the question is logged in the background
        if question_id is None:
            await self._private(interaction, "Sorry, feedback isn't available for this answer.")
            return
        await self.bot.index.record_feedback(question_id, user_id=interaction.user.id, value=value)
        await self._private(interaction, "Thanks for the feedback!")

    @staticmethod
    async def _private(interaction: discord.Interaction[NewsBot], text: str) -> None:
        """Replace the ephemeral "thinking" placeholder with ``text``."""
        await interaction.edit_original_response(content=text, allowed_mentions=render.NO_PINGS)

    async def on_timeout(self) -> None:
        """Grey out the buttons once they no longer work."""
        self.bot.untrack_view(self)
        if self.message is None or self.bot.is_closed():
            return
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        try:
            await self.message.edit(view=self)
        except discord.HTTPException:
            log.debug("Could not disable the buttons of message %s", self.message.id, exc_info=True)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await errors.report(interaction, error, f"button {getattr(item, 'custom_id', item)!s}")


class RespeltButton(discord.ui.Button[AnswerView]):
    """ "Search: <the question respelt>": the asker's message is replaced by that question's answer."""

    def __init__(self, suggestion: str) -> None:
        super().__init__(
            label=render.suggestion_label(suggestion),
            style=discord.ButtonStyle.primary,
            custom_id="newsbot:respelt",
        )
        self.suggestion = suggestion

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        view = self.view
        assert view is not None
        if interaction.user.id != view.asker_id:
            await errors.tell(interaction, "Only the person who asked can change this answer.")
            return
        await interaction.response.defer()
        async with view._paging:  # one answer replaces this one, even if the button is pressed twice
            if view.replaced:
                return
            view.replaced = True
            reply = await answer_question(
                view.bot, self.suggestion, asker_id=view.asker_id, guild_id=interaction.guild_id
            )
            # stopped before the new view takes the message: the two share their buttons' ids
            view.stop()
            view.bot.untrack_view(view)
            try:
                edited = await interaction.edit_original_response(
                    content=reply.parts.content,
                    embeds=reply.parts.embeds,
                    view=reply.view,
                    allowed_mentions=render.NO_PINGS,
                )
            except BaseException:
                if reply.view is not None:
                    reply.view.stop()
                raise  # on_error tells the asker
            if reply.view is not None:
                # a mention's reply is a plain message the bot can edit at any time; an /ask answer
                # is edited through its interaction
                kept = view.message
                plain = kept is not None and not isinstance(kept, discord.InteractionMessage)
                reply.view.sent_as(kept if plain else edited)  # type: ignore[arg-type]


# --- answering a question, shared by /ask, mentions and the respelt button ---------------------------
@dataclass
class Reply:
    parts: render.MessageParts
    view: AnswerView | None


async def answer_question(bot: NewsBot, question: str, *, asker_id: int, guild_id: int | None) -> Reply:
    """Ask the index and render the answer with its buttons.

    The question is logged in the background so that a slow write (say, while a reindex holds the
    database) never delays the answer; the feedback buttons wait for the log entry when pressed.
    """
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
