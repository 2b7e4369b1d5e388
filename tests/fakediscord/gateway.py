"""The fake gateway: HELLO, heartbeats, IDENTIFY/READY, RESUME/RESUMED, and injected trouble."""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.fakediscord.server import FakeDiscord

log = logging.getLogger("fakediscord.gateway")

(
    DISPATCH,
    HEARTBEAT,
    IDENTIFY,
    PRESENCE,
    VOICE,
    RESUME,
    RECONNECT,
    REQUEST_MEMBERS,
    INVALID_SESSION,
    HELLO,
    ACK,
) = (
    0,
    1,
    2,
    3,
    4,
    6,
    7,
    8,
    9,
    10,
    11,
)


@dataclass
class Session:
    """A gateway session: its sequence, the events sent in it (for RESUME), and its socket if connected."""

    id: str
    token: str
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    socket: Connection | None = None
    valid: bool = True


@dataclass
class Received:
    """A payload the bot sent on the gateway (tokens removed)."""

    at: float
    op: int
    data: Any
    path: str


class Connection:
    """One WebSocket connection; sends are serialised so frames never interleave."""

    def __init__(self, ws: web.WebSocketResponse, path: str) -> None:
        self.ws = ws
        self.path = path
        self.session: Session | None = None
        self._lock = asyncio.Lock()

    @property
    def open(self) -> bool:
        """Say whether the socket can still be written to."""
        return not self.ws.closed

    async def send(self, payload: dict[str, Any]) -> None:
        """Send one JSON text frame (dropped silently if the socket closed meanwhile)."""
        async with self._lock:
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(json.dumps(payload))
            except (ConnectionResetError, RuntimeError):
                log.debug("gateway socket closed while sending op %s", payload.get("op"))


