"""/privacy and /mydata for every member; the daily retention job; purging guilds Hearth left."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord
from apscheduler.triggers.cron import CronTrigger
from discord import app_commands
from discord.ext import commands

from bot.cogs._care import CARE_COLOUR
from bot.cogs._ui import HearthView, clip, hearth
from bot.services.privacy import ErasureResult, PrivacyService, RetentionReport, retention_kinds

if TYPE_CHECKING:
    from bot.app import Hearth

log = logging.getLogger(__name__)

RETENTION_JOB_ID = "retention:daily"
CONFIRM_SECONDS = 300
KIND_WORDS = {
    "moods": "check-in moods and notes",
    "journal": "journal entries and thought records",
    "exercise_state": "unfinished exercises",
    "faq_misses": "FAQ questions that found no answer (not linked to you)",
    "audit": "the moderators' audit trail",
    "shares": "the link between anonymous posts and your one-way key",
    "ladder": "trust-ladder practice logs (your steps stay until you remove them)",
}

# Erasing must not lift a moderator's block, so a block stays; this says what it keeps.
BLOCK_WORDS = (
    "A moderator's block on anonymous sharing outlives `/mydata erase`, so erasing cannot lift it. "
    "It holds nothing but a one-way key (not your id, and not the key your posts were filed under), "
    "the reason the moderator wrote, which moderator made it, when, and when it ends."
)


def _keep(days: int | None) -> str:
    if days is None:
        return "until you erase it"
    return "until you erase it" if days == 0 else f"up to {days} days"


def privacy_service(bot: Hearth) -> PrivacyService:
    """Return the bot's privacy service, building it on first use."""
    service = getattr(bot, "privacy", None)
    if service is None:
        assert bot.db is not None
        service = PrivacyService(bot.db, bot.keyring, bot.config.retention)
        bot.privacy = service  # type: ignore[attr-defined]
    return service


def guild_ids_of(bot: discord.Client) -> list[int]:
    """Return the guilds the bot is in, so ban keys cover every place a member may have posted."""
    return [guild.id for guild in bot.guilds]


class EraseView(HearthView):
    """The confirmation for /mydata erase; only the member who asked sees it (it is ephemeral)."""

    def __init__(self, cog: Privacy, user_id: int) -> None:
        super().__init__(timeout=CONFIRM_SECONDS)
        self.cog = cog
        self.user_id = user_id

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return interaction.user.id == self.user_id

    async def _erase(self, interaction: discord.Interaction, *, delete_posts: bool) -> None:
        self.stop()
        await interaction.response.edit_message(content="Erasing everything Hearth holds about you…",
                                                embed=None, view=None)
        summary = await self.cog.erase_member(interaction, delete_posts=delete_posts)
        await interaction.edit_original_response(content=summary)

    @discord.ui.button(label="Erase, and delete my anonymous posts", style=discord.ButtonStyle.danger)
    async def erase_and_delete(self, interaction: discord.Interaction, _: discord.ui.Button[EraseView]
                               ) -> None:
        await self._erase(interaction, delete_posts=True)

    @discord.ui.button(label="Erase, and leave my posts unlinked", style=discord.ButtonStyle.danger)
    async def erase_and_keep(self, interaction: discord.Interaction, _: discord.ui.Button[EraseView]) -> None:
        await self._erase(interaction, delete_posts=False)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button[EraseView]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was erased.", embed=None, view=None)


