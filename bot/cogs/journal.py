"""/journal: a private journal (write, entries, export), and the prompt buttons that lead to it.

Also holds the helpers the exercise and ladder cogs share with it: `member_ids`, the care
check for private writing, and the journal prompts.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._care import offer_care
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
from bot.content_areas.exercises import JournalPrompt, PromptPool
from bot.errors import UserFacingError
from bot.services.journal import (
    ENTRY_LIMIT,
    JournalPage,
    JournalService,
    kind_label,
    preview,
    when_text,
)
from bot.services.safety import Assessment, CrisisLevel
from bot.storage.journal import JournalEntry, JournalStore

log = logging.getLogger(__name__)

JOURNAL_COLOUR = discord.Colour(0x3D405B)
ENTRY_MODAL = re.compile(r"^hearth:journal:new:(?P<prompt>[a-z0-9_-]{1,60}|-)$")
PRIVATE_FOOTER = "Only you can see this. Your journal is private and stored encrypted."
PUBLIC_PROMPT_FOOTER = (
    "Write about it privately: your entry goes to your own journal, which only you can read."
)


# ----- helpers shared with the exercise and ladder cogs ------------------------------


# How long a button waits for its work before acknowledging the click, well inside Discord's 3 seconds.
ANSWER_WITHIN_SECONDS = 2.0

T = TypeVar("T")


async def within_window(interaction: discord.Interaction, work: Awaitable[T]) -> T:
    """Await a click's work (such as a write a busy database may hold for seconds), acknowledging the
    click first if the work is not done in time; then answer with `answer_update`."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=ANSWER_WITHIN_SECONDS)
    if not done:
        await defer_private(interaction, update=True)
    return await task


async def answer_update(interaction: discord.Interaction, **message: Any) -> None:
    """Replace the clicked message, whether or not the click was acknowledged already."""
    if interaction.response.is_done():
        await interaction.edit_original_response(**message)
    else:
        await interaction.response.edit_message(**message)


def member_ids(interaction: discord.Interaction) -> tuple[int, int]:
    """Return (guild id, user id), refusing outside a server."""
    if interaction.guild_id is None:
        raise UserFacingError("Please use this inside the server: your journal and exercises live there.")
    return interaction.guild_id, interaction.user.id


async def offer_private_care(
    interaction: discord.Interaction, assessment: Assessment, *, offered: set[CrisisLevel] | None = None
) -> None:
    """Offer resources to the writer alone when their private words suggest they are struggling.

    `offered` collects the levels already offered during one piece of writing done in parts
    (a thought record's steps): resources are shown again only for a higher level.
    """
    if not assessment.needs_care:
        return
    if offered is not None:
        if any(level.rank >= assessment.level.rank for level in offered):
            return
        offered.add(assessment.level)
    # Private writing never alerts anyone: only the writer sees the resources.
    await offer_care(interaction, assessment, source="journal", alert=False)


async def report_then_care(
    interaction: discord.Interaction,
    error: BaseException,
    assessment: Assessment,
    *,
    offered: set[CrisisLevel] | None = None,
) -> None:
    """Tell the writer their words were not saved (and hand them back), then offer care anyway.

    A busy database or a failed save must not cost a struggling member the helplines.
    """
    await report(interaction, error)
    try:
        await offer_private_care(interaction, assessment, offered=offered)
    except Exception:
        log.exception("could not offer care after a failed save")


def journal_service(bot: commands.Bot) -> JournalService:
    """Build the journal service on the bot's database and keyring."""
    assert bot.db is not None  # type: ignore[attr-defined]
    return JournalService(JournalStore(bot.db, bot.keyring))  # type: ignore[attr-defined]


def prompt_pool(bot: commands.Bot) -> PromptPool:
    """Return the journal prompts from the loaded content."""
    content = getattr(bot, "content", None)
    pool = content.parts.get("journal_prompts") if content else None
    return pool if isinstance(pool, PromptPool) else PromptPool([])


def pick_prompt(pool: PromptPool, after: str | None = None) -> JournalPrompt:
    """Pick a prompt at random, other than the one just shown."""
    if not pool:
        raise UserFacingError(
            "There are no journal prompts yet. You can still write freely with /journal write."
        )
    return pool.after(after, secrets.randbelow(1_000_000))


