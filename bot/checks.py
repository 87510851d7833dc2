"""Who may do what: the admin gate and the per-user question cooldown."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from newsbot.index.config import DiscordSettings

if TYPE_CHECKING:
    from newsbot.bot.app import NewsBot

T = TypeVar("T")


class NotAdmin(app_commands.CheckFailure):
    """The user is not in the configured admin users or roles."""

    def __init__(self) -> None:
        super().__init__("Only newsbot admins can use this command.")


def is_admin(settings: DiscordSettings, user: discord.abc.User) -> bool:
    """True for a configured admin user, or a guild member with a configured admin role.

    Discord permissions (such as Manage Server) do not count: only the configuration does.
    """
    if user.id in settings.admin_user_ids:
        return True
    roles = getattr(user, "roles", None) or []
    wanted = set(settings.admin_role_ids)
    return any(role.id in wanted for role in roles)


def admin_only() -> Callable[[T], T]:
    """The runtime admin gate for a guild-only command (a DM is refused)."""

    async def predicate(interaction: discord.Interaction[NewsBot]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        if not is_admin(interaction.client.settings.discord, interaction.user):
            raise NotAdmin()
        return True

    return app_commands.check(predicate)


class QuestionCooldown:
    """At most ``rate`` questions per user in any ``per`` seconds (a sliding window)."""

    def __init__(self, rate: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.per = per
        self.clock = clock
        self._asked: dict[int, deque[float]] = {}

    def hit(self, user_id: int) -> float | None:
        """Count a question by ``user_id``; None if allowed, else the seconds until one more is."""
        if self.per <= 0:
            return None
        now = self.clock()
        times = self._asked.setdefault(user_id, deque())
        while times and times[0] <= now - self.per:
            times.popleft()
        if len(times) >= self.rate:
            return max(times[0] + self.per - now, 0.0)
        times.append(now)
        self._forget_idle(now)
        return None

    def _forget_idle(self, now: float) -> None:
        if len(self._asked) > 1000:
            for user_id in [u for u, t in self._asked.items() if not t or t[-1] <= now - self.per]:
                del self._asked[user_id]

    def as_cooldown(self) -> app_commands.Cooldown:
        return app_commands.Cooldown(self.rate, self.per)


def question_cooldown() -> Callable[[T], T]:
    """An app-command check that spends one question from the user's cooldown bucket."""

    async def predicate(interaction: discord.Interaction[NewsBot]) -> bool:
        cooldown = interaction.client.cooldown
        retry_after = cooldown.hit(interaction.user.id)
        if retry_after is not None:
            raise app_commands.CommandOnCooldown(cooldown.as_cooldown(), retry_after)
        return True

    return app_commands.check(predicate)
