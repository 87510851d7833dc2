"""The fake Discord itself: a bare discord.py client connects, syncs, and answers an interaction."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from .fake_discord import FakeDiscord
from .harness import running

pytestmark = pytest.mark.e2e


class PingClient(discord.Client):
    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents(guilds=True), guild_ready_timeout=0.01)
        self.tree = app_commands.CommandTree(self)
        self.guild_id = guild_id

        @self.tree.command(name="ping", description="Pong")
        async def ping(interaction: discord.Interaction, word: str) -> None:
            await interaction.response.send_message(f"pong {word}", ephemeral=True)

    async def setup_hook(self) -> None:
        guild = discord.Object(self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)


async def test_bare_client_connects_syncs_and_answers(fake: FakeDiscord) -> None:
    client = PingClient(fake.guild_id)
    async with running(client, fake):
        assert fake.identify_payload is not None and fake.identify_payload["token"] == fake.token
        assert client.get_guild(fake.guild_id) is not None
        assert client.get_guild(fake.guild_id).get_channel(fake.channel_id) is not None  # type: ignore[union-attr]
        sync = [r for r in fake.requests if r.method == "PUT"]
        assert [r.path for r in sync] == [f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands"]
        assert [c["name"] for c in sync[0].json] == ["ping"]

        sent = await fake.slash("ping", {"word": "hi"})
        cb = await fake.callback(sent)
        assert cb.json["type"] == 4, cb
        assert cb.json["data"]["content"] == "pong hi"
        assert cb.json["data"]["flags"] == 64
        assert cb.query.get("with_response") in ("1", "true", "True")
    assert not fake.unhandled
