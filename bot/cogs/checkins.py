"""Check-ins: /schedule and /prompts for moderators; the posted check-in; /checkin, /mood, /reminders, /pause.

Time passes through `CheckinRunner.tick(now)`. In production one APScheduler job
(`checkin:wakeup`) calls it at the earliest moment the database says something is
due, and `checkin:sweep` calls it once a minute as a safety net; both are rebuilt
from the database at start and after every schedule change. Tests call
`bot.get_cog("Checkins").runner.tick(now)` with the time they choose.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar
from zoneinfo import ZoneInfo

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._delivery import (
    POST_NEEDS,
    TROUBLE_COLOUR,
    channel_works,
    missing_permissions,
    note_trouble,
    post_to_moderators,
)
from bot.cogs._ui import (
    CHOICE_NAME_LIMIT,
    CHOICES_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    HEARTH_COLOUR,
    DaysText,
    HearthDynamicItem,
    HearthModal,
    ModeratorGroup,
    SetNameText,
    ShortText,
    TimeText,
    ZoneText,
    clip,
    defer_private,
    hearth,
)
from bot.errors import UserFacingError
from bot.services.checkin_runner import CheckinRunner, DeliveryError, Failure, Pacer, Trouble
from bot.services.checkins import (
    LOW_MOOD,
    MOODS,
    NOTE_LIMIT,
    VISIBILITIES,
    CheckinService,
    HourlyLimit,
    MoodHistory,
    NoteSaved,
    Tally,
    describe_schedule_time,
    mood,
    sparkline,
)
from bot.services.identity import ban_key_for, pseudonym_for
from bot.services.schedules import (
    WEEKDAY_NAMES,
    LocalTimeKind,
    ResolvedTime,
    format_weekdays,
    weekdays_from_text,
    zone_choices,
)
from bot.services.sharing import REASON_LIMIT as REPORT_REASON_LIMIT
from bot.services.sharing import neutralise_mentions
from bot.storage.checkins import CheckinStore, OccurrenceRow, ReminderRow, ScheduleRow
from bot.storage.db import StorageBusyError

if TYPE_CHECKING:
    from bot.app import Hearth
    from bot.services.safety import Assessment

log = logging.getLogger(__name__)

T = TypeVar("T")

CLOSED_COLOUR = discord.Colour(0x8D99AE)
DM_CLOSED_CODE = 50007
DISCORD_GLOBAL_LIMIT = 50  # requests a second
THREAD_EXISTS_CODE = 160004
SWEEP_SECONDS = 60
WAKEUP_JOB = "checkin:wakeup"
MIN_WAKEUP_SECONDS = 1.0
RETRY_SECONDS = 15.0
# After an interruption, a claimed check-in is looked for among the channel's messages from a
# little before its claim, 100 at a time, at most 2,000 of them.
HISTORY_PAGE = 100
HISTORY_SEARCH_PAGES = 20
HISTORY_SEARCH_SLACK = timedelta(minutes=5)
# What Hearth needs in a check-in channel: posting, and reading the history to find an
# interrupted post again instead of posting it twice.
CHECKIN_NEEDS = (*POST_NEEDS, "read_message_history")
MARKER = "Hearth check-in #{id}"
VISIBILITY_WORDS = {
    "private": "Only me",
    "group": "The group, under my name",
    "anonymous": "The group, anonymously",
}
DAY_SUGGESTIONS = ("daily", "weekdays", "weekends", "mon,wed,fri", "tue,thu", "mon", "sun")


@contextlib.contextmanager
def keeping(text: str | None) -> Iterator[None]:
    """Turn a busy database into a kind refusal that hands the member's words back."""
    try:
        yield
    except StorageBusyError:
        raise UserFacingError(
            "Hearth is very busy for a moment and couldn't save that. Please try again in a few seconds.",
            keep_text=text,
        ) from None


def marker(occurrence_id: int) -> str:
    """Return the text in a check-in's footer that finds it again after a restart."""
    return MARKER.format(id=occurrence_id)


# ----- rendering -----------------------------------------------------------------------------------


def _count_line(tally: Tally) -> str:
    if tally.total == 0 and tally.anonymous_notes == 0:
        return "No one yet. You could be the first."
    lines = [f"{tally.total} member{'s' if tally.total != 1 else ''} checked in."]
    if tally.anonymous_notes:
        notes = tally.anonymous_notes
        lines.append(f"{notes} anonymous note{'s' if notes != 1 else ''} in the thread.")
    return "\n".join(lines)


def _distribution_lines(distribution: dict[int, int]) -> str:
    top = max(distribution.values()) or 1
    lines = []
    for m in MOODS:
        count = distribution.get(m.score, 0)
        bar = "█" * round(8 * count / top) if count else ""
        lines.append(f"{m.emoji} {m.word:<5} {bar} {count}")
    return "```\n" + "\n".join(lines) + "\n```"


def checkin_embed(occurrence: OccurrenceRow, tally: Tally, *, closed: bool = False) -> discord.Embed:
    """Render a group check-in: the prompt, how to answer, the public count (never who, never moods)."""
    prompt = occurrence.prompt_text or "How are you today?"
    if closed:
        description = f"**{prompt}**\n\nThis check-in has closed. Thank you to everyone who came by."
    else:
        description = (
            f"**{prompt}**\n\n"
            "Pick the mood that fits. Only you see your answer; the group sees how many checked "
            "in, never who or how. Add a few words if you like, or pass: both are welcome."
        )
    embed = discord.Embed(
        title=clip(occurrence.title, 256),
        description=clip(description, EMBED_DESCRIPTION_LIMIT),
        colour=CLOSED_COLOUR if closed else HEARTH_COLOUR,
    )
    embed.add_field(name="Checked in", value=_count_line(tally), inline=True)
    closes = int(occurrence.closes_at.timestamp())
    embed.add_field(
        name="Closed" if closed else "Open until",
        value=f"<t:{closes}:f>" if closed else f"<t:{closes}:t> (<t:{closes}:R>)",
        inline=True,
    )
    if tally.distribution is not None:
        embed.add_field(
            name="How the group is doing", value=_distribution_lines(tally.distribution), inline=False
        )
    elif occurrence.show_distribution and not closed:
        embed.add_field(
            name="How the group is doing",
            value="Shown here when the check-in closes, if at least 5 members gave a mood.",
            inline=False,
        )
    embed.set_footer(text=f"{marker(occurrence.id)} · /checkin any time · /mood for your history")
    return embed


def checkin_view(occurrence_id: int, *, closed: bool = False) -> discord.ui.View:
    """Return the five mood buttons, "Add a few words" and "Pass" (disabled once closed)."""
    view = discord.ui.View(timeout=None)
    for m in MOODS:
        view.add_item(MoodButton(occurrence_id, m.score, disabled=closed))
    view.add_item(WordsButton(occurrence_id, disabled=closed))
    view.add_item(PassButton(occurrence_id, disabled=closed))
    return view


def low_mood_view(bot: Hearth) -> discord.ui.View | None:
    """Return buttons that start breathing and grounding privately (the exercises area answers them)."""
    if bot.get_cog("Exercises") is None:
        return None
    library = bot.content.parts.get("exercises") if bot.content else None
    ids = _exercise_ids(library) or []
    breathing = _pick(ids, ("box-breathing",), "breath")
    grounding = _pick(ids, ("grounding-5-4-3-2-1",), "ground")
    view = discord.ui.View(timeout=None)
    if breathing:
        view.add_item(
            discord.ui.Button(
                label="Breathe with me", emoji="🌬️", custom_id=f"hearth:exercise:start:{breathing}"
            )
        )
    if grounding:
        view.add_item(
            discord.ui.Button(
                label="Ground myself", emoji="🌿", custom_id=f"hearth:exercise:start:{grounding}"
            )
        )
    return view if view.children else None


def _exercise_ids(library: Any) -> list[str] | None:
    """Return the exercise ids the exercises content lists (a mapping of id -> exercise), or None."""
    if library is None:
        return None
    try:
        return [str(key) for key in library]
    except TypeError:
        return None


def _pick(ids: list[str], preferred: tuple[str, ...], word: str) -> str | None:
    for wanted in preferred:
        if wanted in ids:
            return wanted
    return next((i for i in ids if word in i), None)


def low_mood_text(*, buttons: bool, exercises: bool) -> str:
    """Return the care line for a mood of 1 or 2, offering exercises only in the way they are there.

    `buttons`: the breathing and grounding buttons come with the reply; `exercises`: `/exercise`
    is available (the exercises area is loaded).
    """
    if buttons:
        offer = (
            "If it would help, try a short breathing or grounding exercise with the buttons below, "
            "just for you. "
        )
    elif exercises:
        offer = "If it would help, `/exercise` has a short breathing or grounding exercise, just for you. "
    else:
        offer = ""
    return (
        "That sounds like a hard day. Thank you for saying so; that takes courage here. "
        f"{offer}If you need someone now, **/resources** lists helplines."
    )


def low_mood_reply(bot: Hearth, score: int) -> tuple[str, discord.ui.View | None]:
    """Return the care line and buttons for a mood (empty and None above a low mood)."""
    if score > LOW_MOOD:
        return "", None
    view = low_mood_view(bot)
    text = low_mood_text(buttons=view is not None, exercises=bot.get_cog("Exercises") is not None)
    return text, view


