"""`python -m bot safety "TEXT" [--guild ID] [--json]`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.storage.db import Database
from bot.storage.safety import SafetyStore


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\ndatabase = "{tmp_path / "hearth.db"}"\n', encoding="utf-8")
    return str(path)


def test_json_output(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", config, "safety", "I don't want to be here anymore", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"level": "crisis", "matched": ["do not want to be here anymore"]}


def test_plain_output_for_an_idiom(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", config, "safety", "you're killing it"]) == 0
    assert capsys.readouterr().out.splitlines() == ["level: none", "matched: (nothing)"]


def test_negation_reads_as_concern(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", config, "safety", "I'm not going to hurt myself", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"level": "concern", "matched": ["going to hurt myself (negated)"]}


def test_guild_phrases_count_with_guild(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def add_phrase() -> None:
        db = await Database.open(tmp_path / "hearth.db")
        await db.migrate()
        await SafetyStore(db).add_phrase(42, "visit the quarry", "crisis", datetime(2026, 1, 1, tzinfo=UTC))
        await db.close()

    asyncio.run(add_phrase())
    assert main(["--config", config, "safety", "I might visit the quarry", "--guild", "42", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"level": "crisis", "matched": ["visit the quarry"]}
    assert main(["--config", config, "safety", "I might visit the quarry", "--guild", "7", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["level"] == "none"


def test_a_guild_without_a_database_says_only_built_in_phrases_were_used(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", config, "safety", "I might visit the quarry", "--guild", "42", "--json"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["level"] == "none"
    assert "no database" in printed.err and "built-in phrases only" in printed.err
