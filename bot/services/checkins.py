"""Check-in rules: schedules, prompts, answers, tallies, mood history, gentle streaks, reminders, pauses.

Everything here takes `now` and plain values and returns dataclasses; nothing
here knows about Discord. Posting is done by `bot.services.checkin_runner`
through a poster the cog provides.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import CheckinSettings
from bot.content_areas.prompts import PromptLibrary
from bot.errors import UserFacingError
from bot.services.identity import ban_key_for
from bot.services.schedules import (
    Recurrence,
    ResolvedTime,
    clip_input,
    describe_clock_note,
    format_weekdays,
    parse_time_of_day,
    parse_weekdays,
    resolve_zone,
    weekdays_from_text,
    weekdays_to_text,
)
from bot.storage.checkins import (
    AnswerRow,
    CheckinStore,
    NewOccurrence,
    OccurrenceRow,
    PauseRow,
    ReminderRow,
    ScheduleRow,
    anonymous_author_key,
)
from bot.storage.db import Transaction

log = logging.getLogger(__name__)

# ----- moods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mood:
    score: int
    emoji: str
    word: str

    @property
    def label(self) -> str:
        """Return the mood as shown on its button: `4 · Good`."""
        return f"{self.score} · {self.word}"


MOODS: tuple[Mood, ...] = (
    Mood(1, "😞", "Rough"),
    Mood(2, "😕", "Low"),
    Mood(3, "😐", "Okay"),
    Mood(4, "🙂", "Good"),
    Mood(5, "😊", "Great"),
)
LOW_MOOD = 2  # a mood at or below this gets a private offer of breathing, grounding and /resources


class HourlyLimit:
    """Counts recent events per key, in memory only, and refuses past `limit` in `window`.

    Used for anonymous notes: a count kept in the database would be a time stamped next to a
    stable key, which is exactly what could link a member's anonymous notes.
    """

    def __init__(self, limit: int, window: timedelta = timedelta(hours=1)) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[Hashable, deque[datetime]] = {}

    def full_until(self, key: Hashable, now: datetime) -> datetime | None:
        """Return when `key` may go again if it has reached the limit, else None."""
        self._forget_before(now - self.window)
        recent = self._events.get(key)
        if recent is not None and len(recent) >= self.limit:
            return recent[0] + self.window
        return None

    def add(self, key: Hashable, now: datetime) -> None:
        """Count one event for `key`."""
        self._events.setdefault(key, deque()).append(now)

    def _forget_before(self, horizon: datetime) -> None:
        for key in list(self._events):
            recent = self._events[key]
            while recent and recent[0] <= horizon:
                recent.popleft()
            if not recent:
                del self._events[key]


def mood(score: int) -> Mood:
    """Return the mood for a score from 1 to 5."""
    if not 1 <= score <= 5:
        raise ValueError(f"a mood is 1 to 5, not {score}")
    return MOODS[score - 1]


# Public tallies never show who answered; a distribution needs at least this many moods, so
# that nobody's mood can be worked out from a small count, and it is shown only once the
# check-in has closed: two live updates a click apart would show that click's mood.
DISTRIBUTION_MINIMUM = 5
NOTE_LIMIT = 1000
MAX_SCHEDULES_PER_GUILD = 25
MAX_PROMPT_LENGTH = 300
MAX_CUSTOM_PROMPTS = 200
MAX_PAUSE_DAYS = 90
MAX_WINDOW_HOURS = 72
VISIBILITIES = ("private", "group", "anonymous")
FALLBACK_PROMPT = "How are you arriving today? A mood is plenty; words are welcome if you have them."


@dataclass(frozen=True)
class Tally:
    """What the public embed may show: counts, and a distribution only when it is safe."""

    total: int  # members who answered (a mood, a pass, or words kept privately or under their name)
    distribution: dict[int, int] | None
    anonymous_notes: int = 0  # counted apart: an anonymous note never touches its author's answer


def public_tally(
    total: int,
    moods: dict[int, int],
    show_distribution: bool,
    *,
    closed: bool,
    anonymous_notes: int = 0,
) -> Tally:
    """Return the counts, with the mood distribution only once closed, if enabled, from five moods."""
    given = sum(moods.values())
    if closed and show_distribution and given >= DISTRIBUTION_MINIMUM:
        return Tally(total, {score: moods.get(score, 0) for score in range(1, 6)}, anonymous_notes)
    return Tally(total, None, anonymous_notes)


# ----- prompt rotation ----------------------------------------------------------------------


@dataclass(frozen=True)
class PromptChoice:
    key: str | None
    text: str
    cycle: int


def candidate_prompts(
    library: PromptLibrary,
    custom: Iterable[tuple[int, str, str]],
    hidden: set[str],
    set_name: str | None,
) -> list[tuple[str, str]]:
    """Return the (key, text) prompts a schedule rotates through: built-in `b:<id>`, custom `c:<id>`."""
    found: list[tuple[str, str]] = []
    for prompt_set in library.sets.values():
        if set_name is None or prompt_set.id == set_name:
            found.extend((f"b:{p.id}", p.text) for p in prompt_set.prompts if f"b:{p.id}" not in hidden)
    found.extend((f"c:{pid}", text) for pid, name, text in custom if set_name is None or name == set_name)
    return found


def choose_prompt(
    candidates: Sequence[tuple[str, str]],
    used: set[str],
    last: str | None,
    schedule_id: int,
    cycle: int,
) -> PromptChoice:
    """Pick the next prompt: none repeats until all are used; a new cycle never opens with the last one.

    The order within a cycle is a shuffle seeded by the schedule and the cycle, so it is
    stable across restarts and differs between schedules.
    """
    if not candidates:
        return PromptChoice(None, FALLBACK_PROMPT, cycle)
    remaining = [c for c in candidates if c[0] not in used]
    if not remaining:
        cycle += 1
        remaining = [c for c in candidates if c[0] != last] or list(candidates)
    order = sorted(candidates)
    random.Random(f"{schedule_id}:{cycle}").shuffle(order)
    allowed = {c[0] for c in remaining}
    key, text = next(c for c in order if c[0] in allowed)
    return PromptChoice(key, text, cycle)


# ----- running schedules ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    """What to do with one due schedule at `now`."""

    fire: datetime | None  # the occurrence to post (possibly late), if any
    missed: tuple[datetime, ...]  # occurrences that are too late to post
    next_run_at: datetime


def plan_run(recurrence: Recurrence, next_run_at: datetime, now: datetime, grace: timedelta) -> RunPlan:
    """Decide what a schedule due at `next_run_at` does at `now`.

    Only the latest occurrence that has come can fire, and only within the grace window;
    every earlier one (and that one, if too late) is missed. Nothing fires twice because
    the claim in the database is unique per schedule and time.
    """
    due = list(recurrence.between(next_run_at, now))
    fire: datetime | None = None
    if due and now - due[-1] <= grace:
        fire = due.pop()
    return RunPlan(fire, tuple(due), recurrence.next_after(now))


@dataclass
class ClaimResult:
    claimed: list[OccurrenceRow] = field(default_factory=list)
    missed: list[tuple[ScheduleRow, datetime]] = field(default_factory=list)
    skipped_ids: list[int] = field(default_factory=list)  # the rows recording the latest missed ones


# ----- mood history and the gentle streak -------------------------------------------------------

BARS = "▁▂▃▄▅▆▇█"
NO_DATA = "·"


def sparkline(values: Sequence[float | None]) -> str:
    """Draw moods 1 to 5 as bars; a day without a mood is a dot."""
    chars = []
    for value in values:
        if value is None:
            chars.append(NO_DATA)
        else:
            chars.append(BARS[round((min(max(value, 1.0), 5.0) - 1) / 4 * (len(BARS) - 1))])
    return "".join(chars)


def daily_averages(moods: Iterable[tuple[datetime, int]], zone: ZoneInfo) -> dict[date, float]:
    """Average a member's moods per local day."""
    per_day: dict[date, list[int]] = defaultdict(list)
    for when, score in moods:
        per_day[when.astimezone(zone).date()].append(score)
    return {day: sum(s) / len(s) for day, s in per_day.items()}