def thank_you_text(
    score: int | None, previous: int | None, was_new: bool, low_mood_line: str | None = None
) -> str:
    """Return the private thank-you for a mood (or a pass); `low_mood_line` follows a mood of 1 or 2."""
    if score is None:
        return "Thank you for stopping by. Passing is always okay; you're still part of this."
    chosen = mood(score)
    if was_new or previous is None:
        line = f"Thank you for checking in. You chose {chosen.emoji} **{chosen.label}**."
    elif previous == score:
        line = f"You're already checked in as {chosen.emoji} **{chosen.label}**."
    else:
        line = f"Changed to {chosen.emoji} **{chosen.label}**. Only you can see it."
    if score <= LOW_MOOD:
        care = low_mood_line or low_mood_text(buttons=False, exercises=False)
        return f"{line}\n\n{care}"
    return f"{line} Click another mood any time before it closes to change it."


def notice_text(channel_id: int | None) -> str:
    """Return the one-time note for a member whose reminder DM could not be delivered."""
    where = f"in <#{channel_id}>" if channel_id else "in your server's check-in channel"
    return (
        "\n\n*A note from Hearth:* I couldn't DM your reminder because your DMs are closed, so I've "
        f"turned reminders off. You'll still see group check-ins {where}. To get reminders again, allow "
        "DMs from this server's members and use `/reminders on`."
    )


def history_embed(history: MoodHistory) -> discord.Embed:
    """Render /mood: 30 and 90 days as sparklines, weekly averages, and the gentle streak."""
    embed = discord.Embed(title="Your mood, just for you", colour=HEARTH_COLOUR)
    if history.count_90 == 0:
        embed.description = (
            "No moods yet in the last 90 days. Use `/checkin` any time, or answer a group check-in, "
            "and they'll show up here. Only you can see this."
        )
    else:
        average = f"{history.average_30:.1f}" if history.average_30 is not None else "–"
        embed.description = (
            f"Bars go from ▁ (1, rough) to █ (5, great); · is a day without a mood.\n"
            f"**Last 30 days** ({_plural(history.count_30, 'check-in')}, average {average})\n"
            f"```\n{history.last_30}\n```"
            f"**Last 90 days** ({_plural(history.count_90, 'check-in')})\n```\n{history.last_90}\n```"
        )
        weeks = [
            f"{w.week_start:%d %b}: {w.average:.1f} {sparkline([w.average])} ({w.count})"
            for w in history.weeks[-13:]
        ]
        if weeks:
            embed.add_field(
                name="Weekly averages (week starting)",
                value="```\n" + "\n".join(weeks) + "\n```",
                inline=False,
            )
    embed.add_field(name="Your streak", value=streak_text(history), inline=False)
    embed.set_footer(
        text=f"Days counted in {history.zone}. Only you can see this. /pause freezes your streak."
    )
    return embed


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def streak_text(history: MoodHistory) -> str:
    """Describe the streak gently: no failure, no comparison with anyone."""
    streak = history.streak
    lines = []
    if streak.days == 0:
        lines.append("Every check-in counts. Start whenever you like; there's no rush.")
    elif streak.days == 1:
        lines.append("1 day checked in so far in this run. Welcome.")
    else:
        lines.append(
            f"{streak.days} days checked in in this run. A missed day here and there doesn't end it."
        )
    if history.paused_until is not None:
        lines.append(f"Paused until <t:{int(history.paused_until.timestamp())}:f>: your streak is frozen.")
    elif streak.days and not streak.checked_in_today:
        lines.append("No need to check in today unless you want to.")
    return "\n".join(lines)


def schedule_field(schedule: ScheduleRow) -> tuple[str, str]:
    """Return a schedule as an embed field: its number and name, then when, where, and what."""
    kind = (
        f"group exercise `{schedule.exercise_id}`"
        if schedule.kind == "exercise"
        else (f"prompts: {schedule.prompt_set or 'all sets'}")
    )
    lines = [f"{describe_schedule_time(schedule)} in <#{schedule.channel_id}>", kind]
    if schedule.kind == "checkin":
        hours = schedule.window_minutes / 60
        lines.append(
            f"open {hours:g} h · mood distribution "
            f"{'shown at the close, from 5 moods' if schedule.show_distribution else 'off'}"
        )
    if schedule.paused and schedule.last_error:
        lines.append(
            f"⏸️ paused by Hearth: the last post failed ({schedule.last_error}). "
            "Fix the channel, then `/schedule resume`."
        )
    elif schedule.paused:
        lines.append("⏸️ paused")
    elif schedule.next_run_at is not None:
        stamp = int(schedule.next_run_at.timestamp())
        lines.append(f"next: <t:{stamp}:F> (<t:{stamp}:R>)")
    if schedule.last_error and not schedule.paused:
        lines.append(f"⚠️ last post failed: {schedule.last_error}")
    return clip(f"#{schedule.id} · {schedule.name}", 256), clip("\n".join(lines), 1024)


def preview_line(resolved: ResolvedTime, zone: str) -> str:
    """Return one upcoming occurrence, in the schedule's zone and as a Discord timestamp."""
    local = resolved.instant.astimezone(ZoneInfo(zone))
    stamp = int(resolved.instant.timestamp())
    text = f"• {WEEKDAY_NAMES[local.weekday()][:3]} {local:%d %b %Y, %H:%M} ({zone}) · <t:{stamp}:F>"
    if resolved.kind is LocalTimeKind.GAP:
        text += (
            f"\n  clocks jump forward that night, so it's posted at {local:%H:%M} "
            f"instead of {resolved.wall:%H:%M}"
        )
    elif resolved.kind is LocalTimeKind.REPEATED:
        text += f"\n  {resolved.wall:%H:%M} happens twice that night; it's posted once, the first time"
    return text


# ----- persistent buttons ----------------------------------------------------------------------------


def _cog(interaction: discord.Interaction) -> Checkins:
    cog = hearth(interaction).get_cog("Checkins")
    if cog is None:
        raise UserFacingError("Check-ins are restarting. Please try again in a moment.")
    return cog  # type: ignore[return-value]


def _mood_button(score: int, custom_id: str, *, disabled: bool = False) -> discord.ui.Button[Any]:
    """Return the button for one mood, with its word and face (on a check-in and in a reminder DM)."""
    m = mood(score)
    return discord.ui.Button(
        label=m.label,
        emoji=m.emoji,
        style=discord.ButtonStyle.secondary,
        disabled=disabled,
        custom_id=custom_id,
    )


class MoodButton(
    HearthDynamicItem[discord.ui.Button[Any]],
    template=r"hearth:checkin:mood:(?P<occ>\d{1,20}):(?P<score>[1-5])",
):
    """A mood button on a check-in; its custom id holds the check-in and the score, never a user."""

    def __init__(self, occurrence_id: int, score: int, *, disabled: bool = False) -> None:
        super().__init__(
            _mood_button(score, f"hearth:checkin:mood:{occurrence_id}:{score}", disabled=disabled)
        )
        self.occurrence_id = occurrence_id
        self.score = score

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: Any, /
    ) -> MoodButton:
        return cls(int(match["occ"]), int(match["score"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).answer_mood(interaction, self.occurrence_id, self.score)


class OccurrenceButton(
    HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:checkin:abstract-occurrence"
):
    """A check-in button whose custom id is `hearth:checkin:<action>:<occurrence id>`, never a user.

    A subclass gives its template (the occurrence id in its `occ` group), its `action`, the
    button's look, and `handle`.
    """

    action: ClassVar[str]
    label: ClassVar[str]
    emoji: ClassVar[str | None] = None
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init__(self, occurrence_id: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=self.label,
                emoji=self.emoji,
                style=self.style,
                disabled=disabled,
                custom_id=f"hearth:checkin:{self.action}:{occurrence_id}",
            )
        )
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: Any, /
    ) -> Self:
        return cls(int(match["occ"]))


class WordsButton(OccurrenceButton, template=r"hearth:checkin:words:(?P<occ>\d{1,20})"):
    """ "Add a few words": asks who should see the words, then opens the note form."""

    action = "words"
    label = "Add a few words"
    emoji = "✏️"
    style = discord.ButtonStyle.primary

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).choose_visibility(interaction, self.occurrence_id)


class NoteVisibilityButton(
    HearthDynamicItem[discord.ui.Button[Any]],
    template=r"hearth:checkin:note:(?P<occ>\d{1,20}):(?P<vis>private|group|anonymous)",
):
    """Opens the note form for one visibility."""

    def __init__(self, occurrence_id: int, visibility: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=VISIBILITY_WORDS[visibility],
                style=discord.ButtonStyle.secondary,
                emoji={"private": "🔒", "group": "👥", "anonymous": "🎭"}[visibility],
                custom_id=f"hearth:checkin:note:{occurrence_id}:{visibility}",
            )
        )
        self.occurrence_id = occurrence_id
        self.visibility = visibility

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: Any, /
    ) -> NoteVisibilityButton:
        return cls(int(match["occ"]), match["vis"])

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).open_note_form(interaction, self.occurrence_id, self.visibility)


