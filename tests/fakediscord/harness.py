"""Run the real Hearth bot against the fake Discord: the world, the config, the clock, restarts.

`running_hearth(tmp_path)` is the async context manager the pytest fixture and the
benchmarks share; it yields a `Harness`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
import yarl

from tests.fakediscord.actors import Actor
from tests.fakediscord.server import FakeDiscord
from tests.fakediscord.world import Channel, Guild, Member, Overwrite, Perm, Role, World

if TYPE_CHECKING:
    from bot.app import Hearth
    from bot.config import Settings
    from bot.storage.crypto import Keyring

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_SECRET_KEY = "hearth-e2e-test-key-not-a-secret"
CHANNEL_NAMES = ("general", "checkins", "sharing", "review", "alerts")
MODERATOR_ONLY_CHANNELS = ("review", "alerts")
READY_TIMEOUT = 10.0


class FakeClock:
    """A controllable clock for `bot.now()`: frozen until a test moves it.

    Call it (``clock()``) for the time; `set` and `advance` move it, and callbacks given to
    `subscribe` run after every move (an area can use that to run what became due).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).replace(microsecond=0)
        if self._now.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._subscribers: list[Callable[[datetime], Any]] = []

    def __call__(self) -> datetime:
        return self._now

    def now(self) -> datetime:
        """Return the clock's current time (aware, UTC)."""
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Move the clock to a moment (aware datetime)."""
        if moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._now = moment.astimezone(UTC)
        for callback in list(self._subscribers):
            callback(self._now)
        return self._now

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move the clock forward by a timedelta or by ``minutes=...``, ``hours=...`` etc."""
        return self.set(self._now + (delta or timedelta()) + timedelta(**parts))

    def subscribe(self, callback: Callable[[datetime], Any]) -> None:
        """Call `callback(now)` after every move."""
        self._subscribers.append(callback)


class ErrorCollector(logging.Handler):
    """Keeps ERROR records from the `discord` and `bot` loggers (unhandled errors in handlers)."""

    PREFIXES = ("discord", "bot")

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in self.PREFIXES:
            self.records.append(record)

    def describe(self) -> list[str]:
        """Return each record as one readable block (with its traceback)."""
        lines = []
        for record in self.records:
            text = f"{record.name}: {record.getMessage()}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            lines.append(text)
        return lines


@dataclass
class StandardWorld:
    """The handles of the standard test server."""

    guild: Guild
    channels: dict[str, Channel]
    roles: dict[str, Role]
    members: dict[str, Member]


def build_standard_world(world: World) -> StandardWorld:
    """Build the test server: channels, roles, two moderators and three members.

    - roles: ``@everyone``, ``Moderator`` (no special permissions) and ``Admins`` (Manage Server);
    - members: ``mod`` (Admins + Moderator, so Manage Server), ``mod2`` (only Moderator),
      ``alice``, ``bob``, ``carol`` (no roles); the guild owner is a separate user;
    - channels: ``general``, ``checkins``, ``sharing``, and ``review`` and ``alerts``, which
      only moderators and the bot can see.
    """
    owner = world.add_user("owner")
    guild = world.add_guild("Hearth Test Server", owner=owner)
    moderator = world.add_role(guild, "Moderator")
    admins = world.add_role(guild, "Admins", permissions=Perm.MANAGE_GUILD)
    bot_role = next(r for r in guild.roles.values() if r.managed)
    channels: dict[str, Channel] = {}
    for name in CHANNEL_NAMES:
        overwrites: list[Overwrite] = []
        if name in MODERATOR_ONLY_CHANNELS:
            overwrites = [
                Overwrite(guild.id, 0, deny=Perm.VIEW_CHANNEL),
                Overwrite(moderator.id, 0, allow=Perm.VIEW_CHANNEL),
                Overwrite(admins.id, 0, allow=Perm.VIEW_CHANNEL),
                Overwrite(bot_role.id, 0, allow=Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES),
            ]
        channels[name] = world.add_text_channel(guild, name, overwrites=overwrites)
    members = {
        "mod": world.add_member(guild, "mod", roles=[admins, moderator]),
        "mod2": world.add_member(guild, "mod2", roles=[moderator]),
        "alice": world.add_member(guild, "alice"),
        "bob": world.add_member(guild, "bob"),
        "carol": world.add_member(guild, "carol"),
    }
    members["owner"] = guild.members[owner.id]
    roles = {"@everyone": guild.everyone, "Moderator": moderator, "Admins": admins, "bot": bot_role}
    return StandardWorld(guild=guild, channels=channels, roles=roles, members=members)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    """Write a config.toml from nested dicts."""
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def content_dir() -> Path:
    """Return the repository's content folder."""
    return REPO_ROOT / "content"


