"""/privacy and /mydata for every member; the daily retention job; purging guilds Hearth left."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._care import CARE_COLOUR
from bot.cogs._ui import EMBED_TOTAL_LIMIT, HearthDynamicItem, hearth
from bot.services.privacy import (
    CONFIRM_WINDOW,
    AreaSummary,
    ErasureResult,
    PrivacyService,
    RetentionReport,
    retention_kinds,
)

if TYPE_CHECKING:
    from bot.app import Hearth

log = logging.getLogger(__name__)

RETENTION_JOB_ID = "retention:daily"
DELETIONS_JOB_ID = "privacy:deletions"
GUILDS_JOB_ID = "privacy:guilds"
DELETIONS_SWEEP_SECONDS = 60

# What each retention kind covers, as a member would say it.
KIND_WORDS = {
    "moods": "check-in moods, notes (named and anonymous) and pauses",
    "journal": "journal entries and finished thought records",
    "exercise_state": "unfinished exercises and their answers",
    "faq_misses": "FAQ questions nothing answered (never linked to whoever asked)",
    "audit": "the moderators' audit trail (what moderators did, never who wrote a post)",
    "shares": "the records linking your decided shares and replies (posted or not) to your one-way key",
    "ladder": "trust-ladder practice logs (the steps stay until you remove them)",
}
AREA_TITLES = {
    "checkins": "Check-ins",
    "sharing": "Anonymous sharing",
    "journal": "Journal",
    "trust_ladder": "Trust ladder",
    "exercise_sessions": "Exercises in progress",
    "moderator notices": "Care alerts waiting for a moderator",
}

# Erasing must not lift a moderator's block, so a block stays; this says what it keeps.
BLOCK_WORDS = (
    "A moderator's block on anonymous sharing outlives `/mydata erase`, so erasing cannot lift it. "
    "It holds nothing but a one-way key (not your id, and not the key your posts were filed under), "
    "the reason the moderator wrote, which moderator made it, when, and when it ends."
)
ALERT_WORDS = (
    "Care alerts already posted in the moderators' alerts channel name you. They are Discord messages, "
    "not Hearth's records, so they stay there until a moderator deletes them."
)
ALIAS_WORDS = (
    "A question you asked `/faq` that nothing answered is kept without your name. If a moderator copied "
    "it into the FAQ as another way of asking, that copy is part of the FAQ and stays."
)
NOTIFY_WORDS = (
    "with one exception: if you ask to be DMed when a moderator decides on a post waiting for review, "
    "your id is kept, encrypted, next to that post until the decision is made."
)


def _plural(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else word + 's'}"


def _keep(days: int | None) -> str:
    return "until you erase it" if not days else f"up to {days} days"


def _spread(minutes: int) -> str:
    return "within the next minute" if minutes <= 1 else f"over the next {minutes} minutes"


def privacy_service(bot: Hearth) -> PrivacyService:
    """Return the bot's privacy service."""
    return bot.privacy


def guild_ids_of(bot: discord.Client) -> list[int]:
    """Return the guilds the bot is in, so ban keys cover every place a member may have posted."""
    return [guild.id for guild in bot.guilds]


def area_field(summary: AreaSummary) -> tuple[str, str]:
    """Return the /privacy field (name, value) for one area: what it holds and how long."""
    title = AREA_TITLES.get(summary.area, summary.area.replace("_", " ").capitalize())
    name = f"{title}: {_plural(summary.items, 'item')}"
    if summary.retention and summary.keep_days:
        words = KIND_WORDS.get(summary.retention, summary.retention.replace("_", " "))
        kept = f"Deleted after {summary.keep_days} days: {words}."
    else:
        kept = "No retention period: kept until you erase it, unless said otherwise above."
    value = f"{summary.description}\n_{kept}_" if summary.description else f"_{kept}_"
    return name, value