class PassButton(OccurrenceButton, template=r"hearth:checkin:pass:(?P<occ>\d{1,20})"):
    """ "Pass": present, without a mood."""

    action = "pass"
    label = "Pass"

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).answer_pass(interaction, self.occurrence_id)


class PersonalMoodButton(
    HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:checkin:personal:(?P<score>[1-5])"
):
    """A mood button in a reminder DM: records a personal check-in for whoever clicks it."""

    def __init__(self, score: int) -> None:
        super().__init__(_mood_button(score, f"hearth:checkin:personal:{score}"))
        self.score = score

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: Any, /
    ) -> PersonalMoodButton:
        return cls(int(match["score"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).answer_personal_reminder(interaction, self.score)


DYNAMIC_ITEMS = (MoodButton, WordsButton, NoteVisibilityButton, PassButton, PersonalMoodButton)


class NoteReportModal(HearthModal, title="Report to moderators"):
    """Why a member reports an anonymous check-in note (the same form as for anonymous shares)."""

    reason: discord.ui.TextInput[NoteReportModal] = discord.ui.TextInput(
        label="What's wrong with it?",
        style=discord.TextStyle.paragraph,
        max_length=REPORT_REASON_LIMIT,
        placeholder="Moderators see this and a link to the note, but not your name.",
    )

    def __init__(self, cog: Checkins, link: str, pseudonym: str) -> None:
        super().__init__()
        self.cog = cog
        self.link = link
        self.pseudonym = pseudonym

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await self.cog.report_note(interaction, self.link, self.pseudonym, self.reason.value)


class NoteModal(HearthModal):
    """The note form; its custom id is unique per opening, so two members never share one."""

    def __init__(self, cog: Checkins, occurrence_id: int, visibility: str, default: str | None) -> None:
        titles = {
            "private": "A few words, just for you",
            "group": "A few words for the group",
            "anonymous": "A few words, shared anonymously",
        }
        super().__init__(
            title=titles[visibility],
            custom_id=f"hearth:checkin:notemodal:{occurrence_id}:{visibility}:{secrets.token_hex(4)}",
            timeout=30 * 60,
        )
        self.cog = cog
        self.occurrence_id = occurrence_id
        self.visibility = visibility
        self.note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(
            label="Your words",
            style=discord.TextStyle.paragraph,
            max_length=NOTE_LIMIT,
            default=default,
            placeholder="Anything you'd like to say. A word or two is plenty.",
        )
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await self.cog.save_note(interaction, self.occurrence_id, self.visibility, self.note.value)


# ----- the poster: Discord for the runner -------------------------------------------------------------


def _failure(exc: BaseException) -> DeliveryError:
    """Say what a failed request means: only Discord's own trouble (5xx, 429) and the network's pass."""
    if isinstance(exc, discord.Forbidden):
        if exc.code == DM_CLOSED_CODE:
            return DeliveryError(Failure.DM_CLOSED, "DMs closed")
        return DeliveryError(Failure.FORBIDDEN, f"403 ({exc.code})")
    if isinstance(exc, discord.NotFound):
        return DeliveryError(Failure.NOT_FOUND, f"404 ({exc.code})")
    if isinstance(exc, discord.HTTPException):
        passing = exc.status >= 500 or exc.status == 429
        return DeliveryError(Failure.TRANSIENT if passing else Failure.REFUSED, f"{exc.status} ({exc.code})")
    return DeliveryError(Failure.TRANSIENT, type(exc).__name__)


async def _discord_call(call: Awaitable[T]) -> T:
    """Await a Discord request, turning its failure into a DeliveryError the runner understands."""
    try:
        return await call
    except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise _failure(exc) from exc


def post_nonce(occurrence: OccurrenceRow) -> str:
    """Return the nonce every post of an occurrence carries, so Discord creates it only once.

    With `enforce_nonce` (discord.py sets it), Discord answers a second post with the same nonce
    within a few minutes with the message it already made. Unique per occurrence row and time,
    and within Discord's 25 characters.
    """
    made = f"checkin:{occurrence.id}:{occurrence.scheduled_for.isoformat()}"
    return "hc" + hashlib.sha256(made.encode()).hexdigest()[:23]


class _OneNonce:
    """A channel whose sends carry a fixed nonce and wait at the pacer (for a group exercise's post)."""

    def __init__(self, channel: Any, nonce: str, pacer: Pacer) -> None:
        self._channel = channel
        self._nonce = nonce
        self._pacer = pacer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)

    async def send(self, *args: Any, **kwargs: Any) -> discord.Message:
        kwargs.setdefault("nonce", self._nonce)
        async with self._pacer.slot():
            return await self._channel.send(*args, **kwargs)


def _is_marked(data: dict[str, Any], occurrence_id: int) -> bool:
    """Say whether a message (as Discord sends it) carries an occurrence's marker or its buttons."""
    wanted = marker(occurrence_id)
    footers = [(e.get("footer") or {}).get("text", "") for e in data.get("embeds", [])]
    if any(f.startswith(wanted + " ") or f == wanted for f in footers):
        return True
    prefix = f"hearth:checkin:mood:{occurrence_id}:"
    return any(
        str(component.get("custom_id", "")).startswith(prefix)
        for row in data.get("components", [])
        for component in row.get("components", [])
    )


class DiscordPoster:
    """Posts, finds, closes and reminds through discord.py, on behalf of the runner.

    Every request waits its turn at the pacer first, so the runner's bursts (a reminder is up to
    three requests, a search up to twenty) stay under Discord's global limit.
    """

    def __init__(self, bot: Hearth, pacer: Pacer) -> None:
        self.bot = bot
        self.pacer = pacer

    async def _request(self, make: Callable[[], Awaitable[T]]) -> T:
        """Send one request made by `make`, holding a slot at the pacer until its answer is back."""
        async with self.pacer.slot():
            return await _discord_call(make())

    def _channel(self, channel_id: int, guild_id: int | None = None) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(channel_id, guild_id=guild_id)

    async def post_checkin(self, occurrence: OccurrenceRow, tally: Tally) -> int:
        channel = self._channel(occurrence.channel_id, occurrence.guild_id)
        message = await self._request(
            lambda: channel.send(
                embed=checkin_embed(occurrence, tally),
                view=checkin_view(occurrence.id),
                nonce=post_nonce(occurrence),
            )
        )
        await channel_works(self.bot, occurrence.guild_id, occurrence.channel_id)
        return message.id

    async def post_exercise(self, occurrence: OccurrenceRow) -> int:
        cog = self.bot.get_cog("Exercises")
        post = getattr(cog, "post_group_exercise", None)
        if post is None or occurrence.exercise_id is None:
            raise LookupError("the exercises area is not loaded")
        channel = self.bot.get_channel(occurrence.channel_id) or self._channel(
            occurrence.channel_id, occurrence.guild_id
        )
        once = _OneNonce(channel, post_nonce(occurrence), self.pacer)
        message = await _discord_call(post(once, occurrence.exercise_id, marker=marker(occurrence.id)))
        return message.id

    async def find_posted(self, occurrence: OccurrenceRow) -> int | None:
        # Deterministic rule: read the channel forward from a little before the claim (a post
        # can only come after its claim), page by page, for one of ours whose footer carries
        # this occurrence's marker or whose buttons carry its id. Reaching the channel's end
        # means it is not there; too many messages to be sure means we can't tell.
        assert self.bot.user is not None
        # Discord's ids carry Discord's time; the bot's clock is only ever ahead of it in tests.
        since = min(occurrence.claimed_at, datetime.now(UTC)) - HISTORY_SEARCH_SLACK
        after = discord.utils.time_snowflake(since)
        for _ in range(HISTORY_SEARCH_PAGES):
            page = await self._request(
                functools.partial(self.bot.http.logs_from, occurrence.channel_id, HISTORY_PAGE, after=after)
            )
            for data in page:
                ours = int(data.get("author", {}).get("id", 0)) == self.bot.user.id
                if ours and _is_marked(data, occurrence.id):
                    return int(data["id"])
            if len(page) < HISTORY_PAGE:
                return None
            after = max(int(data["id"]) for data in page)
        raise DeliveryError(
            Failure.REFUSED, f"more than {HISTORY_SEARCH_PAGES * HISTORY_PAGE} messages since it was claimed"
        )

    async def close_checkin(self, occurrence: OccurrenceRow, tally: Tally) -> None:
        if occurrence.message_id is None:
            return
        message = self._channel(occurrence.channel_id, occurrence.guild_id).get_partial_message(
            occurrence.message_id
        )
        await self._request(
            lambda: message.edit(
                embed=checkin_embed(occurrence, tally, closed=True),
                view=checkin_view(occurrence.id, closed=True),
            )
        )

    async def refresh_count(self, occurrence: OccurrenceRow, tally: Tally) -> None:
        """Edit a check-in's public count."""
        if occurrence.message_id is None:
            return
        message = self._channel(occurrence.channel_id, occurrence.guild_id).get_partial_message(
            occurrence.message_id
        )
        await self._request(lambda: message.edit(embed=checkin_embed(occurrence, tally)))

    async def dm_channel(self, reminder: ReminderRow) -> int:
        """Return the member's DM channel id (remembered, or opened now)."""
        if reminder.dm_channel_id is not None:
            return reminder.dm_channel_id
        data = await self._request(lambda: self.bot.http.start_private_message(reminder.user_id))
        return int(data["id"])

    async def can_see(self, user_id: int, occurrence: OccurrenceRow) -> bool:
        """Say whether a member is still in the check-in's server and can see its channel."""
        guild = self.bot.get_guild(occurrence.guild_id)
        channel = guild.get_channel(occurrence.channel_id) if guild else None
        if guild is None or channel is None:
            return False
        try:
            member = guild.get_member(user_id) or await self._request(lambda: guild.fetch_member(user_id))
        except DeliveryError as exc:
            if exc.failure is Failure.NOT_FOUND:  # they left the server
                return False
            raise
        return channel.permissions_for(member).view_channel

    async def send_group_reminder(self, reminder: ReminderRow, occurrence: OccurrenceRow) -> int | None:
        # The DM names the check-in and its channel: only for members who can still see them.
        if not await self.can_see(reminder.user_id, occurrence):
            return None
        channel_id = await self.dm_channel(reminder)
        closes = int(occurrence.closes_at.timestamp())
        link = f"https://discord.com/channels/{occurrence.guild_id}/{occurrence.channel_id}/{occurrence.message_id}"
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="Open the check-in", url=link))
        await self._request(
            lambda: self._channel(channel_id).send(
                content=(
                    f"A gentle reminder: **{clip(occurrence.title, 80)}** in <#{occurrence.channel_id}> is "
                    f"open until <t:{closes}:t> (<t:{closes}:R>). "
                    "A mood is plenty, and passing is fine too.\n"
                    "-# You asked for reminders. `/pause` takes a break; `/reminders off` stops them."
                ),
                view=view,
            )
        )
        return channel_id

    async def send_personal_reminder(self, reminder: ReminderRow) -> int | None:
        channel_id = await self.dm_channel(reminder)
        view = discord.ui.View(timeout=None)
        for m in MOODS:
            view.add_item(PersonalMoodButton(m.score))
        await self._request(
            lambda: self._channel(channel_id).send(
                content=(
                    "Hi, it's your check-in reminder. How are you today? Pick a mood below; only you "
                    "will see it.\n-# `/pause` takes a break; `/reminders off` stops these."
                ),
                view=view,
            )
        )
        return channel_id