@dataclass(frozen=True)
class WeekAverage:
    week_start: date
    average: float
    count: int


def weekly_averages(moods: Iterable[tuple[datetime, int]], zone: ZoneInfo) -> list[WeekAverage]:
    """Average moods per week (weeks start on Monday, in the member's zone), oldest first."""
    per_week: dict[date, list[int]] = defaultdict(list)
    for when, score in moods:
        day = when.astimezone(zone).date()
        per_week[day - timedelta(days=day.weekday())].append(score)
    return [WeekAverage(start, sum(s) / len(s), len(s)) for start, s in sorted(per_week.items())]


@dataclass(frozen=True)
class Streak:
    """A gentle streak: days checked in, where one missed day never ends it and paused days are frozen."""

    days: int
    paused_now: bool
    checked_in_today: bool


def gentle_streak(
    checkin_days: set[date],
    paused_days: set[date],
    today: date,
    *,
    paused_now: bool = False,
    horizon_days: int = 400,
) -> Streak:
    """Count the days in the current run of check-ins.

    A run continues over a single missed day (a missed day is not a failure), over any
    paused day (the streak is frozen), and over today (it is not over yet). Two missed
    days in a row end it; the next check-in starts a new run.
    """
    count = 0
    missed_in_row = 0
    for offset in range(horizon_days):
        day = today - timedelta(days=offset)
        if day in checkin_days:
            count += 1
            missed_in_row = 0
        elif day in paused_days or day == today:
            continue
        else:
            missed_in_row += 1
            if missed_in_row >= 2:
                break
    return Streak(count, paused_now, today in checkin_days)