def test_config_sections(
    fake: FakeDiscord,
    database: Path,
    guild_id: int | None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Return the config sections for a bot talking to `fake` (with per-test overrides merged in)."""
    sections: dict[str, dict[str, Any]] = {
        "bot": {"database": str(database), "log_level": "INFO", "content_dir": str(content_dir())},
        "discord": {
            "api_base_url": fake.api_base_url,
            "gateway_url": fake.gateway_url,
            "guild_ready_timeout": 0.02,
        },
    }
    if guild_id is not None:
        sections["bot"]["dev_guild_id"] = guild_id
    for section, values in (overrides or {}).items():
        sections.setdefault(section, {}).update(values)
    return sections


@dataclass
class Harness:
    """The fake Discord, the real bot and handles to the test server.

    Attributes: `fake`, `world`, `guild`, `channels`, `roles`, `members` (by name),
    `clock`, `settings`, `config_path`, `database_path`, `keyring`, and `bot` (the running
    `Hearth`, replaced on restart). See tests/fakediscord/README.md.
    """

    fake: FakeDiscord
    standard: StandardWorld
    clock: FakeClock
    config_path: Path
    settings: Settings
    keyring: Keyring
    heartbeat_timeout: float | None = None
    identify_delay: bool = False
    cache_content: bool = True
    errors: ErrorCollector = field(default_factory=ErrorCollector)
    bot: Hearth | None = None
    task: asyncio.Task[None] | None = None
    starts: int = 0
    _on_start: list[Callable[[Hearth], Any]] = field(default_factory=list)

    # ----- handles -----

    @property
    def world(self) -> World:
        """Return the fake's world."""
        return self.fake.world

    @property
    def guild(self) -> Guild:
        """Return the test server (a fake `Guild`)."""
        return self.standard.guild

    @property
    def channels(self) -> dict[str, Channel]:
        """Return the channels by name."""
        return self.standard.channels

    @property
    def roles(self) -> dict[str, Role]:
        """Return the roles by name ("@everyone", "Moderator", "Admins", "bot")."""
        return self.standard.roles

    @property
    def members(self) -> dict[str, Member]:
        """Return the members by name ("mod", "mod2", "alice", "bob", "carol", "owner")."""
        return self.standard.members

    @property
    def database_path(self) -> Path:
        """Return the database file's path."""
        return self.settings.database_path

    @property
    def running_bot(self) -> Hearth:
        """Return the running bot (fails if it is stopped)."""
        self.check_bot()
        assert self.bot is not None, "the bot is not running"
        return self.bot

    def actor(self, member: str | Member, channel: str | Channel = "general") -> Actor:
        """Return an actor acting as a member (by name or object) in a channel (by name or object)."""
        found = self.members[member] if isinstance(member, str) else member
        where = self.channels[channel] if isinstance(channel, str) else channel
        return self.fake.actor(found, where)

    def dm_actor(self, member: str | Member) -> Actor:
        """Return an actor using the bot in its DMs (only globally synced commands exist there)."""
        found = self.members[member] if isinstance(member, str) else member
        return self.fake.actor(found.user)

    def add_member(self, name: str, *, roles: Iterable[str | Role] = (), dms_open: bool = True) -> Member:
        """Add a member to the test server (no gateway event: the bot caches no members)."""
        chosen = [self.roles[r] if isinstance(r, str) else r for r in roles]
        member = self.world.add_member(self.guild, name, roles=chosen)
        member.user.dms_open = dms_open
        self.members[name] = member
        return member

    async def add_channel(self, name: str, **kwargs: Any) -> Channel:
        """Add a text channel (telling the bot with CHANNEL_CREATE if it is connected)."""
        channel = self.world.add_text_channel(self.guild, name, **kwargs)
        self.channels[name] = channel
        if self.fake.gateway.connected:
            payload = channel.payload(self.world)
            await self.fake.gateway.dispatch("CHANNEL_CREATE", payload)
            await self.wait_for_bot(
                lambda bot: bot.get_channel(channel.id) is not None, what="the new channel"
            )
        return channel

    async def delete_channel(self, channel: str | Channel) -> None:
        """Delete a channel as a server admin would (REST answers 404 10003); wait until the bot knows."""
        found = self.channels[channel] if isinstance(channel, str) else channel
        await self.fake.delete_channel(found)
        if self.bot is not None and self.fake.gateway.connected:
            await self.wait_for_bot(lambda bot: bot.get_channel(found.id) is None, what="CHANNEL_DELETE")

    async def remove_bot(self) -> None:
        """Remove the bot from the test server (GUILD_DELETE); wait until the bot has dropped it."""
        await self.fake.remove_bot_from_guild(self.guild)
        if self.bot is not None:
            await self.wait_for_bot(lambda bot: bot.get_guild(self.guild.id) is None, what="GUILD_DELETE")

    def reconfigure(self, **sections: dict[str, Any]) -> Settings:
        """Change config sections for the next start (``reconfigure(sharing={"min_length": 5})``)."""
        import tomllib

        from bot.config import load_settings

        current = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        for section, values in sections.items():
            current.setdefault(section, {}).update(values)
        write_config(self.config_path, current)
        self.settings = load_settings(self.config_path)
        return self.settings

    def on_start(self, callback: Callable[[Hearth], Any]) -> None:
        """Run `callback(bot)` on every new bot before it starts (e.g. to add a test-only cog)."""
        self._on_start.append(callback)

    # ----- the bot's lifecycle -----

    def check_bot(self) -> None:
        """Raise the bot task's exception if it died."""
        task = self.task
        if task is not None and task.done() and not task.cancelled():
            exc = task.exception()
            if exc is not None:
                raise exc

    async def start(self, *, timeout: float = READY_TIMEOUT) -> Hearth:
        """Create a new bot on the same database, key and clock; wait until it is ready."""
        from bot.app import create_bot

        if self.bot is not None and self.task is not None and not self.task.done():
            raise RuntimeError("the bot is already running")
        content = _cached_content(self.settings.content_path) if self.cache_content else None
        bot = create_bot(self.settings, keyring=self.keyring, content=content, clock=self.clock)
        if self.heartbeat_timeout is not None:
            bot._connection.heartbeat_timeout = self.heartbeat_timeout
        if not self.identify_delay:
            # discord.py waits 5 s before every IDENTIFY after the first; tests need not.
            bot.before_identify_hook = _no_identify_delay  # type: ignore[method-assign]
        for callback in self._on_start:
            outcome = callback(bot)
            if asyncio.iscoroutine(outcome):
                await outcome
        self.bot = bot
        self.task = asyncio.create_task(bot.start(self.world.token), name=f"hearth-bot-{self.starts}")
        self.starts += 1
        await self.wait_for_bot(
            lambda b: b.is_ready() and b.get_guild(self.guild.id) is not None, timeout, "the bot to be ready"
        )
        return bot

    async def wait_for_bot(
        self, condition: Callable[[Hearth], Any], timeout: float = 5.0, what: str = "the bot"
    ) -> Any:
        """Poll a condition on the running bot; raise the bot's own error if it died meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_bot()
            if self.task is not None and self.task.done():
                raise RuntimeError(f"the bot stopped while waiting for {what}")
            assert self.bot is not None
            value = condition(self.bot)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Close the bot cleanly (as on SIGTERM) and re-raise anything its task raised."""
        bot, task = self.bot, self.task
        if bot is None or task is None:
            return
        try:
            if not bot.is_closed():
                await bot.close()
            await asyncio.wait_for(asyncio.shield(task), 10)
        finally:
            self.bot = None
        self.task = None
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

    async def kill(self) -> None:
        """Stop the bot as a hard kill would: no close(), no cog_unload, sockets just drop.

        The bot task and the tasks the bot started are cancelled, the scheduler stops without
        running its jobs, and the database connection is dropped with whatever was committed.
        """
        bot, task = self.bot, self.task
        if bot is None or task is None:
            return
        doomed = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and _belongs_to_bot(t)]
        for victim in [task, *doomed]:
            victim.cancel()
        for victim in [task, *doomed]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await victim
        keep_alive = getattr(bot.ws, "_keep_alive", None) if bot.ws else None
        if keep_alive is not None:
            keep_alive.stop()
        await self.fake.gateway.drop_connections()
        if bot.scheduler is not None and bot.scheduler.running:
            bot.scheduler.shutdown(wait=False)
        await bot.http.close()
        if bot.db is not None:
            await bot.db.close()
        self.bot = None
        self.task = None

    async def restart(self, *, hard: bool = False, timeout: float = READY_TIMEOUT) -> Hearth:
        """Stop the bot (cleanly, or as a hard kill) and start a new one on the same database and key."""
        if hard:
            await self.kill()
        else:
            await self.stop()
        return await self.start(timeout=timeout)

    # ----- checks at the end -----

    def expect_errors(self) -> list[logging.LogRecord]:
        """Return the logged errors so far and forget them (a test that provoked them asserts on them)."""
        found = list(self.errors.records)
        self.errors.records.clear()
        return found

    def problems(self) -> list[str]:
        """Return what should fail a test: logged errors, unknown routes, payloads Discord refused."""
        found = [f"logged error: {text}" for text in self.errors.describe()]
        found += [
            f"the bot called a route the fake does not know: {e.method} {e.path}"
            for e in self.fake.unknown_routes
        ]
        found += [
            f"Discord would refuse {e.method} {e.path} ({e.status}): {e.response}"
            for e in self.fake.rejections
        ]
        return found


