"""When a recurring local time happens: occurrences computed with zoneinfo, DST gaps and repeats explained.

A schedule is a wall-clock time on some weekdays in an IANA zone. Each local date
gives at most one instant:

- a time inside a DST gap (the clocks jump over it) is shifted forward by the
  length of the gap, which is what `fold=0` means for a missing time, and the
  moderator is told about it when the schedule is made;
- a time inside a repeated hour (the clocks go back over it) fires once, at its
  first occurrence (`fold=0`).

APScheduler's cron trigger is not used for this: the rules live here, are
computed from the database's rows, and are tested without a scheduler.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from bot.errors import UserFacingError

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_ALIASES = {
    alias: number
    for number, aliases in enumerate(
        (
            ("mo", "mon", "monday", "mondays"),
            ("tu", "tue", "tues", "tuesday", "tuesdays"),
            ("we", "wed", "weds", "wednesday", "wednesdays"),
            ("th", "thu", "thur", "thurs", "thursday", "thursdays"),
            ("fr", "fri", "friday", "fridays"),
            ("sa", "sat", "saturday", "saturdays"),
            ("su", "sun", "sunday", "sundays"),
        )
    )
    for alias in aliases
}
_DAY_GROUPS = {
    "daily": range(7),
    "every day": range(7),
    "everyday": range(7),
    "all": range(7),
    "each day": range(7),
    "weekdays": range(5),
    "weekday": range(5),
    "workdays": range(5),
    "weekends": range(5, 7),
    "weekend": range(5, 7),
}
_TIME = re.compile(r"^\s*(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?\s*$", re.IGNORECASE)
# Days searched forward for the next occurrence: a week, plus a day either side for zones whose
# DST change crosses midnight.
_SEARCH_DAYS = 9


class LocalTimeKind(StrEnum):
    """What the wall clock did at a schedule's time on one date."""

    NORMAL = "normal"
    GAP = "gap"  # the time did not exist; it was shifted forward
    REPEATED = "repeated"  # the time happened twice; it fires at the first


@dataclass(frozen=True)
class ResolvedTime:
    """One local date's instant for a wall-clock time."""

    day: date
    wall: time
    instant: datetime  # UTC
    kind: LocalTimeKind
    shifted_to: time | None = None  # the wall time actually used, for a gap


@dataclass(frozen=True)
class Recurrence:
    """A wall-clock time on some weekdays in an IANA zone."""

    at: time
    weekdays: frozenset[int]
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("a recurrence needs at least one weekday between 0 and 6")

    def resolve(self, day: date) -> ResolvedTime:
        """Return this recurrence's instant on one local date (chosen weekday or not)."""
        return resolve_local(day, self.at, self.zone)

    def next_after(self, after: datetime) -> datetime:
        """Return the first occurrence strictly after `after` (UTC)."""
        start = after.astimezone(self.zone).date() - timedelta(days=1)
        for offset in range(_SEARCH_DAYS + 1):
            day = start + timedelta(days=offset)
            if day.weekday() in self.weekdays:
                instant = self.resolve(day).instant
                if instant > after:
                    return instant
        raise AssertionError("a weekly recurrence always has an occurrence within nine days")

    def upcoming(self, after: datetime, count: int) -> list[ResolvedTime]:
        """Return the next `count` occurrences after `after`, with what the clock did on each."""
        found: list[ResolvedTime] = []
        day = after.astimezone(self.zone).date() - timedelta(days=1)
        while len(found) < count:
            if day.weekday() in self.weekdays:
                resolved = self.resolve(day)
                if resolved.instant > after:
                    found.append(resolved)
            day += timedelta(days=1)
        return found

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Yield every occurrence with start <= instant <= end, in order."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date() + timedelta(days=1)
        while day <= last:
            if day.weekday() in self.weekdays:
                instant = self.resolve(day).instant
                if start <= instant <= end:
                    yield instant
            day += timedelta(days=1)

    def clock_notes(self, after: datetime, horizon_days: int = 366) -> list[ResolvedTime]:
        """Return the first gap and the first repeat among the occurrences in the coming year."""
        notes: dict[LocalTimeKind, ResolvedTime] = {}
        day = after.astimezone(self.zone).date()
        for offset in range(horizon_days):
            current = day + timedelta(days=offset)
            if current.weekday() not in self.weekdays:
                continue
            resolved = self.resolve(current)
            if resolved.kind is not LocalTimeKind.NORMAL and resolved.kind not in notes:
                notes[resolved.kind] = resolved
            if len(notes) == 2:
                break
        return sorted(notes.values(), key=lambda r: r.day)


