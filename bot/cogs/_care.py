"""What every feature does when text needs care: private resources for the writer, an alert for moderators.

Other areas call `offer_care` after `bot.safety.assess(...)`. The member always hears
privately; moderators hear only when the level calls for it, the feature allows it
(the journal never does) and the guild has an alerts channel. An alert about
anonymous text never names or hints at its author.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.cogs._delivery import tell_moderators
from bot.cogs._ui import HEARTH_COLOUR, clip, hearth
from bot.services.safety import Assessment, CrisisLevel

if TYPE_CHECKING:
    from bot.app import Hearth
    from bot.content_areas.safety import Helpline, Region, Resources

log = logging.getLogger(__name__)

CARE_COLOUR = discord.Colour(0x81B29A)
ALERT_COLOUR = discord.Colour(0xD62828)
FIELD_LIMIT = 1024


def _resources(bot: Hearth) -> Resources | None:
    return bot.content.parts.get("resources") if bot.content else None


def _helpline_line(line: Helpline) -> str:
    name = f"[{line.name}]({line.url})" if line.url else line.name
    hours = f" ({line.hours})" if line.hours else ""
    return f"• **{name}**: {line.contact}{hours}. _Checked {line.last_checked.isoformat()}._"


def _region_lines(region: Region | None, resources: Resources) -> str:
    lines: list[str] = []
    if region is not None:
        lines.extend(_helpline_line(line) for line in region.helplines)
        lines.append(f"• **Emergency**: {region.emergency}.")
    directory = resources.directory
    if directory is not None and (region is None or all(h.url != directory.url for h in region.helplines)):
        lines.append(f"• Elsewhere: {_helpline_line(directory)[2:]}")
    return clip("\n".join(lines), FIELD_LIMIT)


async def guild_region(bot: Hearth, guild_id: int | None) -> str:
    """Return the region code whose helplines a guild shows (INTL outside a guild)."""
    if guild_id is None or bot.guild_settings is None:
        return "INTL"
    settings = await bot.guild_settings.get(guild_id)
    return settings.resources_region


def resources_embed(bot: Hearth, region_code: str | None) -> discord.Embed:
    """Render /resources: the region's helplines, emergency numbers, professional paths and what Hearth is."""
    resources = _resources(bot)
    embed = discord.Embed(title="Help and resources", colour=CARE_COLOUR)
    if resources is None:
        embed.description = "If you are in danger, call your local emergency number now."
        return embed
    region = resources.region(region_code)
    embed.description = (
        "If you are thinking about harming yourself or you are in danger, please reach out now. "
        "These lines are free and confidential."
    )
    name = region.name if region else "International"
    embed.add_field(name=f"Helplines: {name}", value=_region_lines(region, resources), inline=False)
    for path in resources.paths[:10]:
        embed.add_field(name=clip(path.name, 256), value=clip(path.text, FIELD_LIMIT), inline=False)
    if resources.statement:
        embed.add_field(name="What Hearth is, and isn't", value=clip(resources.statement, FIELD_LIMIT),
                        inline=False)
    embed.set_footer(text="A moderator can change the region with /setup region:.")
    return embed


def care_embed(
    bot: Hearth, region_code: str | None, assessment: Assessment, moderator_line: str
) -> discord.Embed:
    """Render the private message a member gets when their words suggest they may be struggling."""
    resources = _resources(bot)
    if assessment.level is CrisisLevel.CRISIS:
        opening = (
            "It sounds like you're carrying something really heavy right now. You don't have to carry it "
            "alone, and you deserve support today. Talking to someone can help, right now if you can."
        )
    else:
        opening = (
            "It sounds like things are hard at the moment. Thank you for putting it into words. "
            "If it would help to talk to someone, these lines are free and confidential."
        )
    embed = discord.Embed(title="You're not alone", description=opening, colour=CARE_COLOUR)
    if resources is not None:
        region = resources.region(region_code)
        embed.add_field(name="Reach someone now", value=_region_lines(region, resources), inline=False)
    embed.add_field(name="Here", value=moderator_line, inline=False)
    embed.set_footer(
        text="Hearth is peer support, not therapy or emergency care. /resources shows this again."
    )
    return embed


