"""Anonymous sharing: /share, anonymous replies, reports, vetting, blocks, /myshares and /sharemod.

Anonymity rules this cog keeps (see README, "Anonymous sharing"):
- everything a member sees about their own shares is ephemeral, and posts are ordinary
  channel messages, never interaction responses (those show who used the command);
- custom ids carry share, reply and block ids, never a user id;
- log lines carry post ids and HTTP statuses only, never a user id or a pseudonym;
- every send passes `allowed_mentions=none`, and member text has its mentions neutralised.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import BUSY_MESSAGE
from bot.cogs._care import alert_embed, care_embed, guild_region, offer_care, post_alert
from bot.cogs._delivery import ChannelUnavailable, post_in_channel, post_to_moderators
from bot.cogs._ui import (
    EMBED_DESCRIPTION_LIMIT,
    HEARTH_COLOUR,
    HearthDynamicItem,
    HearthView,
    ModeratorGroup,
    clip,
    defer_private,
    hearth,
    is_moderator,
    modal_custom_id,
    routed_modal,
    submitted_values,
)
from bot.cogs._ui import report as report_error
from bot.errors import NotModeratorError, UserFacingError
from bot.services.safety import Assessment as SafetyAssessment
from bot.services.safety import CrisisLevel
from bot.services.sharing import (
    AUTHOR_BLOCKED,
    REASON_LIMIT,
    REPLY_ORPHANED,
    SOURCE_LABELS,
    TEXT_LIMIT,
    TITLE_LIMIT,
    WARNING_LIMIT,
    Assessment,
    ChannelPacer,
    OpenedPost,
    Outcome,
    SharingService,
    escape_markdown_fully,
    escape_spoiler,
    neutralise_mentions,
)
from bot.storage.db import StorageBusyError
from bot.storage.settings import GuildSettings
from bot.storage.sharing import LINK_POLICIES, PENDING, POSTED, REJECTED, AuditEntry, Block, Post

if TYPE_CHECKING:
    from bot.app import Hearth

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
THREAD_ARCHIVE_MINUTES = 10080
THREAD_NAME_LIMIT = 100
LIST_LIMIT = 20
REVIEW_COLOUR = discord.Colour(0xF2CC8F)
CARE_HOLD_COLOUR = discord.Colour(0xD62828)
DONE_COLOUR = discord.Colour(0x81B29A)
QUEUE_SWEEP_SECONDS = 60
CLEANUP_JOB_ID = "sharing:cleanup"
CLEANUP_GRACE_SECONDS = 23 * 3600
CLEANUP_AFTER_START = timedelta(minutes=7)
REMOVED_THREAD_NAME = "Removed share"
SHARES_WAIT = (
    "Shares wait safely (encrypted) and go up as soon as I can post there; their authors see them as "
    "waiting in /myshares."
)
REVIEW_WAITS = (
    "Items that need review go to the other moderators' channel meanwhile, if there is one; "
    "`/sharemod pending` posts any that are still missing."
)
THREAD_EXISTS_CODE = 160004
SHARE_GONE = "the share you replied to was removed from the channel, so there is nowhere to put it"
WITHDRAWN = "Withdrawn by its author before a decision."
CARE_WHEN_POSTED = (
    "When your post appears, I'll let this server's moderators know that someone may need support. "
    "They'll see the post, but not who wrote it: if you'd like one of them to reach out, message a "
    "moderator."
)
CHANNEL_TROUBLE = (
    "I can't post in the sharing channel right now (it may have been removed, or I'm missing a "
    "permission there). I've told the moderators, and it will go up once that's fixed"
)

STATUS_WORDS = {
    "pending": "waiting for a moderator",
    "queued": "about to be posted",
    "posting": "being posted",
    "posted": "posted",
    "rejected": "not posted",
}
POLICY_WORDS = {
    "allow": "links are kept",
    "strip_invites": "invite links are removed, other links kept",
    "strip_all": "all links are removed",
    "refuse": "posts with links are refused",
}


def kept_share(text: str, title: str | None, content_warning: str | None) -> str:
    """Return everything a member typed into /share, labelled, to hand back with a refusal."""
    labelled = (("Title", title), ("Content warning", content_warning))
    head = "\n".join(f"{label}: {value}" for label, value in labelled if value)
    return f"{head}\n\n{text}" if head else text


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    """Return the link to a message."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def post_url(post: Post) -> str | None:
    """Return the link to a posted share or reply."""
    if post.channel_id is None or post.message_id is None:
        return None
    return jump_url(post.guild_id, post.channel_id, post.message_id)


def review_url(post: Post) -> str | None:
    """Return the link to a post's review item."""
    if post.review_channel_id is None or post.review_message_id is None:
        return None
    return jump_url(post.guild_id, post.review_channel_id, post.review_message_id)


def what(post: Post) -> str:
    """Name a post for people: "share #12" or "reply #13"."""
    return f"{post.kind} #{post.id}"


# ----- rendering ---------------------------------------------------------------------


def share_body(text: str, content_warning: str | None, title: str | None = None) -> str:
    """Return a share's embed description: with a content warning, the title and the text behind
    one spoiler, under the warning."""
    if content_warning:
        head = f"**Content warning:** {escape_markdown_fully(content_warning)}\n\n"
        hidden_title = f"**{escape_markdown_fully(clip(title, 256))}**\n\n" if title else ""
        room = EMBED_DESCRIPTION_LIMIT - len(head) - len(hidden_title) - 4
        return f"{head}||{hidden_title}{clip(escape_spoiler(text), room)}||"
    return clip(text, EMBED_DESCRIPTION_LIMIT)


def share_embed(opened: OpenedPost) -> discord.Embed:
    """Render a posted share: no author, signed by its pseudonym.

    With a content warning the title goes behind the spoiler with the text, since a title can
    say as much as the text it warns about.
    """
    post = opened.post
    shown_title = opened.title if opened.title and not opened.content_warning else None
    embed = discord.Embed(
        title=clip(shown_title, 256) if shown_title else None,
        description=share_body(opened.text, opened.content_warning, opened.title),
        colour=HEARTH_COLOUR,
    )
    label = SOURCE_LABELS.get(post.source, post.source if post.source != "share" else None)
    footer = f"Shared anonymously by {post.pseudonym}"
    if label:
        footer += f" · {label}"
    embed.set_footer(text=footer)
    return embed


def reply_embed(opened: OpenedPost) -> discord.Embed:
    """Render an anonymous reply in a share's thread, marking the original poster."""
    post = opened.post
    embed = discord.Embed(description=clip(opened.text, EMBED_DESCRIPTION_LIMIT), colour=HEARTH_COLOUR)
    name = f"{post.pseudonym} (original poster)" if post.is_op else post.pseudonym
    embed.set_footer(text=f"Anonymous reply from {name}")
    return embed


def thread_name(opened: OpenedPost) -> str:
    """Return the name of a share's reply thread.

    Never the title: a thread outlives its starter message when /mydata erase deletes
    the author's posts, so its name must hold none of the author's words.
    """
    return clip(f"Replies to {opened.post.pseudonym}", THREAD_NAME_LIMIT)


def review_embed(opened: OpenedPost, share_link: str | None = None) -> discord.Embed:
    """Render a review item: the text, warning, pseudonym and flags, and never an identity."""
    post = opened.post
    if post.held_for_care:
        title = f"Held for care: this {post.kind} may need care"
        colour = CARE_HOLD_COLOUR
    else:
        title = f"A {post.kind} is waiting for review"
        colour = REVIEW_COLOUR
    embed = discord.Embed(title=title, description=clip(opened.text, EMBED_DESCRIPTION_LIMIT), colour=colour)
    embed.add_field(name="Pseudonym", value=post.pseudonym + (" (original poster)" if post.is_op else ""))
    if opened.title:
        embed.add_field(name="Title", value=clip(opened.title, 1024))
    if opened.content_warning:
        embed.add_field(name="Content warning", value=clip(opened.content_warning, 1024))
    if post.flags:
        embed.add_field(name="Flags", value=clip("\n".join(f"• {f}" for f in post.flags), 1024), inline=False)
    if share_link:
        embed.add_field(name="In reply to", value=f"[the share]({share_link})", inline=False)
    embed.set_footer(text=f"{what(post).capitalize()} · Moderators never see who wrote this.")
    return embed


def decided_embed(post: Post | None, verdict: str) -> discord.Embed:
    """Replace a review item once decided: the verdict, without the member's words.

    `post` is None when its row is already gone (its author erased their data).
    """
    embed = discord.Embed(
        title=f"{what(post).capitalize()} by {post.pseudonym}" if post else "An item that waited for review",
        description=verdict,
        colour=DONE_COLOUR,
    )
    embed.set_footer(text="The text is no longer kept here or in Hearth's database.")
    return embed