# ----- rendering ---------------------------------------------------------------------


def prompt_message(
    prompt: JournalPrompt, intro: str = "", *, public: bool = False
) -> tuple[discord.Embed, discord.ui.View]:
    """Render a prompt with buttons to write about it or see another (a public post only offers writing)."""
    text = f"> {prompt.text}"
    if intro:
        text += f"\n\n{intro}"
    embed = discord.Embed(title="Something to write about", description=text, colour=JOURNAL_COLOUR)
    embed.set_footer(text=PUBLIC_PROMPT_FOOTER if public else PRIVATE_FOOTER)
    view = discord.ui.View(timeout=None)
    view.add_item(PromptButton(prompt.id, "write"))
    if not public:
        view.add_item(PromptButton(prompt.id, "another"))
    return embed, view


def entry_modal(prompt: JournalPrompt | None) -> discord.ui.Modal:
    """Build the journal-entry form, seeded with a prompt when one was chosen."""
    body: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Your entry",
        custom_id="body",
        style=discord.TextStyle.paragraph,
        max_length=ENTRY_LIMIT,
        required=True,
        placeholder=prompt.text if prompt else "Whatever is on your mind. Only you will read this.",
    )
    title = "Write about the prompt" if prompt else "New journal entry"
    return routed_modal(title, f"hearth:journal:new:{prompt.id if prompt else '-'}", [body])


def list_message(page: JournalPage, note: str = "") -> tuple[discord.Embed, discord.ui.View | None]:
    """Render one page of the member's entries with a menu to read one and buttons to page."""
    embed = discord.Embed(title="Your journal", colour=JOURNAL_COLOUR)
    if not page.items:
        embed.description = (note + "\n\n" if note else "") + (
            "Your journal is empty. Write your first entry with **/journal write** "
            "(add `prompt: True` for a question to start from)."
        )
        embed.set_footer(text=PRIVATE_FOOTER)
        return embed, None
    lines = [note, ""] if note else []
    for entry in page.items:
        lines.append(f"**{when_text(entry.created_at)}** · {kind_label(entry)}\n{preview(entry)}")
    embed.description = clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT)
    embed.set_footer(
        text=f"Page {page.page + 1} of {page.pages} · {page.total} "
        f"entr{'y' if page.total == 1 else 'ies'} · only you can see this"
    )
    view = discord.ui.View(timeout=None)
    view.add_item(
        EntryPicker(
            options=[
                discord.SelectOption(
                    label=clip(f"{when_text(entry.created_at)} · {kind_label(entry)}", 100),
                    description=clip(preview(entry), 100),
                    value=str(entry.id),
                )
                for entry in page.items
            ]
        )
    )
    if page.pages > 1:
        view.add_item(PageButton(max(0, page.page - 1), "Newer", disabled=not page.has_previous))
        view.add_item(PageButton(page.page + 1, "Older", disabled=not page.has_next))
    return embed, view


def entry_message(
    entry: JournalEntry, page: int, prompt: JournalPrompt | None
) -> tuple[discord.Embed, discord.ui.View]:
    """Render one entry in full, with buttons back to the list and to delete it."""
    body = entry.body
    if prompt is not None:
        body = f"> {prompt.text}\n\n{body}"
    embed = discord.Embed(
        title=f"{kind_label(entry)}, {when_text(entry.created_at)}",
        description=clip(body, EMBED_DESCRIPTION_LIMIT),
        colour=JOURNAL_COLOUR,
    )
    embed.set_footer(text=PRIVATE_FOOTER)
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton(page, "Back to the list"))
    view.add_item(EntryButton(entry.id, "delete"))
    return embed, view


def confirm_message(entry: JournalEntry) -> tuple[discord.Embed, discord.ui.View]:
    """Ask before deleting an entry for good."""
    embed = discord.Embed(
        title="Delete this entry?",
        description=f"**{when_text(entry.created_at)}** · {kind_label(entry)}\n{preview(entry)}\n\n"
        "Deleting removes it from Hearth for good. This can't be undone.",
        colour=JOURNAL_COLOUR,
    )
    view = discord.ui.View(timeout=None)
    view.add_item(EntryButton(entry.id, "confirm"))
    view.add_item(EntryButton(entry.id, "open"))
    return embed, view


