"""A fake Discord (REST + gateway) served on 127.0.0.1 for end-to-end tests of the real discord.py client.

It answers the REST routes the bot uses, records every request (method, path, query, JSON body, also the
``payload_json`` part of multipart bodies) and runs the gateway (``fake_gateway.py``): HELLO, heartbeat
ACKs, IDENTIFY → READY + GUILD_CREATE, one session per shard (``shards`` is what GET /gateway/bot
recommends; one by default). Tests inject INTERACTION_CREATE / MESSAGE_CREATE through
:meth:`FakeDiscord.slash`, :meth:`FakeDiscord.click` and :meth:`FakeDiscord.post_message`, then wait for
what the bot sent with :meth:`FakeDiscord.wait_for`.

Guilds: one by default (``guild_id``, with ``channel_id`` and ``quiet_channel_id``); ``guilds=N`` or
:meth:`FakeDiscord.add_guild` (before the client connects) adds more, each with its own two channels and
the same people and roles. The k-th guild (0 is the first) is carried by shard ``k % shard_count``, and
each event goes out on its guild's shard.

Gateway frames are sent as text, so the client's zlib/zstd stream decompression is never used (discord.py
only decompresses binary frames).

Faults on demand: :meth:`FakeDiscord.drop` closes a shard's gateway websocket (the client resumes; events
dispatched meanwhile are replayed, as Discord does; set ``invalidate_resume`` to answer the RESUME with
INVALID_SESSION instead), :meth:`FakeDiscord.fail` answers matching REST requests with a 429
(``retry_after`` and the X-RateLimit headers) or a 5xx. Each request records when it arrived and each
injected interaction when it was sent (``time.perf_counter``), and ``heartbeats`` when each heartbeat
arrived, for latency figures.

Asserting that something did *not* happen: :meth:`FakeDiscord.sync` returns once the client has read every
event sent so far (on every shard), :meth:`FakeDiscord.idle` once every request received has been answered;
in between, wait for the bot to finish what those events started (``NewsBot.idle``). ``helpers.settled``
does the three.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yarl
from aiohttp import web

from .fake_gateway import FakeGateway, guild_snowflake

API_PREFIX = "/api/v10"
EPHEMERAL = 64
LOADING = 128

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
LIMIT_CONTENT = 2000
LIMIT_EMBEDS = 10
LIMIT_EMBED_TOTAL = 6000
LIMIT_TITLE = 256
LIMIT_DESCRIPTION = 4096
LIMIT_FIELDS = 25
LIMIT_FIELD_NAME = 256
LIMIT_FIELD_VALUE = 1024
LIMIT_FOOTER = 2048
LIMIT_AUTHOR = 256

Json = dict[str, Any]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class Request:
    """One request the client made."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any
    files: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.perf_counter)  # when it arrived (time.perf_counter)
    status: int = 200  # the status the fake answered with

    def __repr__(self) -> str:  # short, for assertion messages
        body = json.dumps(self.json)[:300] if self.json is not None else ""
        return f"<{self.method} {self.path} {body}>"


@dataclass
class Person:
    """A guild member the tests act as."""

    id: int
    name: str
    roles: list[int] = field(default_factory=list)
    permissions: int = 0x400 | 0x800 | 0x80000000  # view channel, send messages, use app commands
    bot: bool = False

    def user(self) -> Json:
        return {
            "id": str(self.id),
            "username": self.name,
            "global_name": self.name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }

    def member(self) -> Json:
        return {
            "user": self.user(),
            "roles": [str(r) for r in self.roles],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "permissions": str(self.permissions),
        }


@dataclass
class Sent:
    """An interaction the tests injected."""

    id: int
    token: str
    user: Person
    at: float = field(default_factory=time.perf_counter)  # when it was sent to the client
    channel_id: int = 0  # where it was used (0: a DM)
    guild_id: int | None = None


@dataclass
class FakeGuild:
    """A guild the bot is in: two text channels; the people and roles are the fake's, in every guild."""

    id: int
    name: str
    channel_id: int  # "news", the mention channel
    quiet_channel_id: int  # "quiet", a channel not in mention_channel_ids


