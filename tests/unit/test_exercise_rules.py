"""The pacer's plan, thought-record answers and the trust ladder's trends and milestones."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.content import ContentReader
from bot.content_areas.exercises import Breathing, Exercise, Field, Phase, load_exercises
from bot.services.exercises import (
    check_answers,
    compose_thought_record,
    frame_text,
    match_exercise,
    options_note,
    parse_rating,
    plan_pacer,
    seconds_text,
)
from bot.services.ladder import StepProgress, milestone_for, trend_of
from bot.storage.ladder import LadderLog, LadderStep

CONTENT = Path(__file__).resolve().parents[2] / "content"
BOX = (Phase("Breathe in", 4), Phase("Hold", 4), Phase("Breathe out", 4), Phase("Hold", 4))
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_box_breathing_changes_the_message_at_every_phase_after_a_short_lead_in() -> None:
    plan = plan_pacer(BOX, 2)
    assert [(f.at, f.cycle, frame_text(f)) for f in plan.frames] == [
        (0.0, 0, ""),
        (3.0, 1, "Breathe in for 4"),
        (7.0, 1, "Hold for 4"),
        (11.0, 1, "Breathe out for 4"),
        (15.0, 1, "Hold for 4"),
        (19.0, 2, "Breathe in for 4"),
        (23.0, 2, "Hold for 4"),
        (27.0, 2, "Breathe out for 4"),
        (31.0, 2, "Hold for 4"),
    ]
    assert plan.ends_at == 35.0
    assert plan.edit_times() == [3, 7, 11, 15, 19, 23, 27, 31, 35]


def test_scale_shortens_every_duration_for_tests() -> None:
    plan = plan_pacer(BOX, 1, scale=0.1, min_interval=0.05)
    assert [f.at for f in plan.frames] == [0.0, 0.3, 0.7, 1.1, 1.5]
    assert plan.ends_at == pytest.approx(1.9)


def test_phases_shorter_than_the_edit_gap_are_merged_into_one_message() -> None:
    phases = (Phase("Breathe in", 3), Phase("Hold", 1), Phase("Breathe out", 4))
    plan = plan_pacer(phases, 1, lead_in=0, min_interval=2.0)
    assert [(f.at, frame_text(f)) for f in plan.frames] == [
        (0.0, "Breathe in for 3"),
        (3.0, "Hold for 1, then breathe out for 4"),
    ]
    assert plan.ends_at == 8.0


def _most_in_window(times: list[float], window: float) -> int:
    return max((sum(1 for t in times if start <= t < start + window) for start in times), default=0)


@pytest.mark.parametrize("seed", range(20))
def test_a_pacer_never_edits_more_than_three_times_in_five_seconds(seed: int) -> None:
    rng = random.Random(seed)
    phases = tuple(Phase(f"p{i}", rng.uniform(0.2, 6)) for i in range(rng.randint(2, 6)))
    plan = plan_pacer(phases, rng.randint(1, 8), scale=rng.choice([1.0, 0.5, 0.1]))
    times = [0.0, *plan.edit_times()]
    assert all(b - a >= 2.0 - 1e-6 for a, b in itertools.pairwise(times))
    assert _most_in_window(times, 5.0) <= 3


def test_options_an_exercise_cannot_use_as_given_are_named_never_changed_silently() -> None:
    breath = (Phase("Breathe in", 0), Phase("Breathe out", 0))
    paced = Exercise("slow", "Slow breathing", "breathing", "s", "emotional regulation",
                     breathing=Breathing(breath, 6, 20, paced=True, rate=6, min_rate=5, max_rate=10,
                                         shares=(0.4, 0.6)))
    assert options_note(paced, rate=6, cycles=20) == ""
    assert options_note(paced, rate=4, cycles=None) == (
        "This one runs at 5 to 10 breaths a minute, so it uses 5."
    )
    # At the default 6 a minute, 60 rounds would fit in a pacer's 600 s, but the exercise allows 20.
    assert options_note(paced, rate=None, cycles=25) == (
        "One session holds up to 20 rounds at this pace, so this one has 20."
    )
    box = Exercise("box", "Box breathing", "breathing", "s", "emotional regulation",
                   breathing=Breathing(BOX, 4, 10))
    assert options_note(box, rate=6, cycles=4) == (
        "Box breathing keeps its own rhythm, so `rate` isn't used here (it's for paced breathing)."
    )
    steps = Exercise("ground", "Grounding", "steps", "s", "self-awareness")
    assert options_note(steps, rate=None, cycles=3) == (
        "Grounding goes at your own pace, so `cycles` isn't used here."
    )
    assert options_note(steps, rate=None, cycles=None) == ""


def test_seconds_are_said_the_way_people_count() -> None:
    assert seconds_text(4.0) == "4"
    assert seconds_text(4.8) == "about 5"
    assert seconds_text(7.2) == "about 7"


@pytest.mark.parametrize(
    ("typed", "rating"),
    [("45", 45), (" 80 ", 80), ("100%", 100), ("0", 0), ("101", None), ("-3", None), ("lots", None),
     ("", None)],
)
def test_ratings_are_whole_numbers_from_0_to_100(typed: str, rating: int | None) -> None:
    assert parse_rating(typed) == rating


def test_answers_that_need_fixing_are_named_and_the_typed_text_is_kept() -> None:
    fields = (
        Field("emotion", "Which emotion?", "short"),
        Field("intensity", "How strong?", "short", rating=True),
    )
    cleaned, problems = check_answers(fields, {"emotion": " hurt ", "intensity": "very"})
    assert cleaned == {"emotion": "hurt", "intensity": "very"}
    assert problems == ["**How strong?** needs a whole number from 0 to 100."]
    cleaned, problems = check_answers(fields, {"emotion": "", "intensity": "70%"})
    assert cleaned == {"emotion": "", "intensity": "70"}
    assert problems == ["**Which emotion?** is empty; a few words are enough."]


def test_a_thought_record_reads_as_one_entry_with_the_change_in_intensity() -> None:
    text = compose_thought_record({
        "situation": "No reply for hours", "automatic_thought": "They are ignoring me",
        "emotion": "anxious", "intensity": "80", "evidence_for": "They read it",
        "evidence_against": "They always answer in the evening", "balanced_thought": "They may be busy",
        "rerating": "45",
    })
    assert text.splitlines() == [
        "**Thought record**",
        "",
        "**Situation:** No reply for hours",
        "**Automatic thought:** They are ignoring me",
        "**Emotion:** anxious, 80/100",
        "**Evidence for the thought:** They read it",
        "**Evidence against the thought:** They always answer in the evening",
        "**Balanced thought:** They may be busy",
        "**Intensity afterwards:** 45/100 (down 35)",
    ]


def _progress(*pairs: tuple[int, int]) -> StepProgress:
    logs = tuple(LadderLog(i, 1, before, after, NOW) for i, (before, after) in enumerate(pairs, start=1))
    step = LadderStep(1, 10, 20, "Ask a friend for a small favour", 30, NOW, logs)
    return StepProgress(step, trend_of(logs))


def test_a_first_try_is_a_small_win_and_the_trend_says_how_it_eased() -> None:
    progress = _progress((70, 50))
    milestone = milestone_for(progress)
    assert milestone is not None and "first time" in milestone.message
    assert progress.trend.describe() == (
        "First try: discomfort 70 before, 50 after. It eased by 20 points by the end."
    )


def test_the_trend_follows_discomfort_before_across_tries() -> None:
    progress = _progress((70, 50), (60, 40), (45, 30))
    assert progress.trend.describe() == (
        "Discomfort before, try by try: 70 → 60 → 45, down 25 since your first try. It's getting easier."
    )
    milestone = milestone_for(progress)
    assert milestone is not None
    assert milestone.message == (
        "Your discomfort before this step has come down 25 points since your first try."
    )
    # The suggested anonymous post never carries the member's own step text.
    assert "favour" not in milestone.share_text


def test_a_step_becomes_manageable_after_repeated_low_discomfort() -> None:
    progress = _progress((60, 40), (25, 10))
    assert progress.manageable
    milestone = milestone_for(progress)
    assert milestone is not None and milestone.message == "This step now feels manageable."
    assert milestone_for(_progress((60, 40), (25, 10), (20, 10))) is not None  # the third try
    assert milestone_for(_progress((60, 40), (25, 10), (20, 10), (20, 10))) is None


@pytest.mark.parametrize(
    "pairs",
    [
        [(70, 50)],  # a first try
        [(60, 40), (25, 10)],  # now manageable
        [(70, 50), (60, 40), (45, 30)],  # a big drop
        [(60, 50)] * 5,  # practised five times
    ],
)
def test_a_suggested_anonymous_post_carries_no_numbers(pairs: list[tuple[int, int]]) -> None:
    # Ratings and counts sit next to the member's id in ladder_logs: a post quoting them would
    # match its author for anyone with the database.
    milestone = milestone_for(_progress(*pairs))
    assert milestone is not None
    assert not any(ch.isdigit() for ch in milestone.share_text), milestone.share_text


def test_a_harder_day_is_named_gently() -> None:
    progress = _progress((40, 30), (60, 50))
    assert "Harder days happen" in progress.trend.describe()
    assert milestone_for(progress) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("box-breathing", "box-breathing"),
        ("Box breathing", "box-breathing"),
        ("BOX BREATHING", "box-breathing"),
        ("  thought record ", "thought-record"),
        ("4-7-8 Breathing", "breathing-4-7-8"),
        ("Progressive muscle relaxation", "muscle-relaxation"),
        ("grounding", "grounding-5-4-3-2-1"),
        ("box breathng", "box-breathing"),
        ("thougth record", "thought-record"),
        ("musle relaxation", "muscle-relaxation"),
        ("name the feelings", "name-the-feeling"),
    ],
)
def test_an_exercise_is_found_by_id_title_or_a_close_spelling(typed: str, expected: str) -> None:
    _, library = load_exercises(ContentReader(CONTENT))
    found = match_exercise(library, typed)
    assert found is not None and found.id == expected


@pytest.mark.parametrize("typed", ["breathing", "juggling", "a", "", "relax"])
def test_a_vague_or_unknown_name_is_never_guessed(typed: str) -> None:
    _, library = load_exercises(ContentReader(CONTENT))
    assert match_exercise(library, typed) is None
