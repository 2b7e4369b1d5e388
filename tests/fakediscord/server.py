"""The fake Discord server: REST under /api/v10, the gateway, and attachment downloads.

Start it with ``async with FakeDiscord() as fake:`` (or ``await fake.start()``), point
the bot at ``fake.api_base_url`` and ``fake.gateway_url``, and give it ``fake.world.token``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakediscord import validation
from tests.fakediscord.faults import FaultPlan
from tests.fakediscord.gateway import Gateway
from tests.fakediscord.interactions import (
    ALLOWED_RESPONSES,
    InteractionRecord,
    InteractionType,
    Modal,
    ResponseType,
)
from tests.fakediscord.journal import Entry, Journal, UploadedFile
from tests.fakediscord.ratelimit import RateLimiter
from tests.fakediscord.snowflake import new_snowflake
from tests.fakediscord.world import (
    Channel,
    ChannelType,
    Guild,
    Member,
    Message,
    MessageFlag,
    Perm,
    StoredAttachment,
    User,
    World,
)

if TYPE_CHECKING:
    from tests.fakediscord.actors import Actor

log = logging.getLogger("fakediscord")

API_PREFIX = "/api/v10"
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
# Flags a bot may set when it sends a message (ephemeral only through interactions).
SENDABLE_FLAGS = (
    MessageFlag.SUPPRESS_EMBEDS | MessageFlag.SUPPRESS_NOTIFICATIONS | MessageFlag.IS_COMPONENTS_V2
)
INTENT_GUILD_MESSAGES = 1 << 9
# How far back `enforce_nonce` looks ("the past few minutes" in Discord's documentation).
NONCE_WINDOW = timedelta(minutes=5)
INTENT_DIRECT_MESSAGES = 1 << 12


class ApiError(Exception):
    """An error answer with Discord's JSON body."""

    def __init__(self, status: int, code: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body = body or {"message": message, "code": code}


def form_error(errors: validation.FormErrors) -> ApiError:
    """Turn collected validation problems into Discord's 400 answer."""
    return ApiError(400, 50035, "Invalid Form Body", errors.body())


@dataclass
class Reply:
    """A REST answer."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """A matched REST request as handlers see it."""

    entry: Entry
    request: web.Request

    @property
    def params(self) -> dict[str, str]:
        """Return the route parameters."""
        return self.entry.params

    @property
    def json(self) -> Any:
        """Return the JSON body (or the multipart payload_json)."""
        return self.entry.json

    @property
    def files(self) -> list[UploadedFile]:
        """Return the uploaded files."""
        return self.entry.files

    def int_param(self, name: str) -> int:
        """Return a numeric route parameter, answering 404 for a malformed one."""
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(404, 0, "404: Not Found") from None


Handler = Callable[[Call], Awaitable[Reply]]

NO_AUTH_PREFIXES = ("/interactions/", "/webhooks/")


class FakeDiscord:
    """An in-process Discord: REST, gateway and a world the tests build and inspect."""

    def __init__(self, world: World | None = None, *, host: str = "127.0.0.1") -> None:
        self.world = world or World()
        self.host = host
        self.port = 0
        self.journal = Journal()
        self.faults = FaultPlan()
        self.ratelimits = RateLimiter()
        self.gateway = Gateway(self)
        self.interactions: dict[int, InteractionRecord] = {}
        self._by_token: dict[str, InteractionRecord] = {}
        self.unknown_routes: list[Entry] = []
        self.rejections: list[Entry] = []
        self.downloads: list[int] = []
        # Called while waiting; the harness raises the bot's own error here if the bot died.
        self.liveness: Callable[[], None] | None = None
        # Discord drops an interaction that is not answered within 3 seconds.
        self.callback_deadline = 3.0
        self._seq = itertools.count()
        self._routes = _compile_routes(self)
        self._runner: web.AppRunner | None = None
        # wait_until's conditions, checked once after each burst of changes (not one wake-up each).
        self._waiters: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._check_scheduled = False
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.app_owner = User(id=new_snowflake(), username="hearth-developer")
        # The clock `enforce_nonce`'s window is measured on: real time unless a test sets its own
        # (`fake.nonce_clock = hearth.clock`), so a restart "hours later" on the test's clock is
        # past the window, as it would be on Discord.
        self.nonce_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        # (channel id, nonce) -> [(message id, when it was sent on the nonce clock)]
        self._nonce_sends: dict[tuple[int, Any], list[tuple[int, datetime]]] = {}
        self.world.add_listener(self._notify)

    # ----- lifecycle -----

    async def start(self) -> FakeDiscord:
        """Listen on a free port on the loopback interface."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway-resume", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.world.cdn_base = self.base_url
        return self

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for task in list(self._tasks):
            task.cancel()
        await self.gateway.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Return the server's root URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """Return the REST base URL (config `[discord] api_base_url`)."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Return the gateway URL (config `[discord] gateway_url`)."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """Return the URL READY names for resuming (a different path, so tests can tell)."""
        return f"ws://{self.host}:{self.port}/gateway-resume"

    # ----- waiting -----

    def _notify(self) -> None:
        # Checked on the next turn of the loop, so a change is complete before conditions see it.
        if self._waiters and not self._check_scheduled:
            self._check_scheduled = True
            asyncio.get_running_loop().call_soon(self._check_waiters)

    def _check_waiters(self) -> None:
        self._check_scheduled = False
        still: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        for condition, future in self._waiters:
            if future.done():
                continue
            try:
                value = condition()
            except Exception as exc:  # a broken condition fails its own waiter
                future.set_exception(exc)
                continue
            if value:
                future.set_result(value)
            else:
                still.append((condition, future))
        self._waiters = still

    async def wait_until(
        self, condition: Callable[[], Any], timeout: float = 5.0, what: str = "a condition"
    ) -> Any:
        """Wait until `condition()` returns something truthy (re-checked on every change); return it."""
        deadline = time.monotonic() + timeout
        while True:
            if self.liveness is not None:
                self.liveness()
            value = condition()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            # Woken when a change makes the condition true, and every half second to check liveness.
            # Hundreds of concurrent waiters then cost one check each per burst of changes, not a
            # task switch each per change, which on a loaded machine pushed the bot past 3 s.
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiters.append((condition, future))
            try:
                return await asyncio.wait_for(future, min(remaining, 0.5))
            except TimeoutError:
                continue

    async def wait_for_message(
        self,
        channel: Channel | int | None = None,
        predicate: Callable[[Message], bool] | None = None,
        *,
        timeout: float = 5.0,
        after: Message | int | None = None,
    ) -> Message:
        """Wait for a (listed) message in a channel, optionally matching a predicate; return it."""
        channel_id = channel if isinstance(channel, int) or channel is None else channel.id
        after_id = after.id if isinstance(after, Message) else (after or 0)

        def find() -> Message | None:
            candidates = (
                self.world.channel_messages(channel_id)
                if channel_id is not None
                else [m for m in self.world.messages.values() if not m.deleted and not m.ephemeral]
            )
            for message in candidates:
                if message.id > after_id and (predicate is None or predicate(message)):
                    return message
            return None

        where = f"channel {channel_id}" if channel_id else "any channel"
        return await self.wait_until(find, timeout, f"a message in {where}")

    # ----- reading the world -----

    def messages(self, channel: Channel | int, *, include_deleted: bool = False) -> list[Message]:
        """Return the messages in a channel (public ones, oldest first)."""
        return self.world.channel_messages(channel, include_deleted=include_deleted)

    def last_message(self, channel: Channel | int) -> Message | None:
        """Return the newest (not deleted) message in a channel, or None."""
        found = self.world.channels.get(channel if isinstance(channel, int) else channel.id)
        for message_id in reversed(found.message_ids if found else []):
            message = self.world.messages[message_id]
            if not message.deleted:
                return message
        return None

    def message(self, message_id: int) -> Message:
        """Return any stored message (including ephemeral and deleted ones)."""
        return self.world.messages[message_id]

    def dm_messages(self, user: User | Member) -> list[Message]:
        """Return the messages the bot sent to a user's DMs."""
        target = user.user if isinstance(user, Member) else user
        channel_id = self.world.dm_channels.get(target.id)
        return [] if channel_id is None else self.world.channel_messages(channel_id)

    def edits_of(self, message: Message | int) -> list[dict[str, Any]]:
        """Return the earlier versions of a message, oldest first (its current state is the message)."""
        found = self.world.messages[message if isinstance(message, int) else message.id]
        return list(found.history)

    def commands(self, guild: Guild | int | None = None) -> list[dict[str, Any]]:
        """Return the application commands synced globally (guild None) or to a guild."""
        key = None if guild is None else (guild if isinstance(guild, int) else guild.id)
        return list(self.world.commands.get(key, []))

    def command_names(self, guild: Guild | int | None = None) -> list[str]:
        """Return the names of the synced commands, globally or in a guild."""
        return [c["name"] for c in self.commands(guild)]

    def actor(self, member: Member | User, channel: Channel | None = None) -> Actor:
        """Return an actor that acts as this member (in `channel`)."""
        from tests.fakediscord.actors import Actor

        return Actor(self, member, channel)

    # ----- changing the world while the bot runs -----

    async def delete_channel(self, channel: Channel) -> None:
        """Delete a channel (or thread): REST calls to it answer 404 and the bot is told."""
        self.world.remove_channel(channel)
        if channel.is_thread:
            event, data = (
                "THREAD_DELETE",
                {
                    "id": str(channel.id),
                    "guild_id": str(channel.guild_id),
                    "parent_id": str(channel.parent_id),
                    "type": channel.type,
                },
            )
        else:
            event, data = "CHANNEL_DELETE", channel.payload(self.world)
        if self.gateway.connected:
            await self.gateway.dispatch(event, data)

    async def join_guild(self, guild: Guild) -> None:
        """Tell a running bot about a guild added to the world after it connected (GUILD_CREATE)."""
        guild.unavailable = False
        await self.gateway.dispatch("GUILD_CREATE", self.world.guild_create_payload(guild))

    async def remove_bot_from_guild(self, guild: Guild) -> None:
        """Kick the bot from a guild: its channels answer 403 and the bot gets GUILD_DELETE."""
        guild.members.pop(self.world.bot_user.id, None)
        guild.unavailable = True
        if self.gateway.connected:
            await self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)})

    # ----- REST plumbing -----

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        body, files = await _read_body(request)
        template, params, handler = self._match(method, path)
        entry = Entry(
            seq=next(self._seq),
            at=time.monotonic(),
            method=method,
            path=path,
            route=f"{method} {template}" if template else None,
            params=params,
            query=dict(request.query),
            json=body,
            files=files,
        )
        extra_headers: dict[str, str] = {}
        if handler is None:
            reply = Reply(404, {"message": "404: Not Found", "code": 0})
            self.unknown_routes.append(entry)
            log.warning("fake Discord has no route for %s %s", method, path)
        else:
            decision = self.ratelimits.check(entry)
            extra_headers = decision.headers
            if not decision.allowed:
                reply = Reply(429, decision.body, {})
                entry.fault = f"rate limited ({decision.scope})"
            else:
                fault = self.faults.take(entry)
                if fault is not None:
                    entry.fault = fault.name
                    if fault.delay > 0:
                        self._notify()  # waiters may be watching for the held request (`fault.hits`)
                        await asyncio.sleep(fault.delay)
                if fault is not None and fault.status is not None and not fault.after_effect:
                    reply = Reply(fault.status, fault.body, dict(fault.headers))
                else:
                    reply = await self._run_handler(handler, entry, request, path)
                    if fault is not None and fault.status is not None and reply.status < 400:
                        # An after-effect fault: the request took effect, and its answer is lost.
                        reply = Reply(fault.status, fault.body, dict(fault.headers))
        entry.status = reply.status
        entry.response = reply.body
        entry.response_headers = {**extra_headers, **reply.headers}
        if reply.status == 400 and isinstance(reply.body, dict) and reply.body.get("code") in (50035, 50006):
            self.rejections.append(entry)
            log.warning("fake Discord refused %s %s: %s", method, path, json.dumps(reply.body)[:500])
        self.journal.append(entry)
        self._notify()
        return _respond(reply, extra_headers)

    async def _run_handler(self, handler: Handler, entry: Entry, request: web.Request, path: str) -> Reply:
        authorized = request.headers.get("Authorization") == f"Bot {self.world.token}"
        if not path.startswith(NO_AUTH_PREFIXES) and not authorized:
            return Reply(401, {"message": "401: Unauthorized", "code": 0})
        try:
            return await handler(Call(entry, request))
        except ApiError as exc:
            return Reply(exc.status, exc.body)

    def _match(self, method: str, path: str) -> tuple[str | None, dict[str, str], Handler | None]:
        for route_method, template, pattern, handler in self._routes:
            if route_method != method:
                continue
            match = pattern.match(path)
            if match:
                return template, match.groupdict(), handler
        return None, {}, None

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        try:
            attachment = self.world.attachments[int(request.match_info["attachment_id"])]
        except (KeyError, ValueError):
            return web.Response(status=404, text="Not Found")
        self.downloads.append(attachment.id)
        return web.Response(body=attachment.data, content_type=attachment.content_type)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _identified_intents(self) -> int:
        return self.gateway.intents

    # ----- world lookups that answer like Discord -----

    def _channel(self, channel_id: int) -> Channel:
        channel = self.world.channels.get(channel_id)
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, channel: Channel, message_id: int) -> Message:
        message = self.world.messages.get(message_id)
        if message is None or message.channel_id != channel.id or message.deleted or message.ephemeral:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _bot_member(self, channel: Channel) -> Member | None:
        if channel.guild_id is None:
            return None
        guild = self.world.guilds[channel.guild_id]
        return guild.members.get(self.world.bot_user.id)

    def bot_permissions(self, channel: Channel) -> int:
        """Return the bot's permissions in a channel (everything in DMs)."""
        member = self._bot_member(channel)
        if member is None:
            return Perm.ALL if channel.is_dm else 0
        return member.guild.permissions_in(member, channel, self.world)

    def _require(self, channel: Channel, *needed: int) -> None:
        permissions = self.bot_permissions(channel)
        if not permissions & Perm.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        for bit in needed:
            if not permissions & bit:
                raise ApiError(403, 50013, "Missing Permissions")

    # ----- building messages from payloads -----

    def _attachments_from(
        self,
        payload: dict[str, Any],
        files: list[UploadedFile],
        channel_id: int,
        *,
        existing: list[StoredAttachment] | None = None,
        ephemeral: bool = False,
    ) -> list[StoredAttachment] | None:
        """Return the attachments a create/edit payload asks for (None: leave them unchanged)."""
        uploads = {}
        for index, upload in enumerate(files):
            match = re.match(r"files\[(\d+)\]", upload.field)
            uploads[int(match.group(1)) if match else index] = upload
        listed = payload.get("attachments")
        if listed is None and not files:
            return None
        result: list[StoredAttachment] = []
        kept = {a.id: a for a in existing or []}
        if listed is None:
            listed = [{"id": i} for i in sorted(uploads)]
        for item in listed:
            item_id = int(item.get("id", -1))
            if item_id in uploads:
                upload = uploads.pop(item_id)
                result.append(
                    self.world.store_attachment(
                        channel_id,
                        item.get("filename") or upload.filename,
                        upload.data,
                        content_type=upload.content_type
                        if upload.content_type != "application/octet-stream"
                        else None,
                        description=item.get("description"),
                        ephemeral=ephemeral,
                    )
                )
            elif item_id in kept:
                result.append(kept[item_id])
        for upload in uploads.values():
            result.append(
                self.world.store_attachment(channel_id, upload.filename, upload.data, ephemeral=ephemeral)
            )
        return result

    def _check_message(
        self, payload: dict[str, Any], files: list[UploadedFile], *, creating: bool, prefix: str = ""
    ) -> None:
        errors = validation.FormErrors()
        validation.check_message(payload, errors, prefix=prefix)
        if errors:
            raise form_error(errors)
        if creating and validation.is_empty_message(payload, len(files)):
            raise ApiError(400, 50006, "Cannot send an empty message")

    def _new_message(
        self,
        channel: Channel,
        payload: dict[str, Any],
        files: list[UploadedFile],
        *,
        record: InteractionRecord | None = None,
        ephemeral: bool = False,
        loading: bool = False,
    ) -> Message:
        flags = int(payload.get("flags") or 0) & SENDABLE_FLAGS
        if ephemeral:
            flags |= MessageFlag.EPHEMERAL
        if loading:
            flags |= MessageFlag.LOADING
        message = Message(
            id=new_snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=self.world.bot_user,
            content=payload.get("content") or "",
            embeds=list(payload.get("embeds") or []),
            components=list(payload.get("components") or []),
            flags=flags,
            tts=bool(payload.get("tts")),
            allowed_mentions=payload.get("allowed_mentions"),
            poll=payload.get("poll"),
        )
        message.attachments = self._attachments_from(payload, files, channel.id, ephemeral=ephemeral) or []
        reference = payload.get("message_reference")
        if reference:
            message.message_reference = {
                "type": reference.get("type", 0),
                "message_id": str(reference.get("message_id")),
                "channel_id": str(reference.get("channel_id") or channel.id),
                "guild_id": str(channel.guild_id) if channel.guild_id else None,
            }
            message.type = 19
        if record is not None:
            message.webhook_id = self.world.application_id
            message.application_id = self.world.application_id
            message.interaction_id = record.id
            message.visible_to = record.user.id if ephemeral else None
            message.type = 20 if record.type == InteractionType.APPLICATION_COMMAND else 19
            message.interaction_metadata = {
                "id": str(record.id),
                "type": record.type,
                "user": record.user.payload(),
                "authorizing_integration_owners": _integration_owners(record.guild_id),
            }
            if record.source_message_id is not None:
                message.interaction_metadata["interacted_message_id"] = str(record.source_message_id)
        return self.world.add_message(message, listed=not ephemeral)

    def _edit_message(self, message: Message, payload: dict[str, Any], files: list[UploadedFile]) -> Message:
        self._check_message(payload, files, creating=False)
        message.history.append(message.snapshot())
        if "content" in payload:
            message.content = payload["content"] or ""
        if "embeds" in payload:
            message.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            message.components = list(payload["components"] or [])
        if payload.get("flags") is not None:
            keep = message.flags & MessageFlag.EPHEMERAL
            message.flags = (int(payload["flags"]) & SENDABLE_FLAGS) | keep
        message.flags &= ~MessageFlag.LOADING
        attachments = self._attachments_from(
            payload, files, message.channel_id, existing=message.attachments, ephemeral=message.ephemeral
        )
        if attachments is not None:
            message.attachments = attachments
        message.edited_at = datetime.now(UTC)
        self.world.changed()
        return message

    # ----- handlers: identity and commands -----

    async def get_me(self, call: Call) -> Reply:
        """GET /users/@me."""
        user = self.world.bot_user.payload()
        return Reply(200, {**user, "verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})

    async def get_application(self, call: Call) -> Reply:
        """GET /oauth2/applications/@me."""
        world = self.world
        return Reply(
            200,
            {
                "id": str(world.application_id),
                "name": world.bot_user.username,
                "icon": None,
                "description": "Hearth, running against the fake Discord",
                "summary": "",
                "type": None,
                "rpc_origins": [],
                "bot_public": False,
                "bot_require_code_grant": False,
                "bot": world.bot_user.payload(),
                "owner": self.app_owner.payload(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "tags": [],
                "install_params": None,
                "custom_install_url": None,
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "redirect_uris": [],
                "approximate_guild_count": len(world.guilds),
                "approximate_user_install_count": 0,
                "integration_types_config": {"0": {}},
                "event_webhooks_url": None,
                "event_webhooks_status": 1,
                "event_webhooks_types": [],
            },
        )

    async def get_gateway(self, call: Call) -> Reply:
        """GET /gateway and /gateway/bot."""
        return Reply(
            200,
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            },
        )

    def _command_scope(self, call: Call) -> int | None:
        if call.params.get("application_id") not in (str(self.world.application_id),):
            raise ApiError(403, 50001, "Missing Access")
        guild_id = call.params.get("guild_id")
        if guild_id is None:
            return None
        if int(guild_id) not in self.world.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return int(guild_id)

    async def put_commands(self, call: Call) -> Reply:
        """PUT applications/{app}/commands and .../guilds/{guild}/commands: bulk overwrite."""
        scope = self._command_scope(call)
        commands = call.json or []
        errors = validation.FormErrors()
        validation.check_commands(commands, errors)
        if errors:
            raise form_error(errors)
        stored = []
        for command in commands:
            kind = int(command.get("type", 1))
            key = (scope, kind, command["name"])
            command_id = self._command_ids.setdefault(key, new_snowflake())
            item = {
                "type": kind,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                **command,
                "id": str(command_id),
                "application_id": str(self.world.application_id),
                "version": str(new_snowflake()),
            }
            if item["default_member_permissions"] is not None:
                item["default_member_permissions"] = str(item["default_member_permissions"])
            if scope is not None:
                item["guild_id"] = str(scope)
            stored.append(item)
        self.world.commands[scope] = stored
        self.world.changed()
        return Reply(200, stored)

    async def get_commands(self, call: Call) -> Reply:
        """GET applications/{app}/commands and .../guilds/{guild}/commands."""
        return Reply(200, self.world.commands.get(self._command_scope(call), []))

    # ----- handlers: channels and messages -----

    async def get_channel(self, call: Call) -> Reply:
        """GET /channels/{id}."""
        channel = self._channel(call.int_param("channel_id"))
        if not channel.is_dm:
            self._require(channel)
        return Reply(200, channel.payload(self.world))

    async def edit_channel(self, call: Call) -> Reply:
        """PATCH /channels/{id}: rename, archive or lock a thread; rename or retopic a channel."""
        channel = self._channel(call.int_param("channel_id"))
        body = call.json or {}
        if channel.is_thread:
            self._require(channel)
            if ("locked" in body or "archived" in body) and channel.owner_id != self.world.bot_user.id:
                self._require(channel, Perm.MANAGE_THREADS)
            for key in ("name", "archived", "locked", "auto_archive_duration"):
                if key in body and body[key] is not None:
                    setattr(channel, key, body[key])
            event = "THREAD_UPDATE"
        else:
            self._require(channel, Perm.MANAGE_CHANNELS)
            for key in ("name", "topic"):
                if key in body:
                    setattr(channel, key, body[key])
            event = "CHANNEL_UPDATE"
        self.world.changed()
        payload = channel.payload(self.world)
        self._spawn(self.gateway.dispatch(event, payload, wait_connected=False))
        return Reply(200, payload)

    async def create_message(self, call: Call) -> Reply:
        """POST /channels/{id}/messages."""
        channel = self._channel(call.int_param("channel_id"))
        payload = call.json or {}
        if channel.is_dm:
            recipient = self.world.users.get(channel.recipient_id or 0)
            if recipient is None or not recipient.dms_open:
                raise ApiError(403, 50007, "Cannot send messages to this user")
        else:
            send = Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
            needed = [send]
            if call.files:
                needed.append(Perm.ATTACH_FILES)
            self._require(channel, *needed)
            if channel.is_thread and channel.locked:
                self._require(channel, Perm.MANAGE_THREADS)
        self._check_message(payload, call.files, creating=True)
        reference = payload.get("message_reference")
        if reference and reference.get("fail_if_not_exists", True):
            target = self.world.messages.get(int(reference.get("message_id") or 0))
            if target is None or target.deleted:
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {
                        "code": 50035,
                        "message": "Invalid Form Body",
                        "errors": {
                            "message_reference": {
                                "_errors": [
                                    {
                                        "code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                        "message": "Unknown message",
                                    }
                                ]
                            }
                        },
                    },
                )
        if payload.get("enforce_nonce") and payload.get("nonce") is not None:
            earlier = self._message_with_nonce(channel, payload["nonce"])
            if earlier is not None:
                return Reply(200, earlier.payload(self.world))
        if channel.is_thread and channel.archived:
            channel.archived = False
        message = self._new_message(channel, payload, call.files)
        message.nonce = payload.get("nonce")
        if message.nonce is not None:
            sends = self._nonce_sends.setdefault((channel.id, message.nonce), [])
            sends.append((message.id, self.nonce_clock()))
        data = message.payload(self.world)
        intents = self._identified_intents()
        wanted = INTENT_DIRECT_MESSAGES if channel.is_dm else INTENT_GUILD_MESSAGES
        if intents & wanted:
            self._spawn(self.gateway.dispatch("MESSAGE_CREATE", data, wait_connected=False))
        return Reply(200, data)

    def _message_with_nonce(self, channel: Channel, nonce: Any) -> Message | None:
        """Return the bot's message with this nonce sent in the channel in the last few minutes.

        This is `enforce_nonce`: Discord returns that message instead of creating a second one.
        "The last few minutes" are counted on `nonce_clock`.
        """
        horizon = self.nonce_clock() - NONCE_WINDOW
        for message_id, sent_at in reversed(self._nonce_sends.get((channel.id, nonce), [])):
            earlier = self.world.messages.get(message_id)
            if earlier is None or sent_at < horizon:
                continue
            if earlier.author.id == self.world.bot_user.id and not earlier.deleted:
                return earlier
        return None

    async def get_messages(self, call: Call) -> Reply:
        """GET /channels/{id}/messages (newest first, with limit/before/after)."""
        channel = self._channel(call.int_param("channel_id"))
        if not channel.is_dm:
            self._require(channel, Perm.READ_MESSAGE_HISTORY)
        query = call.entry.query
        limit = max(1, min(int(query.get("limit", 50)), 100))
        messages = self.world.channel_messages(channel)
        if "before" in query:
            messages = [m for m in messages if m.id < int(query["before"])]
        if "after" in query:
            messages = [m for m in messages if m.id > int(query["after"])]
            messages = messages[:limit]
        messages = list(reversed(messages))[:limit]
        return Reply(200, [m.payload(self.world) for m in messages])

    async def get_message(self, call: Call) -> Reply:
        """GET /channels/{id}/messages/{message_id}."""
        channel = self._channel(call.int_param("channel_id"))
        if not channel.is_dm:
            self._require(channel, Perm.READ_MESSAGE_HISTORY)
        return Reply(200, self._message(channel, call.int_param("message_id")).payload(self.world))

    async def edit_message(self, call: Call) -> Reply:
        """PATCH /channels/{id}/messages/{message_id}."""
        channel = self._channel(call.int_param("channel_id"))
        message = self._message(channel, call.int_param("message_id"))
        if message.author.id != self.world.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        self._edit_message(message, call.json or {}, call.files)
        return Reply(200, message.payload(self.world))

    async def delete_message(self, call: Call) -> Reply:
        """DELETE /channels/{id}/messages/{message_id}."""
        channel = self._channel(call.int_param("channel_id"))
        message = self._message(channel, call.int_param("message_id"))
        if message.author.id != self.world.bot_user.id and not channel.is_dm:
            self._require(channel, Perm.MANAGE_MESSAGES)
        message.deleted = True
        self.world.changed()
        return Reply(204)

    async def pin_message(self, call: Call) -> Reply:
        """PUT /channels/{id}/messages/pins/{message_id} (and the older /pins/ route)."""
        channel = self._channel(call.int_param("channel_id"))
        if not channel.is_dm:
            self._require(channel, Perm.MANAGE_MESSAGES)
        message = self._message(channel, call.int_param("message_id"))
        message.pinned = call.entry.method == "PUT"
        self.world.changed()
        return Reply(204)

    async def add_reaction(self, call: Call) -> Reply:
        """PUT/DELETE /channels/{id}/messages/{message_id}/reactions/{emoji}/@me."""
        channel = self._channel(call.int_param("channel_id"))
        if not channel.is_dm:
            self._require(channel, Perm.ADD_REACTIONS, Perm.READ_MESSAGE_HISTORY)
        message = self._message(channel, call.int_param("message_id"))
        users = message.reactions.setdefault(call.params["emoji"], set())
        if call.entry.method == "PUT":
            users.add(self.world.bot_user.id)
        else:
            users.discard(self.world.bot_user.id)
        self.world.changed()
        return Reply(204)

    async def typing(self, call: Call) -> Reply:
        """POST /channels/{id}/typing."""
        self._channel(call.int_param("channel_id"))
        return Reply(204)

    # ----- handlers: DMs and threads -----

    async def create_dm(self, call: Call) -> Reply:
        """POST /users/@me/channels: open (or return) the DM channel with a user."""
        body = call.json or {}
        try:
            user = self.world.users[int(body.get("recipient_id") or 0)]
        except (KeyError, ValueError):
            raise ApiError(400, 50033, "Invalid Recipient(s)") from None
        return Reply(200, self.world.dm_channel_for(user).payload(self.world))

    def _thread_name(self, body: dict[str, Any]) -> str:
        name = (body.get("name") or "").strip()
        errors = validation.FormErrors()
        errors.required("name", name)
        errors.max_length("name", name, 100)
        if errors:
            raise form_error(errors)
        return name

    async def _thread_created(self, thread: Channel) -> Reply:
        payload = thread.payload(self.world)
        member = {
            "id": str(thread.id),
            "user_id": str(self.world.bot_user.id),
            "join_timestamp": payload["thread_metadata"]["create_timestamp"],
            "flags": 0,
        }
        event = {**payload, "newly_created": True, "member": member}
        self._spawn(self.gateway.dispatch("THREAD_CREATE", event, wait_connected=False))
        return Reply(201, {**payload, "member": member})

    async def start_thread_from_message(self, call: Call) -> Reply:
        """POST /channels/{id}/messages/{message_id}/threads."""
        channel = self._channel(call.int_param("channel_id"))
        if channel.is_dm or channel.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self._require(channel, Perm.CREATE_PUBLIC_THREADS)
        message = self._message(channel, call.int_param("message_id"))
        if message.thread_id is not None:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        body = call.json or {}
        thread = self.world.add_thread(
            channel,
            self._thread_name(body),
            starter_message=message,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        )
        return await self._thread_created(thread)

    async def start_thread(self, call: Call) -> Reply:
        """POST /channels/{id}/threads (a thread without a starter message)."""
        channel = self._channel(call.int_param("channel_id"))
        if channel.is_dm or channel.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        body = call.json or {}
        private = int(body.get("type") or ChannelType.PRIVATE_THREAD) == ChannelType.PRIVATE_THREAD
        self._require(channel, Perm.CREATE_PRIVATE_THREADS if private else Perm.CREATE_PUBLIC_THREADS)
        thread = self.world.add_thread(
            channel,
            self._thread_name(body),
            private=private,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        )
        return await self._thread_created(thread)

    async def thread_member(self, call: Call) -> Reply:
        """PUT/DELETE /channels/{id}/thread-members/{user_id or @me}."""
        thread = self._channel(call.int_param("channel_id"))
        if not thread.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        raw = call.params.get("user_id", "@me")
        user_id = self.world.bot_user.id if raw == "@me" else int(raw)
        if user_id not in self.world.users:
            raise ApiError(404, 10013, "Unknown User")
        if call.entry.method == "PUT":
            thread.thread_member_ids.add(user_id)
        else:
            thread.thread_member_ids.discard(user_id)
        self.world.changed()
        return Reply(204)

    # ----- handlers: guilds and users -----

    def _guild(self, call: Call) -> Guild:
        guild = self.world.guilds.get(call.int_param("guild_id"))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild

    async def get_guild(self, call: Call) -> Reply:
        """GET /guilds/{id}."""
        guild = self._guild(call)
        payload = self.world.guild_create_payload(guild)
        for key in ("channels", "threads", "members", "voice_states", "presences", "joined_at", "large"):
            payload.pop(key, None)
        return Reply(200, payload)

    async def get_guild_channels(self, call: Call) -> Reply:
        """GET /guilds/{id}/channels."""
        guild = self._guild(call)
        return Reply(200, [self.world.channels[c].payload(self.world) for c in guild.channel_ids])

    async def get_roles(self, call: Call) -> Reply:
        """GET /guilds/{id}/roles."""
        guild = self._guild(call)
        return Reply(200, [r.payload() for r in guild.roles.values()])

    async def get_member(self, call: Call) -> Reply:
        """GET /guilds/{id}/members/{user_id}."""
        guild = self._guild(call)
        member = guild.members.get(call.int_param("user_id"))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return Reply(200, member.payload())

    async def get_user(self, call: Call) -> Reply:
        """GET /users/{id}."""
        user = self.world.users.get(call.int_param("user_id"))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return Reply(200, user.payload())

    # ----- handlers: interactions -----

    def register_interaction(self, record: InteractionRecord) -> None:
        """Remember an interaction so its callback and follow-ups can find it."""
        self.interactions[record.id] = record
        self._by_token[record.token] = record

    async def interaction_callback(self, call: Call) -> Reply:
        """POST /interactions/{id}/{token}/callback: the initial response."""
        record = self.interactions.get(call.int_param("webhook_id"))
        if record is None or record.token != call.params["webhook_token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        try:
            return await self._answer_interaction(record, call)
        except ApiError as exc:
            record.rejected.append((exc.status, exc.body))
            raise

    async def _answer_interaction(self, record: InteractionRecord, call: Call) -> Reply:
        if record.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - record.dispatched_at > self.callback_deadline:
            record.expired = True
            record.settled.set()
            raise ApiError(404, 10062, "Unknown interaction")
        body = call.json or {}
        kind = int(body.get("type") or 0)
        data = body.get("data") or {}
        allowed = set(ALLOWED_RESPONSES.get(record.type, set()))
        if record.source_message_id is None:
            allowed -= {ResponseType.DEFERRED_UPDATE_MESSAGE, ResponseType.UPDATE_MESSAGE}
        if kind not in allowed:
            errors = validation.FormErrors()
            errors.add("type", "INTERACTION_RESPONSE_TYPE_INVALID", f"Response type {kind} is not valid here")
            raise form_error(errors)
        channel = self._channel(record.channel_id)
        ephemeral = bool(int(data.get("flags") or 0) & MessageFlag.EPHEMERAL)
        message: Message | None = None
        if kind == ResponseType.CHANNEL_MESSAGE:
            self._check_message(data, call.files, creating=True, prefix="data.")
            message = self._new_message(channel, data, call.files, record=record, ephemeral=ephemeral)
            record.original_message_id = message.id
        elif kind == ResponseType.DEFERRED_CHANNEL_MESSAGE:
            message = self._new_message(channel, {}, [], record=record, ephemeral=ephemeral, loading=True)
            record.original_message_id = message.id
        elif kind in (ResponseType.DEFERRED_UPDATE_MESSAGE, ResponseType.UPDATE_MESSAGE):
            message = self.world.messages[record.source_message_id]  # type: ignore[index]
            record.original_message_id = message.id
            if kind == ResponseType.UPDATE_MESSAGE:
                self._edit_message(message, data, call.files)
        elif kind == ResponseType.AUTOCOMPLETE_RESULT:
            choices = list(data.get("choices") or [])
            errors = validation.FormErrors()
            validation.check_choices(choices, errors)
            if errors:
                raise form_error(errors)
            record.choices = choices
        elif kind == ResponseType.MODAL:
            errors = validation.FormErrors()
            validation.check_modal(data, errors)
            if errors:
                raise form_error(errors)
            record.modal = Modal(
                title=data["title"], custom_id=data["custom_id"], components=list(data["components"])
            )
        record.response_type = kind
        record.response = body
        record.responded_at = time.monotonic()
        record.settled.set()
        self.world.changed()
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            resource["message"] = message.payload(self.world)
        return Reply(
            200,
            {
                "interaction": {
                    "id": str(record.id),
                    "type": record.type,
                    "activity_instance_id": None,
                    "response_message_id": str(message.id) if message else None,
                    "response_message_loading": kind == ResponseType.DEFERRED_CHANNEL_MESSAGE,
                    "response_message_ephemeral": bool(message and message.ephemeral),
                },
                "resource": resource,
            },
        )

    def _webhook_record(self, call: Call) -> InteractionRecord:
        record = self._by_token.get(call.params["webhook_token"])
        if record is None or call.params["webhook_id"] != str(self.world.application_id):
            raise ApiError(404, 10015, "Unknown Webhook")
        if record.response_type is None:
            # Follow-ups need an initial response first.
            raise ApiError(404, 10015, "Unknown Webhook")
        return record

    def _webhook_message(self, record: InteractionRecord, raw_id: str) -> Message:
        message_id = record.original_message_id if raw_id == "@original" else int(raw_id)
        allowed = {record.original_message_id, *record.followup_ids}
        message = self.world.messages.get(message_id or 0)
        if message is None or message.deleted or message_id not in allowed:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def execute_webhook(self, call: Call) -> Reply:
        """POST /webhooks/{app}/{token}: an interaction follow-up."""
        record = self._webhook_record(call)
        payload = call.json or {}
        self._check_message(payload, call.files, creating=True)
        original = self.world.messages.get(record.original_message_id or 0)
        if (
            record.response_type == ResponseType.DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.flags & MessageFlag.LOADING
        ):
            # Discord: the first follow-up after a deferral replaces the "thinking" message,
            # keeping the deferral's visibility whatever flags the follow-up asks for.
            message = self._edit_message(
                original, {k: v for k, v in payload.items() if k != "flags"}, call.files
            )
        else:
            channel = self._channel(record.channel_id)
            ephemeral = bool(int(payload.get("flags") or 0) & MessageFlag.EPHEMERAL)
            message = self._new_message(channel, payload, call.files, record=record, ephemeral=ephemeral)
            record.followup_ids.append(message.id)
        self.world.changed()
        if call.entry.query.get("wait") in ("0", "false", "False"):
            return Reply(204)
        return Reply(200, message.payload(self.world))

    async def get_webhook_message(self, call: Call) -> Reply:
        """GET /webhooks/{app}/{token}/messages/{id or @original}."""
        record = self._webhook_record(call)
        return Reply(200, self._webhook_message(record, call.params["message_id"]).payload(self.world))

    async def edit_webhook_message(self, call: Call) -> Reply:
        """PATCH /webhooks/{app}/{token}/messages/{id or @original}."""
        record = self._webhook_record(call)
        message = self._webhook_message(record, call.params["message_id"])
        self._edit_message(message, call.json or {}, call.files)
        return Reply(200, message.payload(self.world))

    async def delete_webhook_message(self, call: Call) -> Reply:
        """DELETE /webhooks/{app}/{token}/messages/{id or @original}."""
        record = self._webhook_record(call)
        message = self._webhook_message(record, call.params["message_id"])
        message.deleted = True
        self.world.changed()
        return Reply(204)

    # ----- dispatching interactions (used by actors) -----

    def interaction_payload(
        self,
        kind: int,
        data: dict[str, Any],
        user: User,
        member: Member | None,
        channel: Channel,
        *,
        message: Message | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """Build (and register) an INTERACTION_CREATE payload with every key discord.py reads."""
        interaction_id = new_snowflake()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.world.application_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "channel_id": str(channel.id),
        }
        if member is not None:
            guild = member.guild
            permissions = guild.permissions_in(member, channel, self.world)
            payload.update(
                {
                    "guild_id": str(guild.id),
                    "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
                    "guild_locale": "en-US",
                    "member": member.payload(permissions=permissions),
                    "channel": channel.interaction_payload(self.world, permissions),
                    "app_permissions": str(self.bot_permissions(channel)),
                    "authorizing_integration_owners": _integration_owners(guild.id),
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": user.payload(),
                    "channel": channel.interaction_payload(self.world, Perm.ALL),
                    "app_permissions": str(Perm.ALL),
                    "authorizing_integration_owners": _integration_owners(None),
                    "context": 1,
                }
            )
        if message is not None:
            payload["message"] = message.payload(self.world)
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=kind,
            data=data,
            user=user,
            member=member,
            channel_id=channel.id,
            guild_id=member.guild.id if member else None,
            payload=payload,
            source_message_id=message.id if message is not None else None,
        )
        self.register_interaction(record)
        return record

    async def dispatch_interaction(self, record: InteractionRecord, timeout: float = 5.0) -> None:
        """Send a registered interaction to the bot over the gateway."""
        await self.gateway.wait_connected(timeout)
        record.dispatched_at = time.monotonic()
        await self.gateway.dispatch("INTERACTION_CREATE", record.payload)


def _integration_owners(guild_id: int | None) -> dict[str, str]:
    return {"0": str(guild_id)} if guild_id is not None else {"0": "0"}


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    files: list[UploadedFile] = []
    body: Any = None
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not hasattr(part, "filename"):
                continue
            if part.name == "payload_json":
                body = json.loads(await part.text())  # type: ignore[union-attr]
            elif part.filename:  # type: ignore[union-attr]
                data = await part.read(decode=False)  # type: ignore[union-attr]
                files.append(
                    UploadedFile(
                        field=part.name or "",
                        filename=part.filename,  # type: ignore[union-attr]
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                        data=bytes(data),
                    )
                )
        return body, files
    raw = await request.read()
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
    return body, files


def _respond(reply: Reply, extra_headers: dict[str, str]) -> web.Response:
    headers = {**extra_headers, **reply.headers}
    if reply.status == 204 or reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    if isinstance(reply.body, str):
        return web.Response(status=reply.status, text=reply.body, content_type="text/html", headers=headers)
    # Bytes, not text: aiohttp adds "; charset=utf-8" to text bodies, and discord.py only
    # parses JSON when the content type is exactly application/json.
    return web.Response(
        status=reply.status,
        body=json.dumps(reply.body).encode(),
        content_type="application/json",
        headers=headers,
    )


def _compile_routes(fake: FakeDiscord) -> list[tuple[str, str, re.Pattern[str], Handler]]:
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/users/@me", fake.get_me),
        ("GET", "/oauth2/applications/@me", fake.get_application),
        ("GET", "/applications/@me", fake.get_application),
        ("GET", "/gateway", fake.get_gateway),
        ("GET", "/gateway/bot", fake.get_gateway),
        ("PUT", "/applications/{application_id}/commands", fake.put_commands),
        ("GET", "/applications/{application_id}/commands", fake.get_commands),
        ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", fake.put_commands),
        ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", fake.get_commands),
        ("POST", "/users/@me/channels", fake.create_dm),
        ("GET", "/users/{user_id}", fake.get_user),
        ("GET", "/channels/{channel_id}", fake.get_channel),
        ("PATCH", "/channels/{channel_id}", fake.edit_channel),
        ("POST", "/channels/{channel_id}/typing", fake.typing),
        ("GET", "/channels/{channel_id}/messages", fake.get_messages),
        ("POST", "/channels/{channel_id}/messages", fake.create_message),
        ("PUT", "/channels/{channel_id}/messages/pins/{message_id}", fake.pin_message),
        ("DELETE", "/channels/{channel_id}/messages/pins/{message_id}", fake.pin_message),
        ("PUT", "/channels/{channel_id}/pins/{message_id}", fake.pin_message),
        ("DELETE", "/channels/{channel_id}/pins/{message_id}", fake.pin_message),
        ("GET", "/channels/{channel_id}/messages/{message_id}", fake.get_message),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}", fake.edit_message),
        ("DELETE", "/channels/{channel_id}/messages/{message_id}", fake.delete_message),
        ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", fake.add_reaction),
        ("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", fake.add_reaction),
        ("POST", "/channels/{channel_id}/messages/{message_id}/threads", fake.start_thread_from_message),
        ("POST", "/channels/{channel_id}/threads", fake.start_thread),
        ("PUT", "/channels/{channel_id}/thread-members/@me", fake.thread_member),
        ("DELETE", "/channels/{channel_id}/thread-members/@me", fake.thread_member),
        ("PUT", "/channels/{channel_id}/thread-members/{user_id}", fake.thread_member),
        ("DELETE", "/channels/{channel_id}/thread-members/{user_id}", fake.thread_member),
        ("GET", "/guilds/{guild_id}", fake.get_guild),
        ("GET", "/guilds/{guild_id}/channels", fake.get_guild_channels),
        ("GET", "/guilds/{guild_id}/roles", fake.get_roles),
        ("GET", "/guilds/{guild_id}/members/{user_id}", fake.get_member),
        ("POST", "/interactions/{webhook_id}/{webhook_token}/callback", fake.interaction_callback),
        ("POST", "/webhooks/{webhook_id}/{webhook_token}", fake.execute_webhook),
        ("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", fake.get_webhook_message),
        ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", fake.edit_webhook_message),
        (
            "DELETE",
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            fake.delete_webhook_message,
        ),
    ]
    compiled = []
    for method, template, handler in table:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        compiled.append((method, template, re.compile(regex), handler))
    return compiled
