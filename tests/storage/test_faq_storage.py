"""FAQ storage: guild entries, hidden built-ins, aliases, imports and a gap queue that forgets who asked."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.content import check_content
from bot.errors import UserFacingError
from bot.services.faq import FaqService, ImportProblems, Origin, Verdict
from bot.storage.crypto import Keyring
from bot.storage.db import Database
from bot.storage.faq import FaqStore
from bot.storage.privacy import RETENTION_RULES, SENSITIVE_COLUMNS, purge_guild

CONTENT = Path(__file__).resolve().parents[2] / "content"
NOW = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)
GUILD, OTHER = 111, 222


@pytest.fixture
def service(db: Database, keyring: Keyring) -> FaqService:
    content, _ = check_content(CONTENT)
    store = FaqStore(db, keyring)
    return FaqService(content.parts["faq"], store, misses_days=90)


async def test_a_custom_entry_is_found_in_its_guild_only(service: FaqService) -> None:
    entry = await service.add_custom(GUILD, "When does the group meet?", "Tuesdays at 7pm in voice.",
                                     ["meeting", "voice chat"], NOW)
    assert entry.origin is Origin.CUSTOM
    outcome = await service.ask(GUILD, "what time is the group meeting")
    assert outcome.best is not None and outcome.best.entry.id == entry.id
    assert await service.entry(OTHER, entry.id) is None
    assert await service.entry(None, entry.id) is None


async def test_editing_a_built_in_makes_a_guild_override(service: FaqService) -> None:
    before = await service.entry(GUILD, "jealousy")
    assert before is not None
    edited = await service.edit(GUILD, "jealousy", before.question, "Our server's own answer.", ["envy"], NOW)
    assert edited.origin is Origin.OVERRIDE and edited.answer == "Our server's own answer."
    assert edited.related == before.related
    other = await service.entry(OTHER, "jealousy")
    assert other is not None and other.answer == before.answer


async def test_an_override_of_a_care_entry_must_keep_pointing_to_resources(service: FaqService) -> None:
    with pytest.raises(UserFacingError, match="/resources"):
        await service.edit(GUILD, "crisis-help-now", "Where can I get help?", "Talk to a friend.", [], NOW)


async def test_removing_hides_a_built_in_and_deletes_a_custom(service: FaqService, db: Database) -> None:
    custom = await service.add_custom(GUILD, "Where are the group rules?", "Pinned in #welcome.", [], NOW)
    await service.remove(GUILD, "work", NOW)
    await service.remove(GUILD, custom.id, NOW)
    assert await service.entry(GUILD, "work") is None
    assert await service.entry(OTHER, "work") is not None
    assert await service.entry(GUILD, custom.id) is None
    assert await db.fetchval("SELECT COUNT(*) FROM faq_guild_entries") == 0
    assert [e.id for e in await service.hidden(GUILD)] == ["work"]
    restored = await service.restore(GUILD, "work")
    assert restored.id == "work"


async def test_a_miss_keeps_no_trace_of_who_asked(service: FaqService, db: Database) -> None:
    await service.record_miss(GUILD, "how do i stop   being jealous of my ex", NOW)
    columns = [row[1] for row in await db.fetchall("PRAGMA table_info(faq_misses)")]
    assert columns == ["id", "guild_id", "query", "asked_on"]
    row = await db.fetchone("SELECT query, asked_on FROM faq_misses")
    assert row is not None
    assert "jealous" not in row["query"]  # sealed
    assert row["asked_on"] == "2025-03-14T00:00:00+00:00"  # the day only
    groups = await service.misses(GUILD, NOW)
    assert [(g.wording, g.count) for g in groups] == [("how do i stop being jealous of my ex", 1)]
    assert await service.misses(OTHER, NOW) == []


async def test_the_gap_queue_is_registered_for_rotation_and_retention(service: FaqService) -> None:
    assert any(c.table == "faq_misses" and c.column == "query" for c in SENSITIVE_COLUMNS)
    assert any(r.table == "faq_misses" and r.kind == "faq_misses" for r in RETENTION_RULES)


async def test_old_misses_age_out(service: FaqService) -> None:
    await service.record_miss(GUILD, "an old question nobody answered", NOW - timedelta(days=120))
    await service.record_miss(GUILD, "a recent question", NOW - timedelta(days=3))
    assert [g.wording for g in await service.misses(GUILD, NOW)] == ["a recent question"]


async def test_a_group_of_misses_becomes_an_alias_and_leaves_the_queue(service: FaqService) -> None:
    for text in ("is my ex stonewalling me", "Is my ex stonewalling me?", "what's the weather"):
        await service.record_miss(GUILD, text, NOW)
    groups = await service.misses(GUILD, NOW)
    top = groups[0]
    assert top.count == 2
    assert (await service.ask(GUILD, "is my ex stonewalling me")).verdict is Verdict.MISS
    await service.add_alias(GUILD, "adult-betrayal", top.wording, top.miss_ids, NOW)
    outcome = await service.ask(GUILD, "is my ex stonewalling me")
    assert outcome.verdict is Verdict.ANSWER and outcome.best is not None
    assert outcome.best.entry.id == "adult-betrayal"
    left = await service.misses(GUILD, NOW)
    assert [g.wording for g in left] == ["what's the weather"]
    assert await service.dismiss(GUILD, left[0].miss_ids) == 1
    assert await service.misses(GUILD, NOW) == []


async def test_export_then_import_restores_a_guild(service: FaqService) -> None:
    await service.add_custom(GUILD, 'Who are the "mods"?', "Ask in #help.\nThey're kind.", ["mods"], NOW)
    await service.edit(GUILD, "family", "Family and trust?", "Our answer.", [], NOW)
    await service.remove(GUILD, "work", NOW)
    await service.add_alias(GUILD, "family", "my stepdad", [], NOW)
    exported = await service.export(GUILD, "Test server")
    summary = await service.import_(OTHER, exported.encode(), NOW, replace_all=True)
    assert (summary.custom, summary.overrides, summary.hidden, summary.aliases) == (1, 1, 1, 1)
    assert await service.export(OTHER, "Test server") == exported


async def test_a_malformed_import_changes_nothing_and_says_what_is_wrong(service: FaqService) -> None:
    await service.add_custom(GUILD, "When do we meet?", "Tuesdays.", [], NOW)
    before = await service.export(GUILD)
    bad = b'''
hidden = ["no-such-entry"]
[[entry]]
id = "Bad Id"
kind = "custom"
question = "Fine question?"
answer = "Fine."
[[entry]]
id = "family"
kind = "custom"
question = "x"
'''
    with pytest.raises(ImportProblems) as caught:
        await service.import_(GUILD, bad, NOW, replace_all=True)
    message = caught.value.message
    assert message.startswith("Nothing was changed")
    assert "no-such-entry" in message and "Bad Id" in message and "`answer` is required" in message
    assert await service.export(GUILD) == before
    with pytest.raises(ImportProblems, match="not valid TOML"):
        await service.import_(GUILD, b"[[entry]\nid=", NOW, replace_all=False)
    assert await service.export(GUILD) == before


async def test_purging_a_guild_removes_all_its_faq_rows(service: FaqService, db: Database) -> None:
    await service.add_custom(GUILD, "When do we meet?", "Tuesdays.", [], NOW)
    await service.remove(GUILD, "work", NOW)
    await service.add_alias(GUILD, "family", "my stepdad", [], NOW)
    await service.record_miss(GUILD, "something unanswered", NOW)
    await purge_guild(db, GUILD)
    for table in ("faq_guild_entries", "faq_hidden", "faq_aliases", "faq_misses"):
        assert await db.fetchval(f"SELECT COUNT(*) FROM {table}") == 0


async def test_migration_rejects_an_unknown_kind(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute(
            "INSERT INTO faq_guild_entries (guild_id, entry_id, kind, question, answer, updated_at) "
            "VALUES (1, 'x', 'other', 'q', 'a', 'now')"
        )
