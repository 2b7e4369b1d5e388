"""The Hearth bot: lifecycle, services, command sync and the one error handler."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import pkgutil
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import yarl
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from discord import app_commands
from discord.ext import commands

from bot.cogs._ui import MESSAGE_LIMIT, split_exact, typed_text
from bot.config import DiscordSettings, Settings
from bot.content import Content, load_content
from bot.errors import UserFacingError
from bot.services.faq import FaqService
from bot.services.notices import NoticeBoard
from bot.services.privacy import PrivacyService
from bot.services.safety import SafetyService, build_safety_service
from bot.services.settings import SettingsService
from bot.services.sharing import SharingService
from bot.storage.crypto import Keyring, verify_keyring
from bot.storage.db import Database, StorageBusyError
from bot.storage.faq import FaqStore
from bot.storage.notices import NoticeStore
from bot.storage.settings import SettingsStore
from bot.storage.sharing import SharingStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# A kept piece of member text in an embed: 4,096 minus the code fence around it.
KEPT_PIECE_LIMIT = 4000

# How long shutdown waits for work already running (a command's write, a check-in burst, a purge).
# Container runtimes usually allow 10 seconds after SIGTERM before they kill the process.
SHUTDOWN_GRACE_SECONDS = 8.0
# The tasks discord.py runs members' commands, buttons and forms in: shutdown lets them finish
# their writes before the database closes.
INTERACTION_TASK_PREFIXES = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-modal-dispatch-",
    "discord-ui-dynamic-item-",
)

BUSY_MESSAGE = (
    "Hearth is very busy for a moment and couldn't save that. Please try again in a few seconds."
)


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def configure_endpoints(discord_settings: DiscordSettings) -> None:
    """Point discord.py at the configured REST and gateway URLs (process-wide settings)."""
    discord.http.Route.BASE = discord_settings.api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(discord_settings.gateway_url)


def error_reference() -> str:
    """Return a short code that ties a member's error message to its log line."""
    return "E-" + secrets.token_hex(3).upper()


