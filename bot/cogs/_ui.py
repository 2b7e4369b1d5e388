"""Shared pieces for cogs: moderator checks, error routing for views, Discord's text limits, and
modals whose submissions are routed by custom id (so a form open during a restart still saves)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.errors import NotModeratorError

if TYPE_CHECKING:
    from bot.app import Hearth

log = logging.getLogger(__name__)

EMBED_DESCRIPTION_LIMIT = 4096
MESSAGE_LIMIT = 2000
EMBED_TOTAL_LIMIT = 6000
MODAL_TITLE_LIMIT = 45
TEXT_INPUT_LIMIT = 4000
CHOICES_LIMIT = 25
CHOICE_NAME_LIMIT = 100

# Slash-command text options carry their own length, so Discord refuses an oversized value
# (with its own message) before Hearth sees it.
ShortText = app_commands.Range[str, 1, 100]  # names, ids, and values picked from autocomplete
TimeText = app_commands.Range[str, 1, 20]  # "19:30", "7:30pm"
ZoneText = app_commands.Range[str, 1, 64]  # IANA zones are at most 32 characters
DaysText = app_commands.Range[str, 1, 60]  # "daily", "mon,wed,fri"
SetNameText = app_commands.Range[str, 1, 40]  # a prompt set's name

# The house colour for Hearth's embeds: a warm ember.
HEARTH_COLOUR = discord.Colour(0xE07A5F)


def clip(text: str, limit: int) -> str:
    """Trim text to a limit on purpose, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_exact(text: str, limit: int) -> list[str]:
    """Split text into pieces within a limit that join back to exactly the text."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit)) + 1
        if cut <= limit // 2:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


def typed_text(interaction: discord.Interaction, *, options: bool = True) -> str | None:
    """Return the free text a member typed for this interaction: a form's fields, or a command's
    text options (those without choices or autocomplete), joined by blank lines; None if none."""
    found: list[str] = []
    if interaction.type is discord.InteractionType.modal_submit:
        found = list(submitted_values(interaction).values())
    elif options and isinstance(interaction.command, app_commands.Command):
        for parameter in interaction.command.parameters:
            if (
                parameter.type is discord.AppCommandOptionType.string
                and not parameter.choices
                and not parameter.autocomplete
            ):
                value = getattr(interaction.namespace, parameter.display_name, None)
                found.append(value if isinstance(value, str) else "")
    text = "\n\n".join(value for value in found if value.strip())
    return text or None


async def defer_private(interaction: discord.Interaction, *, update: bool = False) -> None:
    """Acknowledge an interaction before slow work (a database write, several requests).

    `update=True` for a button or form whose answer replaces the message it came from.
    Later answers go through `interaction.followup` or `edit_original_response`.
    """
    if interaction.response.is_done():
        return
    if update:
        await interaction.response.defer()
    else:
        await interaction.response.defer(ephemeral=True, thinking=True)


def hearth(interaction: discord.Interaction) -> Hearth:
    """Return the bot behind an interaction, typed."""
    return interaction.client  # type: ignore[return-value]


def loaded_cog(interaction: discord.Interaction, name: str) -> Any:
    """Return the loaded cog that a persistent item hands its click to.

    Found by name, not class: discord.py loads each extension as a fresh module object,
    and another cog may hold a module's items from an earlier import.
    """
    cog = hearth(interaction).get_cog(name)
    assert cog is not None
    return cog


async def is_moderator(interaction: discord.Interaction) -> bool:
    """Say whether the member has Manage Server or this guild's moderator role."""
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        return False
    if interaction.permissions.manage_guild:
        return True
    bot = hearth(interaction)
    assert bot.guild_settings is not None
    settings = await bot.guild_settings.get(interaction.guild_id)
    role_id = settings.moderator_role_id
    return role_id is not None and any(role.id == role_id for role in interaction.user.roles)


class NotModerator(app_commands.CheckFailure):
    """Raised by the moderator check; the error handler shows its friendly text."""

    def __init__(self) -> None:
        super().__init__(NotModeratorError().message)


async def require_moderator(interaction: discord.Interaction) -> bool:
    """App-command check: pass for moderators, raise NotModerator for anyone else."""
    if await is_moderator(interaction):
        return True
    raise NotModerator()


def moderator_command() -> Any:
    """Decorate a command (or Group class) as moderator-only: hidden by default, checked at run time."""

    def decorator(func: Any) -> Any:
        func = app_commands.default_permissions(manage_guild=True)(func)
        func = app_commands.guild_only()(func)
        return app_commands.check(require_moderator)(func)

    return decorator


class ModeratorGroup(app_commands.Group):
    """A command group for moderators only: Manage Server by default, and checked at run time."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_permissions", discord.Permissions(manage_guild=True))
        kwargs.setdefault("guild_only", True)
        super().__init__(**kwargs)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await require_moderator(interaction)


async def report(interaction: discord.Interaction, error: BaseException) -> None:
    """Send an error from a view, modal or button through the bot's one error handler."""
    await hearth(interaction).report_interaction_error(interaction, error)


class HearthView(discord.ui.View):
    """A view whose errors reach the member kindly instead of only the log."""

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: Any, /) -> None:
        await report(interaction, error)


class HearthModal(discord.ui.Modal):
    """A modal whose errors reach the member kindly instead of only the log."""

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await report(interaction, error)


ItemT = TypeVar("ItemT", bound=discord.ui.Item[Any])


class HearthDynamicItem(discord.ui.DynamicItem[ItemT], template=r"hearth:abstract-item"):
    """A persistent item: subclasses implement `handle`; errors go through the one handler.

    discord.py only logs exceptions from dynamic items, so the callback is wrapped here.
    DynamicItem requires a template on every subclass; subclasses give their own.
    """

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        try:
            await self.handle(interaction)
        except Exception as exc:
            await report(interaction, exc)

    async def handle(self, interaction: discord.Interaction) -> None:
        """Answer the click."""
        raise NotImplementedError


# ----- modals that survive a restart ---------------------------------------------------


def routed_modal(title: str, custom_id: str, inputs: Iterable[discord.ui.TextInput[Any]]) -> discord.ui.Modal:
    """Build a modal whose submission a cog's `on_interaction` listener handles by custom id.

    The modal is stopped before it is sent, so discord.py does not keep it in its in-memory
    store: the submission is routed by custom id instead, and still arrives after a restart.
    """
    modal = discord.ui.Modal(title=clip(title, MODAL_TITLE_LIMIT), custom_id=custom_id, timeout=None)
    for text_input in inputs:
        modal.add_item(text_input)
    modal.stop()
    return modal


def submitted_values(interaction: discord.Interaction) -> dict[str, str]:
    """Return a modal submission's values by the custom id of each text input."""
    values: dict[str, str] = {}

    def walk(components: Iterable[dict[str, Any]]) -> None:
        for component in components:
            if component.get("type") == 1:
                walk(component.get("components", []))
            elif component.get("type") == 18:
                walk([component.get("component", {})])
            elif "custom_id" in component:
                values[component["custom_id"]] = str(component.get("value") or "")

    walk((interaction.data or {}).get("components", []))  # type: ignore[arg-type]
    return values


def modal_custom_id(interaction: discord.Interaction) -> str | None:
    """Return a modal submission's custom id, or None for any other interaction."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    return str((interaction.data or {}).get("custom_id", ""))
