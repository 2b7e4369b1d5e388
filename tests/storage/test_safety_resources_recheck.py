"""Helplines not confirmed for over a year: check-config warns (and still passes); Hearth still loads them."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.content import ContentReader
from bot.content_areas.safety import load_resources

CONTENT = Path(__file__).resolve().parents[2] / "content"


def _aged(tmp_path: Path, checked: str) -> Path:
    """Copy the shipped content with every helpline last checked on `checked`."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    resources = root / "resources.toml"
    lines = resources.read_text(encoding="utf-8").splitlines()
    resources.write_text(
        "\n".join(f"last_checked = {checked}" if line.startswith("last_checked") else line for line in lines),
        encoding="utf-8",
    )
    return root


def test_a_helpline_checked_over_a_year_ago_is_a_warning_not_a_problem(tmp_path: Path) -> None:
    reader = ContentReader(_aged(tmp_path, "2025-01-10"), today=date(2026, 1, 11))
    _, resources = load_resources(reader)
    assert reader.problems == []
    assert resources.regions["UK"].helplines
    assert reader.warnings and all("over a year ago" in w.message for w in reader.warnings)
    assert any(w.key.startswith("regions.UK.helplines[0]") for w in reader.warnings)

    fresh = ContentReader(_aged(tmp_path / "fresh", "2025-01-12"), today=date(2026, 1, 11))
    load_resources(fresh)
    assert fresh.warnings == []


def test_check_config_prints_the_warning_and_still_passes(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = _aged(tmp_path, "2001-01-01")
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndatabase = "{tmp_path / "hearth.db"}"\ncontent_dir = "{root}"\n',
                      encoding="utf-8")
    assert main(["--config", str(config), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "warning: content/resources.toml: regions.UK.helplines[0].last_checked:" in out
    assert "over a year ago" in out and "are valid" in out
