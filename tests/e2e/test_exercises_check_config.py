"""`python -m bot check-config` names the file and the field of a malformed exercise."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _check_config(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ncontent_dir = "{tmp_path / "content"}"\n', encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "check-config"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )


def test_a_malformed_exercise_file_is_named_with_its_field(tmp_path: Path) -> None:
    shutil.copytree(REPO / "content", tmp_path / "content")
    box = tmp_path / "content" / "exercises" / "box-breathing.toml"
    box.write_text(box.read_text(encoding="utf-8").replace(
        '{ label = "Hold", seconds = 4 },\n    { label = "Breathe out"',
        '{ label = "Hold", seconds = "four" },\n    { label = "Breathe out"',
    ), encoding="utf-8")
    steps = tmp_path / "content" / "exercises" / "grounding-5-4-3-2-1.toml"
    steps.write_text(steps.read_text(encoding="utf-8").replace('title = "Three things you can hear"\n', ""),
                     encoding="utf-8")

    result = _check_config(tmp_path)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "content/exercises/box-breathing.toml: breathing.phases[2].seconds: must be a whole number or a " \
           "number, not str" in lines
    assert "content/exercises/grounding-5-4-3-2-1.toml: steps[3].title: is required" in lines
    assert len(lines) == 2
    assert "2 problem(s) found" in result.stderr


def test_the_shipped_content_passes_check_config(tmp_path: Path) -> None:
    shutil.copytree(REPO / "content", tmp_path / "content")
    result = _check_config(tmp_path)
    assert result.returncode == 0, result.stdout


def test_check_config_names_a_rating_left_unmarked_and_a_mistyped_kind(tmp_path: Path) -> None:
    shutil.copytree(REPO / "content", tmp_path / "content")
    record = tmp_path / "content" / "exercises" / "thought-record.toml"
    text = record.read_text(encoding="utf-8")
    unmarked = 'placeholder = "A number from 0 to 100"\nrating = true\nmax_length = 3\n'
    assert text.count(unmarked) == 2
    record.write_text(text.replace(unmarked, 'placeholder = "A number from 0 to 100"\nmax_length = 3\n', 1),
                      encoding="utf-8")
    soothing = tmp_path / "content" / "exercises" / "self-soothing.toml"
    soothing.write_text(soothing.read_text(encoding="utf-8").replace('kind = "steps"', 'kind = "step"'),
                        encoding="utf-8")

    result = _check_config(tmp_path)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "content/exercises/thought-record.toml: steps[3].fields[2].rating: must be true: 'intensity' is " \
           "a rating from 0 to 100" in lines
    assert "content/exercises/self-soothing.toml: steps: is only for kinds 'steps' and 'thought_record', " \
           "not 'step'" in lines
    wrong_kind = "content/exercises/self-soothing.toml: kind: must be one of"
    assert any(line.startswith(wrong_kind) for line in lines)
    assert len(lines) == 3, lines