class Hearth(commands.Bot):
    """The bot: owns the database, content, scheduler and services; cogs hold the commands."""

    def __init__(
        self,
        settings: Settings,
        *,
        keyring: Keyring,
        content: Content | None = None,
        clock: Clock = utc_now,
    ) -> None:
        # Hearth never joins voice, so discord.py's warnings about missing voice libraries are noise.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_messages=None,
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=settings.discord.guild_ready_timeout,
        )
        self.config = settings
        self.keyring = keyring
        self.content = content
        self.clock = clock
        self.started_at = time.monotonic()
        self.db: Database | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.guild_settings: SettingsService | None = None
        self.tree.on_error = self.on_app_command_error
        self.synced_commands: list[str] = []
        self._closing = False
        self._set_up = False  # setup_hook finished (the login worked and the key matched)
        self._jobs_in_flight: set[asyncio.Task[Any]] = set()

    # ----- lifecycle -----------------------------------------------------

    async def setup_hook(self) -> None:
        """Open and migrate the database, load content and cogs, start the scheduler, sync commands."""
        self.db = await Database.open(self.config.database_path)
        await self.db.migrate()
        await verify_keyring(self.db, self.keyring)
        if self.content is None:
            self.content = load_content(self.config.content_path)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._build_services()
        for name in self.extension_names():
            await self.load_extension(name)
        self.scheduler.start()
        await self.sync_commands_if_changed()
        self._set_up = True

    def _build_services(self) -> None:
        assert self.db is not None
        self.guild_settings = SettingsService(SettingsStore(self.db), self.known_regions)
        self.notices = NoticeBoard(NoticeStore(self.db, self.keyring))
        self.safety: SafetyService = build_safety_service(self.content, self.db)
        self.privacy: PrivacyService = PrivacyService(self.db, self.keyring, self.config.retention)
        self.sharing = SharingService(SharingStore(self.db), self.keyring, self.config.sharing)
        self.faq = FaqService(self.content.parts["faq"], FaqStore(self.db, self.keyring),
                              misses_days=self.config.retention.faq_misses_days)

    def known_regions(self) -> list[str]:
        """Return the region codes the resources content knows."""
        resources = self.content.parts.get("resources") if self.content else None
        return sorted(getattr(resources, "regions", {}) or {})

    @staticmethod
    def extension_names() -> list[str]:
        """List the cog modules: every module in bot/cogs whose name does not start with '_'."""
        import bot.cogs as cogs

        modules = pkgutil.iter_modules(cogs.__path__)
        return [f"{cogs.__name__}.{m.name}" for m in modules if not m.name.startswith("_")]

    async def close(self) -> None:
        """Stop the scheduler, let running jobs and interactions finish, disconnect, close the database."""
        self._closing = True
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self._finish_work_in_flight()
        await super().close()
        if self.db is not None:
            await self.db.close()
        log.info("Hearth has shut down cleanly" if self._set_up else "Hearth has stopped")

    def uptime_seconds(self) -> float:
        """Return how long this process has been running the bot."""
        return time.monotonic() - self.started_at

    def now(self) -> datetime:
        """Return the current time from the injected clock."""
        return self.clock()

    # ----- command sync ----------------------------------------------------

    def _command_payload(self, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        commands_ = self.tree.get_commands(guild=guild)
        return sorted((c.to_dict(self.tree) for c in commands_), key=lambda c: (c.get("type", 1), c["name"]))

    async def sync_commands_if_changed(self) -> bool:
        """Sync the command set to Discord only when its hash differs from the last sync.

        Discord allows 200 command creates a day per guild, and a restart loop
        would burn through them, so the hash of what was last synced is kept in
        the database.
        """
        assert self.guild_settings is not None
        guild = discord.Object(self.config.bot.dev_guild_id) if self.config.bot.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = self._command_payload(guild)
        self.synced_commands = [c["name"] for c in payload]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
        key = f"command_hash:{guild.id if guild else 'global'}:{self.application_id}"
        if await self.guild_settings.store.get_state(key) == digest:
            log.info("commands unchanged since the last sync; not syncing")
            return False
        await self.tree.sync(guild=guild)
        await self.guild_settings.store.set_state(key, digest)
        log.info("synced %d commands %s", len(payload), f"to guild {guild.id}" if guild else "globally")
        return True

    # ----- errors ---------------------------------------------------------

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Tell the member what went wrong, kindly; keep the detail in the log."""
        await self.report_interaction_error(interaction, error)

    async def report_interaction_error(self, interaction: discord.Interaction, error: BaseException) -> None:
        """Reply with a short ephemeral message; unexpected errors get a reference that matches the log.

        Whatever the member typed comes back with the message when it may not have been saved:
        the text a refusal hands back on purpose (`keep_text`), the fields of a form (Discord
        closes the form on submit, so a failed submit would otherwise lose them), and a
        command's text options when the database was busy or something unexpected went wrong.
        """
        cause = error
        if isinstance(cause, app_commands.CommandInvokeError):
            cause = cause.original
        if isinstance(cause, app_commands.TransformerError) and cause.__cause__ is not None:
            cause = cause.__cause__
        kept: str | None = None
        if isinstance(cause, UserFacingError):
            message = cause.message
            kept = cause.keep_text or typed_text(interaction, options=False)
        elif isinstance(cause, app_commands.CheckFailure):
            message = str(cause) or "You can't use this command here."
        elif isinstance(cause, StorageBusyError):
            log.warning("database busy while handling an interaction: %s", cause)
            message = BUSY_MESSAGE
            kept = typed_text(interaction)
        elif isinstance(cause, discord.Forbidden):
            log.warning("missing permission while handling an interaction: %s", cause.text)
            message = (
                "I don't have permission to do that in this channel. A moderator can check my role's "
                "permissions (View Channel, Send Messages, Embed Links, Create Public Threads)."
            )
            kept = typed_text(interaction, options=False)
        else:
            reference = error_reference()
            command = interaction.command
            name = command.qualified_name if command else interaction_name(interaction)
            log.error("error %s in %s", reference, name, exc_info=(type(cause), cause, cause.__traceback__))
            message = (
                "Something went wrong on my side, sorry. Nothing you did caused it. "
                f"(Reference: {reference})"
            )
            kept = typed_text(interaction)
        await send_ephemeral(interaction, message, kept_text=kept)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Log a failure in an event listener once, with a reference (nobody to tell but the log)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, StorageBusyError):
            log.warning("database busy in event %s (%s)", event_method, exc)
            return
        log.error("error %s in event %s", error_reference(), event_method, exc_info=True)

    # ----- scheduled jobs ---------------------------------------------------

    def guarded(self, name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """Wrap a scheduled job so a failure is logged with a reference and the schedule carries on."""

        async def run() -> None:
            await self.run_job(name, job)

        return run

    def schedule_daily(
        self,
        job_id: str,
        job: Callable[[], Awaitable[object]],
        *,
        hour: int,
        minute: int,
        after_start: timedelta,
        misfire_grace_seconds: int,
    ) -> tuple[str, str]:
        """Run a clean-up job daily at hour:minute UTC, and once `after_start` after start-up.

        The run after start-up is what makes a bot that is down at that time of day, or restarted
        every day, still run it. Returns both job ids, for the cog to remove on unload.
        """
        assert self.scheduler is not None
        guarded = self.guarded(job_id, job)
        self.scheduler.add_job(
            guarded,
            CronTrigger(hour=hour, minute=minute, timezone=UTC),
            id=job_id,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=misfire_grace_seconds,
        )
        startup_id = f"{job_id}:startup"
        self.scheduler.add_job(
            guarded, "date", run_date=datetime.now(UTC) + after_start, id=startup_id, replace_existing=True
        )
        return job_id, startup_id

    async def run_job(self, name: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run a scheduled job: a busy database is a warning, anything unexpected an error with a code.

        Jobs are tracked so that shutting down waits for the ones running; none starts once
        shutdown has begun.
        """
        if self._closing:
            return
        task = asyncio.current_task()
        if task is not None:
            self._jobs_in_flight.add(task)
        try:
            await job()
        except StorageBusyError as exc:
            log.warning("database busy during scheduled job %s (%s); it runs again next time", name, exc)
        except Exception as exc:
            reference = error_reference()
            log.error(
                "error %s in scheduled job %s", reference, name, exc_info=(type(exc), exc, exc.__traceback__)
            )
        finally:
            if task is not None:
                self._jobs_in_flight.discard(task)

    def _work_in_flight(self) -> set[asyncio.Task[Any]]:
        """The scheduled jobs and interaction handlers still running (not this task)."""
        current = asyncio.current_task()
        handlers = {t for t in asyncio.all_tasks() if t.get_name().startswith(INTERACTION_TASK_PREFIXES)}
        return {t for t in self._jobs_in_flight | handlers if t is not current and not t.done()}

    async def _finish_work_in_flight(self) -> None:
        """Wait a little for running jobs and handlers so their writes complete; cancel the rest.

        The gateway is still connected meanwhile, so a handler that starts during the wait is
        waited for too, within the same grace.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE_SECONDS
        while running := self._work_in_flight():
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning("%d task(s) were still running at shutdown; they were stopped", len(running))
                for task in running:
                    task.cancel()
                await asyncio.wait(running, timeout=1)
                return
            await asyncio.wait(running, timeout=remaining)


def interaction_name(interaction: discord.Interaction) -> str:
    """Name an interaction for the log: its custom id's area and action (never ids), or its type."""
    custom_id = str((interaction.data or {}).get("custom_id", ""))
    if custom_id.startswith("hearth:"):
        return ":".join(part for part in custom_id.split(":")[:3] if not part.isdigit())
    return interaction.type.name


KEPT_INTRO = "Here is what you wrote, so nothing is lost:"


def fenced(text: str) -> str:
    """Put member text in a code block, so it shows exactly as typed and is easy to copy."""
    return "```\n" + text.replace("```", "`\u200b``") + "\n```"


async def send_ephemeral(
    interaction: discord.Interaction, content: str, *, kept_text: str | None = None, **kwargs: Any
) -> None:
    """Send a private message whether or not the interaction was already answered.

    `kept_text` (what the member typed) is shown whole: under the message when it fits in one
    message, otherwise in code blocks in embeds (4,000 characters each) that follow it.
    """
    pieces: list[str] = []
    if kept_text:
        inline = f"{content}\n\n{KEPT_INTRO}\n{fenced(kept_text)}"
        if len(inline) <= MESSAGE_LIMIT:
            content = inline
        else:
            content = f"{content}\n\n{KEPT_INTRO}"
            pieces = split_exact(kept_text, KEPT_PIECE_LIMIT)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(content, ephemeral=True, **kwargs)
        for number, piece in enumerate(pieces, start=1):
            embed = discord.Embed(description=fenced(piece))
            if len(pieces) > 1:
                embed.set_footer(text=f"Part {number} of {len(pieces)}")
            await interaction.followup.send(embed=embed, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not deliver an ephemeral reply (%s)", exc.status)


def create_bot(
    settings: Settings, *, keyring: Keyring, content: Content | None = None, clock: Clock = utc_now
) -> Hearth:
    """Construct a bot talking to the configured endpoints (used by `run` and the tests)."""
    configure_endpoints(settings.discord)
    return Hearth(settings, keyring=keyring, content=content, clock=clock)
