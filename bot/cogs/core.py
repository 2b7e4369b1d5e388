"""/about for everyone and /setup for moderators; notices for moderators that are still waiting."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.cogs._delivery import (
    POST_NEEDS,
    deliver_waiting,
    hand_over_waiting,
    missing_permissions,
    standing_troubles,
)
from bot.cogs._ui import EMBED_TOTAL_LIMIT, HEARTH_COLOUR, clip, hearth, moderator_command
from bot.storage.settings import GuildSettings

if TYPE_CHECKING:
    from bot.app import Hearth

NOTICES_JOB_ID = "notices:deliver"
NOTICES_EVERY_MINUTES = 10
THREAD_NEEDS = (*POST_NEEDS, "create_public_threads", "send_messages_in_threads")

CLEARABLE = {
    "moderator_role": "moderator_role_id",
    "checkin_channel": "checkin_channel_id",
    "sharing_channel": "sharing_channel_id",
    "review_channel": "review_channel_id",
    "alerts_channel": "alerts_channel_id",
}


def _format_uptime(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days}d"] if days else []
    return " ".join([*parts, f"{hours}h", f"{minutes}m"])


def settings_embed(settings: GuildSettings, attention: list[str] | None = None) -> discord.Embed:
    """Render a guild's settings for moderators, with anything that needs their attention."""

    def channel(value: int | None) -> str:
        return f"<#{value}>" if value else "not set"

    embed = discord.Embed(title="Hearth settings for this server", colour=HEARTH_COLOUR)
    role_id = settings.moderator_role_id
    role = f"<@&{role_id}>" if role_id else "not set (Manage Server only)"
    embed.add_field(name="Moderator role", value=role, inline=False)
    embed.add_field(name="Check-in channel", value=channel(settings.checkin_channel_id))
    embed.add_field(name="Sharing channel", value=channel(settings.sharing_channel_id))
    embed.add_field(name="Review channel", value=channel(settings.review_channel_id))
    embed.add_field(name="Alerts channel", value=channel(settings.alerts_channel_id))
    embed.add_field(name="Resources region", value=settings.resources_region)
    embed.add_field(name="Vetting of shares", value="on" if settings.vetting else "off")
    if attention:
        embed.add_field(
            name="Needs attention",
            value=clip("\n".join(f"⚠️ {line}" for line in attention), 1024),
            inline=False,
        )
    embed.set_footer(text="Change any of these with /setup; clear one with /setup clear:<name>.")
    return embed