def privacy_embeds(summaries: Sequence[AreaSummary], bot: Hearth) -> list[discord.Embed]:
    """Build what /privacy shows: what is held, for how long, what erasing can't reach, the choices."""
    retention = bot.config.retention
    held = discord.Embed(title="Your data in Hearth", colour=CARE_COLOUR)
    held.description = (
        "Hearth keeps as little as it can, in one database on the machine that runs it. What you write "
        "(check-in notes, journal entries, exercise answers, trust-ladder steps, posts waiting for review, "
        "FAQ questions nothing answered) is stored encrypted. Your anonymous posts and notes are filed "
        "under a one-way key made from your id and a secret only Hearth holds; nobody without that secret "
        "can work back from it to you.\n\n"
        "**Never stored:** your messages outside Hearth's commands, your name, or who wrote an anonymous "
        f"post, {NOTIFY_WORDS}\n\n"
        "**What Hearth holds about you right now:**"
    )
    embeds = [held]
    for summary in summaries:
        name, value = area_field(summary)
        if len(embeds[-1]) + len(name) + len(value) > EMBED_TOTAL_LIMIT or len(embeds[-1].fields) == 25:
            embeds.append(discord.Embed(colour=CARE_COLOUR))
        embeds[-1].add_field(name=name, value=value, inline=False)

    more = discord.Embed(colour=CARE_COLOUR)
    periods = [f"• {KIND_WORDS.get(kind, kind.replace('_', ' '))}: {_keep(days)}"
               for kind, days in retention_kinds(retention).items()]
    periods.append(f"• everything about a server: {retention.left_guild_grace_days} days after Hearth "
                   "leaves it")
    more.add_field(name="How long things are kept", value="\n".join(periods), inline=False)
    more.add_field(name="What erasing cannot reach",
                   value=f"• {ALERT_WORDS}\n• {ALIAS_WORDS}\n• {BLOCK_WORDS}", inline=False)
    spread = retention.erased_posts_spread_minutes
    more.add_field(
        name="Your choices",
        value=(
            "• `/mydata export`: a file with everything above, readable, just for you.\n"
            "• `/mydata erase`: delete all of it, in every server. Check-in notes you shared under your "
            "name are deleted from their threads too: they carry your name, so they can't be unlinked. "
            "For your anonymous posts you choose: delete them as well (one at a time, at random moments "
            f"{_spread(spread)}, so nobody watching can tell they were one person's), or leave them in "
            "place with nothing linking them to you."
        ),
        inline=False,
    )
    return [*embeds, more]


