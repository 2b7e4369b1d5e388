"""Occurrence math: DST gaps are shifted (and explained), repeated hours fire once, in three zones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import UserFacingError
from bot.services.schedules import (
    LocalTimeKind,
    Recurrence,
    describe_clock_note,
    format_weekdays,
    parse_time_of_day,
    parse_weekdays,
    resolve_local,
    resolve_zone,
    suggest_zones,
    zone_choices,
)

EVERY_DAY = frozenset(range(7))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def daily(at: time, zone: str) -> Recurrence:
    return Recurrence(at, EVERY_DAY, ZoneInfo(zone))


@dataclass(frozen=True)
class DstCase:
    """One zone's two clock changes in 2026."""

    zone: str
    spring: date  # the day the clocks go forward
    gap_time: time  # a wall time skipped that day
    shifted: time  # the wall time it is shifted to
    gap_instant: datetime  # the UTC instant of the shifted time
    fall: date  # the day the clocks go back
    repeat_time: time  # a wall time that happens twice that day
    first: datetime  # the UTC instant of its first occurrence
    second: datetime  # the UTC instant of its second occurrence

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


CASES = [
    pytest.param(
        DstCase("America/New_York",
                spring=date(2026, 3, 8), gap_time=time(2, 30), shifted=time(3, 30),
                gap_instant=utc(2026, 3, 8, 7, 30),
                fall=date(2026, 11, 1), repeat_time=time(1, 30),
                first=utc(2026, 11, 1, 5, 30), second=utc(2026, 11, 1, 6, 30)),
        id="new-york",
    ),
    pytest.param(
        DstCase("Europe/Berlin",
                spring=date(2026, 3, 29), gap_time=time(2, 30), shifted=time(3, 30),
                gap_instant=utc(2026, 3, 29, 1, 30),
                fall=date(2026, 10, 25), repeat_time=time(2, 30),
                first=utc(2026, 10, 25, 0, 30), second=utc(2026, 10, 25, 1, 30)),
        id="berlin",
    ),
    pytest.param(
        # Lord Howe Island moves its clocks by 30 minutes: 02:00 -> 02:30 in October,
        # and 02:00 -> 01:30 in April.
        DstCase("Australia/Lord_Howe",
                spring=date(2026, 10, 4), gap_time=time(2, 15), shifted=time(2, 45),
                gap_instant=utc(2026, 10, 3, 15, 45),
                fall=date(2026, 4, 5), repeat_time=time(1, 45),
                first=utc(2026, 4, 4, 14, 45), second=utc(2026, 4, 4, 15, 15)),
        id="lord-howe",
    ),
]


@pytest.mark.parametrize("case", CASES)
class TestDaylightSaving:
    def test_a_time_in_the_gap_is_shifted_forward_by_the_gap(self, case: DstCase) -> None:
        resolved = resolve_local(case.spring, case.gap_time, case.tz)
        assert resolved.kind is LocalTimeKind.GAP
        assert resolved.shifted_to == case.shifted
        assert resolved.instant == case.gap_instant
        assert resolved.instant.astimezone(case.tz).time() == case.shifted

    def test_spring_forward_day_fires_once_at_the_shifted_time(self, case: DstCase) -> None:
        recurrence = daily(case.gap_time, case.zone)
        start = datetime.combine(case.spring - timedelta(days=1), time(12), tzinfo=case.tz)
        end = datetime.combine(case.spring + timedelta(days=1), time(12), tzinfo=case.tz)
        fired = list(recurrence.between(start.astimezone(UTC), end.astimezone(UTC)))
        assert fired.count(case.gap_instant) == 1
        assert len(fired) == 2  # the gap day and the day after: one each
        assert recurrence.next_after(start.astimezone(UTC)) == case.gap_instant

    def test_a_repeated_time_fires_once_at_its_first_occurrence(self, case: DstCase) -> None:
        resolved = resolve_local(case.fall, case.repeat_time, case.tz)
        assert resolved.kind is LocalTimeKind.REPEATED
        assert resolved.instant == case.first
        recurrence = daily(case.repeat_time, case.zone)
        start = case.first - timedelta(hours=12)
        fired = list(recurrence.between(start, case.first + timedelta(hours=20)))
        assert fired == [case.first]
        # Asked just after the first 01:30, the next run is the following day, not the second 01:30.
        following = recurrence.next_after(case.first)
        assert following != case.second
        assert following.astimezone(case.tz).date() == case.fall + timedelta(days=1)
        assert following.astimezone(case.tz).time() == case.repeat_time

    def test_a_year_of_daily_times_gives_exactly_one_instant_per_day(self, case: DstCase) -> None:
        for at in (case.gap_time, case.repeat_time, time(0, 0), time(12, 0), time(23, 45)):
            recurrence = daily(at, case.zone)
            start = utc(2026, 1, 1)
            fired = list(recurrence.between(start, start + timedelta(days=365)))
            local_days = [f.astimezone(case.tz).date() for f in fired]
            assert len(set(local_days)) == len(local_days), f"{at} fired twice on a day"
            assert fired == sorted(fired)
            assert len(fired) in (365, 366)

    def test_the_moderator_is_told_about_both_changes(self, case: DstCase) -> None:
        # (In Berlin 02:30 is both skipped in March and repeated in October.)
        gap_notes = {n.kind: n for n in daily(case.gap_time, case.zone).clock_notes(utc(2026, 1, 1))}
        text = describe_clock_note(gap_notes[LocalTimeKind.GAP], case.zone)
        assert f"{case.shifted:%H:%M} instead" in text and f" {case.spring.day} {case.spring:%B}" in text
        repeat_notes = {n.kind: n for n in daily(case.repeat_time, case.zone).clock_notes(utc(2026, 1, 1))}
        text = describe_clock_note(repeat_notes[LocalTimeKind.REPEATED], case.zone)
        assert "posted once" in text and f" {case.fall.day} {case.fall:%B}" in text