def check_limits(message: Json) -> list[str]:
    """Every way ``message`` (a create/edit body) breaks Discord's size limits; empty when it fits."""
    problems: list[str] = []
    content = message.get("content") or ""
    if len(content) > LIMIT_CONTENT:
        problems.append(f"content has {len(content)} characters")
    embeds = message.get("embeds") or []
    if len(embeds) > LIMIT_EMBEDS:
        problems.append(f"{len(embeds)} embeds")
    total = 0
    for i, embed in enumerate(embeds):
        parts = {
            "title": (embed.get("title") or "", LIMIT_TITLE),
            "description": (embed.get("description") or "", LIMIT_DESCRIPTION),
            "footer": ((embed.get("footer") or {}).get("text") or "", LIMIT_FOOTER),
            "author": ((embed.get("author") or {}).get("name") or "", LIMIT_AUTHOR),
        }
        for name, (text, limit) in parts.items():
            total += len(text)
            if len(text) > limit:
                problems.append(f"embed {i} {name} has {len(text)} characters")
        fields = embed.get("fields") or []
        if len(fields) > LIMIT_FIELDS:
            problems.append(f"embed {i} has {len(fields)} fields")
        for f in fields:
            total += len(f.get("name", "")) + len(f.get("value", ""))
            if len(f.get("name", "")) > LIMIT_FIELD_NAME:
                problems.append(f"embed {i} field name has {len(f['name'])} characters")
            if len(f.get("value", "")) > LIMIT_FIELD_VALUE:
                problems.append(f"embed {i} field value has {len(f['value'])} characters")
            if not f.get("name") or not f.get("value"):
                problems.append(f"embed {i} has an empty field")
    if total > LIMIT_EMBED_TOTAL:
        problems.append(f"embeds total {total} characters")
    return problems