class CountRefresher:
    """Updates a check-in's public count at most once per pause, however many members click."""

    def __init__(self, delay: float, refresh: Callable[[int], Awaitable[None]]) -> None:
        self.delay = delay
        self._refresh = refresh
        self._dirty: set[int] = set()
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def touch(self, occurrence_id: int) -> None:
        """Note that a check-in's count changed."""
        self._dirty.add(occurrence_id)
        if occurrence_id not in self._tasks:
            self._tasks[occurrence_id] = asyncio.create_task(
                self._run(occurrence_id), name=f"checkin-count-{occurrence_id}"
            )

    async def _run(self, occurrence_id: int) -> None:
        try:
            while occurrence_id in self._dirty:
                await asyncio.sleep(self.delay)
                self._dirty.discard(occurrence_id)
                try:
                    await self._refresh(occurrence_id)
                except DeliveryError as exc:
                    log.info("could not update the count of check-in %s (%s)", occurrence_id, exc.failure)
                except Exception:
                    log.exception("updating the count of check-in %s failed", occurrence_id)
        finally:
            self._tasks.pop(occurrence_id, None)

    async def flush(self) -> None:
        """Wait until every pending update has been sent."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    def cancel(self) -> None:
        """Stop pending updates (on unload)."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        self._dirty.clear()


@dataclass
class _CareFor:
    """What care a member's words call for, and where moderators could open them once posted."""

    assessment: Assessment | None
    anonymous: bool
    link: str | None = None


# ----- the cog ---------------------------------------------------------------------------------------------