def paused_dates(pauses: Iterable[PauseRow], zone: ZoneInfo, until: datetime) -> set[date]:
    """Return every local day touched by a pause (up to `until`)."""
    days: set[date] = set()
    for pause in pauses:
        start = pause.starts_at.astimezone(zone).date()
        end = min(pause.ends_at, until).astimezone(zone).date()
        day = start
        while day <= end:
            days.add(day)
            day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class MoodHistory:
    zone: str
    today: date
    last_30: str
    last_90: str
    weeks: list[WeekAverage]
    streak: Streak
    count_30: int
    count_90: int
    average_30: float | None
    paused_until: datetime | None


def build_history(
    moods: Sequence[tuple[datetime, int]],
    checkin_times: Sequence[datetime],
    pauses: Sequence[PauseRow],
    zone: ZoneInfo,
    zone_name: str,
    now: datetime,
) -> MoodHistory:
    """Turn a member's moods, check-ins and pauses into what /mood shows."""
    today = now.astimezone(zone).date()
    per_day = daily_averages(moods, zone)

    def line(days: int) -> str:
        return sparkline([per_day.get(today - timedelta(days=days - 1 - i)) for i in range(days)])

    start_30 = today - timedelta(days=29)
    start_90 = today - timedelta(days=89)
    in_30 = [(w, s) for w, s in moods if w.astimezone(zone).date() >= start_30]
    in_90 = [(w, s) for w, s in moods if w.astimezone(zone).date() >= start_90]
    current = [p for p in pauses if p.starts_at <= now < p.ends_at]
    streak = gentle_streak(
        {t.astimezone(zone).date() for t in checkin_times},
        paused_dates(pauses, zone, now),
        today,
        paused_now=bool(current),
    )
    return MoodHistory(
        zone=zone_name,
        today=today,
        last_30=line(30),
        last_90=line(90),
        weeks=[w for w in weekly_averages(in_90, zone) if w.week_start >= start_90 - timedelta(days=6)],
        streak=streak,
        count_30=len(in_30),
        count_90=len(in_90),
        average_30=(sum(s for _, s in in_30) / len(in_30)) if in_30 else None,
        paused_until=max((p.ends_at for p in current), default=None),
    )


# ----- results handed to the cog ---------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleSaved:
    schedule: ScheduleRow
    next_run_at: datetime | None
    clock_notes: list[str]


@dataclass(frozen=True)
class AnswerResult:
    answer: AnswerRow
    previous_mood: int | None
    was_new: bool


@dataclass(frozen=True)
class NoteSaved:
    """A note was stored; the cog posts it (group or anonymous) and records the message."""

    occurrence: OccurrenceRow
    user_id: int
    visibility: str
    text: str
    previous_visibility: str | None  # where the member's earlier note for this check-in was
    previous_message_id: int | None
    anonymous_note_id: int | None  # the stored anonymous note (anonymous visibility only)


def recurrence_of(schedule: ScheduleRow | ReminderRow) -> Recurrence:
    """Return the recurrence a schedule or a reminder stores."""
    return Recurrence(schedule.local_time, weekdays_from_text(schedule.weekdays), ZoneInfo(schedule.timezone))


def describe_schedule_time(schedule: ScheduleRow) -> str:
    """Say when a schedule runs: `19:30 on weekdays (Europe/Berlin)`."""
    days = format_weekdays(weekdays_from_text(schedule.weekdays))
    return f"{schedule.local_time:%H:%M} {'' if days == 'every day' else 'on '}{days} ({schedule.timezone})"


