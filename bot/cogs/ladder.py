"""/ladder: a private trust ladder of small steps, practised and rated over time."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._ui import (
    EMBED_DESCRIPTION_LIMIT,
    HearthDynamicItem,
    clip,
    defer_private,
    hearth,
    loaded_cog,
    modal_custom_id,
    report,
    routed_modal,
    submitted_values,
)
from bot.cogs.journal import member_ids
from bot.errors import UserFacingError
from bot.services.ladder import (
    GUIDANCE,
    TITLE_LIMIT,
    Ladder,
    LadderService,
    LogResult,
    StepProgress,
    milestone_for,
    trend_of,
)
from bot.storage.db import StorageBusyError
from bot.storage.ladder import LadderStore

if TYPE_CHECKING:
    from bot.app import Hearth


LADDER_COLOUR = discord.Colour(0xF2CC8F)
SHARE_MODAL = re.compile(r"^hearth:ladder:post:(?P<step>\d{1,20})$")
SHARE_LIMIT = 1000


def sharing_available(bot: commands.Bot) -> bool:
    """Say whether the sharing cog is loaded and offers `share_text`."""
    cog = bot.get_cog("Sharing")
    return cog is not None and callable(getattr(cog, "share_text", None))


def _status(progress: StepProgress) -> str:
    if progress.manageable:
        return "✅ feels manageable"
    if progress.tries:
        return f"🔁 practised {progress.tries} time{'s' if progress.tries != 1 else ''}"
    return "○ not tried yet"


def _step_line(progress: StepProgress) -> str:
    step = progress.step
    line = f"`{step.difficulty:>3}` **{clip(step.title, 100)}**: {_status(progress)}"
    if progress.tries:
        befores = " → ".join(str(b) for b in progress.trend.befores[-4:])
        line += f"\n      discomfort before: {befores}"
    return line


def ladder_embed(ladder: Ladder) -> discord.Embed:
    """Render the member's ladder, easiest first, with progress and guidance."""
    embed = discord.Embed(title="Your trust ladder", colour=LADDER_COLOUR)
    if not ladder.steps:
        embed.description = (
            "Your ladder is empty. A trust ladder is a list of small acts of trust, from easiest to hardest. "
            "Add your first step with **/ladder add**, for example "
            "`/ladder add step: Ask a colleague for a recommendation difficulty: 15`."
        )
        embed.add_field(name="How to climb", value=GUIDANCE, inline=False)
        return embed
    total = len(ladder.steps)
    done = ladder.manageable_count
    lines = [
        f"**{done} of {total}** step{'s' if total != 1 else ''} feel{'s' if total == 1 else ''} manageable  "
        + "▰" * done
        + "▱" * (total - done),
        "",
    ]
    lines += [_step_line(progress) for progress in ladder.steps]
    if ladder.next_step is not None:
        lines += ["", f"**Next to practise:** {clip(ladder.next_step.step.title, 100)}"]
    else:
        lines += ["", "**Every step feels manageable.** That's real progress: consider adding a new step."]
    embed.description = clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT)
    embed.add_field(name="How to climb", value=GUIDANCE, inline=False)
    embed.set_footer(text="Only you can see your ladder. Difficulty and discomfort are 0-100.")
    return embed


def log_embed(result: LogResult, before: int, after: int) -> discord.Embed:
    """Render a logged practice: the ratings, the trend for that step and any small win."""
    progress = result.progress
    embed = discord.Embed(title=clip(f"Logged: {progress.step.title}", 256), colour=LADDER_COLOUR)
    lines = [f"Discomfort before: **{before}**, after: **{after}**.", "", progress.trend.describe()]
    if result.milestone is not None:
        lines += ["", f"🎉 **A small win.** {result.milestone.message} Take a moment to notice it."]
    elif after < before:
        lines += ["", "It eased while you did it. That's your nervous system learning this can be safe."]
    else:
        lines += ["", "Every try counts, including the hard ones. Repeating a step is how it gets easier."]
    embed.description = "\n".join(lines)
    embed.set_footer(text="Only you can see this. /ladder view shows your whole ladder.")
    return embed


def _cog(interaction: discord.Interaction) -> LadderCog:
    return cast("LadderCog", loaded_cog(interaction, "Ladder"))


