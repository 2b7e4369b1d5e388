"""/faq and /learn for everyone, /faqadmin for moderators.

Answers are private unless the member presses "Post in channel". A question that
reads as crisis goes to the safety service and `offer_care` first, and is never
stored. A question nothing answers goes to the gap queue with no trace of who asked.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._care import offer_care
from bot.cogs._ui import (
    CHOICE_NAME_LIMIT,
    CHOICES_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    HEARTH_COLOUR,
    HearthDynamicItem,
    ModeratorGroup,
    ShortText,
    clip,
    defer_private,
    hearth,
    modal_custom_id,
    report,
    require_moderator,
    routed_modal,
    submitted_values,
)
from bot.content_areas.faq import page_description
from bot.errors import UserFacingError
from bot.services.faq import (
    ALIAS_LIMIT,
    ANSWER_LIMIT,
    IMPORT_BYTES_LIMIT,
    QUESTION_LIMIT,
    FaqEntry,
    FaqService,
    MissGroup,
    Origin,
    Topic,
    Verdict,
    split_keywords,
)
from bot.services.safety import CrisisLevel
from bot.storage.db import StorageBusyError

if TYPE_CHECKING:
    from bot.app import Hearth

log = logging.getLogger(__name__)

PICKED = re.compile(r"^faq:(?P<entry>[a-z0-9][a-z0-9-]{0,47})$")
BUTTON_LABEL_LIMIT = 80
RELATED_BUTTONS = 3
TOPIC_RELATED_BUTTONS = 10
MISS_GROUPS_SHOWN = 10
BUSY = "Hearth is very busy for a moment and couldn't save that. Please try again in a few seconds."

NO_MATCH = (
    "I couldn't find an answer to that in the FAQ yet, sorry.\n\n"
    "• Browse the topic cards with **/learn**, for example `/learn healing`.\n"
    "• If you're having a hard time right now, **/resources** lists people you can talk to today."
)
NO_MATCH_QUEUED = (
    "\n\nI've added your question to a list the moderators use to improve the FAQ. "
    "It doesn't say who asked."
)


def faq_service(interaction: discord.Interaction) -> FaqService:
    """Return the bot's FAQ service."""
    service = getattr(hearth(interaction), "faq", None)
    assert isinstance(service, FaqService)
    return service


# ----- rendering -------------------------------------------------------------------


def answer_embed(service: FaqService, entry: FaqEntry, *, shared: bool = False) -> discord.Embed:
    """Render an entry's answer."""
    embed = discord.Embed(title=clip(entry.question, 256), description=entry.answer, colour=HEARTH_COLOUR)
    if entry.origin is Origin.CUSTOM:
        source = "Written by this server's moderators"
    else:
        label = service.section_label(entry)
        topic = entry.section.partition("/")[0]
        source = f"From the guide: {label} · more with /learn {topic}" if label else "From Hearth's FAQ"
        if entry.origin is Origin.OVERRIDE:
            source += " · adapted by this server's moderators"
    if shared:
        source = "Shared from /faq · " + source
    embed.set_footer(text=clip(source, 2048))
    return embed


def _button_label(text: str) -> str:
    return clip(text, BUTTON_LABEL_LIMIT)


async def answer_view(service: FaqService, guild_id: int | None, entry: FaqEntry) -> discord.ui.View:
    """Buttons under an answer: post it publicly, and open related entries."""
    view = discord.ui.View(timeout=None)
    view.add_item(PostButton(entry.id))
    for related in await service.entries(guild_id, entry.related[:RELATED_BUTTONS]):
        view.add_item(ShowButton(related.id, label=_button_label(related.question), row=1))
    return view


async def send_answer(interaction: discord.Interaction, entry: FaqEntry, *, edit: bool = False) -> None:
    """Show an answer privately (as a new message, or in place of the message clicked)."""
    service = faq_service(interaction)
    embed = answer_embed(service, entry)
    view = await answer_view(service, interaction.guild_id, entry)
    if edit:
        await interaction.response.edit_message(content=None, embed=embed, view=view)
    elif interaction.response.is_done():
        await interaction.followup.send(embed=embed, view=view, ephemeral=True)
    else:
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)