class CheckinService:
    """The check-in use cases, on top of the store; every method takes `now` where time matters."""

    def __init__(
        self,
        store: CheckinStore,
        settings: CheckinSettings,
        prompts: PromptLibrary,
        exercise_ids: Iterable[str] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.prompts = prompts
        self._exercise_ids = exercise_ids

    @property
    def grace(self) -> timedelta:
        """Return how late a missed check-in may still be posted."""
        return timedelta(minutes=self.settings.grace_minutes)

    def set_exercise_ids(self, ids: Iterable[str] | None) -> None:
        """Tell the service which exercises a group-exercise schedule may name (None: not available)."""
        self._exercise_ids = ids

    # ----- schedules --------------------------------------------------------------------

    def prompt_set_names(self, custom_sets: Iterable[str] = ()) -> list[str]:
        """Return the built-in set ids and any custom set names."""
        return list(dict.fromkeys([*self.prompts.sets, *custom_sets]))

    async def guild_set_names(self, guild_id: int) -> list[str]:
        """Return the prompt sets a server can choose from."""
        custom = await self.store.custom_prompts(guild_id)
        return self.prompt_set_names(name for _, name, _ in custom)

    async def _check_prompt_set(self, guild_id: int, prompt_set: str | None) -> str | None:
        if prompt_set is None or prompt_set.strip().lower() in ("", "all", "every", "any"):
            return None
        name = prompt_set.strip().lower()
        names = await self.guild_set_names(guild_id)
        if name not in names:
            raise UserFacingError(
                f"There is no prompt set called `{clip_input(name)}`. Choose one of: "
                + ", ".join(f"`{n}`" for n in names)
                + " (or leave it empty to use them all)."
            )
        return name

    def _check_exercise(self, exercise_id: str | None) -> str | None:
        if exercise_id is None or not exercise_id.strip():
            return None
        chosen = exercise_id.strip().lower()
        if self._exercise_ids is None:
            raise UserFacingError("Group exercises aren't available on this Hearth yet.")
        known = list(self._exercise_ids)
        if chosen not in known:
            raise UserFacingError(
                f"I don't know the exercise `{clip_input(chosen)}`. Choose one of: "
                + ", ".join(f"`{e}`" for e in known[:20])
            )
        return chosen

    def _window(self, window_hours: float | None) -> int:
        hours = self.settings.default_window_hours if window_hours is None else window_hours
        if not 0 < hours <= MAX_WINDOW_HOURS:
            raise UserFacingError(
                f"A check-in can stay open from a few minutes up to {MAX_WINDOW_HOURS} hours."
            )
        minutes = round(hours * 60)
        if minutes < 5:
            raise UserFacingError("A check-in needs to stay open for at least 5 minutes.")
        return minutes

    async def create_schedule(
        self,
        guild_id: int,
        channel_id: int,
        *,
        time_text: str,
        days_text: str | None,
        zone_text: str,
        now: datetime,
        name: str | None = None,
        prompt_set: str | None = None,
        window_hours: float | None = None,
        show_distribution: bool = False,
        exercise_id: str | None = None,
    ) -> ScheduleSaved:
        """Check a new schedule's fields and store it, with its next run and any clock-change notes."""
        zone = resolve_zone(zone_text)
        at = parse_time_of_day(time_text)
        days = parse_weekdays(days_text)
        if await self.store.count_guild_schedules(guild_id) >= MAX_SCHEDULES_PER_GUILD:
            raise UserFacingError(
                f"This server already has {MAX_SCHEDULES_PER_GUILD} schedules. Remove one with "
                "`/schedule remove` first."
            )
        exercise = self._check_exercise(exercise_id)
        chosen_set = await self._check_prompt_set(guild_id, prompt_set)
        recurrence = Recurrence(at, days, zone)
        title = (name or "").strip()[:80] or ("Group exercise" if exercise else "Check-in")
        schedule = await self.store.create_schedule(
            guild_id,
            now,
            channel_id=channel_id,
            name=title,
            kind="exercise" if exercise else "checkin",
            exercise_id=exercise,
            local_time=at,
            weekdays=weekdays_to_text(days),
            timezone=zone.key,
            prompt_set=chosen_set,
            window_minutes=self._window(window_hours),
            show_distribution=show_distribution,
            next_run_at=recurrence.next_after(now),
        )
        return self._saved(schedule, now)

    def _saved(self, schedule: ScheduleRow, now: datetime) -> ScheduleSaved:
        recurrence = recurrence_of(schedule)
        notes = [describe_clock_note(n, schedule.timezone) for n in recurrence.clock_notes(now)]
        return ScheduleSaved(schedule, schedule.next_run_at, notes)

    async def get_schedule(self, guild_id: int, schedule_id: int) -> ScheduleRow:
        """Return a server's schedule, or a kind error if there is none with that number."""
        schedule = await self.store.get_schedule(schedule_id, guild_id)
        if schedule is None:
            raise UserFacingError(
                f"There is no schedule #{schedule_id} on this server. `/schedule list` shows them all."
            )
        return schedule

    async def edit_schedule(
        self,
        guild_id: int,
        schedule_id: int,
        now: datetime,
        *,
        channel_id: int | None = None,
        time_text: str | None = None,
        days_text: str | None = None,
        zone_text: str | None = None,
        name: str | None = None,
        prompt_set: str | None = None,
        window_hours: float | None = None,
        show_distribution: bool | None = None,
    ) -> ScheduleSaved:
        """Change some fields of a schedule; its next run is computed again from now."""
        schedule = await self.get_schedule(guild_id, schedule_id)
        changes: dict[str, object] = {}
        if channel_id is not None:
            changes["channel_id"] = channel_id
        if time_text is not None:
            changes["local_time"] = parse_time_of_day(time_text)
        if days_text is not None:
            changes["weekdays"] = weekdays_to_text(parse_weekdays(days_text))
        if zone_text is not None:
            changes["timezone"] = resolve_zone(zone_text).key
        if name is not None and name.strip():
            changes["name"] = name.strip()[:80]
        if prompt_set is not None:
            changes["prompt_set"] = await self._check_prompt_set(guild_id, prompt_set)
            changes["prompt_cycle"] = schedule.prompt_cycle + 1
        if window_hours is not None:
            changes["window_minutes"] = self._window(window_hours)
        if show_distribution is not None:
            changes["show_distribution"] = show_distribution
        if not changes:
            raise UserFacingError(
                "Tell me what to change: a channel, time, days, time zone, name or prompts."
            )
        await self.store.update_schedule(schedule.id, now, **changes)
        updated = await self.store.get_schedule(schedule.id)
        assert updated is not None
        if not updated.paused:
            await self.store.update_schedule(
                schedule.id, now, next_run_at=recurrence_of(updated).next_after(now), last_error=None
            )
            updated = await self.store.get_schedule(schedule.id)
            assert updated is not None
        return self._saved(updated, now)

    async def set_paused(self, guild_id: int, schedule_id: int, paused: bool, now: datetime) -> ScheduleRow:
        """Pause a schedule, or resume it from now on (check-ins missed while paused are not posted)."""
        schedule = await self.get_schedule(guild_id, schedule_id)
        next_run = None if paused else recurrence_of(schedule).next_after(now)
        await self.store.update_schedule(
            schedule.id, now, paused=paused, next_run_at=next_run, last_error=None
        )
        updated = await self.store.get_schedule(schedule.id)
        assert updated is not None
        return updated

    async def remove_schedule(self, guild_id: int, schedule_id: int) -> ScheduleRow:
        """Delete a schedule; check-ins it already posted stay open until their window ends."""
        schedule = await self.get_schedule(guild_id, schedule_id)
        await self.store.delete_schedule(schedule.id)
        return schedule

    async def preview(
        self, guild_id: int, schedule_id: int, now: datetime, count: int = 5
    ) -> list[ResolvedTime]:
        """Return the next occurrences of a schedule, with what the clock does on each."""
        schedule = await self.get_schedule(guild_id, schedule_id)
        return recurrence_of(schedule).upcoming(now, count)

    # ----- prompts --------------------------------------------------------------------------

    async def add_prompt(self, guild_id: int, set_name: str, text: str, now: datetime) -> int:
        """Add a server's own prompt to a set (a new name makes a new set)."""
        name = set_name.strip().lower().replace(" ", "-")
        cleaned = " ".join(text.split())
        if not name or len(name) > 40 or not all(c.isalnum() or c == "-" for c in name):
            raise UserFacingError(
                "A set name is a short word or two, like `evening` or `small-wins`.", keep_text=text
            )
        if len(cleaned) < 5:
            raise UserFacingError("That prompt is a little short. Ask a whole question.", keep_text=text)
        if len(cleaned) > MAX_PROMPT_LENGTH:
            raise UserFacingError(f"Keep a prompt under {MAX_PROMPT_LENGTH} characters.", keep_text=text)
        if len(await self.store.custom_prompts(guild_id)) >= MAX_CUSTOM_PROMPTS:
            raise UserFacingError(
                "This server has a great many prompts already; remove some first.", keep_text=text
            )
        return await self.store.add_prompt(guild_id, name, cleaned, now)

    async def list_prompts(
        self, guild_id: int, set_name: str | None = None
    ) -> dict[str, list[tuple[str, str]]]:
        """Return the prompts a server uses, by set, as (key, text); hidden built-in ones are left out."""
        custom = await self.store.custom_prompts(guild_id)
        hidden = await self.store.hidden_prompts(guild_id)
        names = self.prompt_set_names(name for _, name, _ in custom)
        chosen = [set_name.strip().lower()] if set_name else names
        return {
            name: candidate_prompts(self.prompts, custom, hidden, name) for name in chosen if name in names
        }

    async def remove_prompt(self, guild_id: int, key: str) -> str:
        """Remove a custom prompt (`c:<id>`) or hide a built-in one (`b:<id>`); return its text."""
        kind, _, ident = key.strip().partition(":")
        if kind == "c" and ident.isdigit():
            custom = {str(pid): text for pid, _, text in await self.store.custom_prompts(guild_id)}
            if ident in custom and await self.store.remove_prompt(guild_id, int(ident)):
                return custom[ident]
        elif kind == "b":
            prompt = self.prompts.prompt(ident)
            if prompt is not None:
                await self.store.hide_prompt(guild_id, key.strip())
                return prompt.text
        raise UserFacingError("I couldn't find that prompt. Pick one from the list as you type.")

    # ----- claiming occurrences -----------------------------------------------------------

    async def _choose(
        self, tx: Transaction, schedule: ScheduleRow, cache: dict[int, tuple[list, set[str]]]
    ) -> PromptChoice:
        if schedule.guild_id not in cache:
            cache[schedule.guild_id] = (
                await self.store.custom_prompts(schedule.guild_id, tx),
                await self.store.hidden_prompts(schedule.guild_id, tx),
            )
        custom, hidden = cache[schedule.guild_id]
        candidates = candidate_prompts(self.prompts, custom, hidden, schedule.prompt_set)
        used, last = await self.store.rotation_state(schedule.id, schedule.prompt_cycle, tx)
        return choose_prompt(candidates, used, last, schedule.id, schedule.prompt_cycle)

    def _new_occurrence(
        self,
        schedule: ScheduleRow,
        scheduled_for: datetime,
        now: datetime,
        kind: str,
        choice: PromptChoice | None,
        state: str = "claimed",
        detail: str | None = None,
    ) -> NewOccurrence:
        window = timedelta(minutes=schedule.window_minutes)
        is_exercise = kind == "exercise"
        return NewOccurrence(
            schedule_id=schedule.id,
            guild_id=schedule.guild_id,
            channel_id=schedule.channel_id,
            kind=kind,
            exercise_id=schedule.exercise_id,
            title=schedule.name,
            scheduled_for=scheduled_for,
            prompt_key=choice.key if choice else None,
            prompt_text=choice.text if choice else None,
            prompt_cycle=choice.cycle if choice else None,
            show_distribution=schedule.show_distribution,
            claimed_at=now,
            closes_at=now if is_exercise else now + window,
            remind_at=None if is_exercise else now + window * self.settings.reminder_at_fraction,
            state=state,
            detail=detail,
        )

    async def claim_due_batches(
        self, now: datetime, batch_size: int = 100, first_batch: int = 16
    ) -> AsyncIterator[ClaimResult]:
        """Claim what is due, `batch_size` schedules per transaction, yielding each batch's claims.

        The first batch is small, so the first posts go out while the rest are still claimed.
        Within a batch, each claim, its prompt and the schedule's next run are written in one
        transaction, so a crash leaves a schedule either claimed and moved on, or untouched.
        """
        due_ids = await self.store.due_schedule_ids(now)
        cache: dict[int, tuple[list, set[str]]] = {}
        bounds = [0, *range(min(first_batch, len(due_ids)), len(due_ids), batch_size), len(due_ids)]
        for start, end in itertools.pairwise(dict.fromkeys(bounds)):
            result = ClaimResult()
            async with self.store.db.transaction() as tx:
                for schedule in await self.store.due_schedules(now, tx, due_ids[start:end]):
                    await self._claim_schedule(tx, schedule, now, cache, result)
            for schedule, missed_at in result.missed:
                log.warning(
                    "skipped check-in of schedule %s due at %s: it is %s minutes late, past the "
                    "%s-minute grace",
                    schedule.id,
                    missed_at.isoformat(),
                    _minutes(now - missed_at),
                    self.settings.grace_minutes,
                )
            yield result

    async def _claim_schedule(
        self,
        tx: Transaction,
        schedule: ScheduleRow,
        now: datetime,
        cache: dict[int, tuple[list, set[str]]],
        result: ClaimResult,
    ) -> None:
        assert schedule.next_run_at is not None
        plan = plan_run(recurrence_of(schedule), schedule.next_run_at, now, self.grace)
        if plan.missed:
            last_missed = plan.missed[-1]
            skipped = await self.store.claim(
                self._new_occurrence(
                    schedule,
                    last_missed,
                    now,
                    schedule.kind,
                    None,
                    state="skipped",
                    detail=f"missed by {_minutes(now - last_missed)} minutes",
                ),
                tx,
            )
            if skipped is not None:
                result.skipped_ids.append(skipped.id)
            result.missed.extend((schedule, m) for m in plan.missed)
        changes: dict[str, object] = {"next_run_at": plan.next_run_at}
        if plan.fire is not None:
            choice = None
            if schedule.kind == "checkin":
                choice = await self._choose(tx, schedule, cache)
                if choice.cycle != schedule.prompt_cycle:
                    changes["prompt_cycle"] = choice.cycle
            claimed = await self.store.claim(
                self._new_occurrence(schedule, plan.fire, now, schedule.kind, choice), tx
            )
            if claimed is not None:
                result.claimed.append(claimed)
        await self.store.update_schedule(schedule.id, now, tx, **changes)

    async def claim_test(self, schedule: ScheduleRow, now: datetime) -> OccurrenceRow:
        """Claim a one-off check-in of a schedule, posted now; the schedule's own times are untouched."""
        async with self.store.db.transaction() as tx:
            choice = await self._choose(tx, schedule, {}) if schedule.kind == "checkin" else None
            if choice is not None and choice.cycle != schedule.prompt_cycle:
                await self.store.update_schedule(schedule.id, now, tx, prompt_cycle=choice.cycle)
            kind = "exercise" if schedule.kind == "exercise" else "test"
            claimed = await self.store.claim(self._new_occurrence(schedule, now, now, kind, choice), tx)
        if claimed is None:
            raise UserFacingError("That schedule is being posted right now; try again in a moment.")
        return claimed

    async def ensure_next_runs(self, now: datetime) -> int:
        """Give every active schedule without a next run one (e.g. rows written by hand or an old version)."""
        missing = await self.store.schedules_without_next_run()
        for schedule in missing:
            await self.store.update_schedule(
                schedule.id, now, next_run_at=recurrence_of(schedule).next_after(now)
            )
        return len(missing)

    # ----- answers --------------------------------------------------------------------------

    async def open_occurrence(self, occurrence_id: int, now: datetime) -> OccurrenceRow:
        """Return a check-in that can still be answered, or say kindly why not."""
        occurrence = await self.store.get_occurrence(occurrence_id)
        if occurrence is None or occurrence.kind == "exercise":
            raise UserFacingError("I can't find this check-in any more. You can always use `/checkin`.")
        if occurrence.closed or now >= occurrence.closes_at:
            raise CheckinClosedError(occurrence)
        return occurrence

    async def record_mood(self, occurrence_id: int, user_id: int, score: int, now: datetime) -> AnswerResult:
        """Record (or change) a member's mood for a check-in: one answer per member."""
        mood(score)
        occurrence = await self.open_occurrence(occurrence_id, now)
        before = await self.store.get_answer(occurrence.id, user_id)
        answer = await self.store.upsert_answer(
            occurrence.id, occurrence.guild_id, user_id, now, mood=score, passed=False
        )
        return AnswerResult(answer, before.mood if before else None, before is None)

    async def record_pass(self, occurrence_id: int, user_id: int, now: datetime) -> AnswerResult:
        """Record that a member passed on a check-in (it counts as being here, without a mood)."""
        occurrence = await self.open_occurrence(occurrence_id, now)
        before = await self.store.get_answer(occurrence.id, user_id)
        answer = await self.store.upsert_answer(
            occurrence.id, occurrence.guild_id, user_id, now, mood=None, passed=True
        )
        return AnswerResult(answer, before.mood if before else None, before is None)

    async def save_note(
        self, occurrence_id: int, user_id: int, text: str, visibility: str, now: datetime, ban_key: str
    ) -> NoteSaved:
        """Store a member's note at the visibility they chose, replacing any earlier one.

        Private and group notes are sealed in the member's own answer. An anonymous note is
        sealed under a key made for this member and this check-in only, so no row ties it to a
        user id or to their other notes; it never touches their answer. Words already shared
        under their name on this check-in cannot move to anonymous: everyone saw whose they were.
        """
        if visibility not in VISIBILITIES:
            raise ValueError(f"unknown visibility {visibility!r}")
        cleaned = text.strip()
        if not cleaned:
            raise UserFacingError("The note was empty, so I didn't save anything.")
        if len(cleaned) > NOTE_LIMIT:
            raise UserFacingError(f"Please keep a note under {NOTE_LIMIT} characters.", keep_text=text)
        try:
            occurrence = await self.open_occurrence(occurrence_id, now)
        except CheckinClosedError as exc:
            raise UserFacingError(exc.message, keep_text=text) from exc
        before = await self.store.get_answer(occurrence.id, user_id)
        anonymous_before = await self.store.get_anonymous_note(occurrence.guild_id, occurrence.id, ban_key)
        previous_visibility = before.note_visibility if before and before.note else None
        previous_message = before.note_message_id if before else None
        if anonymous_before is not None:
            previous_visibility, previous_message = "anonymous", anonymous_before.message_id
        if visibility == "anonymous" and previous_visibility == "group":
            raise UserFacingError(
                "You've already shared words under your name on this check-in, so new words here "
                "would not stay anonymous: people saw whose they were. You can change your named "
                "words, keep these just for you, or share anonymously on the next check-in.",
                keep_text=text,
            )
        keep_message = previous_message if previous_visibility == visibility == "group" else None
        await self.store.store_note(
            occurrence.id, occurrence.guild_id, user_id, ban_key, cleaned, visibility, now,
            keep_message_id=keep_message,
        )
        note_id: int | None = None
        if visibility == "anonymous":
            stored = await self.store.get_anonymous_note(occurrence.guild_id, occurrence.id, ban_key)
            assert stored is not None
            note_id = stored.id
        return NoteSaved(
            occurrence, user_id, visibility, cleaned, previous_visibility, previous_message, note_id
        )

    async def tally(self, occurrence: OccurrenceRow, *, closed: bool = False) -> Tally:
        """Return what the public embed of a check-in may show (the distribution only when `closed`)."""
        total, moods = await self.store.answer_counts(occurrence.id)
        notes = await self.store.anonymous_note_count(occurrence.id)
        return public_tally(
            total, moods, occurrence.show_distribution, closed=closed, anonymous_notes=notes
        )

    async def personal_checkin(
        self, user_id: int, guild_id: int | None, score: int, note: str | None, now: datetime
    ) -> AnswerRow:
        """Record a personal check-in (/checkin or a reminder's buttons); its note stays private."""
        mood(score)
        cleaned = (note or "").strip() or None
        if cleaned and len(cleaned) > NOTE_LIMIT:
            raise UserFacingError(f"Please keep a note under {NOTE_LIMIT} characters.", keep_text=note)
        return await self.store.add_personal_answer(user_id, guild_id, score, cleaned, now)

    # ----- members: history, reminders, pauses ------------------------------------------------

    async def member_zone(self, user_id: int) -> tuple[ZoneInfo, str]:
        """Return the zone a member's days are counted in (their reminder zone, else UTC)."""
        member = await self.store.get_member(user_id)
        name = member.timezone if member and member.timezone else "UTC"
        try:
            return ZoneInfo(name), name
        except (KeyError, ValueError):
            return ZoneInfo("UTC"), "UTC"

    async def history(self, user_id: int, now: datetime, zone_text: str | None = None) -> MoodHistory:
        """Return a member's mood history for /mood: 30 and 90 days, weekly averages and the streak."""
        if zone_text:
            zone = resolve_zone(zone_text)
            zone_name = zone.key
            await self.store.set_member_timezone(user_id, zone_name, now)
        else:
            zone, zone_name = await self.member_zone(user_id)
        since = now - timedelta(days=400)
        moods = await self.store.user_moods(user_id, now - timedelta(days=92))
        times = await self.store.user_checkin_times(user_id, since)
        pauses = await self.store.pauses(user_id, since)
        return build_history(moods, times, pauses, zone, zone_name, now)

    async def reminders_on(
        self,
        user_id: int,
        guild_id: int | None,
        time_text: str,
        zone_text: str,
        days_text: str | None,
        now: datetime,
    ) -> ReminderRow:
        """Turn on a member's DM reminders (and nudges for this server's group check-ins)."""
        zone = resolve_zone(zone_text)
        at = parse_time_of_day(time_text)
        days = parse_weekdays(days_text)
        recurrence = Recurrence(at, days, zone)
        await self.store.upsert_reminder(
            user_id,
            guild_id or 0,
            now,
            local_time=at,
            weekdays=weekdays_to_text(days),
            timezone=zone.key,
            next_run_at=recurrence.next_after(now),
        )
        await self.store.set_member_timezone(user_id, zone.key, now)
        reminder = await self.store.get_reminder(user_id, guild_id or 0)
        assert reminder is not None
        return reminder

    async def reminders_off(self, user_id: int, guild_id: int | None, now: datetime) -> bool:
        """Turn a member's reminders off for this server (or DMs); say whether they were on."""
        return bool(await self.store.disable_reminders(user_id, now, guild_id or 0))

    async def reminder_recipients(self, occurrence: OccurrenceRow, now: datetime) -> list[ReminderRow]:
        """Return who gets a check-in's one reminder: opted in, not paused, and not yet there.

        Being there includes an anonymous note. Nothing links a member to one; each candidate's
        key for this check-in is worked out here and looked for among the notes' keys.
        """
        candidates = await self.store.reminder_recipients(occurrence.id, occurrence.guild_id, now)
        authors = await self.store.anonymous_author_keys(occurrence.id)
        if not authors:
            return candidates
        keyring = self.store.keyring
        guild_id = occurrence.guild_id

        def wrote_anonymously(user_id: int) -> bool:
            ban_key = ban_key_for(keyring, guild_id, user_id)
            return anonymous_author_key(keyring, guild_id, occurrence.id, ban_key) in authors

        return [r for r in candidates if not wrote_anonymously(r.user_id)]

    async def checkin_channel_of(self, guild_id: int) -> int | None:
        """Return the channel of a server's group check-ins, from its schedules (running ones first)."""
        schedules = [s for s in await self.store.guild_schedules(guild_id) if s.kind == "checkin"]
        schedules.sort(key=lambda s: (s.paused, s.id))
        return schedules[0].channel_id if schedules else None

    async def dm_closed(self, user_id: int, channel_id: int | None, now: datetime) -> None:
        """A reminder could not be delivered (DMs closed): turn reminders off and leave one notice."""
        await self.store.disable_reminders(user_id, now)
        await self.store.set_dm_closed_notice(user_id, channel_id, now)

    async def pause(self, user_id: int, days: int, now: datetime) -> datetime | None:
        """Pause reminders and freeze the streak for some days (0 ends a pause); return when it ends."""
        if not 0 <= days <= MAX_PAUSE_DAYS:
            raise UserFacingError(f"You can pause for 1 to {MAX_PAUSE_DAYS} days (0 ends a pause).")
        ends = now + timedelta(days=days)
        await self.store.add_pause(user_id, now, ends)
        return ends if days else None

    async def is_paused(self, user_id: int, now: datetime) -> bool:
        """Say whether a member is paused right now."""
        return any(p.starts_at <= now < p.ends_at for p in await self.store.pauses(user_id, now))

    async def checked_in_since(self, user_id: int, since: datetime) -> bool:
        """Say whether a member checked in (in any way) since a moment."""
        return bool(await self.store.user_checkin_times(user_id, since))


class CheckinClosedError(UserFacingError):
    """A click on a check-in whose window has ended."""

    def __init__(self, occurrence: OccurrenceRow) -> None:
        stamp = int(occurrence.closes_at.timestamp())
        super().__init__(
            f"This check-in closed <t:{stamp}:R>, so it can't take answers any more. "
            "You can check in any time with `/checkin`, just for you."
        )
        self.occurrence = occurrence


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def start_of_local_day(now: datetime, zone: ZoneInfo) -> datetime:
    """Return the UTC instant the member's local day began."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    return midnight.astimezone(UTC)