def _moderator_line(will_alert: bool, anonymous: bool, alerts_enabled: bool) -> str:
    if will_alert and anonymous:
        return ("I've let this server's moderators know that someone may need support. They can see the "
                "post, but not who wrote it: if you'd like one of them to reach out, message a moderator.")
    if will_alert:
        return ("I've quietly let this server's moderators know, so one of them can reach out to you. "
                "Nobody else has been told.")
    if alerts_enabled:
        return ("Nobody has been told about this. If you'd like a moderator to reach out, message one "
                "directly: this server's moderators are there for that.")
    return "Nobody has been told about this. You can always message a moderator if you'd like to talk."


async def _send_private(interaction: discord.Interaction, embed: discord.Embed) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not show care resources to a member (%s)", exc.status)


async def _send_private_text(interaction: discord.Interaction, text: str) -> None:
    try:
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not tell a member that moderators were not reached yet (%s)", exc.status)


def alert_embed(
    assessment: Assessment,
    *,
    source: str,
    link: str | None,
    review_link: str | None,
    member: discord.abc.User | None,
) -> discord.Embed:
    """Render a moderator alert; `member` is None for anonymous text, so nothing identifies the author."""
    crisis = assessment.level is CrisisLevel.CRISIS
    title = "Someone may be in crisis" if crisis else "Someone may be struggling"
    embed = discord.Embed(title=title, colour=ALERT_COLOUR if crisis else HEARTH_COLOUR)
    lines = [f"Hearth noticed {assessment.level.value} language in a **{clip(source, 40)}**."]
    if member is not None:
        lines.append(f"Written by {member.mention}. They have been shown helplines privately and told "
                     "that a moderator may reach out.")
    else:
        lines.append("It was written anonymously: Hearth does not say, and cannot show, who wrote it. "
                     "The writer has been shown helplines privately.")
    if link:
        lines.append(f"[Open the message]({link})")
    if review_link:
        lines.append(f"[Open the review item]({review_link})")
    # The member's words (even the matched phrases) stay with the member: moderators get the
    # level, the feature and where to look, nothing more.
    embed.description = "\n".join(lines)
    embed.set_footer(text="Reach out gently and privately. For immediate danger, contact emergency services.")
    return embed


async def post_alert(bot: Hearth, guild_id: int, embed: discord.Embed, *, user_id: int | None = None) -> bool:
    """Post an alert for moderators (alerts channel, else review channel); say whether it arrived now.

    One that could not be delivered is kept, never dropped: it goes out with the next route that
    works, or the next moderator's /setup. `user_id` is the member it names, if any.
    """
    return await tell_moderators(bot, guild_id, embed, user_id=user_id)


NOT_YET_TOLD = (
    "I couldn't reach this server's moderators just now. I'll pass this on as soon as I can. "
    "If you'd like to talk to someone now, the helplines above are there for you, and you can "
    "message a moderator directly."
)


async def offer_care(
    interaction: discord.Interaction,
    assessment: Assessment,
    *,
    source: str,
    link: str | None = None,
    review_link: str | None = None,
    alert: bool = True,
    anonymous: bool = False,
) -> None:
    """Show the member private resources and, when called for, alert the guild's moderators.

    Pass `review_link` (and/or `anonymous=True`) for anonymous text: the alert then carries
    no trace of the author. Pass `alert=False` for private writing such as the journal.
    """
    if not assessment.needs_care:
        return
    bot = hearth(interaction)
    guild_id = interaction.guild_id
    anonymous = anonymous or review_link is not None
    alerts_channel_id: int | None = None
    if guild_id is not None and bot.guild_settings is not None:
        alerts_channel_id = (await bot.guild_settings.get(guild_id)).alerts_channel_id
    will_alert = bool(
        alert
        and alerts_channel_id is not None
        and await bot.safety.should_alert(guild_id, assessment)
    )
    region = await guild_region(bot, guild_id)
    line = _moderator_line(will_alert, anonymous, alert and alerts_channel_id is not None)
    await _send_private(interaction, care_embed(bot, region, assessment, line))
    if will_alert and guild_id is not None:
        member = None if anonymous else interaction.user
        embed = alert_embed(assessment, source=source, link=link, review_link=review_link, member=member)
        if not await post_alert(bot, guild_id, embed, user_id=member.id if member else None):
            await _send_private_text(interaction, NOT_YET_TOLD)


__all__ = ["alert_embed", "care_embed", "guild_region", "offer_care", "post_alert",
           "resources_embed"]