_CONTENT_CACHE: dict[tuple[str, tuple[tuple[str, int, int], ...]], Any] = {}


def _cached_content(root: Path) -> Any:
    """Load the content once per process (a copy per bot); reload when a file changes."""
    from bot.content import load_content

    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    key = (str(root), signature)
    if key not in _CONTENT_CACHE:
        _CONTENT_CACHE.clear()
        _CONTENT_CACHE[key] = load_content(root)
    # A copy of the parts table, so a test that swaps an area's content cannot change the next
    # test's. The areas themselves are frozen or read-only, so they are shared (a deep copy took
    # a quarter of a second per bot).
    loaded = _CONTENT_CACHE[key]
    return dataclasses.replace(loaded, parts=dict(loaded.parts), warnings=list(loaded.warnings))


async def _no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    return None


def _belongs_to_bot(task: asyncio.Task[Any]) -> bool:
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    filename = getattr(code, "co_filename", "") or ""
    bot_dir = str(REPO_ROOT / "bot")
    return filename.startswith(bot_dir) or f"{os.sep}discord{os.sep}" in filename


@asynccontextmanager
async def running_hearth(
    tmp_path: Path,
    *,
    config: dict[str, dict[str, Any]] | None = None,
    secret_key: str = TEST_SECRET_KEY,
    start: bool = True,
    clock: FakeClock | None = None,
    heartbeat_timeout: float | None = None,
    identify_delay: bool = False,
    cache_content: bool = True,
    dev_guild: bool = True,
    rate_limits: bool = False,
    setup_world: Callable[[World, StandardWorld], Any] | None = None,
) -> AsyncIterator[Harness]:
    """Start the fake, build the test server, write a config, and run the real bot against it.

    `config` overrides config sections (``{"checkins": {"grace_minutes": 5}}``); `setup_world`
    can change the world before the bot connects; `rate_limits=True` turns on the fake's
    rate-limit emulation; `start=False` leaves starting the bot to the caller;
    `heartbeat_timeout` shortens discord.py's 60 s; `identify_delay=True` keeps discord.py's
    5 s pause before a re-IDENTIFY (skipped by default to keep tests fast); the content is
    loaded once per process and each bot gets a copy (`cache_content=False` loads it afresh);
    `dev_guild=False` leaves `dev_guild_id` out, so commands sync globally (and work in DMs).
    """
    from bot.config import load_settings
    from bot.storage.crypto import load_keyring

    errors = ErrorCollector()
    root = logging.getLogger()
    root.addHandler(errors)
    fake = FakeDiscord()
    await fake.start()
    harness: Harness | None = None
    try:
        standard = build_standard_world(fake.world)
        if setup_world is not None:
            setup_world(fake.world, standard)
        if rate_limits:
            fake.ratelimits.enable()
        database = tmp_path / "data" / "hearth.db"
        config_path = write_config(
            tmp_path / "config.toml",
            test_config_sections(fake, database, standard.guild.id if dev_guild else None, config),
        )
        settings = load_settings(config_path)
        keyring = load_keyring(settings.database_path, {"HEARTH_SECRET_KEY": secret_key})
        harness = Harness(
            fake=fake,
            standard=standard,
            clock=clock or FakeClock(),
            config_path=config_path,
            settings=settings,
            keyring=keyring,
            heartbeat_timeout=heartbeat_timeout,
            identify_delay=identify_delay,
            cache_content=cache_content,
            errors=errors,
        )
        fake.liveness = harness.check_bot
        if start:
            await harness.start()
        yield harness
    finally:
        try:
            if harness is not None:
                await harness.stop()
        finally:
            await fake.stop()
            root.removeHandler(errors)
            # Each test points discord.py at its own fake; do not leave a dead URL behind.
            discord.http.Route.BASE = "https://discord.com/api/v10"
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL("wss://gateway.discord.gg/")
