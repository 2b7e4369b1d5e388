"""Check-in rules without Discord or disk: rotation, tallies, missed runs, mood history, streaks."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.content import ContentReader
from bot.content_areas.prompts import Prompt, PromptLibrary, PromptSet, load_prompts
from bot.services.checkins import (
    DISTRIBUTION_MINIMUM,
    FALLBACK_PROMPT,
    MOODS,
    HourlyLimit,
    build_history,
    candidate_prompts,
    choose_prompt,
    gentle_streak,
    mood,
    plan_run,
    public_tally,
    sparkline,
    weekly_averages,
)
from bot.services.schedules import Recurrence
from bot.storage.checkins import PauseRow

CONTENT = Path(__file__).resolve().parents[2] / "content"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def library() -> PromptLibrary:
    return PromptLibrary(
        {
            "a": PromptSet("a", "A", "", tuple(Prompt(f"a{i}", f"question a{i}?") for i in range(4))),
            "b": PromptSet("b", "B", "", (Prompt("b0", "question b0?"),)),
        }
    )


# ----- prompts -----------------------------------------------------------------------------------


def test_shipped_prompts_have_the_four_default_sets() -> None:
    reader = ContentReader(CONTENT)
    name, prompts = load_prompts(reader)
    assert name == "prompts" and reader.problems == []
    assert list(prompts.sets) == ["self-awareness", "triggers", "small-wins", "support"]
    assert all(len(s.prompts) >= 5 for s in prompts.sets.values())


def test_a_broken_prompts_file_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "prompts.toml").write_text(
        '[[set]]\nid = "Bad Id"\ntitle = "x"\nprompts = [{ id = "p", text = "" }]\n'
        '[[set]]\nid = "ok"\ntitle = "y"\n'
        'prompts = [{ id = "p", text = "fine?" }, { id = "p", text = "x" }]\n'
    )
    reader = ContentReader(tmp_path)
    load_prompts(reader)
    keys = {p.key for p in reader.problems}
    assert "set[0].id" in keys
    assert "set[1].prompts[1].id" in keys


def test_candidates_mix_built_in_and_custom_and_leave_out_hidden() -> None:
    found = candidate_prompts(library(), [(7, "a", "mine?"), (8, "other", "x?")], {"b:a1"}, "a")
    keys = [k for k, _ in found]
    assert keys == ["b:a0", "b:a2", "b:a3", "c:7"]
    everything = candidate_prompts(library(), [(7, "a", "mine?")], set(), None)
    assert len(everything) == 6


def test_rotation_never_repeats_until_every_prompt_is_used() -> None:
    candidates = candidate_prompts(library(), [], set(), None)
    used: set[str] = set()
    last = None
    cycle = 0
    seen_cycles: list[list[str]] = [[]]
    for _ in range(len(candidates) * 3):
        choice = choose_prompt(candidates, used, last, schedule_id=3, cycle=cycle)
        if choice.cycle != cycle:
            cycle = choice.cycle
            used = set()
            seen_cycles.append([])
        assert choice.key not in used
        used.add(choice.key)
        seen_cycles[-1].append(choice.key)
        last = choice.key
    assert len(seen_cycles) == 3
    for keys in seen_cycles:
        assert sorted(keys) == sorted(k for k, _ in candidates)  # each cycle uses every prompt once
    for before, after in itertools.pairwise(seen_cycles):
        assert before[-1] != after[0]  # a new cycle never opens with the prompt just used


def test_rotation_is_stable_for_a_schedule_and_differs_between_schedules() -> None:
    candidates = candidate_prompts(library(), [], set(), None)

    def order(schedule_id: int) -> list[str]:
        used: set[str] = set()
        keys = []
        for _ in candidates:
            choice = choose_prompt(candidates, used, None, schedule_id, 0)
            used.add(choice.key)
            keys.append(choice.key)
        return keys

    assert order(1) == order(1)
    assert any(order(1) != order(n) for n in range(2, 6))


def test_no_prompts_falls_back_to_a_gentle_question() -> None:
    assert choose_prompt([], set(), None, 1, 0).text == FALLBACK_PROMPT


# ----- tallies -------------------------------------------------------------------------------------


def test_distribution_only_when_closed_enabled_and_five_moods() -> None:
    four = {1: 1, 3: 2, 5: 1}
    assert public_tally(6, four, True, closed=True).distribution is None  # two passes do not make it safe
    five = {1: 1, 3: 3, 5: 1}
    assert sum(five.values()) == DISTRIBUTION_MINIMUM
    assert public_tally(5, five, True, closed=True).distribution == {1: 1, 2: 0, 3: 3, 4: 0, 5: 1}
    assert public_tally(5, five, False, closed=True).distribution is None
    assert public_tally(5, five, False, closed=True).total == 5
    # While open, two updates a click apart would show that one click's mood.
    assert public_tally(5, five, True, closed=False).distribution is None


def test_the_hourly_limit_counts_in_memory_and_frees_up() -> None:
    limit = HourlyLimit(2)
    start = datetime(2026, 5, 1, 9, tzinfo=UTC)
    assert limit.full_until("a", start) is None
    limit.add("a", start)
    limit.add("a", start + timedelta(minutes=10))
    assert limit.full_until("a", start + timedelta(minutes=20)) == start + timedelta(hours=1)
    assert limit.full_until("b", start + timedelta(minutes=20)) is None  # someone else
    assert limit.full_until("a", start + timedelta(hours=1, seconds=1)) is None  # the first one aged out


def test_moods_have_emoji_and_words() -> None:
    assert [m.score for m in MOODS] == [1, 2, 3, 4, 5]
    assert all(m.emoji and m.word for m in MOODS)
    assert mood(4).label == "4 · Good"
    with pytest.raises(ValueError):
        mood(6)


# ----- missed runs -----------------------------------------------------------------------------------


def test_a_run_on_time_fires() -> None:
    recurrence = Recurrence(time(9), frozenset(range(7)), ZoneInfo("UTC"))
    plan = plan_run(recurrence, utc(2026, 5, 1, 9), utc(2026, 5, 1, 9, 0, 1), timedelta(hours=2))
    assert plan.fire == utc(2026, 5, 1, 9) and plan.missed == ()
    assert plan.next_run_at == utc(2026, 5, 2, 9)


def test_downtime_within_grace_fires_once_late_and_older_ones_are_missed() -> None:
    recurrence = Recurrence(time(9), frozenset(range(7)), ZoneInfo("UTC"))
    plan = plan_run(recurrence, utc(2026, 5, 1, 9), utc(2026, 5, 3, 10, 30), timedelta(hours=2))
    assert plan.fire == utc(2026, 5, 3, 9)
    assert plan.missed == (utc(2026, 5, 1, 9), utc(2026, 5, 2, 9))
    assert plan.next_run_at == utc(2026, 5, 4, 9)


def test_downtime_past_grace_fires_nothing() -> None:
    recurrence = Recurrence(time(9), frozenset(range(7)), ZoneInfo("UTC"))
    plan = plan_run(recurrence, utc(2026, 5, 1, 9), utc(2026, 5, 1, 11, 0, 1), timedelta(hours=2))
    assert plan.fire is None
    assert plan.missed == (utc(2026, 5, 1, 9),)


# ----- mood history --------------------------------------------------------------------------------


def test_sparkline_maps_one_to_five_and_marks_gaps() -> None:
    assert sparkline([1, 5, None, 3]) == "▁█·▅"
    assert sparkline([2.5]) in "▃▄"


def test_weekly_averages_start_on_monday_in_the_member_zone() -> None:
    zone = ZoneInfo("America/New_York")
    moods = [
        (utc(2026, 6, 1, 12), 2),  # Monday
        (utc(2026, 6, 7, 12), 4),  # Sunday, same week
        (utc(2026, 6, 8, 3), 5),  # Monday 03:00 UTC is still Sunday evening in New York
        (utc(2026, 6, 9, 12), 1),
    ]
    weeks = weekly_averages(moods, zone)
    assert [(w.week_start, w.count) for w in weeks] == [(date(2026, 6, 1), 3), (date(2026, 6, 8), 1)]
    assert weeks[0].average == pytest.approx(11 / 3)


def test_streak_forgives_one_missed_day() -> None:
    today = date(2026, 6, 20)
    days = {today - timedelta(days=d) for d in (0, 1, 3, 4, 6)}
    assert gentle_streak(days, set(), today).days == 5


def test_two_missed_days_start_a_new_run() -> None:
    today = date(2026, 6, 20)
    days = {today - timedelta(days=d) for d in (0, 1, 4, 5, 6)}
    assert gentle_streak(days, set(), today).days == 2


def test_today_not_yet_checked_in_does_not_break_the_streak() -> None:
    today = date(2026, 6, 20)
    days = {today - timedelta(days=d) for d in (1, 2, 3)}
    streak = gentle_streak(days, set(), today)
    assert streak.days == 3 and not streak.checked_in_today


def test_paused_days_freeze_the_streak() -> None:
    today = date(2026, 6, 20)
    days = {today - timedelta(days=d) for d in (0, 8, 9, 10)}
    paused = {today - timedelta(days=d) for d in range(1, 8)}
    assert gentle_streak(days, paused, today).days == 4
    assert gentle_streak(days, set(), today).days == 1


def test_history_puts_moods_on_the_right_days() -> None:
    zone = ZoneInfo("Europe/Berlin")
    now = utc(2026, 6, 20, 18)
    moods = [
        (utc(2026, 6, 20, 8), 5),
        (utc(2026, 6, 19, 8), 1),
        (utc(2026, 6, 19, 20), 3),
        (utc(2026, 4, 1), 4),
    ]
    pauses = [PauseRow(1, utc(2026, 6, 20, 12), utc(2026, 6, 23))]
    history = build_history(moods, [m[0] for m in moods], pauses, zone, "Europe/Berlin", now)
    assert len(history.last_30) == 30 and len(history.last_90) == 90
    assert history.last_30.endswith("▃█")  # yesterday averages 2, today 5
    assert history.last_30[:-2] == "·" * 28
    assert history.count_30 == 3 and history.count_90 == 4
    assert history.streak.days == 2 and history.streak.paused_now
    assert history.paused_until == utc(2026, 6, 23)