# ----- persistent components -----------------------------------------------------------

_ENTRY_LABELS = {
    "open": ("Keep it", discord.ButtonStyle.secondary),
    "delete": ("Delete", discord.ButtonStyle.danger),
    "confirm": ("Delete for good", discord.ButtonStyle.danger),
}


def _cog(interaction: discord.Interaction) -> Journal:
    return cast("Journal", loaded_cog(interaction, "Journal"))


class PromptButton(
    HearthDynamicItem[discord.ui.Button[Any]],
    template=r"hearth:journal:prompt:(?P<prompt>[a-z0-9_-]{1,60}):(?P<action>write|another)",
):
    """Write about a prompt, or see another one."""

    def __init__(self, prompt_id: str, action: str) -> None:
        label, style = (
            ("Write about this", discord.ButtonStyle.primary)
            if action == "write"
            else ("Another prompt", discord.ButtonStyle.secondary)
        )
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"hearth:journal:prompt:{prompt_id}:{action}"
            )
        )
        self.prompt_id = prompt_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PromptButton:
        return cls(match["prompt"], match["action"])

    async def handle(self, interaction: discord.Interaction) -> None:
        pool = prompt_pool(interaction.client)  # type: ignore[arg-type]
        if self.action == "write":
            member_ids(interaction)
            await interaction.response.send_modal(entry_modal(pool.get(self.prompt_id)))
            return
        embed, view = prompt_message(pick_prompt(pool, after=self.prompt_id))
        await interaction.response.edit_message(embed=embed, view=view)