def batches(embeds: Sequence[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages that each stay within Discord's 6,000 characters (and 10 embeds)."""
    grouped: list[list[discord.Embed]] = []
    size = 0
    for embed in embeds:
        if not grouped or size + len(embed) > EMBED_TOTAL_LIMIT or len(grouped[-1]) == 10:
            grouped.append([])
            size = 0
        grouped[-1].append(embed)
        size += len(embed)
    return grouped


def erase_confirmation(spread_minutes: int) -> discord.Embed:
    """Say what /mydata erase does before the member chooses."""
    embed = discord.Embed(title="Erase everything Hearth holds about you?", colour=discord.Colour.red())
    minutes = int(CONFIRM_WINDOW.total_seconds() // 60)
    embed.description = (
        "This deletes, in every server, your check-ins, notes, reminders and pauses, journal, exercises, "
        "trust ladder, the records of your anonymous posts and anything of yours waiting for review. "
        "It cannot be undone.\n\n"
        "**Check-in notes you shared under your name** are deleted from their threads: they carry your "
        "name, so they can't be unlinked.\n\n"
        "**Your anonymous posts**: choose whether to delete them from the channels too (one at a time, "
        f"at random moments {_spread(spread_minutes)}, so nobody watching can tell they were one "
        "person's), or leave them in place with nothing linking them to you (replies under them stay).\n\n"
        f"{ALERT_WORDS}\n\n{BLOCK_WORDS}\n\n"
        f"These buttons work for {minutes} minutes."
    )
    return embed


def erase_outcome(result: ErasureResult, *, delete_posts: bool) -> str:
    """Say what an erasure did, and what will still happen to the member's posts."""
    lines = ["Done. Everything Hearth held about you has been erased."]
    named, anonymous = len(result.named_posts), len(result.anonymous_posts)
    when = _spread(result.spread_minutes)
    if delete_posts:
        parts = [part for part in (
            _plural(anonymous, "anonymous post") if anonymous else "",
            _plural(named, "check-in note") + " shown under your name" if named else "",
        ) if part]
        if parts:
            lines.append(f"Your {' and '.join(parts)} will be deleted one at a time, each at a random moment "
                         f"{when}, so nobody watching can tell they were one person's.")
        else:
            lines.append("You had no posts in the channels.")
    else:
        lines.append("Your anonymous posts stay where they are, with nothing linking them to you.")
        if named:
            lines.append(f"Your {_plural(named, 'check-in note')} shown under your name will be deleted, "
                         f"each at a random moment {when}.")
    return " ".join(lines)


EXPIRED_WORDS = (
    "These buttons have expired (they work for {minutes} minutes) or were already used, so nothing was "
    "erased. Run `/mydata erase` again if you still want to."
)


class EraseButton(
    HearthDynamicItem[discord.ui.Button[Any]],
    template=r"hearth:privacy:erase:(?P<choice>delete|keep|cancel):(?P<nonce>[0-9a-f]{1,32})",
):
    """A button of the /mydata erase confirmation. It survives a restart: the nonce is checked
    against the confirmation kept in the database, which works only for the member who asked."""

    LABELS = {
        "delete": ("Erase, and delete my anonymous posts", discord.ButtonStyle.danger),
        "keep": ("Erase, and leave my posts unlinked", discord.ButtonStyle.danger),
        "cancel": ("Cancel", discord.ButtonStyle.secondary),
    }

    def __init__(self, choice: str, nonce: str) -> None:
        label, style = self.LABELS[choice]
        super().__init__(discord.ui.Button(label=label, style=style,
                                           custom_id=f"hearth:privacy:erase:{choice}:{nonce}"))
        self.choice = choice
        self.nonce = nonce

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: Any,
                             match: re.Match[str]) -> EraseButton:
        return cls(match["choice"], match["nonce"])

    async def handle(self, interaction: discord.Interaction) -> None:
        cog = hearth(interaction).get_cog("Privacy")
        assert isinstance(cog, Privacy)
        await cog.erase_clicked(interaction, self.choice, self.nonce)


def erase_view(nonce: str) -> discord.ui.View:
    """Return the confirmation buttons for one /mydata erase."""
    view = discord.ui.View(timeout=None)
    for choice in ("delete", "keep", "cancel"):
        view.add_item(EraseButton(choice, nonce))
    return view


class Privacy(commands.Cog):
    """What Hearth keeps about members, and the tools to see, export and erase it."""

    mydata = app_commands.Group(name="mydata", description="Export or erase what Hearth holds about you")

    def __init__(self, bot: Hearth) -> None:
        self.bot = bot
        self._deleting = asyncio.Lock()
        # Guilds coming and going are noted one at a time, so the check after connecting cannot
        # cancel a departure that a GUILD_DELETE noted while it ran.
        self._guilds_lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # The check of which guilds Hearth is still in, run after each connection (tests await it).
        self.reconcile_task: asyncio.Task[None] | None = None
        self._retention_jobs: tuple[str, ...] = ()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(EraseButton)
        scheduler = self.bot.scheduler
        if scheduler is not None:
            self._retention_jobs = self.bot.schedule_daily(
                RETENTION_JOB_ID, self.run_retention, hour=3, minute=30,
                after_start=timedelta(minutes=5), misfire_grace_seconds=3600,
            )
            # The safety net behind the timer that deletes each erased post at its moment.
            scheduler.add_job(
                self.bot.guarded(DELETIONS_JOB_ID, self.delete_due_posts),
                "interval", seconds=DELETIONS_SWEEP_SECONDS,
                id=DELETIONS_JOB_ID, replace_existing=True, coalesce=True,
            )
        if await privacy_service(self.bot).respread_overdue_deletions(self.bot.now()):
            log.info("erased posts whose deletion was missed while Hearth was stopped are spread out again")
        await self._arm()

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(EraseButton)
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self.bot.scheduler is not None:
            for job_id in (*self._retention_jobs, DELETIONS_JOB_ID):
                if self.bot.scheduler.get_job(job_id) is not None:
                    self.bot.scheduler.remove_job(job_id)

    async def run_retention(self) -> RetentionReport:
        """Run the daily clean-up now (the scheduler calls this; so can tests)."""
        report = await privacy_service(self.bot).run_retention(self.bot.now())
        for guild_id in report.guilds_purged:
            self.bot.safety.forget_guild(guild_id)
        return report

    # ----- erased posts, deleted one by one -----

    async def _arm(self) -> None:
        """Wake up when the next queued deletion is due."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due = await privacy_service(self.bot).next_deletion_at()
        if due is None:
            return
        delay = max(0.0, (due - self.bot.now()).total_seconds())

        def fire() -> None:
            self._timer = None
            self._spawn(DELETIONS_JOB_ID, self.delete_due_posts)

        self._timer = asyncio.get_running_loop().call_later(delay, fire)

    async def delete_due_posts(self) -> int:
        """Delete the erased posts whose moment has come; return how many were deleted."""
        service = privacy_service(self.bot)
        deleted = 0
        async with self._deleting:
            for deletion in await service.due_deletions(self.bot.now()):
                try:
                    await self.bot.http.delete_message(deletion.channel_id, deletion.message_id)
                except discord.NotFound:
                    await service.deletion_done(deletion)  # already gone
                except discord.Forbidden:
                    log.warning("could not delete an erased member's post: no permission there")
                    await service.deletion_done(deletion)
                except discord.HTTPException as exc:
                    if not await service.deletion_failed(deletion, self.bot.now()):
                        log.warning("gave up deleting an erased member's post (%s)", exc.status)
                else:
                    deleted += 1
                    await service.deletion_done(deletion)
        await self._arm()
        return deleted

    # ----- guilds coming and going -----

    def _spawn(self, name: str, job: Callable[[], Awaitable[object]]) -> asyncio.Task[None]:
        """Run a job in the background; cog_unload cancels it if it is still running."""
        task = asyncio.get_running_loop().create_task(self.bot.run_job(name, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.reconcile_task = self._spawn(GUILDS_JOB_ID, self.reconcile_guilds)

    async def reconcile_guilds(self) -> None:
        """Start the grace period for guilds Hearth holds data for but is no longer in.

        A guild that removed Hearth while it was offline sends no GUILD_DELETE: it is simply not
        among the guilds Discord lists at connection (those in an outage are listed, unavailable).
        """
        service = privacy_service(self.bot)
        async with self._guilds_lock:
            left, back = await service.reconcile_guilds(guild_ids_of(self.bot), self.bot.now())
        if left:
            log.info("Hearth is no longer in %d guild(s) it holds data for; purging them after %d days",
                     len(left), self.bot.config.retention.left_guild_grace_days)
        if back:
            log.info("back in %d guild(s); their pending purge is cancelled", len(back))

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        async with self._guilds_lock:
            await privacy_service(self.bot).guild_left(guild.id, self.bot.now())
        log.info("left guild %s; its data will be purged after %d days", guild.id,
                 self.bot.config.retention.left_guild_grace_days)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        async with self._guilds_lock:
            back = await privacy_service(self.bot).guild_joined(guild.id)
        if back:
            log.info("back in guild %s; its pending purge is cancelled", guild.id)

    # ----- /privacy -----

    @app_commands.command(name="privacy", description="What Hearth keeps about you and for how long")
    async def privacy(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = hearth(interaction)
        summaries = await privacy_service(bot).summary(interaction.user.id, guild_ids_of(bot))
        for group in batches(privacy_embeds(summaries, bot)):
            await interaction.followup.send(embeds=group, ephemeral=True)

    # ----- /mydata -----

    @mydata.command(name="export", description="Get a file with everything Hearth holds about you")
    async def export(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = hearth(interaction)
        data = await privacy_service(bot).export(interaction.user.id, bot.now(), guild_ids_of(bot))
        payload = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        file = discord.File(io.BytesIO(payload), filename="hearth-my-data.json")
        await interaction.followup.send(
            "Here is everything Hearth holds about you. Only you can see this message.",
            file=file, ephemeral=True,
        )

    @mydata.command(name="erase", description="Delete everything Hearth holds about you (you confirm first)")
    async def erase(self, interaction: discord.Interaction) -> None:
        bot = hearth(interaction)
        nonce = await privacy_service(bot).request_erasure(interaction.user.id, bot.now())
        await interaction.response.send_message(
            embed=erase_confirmation(bot.config.retention.erased_posts_spread_minutes),
            view=erase_view(nonce), ephemeral=True,
        )

    async def erase_clicked(self, interaction: discord.Interaction, choice: str, nonce: str) -> None:
        """Answer a click on the erase confirmation: erase (deleting posts or not), or cancel."""
        service = privacy_service(self.bot)
        if choice == "cancel":
            await service.cancel_erasure(nonce)
            await interaction.response.edit_message(content="Nothing was erased.", embed=None, view=None)
            return
        await interaction.response.edit_message(content="Erasing everything Hearth holds about you…",
                                                embed=None, view=None)
        delete_posts = choice == "delete"
        result = await service.erase(interaction.user.id, self.bot.now(), delete_posts=delete_posts,
                                     guild_ids=guild_ids_of(self.bot), nonce=nonce)
        if result is None:
            minutes = int(CONFIRM_WINDOW.total_seconds() // 60)
            await interaction.edit_original_response(content=EXPIRED_WORDS.format(minutes=minutes))
            return
        await self._arm()
        await interaction.edit_original_response(content=erase_outcome(result, delete_posts=delete_posts))


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(Privacy(bot))  # type: ignore[arg-type]
