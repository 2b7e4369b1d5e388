"""/resources for everyone; /safety test, phrases and alerts for moderators."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._care import CARE_COLOUR, guild_region, resources_embed
from bot.cogs._ui import (
    CHOICES_LIMIT,
    HEARTH_COLOUR,
    ModeratorGroup,
    clip,
    defer_private,
    hearth,
    require_moderator,
)
from bot.errors import UserFacingError
from bot.services.safety import MAX_PHRASE_LENGTH, CrisisLevel

LEVEL_CHOICES = [
    app_commands.Choice(name="crisis: resources for the writer and an alert for moderators", value="crisis"),
    app_commands.Choice(name="concern: resources for the writer", value="concern"),
    app_commands.Choice(name="ignore: everyday speech here (never overrides built-in crisis)",
                        value="ignore"),
]
ALERT_CHOICES = [
    app_commands.Choice(name="crisis only (the default)", value="crisis"),
    app_commands.Choice(name="crisis and concern", value="concern"),
]
LEVEL_WORDS = {
    CrisisLevel.NONE: "none: nothing would happen",
    CrisisLevel.CONCERN: "concern: the writer would privately see helplines",
    CrisisLevel.CRISIS: "crisis: the writer would privately see helplines, and moderators would be alerted",
}


class ModeratorSubgroup(app_commands.Group):
    """A nested group whose commands are checked for moderators too (nested groups skip the root's check)."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await require_moderator(interaction)


class Safety(commands.Cog):
    """Helplines for everyone, and the crisis-language settings for moderators."""

    safety = ModeratorGroup(name="safety", description="How Hearth notices crisis language here (moderators)")
    phrases = ModeratorSubgroup(name="phrases", description="This server's own safety phrases", parent=safety)

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    # ----- /resources -----

    @app_commands.command(name="resources", description="Helplines, emergency numbers and professional help")
    @app_commands.describe(region="Show another region's helplines (default: this server's region)")
    async def resources(
        self, interaction: discord.Interaction, region: app_commands.Range[str, 1, 20] | None = None
    ) -> None:
        bot = hearth(interaction)
        code = region.strip().upper() if region else await guild_region(bot, interaction.guild_id)
        note = None
        if region and code not in bot.known_regions():
            note = (f"I don't have a list for `{clip(code, 20)}` yet, so here are the international "
                    "lines. Start typing a country to see the regions I know.")
        await interaction.response.send_message(note, embed=resources_embed(bot, code), ephemeral=True)

    @resources.autocomplete("region")
    async def region_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        bot = hearth(interaction)
        resources = bot.content.parts.get("resources") if bot.content else None
        regions = getattr(resources, "regions", {}) or {}
        typed = current.strip().casefold()
        choices = [
            app_commands.Choice(name=f"{r.name} ({code})", value=code)
            for code, r in sorted(regions.items())
            if typed in code.casefold() or typed in r.name.casefold()
        ]
        return choices[:CHOICES_LIMIT]

    # ----- /safety test -----

    @safety.command(name="test", description="See how Hearth would read some text (nothing is stored)")
    @app_commands.describe(text="The words to check")
    async def test(self, interaction: discord.Interaction, text: app_commands.Range[str, 1, 2000]) -> None:
        bot = hearth(interaction)
        assessment = await bot.safety.assess(interaction.guild_id, text)
        embed = discord.Embed(title="How Hearth reads this", colour=HEARTH_COLOUR)
        embed.add_field(name="Level", value=LEVEL_WORDS[assessment.level], inline=False)
        matched = "\n".join(f"• `{clip(m, 90)}`" for m in assessment.matched[:15]) or "no phrase matched"
        embed.add_field(name="Matched phrases (normalised)", value=clip(matched, 1024), inline=False)
        if assessment.level is not CrisisLevel.NONE and interaction.guild_id is not None:
            alerts = await bot.safety.should_alert(interaction.guild_id, assessment)
            settings = await bot.guild_settings.get(interaction.guild_id) if bot.guild_settings else None
            channel = settings.alerts_channel_id if settings else None
            where = f"<#{channel}>" if channel else "nowhere yet: set one with /setup alerts_channel:"
            embed.add_field(name="Alert", value=f"{'yes' if alerts else 'no'} (alerts channel: {where})",
                            inline=False)
        embed.set_footer(text="Journal entries never alert anyone, whatever their level.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    # ----- /safety alerts -----

    @safety.command(name="alerts", description="Choose whether concern alerts moderators too (crisis always)")
    @app_commands.describe(level="Which levels post an alert in the alerts channel")
    @app_commands.choices(level=ALERT_CHOICES)
    async def alerts(
        self, interaction: discord.Interaction, level: app_commands.Choice[str] | None = None
    ) -> None:
        bot = hearth(interaction)
        assert interaction.guild_id is not None
        if level is not None:
            await bot.safety.set_alerts_on_concern(interaction.guild_id, level.value == "concern", bot.now())
        on_concern = await bot.safety.alerts_on_concern(interaction.guild_id)
        settings = await bot.guild_settings.get(interaction.guild_id) if bot.guild_settings else None
        channel = settings.alerts_channel_id if settings else None
        lines = [
            "Moderators are alerted for **crisis and concern**." if on_concern
            else "Moderators are alerted for **crisis** only. Concern shows the writer helplines, privately.",
            f"Alerts go to <#{channel}>." if channel
            else "There is no alerts channel yet, so no alert is posted: use `/setup alerts_channel:`.",
            "Alerts about anonymous posts never say who wrote them. Journal entries never alert.",
        ]
        await interaction.response.send_message("\n".join(lines), ephemeral=True)

    # ----- /safety phrases -----

    @phrases.command(name="add", description="Add a phrase to treat as crisis, concern or everyday speech")
    @app_commands.describe(phrase="Plain words; case, apostrophes and repeated letters don't matter",
                           level="What the phrase means here (ignore needs at least two words)")
    @app_commands.choices(level=LEVEL_CHOICES)
    async def phrases_add(
        self,
        interaction: discord.Interaction,
        phrase: app_commands.Range[str, 1, MAX_PHRASE_LENGTH],
        level: app_commands.Choice[str],
    ) -> None:
        bot = hearth(interaction)
        assert interaction.guild_id is not None
        await defer_private(interaction)
        check = await bot.safety.check_phrase(interaction.guild_id, phrase, level.value)
        row = await bot.safety.add_phrase(interaction.guild_id, phrase, level.value, bot.now())
        lines = [f"Added `{clip(row.phrase, 100)}` as **{row.level}** for this server. "
                 "Try it with `/safety test`."]
        if check.changed:
            shown = "\n".join(f"• `{clip(text, 80)}` would now read as **{new.value}**"
                               for text, new in check.changed[:3])
            lines.append(f"⚠️ This changes how Hearth reads {len(check.changed)} of its built-in crisis "
                         f"examples:\n{shown}\nRemove it with `/safety phrases remove` if that is not "
                         "what you meant.")
        if check.shielded:
            shown = "\n".join(f"• `{clip(text, 80)}`" for text in check.shielded[:3])
            lines.append("Note: an ignore phrase can't switch off built-in crisis detection, so messages "
                         f"like these still read as crisis here:\n{shown}")
        await interaction.followup.send(clip("\n\n".join(lines), 2000), ephemeral=True)

    @phrases.command(name="remove", description="Remove one of this server's own phrases")
    @app_commands.describe(phrase="The phrase to remove")
    async def phrases_remove(
        self, interaction: discord.Interaction, phrase: app_commands.Range[str, 1, MAX_PHRASE_LENGTH]
    ) -> None:
        bot = hearth(interaction)
        assert interaction.guild_id is not None
        if not await bot.safety.remove_phrase(interaction.guild_id, phrase):
            raise UserFacingError("This server has no such phrase. `/safety phrases list` shows them all.")
        await interaction.response.send_message(f"Removed `{clip(phrase, 100)}`.", ephemeral=True)

    @phrases_remove.autocomplete("phrase")
    async def phrase_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        rows = await hearth(interaction).safety.list_phrases(interaction.guild_id)
        typed = current.casefold()
        return [app_commands.Choice(name=clip(f"{r.phrase} ({r.level})", 100), value=r.phrase)
                for r in rows if typed in r.phrase.casefold()][:CHOICES_LIMIT]

    @phrases.command(name="list", description="Show this server's own phrases")
    async def phrases_list(self, interaction: discord.Interaction) -> None:
        bot = hearth(interaction)
        assert interaction.guild_id is not None
        rows = await bot.safety.list_phrases(interaction.guild_id)
        embed = discord.Embed(title="This server's safety phrases", colour=CARE_COLOUR)
        if not rows:
            embed.description = ("None yet. Hearth uses its built-in phrases; add your own with "
                                 "`/safety phrases add`.")
        for level in ("crisis", "concern", "ignore"):
            words = [f"`{r.phrase}`" for r in rows if r.level == level]
            if words:
                embed.add_field(name=level, value=clip(", ".join(words), 1024), inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(Safety(bot))
