"""The gateway half of the fake Discord: one session per shard, each on its own websocket.

Discord splits a large bot's gateway into shards. The client asks ``GET /gateway/bot`` how many to run
(``shards``), opens one websocket per shard and IDENTIFYs each with ``shard: [id, count]``. A guild's events
arrive only on the shard ``(guild_id >> 22) % count`` (DMs on shard 0), and each shard's READY is followed by
the GUILD_CREATEs of the guilds it owns. A client that sends no ``shard`` is shard ``[0, 1]``.

Each :class:`ShardSession` has its own sequence numbers and history: when its websocket drops, events meant
for it are kept and replayed on RESUME (as Discord does), while the other shards go on. An IDENTIFY whose
shard is out of range is closed with 4010 (invalid shard), and one whose shard would hold more than
``max_guilds_per_shard`` guilds with 4011 (sharding required), Discord's close codes.

Guild ids: :func:`guild_snowflake` makes the k-th guild's id so that it lands on shard ``k % count`` for
every shard count up to 16, so a test can pick where its guilds are.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import yarl
from aiohttp import WSMsgType, web

Json = dict[str, Any]

# A multiple of every shard count up to 16 (their least common multiple, 720720), as a snowflake's time part
# (milliseconds since Discord's epoch: mid-2024).
GUILD_TIME = 720720 * 420_000
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011


def guild_snowflake(k: int) -> int:
    """The id of the k-th guild: on shard ``k % count`` for every count from 1 to 16."""
    return (GUILD_TIME + k) << 22


def shard_of(guild_id: int, count: int) -> int:
    """The shard that carries ``guild_id``'s events, as Discord computes it."""
    return (guild_id >> 22) % count


@dataclass(eq=False)
class ShardSession:
    """One shard's gateway session: from its IDENTIFY until Discord (the fake) invalidates it. Its websocket
    may drop and be resumed meanwhile."""

    shard_id: int
    shard_count: int
    session_id: str
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    history: list[Json] = field(default_factory=list)  # dispatched frames, replayed on RESUME
    resumable: bool = True
    guilds: list[int] = field(default_factory=list)  # the guilds it carries, as READY announced them
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # after READY or RESUMED, until a drop
    beat_waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)  # (sequence, until)

    def owns(self, guild_id: int) -> bool:
        return shard_of(guild_id, self.shard_count) == self.shard_id

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed and self.ready.is_set()

    async def send(self, event: str, data: Json, *, keep: bool = False) -> None:
        assert self.ws is not None
        self.seq += 1
        frame = {"op": 0, "t": event, "s": self.seq, "d": data}
        if keep:
            self.history.append(frame)
        await self.ws.send_json(frame)

    def keep(self, event: str, data: Json) -> None:
        """An event for this shard while its websocket is down: sent on RESUME."""
        self.seq += 1
        self.history.append({"op": 0, "t": event, "s": self.seq, "d": data})

    def heartbeat(self, sequence: int | None) -> None:
        for waiter in list(self.beat_waiters):
            wanted, read = waiter
            if (sequence or 0) >= wanted:
                self.beat_waiters.remove(waiter)
                if not read.done():
                    read.set_result(None)