def resolve_local(day: date, at: time, zone: ZoneInfo) -> ResolvedTime:
    """Turn a local date and wall time into one UTC instant, shifting gaps and taking a repeat's first."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    instant = first.astimezone(UTC)
    if first.utcoffset() == second.utcoffset():
        return ResolvedTime(day, at, instant, LocalTimeKind.NORMAL)
    back = instant.astimezone(zone)
    if back.replace(tzinfo=None) != naive:
        # fold=0 reads a missing time with the offset from before the jump, which lands
        # it after the gap by exactly the gap's length (02:30 -> 03:30 in New York).
        return ResolvedTime(day, at, instant, LocalTimeKind.GAP, shifted_to=back.time().replace(tzinfo=None))
    return ResolvedTime(day, at, instant, LocalTimeKind.REPEATED)


def describe_clock_note(note: ResolvedTime, zone_name: str) -> str:
    """Explain, in plain words, what happens to a schedule on a day the clocks change."""
    when = f"{WEEKDAY_NAMES[note.day.weekday()]} {note.day.day} {note.day:%B %Y}"
    wall = note.wall.strftime("%H:%M")
    if note.kind is LocalTimeKind.GAP and note.shifted_to is not None:
        return (
            f"On {when} the clocks in {zone_name} jump forward over {wall}, so that day the check-in "
            f"is posted at {note.shifted_to:%H:%M} instead (the same moment, read on the new clock)."
        )
    return (
        f"On {when} the clocks in {zone_name} go back and {wall} happens twice; the check-in is "
        "posted once, the first time."
    )


# ----- parsing what a moderator or member typed -------------------------------------------


def parse_time_of_day(text: str) -> time:
    """Read `19:30`, `7:30pm`, `7pm` or `19h30` as a wall-clock time."""
    match = _TIME.match(text or "")
    if not match:
        raise UserFacingError(
            f"I couldn't read `{clip_input(text)}` as a time. Try `19:30`, `7:30pm` or `7pm`."
        )
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").lower().replace(".", "")
    if suffix:
        if not 1 <= hour <= 12:
            raise UserFacingError(f"`{clip_input(text)}` isn't a time on a 12-hour clock. Try `7:30pm`.")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        raise UserFacingError(f"`{clip_input(text)}` isn't a time of day. Use 00:00 to 23:59.")
    return time(hour, minute)


def parse_weekdays(text: str | None) -> frozenset[int]:
    """Read `daily`, `weekdays`, `weekends`, `mon,wed,fri` or `mon-fri` as a set of weekdays (Monday is 0)."""
    cleaned = (text or "daily").strip().lower()
    if cleaned in _DAY_GROUPS:
        return frozenset(_DAY_GROUPS[cleaned])
    days: set[int] = set()
    for part in re.split(r"[\s,;/]+|\band\b", cleaned):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            start_text, _, end_text = part.partition("-")
            start, end = _DAY_ALIASES.get(start_text.strip()), _DAY_ALIASES.get(end_text.strip())
            if start is None or end is None:
                raise _bad_days(text)
            day = start
            days.add(day)
            while day != end:
                day = (day + 1) % 7
                days.add(day)
            continue
        if part in _DAY_GROUPS:
            days.update(_DAY_GROUPS[part])
        elif part in _DAY_ALIASES:
            days.add(_DAY_ALIASES[part])
        else:
            raise _bad_days(text)
    if not days:
        raise _bad_days(text)
    return frozenset(days)


def _bad_days(text: str | None) -> UserFacingError:
    return UserFacingError(
        f"I couldn't read `{clip_input(text or '')}` as days. Try `daily`, `weekdays`, `weekends`, "
        "`mon,wed,fri` or `mon-fri`."
    )


def format_weekdays(days: frozenset[int] | set[int]) -> str:
    """Say which weekdays, briefly: `every day`, `weekdays`, `Mon, Wed, Fri`."""
    chosen = frozenset(days)
    if chosen == frozenset(range(7)):
        return "every day"
    if chosen == frozenset(range(5)):
        return "weekdays"
    if chosen == frozenset({5, 6}):
        return "weekends"
    return ", ".join(WEEKDAY_NAMES[d][:3] for d in sorted(chosen))


def weekdays_to_text(days: frozenset[int]) -> str:
    """Store weekdays as digits, Monday = 0: `024`."""
    return "".join(str(d) for d in sorted(days))


def weekdays_from_text(text: str) -> frozenset[int]:
    """Read weekdays stored by `weekdays_to_text`."""
    return frozenset(int(c) for c in text)


@lru_cache(maxsize=1)
def all_zone_names() -> tuple[str, ...]:
    """Return every IANA zone name this system knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