class PageButton(
    HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:journal:page:(?P<page>\d{1,6})"
):
    """Show one page of the member's entries."""

    def __init__(self, page: int, label: str = "Back to the list", *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                disabled=disabled,
                custom_id=f"hearth:journal:page:{page}",
            )
        )
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PageButton:
        return cls(int(match["page"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        guild_id, user_id = member_ids(interaction)
        page = await _cog(interaction).service.page(guild_id, user_id, self.page)
        embed, view = list_message(page)
        await interaction.response.edit_message(embed=embed, view=view)


class EntryPicker(HearthDynamicItem[discord.ui.Select[Any]], template=r"hearth:journal:pick"):
    """Choose an entry on the list to read it."""

    def __init__(self, options: list[discord.SelectOption] | None = None) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id="hearth:journal:pick",
                placeholder="Read an entry…",
                options=options or [],
                min_values=1,
                max_values=1,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> EntryPicker:
        options = list(item.options) if isinstance(item, discord.ui.Select) else []
        return cls(options)

    async def handle(self, interaction: discord.Interaction) -> None:
        values = self.item.values or list((interaction.data or {}).get("values", []))  # type: ignore[union-attr]
        if not values or not str(values[0]).isdigit():
            raise UserFacingError("Please choose an entry from the menu.")
        await _cog(interaction).show_entry(interaction, int(values[0]))


class EntryButton(
    HearthDynamicItem[discord.ui.Button[Any]],
    template=r"hearth:journal:entry:(?P<entry>\d{1,20}):(?P<action>open|delete|confirm)",
):
    """Open an entry, ask before deleting it, or delete it."""

    def __init__(self, entry_id: int, action: str) -> None:
        label, style = _ENTRY_LABELS[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"hearth:journal:entry:{entry_id}:{action}")
        )
        self.entry_id = entry_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> EntryButton:
        return cls(int(match["entry"]), match["action"])

    async def handle(self, interaction: discord.Interaction) -> None:
        cog = _cog(interaction)
        if self.action == "open":
            await cog.show_entry(interaction, self.entry_id)
            return
        guild_id, user_id = member_ids(interaction)
        entry = await cog.service.read(self.entry_id, user_id)
        if self.action == "delete":
            embed, view = confirm_message(entry)
            await interaction.response.edit_message(embed=embed, view=view)
            return
        page = await within_window(interaction, cog.delete_entry(entry, guild_id, user_id))
        embed, list_view = list_message(page, note="Deleted. That entry is gone from Hearth for good.")
        await answer_update(interaction, embed=embed, view=list_view)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    PromptButton,
    PageButton,
    EntryPicker,
    EntryButton,
)


# ----- the cog ---------------------------------------------------------------------------------


class Journal(commands.Cog, name="Journal"):
    """A private journal for each member: only they can read it, and it is encrypted at rest."""

    journal = app_commands.Group(
        name="journal", description="Your private journal: only you can read it", guild_only=True
    )

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = journal_service(bot)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)

    @journal.command(name="write", description="Write a private journal entry")
    @app_commands.describe(prompt="Show a question to write about first")
    async def write(self, interaction: discord.Interaction, prompt: bool = False) -> None:
        member_ids(interaction)
        if not prompt:
            await interaction.response.send_modal(entry_modal(None))
            return
        embed, view = prompt_message(pick_prompt(prompt_pool(self.bot)))
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @journal.command(name="entries", description="Read or delete your journal entries")
    async def entries(self, interaction: discord.Interaction) -> None:
        guild_id, user_id = member_ids(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        embed, view = list_message(await self.service.page(guild_id, user_id, 0))
        if view is None:
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.followup.send(embed=embed, view=view, ephemeral=True)

    @journal.command(name="export", description="Download your journal as a Markdown file (only you see it)")
    async def export(self, interaction: discord.Interaction) -> None:
        guild_id, user_id = member_ids(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        server = interaction.guild.name if interaction.guild else "this server"
        markdown, count = await self.service.export_markdown(
            guild_id,
            user_id,
            server_name=server,
            now=hearth(interaction).now(),
            prompts=prompt_pool(self.bot),
        )
        if count == 0:
            await interaction.followup.send(
                "Your journal is empty, so there's nothing to export yet.", ephemeral=True
            )
            return
        file = discord.File(io.BytesIO(markdown.encode("utf-8")), filename="hearth-journal.md")
        await interaction.followup.send(
            f"Here is your journal: {count} entr{'y' if count == 1 else 'ies'}. Only you can see this file; "
            "keep it somewhere safe.",
            file=file,
            ephemeral=True,
        )

    async def delete_entry(self, entry: JournalEntry, guild_id: int, user_id: int) -> JournalPage:
        """Delete one of the member's entries; return the page of their list it was on."""
        page = await self.service.page_of(entry)
        await self.service.delete(entry.id, user_id)
        return await self.service.page(guild_id, user_id, page)

    async def show_entry(self, interaction: discord.Interaction, entry_id: int) -> None:
        """Replace the message with one entry in full."""
        _, user_id = member_ids(interaction)
        entry = await self.service.read(entry_id, user_id)
        page = await self.service.page_of(entry)
        prompt = prompt_pool(self.bot).get(entry.prompt_id) if entry.prompt_id else None
        embed, view = entry_message(entry, page, prompt)
        await interaction.response.edit_message(embed=embed, view=view)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Save journal entries from the entry form, even one opened before a restart."""
        match = ENTRY_MODAL.match(modal_custom_id(interaction) or "")
        if match is None:
            return
        try:
            await self.save_entry(interaction, None if match["prompt"] == "-" else match["prompt"])
        except Exception as exc:
            await report(interaction, exc)

    async def save_entry(self, interaction: discord.Interaction, prompt_id: str | None) -> None:
        """Save a submitted entry, confirm privately, then offer care if the words call for it.

        Deferred first: a busy database can hold the write for seconds, and the member must still
        get their words back (the error handler returns the form's text) rather than a dead form.
        The words are assessed before the save, so care is offered even when the save fails.
        """
        guild_id, user_id = member_ids(interaction)
        text = submitted_values(interaction).get("body", "")
        if prompt_id is not None and prompt_id not in prompt_pool(self.bot):
            prompt_id = None
        await defer_private(interaction)
        assessment = await hearth(interaction).safety.assess_for_care(interaction.guild_id, text)
        try:
            await self.service.write(
                guild_id=guild_id,
                user_id=user_id,
                text=text,
                now=hearth(interaction).now(),
                prompt_id=prompt_id,
            )
        except Exception as exc:
            await report_then_care(interaction, exc, assessment)
            return
        await interaction.followup.send(
            "Saved to your private journal. Only you can read it: see **/journal entries**.", ephemeral=True
        )
        await offer_private_care(interaction, assessment)


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(Journal(bot))