class FakeGateway:
    """The gateway of :class:`FakeDiscord`, which tells it who the bot is and which guilds it is in."""

    def __init__(self, *, heartbeat_interval: float, shards: int, max_guilds_per_shard: int | None) -> None:
        self.heartbeat_interval = heartbeat_interval  # seconds, sent in HELLO
        self.shards = shards  # the count GET /gateway/bot recommends
        self.max_guilds_per_shard = max_guilds_per_shard  # more on one shard: closed with 4011
        self.heartbeats: list[float] = []  # when each heartbeat arrived, any shard (time.perf_counter)
        self.connections = 0  # gateway websockets accepted
        self.identifies = 0
        self.identify_payloads: list[Json] = []  # every IDENTIFY's payload, in order
        self.resumes: list[Json] = []  # the RESUME payloads received
        self.invalidate_resume = False  # answer the next RESUME with INVALID_SESSION (must re-identify)
        self.identified = asyncio.Event()  # set after the first READY
        self.sessions: dict[int, ShardSession] = {}  # by shard id
        self._sockets: set[web.WebSocketResponse] = set()

    # What the REST side knows (FakeDiscord defines these).
    @property
    def gateway_url(self) -> yarl.URL:
        raise NotImplementedError

    def ready_identity(self) -> Json:
        """READY's ``user`` and ``application``."""
        raise NotImplementedError

    def joined_guilds(self) -> list[int]:
        raise NotImplementedError

    def guild_payload(self, guild_id: int | None = None) -> Json:
        raise NotImplementedError

    # ----------------------------------------------------------------- state

    @property
    def identify_payload(self) -> Json | None:
        """The last IDENTIFY's payload."""
        return self.identify_payloads[-1] if self.identify_payloads else None

    @property
    def identified_shards(self) -> list[tuple[int, ...]]:
        """``[id, count]`` of every IDENTIFY, in order (``[0, 1]`` for one without ``shard``)."""
        return [tuple(p.get("shard") or (0, 1)) for p in self.identify_payloads]

    def session_of(self, guild_id: int | None) -> ShardSession:
        """The session carrying ``guild_id``'s events (shard 0's for DMs)."""
        for session in self.sessions.values():
            if session.owns(guild_id) if guild_id is not None else session.shard_id == 0:
                return session
        raise AssertionError(f"no shard of the client carries guild {guild_id}: the client is not connected")

    async def close_sockets(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    # ----------------------------------------------------------------- the websocket

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        self.connections += 1
        session: ShardSession | None = None
        hello = {"heartbeat_interval": round(self.heartbeat_interval * 1000)}
        await ws.send_json({"op": 10, "d": hello, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op = payload.get("op")
                if op == 1:
                    self.heartbeats.append(time.perf_counter())
                    if session is not None:
                        session.heartbeat(payload.get("d"))
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    session = await self._identify(ws, payload["d"])
                elif op == 6:
                    session = await self._resume(ws, payload["d"])
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ready.clear()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: Json) -> ShardSession | None:
        self.identifies += 1
        self.identify_payloads.append(data)
        shard_id, count = data.get("shard") or (0, 1)
        if not 0 <= shard_id < count:
            await ws.close(code=INVALID_SHARD, message=b"Invalid shard.")
            return None
        owned = [g for g in self.joined_guilds() if shard_of(g, count) == shard_id]
        if self.max_guilds_per_shard is not None and len(owned) > self.max_guilds_per_shard:
            await ws.close(code=SHARDING_REQUIRED, message=b"Sharding required.")
            return None
        name = "fake-session" if shard_id == 0 else f"fake-session-{shard_id}"
        session = ShardSession(shard_id, count, name, ws=ws, guilds=owned)
        self.sessions[shard_id] = session  # a new IDENTIFY replaces the shard's session
        ready: Json = self.ready_identity() | {
            "v": 10,
            "guilds": [{"id": str(g), "unavailable": True} for g in owned],
            "session_id": name,
            "resume_gateway_url": str(self.gateway_url),
            "private_channels": [],
            "relationships": [],
        }
        if "shard" in data:
            ready["shard"] = [shard_id, count]
        await session.send("READY", ready)
        for guild_id in owned:
            await session.send("GUILD_CREATE", self.guild_payload(guild_id))
        session.ready.set()
        self.identified.set()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: Json) -> ShardSession | None:
        self.resumes.append(data)
        found = [s for s in self.sessions.values() if s.session_id == data.get("session_id")]
        session = found[0] if found else None
        if session is None or self.invalidate_resume or not session.resumable:
            self.invalidate_resume = False
            if session is not None:
                session.resumable = False
            await ws.send_json({"op": 9, "d": False, "s": None, "t": None})
            return None
        session.ws = ws
        for frame in session.history:  # what the client missed, then RESUMED (as Discord does)
            if frame["s"] > (data.get("seq") or 0):
                await ws.send_json(frame)
        await session.send("RESUMED", {})
        session.ready.set()
        return session

    # ----------------------------------------------------------------- for the tests

    async def dispatch(self, event: str, data: Json) -> None:
        """Send a DISPATCH on the shard that carries its guild (``data["guild_id"]``; shard 0 without one),
        or keep it for that shard's RESUME while its websocket is down."""
        guild_id = data.get("guild_id")
        session = self.session_of(int(guild_id) if guild_id is not None else None)
        if not session.connected:
            assert session.resumable, "the client is not connected"
            session.keep(event, data)
            return
        await session.send(event, data, keep=True)

    async def sync(self, *, within: float = 5.0) -> None:
        """Until the client has read every event sent so far, on every shard (and so has started handling
        each).

        The fake asks each shard for a heartbeat (op 1, as Discord may); the client sends one at once, with
        the sequence number of the last event it read on that shard, and it reads each shard's events in
        order."""
        assert self.sessions, "the client is not connected"
        for session in list(self.sessions.values()):
            ws = session.ws
            assert ws is not None and session.connected, f"shard {session.shard_id} is not connected"
            read: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            waiter = (session.seq, read)
            session.beat_waiters.append(waiter)
            try:
                await ws.send_json({"op": 1, "d": None, "s": None, "t": None})
                await asyncio.wait_for(read, within)
            except TimeoutError:
                raise AssertionError(
                    f"shard {session.shard_id} did not read event {session.seq} in time"
                ) from None
            finally:
                if waiter in session.beat_waiters:
                    session.beat_waiters.remove(waiter)

    async def drop(self, code: int = 4000, *, shard: int = 0) -> None:
        """Close a shard's websocket as a failing connection would (the client is expected to resume)."""
        session = self.sessions.get(shard)
        ws = session.ws if session is not None else None
        assert session is not None and ws is not None and not ws.closed, f"shard {shard} is not connected"
        session.ready.clear()
        await ws.close(code=code, message=b"fake drop")

    async def wait_session(self, within: float = 10.0, *, shard: int | None = None) -> None:
        """Until the client has identified or resumed (after a :meth:`drop`): every shard, or ``shard``."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within

        def ready() -> bool:
            if shard is not None:
                return shard in self.sessions and self.sessions[shard].ready.is_set()
            return bool(self.sessions) and all(s.ready.is_set() for s in self.sessions.values())

        while not ready():  # polled: a re-IDENTIFY replaces a session (and its event) meanwhile
            if loop.time() > end:
                raise AssertionError("the client did not reconnect in time")
            await asyncio.sleep(0.005)