def block_line(block: Block) -> str:
    """Describe a block for moderators: its id, reason and expiry, never an identity."""
    until = (
        "for good" if block.expires_at is None else f"until {discord.utils.format_dt(block.expires_at, 'f')}"
    )
    reason = clip(block.reason, 200) if block.reason else "no reason given"
    made = discord.utils.format_dt(block.created_at, "R")
    return f"**Block #{block.id}**: {until}. Reason: {reason}. Made {made}."


AUDIT_VERBS = {
    "approve": "approved",
    "reject": "rejected",
    "block": "blocked the author of",
    "unblock": "lifted",
    "delete": "deleted",
    "rotate-names": "rotated the anonymous names",
    "settings": "changed sharing settings",
}


def audit_line(entry: AuditEntry) -> str:
    """Describe one audit entry: who (a moderator) did what to which item."""
    if entry.moderator_id is not None:
        who = f"<@{entry.moderator_id}>"
    else:
        who = "The author" if entry.by_author else "A former moderator"
    verb = AUDIT_VERBS.get(entry.action, entry.action)
    target = ""
    if entry.action == "unblock":
        target = f" block #{entry.block_id}"
    elif entry.post_id is not None:
        target = f" item #{entry.post_id}"
    if entry.action == "block" and entry.block_id is not None:
        target += f" (block #{entry.block_id})"
    detail = f": {clip(entry.detail, 150)}" if entry.detail and entry.action != "delete" else ""
    return f"{discord.utils.format_dt(entry.created_at, 'f')} {who} {verb}{target}{detail}"


def own_item(post: Post) -> str:
    """Name one of a member's own items for them: "your share signed Quiet Heron 4821"."""
    return f"your {post.kind} signed **{post.pseudonym}**"


def mine_line(number: int, post: Post) -> str:
    """Describe one of a member's own items for /myshares, by its number in their own list.

    Never by its id: even the member's own ids, compared with others', would tell who wrote first.
    """
    status = STATUS_WORDS.get(post.status, post.status)
    line = f"**#{number}** · {post.kind} · {status} · {discord.utils.format_dt(post.created_at, 'd')}"
    if post.is_op and not post.is_share:
        line += " · as original poster"
    link = post_url(post)
    if link and post.status == POSTED:
        line += f" · [open]({link})"
    if post.status == REJECTED and post.reject_reason:
        line += f"\n  Reason: {clip(post.reject_reason, 200)}"
    return line


# ----- persistent buttons --------------------------------------------------------------


def _cog(interaction: discord.Interaction) -> Sharing:
    cog = hearth(interaction).get_cog("Sharing")
    assert isinstance(cog, Sharing)
    return cog


def _button(
    label: str, custom_id: str, style: discord.ButtonStyle, row: int | None = None
) -> discord.ui.Button[Any]:
    return discord.ui.Button(label=label, custom_id=custom_id, style=style, row=row)


async def _require_moderator(interaction: discord.Interaction) -> None:
    if not await is_moderator(interaction):
        raise NotModeratorError()


class ReplyButton(
    HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:share:reply(?::(?P<legacy_id>\d+))?"
):
    """Reply anonymously to a share (on every share and reply).

    Its custom id carries no id at all: the share is found from the message clicked. An id any
    client can read would tell which post was written first (ids are handed out as posts are
    written), undoing the random posting delay. Older posts' `hearth:share:reply:<id>` buttons
    still work; their id is ignored.
    """

    def __init__(self) -> None:
        super().__init__(_button("Reply anonymously", "hearth:share:reply", discord.ButtonStyle.primary))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: Any, match: re.Match[str]
    ) -> ReplyButton:
        return cls()

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).reply_to_message(interaction, interaction.message)


class PostActionButton(HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:share:abstract-post"):
    """A button that acts on one share or reply; its custom id is `hearth:share:<action>:<post id>`.

    A subclass gives its template (the post id in its `id` group), its `action`, the button's
    look, and `handle`.
    """

    action: ClassVar[str]
    label: ClassVar[str]
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init__(self, post_id: int) -> None:
        super().__init__(_button(self.label, f"hearth:share:{self.action}:{post_id}", self.style))
        self.post_id = post_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: Any, match: re.Match[str]) -> Self:
        return cls(int(match["id"]))


class ApproveButton(PostActionButton, template=r"hearth:share:approve:(?P<id>\d+)"):
    """Approve a held share or reply (review channel)."""

    action = "approve"
    label = "Approve"
    style = discord.ButtonStyle.success

    async def handle(self, interaction: discord.Interaction) -> None:
        await _require_moderator(interaction)
        await _cog(interaction).approve(interaction, self.post_id)


class RejectButton(PostActionButton, template=r"hearth:share:reject:(?P<id>\d+)"):
    """Reject a held share or reply, with a reason (review channel)."""

    action = "reject"
    label = "Reject"

    async def handle(self, interaction: discord.Interaction) -> None:
        await _require_moderator(interaction)
        assert interaction.guild_id is not None
        post = await _cog(interaction).service.pending_post(interaction.guild_id, self.post_id)
        await interaction.response.send_modal(reject_form(post.id))


class BlockButton(PostActionButton, template=r"hearth:share:block:(?P<id>\d+)"):
    """Block the author of a post by ban key (review item, report alert, moderator menu)."""

    action = "block"
    label = "Block author"
    style = discord.ButtonStyle.danger

    async def handle(self, interaction: discord.Interaction) -> None:
        await _require_moderator(interaction)
        await interaction.response.send_modal(block_form(self.post_id))


class RemoveButton(PostActionButton, template=r"hearth:share:remove:(?P<id>\d+)"):
    """Remove an anonymous post (report alert, moderator menu)."""

    action = "remove"
    label = "Remove post"

    async def handle(self, interaction: discord.Interaction) -> None:
        await _require_moderator(interaction)
        await _cog(interaction).remove_for_moderator(interaction, self.post_id)


