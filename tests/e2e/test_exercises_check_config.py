"""`python -m bot check-config` names the file and the field of a malformed exercise."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A copy of the shipped content, free to break."""
    shutil.copytree(REPO / "content", tmp_path / "content")
    return tmp_path / "content"


def _replace_in(path: Path, old: str, new: str, count: int = -1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _check_config(content: Path) -> subprocess.CompletedProcess[str]:
    config = content.parent / "config.toml"
    config.write_text(f'[bot]\ncontent_dir = "{content}"\n', encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "check-config"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )


def test_a_malformed_exercise_file_is_named_with_its_field(content: Path) -> None:
    _replace_in(
        content / "exercises" / "box-breathing.toml",
        '{ label = "Hold", seconds = 4 },\n    { label = "Breathe out"',
        '{ label = "Hold", seconds = "four" },\n    { label = "Breathe out"',
    )
    steps = content / "exercises" / "grounding-5-4-3-2-1.toml"
    _replace_in(steps, 'title = "Three things you can hear"\n', "")

    result = _check_config(content)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "content/exercises/box-breathing.toml: breathing.phases[2].seconds: must be a whole number or a " \
           "number, not str" in lines
    assert "content/exercises/grounding-5-4-3-2-1.toml: steps[3].title: is required" in lines
    assert len(lines) == 2
    assert "2 problem(s) found" in result.stderr


def test_the_shipped_content_passes_check_config(content: Path) -> None:
    result = _check_config(content)
    assert result.returncode == 0, result.stdout


def test_check_config_names_a_rating_left_unmarked_and_a_mistyped_kind(content: Path) -> None:
    record = content / "exercises" / "thought-record.toml"
    unmarked = 'placeholder = "A number from 0 to 100"\nrating = true\nmax_length = 3\n'
    assert record.read_text(encoding="utf-8").count(unmarked) == 2
    _replace_in(record, unmarked, 'placeholder = "A number from 0 to 100"\nmax_length = 3\n', count=1)
    _replace_in(content / "exercises" / "self-soothing.toml", 'kind = "steps"', 'kind = "step"')

    result = _check_config(content)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "content/exercises/thought-record.toml: steps[3].fields[2].rating: must be true: 'intensity' is " \
           "a rating from 0 to 100" in lines
    assert "content/exercises/self-soothing.toml: steps: is only for kinds 'steps' and 'thought_record', " \
           "not 'step'" in lines
    wrong_kind = "content/exercises/self-soothing.toml: kind: must be one of"
    assert any(line.startswith(wrong_kind) for line in lines)
    assert len(lines) == 3, lines