@lru_cache(maxsize=1)
def _zones_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in all_zone_names()}


@lru_cache(maxsize=1)
def _zone_match_keys_to_name() -> dict[str, str]:
    keys: dict[str, str] = {}
    for name in all_zone_names():
        keys.setdefault(name.lower(), name)
        keys.setdefault(name.rsplit("/", 1)[-1].lower(), name)
    return keys


@lru_cache(maxsize=1)
def _zone_match_keys() -> tuple[str, ...]:
    return tuple(_zone_match_keys_to_name())


def suggest_zones(text: str, limit: int = 3) -> list[str]:
    """Return the zone names closest to what was typed (city names count: `berlin` finds Europe/Berlin)."""
    typed = (text or "").strip().replace(" ", "_")
    if not typed:
        return []
    names = all_zone_names()
    lowered = typed.lower()
    direct = [n for n in names if lowered in n.lower()]
    direct.sort(key=lambda n: (not n.lower().endswith("/" + lowered), len(n)))
    found = direct[:limit]
    if len(found) < limit:
        # Score against the whole name and against the city alone, so `Berln` and
        # `Amrica/New_Yrok` both find their zone without short names like `NZ` crowding in.
        scored = process.extract(
            lowered, _zone_match_keys(), scorer=fuzz.ratio, limit=limit * 4, score_cutoff=70
        )
        for key, _, _ in scored:
            name = _zone_match_keys_to_name()[key]
            if name not in found:
                found.append(name)
            if len(found) == limit:
                break
    return found


def resolve_zone(text: str) -> ZoneInfo:
    """Return the IANA zone a name stands for, or raise a kind error that suggests close names."""
    typed = (text or "").strip()
    exact = _zones_by_lower().get(typed.replace(" ", "_").lower())
    if exact is not None:
        return ZoneInfo(exact)
    suggestions = suggest_zones(typed)
    hint = (
        " Did you mean " + ", ".join(f"`{s}`" for s in suggestions) + "?"
        if suggestions
        else " Time zones look like `Europe/Berlin` or `America/New_York`; type a city to see choices."
    )
    raise UserFacingError(f"I don't know the time zone `{clip_input(typed)}`.{hint}")


def zone_choices(current: str, limit: int = 25) -> list[str]:
    """Return up to `limit` zone names for autocomplete, best matches first."""
    typed = (current or "").strip()
    if not typed:
        popular = (
            "UTC",
            "Europe/London",
            "Europe/Berlin",
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Los_Angeles",
            "Asia/Kolkata",
            "Asia/Tokyo",
            "Australia/Sydney",
        )
        return list(popular)[:limit]
    return suggest_zones(typed, limit)


def clip_input(text: str, limit: int = 40) -> str:
    """Trim typed text for quoting back in a message, and keep it from closing the code span."""
    cleaned = (text or "").replace("`", "'").replace("\n", " ")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
