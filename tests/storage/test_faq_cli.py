"""`python -m bot faq QUERY [--guild ID] [--json]`: what moderators use to check their content."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.content import check_content
from bot.services.faq import FaqService
from bot.storage.crypto import Keyring, generate_master_key
from bot.storage.db import Database
from bot.storage.faq import FaqStore

CONTENT = Path(__file__).resolve().parents[2] / "content"


def test_prints_the_top_three_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faq", "my bf cheated on me and now i cant trust anyone"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("1. adult-betrayal  (score ")
    assert "confident" in out[0]
    assert sum(1 for line in out if line[:2] in ("1.", "2.", "3.")) == 3


def test_json_lists_id_question_score_and_confidence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faq", "how long does healing take", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 3
    assert set(results[0]) == {"id", "question", "score", "confident"}
    assert results[0]["id"] == "how-long-healing-takes" and results[0]["confident"] is True
    assert all(0 <= r["score"] <= 100 for r in results)
    assert [r["confident"] for r in results[1:]] == [False, False]


def test_a_query_about_nothing_in_the_faq_is_never_confident(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faq", "best sourdough recipe", "--json"]) == 0
    assert all(not r["confident"] for r in json.loads(capsys.readouterr().out))
    assert main(["faq", "zzzz qqqq"]) == 0
    assert "no match" in capsys.readouterr().out


def test_guild_entries_are_included_with_guild(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "hearth.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndatabase = "{database}"\ncontent_dir = "{CONTENT}"\n', encoding="utf-8")

    async def prepare() -> None:
        db = await Database.open(database)
        await db.migrate()
        content, _ = check_content(CONTENT)
        service = FaqService(content.parts["faq"], FaqStore(db, Keyring.parse(generate_master_key())))
        await service.add_custom(42, "When does the group meet?", "Tuesdays at 7pm.", ["meeting"],
                                 datetime(2025, 1, 1, tzinfo=UTC))
        await db.close()

    asyncio.run(prepare())
    assert main(["--config", str(config), "faq", "when is the group meeting", "--guild", "42", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["id"] == "when-group-meet"
    assert main(["--config", str(config), "faq", "when is the group meeting", "--json"]) == 0
    assert all(r["id"] != "when-group-meet" for r in json.loads(capsys.readouterr().out))