class ShareMilestoneButton(
    HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:ladder:share:(?P<step>\d{1,20})"
):
    """Offer to post the latest small win on a step anonymously, in the member's own words."""

    def __init__(self, step_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Share this win anonymously",
                style=discord.ButtonStyle.secondary,
                custom_id=f"hearth:ladder:share:{step_id}",
            )
        )
        self.step_id = step_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ShareMilestoneButton:
        return cls(int(match["step"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        cog = _cog(interaction)
        if not sharing_available(cog.bot):
            raise UserFacingError("Anonymous sharing isn't available on this server right now.")
        step = await cog.service.own_step(self.step_id, interaction.user.id)
        progress = StepProgress(step, trend_of(step.logs))
        milestone = milestone_for(progress)
        suggested = (
            milestone.share_text
            if milestone
            else "A small win: I practised a step on my trust ladder. Small steps count."
        )
        text: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Your post (anonymous)",
            custom_id="text",
            style=discord.TextStyle.paragraph,
            default=suggested,
            max_length=SHARE_LIMIT,
            required=True,
        )
        await interaction.response.send_modal(
            routed_modal("Share a small win anonymously", f"hearth:ladder:post:{step.id}", [text])
        )


class LadderCog(commands.Cog, name="Ladder"):
    """A member's private trust ladder."""

    ladder = app_commands.Group(
        name="ladder", description="Your private trust ladder: small steps of trust", guild_only=True
    )

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        hearth_bot = cast("Hearth", bot)
        assert hearth_bot.db is not None
        self.service = LadderService(LadderStore(hearth_bot.db, hearth_bot.keyring))

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ShareMilestoneButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ShareMilestoneButton)

    @ladder.command(name="add", description="Add a step to your trust ladder")
    @app_commands.describe(
        step="A small act of trust, such as 'Ask a friend for a recommendation'",
        difficulty="How hard it feels, from 0 (easy) to 100 (the hardest you can imagine)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        step: app_commands.Range[str, 1, TITLE_LIMIT],
        difficulty: app_commands.Range[int, 0, 100],
    ) -> None:
        guild_id, user_id = member_ids(interaction)
        await defer_private(interaction)
        try:
            added = await self.service.add(
                guild_id=guild_id,
                user_id=user_id,
                title=step,
                difficulty=difficulty,
                now=hearth(interaction).now(),
            )
        except StorageBusyError:
            raise UserFacingError("Hearth is very busy and couldn't add that step.", keep_text=step) from None
        ladder = await self.service.ladder(guild_id, user_id)
        place = next(i for i, p in enumerate(ladder.steps, start=1) if p.step.id == added.id)
        text = (
            f"Added **{clip(added.title, 100)}** (difficulty {added.difficulty}). "
            f"It's step {place} of {len(ladder.steps)}, counting from the easiest."
        )
        if len(ladder.steps) == 1:
            text += (
                "\n\nA good ladder has several small steps. Start with the easiest, "
                "and when you've tried it, log how it felt with **/ladder log**."
            )
        await interaction.followup.send(text, ephemeral=True)

    @ladder.command(name="view", description="See your trust ladder and your progress")
    async def view(self, interaction: discord.Interaction) -> None:
        guild_id, user_id = member_ids(interaction)
        await interaction.response.send_message(
            embed=ladder_embed(await self.service.ladder(guild_id, user_id)), ephemeral=True
        )

    @ladder.command(name="log", description="Log a try of a step: how uncomfortable it felt before and after")
    @app_commands.describe(
        step="Which step you practised",
        before="Discomfort just before, from 0 (none) to 100 (the most)",
        after="Discomfort afterwards, from 0 to 100",
    )
    async def log(
        self,
        interaction: discord.Interaction,
        step: app_commands.Range[str, 1, 100],
        before: app_commands.Range[int, 0, 100],
        after: app_commands.Range[int, 0, 100],
    ) -> None:
        _, user_id = member_ids(interaction)
        step_id = _step_id(step)
        # Answered first: a busy database can hold the write past Discord's 3 seconds, and a member
        # who saw no answer would log the same try again.
        await defer_private(interaction)
        try:
            result = await self.service.log(
                step_id=step_id, user_id=user_id, before=before, after=after, now=hearth(interaction).now()
            )
        except StorageBusyError:
            raise UserFacingError(
                f"Hearth is very busy and couldn't log that try (discomfort before {before}, after {after}). "
                "Nothing was saved, so please log it again in a few seconds."
            ) from None
        view = None
        if result.milestone is not None and sharing_available(self.bot):
            view = discord.ui.View(timeout=None).add_item(ShareMilestoneButton(result.progress.step.id))
        if view is None:
            await interaction.followup.send(embed=log_embed(result, before, after), ephemeral=True)
        else:
            await interaction.followup.send(embed=log_embed(result, before, after), view=view, ephemeral=True)

    @ladder.command(name="remove", description="Remove a step and its history from your ladder")
    @app_commands.describe(step="Which step to remove")
    async def remove(self, interaction: discord.Interaction, step: app_commands.Range[str, 1, 100]) -> None:
        _, user_id = member_ids(interaction)
        step_id = _step_id(step)
        await defer_private(interaction)
        try:
            found = await self.service.own_step(step_id, user_id)
            await self.service.remove(found.id, user_id)
        except StorageBusyError:
            raise UserFacingError(
                "Hearth is very busy and couldn't remove that step. It is still on your ladder; "
                "please try again in a few seconds."
            ) from None
        await interaction.followup.send(
            f"Removed **{clip(found.title, 100)}** and its history from your ladder.", ephemeral=True
        )

    @log.autocomplete("step")
    @remove.autocomplete("step")
    async def step_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        ladder = await self.service.ladder(interaction.guild_id, interaction.user.id)
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=clip(f"{p.step.title} ({p.step.difficulty})", 100), value=str(p.step.id))
            for p in ladder.steps
            if typed in p.step.title.lower()
        ][:25]

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Post an anonymous milestone from the share form, through the sharing cog's full pipeline."""
        match = SHARE_MODAL.match(modal_custom_id(interaction) or "")
        if match is None:
            return
        try:
            await self.share_milestone(interaction, int(match["step"]))
        except Exception as exc:
            await report(interaction, exc)

    async def share_milestone(self, interaction: discord.Interaction, step_id: int) -> None:
        """Hand the member's words to the sharing cog, which vets, holds or posts them anonymously."""
        text = submitted_values(interaction).get("text", "").strip()
        await self.service.own_step(step_id, interaction.user.id)
        cog = self.bot.get_cog("Sharing")
        share_text = getattr(cog, "share_text", None)
        if share_text is None:
            raise UserFacingError(
                "Anonymous sharing isn't available on this server right now.", keep_text=text
            )
        await share_text(interaction, text=text, title="A small win on the trust ladder", source="ladder")


def _step_id(typed: str) -> int:
    value = typed.strip()
    if not value.isdigit():
        raise UserFacingError("Please pick a step from the list that appears as you type.")
    return int(value)


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(LadderCog(bot))