def test_an_ordinary_time_has_no_clock_notes() -> None:
    assert daily(time(19, 0), "Europe/Berlin").clock_notes(utc(2026, 1, 1)) == []


def test_weekdays_are_respected_and_upcoming_lists_five() -> None:
    recurrence = Recurrence(time(18, 0), frozenset({0, 2, 4}), ZoneInfo("Europe/Berlin"))
    upcoming = recurrence.upcoming(utc(2026, 6, 1, 20), 5)  # Monday 1 June 2026, after 18:00 local
    local = [u.instant.astimezone(ZoneInfo("Europe/Berlin")) for u in upcoming]
    assert [d.strftime("%a %d") for d in local] == ["Wed 03", "Fri 05", "Mon 08", "Wed 10", "Fri 12"]
    assert all(d.time() == time(18, 0) for d in local)


def test_next_after_is_strictly_after() -> None:
    recurrence = daily(time(9, 0), "UTC")
    assert recurrence.next_after(utc(2026, 5, 1, 9, 0)) == utc(2026, 5, 2, 9, 0)
    assert recurrence.next_after(utc(2026, 5, 1, 8, 59)) == utc(2026, 5, 1, 9, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19:30", time(19, 30)),
        ("7:30pm", time(19, 30)),
        ("7pm", time(19)),
        ("12am", time(0)),
        ("12:15 PM", time(12, 15)),
        ("9", time(9)),
        ("19h30", time(19, 30)),
        ("07.05", time(7, 5)),
    ],
)
def test_times_are_read_leniently(text: str, expected: time) -> None:
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize("text", ["25:00", "13pm", "noonish", "", "7:75"])
def test_bad_times_get_a_kind_error(text: str) -> None:
    with pytest.raises(UserFacingError, match="time"):
        parse_time_of_day(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily", set(range(7))),
        ("weekdays", set(range(5))),
        ("weekends", {5, 6}),
        ("mon,wed,fri", {0, 2, 4}),
        ("Mon Wed", {0, 2}),
        ("mon-fri", set(range(5))),
        ("fri-mon", {4, 5, 6, 0}),
        (None, set(range(7))),
        ("tuesday and thursday", {1, 3}),
    ],
)
def test_days_are_read_leniently(text: str | None, expected: set[int]) -> None:
    assert parse_weekdays(text) == expected


def test_bad_days_get_a_kind_error() -> None:
    with pytest.raises(UserFacingError, match="mon,wed,fri"):
        parse_weekdays("someday")


def test_weekdays_are_described_briefly() -> None:
    assert format_weekdays(set(range(7))) == "every day"
    assert format_weekdays(set(range(5))) == "weekdays"
    assert format_weekdays({0, 2, 4}) == "Mon, Wed, Fri"


def test_known_zones_resolve_whatever_the_case() -> None:
    assert resolve_zone("europe/berlin").key == "Europe/Berlin"
    assert resolve_zone("America/New York").key == "America/New_York"


def test_an_unknown_zone_gets_suggestions() -> None:
    with pytest.raises(UserFacingError) as caught:
        resolve_zone("Europe/Berln")
    assert "`Europe/Berlin`" in caught.value.message
    with pytest.raises(UserFacingError) as caught:
        resolve_zone("Mars/Olympus")
    assert "don't know the time zone" in caught.value.message


def test_zone_suggestions_find_cities_and_typos() -> None:
    assert suggest_zones("berlin")[0] == "Europe/Berlin"
    assert suggest_zones("Nwe York")[0] == "America/New_York"
    assert suggest_zones("lord howe") == ["Australia/Lord_Howe"]
    assert len(zone_choices("")) <= 25
    assert "Europe/Berlin" in zone_choices("Berl")
