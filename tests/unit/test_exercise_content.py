"""The shipped exercises and journal prompts load, and malformed files are named precisely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import ContentReader, check_content
from bot.content_areas.exercises import (
    THOUGHT_RECORD_KEYS,
    load_exercise,
    load_exercises,
    load_journal_prompts,
)

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content"


def _problems_for(tmp_path: Path, name: str, text: str) -> list[str]:
    folder = tmp_path / "content" / "exercises"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    reader = ContentReader(tmp_path / "content")
    load_exercise(reader, folder / name)
    return [str(p) for p in reader.problems]


def test_shipped_exercises_load_without_problems() -> None:
    reader = ContentReader(CONTENT)
    _, library = load_exercises(reader)
    _, prompts = load_journal_prompts(reader)
    assert reader.problems == []
    kinds = {exercise_id: library[exercise_id].kind for exercise_id in library}
    assert kinds == {
        "box-breathing": "breathing",
        "breathing-4-7-8": "breathing",
        "paced-breathing": "breathing",
        "grounding-5-4-3-2-1": "steps",
        "muscle-relaxation": "steps",
        "self-soothing": "steps",
        "name-the-feeling": "steps",
        "journal-prompt": "journal_prompt",
        "small-act-of-trust": "steps",
        "thought-record": "thought_record",
    }
    assert len(prompts) >= 12


def test_content_check_has_an_exercises_part_listing_ids() -> None:
    content, problems = check_content(CONTENT)
    assert not [p for p in problems if "exercises" in p.file or "journal_prompts" in p.file]
    assert "box-breathing" in content.parts["exercises"]
    assert "box-breathing" in list(content.parts["exercises"])


def test_box_breathing_is_four_even_counts_and_every_breathing_exercise_warns_about_dizziness() -> None:
    _, library = load_exercises(ContentReader(CONTENT))
    box = library["box-breathing"].breathing
    assert box is not None
    assert [(p.label, p.seconds) for p in box.phases] == [
        ("Breathe in", 4), ("Hold", 4), ("Breathe out", 4), ("Hold", 4),
    ]
    assert [p.seconds for p in library["breathing-4-7-8"].breathing.phases] == [4, 7, 8]  # type: ignore[union-attr]
    for exercise_id in library:
        exercise = library[exercise_id]
        if exercise.kind == "breathing":
            assert "lightheaded" in exercise.safety_note and "breathe normally" in exercise.safety_note


def test_paced_breathing_times_each_breath_from_the_chosen_rate() -> None:
    _, library = load_exercises(ContentReader(CONTENT))
    paced = library["paced-breathing"].breathing
    assert paced is not None
    assert [p.seconds for p in paced.phases_at(6)] == [4.0, 6.0]
    assert [p.seconds for p in paced.phases_at(10)] == [2.4, 3.6]
    # Rates outside the allowed range are brought within it.
    assert paced.phases_at(100) == paced.phases_at(paced.max_rate)


def test_the_thought_record_asks_for_every_part_once() -> None:
    _, library = load_exercises(ContentReader(CONTENT))
    keys = [f.key for step in library["thought-record"].steps for f in step.fields]
    assert sorted(keys) == sorted(THOUGHT_RECORD_KEYS)
    ratings = {f.key for step in library["thought-record"].steps for f in step.fields if f.rating}
    assert ratings == {"intensity", "rerating"}


def test_a_malformed_breathing_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    problems = _problems_for(tmp_path, "broken.toml", """
title = "Broken"
kind = "breathing"
summary = "A broken one."
area = "emotional regulation"
safety_note = "If you feel lightheaded, stop and breathe normally."
[breathing]
cycles = 2
max_cycles = 4
phases = [{ label = "Breathe in", seconds = "four" }, { label = "Out", seconds = 4 }]
""")
    assert problems == ["content/exercises/broken.toml: breathing.phases[1].seconds: must be a whole number "
                        "or a number, not str"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('kind = "steps"\nsummary = "s"\narea = "self-awareness"\n[[steps]]\ntitle = "a"\ntext = "b"\n'
         '[[steps]]\ntitle = "c"\ntext = "d"\n', "content/exercises/bad.toml: title: is required"),
        ('title = "t"\nkind = "dance"\nsummary = "s"\narea = "self-awareness"\n',
         "content/exercises/bad.toml: kind: must be one of"),
        ('title = "t"\nkind = "steps"\nsummary = "s"\narea = "self-awareness"\n[[steps]]\ntitle = "a"\n'
         '[[steps]]\ntitle = "c"\ntext = "d"\n', "content/exercises/bad.toml: steps[1].text: is required"),
        ('title = "t"\nkind = "steps"\nsummary = "s"\narea = "feelings"\n[[steps]]\ntitle = "a"\ntext = "b"\n'
         '[[steps]]\ntitle = "c"\ntext = "d"\n', "content/exercises/bad.toml: area: must be one of"),
        ('title = "t"\nkind = "breathing"\nsummary = "s"\narea = "self-awareness"\n'
         'safety_note = "n"\n[breathing]\ncycles = 3\nmax_cycles = 3\n'
         'phases = [{label = "in", seconds = 4}]\n',
         "content/exercises/bad.toml: breathing.phases: has 1 entries; it needs 2 to 6"),
        ('title = "t"\nkind = "breathing"\nsummary = "s"\narea = "self-awareness"\n[breathing]\ncycles = 1\n'
         'max_cycles = 3\nphases = [{label = "in", seconds = 4}, {label = "out", seconds = 4}]\n',
         "content/exercises/bad.toml: safety_note: is required"),
        ('title = "t"\nkind = "breathing"\nsummary = "s"\narea = "self-awareness"\nsafety_note = "n"\n'
         '[breathing]\npaced = true\nmin_rate = 2\nrate = 6\nmax_rate = 12\n'
         'phases = [{label = "in", share = 0.4}, {label = "out", share = 0.6}]\n',
         "content/exercises/bad.toml: breathing.min_rate: must be between 4 and 12, not 2"),
        ('title = "t"\nkind = "steps"\nsummary = "s"\narea = "self-awareness"\ntitel = "x"\n[[steps]]\n'
         'title = "a"\ntext = "b"\n[[steps]]\ntitle = "c"\ntext = "d"\n',
         "content/exercises/bad.toml: titel: is not a known key"),
        ('title = "t"\nkind = "thought_record"\nsummary = "s"\narea = "self-awareness"\n'
         '[[steps]]\ntitle = "a"\ntext = "b"\n[[steps.fields]]\nkey = "situation"\nlabel = "What?"\n'
         '[[steps]]\ntitle = "c"\ntext = "d"\n'
         '[[steps.fields]]\nkey = "emotion"\nlabel = "Which?"\n',
         "content/exercises/bad.toml: steps.fields: the thought-record field 'automatic_thought' is missing"),
        ('title = "t"\nkind = "steps"\nsummary = "s"\narea = "self-awareness"\n[[steps]]\ntitle = "a"\n'
         'text = "b"\n[[steps]]\ntitle = "c"\ntext = "d"\nthis is not toml\n',
         "content/exercises/bad.toml: (file): is not valid TOML"),
    ],
)
def test_malformed_exercise_files_are_named_with_their_field(
    tmp_path: Path, body: str, expected: str
) -> None:
    problems = _problems_for(tmp_path, "bad.toml", body)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_file_name_that_cannot_be_an_id_is_reported(tmp_path: Path) -> None:
    shutil.copy(CONTENT / "exercises" / "box-breathing.toml", tmp_path / "x.toml")
    text = (tmp_path / "x.toml").read_text(encoding="utf-8")
    problems = _problems_for(tmp_path, "Box Breathing.toml", text)
    assert problems == ["content/exercises/Box Breathing.toml: (file name): must be 1-60 lowercase letters, "
                        "digits, '-' or '_' before .toml"]


def test_journal_prompts_are_short_enough_for_a_placeholder_and_unique(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "journal_prompts.toml").write_text(
        '[[prompts]]\nid = "a"\narea = "self-awareness"\ntext = "Short"\n'
        '[[prompts]]\nid = "a"\narea = "self-awareness"\ntext = "' + "x" * 101 + '"\n',
        encoding="utf-8",
    )
    reader = ContentReader(tmp_path / "content")
    load_journal_prompts(reader)
    assert [str(p) for p in reader.problems] == [
        "content/journal_prompts.toml: prompts[2].id: 'a' is used twice",
        "content/journal_prompts.toml: prompts[2].text: is 101 long; the limit is 100",
    ]


def _shipped_thought_record_without(old: str, new: str) -> str:
    text = (CONTENT / "exercises" / "thought-record.toml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_thought_records_ratings_must_be_marked_as_ratings(tmp_path: Path) -> None:
    body = _shipped_thought_record_without(
        'key = "intensity"\nlabel = "How strong, from 0 to 100?"\nstyle = "short"\n'
        'placeholder = "A number from 0 to 100"\nrating = true\n',
        'key = "intensity"\nlabel = "How strong, from 0 to 100?"\nstyle = "short"\n'
        'placeholder = "A number from 0 to 100"\n',
    )
    body = body.replace('label = "The emotion now, from 0 to 100"\nstyle = "short"\n'
                        'placeholder = "A number from 0 to 100"\nrating = true\n',
                        'label = "The emotion now, from 0 to 100"\nstyle = "short"\n'
                        'placeholder = "A number from 0 to 100"\nrating = false\n')
    assert _problems_for(tmp_path, "thought-record.toml", body) == [
        "content/exercises/thought-record.toml: steps[3].fields[2].rating: must be true: 'intensity' is a "
        "rating from 0 to 100",
        "content/exercises/thought-record.toml: steps[5].fields[2].rating: must be true: 'rerating' is a "
        "rating from 0 to 100",
    ]


def test_only_the_thought_records_ratings_may_be_marked_as_ratings(tmp_path: Path) -> None:
    body = _shipped_thought_record_without('key = "emotion"\n', 'key = "emotion"\nrating = true\n')
    assert _problems_for(tmp_path, "thought-record.toml", body) == [
        "content/exercises/thought-record.toml: steps[3].fields[1].rating: must be false for 'emotion'; "
        "only 'intensity' and 'rerating' are ratings",
    ]


@pytest.mark.parametrize(
    ("kind_line", "table", "expected"),
    [
        ('kind = "step"\n', '[[steps]]\ntitle = "a"\ntext = "b"\n',
         "content/exercises/bad.toml: steps: is only for kinds 'steps' and 'thought_record', not 'step'"),
        ('kind = "step"\n', '[breathing]\ncycles = 1\n',
         "content/exercises/bad.toml: breathing: is only for kind 'breathing', not 'step'"),
        ('kind = 3\n', '[[steps]]\ntitle = "a"\ntext = "b"\n',
         "content/exercises/bad.toml: steps: is only for kinds 'steps' and 'thought_record', not 3"),
        ('', '[[steps]]\ntitle = "a"\ntext = "b"\n',
         "content/exercises/bad.toml: steps: is only for kinds 'steps' and 'thought_record', "
         "and this file has no kind"),
    ],
)
def test_a_table_for_another_kind_names_the_kind_as_typed(
    tmp_path: Path, kind_line: str, table: str, expected: str
) -> None:
    body = f'title = "t"\n{kind_line}summary = "s"\narea = "self-awareness"\n{table}'
    problems = _problems_for(tmp_path, "bad.toml", body)
    assert expected in problems, problems
    assert not any("not ''" in p for p in problems), problems