def did_you_mean(entries: list[FaqEntry]) -> tuple[discord.Embed, discord.ui.View]:
    """Offer up to three entries as buttons."""
    lines = "\n".join(f"• {clip(e.question, 200)}" for e in entries)
    embed = discord.Embed(
        title="Did you mean…",
        description=f"{lines}\n\nPick one, or ask again in other words. `/learn` has the topic cards.",
        colour=HEARTH_COLOUR,
    )
    view = discord.ui.View(timeout=None)
    for entry in entries[:3]:
        view.add_item(PickButton(entry.id, label=_button_label(entry.question)))
    return embed, view


async def learn_card(service: FaqService, guild_id: int | None, topic: Topic,
                     page: int) -> tuple[discord.Embed, discord.ui.View]:
    """Render one page of a topic card with Previous/Next and its related entries."""
    page = max(0, min(page, len(topic.pages) - 1))
    shown = topic.pages[page]
    embed = discord.Embed(
        title=topic.title, description=page_description(shown.heading, shown.body), colour=HEARTH_COLOUR
    )
    footer = f"Page {page + 1} of {len(topic.pages)} · " if len(topic.pages) > 1 else ""
    embed.set_footer(text=f"{footer}Ask your own question with /faq")
    view = discord.ui.View(timeout=None)
    if len(topic.pages) > 1:
        last = len(topic.pages) - 1
        # The ids stay distinct at both ends: on the first page Previous points at 0 and Next at 1.
        view.add_item(LearnPageButton(topic.id, max(page - 1, 0), label="Previous", disabled=page == 0))
        view.add_item(LearnPageButton(topic.id, min(page + 1, last), label="Next", disabled=page == last))
    related = await service.entries(guild_id, topic.related)
    for n, entry in enumerate(related[:TOPIC_RELATED_BUTTONS]):
        view.add_item(ShowButton(entry.id, label=_button_label(entry.question), row=1 + n // 5))
    return embed, view


# ----- persistent buttons ------------------------------------------------------------


class FaqEntryButton(HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:faq:abstract-entry"):
    """A button that shows one FAQ entry; its custom id is `hearth:faq:<action>:<entry id>`.

    A subclass gives its template (the entry id in its `entry` group), its `action`, the button's
    look, and `handle`.
    """

    action: ClassVar[str]
    label: ClassVar[str] = "Open"
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init__(self, entry_id: str, *, label: str | None = None, row: int | None = None) -> None:
        super().__init__(discord.ui.Button(label=self.label if label is None else label, style=self.style,
                                           row=row, custom_id=f"hearth:faq:{self.action}:{entry_id}"))
        self.entry_id = entry_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> Self:
        return cls(match["entry"])

    async def entry(self, interaction: discord.Interaction) -> FaqEntry:
        """Return the entry as this server sees it now; tell the member if it has gone."""
        entry = await faq_service(interaction).entry(interaction.guild_id, self.entry_id)
        if entry is None:
            raise UserFacingError("That answer is no longer in this server's FAQ.")
        return entry


class PostButton(FaqEntryButton, template=r"hearth:faq:post:(?P<entry>[a-z0-9-]{1,48})"):
    """Post an answer in the channel, for a member who wants to show it to the group."""

    action = "post"
    label = "Post in channel"

    async def handle(self, interaction: discord.Interaction) -> None:
        entry = await self.entry(interaction)
        embed = answer_embed(faq_service(interaction), entry, shared=True)
        await interaction.response.send_message(embed=embed)


class ShowButton(FaqEntryButton, template=r"hearth:faq:show:(?P<entry>[a-z0-9-]{1,48})"):
    """Open a related entry privately, without replacing the message it sits on."""

    action = "show"

    async def handle(self, interaction: discord.Interaction) -> None:
        await send_answer(interaction, await self.entry(interaction))


class PickButton(FaqEntryButton, template=r"hearth:faq:pick:(?P<entry>[a-z0-9-]{1,48})"):
    """A "Did you mean" choice: the answer replaces the question."""

    action = "pick"
    style = discord.ButtonStyle.primary

    async def handle(self, interaction: discord.Interaction) -> None:
        await send_answer(interaction, await self.entry(interaction), edit=True)


class LearnPageButton(
    HearthDynamicItem[discord.ui.Button[Any]],
    template=r"hearth:learn:(?P<topic>[a-z0-9-]+):(?P<page>\d+)",
):
    """Previous/Next on a topic card; works after a restart because the page is in the id."""

    def __init__(self, topic_id: str, page: int, *, label: str = "Next", disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.primary, disabled=disabled,
                                           custom_id=f"hearth:learn:{topic_id}:{page}"))
        self.topic_id = topic_id
        self.page = page

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> LearnPageButton:
        return cls(match["topic"], int(match["page"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        service = faq_service(interaction)
        topic = service.library.topic(self.topic_id)
        if topic is None:
            raise UserFacingError("That topic card is no longer available. Try `/learn` again.")
        embed, view = await learn_card(service, interaction.guild_id, topic, self.page)
        await interaction.response.edit_message(embed=embed, view=view)


# ----- moderator forms and the gap queue -------------------------------------------------
#
# The forms are routed by custom id (see `routed_modal`) and the gap queue's controls are
# persistent items, so a moderator who writes a long answer, or leaves the queue open, can
# still save after a restart or any length of time. Custom ids hold entry and miss ids only.

ENTRY_FORM = re.compile(r"^hearth:faq:entry:(?:add|edit:(?P<entry>[a-z0-9][a-z0-9-]{0,47}))$")
ALIAS_FORM = re.compile(r"^hearth:faq:alias:(?P<miss>\d{1,20})$")
# How long the gap queue's "Add as alias" waits to suggest the closest entry before opening the
# form without a suggestion (a form must open within Discord's 3 seconds).
SUGGEST_FOR_FORM_WAIT = 1.0


def entry_form(entry: FaqEntry | None = None) -> discord.ui.Modal:
    """The form for adding an entry, or for editing one (filled in with its current text)."""
    inputs: list[discord.ui.TextInput[Any]] = [
        discord.ui.TextInput(
            label="Question", custom_id="question", max_length=QUESTION_LIMIT,
            default=entry.question if entry else None,
            placeholder="How members would ask it, e.g. When does the group meet?",
        ),
        discord.ui.TextInput(
            label="Answer", custom_id="answer", style=discord.TextStyle.paragraph, max_length=ANSWER_LIMIT,
            default=entry.answer if entry else None,
        ),
        discord.ui.TextInput(
            label="Keywords (comma separated)", custom_id="keywords", required=False, max_length=1000,
            default=", ".join(entry.keywords) if entry else None,
            placeholder="words members might use, e.g. meeting, voice chat, schedule",
        ),
    ]
    if entry is None:
        return routed_modal("Add an FAQ entry", "hearth:faq:entry:add", inputs)
    return routed_modal("Edit an FAQ entry", f"hearth:faq:entry:edit:{entry.id}", inputs)


def alias_form(group: MissGroup) -> discord.ui.Modal:
    """The form for teaching an entry the wording of a group of misses."""
    suggested = group.suggestion.entry.id if group.suggestion else None
    inputs: list[discord.ui.TextInput[Any]] = [
        discord.ui.TextInput(
            label="Entry id", custom_id="entry", max_length=48, default=suggested,
            placeholder="the id shown by /faqadmin edit, e.g. adult-betrayal",
        ),
        discord.ui.TextInput(
            label="Wording (remove anything personal)", custom_id="wording", max_length=ALIAS_LIMIT,
            default=clip(group.wording, ALIAS_LIMIT),
        ),
    ]
    return routed_modal("Add as another way of asking", f"hearth:faq:alias:{group.first_miss}", inputs)


def misses_view(groups: list[MissGroup], chosen: int | None = None) -> discord.ui.View | None:
    """The gap queue's controls: choose a group, then add it as an alias or dismiss it."""
    shown = groups[:MISS_GROUPS_SHOWN]
    if not shown:
        return None
    current = next((g for g in shown if g.first_miss == chosen), shown[0])
    view = discord.ui.View(timeout=None)
    view.add_item(MissPicker(shown, current.first_miss))
    view.add_item(MissButton("alias", current.first_miss))
    view.add_item(MissButton("dismiss", current.first_miss))
    return view


async def show_misses(interaction: discord.Interaction, note: str | None = None,
                      chosen: int | None = None) -> None:
    """Show the gap queue as it is now in the message the moderator acted on (after deferring)."""
    guild_id = interaction.guild_id
    assert guild_id is not None
    groups = await faq_service(interaction).misses(guild_id, hearth(interaction).now())
    await interaction.edit_original_response(content=note, embed=misses_embed(groups),
                                             view=misses_view(groups, chosen))


def _asked(count: int) -> str:
    return f"asked {count} time{'s' if count != 1 else ''}"


class MissPicker(HearthDynamicItem[discord.ui.Select[Any]], template=r"hearth:faq:misses:pick"):
    """Choose which group of the gap queue the buttons act on."""

    def __init__(self, groups: list[MissGroup] | None = None, chosen: int | None = None) -> None:
        options = [discord.SelectOption(label=clip(g.wording, 100), value=str(g.first_miss),
                                        description=_asked(g.count), default=g.first_miss == chosen)
                   for g in groups or []]
        super().__init__(discord.ui.Select(placeholder="Choose a question", options=options,
                                           custom_id="hearth:faq:misses:pick"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> MissPicker:
        return cls()

    async def handle(self, interaction: discord.Interaction) -> None:
        await require_moderator(interaction)
        await defer_private(interaction, update=True)
        await show_misses(interaction, chosen=int(self.item.values[0]))


class MissButton(
    HearthDynamicItem[discord.ui.Button[Any]],
    template=r"hearth:faq:misses:(?P<action>alias|dismiss):(?P<miss>\d{1,20})",
):
    """Act on the chosen group: open the form that adds its wording to an entry, or dismiss it."""

    LABELS = {"alias": ("Add as alias…", discord.ButtonStyle.primary),
              "dismiss": ("Dismiss", discord.ButtonStyle.secondary)}

    def __init__(self, action: str, miss_id: int) -> None:
        label, style = self.LABELS[action]
        super().__init__(discord.ui.Button(label=label, style=style,
                                           custom_id=f"hearth:faq:misses:{action}:{miss_id}"))
        self.action = action
        self.miss_id = miss_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> MissButton:
        return cls(match["action"], int(match["miss"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        await require_moderator(interaction)
        guild_id = interaction.guild_id
        assert guild_id is not None
        service = faq_service(interaction)
        if self.action == "dismiss":
            await defer_private(interaction, update=True)
        # The alias form must open within Discord's 3 s, so it waits only briefly for a suggestion.
        group = await service.miss_group(guild_id, self.miss_id, hearth(interaction).now(),
                                         suggest_within=SUGGEST_FOR_FORM_WAIT)
        if group is None:
            await defer_private(interaction, update=True)
            await show_misses(interaction, "That question has already left the gap queue.")
        elif self.action == "alias":
            await interaction.response.send_modal(alias_form(group))
        else:
            await service.dismiss(guild_id, group.miss_ids)
            await show_misses(interaction, f"Dismissed “{clip(group.wording, 120)}”.")


def misses_embed(groups: list[MissGroup]) -> discord.Embed:
    """List the gap queue's groups, most asked first."""
    embed = discord.Embed(title="Questions the FAQ didn't answer", colour=HEARTH_COLOUR)
    if not groups:
        embed.description = ("The gap queue is empty. When `/faq` can't answer a question, it appears here "
                             "(without who asked).")
        return embed
    lines = []
    for n, group in enumerate(groups[:MISS_GROUPS_SHOWN], start=1):
        closest = f" · closest: `{group.suggestion.entry.id}`" if group.suggestion else ""
        times = f"{group.count} time{'s' if group.count != 1 else ''}"
        lines.append(f"**{n}.** “{clip(group.wording, 150)}” · asked {times}{closest}")
        if group.examples:
            # Other wordings help a moderator see what members meant, and pick the alias to add.
            lines.append("↳ also asked as " + ", ".join(f"“{clip(e, 60)}”" for e in group.examples))
    more = len(groups) - MISS_GROUPS_SHOWN
    if more > 0:
        lines.append(f"…and {more} more group{'s' if more != 1 else ''}.")
    embed.description = clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT)
    embed.set_footer(text="Choose a question, then add it as another way of asking an entry, or dismiss it.")
    return embed


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    PostButton, ShowButton, PickButton, LearnPageButton, MissPicker, MissButton,
)


# ----- the cog ----------------------------------------------------------------------------


class Faq(commands.Cog):
    """Answers from the guide, topic cards, and moderator curation."""

    faqadmin = ModeratorGroup(name="faqadmin", description="Curate this server's FAQ")

    # How long autocomplete waits for a server's search index to be built (say after a restart,
    # for a server with many entries of its own) before answering with no choices for now:
    # Discord drops an autocomplete answer later than 3 seconds, and the build carries on.
    suggest_wait = 2.0

    def __init__(self, bot: Hearth) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        self._warming = asyncio.create_task(self.bot.faq.warm(), name="faq-index-warm")

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        self._warming.cancel()
        self.bot.faq.cancel_builds()

    # ----- /faq -----

    @app_commands.command(name="faq", description="Ask a question about trust and healing")
    @app_commands.describe(question="Ask in your own words, or pick one of the suggestions")
    async def faq(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 300]) -> None:
        service = faq_service(interaction)
        text = question.strip()
        # Deferred first: the crisis check reads the database, and a server with many entries of
        # its own may need its search index built, which can take longer than Discord's 3 seconds.
        await defer_private(interaction)
        picked = PICKED.match(text)
        if picked:
            entry = await service.entry(interaction.guild_id, picked["entry"])
            if entry is None:
                raise UserFacingError("That answer isn't in this server's FAQ any more. Try asking in your "
                                      "own words, or browse `/learn`.")
            await send_answer(interaction, entry)
            return
        assessment = await self.bot.safety.assess(interaction.guild_id, text)
        if assessment.needs_care:
            # Crisis language goes to people, and is never kept in the gap queue.
            await offer_care(interaction, assessment, source="FAQ question")
            if assessment.level is CrisisLevel.CONCERN:
                outcome = await service.ask(interaction.guild_id, text)
                if outcome.verdict is Verdict.ANSWER and outcome.best is not None:
                    await send_answer(interaction, outcome.best.entry)
            return
        outcome = await service.ask(interaction.guild_id, text)
        if outcome.verdict is Verdict.ANSWER and outcome.best is not None:
            await send_answer(interaction, outcome.best.entry)
        elif outcome.verdict is Verdict.SUGGEST:
            embed, view = did_you_mean([m.entry for m in outcome.matches])
            await interaction.followup.send(embed=embed, view=view, ephemeral=True)
        else:
            # Queued before the reply, so the reply only says it was queued when it was.
            queued = await self._queue_miss(interaction.guild_id, text)
            await interaction.followup.send(NO_MATCH + (NO_MATCH_QUEUED if queued else ""), ephemeral=True)

    async def _queue_miss(self, guild_id: int | None, text: str) -> bool:
        """Add an unanswered question to the guild's gap queue; say whether it was added."""
        if guild_id is None:
            return False
        try:
            await self.bot.faq.record_miss(guild_id, text, self.bot.now())
        except StorageBusyError:
            log.warning("the database was busy; a FAQ miss was not queued")
            return False
        return True

    @faq.autocomplete("question")
    async def faq_autocomplete(self, interaction: discord.Interaction,
                               current: str) -> list[app_commands.Choice[str]]:
        matches = await faq_service(interaction).suggest(interaction.guild_id, current[:300], CHOICES_LIMIT,
                                                         within=self.suggest_wait)
        return [app_commands.Choice(name=clip(m.entry.question, CHOICE_NAME_LIMIT), value=f"faq:{m.entry.id}")
                for m in matches]

    # ----- /learn -----

    @app_commands.command(name="learn", description="Read the topic cards about trust issues and healing")
    @app_commands.describe(topic="Which topic to read")
    async def learn(self, interaction: discord.Interaction, topic: app_commands.Range[str, 1, 100]) -> None:
        service = faq_service(interaction)
        found = service.library.find_topic(topic)
        if found is None:
            names = ", ".join(f"`{t.id}`" for t in service.library.topics)
            raise UserFacingError(f"I don't have a topic card called that. Try one of: {names}.")
        embed, view = await learn_card(service, interaction.guild_id, found, 0)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @learn.autocomplete("topic")
    async def learn_autocomplete(self, interaction: discord.Interaction,
                                 current: str) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        topics = faq_service(interaction).library.topics
        named = [t for t in topics if typed in t.id or typed in t.title.lower()]
        described = [t for t in topics if t not in named and typed in t.summary.lower()]
        return [app_commands.Choice(name=clip(t.title, CHOICE_NAME_LIMIT), value=t.id)
                for t in (named or described or list(topics))][:CHOICES_LIMIT]

    # ----- /faqadmin -----

    @faqadmin.command(name="add", description="Add an entry of this server's own")
    async def admin_add(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(entry_form())

    @faqadmin.command(name="edit", description="Change an entry (a built-in gets this server's own version)")
    @app_commands.describe(entry="The entry to change")
    async def admin_edit(self, interaction: discord.Interaction, entry: ShortText) -> None:
        assert interaction.guild_id is not None
        found = await faq_service(interaction).editable(interaction.guild_id, _entry_id(entry))
        await interaction.response.send_modal(entry_form(found))

    @faqadmin.command(name="remove", description="Hide a built-in entry here, or delete a custom one")
    @app_commands.describe(entry="The entry to remove")
    async def admin_remove(self, interaction: discord.Interaction, entry: ShortText) -> None:
        assert interaction.guild_id is not None
        service = faq_service(interaction)
        removed = await service.remove(interaction.guild_id, _entry_id(entry), self.bot.now())
        if removed.origin is Origin.CUSTOM:
            message = f"Deleted this server's entry `{removed.id}` ({clip(removed.question, 120)})."
        else:
            message = (f"Hid `{removed.id}` ({clip(removed.question, 120)}) on this server. Other servers "
                       "still see it; `/faqadmin restore` brings it back here.")
        await interaction.response.send_message(message, ephemeral=True)

    @faqadmin.command(name="restore", description="Show a built-in entry this server hid")
    @app_commands.describe(entry="The hidden entry to show again")
    async def admin_restore(self, interaction: discord.Interaction, entry: ShortText) -> None:
        assert interaction.guild_id is not None
        restored = await faq_service(interaction).restore(interaction.guild_id, _entry_id(entry))
        await interaction.response.send_message(f"`{restored.id}` is back in this server's FAQ.",
                                                ephemeral=True)

    @admin_edit.autocomplete("entry")
    @admin_remove.autocomplete("entry")
    async def entry_autocomplete(self, interaction: discord.Interaction,
                                 current: str) -> list[app_commands.Choice[str]]:
        matches = await faq_service(interaction).suggest(interaction.guild_id, current[:300], CHOICES_LIMIT,
                                                         within=self.suggest_wait)
        return [_entry_choice(m.entry) for m in matches]

    @admin_restore.autocomplete("entry")
    async def hidden_autocomplete(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        typed = current.strip().lower()
        hidden = await faq_service(interaction).hidden(interaction.guild_id)
        found = [e for e in hidden if typed in e.id or typed in e.question.lower()]
        return [_entry_choice(e) for e in found][:CHOICES_LIMIT]

    @faqadmin.command(name="misses", description="Questions the FAQ couldn't answer, grouped by wording")
    async def admin_misses(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        groups = await faq_service(interaction).misses(interaction.guild_id, self.bot.now())
        view = misses_view(groups)
        if view is not None:
            await interaction.followup.send(embed=misses_embed(groups), view=view, ephemeral=True)
        else:
            await interaction.followup.send(embed=misses_embed(groups), ephemeral=True)

    # ----- the forms, routed by custom id -----

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Save the entry and alias forms, even one opened before a restart."""
        custom_id = modal_custom_id(interaction) or ""
        entry, alias = ENTRY_FORM.match(custom_id), ALIAS_FORM.match(custom_id)
        if entry is None and alias is None:
            return
        try:
            # Deferred first: if the database is busy, the error handler still answers in time
            # and hands back every field of the form.
            await defer_private(interaction, update=alias is not None)
            await require_moderator(interaction)
            if entry is not None:
                await self.save_entry(interaction, entry["entry"])
            elif alias is not None:
                await self.save_alias(interaction, int(alias["miss"]))
        except Exception as exc:
            await report(interaction, exc)

    async def save_entry(self, interaction: discord.Interaction, entry_id: str | None) -> None:
        """Add a new entry (no id) or save the moderator's version of an existing one."""
        guild_id = interaction.guild_id
        assert guild_id is not None
        values = submitted_values(interaction)
        question, answer = values.get("question", "").strip(), values.get("answer", "").strip()
        keywords = split_keywords(values.get("keywords", ""))
        service = faq_service(interaction)
        if entry_id is None:
            saved = await service.add_custom(guild_id, question, answer, keywords, self.bot.now())
            done = f"Added `{saved.id}`. Members can find it with `/faq` now."
        else:
            saved = await service.edit(guild_id, entry_id, question, answer, keywords, self.bot.now())
            done = (f"Saved `{saved.id}` for this server."
                    + (" The built-in wording stays for other servers." if saved.origin is Origin.OVERRIDE
                       else ""))
        await interaction.followup.send(done, embed=answer_embed(service, saved), ephemeral=True)

    async def save_alias(self, interaction: discord.Interaction, miss_id: int) -> None:
        """Teach an entry a group's wording, clear the group from the gap queue, and show the queue."""
        guild_id = interaction.guild_id
        assert guild_id is not None
        values = submitted_values(interaction)
        wording = values.get("wording", "")
        service = faq_service(interaction)
        group = await service.miss_group(guild_id, miss_id, self.bot.now())
        entry = await service.add_alias(guild_id, values.get("entry", "").strip().lower(), wording,
                                        group.miss_ids if group else (), self.bot.now())
        note = f"Added “{clip(wording.strip(), 120)}” as a way of asking `{entry.id}`."
        await show_misses(interaction, note)

    @faqadmin.command(name="export", description="Download this server's FAQ changes as a TOML file")
    async def admin_export(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        name = interaction.guild.name if interaction.guild else ""
        text = await faq_service(interaction).export(interaction.guild_id, name)
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename="hearth-faq.toml")
        await interaction.followup.send(
            "Here are this server's FAQ changes. Edit the file and bring it back with `/faqadmin import`.",
            file=file, ephemeral=True,
        )

    @faqadmin.command(name="import", description="Load FAQ changes from a TOML file (checked whole first)")
    @app_commands.describe(file="A TOML file like the one /faqadmin export gives",
                           replace="Replace this server's current changes instead of adding to them")
    async def admin_import(self, interaction: discord.Interaction, file: discord.Attachment,
                           replace: bool = False) -> None:
        assert interaction.guild_id is not None
        if file.size > IMPORT_BYTES_LIMIT:
            raise UserFacingError(f"Nothing was changed: the file is {file.size // 1024} KB and the limit is "
                                  f"{IMPORT_BYTES_LIMIT // 1024} KB.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            data = await file.read()
        except discord.HTTPException:
            raise UserFacingError(
                "Nothing was changed: I couldn't download that file. Please try again."
            ) from None
        summary = await faq_service(interaction).import_(interaction.guild_id, data, self.bot.now(),
                                                         replace_all=replace)
        how = ("replaced this server's earlier changes" if summary.replaced
               else "added to this server's changes")
        await interaction.followup.send(
            f"Imported and {how}: {summary.custom} custom entr{'y' if summary.custom == 1 else 'ies'}, "
            f"{summary.overrides} rewritten built-in{'s' if summary.overrides != 1 else ''}, "
            f"{summary.hidden} hidden, {summary.aliases} extra wording{'s' if summary.aliases != 1 else ''}.",
            ephemeral=True,
        )


def _entry_id(value: str) -> str:
    picked = PICKED.match(value.strip())
    return picked["entry"] if picked else value.strip().lower()


def _entry_choice(entry: FaqEntry) -> app_commands.Choice[str]:
    tag = {Origin.BUILT_IN: "built-in", Origin.OVERRIDE: "changed here", Origin.CUSTOM: "this server's"}
    name = f"{clip(entry.question, CHOICE_NAME_LIMIT - 40)} ({tag[entry.origin]}: {entry.id})"
    return app_commands.Choice(name=clip(name, CHOICE_NAME_LIMIT), value=entry.id)


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(Faq(bot))  # type: ignore[arg-type]