class UnblockButton(HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:share:unblock:(?P<id>\d+)"):
    """Lift a block (from /sharemod blocks)."""

    def __init__(self, block_id: int) -> None:
        super().__init__(
            _button(f"Unblock #{block_id}", f"hearth:share:unblock:{block_id}", discord.ButtonStyle.secondary)
        )
        self.block_id = block_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: Any, match: re.Match[str]
    ) -> UnblockButton:
        return cls(int(match["id"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        await _require_moderator(interaction)
        await _cog(interaction).unblock(interaction, self.block_id)


class DeleteOwnButton(HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:share:delete:(?P<id>\d+)"):
    """Ask to delete one of your own items (from /myshares, labelled with its number in your list)."""

    def __init__(self, post_id: int, number: int = 0) -> None:
        super().__init__(
            _button(f"Delete #{number}", f"hearth:share:delete:{post_id}", discord.ButtonStyle.secondary)
        )
        self.post_id = post_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: Any, match: re.Match[str]
    ) -> DeleteOwnButton:
        return cls(int(match["id"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).confirm_delete(interaction, self.post_id)


class OwnPageButton(
    HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:share:mine:(?P<page>\d{1,6})"
):
    """Turn /myshares to a newer or older page; it shows the items of whoever clicks, so it names no one."""

    def __init__(self, page: int, *, newer: bool = False) -> None:
        label = "◀ Newer" if newer else "Older ▶"
        super().__init__(_button(label, f"hearth:share:mine:{page}", discord.ButtonStyle.secondary, row=4))
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: Any, match: re.Match[str]
    ) -> OwnPageButton:
        return cls(int(match["page"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).show_own_page(interaction, self.page)


class ConfirmDeleteButton(PostActionButton, template=r"hearth:share:delete-yes:(?P<id>\d+)"):
    """Delete one of your own items, for real."""

    action = "delete-yes"
    label = "Yes, delete it"
    style = discord.ButtonStyle.danger

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).delete_own(interaction, self.post_id)


class NotifyButton(PostActionButton, template=r"hearth:share:notify:(?P<id>\d+)"):
    """Ask for one DM when a held item is decided."""

    action = "notify"
    label = "DM me when it's decided"

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).request_decision_dm(interaction, self.post_id)


class DmPreferenceButton(
    HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:share:dmpref:(?P<on>[01])"
):
    """Turn DMs about every decision on or off (from /myshares)."""

    def __init__(self, enable: bool) -> None:
        label = "DM me about decisions" if enable else "Stop decision DMs"
        super().__init__(
            _button(label, f"hearth:share:dmpref:{int(enable)}", discord.ButtonStyle.secondary, row=4)
        )
        self.enable = enable

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: Any, match: re.Match[str]
    ) -> DmPreferenceButton:
        return cls(match["on"] == "1")

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).set_dm_preference(interaction, self.enable)


DYNAMIC_ITEMS: tuple[type[HearthDynamicItem[Any]], ...] = (
    ReplyButton,
    ApproveButton,
    RejectButton,
    BlockButton,
    RemoveButton,
    UnblockButton,
    DeleteOwnButton,
    OwnPageButton,
    ConfirmDeleteButton,
    NotifyButton,
    DmPreferenceButton,
)


def persistent_view(*items: discord.ui.Item[Any]) -> discord.ui.View:
    """Return a view of persistent items (dynamic, so discord.py keeps no per-message state)."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def review_view(post_id: int) -> discord.ui.View:
    """Return the Approve / Reject / Block author buttons of a review item."""
    return persistent_view(ApproveButton(post_id), RejectButton(post_id), BlockButton(post_id))


def moderate_view(post_id: int) -> discord.ui.View:
    """Return the Block author / Remove post buttons for a posted item."""
    return persistent_view(BlockButton(post_id), RemoveButton(post_id))


# ----- forms ------------------------------------------------------------------------------
#
# Every form is routed by custom id (see `routed_modal`): the cog's `on_interaction` listener
# handles the submission, so a form open during a restart still submits, and an abandoned form
# leaves nothing behind in memory. A custom id names what the form is for (a share's message,
# public anyway, or for moderators a post id), never a user.

SHARE_FORM = "hearth:share:form"
REPLY_FORM = re.compile(r"^hearth:share:reply-form:(?P<message>\d{1,20})$")
REPORT_FORM = re.compile(r"^hearth:share:report-form:(?P<message>\d{1,20})$")
REJECT_FORM = re.compile(r"^hearth:share:reject-form:(?P<id>\d{1,20})$")
BLOCK_FORM = re.compile(r"^hearth:share:block-form:(?P<id>\d{1,20})$")
REJECT_REASON_LABEL = "Reason (the author can see it)"


def share_form() -> discord.ui.Modal:
    """Return the /share form."""
    inputs: list[discord.ui.TextInput[Any]] = [
        discord.ui.TextInput(
            label="What would you like to share?",
            custom_id="text",
            style=discord.TextStyle.paragraph,
            max_length=TEXT_LIMIT,
            placeholder="Nobody here, moderators included, will see that this is yours.",
        ),
        discord.ui.TextInput(
            label="Content warning (optional)",
            custom_id="content_warning",
            required=False,
            max_length=WARNING_LIMIT,
            placeholder="For example: betrayal, grief. The text and title will be hidden behind it.",
        ),
        discord.ui.TextInput(
            label="Title (optional)", custom_id="title", required=False, max_length=TITLE_LIMIT
        ),
    ]
    return routed_modal("Share anonymously", SHARE_FORM, inputs)


def reply_form(message_id: int) -> discord.ui.Modal:
    """Return the anonymous reply form for the share (or reply) shown by a message."""
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Your reply",
        custom_id="text",
        style=discord.TextStyle.paragraph,
        max_length=TEXT_LIMIT,
        placeholder="Your reply is posted in the share's thread under a name only for that thread.",
    )
    return routed_modal("Reply anonymously", f"hearth:share:reply-form:{message_id}", [text])


def report_form(message_id: int) -> discord.ui.Modal:
    """Return the form asking why a member reports the anonymous post shown by a message."""
    reason: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="What's wrong with it?",
        custom_id="reason",
        style=discord.TextStyle.paragraph,
        max_length=REASON_LIMIT,
        placeholder="Moderators see this and a link to the post, but not your name.",
    )
    return routed_modal("Report to moderators", f"hearth:share:report-form:{message_id}", [reason])


def reject_form(post_id: int) -> discord.ui.Modal:
    """Return a moderator's form for not posting an item, with a reason."""
    reason: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label=REJECT_REASON_LABEL,
        custom_id="reason",
        style=discord.TextStyle.paragraph,
        max_length=REASON_LIMIT,
        placeholder="Kindly say why, and what would make it fit, if anything.",
    )
    return routed_modal("Reject with a reason", f"hearth:share:reject-form:{post_id}", [reason])


def block_form(post_id: int) -> discord.ui.Modal:
    """Return the form for how long to block an anonymous author, and why (moderators only see it)."""
    inputs: list[discord.ui.TextInput[Any]] = [
        discord.ui.TextInput(
            label="Days (leave empty to block for good)",
            custom_id="days",
            required=False,
            max_length=4,
            placeholder="7",
        ),
        discord.ui.TextInput(
            label="Reason (only moderators see it)", custom_id="reason", required=False, max_length=200
        ),
    ]
    return routed_modal("Block this author", f"hearth:share:block-form:{post_id}", inputs)


def _days(raw: str) -> int | None:
    raw = raw.strip()
    if raw and not raw.isdigit():
        raise UserFacingError("Days must be a whole number, like 7, or empty to block for good.")
    return int(raw) if raw else None


# ----- the cog ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CarePlan:
    """How to care for a writer whose words need it, once Hearth knows what became of them.

    `link` and `review_link` give moderators something to open; `alert=False` (nothing was
    posted or held) shows the writer resources without alerting anyone; `when_posted` means the
    post waits and moderators hear once it is up.
    """

    link: str | None = None
    review_link: str | None = None
    alert: bool = True
    when_posted: bool = False


NOT_POSTED = CarePlan(alert=False)
WHEN_POSTED = CarePlan(when_posted=True)


@dataclass(frozen=True)
class ShareResult:
    """What `share_text` did, for callers such as the trust ladder."""

    outcome: Outcome
    post_id: int | None = None
    link: str | None = None


class Sharing(commands.Cog):
    """Anonymous shares and replies, and the moderation that never unmasks."""

    sharemod = ModeratorGroup(name="sharemod", description="Moderate anonymous sharing")

    def __init__(self, bot: Hearth) -> None:
        self.bot = bot
        self.service: SharingService = bot.sharing
        self._cleanup_jobs: tuple[str, ...] = ()
        self.reply_menu = app_commands.ContextMenu(name="Reply anonymously", callback=self.reply_from_menu)
        self.report_menu = app_commands.ContextMenu(
            name="Report to moderators", callback=self.report_from_menu
        )
        self.moderate_menu = app_commands.ContextMenu(
            name="Moderate anonymous post", callback=self.moderate_from_menu
        )
        for menu in (self.reply_menu, self.report_menu, self.moderate_menu):
            menu.guild_only = True
        self.moderate_menu.default_permissions = discord.Permissions(manage_guild=True)
        self._timers: dict[int, asyncio.TimerHandle] = {}
        # Every message and thread this cog opens in a channel goes through one pacer.
        self.pacer = ChannelPacer(window=self.service.settings.channel_window_seconds)
        self._tasks: set[asyncio.Task[Any]] = set()

    # ----- lifecycle ---------------------------------------------------

    async def cog_load(self) -> None:
        for menu in (self.reply_menu, self.report_menu, self.moderate_menu):
            self.bot.tree.add_command(menu)
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        await self.service.adopt_legacy_blocks()
        await self.service.store.requeue_interrupted()
        scheduler = self.bot.scheduler
        if scheduler is not None:
            scheduler.add_job(
                self.bot.guarded("sharing:queue", self.sweep),
                "interval",
                seconds=QUEUE_SWEEP_SECONDS,
                id="sharing:queue",
                replace_existing=True,
            )
            # Daily at 04:17 (caught up within a day if the event loop was held up), and once soon
            # after each start, so a bot that is never up at 04:17 still cleans up.
            self._cleanup_jobs = self.bot.schedule_daily(
                CLEANUP_JOB_ID, self.purge, hour=4, minute=17,
                after_start=CLEANUP_AFTER_START, misfire_grace_seconds=CLEANUP_GRACE_SECONDS,
            )

    async def cog_unload(self) -> None:
        for menu in (self.reply_menu, self.report_menu, self.moderate_menu):
            self.bot.tree.remove_command(menu.name, type=menu.type)
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        scheduler = self.bot.scheduler
        if scheduler is not None:
            for job_id in ("sharing:queue", *self._cleanup_jobs):
                if scheduler.get_job(job_id) is not None:
                    scheduler.remove_job(job_id)
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self.bot.run_job("sharing:queue", self.sweep)

    @commands.Cog.listener()
    async def on_hearth_channels_changed(self, guild_id: int, changed: set[str]) -> None:
        """A moderator changed channels in /setup: post what was waiting for them, now."""
        await self.bot.run_job(
            "sharing:channels-changed", lambda: self._resume_after_setup(guild_id, changed)
        )

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Handle the sharing forms by custom id, including forms opened before a restart."""
        custom_id = modal_custom_id(interaction)
        if custom_id is None or not custom_id.startswith("hearth:share:"):
            return
        try:
            await self._submit_form(interaction, custom_id)
        except Exception as exc:
            await report_error(interaction, exc)

    async def _submit_form(self, interaction: discord.Interaction, custom_id: str) -> None:
        values = submitted_values(interaction)
        if custom_id == SHARE_FORM:
            await self.share_text(
                interaction,
                text=values.get("text", ""),
                title=values.get("title") or None,
                content_warning=values.get("content_warning") or None,
            )
        elif reply := REPLY_FORM.match(custom_id):
            await self.reply_text(interaction, int(reply["message"]), values.get("text", ""))
        elif reported := REPORT_FORM.match(custom_id):
            await self.report_message(interaction, int(reported["message"]), values.get("reason", ""))
        elif rejected := REJECT_FORM.match(custom_id):
            await _require_moderator(interaction)
            await self.reject(interaction, int(rejected["id"]), values.get("reason", ""))
        elif blocked := BLOCK_FORM.match(custom_id):
            await _require_moderator(interaction)
            days = _days(values.get("days", ""))
            await self.block(interaction, int(blocked["id"]), days, values.get("reason", ""))

    async def _resume_after_setup(self, guild_id: int, changed: set[str]) -> None:
        if "sharing_channel_id" in changed and await self.service.retry_now(guild_id, self.bot.now()):
            await self.post_due()
        if changed & {"review_channel_id", "alerts_channel_id"}:
            settings = await self._settings(guild_id)
            for post in await self.service.pending(guild_id):
                if post.review_message_id is None:
                    await self._post_review_item(self.service.open(post), settings)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _schedule(self, post_id: int, when: datetime) -> None:
        """Post a queued item at `when` (the minute sweep is the safety net after a restart)."""
        delay = max(0.0, (when - self.bot.now()).total_seconds())
        old = self._timers.pop(post_id, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop(post_id, None)
            self._spawn(self.bot.run_job("sharing:post", lambda: self.post_now(post_id)))

        self._timers[post_id] = asyncio.get_running_loop().call_later(delay, fire)

    async def purge(self) -> None:
        """Drop what sharing no longer needs (daily)."""
        removed = await self.service.purge(self.bot.now(), audit_days=self.bot.config.retention.audit_days)
        log.info("sharing clean-up removed %s", removed)

    # ----- helpers -----------------------------------------------------

    async def _settings(self, guild_id: int) -> GuildSettings:
        assert self.bot.guild_settings is not None
        return await self.bot.guild_settings.get(guild_id)

    async def _assess(self, guild_id: int, text: str) -> Assessment | None:
        """Ask the safety service; None (and so a hold for review) if it fails."""
        safety = getattr(self.bot, "safety", None)
        if safety is None:
            return None
        try:
            return await safety.assess(guild_id, text)
        except Exception:
            log.exception("the safety check failed; the item will be held for review")
            return None

    async def _defer(self, interaction: discord.Interaction) -> None:
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)

    async def _send(
        self, interaction: discord.Interaction, content: str | None = None, **kwargs: Any
    ) -> None:
        """Answer privately, whether or not the interaction was already answered."""
        kwargs.setdefault("allowed_mentions", NO_MENTIONS)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(content, ephemeral=True, **kwargs)
            else:
                await interaction.response.send_message(content, ephemeral=True, **kwargs)
        except discord.HTTPException as exc:
            log.warning("could not deliver a private sharing reply (%s)", exc.status)

    async def _refuse(self, interaction: discord.Interaction, message: str, text: str | None) -> None:
        """Tell the member why not, handing their words back so nothing is lost."""
        await self.bot.report_interaction_error(interaction, UserFacingError(message, keep_text=text))

    async def _care(
        self,
        interaction: discord.Interaction,
        assessment: Assessment | None,
        *,
        source: str,
        review_link: str | None = None,
        link: str | None = None,
        alert: bool = True,
    ) -> None:
        if assessment is None or not assessment.needs_care:
            return
        try:
            await offer_care(
                interaction,
                assessment,  # type: ignore[arg-type]
                source=source,
                review_link=review_link,
                link=link,
                alert=alert,
                anonymous=True,
            )
        except Exception:
            log.exception("could not offer care for an anonymous %s", source)

    async def _care_before_posting(
        self, interaction: discord.Interaction, assessment: Assessment | None, *, source: str
    ) -> None:
        """Care for the author of a post that waits out the delay; moderators hear once it is up.

        Their alert goes out when the post does (`_alert_posted`): sent now, it would tell them
        when the post was written, which the delay is there to hide.
        """
        guild_id = interaction.guild_id
        if assessment is None or not assessment.needs_care or guild_id is None:
            return
        settings = await self._settings(guild_id)
        level = SafetyAssessment(CrisisLevel(str(assessment.level)))
        if settings.alerts_channel_id is None or not await self.bot.safety.should_alert(guild_id, level):
            await self._care(interaction, assessment, source=source)
            return
        region = await guild_region(self.bot, guild_id)
        await self._send(interaction, embed=care_embed(self.bot, region, level, CARE_WHEN_POSTED))

    async def _alert_posted(self, post: Post, link: str) -> None:
        """Tell moderators that a post which waited out the delay may need care, now that it is up."""
        if post.care_level is None:
            return
        level = SafetyAssessment(CrisisLevel(post.care_level))
        settings = await self._settings(post.guild_id)
        if settings.alerts_channel_id is None or not await self.bot.safety.should_alert(post.guild_id, level):
            return
        source = post.kind if post.source == "share" else f"{post.source} {post.kind}"
        embed = alert_embed(level, source=source, link=link, review_link=None, member=None)
        await post_alert(self.bot, post.guild_id, embed)

    def _review_channel(self, settings: GuildSettings) -> int | None:
        return settings.review_channel_id or settings.alerts_channel_id

    async def _dm(self, user_id: int, content: str) -> None:
        """DM a member who asked for it; closed DMs are fine."""
        try:
            channel = await self.bot.create_dm(discord.Object(user_id))
            await channel.send(content, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.info("a decision DM could not be delivered (%s)", exc.status)

    def _guild_name(self, guild_id: int) -> str:
        guild = self.bot.get_guild(guild_id)
        return f"**{guild.name}**" if guild is not None else "a server you're in"

    async def _edit_review(self, post: Post, verdict: str) -> None:
        if post.review_channel_id is None or post.review_message_id is None:
            return
        embed = decided_embed(post, verdict)
        await self._replace_review(post.review_channel_id, post.review_message_id, embed)

    async def _replace_review(self, channel_id: int, message_id: int, embed: discord.Embed) -> bool:
        """Replace a review item with `embed` and no buttons; False if Discord had trouble (try again)."""
        message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
        try:
            await message.edit(embed=embed, view=None, allowed_mentions=NO_MENTIONS)
        except (discord.NotFound, discord.Forbidden):
            return True  # deleted, or out of Hearth's reach: nothing more Hearth can do
        except discord.HTTPException as exc:
            log.warning("could not update a review item (%s)", exc.status)
            return False
        return True

    async def withdraw_review_items(self) -> int:
        """Clear the review items of members who erased their data before a decision; return how many."""
        done = 0
        for item in await self.service.store.withdrawals():
            if await self._replace_review(item.channel_id, item.message_id, decided_embed(None, WITHDRAWN)):
                await self.service.store.forget_withdrawal(item.id)
                done += 1
        return done

    async def sweep(self) -> None:
        """Every minute: post what is due, and clear review items withdrawn by an erasure."""
        await self.post_due()
        await self.withdraw_review_items()

    async def _delete_message(self, channel_id: int | None, message_id: int | None) -> bool:
        if channel_id is None or message_id is None:
            return True
        try:
            await self.bot.get_partial_messageable(channel_id).get_partial_message(message_id).delete()
        except discord.NotFound:
            return True
        except discord.HTTPException as exc:
            log.warning("could not delete an anonymous message (%s)", exc.status)
            return False
        return True

    async def _remove_messages(self, gone: list[Post]) -> bool:
        """Delete the Discord side of deleted posts: a share, its replies and its thread's name.

        Hearth has no Manage Threads permission, so a share's thread cannot be deleted;
        it deletes its own messages in it, and renames and archives the thread (which
        the thread's creator may do), so the share's title does not linger.
        """
        ok = True
        if not gone:
            return ok
        first = gone[0]
        for post in gone:
            ok = await self._delete_message(post.channel_id, post.message_id) and ok
        if first.is_share and first.thread_id is not None:
            try:
                await self.bot.http.edit_channel(first.thread_id, name=REMOVED_THREAD_NAME, archived=True)
            except discord.NotFound:
                pass
            except discord.HTTPException as exc:
                log.warning("could not close a removed share's thread (%s)", exc.status)
                ok = False
        if first.status == PENDING:
            await self._edit_review(first, WITHDRAWN)
        return ok

    # ----- posting -------------------------------------------------------

    async def post_due(self) -> int:
        """Post every queued item whose time has come; return how many went up."""
        posted = 0
        for post_id in await self.service.due(self.bot.now()):
            if await self.post_now(post_id) is not None:
                posted += 1
        return posted

    async def post_now(self, post_id: int) -> str | None:
        """Post one queued item (exactly once, whoever calls); return its link, or None."""
        link, _ = await self._post_one(post_id)
        return link

    async def _post_one(self, post_id: int) -> tuple[str | None, str | None]:
        """Post one queued item; return its link, or None and (when the channel is the trouble)
        why, in words for its author."""
        opened = await self.service.claim(post_id)
        if opened is None:
            return None, None
        post = opened.post
        now = self.bot.now()
        withheld = await self.service.withhold_if_blocked(post, now)
        if withheld is not None:
            log.info("did not post %s: its author was blocked while it waited", what(post))
            if withheld.notify_user_id is not None:
                await self._dm(
                    withheld.notify_user_id,
                    f"Your anonymous {post.kind} in {self._guild_name(post.guild_id)} was not posted: "
                    f"{AUTHOR_BLOCKED}.",
                )
            return None, AUTHOR_BLOCKED
        try:
            if post.is_share:
                settings = await self._settings(post.guild_id)
                if settings.sharing_channel_id is None:
                    raise _NoPlace("no sharing channel is set")
                channel_id = settings.sharing_channel_id
                async with self.pacer.slot((channel_id, "message")):
                    message = await post_in_channel(
                        self.bot,
                        post.guild_id,
                        channel_id,
                        what="anonymous shares",
                        consequence=SHARES_WAIT,
                        embed=share_embed(opened),
                        view=persistent_view(ReplyButton()),
                    )
                thread_id = await self._start_thread(channel_id, message.id, thread_name(opened))
            else:
                try:
                    channel_id = await self._reply_channel(post)
                except _Gone as gone:
                    await self.service.abandon(post.id, now, gone.reason)
                    log.info("dropped %s: %s", what(post), gone.reason)
                    return None, SHARE_GONE
                try:
                    async with self.pacer.slot((channel_id, "message")):
                        thread = self.bot.get_partial_messageable(channel_id, guild_id=post.guild_id)
                        message = await thread.send(
                            embed=reply_embed(opened),
                            view=persistent_view(ReplyButton()),
                            allowed_mentions=NO_MENTIONS,
                        )
                except discord.NotFound:
                    # The share's thread was deleted: forget it, so the next try opens a new one.
                    if post.share_id is not None:
                        await self.service.store.set_thread(post.share_id, None)
                    raise
                thread_id = None
        except (discord.HTTPException, ChannelUnavailable, _NoPlace) as exc:
            lasting = isinstance(exc, ChannelUnavailable) and exc.lasting
            retry_at = await self.service.post_failed(post.id, post.attempts, now)
            status = getattr(exc, "status", exc)
            log.log(
                logging.INFO if lasting else logging.WARNING,
                "could not post %s (%s); trying again at %s", what(post), status, retry_at.isoformat(),
            )
            self._schedule(post.id, retry_at)
            return None, (CHANNEL_TROUBLE if lasting else None)
        exists, notify = await self.service.posted(
            post.id, self.bot.now(), channel_id=channel_id, message_id=message.id, thread_id=thread_id
        )
        if not exists:
            await self._delete_message(channel_id, message.id)
            return None, None
        link = jump_url(post.guild_id, channel_id, message.id)
        await self._alert_posted(post, link)
        if notify is not None:
            await self._dm(
                notify,
                f"Your anonymous {post.kind} in {self._guild_name(post.guild_id)} "
                f"was approved and is now posted: {link}",
            )
        return link, None

    async def _start_thread(
        self, channel_id: int, message_id: int, name: str, *, raise_gone: bool = False
    ) -> int | None:
        """Open a reply thread on a message; None if that failed (replies open one later).

        With `raise_gone`, a 404 (the message is gone) or "a thread was already created" (it was,
        and was deleted) is raised for the caller to handle.
        """
        try:
            async with self.pacer.slot((channel_id, "thread")):
                data = await self.bot.http.start_thread_with_message(
                    channel_id,
                    message_id,
                    name=name,
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                    rate_limit_per_user=None,
                )
        except discord.HTTPException as exc:
            if raise_gone and (exc.status == 404 or exc.code == THREAD_EXISTS_CODE):
                raise
            log.warning("could not open a reply thread (%s); replies will open one later", exc.status)
            return None
        return int(data["id"])

    async def _reply_channel(self, reply: Post) -> int:
        """Return the thread a reply goes in, opening it if the share has none yet.

        Raises _Gone when the reply can never be posted: its share was removed (by Hearth, or its
        message deleted by hand), or the share's thread was deleted and Discord allows no new one.
        """
        share = await self.service.store.get_post(reply.share_id) if reply.share_id is not None else None
        if share is None or share.status != POSTED or share.channel_id is None or share.message_id is None:
            raise _Gone(REPLY_ORPHANED)
        if share.thread_id is not None:
            return share.thread_id
        try:
            thread_id = await self._start_thread(
                share.channel_id, share.message_id, f"Replies to {share.pseudonym}", raise_gone=True
            )
        except discord.HTTPException as exc:
            reason = REPLY_ORPHANED if exc.status == 404 else "the share's reply thread was deleted"
            raise _Gone(reason) from exc
        if thread_id is None:
            raise _NoPlace("the share has no thread")
        await self.service.store.set_thread(share.id, thread_id)
        return thread_id

    async def _review_item_exists(self, post: Post) -> bool:
        """Say whether a held item's review message is still there (a moderator may have deleted it)."""
        if post.review_channel_id is None or post.review_message_id is None:
            return False
        try:
            await self.bot.http.get_message(post.review_channel_id, post.review_message_id)
        except (discord.NotFound, discord.Forbidden):
            return False
        except discord.HTTPException as exc:
            # Unknown: better a missing copy (moderators can run this again) than two with live buttons.
            log.warning("could not check the review item of %s (%s)", what(post), exc.status)
            return True
        return True

    async def _post_review_item(self, opened: OpenedPost, settings: GuildSettings) -> str | None:
        """Put a held item in the review channel (or the alerts channel); return its link.

        If neither takes it, the item still waits (encrypted) and moderators are told about
        the channel; `/sharemod pending` posts review items again.
        """
        if self._review_channel(settings) is None:
            return None
        post = opened.post
        share_link = None
        if not post.is_share and post.share_id is not None:
            share = await self.service.store.get_post(post.share_id)
            share_link = post_url(share) if share else None
        async with self.pacer.slot((self._review_channel(settings), "message")):
            message = await post_to_moderators(
                self.bot,
                post.guild_id,
                prefer="review",
                what="review items",
                consequence=REVIEW_WAITS,
                embed=review_embed(opened, share_link),
                view=review_view(post.id),
            )
        if message is None:
            log.warning("no review item for %s: no moderators' channel took it", what(post))
            return None
        await self.service.store.set_review_message(post.id, message.channel.id, message.id)
        return jump_url(post.guild_id, message.channel.id, message.id)

    # ----- /share ----------------------------------------------------------

    @app_commands.command(name="share", description="Share something anonymously with this group")
    @app_commands.guild_only()
    async def share_command(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        settings = await self._settings(interaction.guild_id)
        if settings.sharing_channel_id is None:
            raise UserFacingError(
                "This server hasn't chosen a channel for anonymous shares yet. "
                "A moderator can set one with /setup sharing_channel."
            )
        refusal = await self.service.refusal_if_blocked(
            interaction.guild_id, interaction.user.id, self.bot.now()
        )
        if refusal:
            raise UserFacingError(refusal)
        await interaction.response.send_modal(share_form())

    async def share_text(
        self,
        interaction: discord.Interaction,
        *,
        text: str,
        title: str | None = None,
        content_warning: str | None = None,
        source: str = "share",
    ) -> ShareResult:
        """Run the whole /share pipeline for `text` and answer the interaction privately.

        Checks, vetting, the crisis hold and posting all happen here, so other areas (the
        trust ladder) can post anonymously through it.
        """
        await self._defer(interaction)
        kept = kept_share(text, title, content_warning)
        guild_id = interaction.guild_id
        if guild_id is None:
            await self._refuse(interaction, "Anonymous sharing works inside a server.", kept)
            return ShareResult(Outcome.REFUSED)
        label = "share" if source == "share" else f"{source} share"
        # Assessed first, so that whatever becomes of the share (posted, held, refused, or an
        # error on the way), its author is cared for.
        assessment = await self._assess(guild_id, "\n".join(p for p in (title, content_warning, text) if p))
        try:
            result, care = await self._share(
                interaction,
                guild_id,
                assessment,
                text=text,
                title=title,
                content_warning=content_warning,
                source=source,
                kept=kept,
            )
        except Exception as exc:
            await self._failed(interaction, exc, kept)
            result, care = ShareResult(Outcome.REFUSED), NOT_POSTED
        await self._offer_care(interaction, assessment, care, source=label)
        return result

    async def _share(
        self,
        interaction: discord.Interaction,
        guild_id: int,
        assessment: Assessment | None,
        *,
        text: str,
        title: str | None,
        content_warning: str | None,
        source: str,
        kept: str,
    ) -> tuple[ShareResult, CarePlan]:
        """Check, then post, queue or hold a share; return what happened and how to care for its author."""
        settings = await self._settings(guild_id)
        unusable = None
        if settings.sharing_channel_id is None:
            unusable = (
                "This server hasn't chosen a channel for anonymous shares yet. "
                "A moderator can set one with /setup sharing_channel."
            )
        elif settings.vetting and self._review_channel(settings) is None:
            unusable = (
                "Shares here wait for a moderator, but no review channel is set yet. "
                "Please let a moderator know."
            )
        if unusable:
            await self._refuse(interaction, unusable, kept)
            return ShareResult(Outcome.REFUSED), NOT_POSTED
        result = await self.service.submit_share(
            guild_id,
            interaction.user.id,
            self.bot.now(),
            text=text,
            title=title,
            content_warning=content_warning,
            source=source,
            vetting=settings.vetting,
            assessment=assessment,
        )
        if result.outcome is Outcome.REFUSED or result.post is None:
            await self._refuse(interaction, result.reason, kept)
            return ShareResult(Outcome.REFUSED), NOT_POSTED
        post = result.post
        notes = "".join(f"\n{n}" for n in result.notes)
        if result.outcome is Outcome.HELD:
            return await self._held(interaction, post, settings, notes=notes, text=kept)
        if result.delay_seconds > 0:
            assert post.post_at is not None
            self._schedule(post.id, post.post_at)
            await self._send(
                interaction,
                f"Thank you for sharing. It will appear in <#{settings.sharing_channel_id}> "
                f"within {_duration(result.delay_seconds)}, signed **{post.pseudonym}**. "
                f"The short wait makes it harder to tell who posted it.{notes}",
            )
            return ShareResult(Outcome.QUEUED, post.id), WHEN_POSTED
        link, trouble = await self._post_one(post.id)
        if link is None:
            if trouble == AUTHOR_BLOCKED:
                await self._refuse(interaction, f"Your share wasn't posted: {trouble}.", kept)
                return ShareResult(Outcome.REFUSED, post.id), NOT_POSTED
            why = trouble or "I couldn't post it just now. I'll keep trying"
            await self._send(
                interaction,
                f"Your share is saved safely, but {why}; /myshares shows when it's up.{notes}",
            )
            return ShareResult(Outcome.QUEUED, post.id), await self._care_once_posted(post, assessment)
        await self._send(
            interaction,
            f"Shared anonymously as **{post.pseudonym}**: {link}\n"
            f"Replies go in its thread. You can delete it any time with /myshares.{notes}",
        )
        return ShareResult(Outcome.QUEUED, post.id, link), CarePlan(link=link)

    async def _held(
        self,
        interaction: discord.Interaction,
        post: Post,
        settings: GuildSettings,
        *,
        notes: str,
        text: str,
    ) -> tuple[ShareResult, CarePlan]:
        review_link = await self._post_review_item(self.service.open(post), settings)
        if review_link is None and self._review_channel(settings) is None:
            await self.service.discard(post.id)
            await self._refuse(
                interaction,
                "I haven't posted this: it needs a moderator to look first, and this "
                "server has no review channel. Nothing was kept.",
                text,
            )
            return ShareResult(Outcome.REFUSED), NOT_POSTED
        if post.held_for_care:
            message = (
                "Thank you for trusting the group with this. Before it's posted, a moderator will look at "
                "it, because it sounds like you may be going through something very hard. They won't see "
                "your name."
            )
        else:
            message = (
                "Thank you. Your words are waiting for a moderator, who won't see your name. "
                "/myshares shows whether they've been posted."
            )
        view = None
        if post.notify_enc is None:
            view = HearthView(timeout=600)
            view.add_item(NotifyButton(post.id))
        await self._send(interaction, message + notes, **({"view": view} if view else {}))
        return ShareResult(Outcome.HELD, post.id), CarePlan(review_link=review_link)

    async def _care_once_posted(self, post: Post, assessment: Assessment | None) -> CarePlan:
        """Plan care for the author of a post that failed to go up now and will be tried again.

        Moderators hear when it is up, with its link (as after the posting delay); if it is no
        longer waiting, the author is cared for without an alert that would have nothing to open.
        """
        if assessment is None or not assessment.needs_care:
            return NOT_POSTED
        if await self.service.defer_care(post.id, str(assessment.level)):
            return WHEN_POSTED
        return NOT_POSTED

    async def _failed(self, interaction: discord.Interaction, error: Exception, kept: str) -> None:
        """Tell the member about an error on the way, handing back everything they typed."""
        if isinstance(error, StorageBusyError):
            await self._refuse(interaction, BUSY_MESSAGE, kept)
            return
        if isinstance(error, UserFacingError) and error.keep_text is None:
            error.keep_text = kept
        await self.bot.report_interaction_error(interaction, error)

    async def _offer_care(
        self,
        interaction: discord.Interaction,
        assessment: Assessment | None,
        plan: CarePlan,
        *,
        source: str,
    ) -> None:
        """Show the writer private resources when their words call for it, whatever became of them."""
        if assessment is None or not assessment.needs_care:
            return
        try:
            if plan.when_posted:
                await self._care_before_posting(interaction, assessment, source=source)
            else:
                await self._care(
                    interaction,
                    assessment,
                    source=source,
                    link=plan.link,
                    review_link=plan.review_link,
                    alert=plan.alert,
                )
        except Exception:
            log.exception("could not offer care for an anonymous %s", source)

    # ----- replies --------------------------------------------------------

    async def open_reply_form(self, interaction: discord.Interaction, message_id: int, post: Post) -> None:
        """Open the reply form for a share (or the share a reply belongs to), shown by a message."""
        if interaction.guild_id is None:
            raise UserFacingError("Anonymous replies work inside a server.")
        await self.service.share_for_reply(interaction.guild_id, post.id)
        refusal = await self.service.refusal_if_blocked(
            interaction.guild_id, interaction.user.id, self.bot.now()
        )
        if refusal:
            raise UserFacingError(refusal)
        await interaction.response.send_modal(reply_form(message_id))

    async def reply_from_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Message menu: reply anonymously to a share or reply."""
        await self.reply_to_message(interaction, message)

    async def reply_to_message(
        self, interaction: discord.Interaction, message: discord.Message | None
    ) -> None:
        """Open the reply form for the share (or reply) a message shows."""
        guild_id = interaction.guild_id
        if guild_id is None:
            raise UserFacingError("Anonymous replies work inside a server.")
        post = None if message is None else await self.service.post_for_message(guild_id, message.id)
        if post is None or message is None:
            raise UserFacingError(
                "Anonymous replies work on anonymous shares and replies that are still here."
            )
        await self.open_reply_form(interaction, message.id, post)

    async def reply_text(self, interaction: discord.Interaction, message_id: int, text: str) -> ShareResult:
        """Check and post (or hold) an anonymous reply to the share a message shows; answer privately."""
        await self._defer(interaction)
        assert interaction.guild_id is not None
        # Assessed first, so that whatever becomes of the reply, its writer is cared for.
        assessment = await self._assess(interaction.guild_id, text)
        try:
            result, care = await self._reply(interaction, message_id, text, assessment)
        except Exception as exc:
            await self._failed(interaction, exc, text)
            result, care = ShareResult(Outcome.REFUSED), NOT_POSTED
        await self._offer_care(interaction, assessment, care, source="reply")
        return result

    async def _reply(
        self, interaction: discord.Interaction, message_id: int, text: str, assessment: Assessment | None
    ) -> tuple[ShareResult, CarePlan]:
        guild_id = interaction.guild_id
        assert guild_id is not None
        answered = await self.service.post_for_message(guild_id, message_id)
        if answered is None:
            raise UserFacingError(f"Your reply wasn't posted: {REPLY_ORPHANED}.")
        settings = await self._settings(guild_id)
        result = await self.service.submit_reply(
            guild_id, interaction.user.id, answered.id, self.bot.now(), text=text, assessment=assessment
        )
        if result.outcome is Outcome.REFUSED or result.post is None:
            await self._refuse(interaction, result.reason, text)
            return ShareResult(Outcome.REFUSED), NOT_POSTED
        post = result.post
        notes = "".join(f"\n{n}" for n in result.notes)
        if result.outcome is Outcome.HELD:
            return await self._held(interaction, post, settings, notes=notes, text=text)
        as_whom = f"**{post.pseudonym}**" + (" (marked as the original poster)" if post.is_op else "")
        if result.delay_seconds > 0:
            assert post.post_at is not None
            self._schedule(post.id, post.post_at)
            await self._send(
                interaction,
                f"Thank you. Your reply will appear in the thread within "
                f"{_duration(result.delay_seconds)}, as {as_whom}.{notes}",
            )
            return ShareResult(Outcome.QUEUED, post.id), WHEN_POSTED
        link, trouble = await self._post_one(post.id)
        if link is None and trouble:
            await self._refuse(interaction, f"Your reply wasn't posted: {trouble}.", text)
            return ShareResult(Outcome.REFUSED, post.id), NOT_POSTED
        if link is None:
            await self._send(
                interaction, f"Your reply is saved, but I couldn't post it just now. I'll keep trying.{notes}"
            )
            return ShareResult(Outcome.QUEUED, post.id), await self._care_once_posted(post, assessment)
        await self._send(interaction, f"Replied anonymously as {as_whom}: {link}{notes}")
        return ShareResult(Outcome.QUEUED, post.id, link), CarePlan(link=link)

    # ----- reports -----------------------------------------------------------

    async def report_from_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Message menu: report an anonymous share or reply to the moderators."""
        assert interaction.guild_id is not None
        post = await self.service.post_for_message(interaction.guild_id, message.id)
        if post is None:
            checkins = self.bot.get_cog("Checkins")
            if checkins is not None and await checkins.offer_note_report(interaction, message):  # type: ignore[attr-defined]
                return
            raise UserFacingError(
                "This works on anonymous shares and replies (and anonymous check-in notes). For other "
                "messages, please message a moderator."
            )
        await interaction.response.send_modal(report_form(message.id))

    async def report_message(self, interaction: discord.Interaction, message_id: int, reason: str) -> None:
        """Report the anonymous post a message shows (from the report form)."""
        await self._defer(interaction)
        assert interaction.guild_id is not None
        post = await self.service.post_for_message(interaction.guild_id, message_id)
        if post is None:
            raise UserFacingError(
                "That post is no longer here, so there is nothing to report. Thank you for looking out "
                "for the group.",
                keep_text=reason,
            )
        await self.report(interaction, post, reason)

    async def report(self, interaction: discord.Interaction, post: Post, reason: str) -> None:
        """Tell the moderators about a post, with the reason; the reporter stays unnamed."""
        await self._defer(interaction)
        assert interaction.guild_id is not None
        await self.service.check_report(interaction.guild_id, interaction.user.id, self.bot.now())
        settings = await self._settings(interaction.guild_id)
        if settings.alerts_channel_id is None and settings.review_channel_id is None:
            raise UserFacingError(
                "This server has no alerts channel, so I can't pass reports on. "
                "Please message a moderator directly.",
                keep_text=reason,
            )
        link = post_url(post) or "(no longer posted)"
        embed = discord.Embed(
            title=f"An anonymous {post.kind} was reported",
            description=f"[Open the {post.kind}]({link})\n\n**Reason given:**\n"
            f"{clip(neutralise_mentions(reason.strip()), 1500)}",
            colour=REVIEW_COLOUR,
        )
        embed.set_footer(text=f"{what(post).capitalize()} by {post.pseudonym} · The reporter is not named.")
        sent = await post_to_moderators(
            self.bot, post.guild_id, what="reports", embed=embed, view=moderate_view(post.id)
        )
        if sent is None:
            raise UserFacingError(
                "I couldn't reach the moderators just now. Please try again in a moment, or message a "
                "moderator directly.",
                keep_text=reason,
            )
        await self._send(
            interaction,
            "Thank you for telling us. The moderators have the link and your reason; "
            "your name isn't shared with them.",
        )

    # ----- moderators ----------------------------------------------------------

    async def moderate_from_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Message menu (moderators): block the author of, or remove, an anonymous post."""
        await _require_moderator(interaction)
        assert interaction.guild_id is not None
        post = await self.service.post_for_message(interaction.guild_id, message.id)
        if post is None:
            raise UserFacingError("That isn't an anonymous share or reply.")
        embed = discord.Embed(
            title=f"{what(post).capitalize()} by {post.pseudonym}",
            description="Blocking works on the author's key, not their name: you won't learn who it is, "
            "and the block holds even when names change.",
            colour=REVIEW_COLOUR,
        )
        await self._send(interaction, embed=embed, view=moderate_view(post.id))

    async def approve(self, interaction: discord.Interaction, post_id: int) -> None:
        """Approve a held item and post it now."""
        await self._defer(interaction)
        assert interaction.guild_id is not None
        post = await self.service.approve(interaction.guild_id, post_id, interaction.user.id, self.bot.now())
        link = await self.post_now(post.id)
        who = interaction.user.mention
        if link is None:
            await self._edit_review(post, f"Approved by {who}. Posting failed for now; Hearth keeps trying.")
            await self._send(
                interaction, f"Approved {what(post)}. I couldn't post it yet, and will keep trying."
            )
            return
        await self._edit_review(post, f"Approved by {who}: [posted]({link}).")
        await self._send(interaction, f"Approved and posted {what(post)}: {link}")

    async def reject(self, interaction: discord.Interaction, post_id: int, reason: str) -> None:
        """Reject a held item with a reason."""
        await self._defer(interaction)
        assert interaction.guild_id is not None
        decision = await self.service.reject(
            interaction.guild_id, post_id, interaction.user.id, reason, self.bot.now()
        )
        post = decision.post
        shown = clip(" ".join(reason.split()), REASON_LIMIT)
        await self._edit_review(post, f"Rejected by {interaction.user.mention}. Reason: {shown}")
        if decision.notify_user_id is not None:
            await self._dm(
                decision.notify_user_id,
                f"A moderator in {self._guild_name(post.guild_id)} decided not to post your anonymous "
                f"{post.kind}. Their reason: {shown}\nYour words were not kept. You're welcome to "
                "share again, or to message a moderator if you'd like to talk about it.",
            )
        await self._send(interaction, f"Rejected {what(post)}. The author can see your reason in /myshares.")

    async def block(
        self, interaction: discord.Interaction, post_id: int, days: int | None, reason: str
    ) -> None:
        """Block a post's author by ban key; a held item of theirs is rejected with it."""
        await self._defer(interaction)
        assert interaction.guild_id is not None
        decision = await self.service.block_author(
            interaction.guild_id, post_id, interaction.user.id, self.bot.now(), days=days, reason=reason
        )
        assert decision.block is not None
        how_long = "for good" if days is None else f"for {days} day{'s' if days != 1 else ''}"
        if decision.post.status == PENDING:
            await self._edit_review(
                decision.post,
                f"Not posted: {interaction.user.mention} blocked the author "
                f"{how_long} (block #{decision.block.id}).",
            )
            if decision.notify_user_id is not None:
                await self._dm(
                    decision.notify_user_id,
                    f"A moderator in {self._guild_name(decision.post.guild_id)} decided not to post "
                    f"your anonymous {decision.post.kind}.",
                )
        await self._send(
            interaction,
            f"Blocked the author of {what(decision.post)} {how_long} as "
            f"**block #{decision.block.id}**. Nobody, you included, learns who it is. "
            "/sharemod blocks lists blocks and can lift them.",
        )

    async def unblock(self, interaction: discord.Interaction, block_id: int) -> None:
        """Lift a block."""
        assert interaction.guild_id is not None
        await self.service.unblock(interaction.guild_id, block_id, interaction.user.id, self.bot.now())
        await self._send(interaction, f"Lifted block #{block_id}.")

    async def remove_for_moderator(self, interaction: discord.Interaction, post_id: int) -> None:
        """Remove an anonymous post (and a share's thread) for a moderator."""
        await self._defer(interaction)
        assert interaction.guild_id is not None
        gone = await self.service.remove_by_moderator(
            interaction.guild_id, post_id, interaction.user.id, self.bot.now()
        )
        ok = await self._remove_messages(gone)
        extra = "" if ok else " I couldn't delete the message itself; please delete it by hand."
        await self._send(interaction, f"Removed {what(gone[0])}.{extra}")

    # ----- /myshares -------------------------------------------------------------

    @app_commands.command(name="myshares", description="See and delete your anonymous shares and replies")
    @app_commands.guild_only()
    async def myshares(self, interaction: discord.Interaction) -> None:
        await self._defer(interaction)
        embed, view = await self._own_page(interaction, 0)
        await self._send(interaction, embed=embed, view=view)

    async def show_own_page(self, interaction: discord.Interaction, page: int) -> None:
        """Turn /myshares to another page, in place."""
        await defer_private(interaction, update=True)
        embed, view = await self._own_page(interaction, page)
        await interaction.edit_original_response(embed=embed, view=view, allowed_mentions=NO_MENTIONS)

    async def _own_page(
        self, interaction: discord.Interaction, page: int
    ) -> tuple[discord.Embed, discord.ui.View]:
        """Render one page of the member's own items, with Delete for each and paging buttons."""
        assert interaction.guild_id is not None
        shown = await self.service.mine_page(interaction.guild_id, interaction.user.id, page, LIST_LIMIT)
        wants_dm = await self.service.dm_decisions(interaction.guild_id, interaction.user.id)
        embed = discord.Embed(title="Your anonymous shares and replies", colour=HEARTH_COLOUR)
        numbered = list(enumerate(shown.items, start=shown.first_number))
        if numbered:
            embed.description = clip("\n".join(mine_line(n, p) for n, p in numbered), EMBED_DESCRIPTION_LIMIT)
        else:
            embed.description = "You have no anonymous shares or replies here."
        where = ""
        if shown.pages > 1:
            last = shown.first_number + len(shown.items) - 1
            where = (
                f"Showing {shown.first_number}–{last} of {shown.total} "
                f"(page {shown.page + 1} of {shown.pages}). "
            )
        embed.set_footer(
            text=(
                f"{where}Only you can see this. Newest first. Deleting removes the post; deleting a share "
                "also removes its thread. Decision DMs: " + ("on" if wants_dm else "off") + "."
            )
        )
        view = HearthView(timeout=900)
        for number, post in numbered:
            view.add_item(DeleteOwnButton(post.id, number))
        if shown.has_previous:
            view.add_item(OwnPageButton(shown.page - 1, newer=True))
        if shown.has_next:
            view.add_item(OwnPageButton(shown.page + 1, newer=False))
        view.add_item(DmPreferenceButton(not wants_dm))
        return embed, view

    async def confirm_delete(self, interaction: discord.Interaction, post_id: int) -> None:
        """Ask the member to confirm deleting one of their items."""
        assert interaction.guild_id is not None
        post = await self.service.own_post(interaction.guild_id, interaction.user.id, post_id)
        extra = " Its thread, with any replies, goes too." if post.is_share and post.status == POSTED else ""
        view = HearthView(timeout=300)
        view.add_item(ConfirmDeleteButton(post.id))
        await self._send(interaction, f"Delete {own_item(post)}?{extra} This can't be undone.", view=view)

    async def delete_own(self, interaction: discord.Interaction, post_id: int) -> None:
        """Delete one of the member's own items: the message and its row."""
        await self._defer(interaction)
        assert interaction.guild_id is not None
        gone = await self.service.delete_own(
            interaction.guild_id, interaction.user.id, post_id, self.bot.now()
        )
        timer = self._timers.pop(post_id, None)
        if timer is not None:
            timer.cancel()
        ok = await self._remove_messages(gone)
        extra = "" if ok else " I couldn't remove the message itself; a moderator can delete it."
        await self._send(interaction, f"Deleted {own_item(gone[0])}.{extra}")

    async def request_decision_dm(self, interaction: discord.Interaction, post_id: int) -> None:
        """Remember to DM the member once about one held item."""
        assert interaction.guild_id is not None
        if await self.service.request_decision_dm(interaction.guild_id, interaction.user.id, post_id):
            await self._send(interaction, "I'll DM you once a moderator decides. Only you get that message.")
        else:
            await self._send(interaction, "It has already been decided: /myshares shows how.")

    async def set_dm_preference(self, interaction: discord.Interaction, enable: bool) -> None:
        """Turn decision DMs on or off for the member."""
        assert interaction.guild_id is not None
        await self.service.set_dm_decisions(interaction.guild_id, interaction.user.id, enable)
        if enable:
            await self._send(
                interaction,
                "From now on I'll DM you when a moderator decides on something you "
                "shared. Turn it off any time in /myshares.",
            )
        else:
            await self._send(interaction, "I won't DM you about decisions. /myshares always shows them.")

    # ----- /sharemod ---------------------------------------------------------------

    @sharemod.command(name="settings", description="Show or change the sharing settings")
    @app_commands.describe(
        link_policy="What happens to links in anonymous posts",
        delay_seconds="Post after a random wait of 0 to this many seconds (0 turns it off)",
        add_terms="Blocked terms to add, separated by commas",
        remove_terms="Blocked terms to remove, separated by commas",
    )
    @app_commands.choices(
        link_policy=[app_commands.Choice(name=POLICY_WORDS[p], value=p) for p in LINK_POLICIES]
    )
    async def settings_command(
        self,
        interaction: discord.Interaction,
        link_policy: app_commands.Choice[str] | None = None,
        delay_seconds: app_commands.Range[int, 0, 86400] | None = None,
        add_terms: app_commands.Range[str, 1, 1000] | None = None,
        remove_terms: app_commands.Range[str, 1, 1000] | None = None,
    ) -> None:
        await self._defer(interaction)
        assert interaction.guild_id is not None
        config = await self.service.change_settings(
            interaction.guild_id,
            interaction.user.id,
            self.bot.now(),
            link_policy=link_policy.value if link_policy else None,
            delay_seconds=delay_seconds,
            add_terms=add_terms,
            remove_terms=remove_terms,
        )
        settings = await self._settings(interaction.guild_id)
        cap = self.service.settings.max_delay_seconds
        effective = self.service.effective_delay(config)
        embed = discord.Embed(title="Anonymous sharing settings", colour=HEARTH_COLOUR)
        embed.add_field(name="Links", value=POLICY_WORDS[config.link_policy], inline=False)
        delay = f"random 0 to {effective} seconds" if effective else "off"
        if config.delay_seconds > effective:
            delay += f" (set to {config.delay_seconds}, capped at {cap} by the bot's config)"
        embed.add_field(name="Posting delay", value=delay, inline=False)
        terms = ", ".join(config.blocked_terms) if config.blocked_terms else "none"
        embed.add_field(
            name=f"Blocked terms ({len(config.blocked_terms)})", value=clip(terms, 1024), inline=False
        )
        embed.add_field(
            name="Vetting",
            value="on: every share waits for review"
            if settings.vetting
            else "off (turn on with /setup vetting:True)",
            inline=False,
        )
        embed.add_field(
            name="Limits",
            value=f"{self.service.settings.shares_per_hour} shares and "
            f"{self.service.settings.replies_per_hour} replies an hour per member; shares at least "
            f"{self.service.settings.min_length} characters",
            inline=False,
        )
        await self._send(interaction, embed=embed)

    @sharemod.command(
        name="blocks", description="List blocked anonymous authors (by block id) and lift blocks"
    )
    async def blocks_command(self, interaction: discord.Interaction) -> None:
        await self._defer(interaction)
        assert interaction.guild_id is not None
        blocks = await self.service.blocks(interaction.guild_id, self.bot.now())
        embed = discord.Embed(title="Blocked anonymous authors", colour=HEARTH_COLOUR)
        if not blocks:
            embed.description = "No one is blocked from sharing."
            await self._send(interaction, embed=embed)
            return
        shown = blocks[:LIST_LIMIT]
        embed.description = clip("\n".join(block_line(b) for b in shown), EMBED_DESCRIPTION_LIMIT)
        if len(blocks) > len(shown):
            embed.set_footer(text=f"Showing the newest {len(shown)} of {len(blocks)}.")
        else:
            embed.set_footer(text="Blocks hold the author's key, never their name.")
        view = HearthView(timeout=900)
        for block in shown:
            view.add_item(UnblockButton(block.id))
        await self._send(interaction, embed=embed, view=view)

    @sharemod.command(name="audit", description="What moderators did with anonymous posts lately")
    async def audit_command(self, interaction: discord.Interaction) -> None:
        await self._defer(interaction)
        assert interaction.guild_id is not None
        entries = await self.service.audit_log(interaction.guild_id, LIST_LIMIT)
        embed = discord.Embed(title="Sharing audit log", colour=HEARTH_COLOUR)
        embed.description = (
            clip("\n".join(audit_line(e) for e in entries), EMBED_DESCRIPTION_LIMIT)
            if entries
            else "No moderator actions yet."
        )
        embed.set_footer(text="The log names moderators, never authors.")
        await self._send(interaction, embed=embed)

    @sharemod.command(name="rotate-names", description="Start a new round of anonymous names for new threads")
    async def rotate_command(self, interaction: discord.Interaction) -> None:
        await self._defer(interaction)
        assert interaction.guild_id is not None
        await self.service.rotate_names(interaction.guild_id, interaction.user.id, self.bot.now())
        await self._send(
            interaction,
            "Done: threads started from now on give everyone new names. Inside existing threads "
            "names stay as they are, so each person keeps one name per thread. Blocks still hold.",
        )

    @sharemod.command(name="pending", description="Show items waiting for review again in the review channel")
    async def pending_command(self, interaction: discord.Interaction) -> None:
        await self._defer(interaction)
        assert interaction.guild_id is not None
        settings = await self._settings(interaction.guild_id)
        if self._review_channel(settings) is None:
            raise UserFacingError("Set a review channel first with /setup review_channel.")
        items = await self.service.pending(interaction.guild_id)
        waiting = await self.service.waiting_count(interaction.guild_id)
        in_place = reposted = 0
        for post in items:
            if await self._review_item_exists(post):
                in_place += 1
            elif await self._post_review_item(self.service.open(post), settings):
                reposted += 1
        lines = [
            f"{waiting} item(s) waiting for review: {in_place} already in place, {reposted} posted again."
        ]
        if waiting > len(items):
            lines.append(
                f"I looked at the oldest {len(items)}; decide some, then run this again for the rest."
            )
        await self._send(interaction, " ".join(lines))


class _NoPlace(Exception):
    """There is nowhere to post an item right now (no channel, or no thread)."""


class _Gone(Exception):
    """A reply can never be posted: what it answered is gone."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _duration(seconds: float) -> str:
    if seconds < 90:
        return "a minute or so"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minutes"
    return f"about {round(minutes / 60)} hours"


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(Sharing(bot))  # type: ignore[arg-type]