class Gateway:
    """The WebSocket gateway of the fake Discord.

    Tests inject trouble with `reconnect()`, `invalidate_session()`, `close(code)` and
    `ack_heartbeats = False`, and watch the bot recover through `identify_count`,
    `resume_count`, `received` and the `wait_*` helpers.
    """

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.heartbeat_interval_ms = 41250
        self.ack_heartbeats = True
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None
        self.connections: list[Connection] = []
        self.received: list[Received] = []
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.ready_count = 0
        self.resumed_count = 0
        self.failed_resumes = 0
        # The intents of the last IDENTIFY: the fake only sends events the bot asked for.
        self.intents = 0
        self._connected = asyncio.Event()
        self._change = asyncio.Event()

    # ----- state -----

    @property
    def connected(self) -> bool:
        """Say whether a session is live on an open socket (READY or RESUMED sent)."""
        return self._connected.is_set()

    def _notify(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    async def wait_until(self, condition: Any, timeout: float = 5.0, what: str = "gateway condition") -> None:
        """Wait until `condition()` is true, re-checking whenever the gateway changes."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            change = self._change
            try:
                await asyncio.wait_for(change.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_connected(self, timeout: float = 5.0) -> None:
        """Wait until the bot has a live session (after IDENTIFY or RESUME)."""
        await self.wait_until(lambda: self.connected, timeout, "the bot to connect to the gateway")

    async def wait_for_identify(self, count: int, timeout: float = 5.0) -> None:
        """Wait until the bot has sent `count` IDENTIFY payloads in total and is connected."""
        await self.wait_until(
            lambda: self.identify_count >= count and self.connected, timeout, f"IDENTIFY number {count}"
        )

    async def wait_for_resume(self, count: int, timeout: float = 5.0) -> None:
        """Wait until `count` sessions have been resumed in total and the bot is connected."""
        await self.wait_until(
            lambda: self.resumed_count >= count and self.connected, timeout, f"RESUMED number {count}"
        )

    # ----- the socket -----

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one gateway connection."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        connection = Connection(ws, request.path)
        self.connections.append(connection)
        self._notify()
        await connection.send(
            {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
        )
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(message.data)
                await self._on_payload(connection, payload)
        finally:
            session = connection.session
            if session is not None and session.socket is connection:
                session.socket = None
                if self.current is session:
                    self._connected.clear()
            self._notify()
        return ws

    async def _on_payload(self, connection: Connection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        visible = data
        if isinstance(data, dict) and "token" in data:
            visible = {k: v for k, v in data.items() if k != "token"}
        self.received.append(Received(time.monotonic(), int(op or 0), visible, connection.path))
        if op == HEARTBEAT:
            self.heartbeat_count += 1
            session = connection.session
            if session is not None and isinstance(data, int):
                # The client has everything up to `data`; a RESUME never asks for those again.
                keep = bisect.bisect_right([e["s"] for e in session.events], data)
                del session.events[:keep]
            if self.ack_heartbeats:
                await connection.send({"op": ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(connection, data or {})
        elif op == RESUME:
            await self._resume(connection, data or {})
        self._notify()

    async def _identify(self, connection: Connection, data: dict[str, Any]) -> None:
        self.identify_count += 1
        if data.get("token") != self.fake.world.token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        self.intents = int(data.get("intents") or 0)
        for old in self.sessions.values():
            old.valid = False
        session = Session(id=secrets.token_hex(16), token=data["token"])
        self.sessions[session.id] = session
        self.current = session
        session.socket = connection
        connection.session = session
        world = self.fake.world
        ready = {
            "v": 10,
            "user": {**world.bot_user.payload(), "verified": True, "mfa_enabled": False, "email": None},
            # Like Discord: only the guilds the bot is a member of (not those it was removed from).
            "guilds": [{"id": str(g.id), "unavailable": True} for g in world.guilds.values()
                       if world.bot_user.id in g.members],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.fake.resume_gateway_url,
            "shard": [0, 1],
            "application": {"id": str(world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
        }
        await self._send_event(session, "READY", ready)
        for guild in world.guilds.values():
            if not guild.unavailable:
                await self._send_event(session, "GUILD_CREATE", world.guild_create_payload(guild))
        self.ready_count += 1
        self._connected.set()

    async def _resume(self, connection: Connection, data: dict[str, Any]) -> None:
        self.resume_count += 1
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not session.valid or data.get("token") != session.token:
            self.failed_resumes += 1
            await connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        session.socket = connection
        connection.session = session
        self.current = session
        since = int(data.get("seq") or 0)
        for event in session.events:
            if event["s"] > since:
                await connection.send(event)
        await self._send_event(session, "RESUMED", {})
        self.resumed_count += 1
        self._connected.set()

    async def _send_event(self, session: Session, name: str, data: Any) -> None:
        session.seq += 1
        event = {"op": DISPATCH, "t": name, "s": session.seq, "d": data}
        session.events.append(event)
        if session.socket is not None:
            await session.socket.send(event)

    # ----- used by the fake and the tests -----

    async def dispatch(
        self, name: str, data: Any, *, wait_connected: bool = True, timeout: float = 5.0
    ) -> None:
        """Send an event to the bot's session (buffered for RESUME if the socket is down)."""
        if wait_connected:
            await self.wait_connected(timeout)
        session = self.current
        if session is None or not session.valid:
            raise RuntimeError(f"no gateway session to dispatch {name} to")
        await self._send_event(session, name, data)

    async def _send_op(self, payload: dict[str, Any]) -> Connection:
        session = self.current
        if session is None or session.socket is None:
            raise RuntimeError("the bot is not connected to the gateway")
        connection = session.socket
        await connection.send(payload)
        return connection

    async def reconnect(self) -> None:
        """Ask the bot to reconnect (op 7); it should RESUME on `resume_gateway_url`."""
        await self._send_op({"op": RECONNECT, "d": None, "s": None, "t": None})
        self._connected.clear()
        self._notify()

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send INVALID_SESSION (op 9); a non-resumable one makes the bot IDENTIFY afresh."""
        session = self.current
        if session is not None and not resumable:
            session.valid = False
        await self._send_op({"op": INVALID_SESSION, "d": resumable, "s": None, "t": None})
        self._connected.clear()
        self._notify()

    async def close(self, code: int = 4000, reason: str = "fake gateway closed the connection") -> None:
        """Close the bot's socket with a close code (4000 resumes; 4004 and friends are fatal)."""
        session = self.current
        if session is None or session.socket is None:
            raise RuntimeError("the bot is not connected to the gateway")
        connection = session.socket
        self._connected.clear()
        await connection.ws.close(code=code, message=reason.encode())
        self._notify()

    async def drop_connections(self) -> None:
        """Close every socket abruptly (used when a bot is killed)."""
        for connection in list(self.connections):
            if connection.open:
                await connection.ws.close(code=1001)
        self._connected.clear()
        self._notify()

    def received_ops(self, op: int) -> list[Received]:
        """Return the payloads with this op code the bot sent."""
        return [r for r in self.received if r.op == op]