class Privacy(commands.Cog):
    """What Hearth keeps about members, and the tools to see, export and erase it."""

    mydata = app_commands.Group(name="mydata", description="Export or erase what Hearth holds about you")

    def __init__(self, bot: Hearth) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        privacy_service(self.bot)
        if self.bot.scheduler is not None:
            self.bot.scheduler.add_job(
                self.bot.guarded(RETENTION_JOB_ID, self.run_retention),
                CronTrigger(hour=3, minute=30, timezone="UTC"),
                id=RETENTION_JOB_ID, replace_existing=True, coalesce=True, misfire_grace_time=3600,
            )
            # Once soon after start-up too, so a bot restarted daily still cleans up.
            self.bot.scheduler.add_job(
                self.bot.guarded(RETENTION_JOB_ID, self.run_retention),
                "date",
                run_date=datetime.now(UTC) + timedelta(minutes=5),
                id=f"{RETENTION_JOB_ID}:startup", replace_existing=True,
            )

    async def cog_unload(self) -> None:
        if self.bot.scheduler is not None:
            for job_id in (RETENTION_JOB_ID, f"{RETENTION_JOB_ID}:startup"):
                if self.bot.scheduler.get_job(job_id) is not None:
                    self.bot.scheduler.remove_job(job_id)

    async def run_retention(self) -> RetentionReport:
        """Run the daily clean-up now (the scheduler calls this; so can tests)."""
        service = privacy_service(self.bot)
        report = await service.run_retention(self.bot.now())
        for guild_id in report.guilds_purged:
            self.bot.safety.forget_guild(guild_id)
        return report

    # ----- guilds coming and going -----

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await privacy_service(self.bot).guild_left(guild.id, self.bot.now())
        log.info("left guild %s; its data will be purged after %d days", guild.id,
                 self.bot.config.retention.left_guild_grace_days)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        if await privacy_service(self.bot).guild_joined(guild.id):
            log.info("back in guild %s; its pending purge is cancelled", guild.id)

    # ----- /privacy -----

    @app_commands.command(name="privacy", description="What Hearth keeps about you and for how long")
    async def privacy(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = hearth(interaction)
        service = privacy_service(bot)
        summaries = await service.summary(interaction.user.id, guild_ids_of(bot))
        retention = bot.config.retention
        embed = discord.Embed(title="Your data in Hearth", colour=CARE_COLOUR)
        embed.description = (
            "Hearth keeps as little as it can. Everything you write (check-in notes, journal entries, "
            "exercise answers, anonymous posts waiting for review) is stored encrypted. Anonymous posts "
            "are linked to you only through a one-way key that no moderator can reverse."
        )
        held = [
            f"• **{s.area.replace('_', ' ')}**: {s.items} item{'s' if s.items != 1 else ''}, "
            f"kept {_keep(s.keep_days)}" + (f". {s.description}" if s.description else "")
            for s in summaries
        ]
        embed.add_field(name="What Hearth holds about you right now",
                        value=clip("\n".join(held) or "Nothing at all.", 1024), inline=False)
        periods = [f"• {KIND_WORDS.get(kind, kind.replace('_', ' '))}: {_keep(days)}"
                   for kind, days in retention_kinds(retention).items()]
        periods.append(
            f"• everything about a server: {retention.left_guild_grace_days} days after Hearth leaves it"
        )
        embed.add_field(name="How long things are kept", value=clip("\n".join(periods), 1024), inline=False)
        embed.add_field(
            name="Your choices",
            value=(
                "• `/mydata export`: a file with everything above, readable, just for you.\n"
                "• `/mydata erase`: delete all of it. You choose whether your anonymous posts are deleted "
                "from the channels too, or left in place with nothing linking them to you.\n"
                f"• {BLOCK_WORDS}\n"
                "Never stored: your messages outside Hearth's commands, or who wrote an anonymous post."
            ),
            inline=False,
        )
        await interaction.followup.send(embed=embed, ephemeral=True)

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
        embed = discord.Embed(title="Erase everything Hearth holds about you?", colour=discord.Colour.red())
        embed.description = (
            "This deletes your check-ins, notes, journal, exercises, ladder, reminders and the records of "
            "your anonymous posts, in every server. It cannot be undone.\n\n"
            "**Your anonymous posts**: choose whether to delete them from the channels, or leave them in "
            "place with nothing linking them to you any more (replies under them stay).\n\n"
            f"{BLOCK_WORDS}"
        )
        await interaction.response.send_message(embed=embed, view=EraseView(self, interaction.user.id),
                                                ephemeral=True)

    async def erase_member(self, interaction: discord.Interaction, *, delete_posts: bool) -> str:
        """Erase the member's data, delete their posts if asked, and describe what happened."""
        bot = hearth(interaction)
        result = await privacy_service(bot).erase(interaction.user.id, bot.now(), delete_posts=delete_posts,
                                                  guild_ids=guild_ids_of(bot))
        deleted, failed = await self._delete_posts(result)
        lines = ["Done. Everything Hearth held about you has been erased."]
        if delete_posts:
            lines.append(f"Deleted {deleted} anonymous post{'s' if deleted != 1 else ''} from the channels.")
            if failed:
                lines.append(f"{failed} could not be deleted (already gone, or I lack permission there); "
                             "nothing links them to you any more.")
        else:
            lines.append("Your anonymous posts stay where they are, with nothing linking them to you.")
        return " ".join(lines)

    async def _delete_posts(self, result: ErasureResult) -> tuple[int, int]:
        deleted = failed = 0
        for channel_id, message_id in result.posts_to_delete:
            try:
                await self.bot.http.delete_message(channel_id, message_id, reason="member erased their data")
                deleted += 1
            except discord.NotFound:
                failed += 1
            except discord.HTTPException as exc:
                log.warning("could not delete an erased member's post (%s)", exc.status)
                failed += 1
        return deleted, failed


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(Privacy(bot))  # type: ignore[arg-type]