def embed_text(message: Json) -> str:
    """All the visible text of a message body (content + embeds), for substring assertions."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or "", embed.get("url") or ""]
        parts += [
            (embed.get("author") or {}).get("name") or "",
            (embed.get("footer") or {}).get("text") or "",
        ]
        for f in embed.get("fields") or []:
            parts += [f.get("name", ""), f.get("value", "")]
    return "\n".join(parts)


def buttons(message: Json) -> dict[str, Json]:
    """The buttons of a message body by custom_id."""
    found: dict[str, Json] = {}
    for row in message.get("components") or []:
        for comp in row.get("components") or []:
            if comp.get("type") == 2 and "custom_id" in comp:
                found[comp["custom_id"]] = comp
    return found


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method`` and ``path`` (a regex) with ``status``."""

    method: str
    path: re.Pattern[str]
    status: int
    times: int = 1
    retry_after: float = 0.1  # a 429's wait, in seconds
    scope: str = "user"  # a 429's X-RateLimit-Scope: "user", "global" or "shared"
    hits: list[Request] = field(default_factory=list)

    def matches(self, req: Request) -> bool:
        return self.times > 0 and req.method == self.method and bool(self.path.fullmatch(req.path))

    def response(self) -> web.Response:
        if self.status != 429:
            return _json({"message": f"{self.status}: fake server error", "code": 0}, status=self.status)
        body = {
            "message": "You are being rate limited.",
            "retry_after": self.retry_after,
            "global": self.scope == "global",
            "code": 0,
        }
        headers = {
            "Via": "1.1 google",  # discord.py takes a 429 without it for a Cloudflare ban
            "Retry-After": str(max(1, round(self.retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + self.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
            "X-RateLimit-Bucket": "fake-bucket",
            "X-RateLimit-Scope": self.scope,
        }
        if self.scope == "global":
            headers["X-RateLimit-Global"] = "true"
        response = _json(body, status=429)
        response.headers.update(headers)
        return response


class FakeDiscord(FakeGateway):
    """REST + gateway on one random local port; test guilds (one by default) with channels, roles and people.

    ``shards`` is the shard count GET /gateway/bot recommends, ``guilds`` how many guilds the bot is in and
    ``max_guilds_per_shard`` (when set) the most one shard may carry before an IDENTIFY is refused (4011)."""

    def __init__(
        self,
        token: str = "fake-token",
        *,
        heartbeat_interval: float = 45.0,
        shards: int = 1,
        guilds: int = 1,
        max_guilds_per_shard: int | None = None,
    ) -> None:
        super().__init__(
            heartbeat_interval=heartbeat_interval, shards=shards, max_guilds_per_shard=max_guilds_per_shard
        )
        self.token = token
        self._in_flight = 0  # requests received and not yet answered
        self._answered = asyncio.Event()  # set while no request is in flight
        self._answered.set()
        self.faults: list[Fault] = []
        ids = itertools.count(1_300_000_000_000_000_001)
        self._ids: Iterator[int] = ids
        self.app_id = next(ids)
        self.bot = Person(self.app_id, "newsbot", bot=True)
        self.guilds: list[FakeGuild] = []
        first = self.add_guild("Test Guild")
        self.guild_id = first.id
        self.other_guild_id = next(ids)  # a guild the bot is not in
        self.channel_id = first.channel_id  # the mention channel
        self.quiet_channel_id = first.quiet_channel_id  # a channel not in mention_channel_ids
        self.admin_role_id = next(ids)
        self.other_role_id = next(ids)
        self.admin = Person(next(ids), "alice-admin", roles=[self.admin_role_id])
        self.manager = Person(
            next(ids), "mallory-manager", roles=[self.other_role_id], permissions=0x20 | 0x80000C00
        )
        self.user = Person(next(ids), "bob")
        self.user2 = Person(next(ids), "carol")
        self.requests: list[Request] = []
        self.unhandled: list[Request] = []
        self.commands: dict[tuple[int | None, str], Json] = {}
        self.messages: dict[int, Json] = {}
        self.originals: dict[str, int] = {}  # interaction token -> message id
        self._interaction_by_token: dict[str, Sent] = {}
        self._clicked: dict[str, int] = {}  # component interaction token -> message id
        self._waiters: list[tuple[Callable[[Request], bool], asyncio.Future[Request]]] = []
        self._runner: web.AppRunner | None = None
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Awaitable[web.StreamResponse]]]] = []
        self.port = 0
        self._route("GET", r"/users/@me", self._get_me)
        self._route("GET", r"/oauth2/applications/@me", self._get_application)
        self._route("GET", r"/gateway", self._get_gateway)
        self._route("GET", r"/gateway/bot", self._get_gateway)
        self._route("PUT", r"/applications/(?P<app>\d+)/commands", self._put_commands)
        self._route("PUT", r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands", self._put_commands)
        self._route("GET", r"/applications/(?P<app>\d+)/commands", self._get_commands)
        self._route("GET", r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands", self._get_commands)
        self._route("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", self._callback)
        self._route(
            "GET", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)", self._wh_get
        )
        self._route(
            "PATCH",
            r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)",
            self._wh_patch,
        )
        self._route(
            "DELETE",
            r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)",
            self._wh_delete,
        )
        self._route("POST", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)", self._wh_post)
        self._route("POST", r"/channels/(?P<cid>\d+)/messages", self._channel_post)
        self._route("PATCH", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", self._channel_patch)
        self._route("POST", r"/channels/(?P<cid>\d+)/typing", self._no_content)
        for k in range(1, guilds):
            self.add_guild(f"Test Guild {k + 1}")

    def add_guild(self, name: str | None = None) -> FakeGuild:
        """Another guild the bot is in, with its two channels (before the client connects: it is announced in
        READY). It is carried by shard ``k % shard_count``, k counting the guilds from 0."""
        k = len(self.guilds)
        guild = FakeGuild(guild_snowflake(k), name or f"Test Guild {k + 1}", next(self._ids), next(self._ids))
        self.guilds.append(guild)
        return guild

    def guild(self, guild_id: int | None = None) -> FakeGuild:
        """The guild ``guild_id`` (the first guild by default)."""
        if guild_id is None:
            return self.guilds[0]
        return next(g for g in self.guilds if g.id == guild_id)

    def guild_of_channel(self, channel_id: int) -> FakeGuild | None:
        return next((g for g in self.guilds if channel_id in (g.channel_id, g.quiet_channel_id)), None)

    def joined_guilds(self) -> list[int]:
        return [g.id for g in self.guilds]

    def ready_identity(self) -> Json:
        return {
            "user": self.bot.user() | {"verified": True, "mfa_enabled": False, "flags": 0},
            "application": {"id": str(self.app_id), "flags": 0},
        }

    # ----------------------------------------------------------------- lifecycle

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> yarl.URL:
        return yarl.URL(f"ws://127.0.0.1:{self.port}/gateway")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        # a deep accept queue: a burst opens hundreds of connections at once (the default 128 would drop
        # SYNs, and TCP's 1-second retransmission would show up as latency)
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        (address,) = self._runner.addresses
        self.port = address[1]

    async def stop(self) -> None:
        for _, fut in self._waiters:
            fut.cancel()
        await self.close_sockets()
        if self._runner is not None:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- waiting

    def _record(self, req: Request) -> None:
        self.requests.append(req)
        for pred, fut in list(self._waiters):
            if not fut.done() and pred(req):
                fut.set_result(req)
                self._waiters.remove((pred, fut))

    async def wait_for(
        self, predicate: Callable[[Request], bool], *, within: float = 5.0, seen: bool = True
    ) -> Request:
        """The first request matching ``predicate`` (already recorded when ``seen``, else a new one)."""
        if seen:
            for req in self.requests:
                if predicate(req):
                    return req
        fut: asyncio.Future[Request] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, fut))
        try:
            return await asyncio.wait_for(fut, within)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for a request; got {self.requests[-8:]}") from None
        finally:
            if (predicate, fut) in self._waiters:
                self._waiters.remove((predicate, fut))

    async def idle(self, *, within: float = 5.0) -> None:
        """Until every request received so far has been answered (and recorded)."""
        try:
            await asyncio.wait_for(self._answered.wait(), within)
        except TimeoutError:
            raise AssertionError(f"{self._in_flight} requests still unanswered") from None

    def for_interaction(self, sent: Sent) -> list[Request]:
        """Every request that used this interaction's token, in order."""
        return [r for r in self.requests if f"/{sent.token}" in r.path]

    async def callback(self, sent: Sent, *, within: float = 5.0) -> Request:
        """The interaction callback (the first response) for ``sent``."""
        return await self.wait_for(
            lambda r: r.method == "POST" and r.path == f"/interactions/{sent.id}/{sent.token}/callback",
            within=within,
        )

    async def edit_of_original(
        self, sent: Sent, predicate: Callable[[Json], bool] = lambda body: True, *, within: float = 5.0
    ) -> Json:
        """The body of the first PATCH of the interaction's original response that matches ``predicate``."""
        req = await self.wait_for(
            lambda r: (
                r.method == "PATCH"
                and r.path == f"/webhooks/{self.app_id}/{sent.token}/messages/@original"
                and predicate(r.json)
            ),
            within=within,
        )
        return req.json

    async def followup(self, sent: Sent, *, within: float = 5.0) -> Json:
        req = await self.wait_for(
            lambda r: r.method == "POST" and r.path == f"/webhooks/{self.app_id}/{sent.token}",
            within=within,
        )
        return req.json

    def original_id(self, sent: Sent) -> int:
        return self.originals[sent.token]

    # ----------------------------------------------------------------- guilds

    def guild_payload(self, guild_id: int | None = None) -> Json:
        """The GUILD_CREATE of ``guild_id`` (the first guild by default)."""
        guild = self.guild(guild_id)
        gid = str(guild.id)

        def channel(cid: int, name: str, position: int) -> Json:
            return {
                "id": str(cid),
                "type": 0,
                "guild_id": gid,
                "name": name,
                "position": position,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
            }

        def role(rid: int, name: str, permissions: int, position: int) -> Json:
            return {
                "id": str(rid),
                "name": name,
                "permissions": str(permissions),
                "position": position,
                "colors": {"primary_color": 0},
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }

        people = [self.bot, self.admin, self.manager, self.user, self.user2]
        return {
            "id": gid,
            "name": guild.name,
            "icon": None,
            "owner_id": str(self.user2.id),
            "unavailable": False,
            "member_count": len(people),
            "large": False,
            "features": [],
            "roles": [
                role(guild.id, "@everyone", 0x400 | 0x800 | 0x80000000, 0),
                role(self.admin_role_id, "news-admins", 0, 1),
                role(self.other_role_id, "managers", 0x20, 2),
            ],
            "channels": [channel(guild.channel_id, "news", 0), channel(guild.quiet_channel_id, "quiet", 1)],
            "members": [p.member() for p in people],
            "threads": [],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "preferred_locale": "en-US",
        }

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float = 0.1,
        scope: str = "user",
    ) -> Fault:
        """Answer the next ``times`` ``method`` requests whose path matches ``path`` with ``status``."""
        fault = Fault(method, re.compile(path), status, times, retry_after, scope)
        self.faults.append(fault)
        return fault

    # ----------------------------------------------------------------- injecting

    def _where(self, channel_id: int | None, guild_id: int | None = None) -> tuple[int, FakeGuild]:
        """(channel, guild) of an event: ``guild_id``'s news channel, or ``channel_id``'s guild (the first
        guild for a channel of none), or the first guild's news channel."""
        if guild_id is not None:
            guild = self.guild(guild_id)
            return channel_id or guild.channel_id, guild
        if channel_id:
            return channel_id, self.guild_of_channel(channel_id) or self.guilds[0]
        return self.guilds[0].channel_id, self.guilds[0]

    def _channel(self, channel_id: int | None, guild_id: int | None = None) -> Json:
        cid, guild = self._where(channel_id, guild_id)
        return {"id": str(cid), "type": 0, "guild_id": str(guild.id), "name": "news", "position": 0}

    def _interaction(
        self,
        itype: int,
        data: Json,
        user: Person,
        *,
        dm: bool,
        channel_id: int | None,
        guild_id: int | None = None,
    ) -> Json:
        iid = next(self._ids)
        token = f"itoken-{iid}"
        payload: Json = {
            "id": str(iid),
            "application_id": str(self.app_id),
            "type": itype,
            "token": token,
            "version": 1,
            "data": data,
            "app_permissions": str(0x400 | 0x800 | 0x4000 | 0x10000),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 8 * 1024 * 1024,
        }
        if dm:
            dm_id = next(self._ids)
            payload["user"] = user.user()
            payload["channel"] = {"id": str(dm_id), "type": 1, "recipients": [user.user()]}
            payload["channel_id"] = str(dm_id)
            payload["context"] = 1
            payload["authorizing_integration_owners"] = {"0": "0"}
        else:
            channel = self._channel(channel_id, guild_id)
            gid = channel["guild_id"]
            payload["guild_id"] = gid
            payload["guild_locale"] = "en-US"
            payload["guild"] = {"id": gid, "locale": "en-US", "features": []}
            payload["member"] = user.member()
            payload["channel"] = channel
            payload["channel_id"] = channel["id"]
            payload["context"] = 0
            payload["authorizing_integration_owners"] = {"0": gid}
        return payload

    def _sent(self, payload: Json, user: Person) -> Sent:
        guild_id = payload.get("guild_id")
        sent = Sent(
            int(payload["id"]),
            payload["token"],
            user,
            channel_id=int(payload["channel_id"]),
            guild_id=int(guild_id) if guild_id is not None else None,
        )
        self._interaction_by_token[sent.token] = sent
        return sent

    def person(self, name: str) -> Person:
        """A new plain member of the test guilds (interactions carry their member data)."""
        return Person(next(self._ids), name)

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: Person | None = None,
        dm: bool = False,
        channel_id: int | None = None,
        guild_id: int | None = None,
        resolved: Json | None = None,
    ) -> Sent:
        """Invoke ``/name`` with ``options`` as ``user`` (default: a plain member) and return its handle.

        It is used in ``channel_id`` (default: the news channel of ``guild_id``, or of the first guild) and
        arrives on that guild's shard. An option's value is a str, int, bool or float, or the option's JSON
        (``{"type": 7, "value": ...}`` for a channel, whose data goes in ``resolved``)."""
        user = user or self.user
        guild = None if dm else self._where(channel_id, guild_id)[1].id
        command = self.commands.get((guild, name)) or self.commands.get((None, name))
        type_of = {str: 3, int: 4, bool: 5, float: 10}
        data: Json = {
            "id": command["id"] if command else str(next(self._ids)),
            "name": name,
            "type": 1,
            "options": [
                {"name": k} | (v if isinstance(v, dict) else {"type": type_of[type(v)], "value": v})
                for k, v in (options or {}).items()
                if v is not None
            ],
        }
        if not dm and command and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        if resolved is not None:
            data["resolved"] = resolved
        payload = self._interaction(2, data, user, dm=dm, channel_id=channel_id, guild_id=guild_id)
        sent = self._sent(payload, user)
        await self.dispatch("INTERACTION_CREATE", payload)
        return sent

    async def click(self, message_id: int, custom_id: str, *, user: Person | None = None) -> Sent:
        """Press the button ``custom_id`` on the stored message ``message_id``."""
        user = user or self.user
        message = self.messages[message_id]
        assert custom_id in buttons(message), f"no button {custom_id!r} on message {message_id}"
        payload = self._interaction(
            3,
            {"custom_id": custom_id, "component_type": 2},
            user,
            dm=False,
            channel_id=int(message["channel_id"]),
        )
        payload["message"] = message
        sent = self._sent(payload, user)
        self._clicked[sent.token] = message_id
        await self.dispatch("INTERACTION_CREATE", payload)
        return sent

    async def post_message(
        self,
        content: str,
        *,
        user: Person | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        mention_bot: bool = True,
    ) -> Json:
        """A member posts ``content`` in a guild channel (mentioning the bot when ``mention_bot``):
        ``channel_id``, or the news channel of ``guild_id`` (or of the first guild)."""
        user = user or self.user
        message = self._message(self._where(channel_id, guild_id)[0], {"content": content}, author=user)
        message["member"] = {k: v for k, v in user.member().items() if k != "user"}
        if mention_bot:
            message["mentions"] = [
                self.bot.user() | {"member": {"roles": [], "flags": 0, "joined_at": _now()}}
            ]
        self.messages[int(message["id"])] = message
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    # ----------------------------------------------------------------- REST

    def _route(self, method: str, pattern: str, func: Callable[..., Awaitable[web.StreamResponse]]) -> None:
        self._routes.append((method, re.compile(pattern + "$"), func))

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        self._answered.clear()
        try:
            return await self._answer(request)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._answered.set()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        path = request.path[len(API_PREFIX) :]
        body: Any = None
        files: list[str] = []
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if part.name == "payload_json":  # type: ignore[union-attr]
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    files.append(part.filename or part.name or "")  # type: ignore[union-attr]
                    await part.read()  # type: ignore[union-attr]
        req = Request(request.method, path, dict(request.query), body, files, at=arrived)
        for fault in self.faults:
            if fault.matches(req):
                fault.times -= 1
                fault.hits.append(req)
                req.status = fault.status
                self._record(req)
                return fault.response()
        if path == "/users/@me" and request.headers.get("Authorization") != f"Bot {self.token}":
            req.status = 401
            self._record(req)
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for method, pattern, func in self._routes:
            if method == request.method and (m := pattern.match(path)):
                resp = await func(req, **m.groupdict())
                req.status = resp.status
                self._record(req)
                return resp
        self.unhandled.append(req)
        req.status = 404
        self._record(req)
        return _json({"message": "404: Not Found (fake)", "code": 0}, status=404)

    async def _no_content(self, req: Request, **_: str) -> web.StreamResponse:
        return web.Response(status=204)

    async def _get_me(self, req: Request) -> web.StreamResponse:
        return _json(self.bot.user() | {"verified": True, "mfa_enabled": False, "flags": 0})

    async def _get_application(self, req: Request) -> web.StreamResponse:
        return _json(
            {
                "id": str(self.app_id),
                "name": "newsbot",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.user2.user(),
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
                "team": None,
            }
        )

    async def _get_gateway(self, req: Request) -> web.StreamResponse:
        return _json(
            {
                "url": str(self.gateway_url),
                "shards": self.shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _put_commands(self, req: Request, app: str, guild: str | None = None) -> web.StreamResponse:
        gid = int(guild) if guild else None
        for key in [k for k in self.commands if k[0] == gid]:
            del self.commands[key]
        out = []
        for cmd in req.json or []:
            stored = dict(cmd) | {
                "id": str(next(self._ids)),
                "application_id": app,
                "version": "1",
                "type": cmd.get("type", 1),
            }
            if gid is not None:
                stored["guild_id"] = str(gid)
            self.commands[(gid, cmd["name"])] = stored
            out.append(stored)
        return _json(out)

    async def _get_commands(self, req: Request, app: str, guild: str | None = None) -> web.StreamResponse:
        gid = int(guild) if guild else None
        return _json([c for (g, _), c in self.commands.items() if g == gid])

    def _message(self, channel_id: int, body: Json, *, author: Person | None = None, flags: int = 0) -> Json:
        mid = next(self._ids)
        message: Json = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "guild_id": str(self._where(channel_id)[1].id),
            "type": 0,
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": [],
            "author": (author or self.bot).user(),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": _now(),
            "edited_timestamp": None,
            "flags": (body.get("flags") or 0) | flags,
        }
        return message

    def _update(self, message: Json, body: Json) -> Json:
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        if "flags" in body and body["flags"] is not None:
            message["flags"] = (message.get("flags", 0) & EPHEMERAL) | body["flags"]
        message["flags"] = message.get("flags", 0) & ~LOADING
        message["edited_timestamp"] = _now()
        return message

    async def _callback(self, req: Request, iid: str, token: str) -> web.StreamResponse:
        cb_type = req.json["type"]
        data = req.json.get("data") or {}
        sent = self._interaction_by_token.get(token)
        channel_id = self._response_channel(sent)
        ephemeral = bool((data.get("flags") or 0) & EPHEMERAL)
        resource: Json | None = None
        if cb_type in (4, 5):
            message = self._message(channel_id, data, flags=LOADING if cb_type == 5 else 0)
            message["type"] = 20
            message["webhook_id"] = str(self.app_id)
            message["application_id"] = str(self.app_id)
            message["interaction_metadata"] = {
                "id": iid,
                "type": 2,
                "user": (sent.user if sent else self.user).user(),
                "authorizing_integration_owners": {"0": message["guild_id"]},
            }
            self.messages[int(message["id"])] = message
            self.originals[token] = int(message["id"])
            resource = {"type": cb_type, "message": message}
        elif cb_type in (6, 7) and token in self._clicked:
            # a component interaction: its original response is the message with the button
            self.originals[token] = self._clicked[token]
            if cb_type == 7:
                self._update(self.messages[self._clicked[token]], data)
            resource = {"type": cb_type}
        return _json(
            {
                "interaction": {
                    "id": iid,
                    "type": 2,
                    "response_message_id": resource["message"]["id"]
                    if resource and "message" in resource
                    else None,
                    "response_message_loading": cb_type == 5,
                    "response_message_ephemeral": ephemeral,
                },
                **({"resource": resource} if resource else {}),
            }
        )

    def _response_channel(self, sent: Sent | None) -> int:
        """Where an interaction's responses go: its channel (the first guild's news channel for a DM)."""
        return sent.channel_id if sent is not None and sent.guild_id is not None else self.channel_id

    def _webhook_message(self, token: str, mid: str) -> Json | None:
        if mid == "@original":
            original = self.originals.get(token)
            return self.messages.get(original) if original is not None else None
        return self.messages.get(int(mid))

    async def _wh_get(self, req: Request, app: str, token: str, mid: str) -> web.StreamResponse:
        message = self._webhook_message(token, mid)
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(message)

    async def _wh_patch(self, req: Request, app: str, token: str, mid: str) -> web.StreamResponse:
        message = self._webhook_message(token, mid)
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(self._update(message, req.json or {}))

    async def _wh_delete(self, req: Request, app: str, token: str, mid: str) -> web.StreamResponse:
        message = self._webhook_message(token, mid)
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        del self.messages[int(message["id"])]
        return web.Response(status=204)

    async def _wh_post(self, req: Request, app: str, token: str) -> web.StreamResponse:
        message = self._message(self._response_channel(self._interaction_by_token.get(token)), req.json or {})
        message["webhook_id"] = app
        message["application_id"] = app
        self.messages[int(message["id"])] = message
        return _json(message)

    async def _channel_post(self, req: Request, cid: str) -> web.StreamResponse:
        body = req.json or {}
        message = self._message(int(cid), body)
        if body.get("message_reference"):
            message["type"] = 19
            message["message_reference"] = body["message_reference"] | {"channel_id": cid}
        self.messages[int(message["id"])] = message
        return _json(message)

    async def _channel_patch(self, req: Request, cid: str, mid: str) -> web.StreamResponse:
        message = self.messages.get(int(mid))
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(self._update(message, req.json or {}))


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py only decodes a body whose Content-Type is exactly "application/json"
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")
