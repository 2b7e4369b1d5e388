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