class Core(commands.Cog):
    """What Hearth is, and the per-server settings."""

    def __init__(self, bot: Hearth) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        if self.bot.scheduler is not None:
            self.bot.scheduler.add_job(
                self.bot.guarded(NOTICES_JOB_ID, lambda: deliver_waiting(self.bot)),
                "interval",
                minutes=NOTICES_EVERY_MINUTES,
                id=NOTICES_JOB_ID,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )

    async def cog_unload(self) -> None:
        if self.bot.scheduler is not None and self.bot.scheduler.get_job(NOTICES_JOB_ID) is not None:
            self.bot.scheduler.remove_job(NOTICES_JOB_ID)

    @app_commands.command(name="about", description="What Hearth is and how to find help")
    async def about(self, interaction: discord.Interaction) -> None:
        bot = hearth(interaction)
        embed = discord.Embed(
            title="Hearth",
            colour=HEARTH_COLOUR,
            description=(
                "Hearth helps this group look after each other: gentle check-ins, anonymous sharing "
                "under moderation, guided exercises (breathing, grounding, journaling, a trust ladder) "
                "and answers to common questions about healing from trust issues.\n\n"
                "Hearth is peer support. It is not therapy and not an emergency service.\n"
                "• Need help now? Use **/resources** for helplines in your region.\n"
                "• Wondering what Hearth keeps about you? See **/privacy**."
            ),
        )
        embed.add_field(name="Version", value=__version__)
        embed.add_field(name="Uptime", value=_format_uptime(bot.uptime_seconds()))
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="setup", description="Show or change Hearth's settings for this server")
    @app_commands.describe(
        moderator_role="Members with this role can use moderator commands",
        checkin_channel="Where group check-ins are posted by default",
        sharing_channel="Where anonymous shares are posted",
        review_channel="Where shares wait for review when vetting is on",
        alerts_channel="Where moderators are told that someone may need care",
        region="Which region's helplines /resources shows",
        vetting="Hold every share for review before it is posted",
        clear="Unset one channel or the moderator role",
    )
    @app_commands.choices(clear=[app_commands.Choice(name=name, value=name) for name in CLEARABLE])
    @moderator_command()
    async def setup_command(
        self,
        interaction: discord.Interaction,
        moderator_role: discord.Role | None = None,
        checkin_channel: discord.TextChannel | None = None,
        sharing_channel: discord.TextChannel | None = None,
        review_channel: discord.TextChannel | None = None,
        alerts_channel: discord.TextChannel | None = None,
        region: app_commands.Range[str, 1, 20] | None = None,
        vetting: bool | None = None,
        clear: app_commands.Choice[str] | None = None,
    ) -> None:
        bot = hearth(interaction)
        guild_id = interaction.guild_id
        assert bot.guild_settings is not None and guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        now = bot.now()
        before = await bot.guild_settings.get(guild_id)
        settings = await bot.guild_settings.change(
            guild_id,
            now,
            moderator_role_id=moderator_role.id if moderator_role else None,
            checkin_channel_id=checkin_channel.id if checkin_channel else None,
            sharing_channel_id=sharing_channel.id if sharing_channel else None,
            review_channel_id=review_channel.id if review_channel else None,
            alerts_channel_id=alerts_channel.id if alerts_channel else None,
            resources_region=region,
            vetting=vetting,
        )
        if clear is not None:
            settings = await bot.guild_settings.clear(guild_id, now, CLEARABLE[clear.value])
        attention = _permission_problems(
            (checkin_channel, THREAD_NEEDS),
            (sharing_channel, THREAD_NEEDS),
            (review_channel, POST_NEEDS),
            (alerts_channel, POST_NEEDS),
        )
        changed = await _channels_changed(bot, before, settings)
        if changed:
            await deliver_waiting(bot, guild_id)
            bot.dispatch("hearth_channels_changed", guild_id, changed)
        shown = settings_embed(settings, attention + await standing_troubles(bot, guild_id))
        waiting = await hand_over_waiting(bot, guild_id, room=EMBED_TOTAL_LIMIT - len(shown) - 100)
        await interaction.followup.send(embeds=[shown, *waiting], ephemeral=True)

    @setup_command.autocomplete("region")
    async def region_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        regions = ["INTL", *hearth(interaction).known_regions()]
        typed = current.strip().upper()
        return [app_commands.Choice(name=r, value=r) for r in dict.fromkeys(regions) if typed in r][:25]


def _permission_problems(*chosen: tuple[discord.TextChannel | None, tuple[str, ...]]) -> list[str]:
    lines = []
    for channel, needs in chosen:
        if channel is not None and (missing := missing_permissions(channel, needs)):
            lines.append(
                f"In {channel.mention} I'm missing {', '.join(missing)}. Please add them to my role there."
            )
    return lines


async def _channels_changed(bot: Hearth, before: GuildSettings, after: GuildSettings) -> set[str]:
    """Forget troubles with channels a moderator just changed; return the names of the changed settings."""
    changed = set()
    for name in CLEARABLE.values():
        if name == "moderator_role_id" or getattr(before, name) == getattr(after, name):
            continue
        changed.add(name)
        for channel_id in (getattr(before, name), getattr(after, name)):
            if channel_id is not None:
                await bot.notices.channel_works(after.guild_id, channel_id)
    return changed


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(Core(bot))  # type: ignore[arg-type]