class Checkins(commands.Cog):
    """Scheduled group check-ins and personal mood tracking."""

    schedule = ModeratorGroup(name="schedule", description="Group check-ins on a schedule (moderators)")
    prompts = ModeratorGroup(name="prompts", description="The questions check-ins open with (moderators)")
    reminders = app_commands.Group(name="reminders", description="Gentle DM reminders to check in")

    def __init__(self, bot: Hearth) -> None:
        self.bot = bot
        settings = bot.config.checkins
        assert bot.db is not None and bot.content is not None
        library = bot.content.parts.get("exercises")
        self.service = CheckinService(
            CheckinStore(bot.db, bot.keyring),
            settings,
            bot.content.parts["prompts"],
            exercise_ids=_exercise_ids(library),
        )
        # One pacer for every request the runner's work sends (posts, searches, closes, reminders,
        # count updates): evenly spaced at the configured rate, and never more than Discord's
        # global limit in a second, even while making up for a stall.
        self.pacer = Pacer(settings.posts_per_second, per_window=DISCORD_GLOBAL_LIMIT)
        self.poster = DiscordPoster(bot, self.pacer)
        self.runner = CheckinRunner(
            self.service,
            self.poster,
            workers=settings.post_workers,
            on_idle=self._arm,
            on_trouble=self._tell_trouble,
            checkin_channel_of=self._checkin_channel_of,
        )
        self.counts = CountRefresher(settings.count_refresh_seconds, self._refresh_count)
        self.anonymous_limit = HourlyLimit(settings.anonymous_notes_per_hour)
        self.startup_task: asyncio.Task[None] | None = None
        self.load_seconds = 0.0
        self._ticks: set[asyncio.Task[Any]] = set()
        self._thread_locks: dict[int, asyncio.Lock] = {}

    # ----- lifecycle --------------------------------------------------------------------------------

    async def cog_load(self) -> None:
        started = time.perf_counter()
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        moved = await self.service.store.adopt_legacy_anonymous_notes()
        if moved:
            log.info("moved %d anonymous check-in notes to per-check-in keys", moved)
        await self.service.ensure_next_runs(self.bot.now())
        due = await self.service.store.next_wakeup()
        await self._arm(due)
        if self.bot.scheduler is not None:
            self.bot.scheduler.add_job(
                self._scheduled_tick,
                "interval",
                seconds=SWEEP_SECONDS,
                id="checkin:sweep",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        self.startup_task = asyncio.create_task(self._first_tick(), name="checkin-first-tick")
        self.load_seconds = time.perf_counter() - started
        log.info(
            "check-ins loaded in %.1f ms; next wake-up at %s",
            self.load_seconds * 1000,
            due.isoformat() if due else "none",
        )

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        if self.startup_task is not None:
            self.startup_task.cancel()
        self.counts.cancel()
        # A tick cut short is safe: whatever it claimed but did not confirm is settled next start.
        for task in list(self._ticks):
            task.cancel()
        if self.bot.scheduler is not None:
            for job_id in (WAKEUP_JOB, "checkin:sweep"):
                with contextlib.suppress(Exception):
                    self.bot.scheduler.remove_job(job_id)

    async def _first_tick(self) -> None:
        """After a (re)start: settle interrupted posts and post what was missed within grace."""
        await self.bot.wait_until_ready()
        await self._scheduled_tick()

    async def _scheduled_tick(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._ticks.add(task)
        try:
            # A failure is logged with a reference; the next sweep tries again.
            await self.bot.run_job("checkin:tick", lambda: self.runner.tick(self.bot.now()))
        finally:
            if task is not None:
                self._ticks.discard(task)

    async def _arm(self, due: datetime | None) -> None:
        """Point the one wake-up job at the earliest thing the database says is due.

        The delay is measured on the bot's clock and the job is placed that far ahead on the
        real clock, so a test's frozen clock never makes the job fire early in a loop. It is
        never placed less than a second ahead: the job re-arms itself at the end of its own run,
        and APScheduler drops a one-off job whose time comes while its last run is still going.
        Something already due after a tick is something that failed for now (a close that met
        Discord trouble), so it is tried again after a pause, never in a tight loop.
        """
        scheduler = self.bot.scheduler
        if scheduler is None:
            return
        if due is None:
            with contextlib.suppress(Exception):
                scheduler.remove_job(WAKEUP_JOB)
            return
        delay = (due - self.bot.now()).total_seconds()
        delay = RETRY_SECONDS if delay <= 0 else max(delay, MIN_WAKEUP_SECONDS)
        scheduler.add_job(
            self._scheduled_tick,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=delay),
            id=WAKEUP_JOB,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=2,  # a run may start while the one that armed it finishes (ticks queue on a lock)
        )

    async def _rearm(self) -> None:
        await self._arm(await self.service.store.next_wakeup())

    async def _tell_trouble(self, occurrence: OccurrenceRow, trouble: Trouble) -> None:
        """Tell moderators once about a schedule whose post failed for good, or whose fate is unknown."""
        assert occurrence.schedule_id is not None
        schedule = await self.service.store.get_schedule(occurrence.schedule_id)
        name = clip(schedule.name if schedule else occurrence.title, 80)
        where = f"**#{occurrence.schedule_id} · {name}** in <#{occurrence.channel_id}>"
        if trouble.unsure:
            title = "A check-in may not have gone out"
            lines = [
                f"{where} was interrupted while it was being posted, and {trouble.reason}. I haven't "
                "posted it again, so nobody gets it twice; if it did go out, I'll close it on time.",
                "Give my role Read Message History there (with View Channel, Send Messages and Embed "
                f"Links), or post `/schedule test schedule:{occurrence.schedule_id}` if members missed it.",
            ]
        elif trouble.paused:
            title = "A check-in schedule is paused"
            lines = [
                f"I couldn't post {where}: {trouble.reason}. I've paused the schedule so it doesn't "
                "keep failing.",
                "Give my role View Channel, Send Messages and Embed Links there (or choose another channel "
                f"with `/schedule edit`), then `/schedule resume schedule:{occurrence.schedule_id}`.",
            ]
        else:
            title = "A check-in wasn't posted"
            lines = [
                f"I couldn't post {where}: {trouble.reason}. I won't send that one again; the schedule "
                "goes on as usual.",
            ]
        lines.append("`/schedule list` shows it too.")
        embed = discord.Embed(title=title, description="\n".join(lines), colour=TROUBLE_COLOUR)
        topic = f"schedule:{occurrence.schedule_id}"
        await note_trouble(self.bot, occurrence.guild_id, occurrence.channel_id, embed, topic=topic)

    async def _schedule_trouble_ended(self, guild_id: int, schedule_id: int) -> None:
        await self.bot.notices.trouble_ended(guild_id, f"schedule:{schedule_id}")

    async def _refresh_count(self, occurrence_id: int) -> None:
        occurrence = await self.service.store.get_occurrence(occurrence_id)
        if occurrence is None or occurrence.closed or occurrence.state != "posted":
            return
        if self.bot.now() >= occurrence.closes_at:
            return
        await self.poster.refresh_count(occurrence, await self.service.tally(occurrence))

    async def _checkin_channel_of(self, guild_id: int) -> int | None:
        """Return where a server's group check-ins are: its check-in channel, else a schedule's channel."""
        if not guild_id:
            return None
        if self.bot.guild_settings is not None:
            settings = await self.bot.guild_settings.get(guild_id)
            if settings.checkin_channel_id:
                return settings.checkin_channel_id
        return await self.service.checkin_channel_of(guild_id)

    async def _notice(self, user_id: int) -> str:
        shown, channel_id = await self.service.store.take_dm_closed_notice(user_id)
        return notice_text(channel_id) if shown else ""

    # ----- answering a check-in ------------------------------------------------------------------------

    async def answer_mood(self, interaction: discord.Interaction, occurrence_id: int, score: int) -> None:
        """A mood button: record or change the member's one answer, thank them privately."""
        result = await self.service.record_mood(occurrence_id, interaction.user.id, score, self.bot.now())
        self.counts.touch(occurrence_id)
        care, view = low_mood_reply(self.bot, score)
        text = thank_you_text(score, result.previous_mood, result.was_new, care)
        text += await self._notice(interaction.user.id)
        if view is not None:
            await interaction.response.send_message(text, ephemeral=True, view=view)
        else:
            await interaction.response.send_message(text, ephemeral=True)

    async def answer_pass(self, interaction: discord.Interaction, occurrence_id: int) -> None:
        """The pass button: present, without a mood."""
        await self.service.record_pass(occurrence_id, interaction.user.id, self.bot.now())
        self.counts.touch(occurrence_id)
        text = thank_you_text(None, None, True) + await self._notice(interaction.user.id)
        await interaction.response.send_message(text, ephemeral=True)

    async def choose_visibility(self, interaction: discord.Interaction, occurrence_id: int) -> None:
        """ "Add a few words": ask who should see them."""
        await self.service.open_occurrence(occurrence_id, self.bot.now())
        view = discord.ui.View(timeout=None)
        for visibility in VISIBILITIES:
            view.add_item(NoteVisibilityButton(occurrence_id, visibility))
        await interaction.response.send_message(
            "Who should see your words? You can change this later by adding words again.\n"
            "• **Only me**: kept in your own history, nowhere else.\n"
            "• **The group, under my name**: posted in this check-in's thread.\n"
            "• **The group, anonymously**: posted in the thread under a name made up for this check-in.",
            ephemeral=True,
            view=view,
        )

    async def open_note_form(
        self, interaction: discord.Interaction, occurrence_id: int, visibility: str
    ) -> None:
        """Open the note form, filled with the member's earlier words for this check-in, if any."""
        now = self.bot.now()
        occurrence = await self.service.open_occurrence(occurrence_id, now)
        default: str | None = None
        answer = await self.service.store.get_answer(occurrence.id, interaction.user.id)
        if answer is not None and answer.note:
            default = answer.note
        else:
            key = ban_key_for(self.bot.keyring, occurrence.guild_id, interaction.user.id)
            anonymous = await self.service.store.get_anonymous_note(occurrence.guild_id, occurrence.id, key)
            default = anonymous.note if anonymous else None
        await interaction.response.send_modal(NoteModal(self, occurrence.id, visibility, default))

    async def save_note(
        self, interaction: discord.Interaction, occurrence_id: int, visibility: str, text: str
    ) -> None:
        """Store a note, show it where the member chose, and offer care if the words call for it.

        The words are assessed before anything else, so words that call for care bring it on every
        path: shared, kept privately, refused, or not saved at all.
        """
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self._caring(interaction, text, anonymous=visibility == "anonymous") as care:
            now = self.bot.now()
            occurrence = await self.service.store.get_occurrence(occurrence_id)
            if occurrence is None:
                raise UserFacingError("I can't find this check-in any more.", keep_text=text)
            key = ban_key_for(self.bot.keyring, occurrence.guild_id, interaction.user.id)
            notes: tuple[str, ...] = ()
            if visibility == "anonymous":
                text, notes = await self._anonymous_rules(interaction, occurrence, text, now)
            with keeping(text):
                saved = await self.service.save_note(
                    occurrence_id, interaction.user.id, text, visibility, now, key
                )
            if visibility == "anonymous":
                self.anonymous_limit.add((occurrence.guild_id, interaction.user.id), now)
            self.counts.touch(occurrence_id)
            await self._retire_previous(saved)
            name: str | None = None
            if visibility in ("group", "anonymous"):
                name = (
                    interaction.user.display_name
                    if visibility == "group"
                    else pseudonym_for(
                        self.bot.keyring, occurrence.guild_id, f"checkin:{occurrence.id}", interaction.user.id
                    )
                )
                try:
                    care.link = await self._show_in_thread(saved, name)
                except DeliveryError as exc:
                    log.warning("could not post a check-in note in its thread (%s)", exc.failure)
                    await interaction.followup.send(
                        "I saved your words privately, but I couldn't post them in the check-in's thread "
                        "(I may be missing permission there). A moderator can check my permissions.",
                        ephemeral=True,
                    )
                    return
            if visibility == "private":
                reply = "Saved. Only you can see these words (they're in `/mydata`, nowhere else)."
            elif visibility == "group":
                reply = f"Shared in the check-in's thread under your name: {care.link}"
            else:
                reply = (
                    f"Shared anonymously in the check-in's thread as **{name}**: {care.link}\n"
                    "No one else can see that it was you."
                )
                if notes:
                    reply += "\n" + " ".join(notes)
            await interaction.followup.send(reply + await self._notice(interaction.user.id), ephemeral=True)

    async def _anonymous_rules(
        self, interaction: discord.Interaction, occurrence: OccurrenceRow, text: str, now: datetime
    ) -> tuple[str, tuple[str, ...]]:
        """Apply the server's anonymous-sharing rules and this area's hourly limit to anonymous words.

        Return the words to post (links stripped as the server asks, mentions neutralised) and
        notes for the member, or refuse with their words handed back.
        """
        with keeping(text):
            checked = await self.bot.sharing.check_anonymous_text(
                occurrence.guild_id, interaction.user.id, text, now
            )
        if checked.text is None:
            raise UserFacingError(checked.refusal, keep_text=text)
        until = self.anonymous_limit.full_until((occurrence.guild_id, interaction.user.id), now)
        if until is not None:
            minutes = max(1, int((until - now).total_seconds() // 60) + 1)
            raise UserFacingError(
                f"You've shared a lot of anonymous words this hour (this server allows "
                f"{self.anonymous_limit.limit}). You can share again in about {minutes} minutes, "
                "or keep these just for you.",
                keep_text=text,
            )
        return checked.text, checked.notes

    async def _assess(self, guild_id: int | None, text: str | None) -> Assessment | None:
        """Classify a member's words for care (None without words or without the safety area)."""
        safety = getattr(self.bot, "safety", None)
        if safety is None or not text:
            return None
        return await safety.assess_for_care(guild_id, text)

    @contextlib.asynccontextmanager
    async def _caring(
        self, interaction: discord.Interaction, text: str | None, *, anonymous: bool
    ) -> AsyncIterator[_CareFor]:
        """Assess a member's words first, then offer care once the handler ends, however it ends.

        On a refusal or an error the care comes before the message that hands the words back.
        The handler sets `link` once the words are posted where moderators can open them.
        """
        care = _CareFor(await self._assess(interaction.guild_id, text), anonymous)
        try:
            yield care
        except Exception:
            await self._offer_care(interaction, care)
            raise
        await self._offer_care(interaction, care)

    async def _offer_care(self, interaction: discord.Interaction, care: _CareFor) -> None:
        """Show private resources; alert moderators about named words, or anonymous words they can open.

        Named words (private, under a name, /checkin) alert like a /faq question: the member is
        named so a moderator can reach out, and the words are never quoted. Anonymous words alert
        only when posted: with nothing to open and no one named, an alert could only worry.
        """
        if care.assessment is None or not care.assessment.needs_care:
            return
        try:
            from bot.cogs._care import offer_care
        except ImportError:  # the safety area is not installed
            return
        try:
            await offer_care(
                interaction,
                care.assessment,
                source="check-in note",
                link=care.link,
                alert=not care.anonymous or care.link is not None,
                anonymous=care.anonymous,
            )
        except Exception:
            log.exception("could not offer care resources for a check-in note")

    async def _retire_previous(self, saved: NoteSaved) -> None:
        """Remove a note's earlier thread message when it moves to another visibility."""
        previous, message_id = saved.previous_visibility, saved.previous_message_id
        thread_id = saved.occurrence.thread_id
        if previous is None or message_id is None or thread_id is None or previous == saved.visibility:
            return
        with contextlib.suppress(DeliveryError):
            await _discord_call(self.bot.http.delete_message(thread_id, message_id))

    async def _thread_for(self, occurrence: OccurrenceRow) -> int:
        lock = self._thread_locks.setdefault(occurrence.id, asyncio.Lock())
        try:
            async with lock:
                return await self._find_or_start_thread(occurrence)
        finally:
            # Whoever waits on this lock still holds it; a newcomer finds the thread in the database.
            if self._thread_locks.get(occurrence.id) is lock:
                del self._thread_locks[occurrence.id]

    async def _find_or_start_thread(self, occurrence: OccurrenceRow) -> int:
        fresh = await self.service.store.get_occurrence(occurrence.id)
        if fresh is not None and fresh.thread_id is not None:
            return fresh.thread_id
        if occurrence.message_id is None:
            raise DeliveryError(Failure.NOT_FOUND, "the check-in has no message")
        stamp = occurrence.scheduled_for.strftime("%d %b")
        try:
            data = await self.bot.http.start_thread_with_message(
                occurrence.channel_id,
                occurrence.message_id,
                name=clip(f"Words: {occurrence.title} · {stamp}", 100),
                auto_archive_duration=1440,
                rate_limit_per_user=None,
            )
            thread_id = int(data["id"])
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS_CODE:
                raise _failure(exc) from exc
            message = await _discord_call(
                self.bot.http.get_message(occurrence.channel_id, occurrence.message_id)
            )
            thread_id = int((message.get("thread") or {}).get("id") or occurrence.message_id)
        await self.service.store.set_thread(occurrence.id, thread_id)
        return thread_id

    async def _show_in_thread(self, saved: NoteSaved, name: str) -> str:
        occurrence = saved.occurrence
        thread_id = await self._thread_for(occurrence)
        embed = discord.Embed(description=saved.text, colour=HEARTH_COLOUR)
        embed.set_author(name=clip(name, 256))
        if saved.visibility == "anonymous":
            embed.set_footer(text="Shared anonymously")
        thread = self.bot.get_partial_messageable(thread_id, guild_id=occurrence.guild_id)
        keep = saved.previous_visibility == saved.visibility and saved.previous_message_id is not None
        message_id: int | None = None
        if keep and saved.previous_message_id is not None:
            try:
                await _discord_call(thread.get_partial_message(saved.previous_message_id).edit(embed=embed))
                message_id = saved.previous_message_id
            except DeliveryError as exc:
                if exc.failure is not Failure.NOT_FOUND:
                    raise
        if message_id is None:
            message = await _discord_call(thread.send(embed=embed))
            message_id = message.id
        if saved.visibility == "anonymous":
            assert saved.anonymous_note_id is not None
            await self.service.store.set_anonymous_message(saved.anonymous_note_id, message_id)
        else:
            await self.service.store.set_note_message(occurrence.id, saved.user_id, message_id)
        return f"https://discord.com/channels/{occurrence.guild_id}/{thread_id}/{message_id}"

    # ----- reports of anonymous notes ---------------------------------------------------------------

    async def offer_note_report(self, interaction: discord.Interaction, message: discord.Message) -> bool:
        """The "Report to moderators" menu on a message: open the report form if it is an anonymous note.

        Return False when the message is not one of this area's anonymous notes.
        """
        if interaction.guild_id is None or self.bot.user is None or message.author.id != self.bot.user.id:
            return False
        occurrence = await self.service.store.occurrence_by_thread(interaction.guild_id, message.channel.id)
        if occurrence is None:
            return False
        notes = await self.service.store.anonymous_notes(occurrence.id)
        if not any(note.message_id == message.id for note in notes):
            return False
        pseudonym = message.embeds[0].author.name if message.embeds and message.embeds[0].author else None
        await interaction.response.send_modal(
            NoteReportModal(self, message.jump_url, pseudonym or "an anonymous member")
        )
        return True

    async def report_note(
        self, interaction: discord.Interaction, link: str, pseudonym: str, reason: str
    ) -> None:
        """Pass a report of an anonymous note to the moderators, with the link; the reporter stays unnamed."""
        await defer_private(interaction)
        assert interaction.guild_id is not None
        # The same hourly limit as reports of anonymous shares.
        await self.bot.sharing.check_report(interaction.guild_id, interaction.user.id, self.bot.now())
        embed = discord.Embed(
            title="An anonymous check-in note was reported",
            description=f"[Open the note]({link})\n\n**Reason given:**\n"
            f"{clip(neutralise_mentions(reason.strip()), 1500)}",
            colour=TROUBLE_COLOUR,
        )
        embed.set_footer(text=f"Note by {clip(pseudonym, 80)} · The reporter is not named.")
        sent = await post_to_moderators(self.bot, interaction.guild_id, what="reports", embed=embed)
        if sent is None:
            raise UserFacingError(
                "I couldn't reach the moderators just now. Please try again in a moment, or message a "
                "moderator directly.",
                keep_text=reason,
            )
        await interaction.followup.send(
            "Thank you for telling us. The moderators have the link and your reason; "
            "your name isn't shared with them.",
            ephemeral=True,
        )

    async def answer_personal_reminder(self, interaction: discord.Interaction, score: int) -> None:
        """A mood button in a reminder DM: record a personal check-in and thank the member."""
        await self.service.personal_checkin(
            interaction.user.id, interaction.guild_id, score, None, self.bot.now()
        )
        care, view = low_mood_reply(self.bot, score)
        text = thank_you_text(score, None, True, care).replace(
            " Click another mood any time before it closes to change it.", " Thank you."
        )
        if view is not None:
            await interaction.response.edit_message(content=text, view=view)
        else:
            await interaction.response.edit_message(content=text, view=None)

    # ----- personal commands -------------------------------------------------------------------------

    @app_commands.command(
        name="checkin", description="Check in with yourself: a mood, and a few words if you like"
    )
    @app_commands.describe(mood="How are you, from 1 (rough) to 5 (great)?", note="A few words, just for you")
    @app_commands.choices(
        mood=[app_commands.Choice(name=f"{m.emoji} {m.label}", value=m.score) for m in MOODS]
    )
    async def checkin_command(
        self,
        interaction: discord.Interaction,
        mood: app_commands.Choice[int],
        note: app_commands.Range[str, 1, NOTE_LIMIT] | None = None,
    ) -> None:
        score = mood.value
        await defer_private(interaction)
        async with self._caring(interaction, note, anonymous=False):
            with keeping(note):
                await self.service.personal_checkin(
                    interaction.user.id, interaction.guild_id, score, note, self.bot.now()
                )
            care, view = low_mood_reply(self.bot, score)
            text = thank_you_text(score, None, True, care).replace(
                " Click another mood any time before it closes to change it.", ""
            )
            if note:
                text += "\nYour words are kept privately, only for you."
            text += "\n`/mood` shows your history." + await self._notice(interaction.user.id)
            if view is not None:
                await interaction.followup.send(text, ephemeral=True, view=view)
            else:
                await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(
        name="mood", description="Your own mood history: 30 and 90 days, weekly averages, streak"
    )
    @app_commands.describe(timezone="Count your days in this time zone (remembered for next time)")
    async def mood_command(self, interaction: discord.Interaction, timezone: ZoneText | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        history = await self.service.history(interaction.user.id, self.bot.now(), timezone)
        notice = await self._notice(interaction.user.id)
        await interaction.followup.send(notice.strip() or None, embed=history_embed(history), ephemeral=True)

    @mood_command.autocomplete("timezone")
    async def _mood_zone(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _zone_choices(current)

    @reminders.command(
        name="on", description="Get a gentle DM to check in, and a nudge for open group check-ins"
    )
    @app_commands.describe(
        time="When, like 20:00 or 8pm",
        timezone="Your time zone, like Europe/Berlin",
        days="Which days: daily, weekdays, weekends, or mon,wed,fri (daily if empty)",
    )
    async def reminders_on(
        self,
        interaction: discord.Interaction,
        time: TimeText,
        timezone: ZoneText,
        days: DaysText | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        now = self.bot.now()
        reminder = await self.service.reminders_on(
            interaction.user.id, interaction.guild_id, time, timezone, days, now
        )
        await self.service.store.take_dm_closed_notice(interaction.user.id)
        try:
            channel = await self.poster.dm_channel(reminder)
            await _discord_call(
                self.bot.get_partial_messageable(channel).send(
                    "Reminders are on. This is where they'll arrive. `/reminders off` stops them any time."
                )
            )
            await self.service.store.set_dm_channel(interaction.user.id, channel)
        except DeliveryError as exc:
            if exc.failure not in (Failure.DM_CLOSED, Failure.FORBIDDEN):
                raise UserFacingError("I couldn't reach Discord to set that up. Please try again.") from exc
            await self.service.reminders_off(interaction.user.id, interaction.guild_id, now)
            channel_id = await self._checkin_channel_of(interaction.guild_id or 0)
            where = f"in <#{channel_id}>" if channel_id else "in this server's check-in channel"
            await interaction.followup.send(
                "I couldn't send you a DM: your DMs seem to be closed, so I've left reminders off. "
                f"You'll still see group check-ins {where}. If you'd like reminders, allow direct "
                "messages from this server's members (Privacy Settings) and use `/reminders on` again.",
                ephemeral=True,
            )
            return
        await self._rearm()
        assert reminder.next_run_at is not None
        stamp = int(reminder.next_run_at.timestamp())
        days_text = format_weekdays(weekdays_from_text(reminder.weekdays))
        group_line = (
            "\nWhen a group check-in here is open and you haven't answered, you'll get one nudge "
            "before it closes."
            if interaction.guild_id
            else ""
        )
        await interaction.followup.send(
            f"Reminders are on: {reminder.local_time:%H:%M} {days_text} ({reminder.timezone}). "
            f"The next one is <t:{stamp}:F>. I've sent you a DM so you know where they'll arrive."
            f"{group_line}",
            ephemeral=True,
        )

    @reminders_on.autocomplete("timezone")
    async def _reminders_zone(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _zone_choices(current)

    @reminders_on.autocomplete("days")
    async def _reminders_days(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _day_choices(current)

    @reminders.command(name="off", description="Stop reminder DMs")
    async def reminders_off(self, interaction: discord.Interaction) -> None:
        was_on = await self.service.reminders_off(interaction.user.id, interaction.guild_id, self.bot.now())
        await self._rearm()
        text = "Reminders are off." if was_on else "Reminders were already off."
        await interaction.response.send_message(
            text + " Group check-ins still appear in their channel; `/reminders on` brings reminders back.",
            ephemeral=True,
        )

    @app_commands.command(name="pause", description="Take a break: no reminders, and your streak is frozen")
    @app_commands.describe(days="How many days (0 ends a pause)")
    async def pause_command(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 0, 90]
    ) -> None:
        until = await self.service.pause(interaction.user.id, days, self.bot.now())
        if until is None:
            text = "Welcome back. Your pause has ended; reminders (if you have them on) start again."
        else:
            text = (
                f"Paused until <t:{int(until.timestamp())}:f>. No reminders until then, and your streak is "
                "frozen, not broken. Take the time you need. `/pause 0` ends it early."
            )
        await interaction.response.send_message(text, ephemeral=True)

    # ----- /schedule ------------------------------------------------------------------------------------

    @schedule.command(name="add", description="Post a group check-in on a schedule")
    @app_commands.describe(
        time="When to post, like 19:30 or 7:30pm",
        timezone="The schedule's time zone, like Europe/Berlin",
        channel="Where to post (the /setup check-in channel if empty)",
        days="daily, weekdays, weekends, or mon,wed,fri (daily if empty)",
        name="A title for the check-in",
        prompts="Which prompt set (all sets if empty)",
        window_hours="How long it stays open (12 hours if empty)",
        show_distribution="Show the mood spread at the close, if at least 5 members gave a mood",
        exercise="Post this group exercise instead of a check-in",
    )
    async def schedule_add(
        self,
        interaction: discord.Interaction,
        time: TimeText,
        timezone: ZoneText,
        channel: discord.TextChannel | None = None,
        days: DaysText | None = None,
        name: app_commands.Range[str, 1, 80] | None = None,
        prompts: SetNameText | None = None,
        window_hours: app_commands.Range[float, 0.25, 72.0] | None = None,
        show_distribution: bool = False,
        exercise: ShortText | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel_id = await self._channel_or_default(interaction, channel)
        self._refresh_exercises()
        saved = await self.service.create_schedule(
            interaction.guild_id,
            channel_id,
            time_text=time,
            days_text=days,
            zone_text=timezone,
            now=self.bot.now(),
            name=name,
            prompt_set=prompts,
            window_hours=window_hours,
            show_distribution=show_distribution,
            exercise_id=exercise,
        )
        await self._rearm()
        await interaction.followup.send(
            embed=self._saved_embed("Schedule added", saved.schedule, saved.clock_notes), ephemeral=True
        )

    def _refresh_exercises(self) -> None:
        library = self.bot.content.parts.get("exercises") if self.bot.content else None
        available = self.bot.get_cog("Exercises") is not None and library is not None
        self.service.set_exercise_ids(_exercise_ids(library) if available else None)

    async def _channel_or_default(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None
    ) -> int:
        if channel is not None:
            self._check_channel_permissions(channel)
            return channel.id
        assert interaction.guild_id is not None and self.bot.guild_settings is not None
        settings = await self.bot.guild_settings.get(interaction.guild_id)
        if settings.checkin_channel_id is None:
            raise UserFacingError(
                "Which channel? Choose one with `channel:`, or set a default with `/setup checkin_channel:`."
            )
        return settings.checkin_channel_id

    def _check_channel_permissions(self, channel: discord.TextChannel) -> None:
        missing = missing_permissions(channel, CHECKIN_NEEDS)
        if missing:
            raise UserFacingError(
                f"I can't post check-ins in {channel.mention}: I'm missing {', '.join(missing)} there. "
                "A moderator can add those to my role in that channel, then try again."
            )

    def _saved_embed(self, title: str, schedule: ScheduleRow, notes: list[str]) -> discord.Embed:
        embed = discord.Embed(title=title, colour=HEARTH_COLOUR)
        name, value = schedule_field(schedule)
        embed.add_field(name=name, value=value, inline=False)
        if notes:
            embed.add_field(name="When the clocks change", value=clip("\n".join(notes), 1024), inline=False)
        embed.set_footer(text="/schedule preview shows the next five; /schedule test posts one now.")
        return embed

    @schedule.command(name="list", description="List this server's check-in schedules")
    async def schedule_list(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        schedules = await self.service.store.guild_schedules(interaction.guild_id)
        embed = discord.Embed(title="Check-in schedules", colour=HEARTH_COLOUR)
        if not schedules:
            embed.description = "No schedules yet. Add one with `/schedule add`."
        for schedule in schedules[:25]:
            name, value = schedule_field(schedule)
            # Long names and notes add up: stay inside Discord's 6,000 characters per message.
            if len(embed) + len(name) + len(value) > EMBED_TOTAL_LIMIT - 200:
                break
            embed.add_field(name=name, value=value, inline=False)
        if len(embed.fields) < len(schedules):
            embed.set_footer(
                text=f"Showing {len(embed.fields)} of {len(schedules)}. The other commands find any "
                "schedule by number or name as you type."
            )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @schedule.command(name="edit", description="Change a check-in schedule")
    @app_commands.describe(
        schedule="Which schedule",
        time="A new time",
        timezone="A new time zone",
        channel="A new channel",
        days="New days",
        name="A new title",
        prompts="A new prompt set (`all` for every set)",
        window_hours="How long it stays open",
        show_distribution="Show the mood spread at the close (from 5 moods)",
    )
    async def schedule_edit(
        self,
        interaction: discord.Interaction,
        schedule: int,
        time: TimeText | None = None,
        timezone: ZoneText | None = None,
        channel: discord.TextChannel | None = None,
        days: DaysText | None = None,
        name: app_commands.Range[str, 1, 80] | None = None,
        prompts: SetNameText | None = None,
        window_hours: app_commands.Range[float, 0.25, 72.0] | None = None,
        show_distribution: bool | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        if channel is not None:
            self._check_channel_permissions(channel)
        saved = await self.service.edit_schedule(
            interaction.guild_id,
            schedule,
            self.bot.now(),
            channel_id=channel.id if channel else None,
            time_text=time,
            days_text=days,
            zone_text=timezone,
            name=name,
            prompt_set=prompts,
            window_hours=window_hours,
            show_distribution=show_distribution,
        )
        if channel is not None:
            await self._schedule_trouble_ended(interaction.guild_id, saved.schedule.id)
        await self._rearm()
        await interaction.followup.send(
            embed=self._saved_embed("Schedule changed", saved.schedule, saved.clock_notes), ephemeral=True
        )

    @schedule.command(name="pause", description="Pause a schedule (nothing is posted until you resume it)")
    @app_commands.describe(schedule="Which schedule")
    async def schedule_pause(self, interaction: discord.Interaction, schedule: int) -> None:
        assert interaction.guild_id is not None
        saved = await self.service.set_paused(interaction.guild_id, schedule, True, self.bot.now())
        await self._rearm()
        await interaction.response.send_message(
            f"Paused **#{saved.id} · {clip(saved.name, 80)}**. `/schedule resume` starts it again.",
            ephemeral=True,
        )

    @schedule.command(name="resume", description="Resume a paused schedule from now on")
    @app_commands.describe(schedule="Which schedule")
    async def schedule_resume(self, interaction: discord.Interaction, schedule: int) -> None:
        assert interaction.guild_id is not None
        saved = await self.service.set_paused(interaction.guild_id, schedule, False, self.bot.now())
        await self._schedule_trouble_ended(interaction.guild_id, saved.id)
        await self._rearm()
        assert saved.next_run_at is not None
        stamp = int(saved.next_run_at.timestamp())
        await interaction.response.send_message(
            f"Resumed **#{saved.id} · {clip(saved.name, 80)}**. Next: <t:{stamp}:F> (<t:{stamp}:R>). "
            "Check-ins missed while paused are not posted.",
            ephemeral=True,
        )

    @schedule.command(name="remove", description="Delete a schedule (posted check-ins stay until they close)")
    @app_commands.describe(schedule="Which schedule")
    async def schedule_remove(self, interaction: discord.Interaction, schedule: int) -> None:
        assert interaction.guild_id is not None
        removed = await self.service.remove_schedule(interaction.guild_id, schedule)
        await self._schedule_trouble_ended(interaction.guild_id, removed.id)
        await self._rearm()
        await interaction.response.send_message(
            f"Removed **#{removed.id} · {clip(removed.name, 80)}**. Check-ins it already posted stay open "
            "until their window ends.",
            ephemeral=True,
        )

    @schedule.command(name="preview", description="Show a schedule's next five check-ins")
    @app_commands.describe(schedule="Which schedule")
    async def schedule_preview(self, interaction: discord.Interaction, schedule: int) -> None:
        assert interaction.guild_id is not None
        row = await self.service.get_schedule(interaction.guild_id, schedule)
        upcoming = await self.service.preview(interaction.guild_id, schedule, self.bot.now())
        lines = [preview_line(r, row.timezone) for r in upcoming]
        embed = discord.Embed(
            title=clip(f"Next check-ins of #{row.id} · {row.name}", 256),
            description=clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT),
            colour=HEARTH_COLOUR,
        )
        if row.paused:
            embed.set_footer(text="This schedule is paused: these are the times it would post once resumed.")
        else:
            embed.set_footer(text="Times in the schedule's zone, then in yours.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @schedule.command(name="test", description="Post one check-in from a schedule now")
    @app_commands.describe(schedule="Which schedule")
    async def schedule_test(self, interaction: discord.Interaction, schedule: int) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        row = await self.service.get_schedule(interaction.guild_id, schedule)
        occurrence, report = await self.runner.post_test(row, self.bot.now())
        if not report.posted:
            fresh = await self.service.store.get_schedule(row.id)
            reason = fresh.last_error if fresh and fresh.last_error else "Discord didn't accept the post"
            paused = (
                " I've paused the schedule so it doesn't keep failing: fix the channel (or choose another "
                "with `/schedule edit`), then `/schedule resume`."
                if fresh is not None and fresh.paused and not row.paused
                else ""
            )
            raise UserFacingError(
                f"I couldn't post the test check-in in <#{row.channel_id}>: {reason}.{paused}"
            )
        posted = await self.service.store.get_occurrence(occurrence.id)
        assert posted is not None
        link = f"https://discord.com/channels/{posted.guild_id}/{posted.channel_id}/{posted.message_id}"
        await interaction.followup.send(
            f"Posted a test {'exercise' if row.kind == 'exercise' else 'check-in'} in <#{row.channel_id}>: "
            f"{link}\nMembers can answer it like a real one, though no reminders go out for a test; "
            "the schedule's own times are unchanged.",
            ephemeral=True,
        )

    @schedule_edit.autocomplete("schedule")
    @schedule_pause.autocomplete("schedule")
    @schedule_resume.autocomplete("schedule")
    @schedule_remove.autocomplete("schedule")
    @schedule_preview.autocomplete("schedule")
    @schedule_test.autocomplete("schedule")
    async def _schedule_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        typed = current.strip().lower().lstrip("#")
        found = []
        for row in await self.service.store.guild_schedules(interaction.guild_id):
            label = f"#{row.id} · {row.name} · {describe_schedule_time(row)}"
            if not typed or typed in label.lower():
                found.append(app_commands.Choice(name=clip(label, CHOICE_NAME_LIMIT), value=row.id))
        return found[:CHOICES_LIMIT]

    @schedule_add.autocomplete("timezone")
    @schedule_edit.autocomplete("timezone")
    async def _schedule_zone(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _zone_choices(current)

    @schedule_add.autocomplete("days")
    @schedule_edit.autocomplete("days")
    async def _schedule_days(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _day_choices(current)

    @schedule_add.autocomplete("prompts")
    @schedule_edit.autocomplete("prompts")
    async def _schedule_sets(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["all", *(await self.service.guild_set_names(interaction.guild_id or 0))]
        typed = current.strip().lower()
        return [app_commands.Choice(name=n, value=n) for n in names if typed in n][:CHOICES_LIMIT]

    @schedule_add.autocomplete("exercise")
    async def _schedule_exercises(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        library = self.bot.content.parts.get("exercises") if self.bot.content else None
        if library is None or self.bot.get_cog("Exercises") is None:
            return []
        typed = current.strip().lower()
        found = []
        for exercise_id in _exercise_ids(library) or []:
            title = getattr(library[exercise_id], "title", exercise_id)
            if typed in exercise_id or typed in title.lower():
                found.append(
                    app_commands.Choice(
                        name=clip(f"{title} ({exercise_id})", CHOICE_NAME_LIMIT), value=exercise_id
                    )
                )
        return found[:CHOICES_LIMIT]

    # ----- /prompts ---------------------------------------------------------------------------------------

    @prompts.command(name="add", description="Add your own prompt to a set (a new name makes a new set)")
    @app_commands.describe(set="Which set, like small-wins or a new name", text="The question to ask")
    async def prompts_add(
        self, interaction: discord.Interaction, set: SetNameText, text: app_commands.Range[str, 1, 300]
    ) -> None:
        assert interaction.guild_id is not None
        await defer_private(interaction)
        with keeping(text):
            await self.service.add_prompt(interaction.guild_id, set, text, self.bot.now())
        await interaction.followup.send(
            f"Added to **{clip(set.strip().lower(), 40)}**: {clip(text, 300)}", ephemeral=True
        )

    @prompts.command(name="list", description="List the prompts check-ins rotate through here")
    @app_commands.describe(set="Only this set")
    async def prompts_list(self, interaction: discord.Interaction, set: SetNameText | None = None) -> None:
        assert interaction.guild_id is not None
        listed = await self.service.list_prompts(interaction.guild_id, set)
        embed = discord.Embed(title="Check-in prompts", colour=HEARTH_COLOUR)
        if not listed:
            embed.description = "There's no set by that name. `/prompts list` shows every set."
        total = 0
        for name, prompts in list(listed.items())[:25]:
            built_in = self.service.prompts.sets.get(name)
            heading = f"{built_in.title} (`{name}`)" if built_in else f"`{name}` (this server's own)"
            lines = [
                f"• {clip(text, 150)}" + (" *(added here)*" if key.startswith("c:") else "")
                for key, text in prompts
            ] or ["(every prompt in this set is hidden)"]
            value = clip("\n".join(lines), 1024)
            if total + len(value) + len(heading) > 5500:
                break
            total += len(value) + len(heading)
            embed.add_field(name=clip(heading, 256), value=value, inline=False)
        embed.set_footer(text="A check-in uses every prompt in its set once before repeating any.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @prompts.command(name="remove", description="Remove a prompt you added, or hide a built-in one")
    @app_commands.describe(prompt="Start typing the prompt")
    async def prompts_remove(self, interaction: discord.Interaction, prompt: ShortText) -> None:
        assert interaction.guild_id is not None
        text = await self.service.remove_prompt(interaction.guild_id, prompt)
        await interaction.response.send_message(f"Removed: {clip(text, 300)}", ephemeral=True)

    @prompts_add.autocomplete("set")
    @prompts_list.autocomplete("set")
    async def _prompt_sets(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = await self.service.guild_set_names(interaction.guild_id or 0)
        typed = current.strip().lower()
        return [app_commands.Choice(name=n, value=n) for n in names if typed in n][:CHOICES_LIMIT]

    @prompts_remove.autocomplete("prompt")
    async def _prompt_keys(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        listed = await self.service.list_prompts(interaction.guild_id or 0)
        typed = current.strip().lower()
        found = []
        for name, prompts in listed.items():
            for key, text in prompts:
                label = f"{name}: {text}"
                if typed in label.lower():
                    found.append(app_commands.Choice(name=clip(label, CHOICE_NAME_LIMIT), value=key))
        return found[:CHOICES_LIMIT]


def _zone_choices(current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=z, value=z) for z in zone_choices(current, CHOICES_LIMIT)]


def _day_choices(current: str) -> list[app_commands.Choice[str]]:
    typed = current.strip().lower()
    options = list(DAY_SUGGESTIONS)
    if typed and typed not in options:
        options.insert(0, typed)
    return [
        app_commands.Choice(name=clip(o, CHOICE_NAME_LIMIT), value=o[:100]) for o in options if typed in o
    ][:CHOICES_LIMIT]


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(Checkins(bot))  # type: ignore[arg-type]
