"""The daily retention job, kind by kind, on rows written through the real commands.

Alice uses everything 100 days ago; Bob uses everything today. Every registered retention
rule must find old rows (Alice's) and new rows (Bob's) in its table, so a rule added later
without data here makes this test say which table to populate.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.config import RetentionSettings
from bot.services.privacy import retention_kinds
from bot.storage import privacy as privacy_store
from bot.storage.db import Database, to_db_time
from tests.e2e.checkin_helpers import MONDAY_8AM
from tests.e2e.privacy_helpers import (
    anonymous_note,
    care_alert,
    exported,
    group_checkin,
    populate,
    populated,
)
from tests.fakediscord.harness import Harness

pytestmark = pytest.mark.hearth_config(checkins={"count_refresh_seconds": 0.0})

NEW = MONDAY_8AM
OLD = NEW - timedelta(days=100)
NINE = timedelta(hours=1)


async def _moderate(hearth: Harness, term: str) -> None:
    """A moderator changes the sharing settings: one row in the audit trail."""
    await (await hearth.actor("mod").slash("sharemod settings", add_terms=term)).reply()


async def _counts(db: Database, cutoff: datetime) -> dict[privacy_store.RetentionRule, tuple[int, int]]:
    """Return (rows older than cutoff, rows not older) for every registered rule."""
    found = {}
    for rule in privacy_store.RETENTION_RULES:
        condition = f" AND ({rule.condition})" if rule.condition else ""
        where = f"FROM {rule.table} WHERE {rule.time_column}"
        old = await db.fetchval(f"SELECT count(*) {where} < ?{condition}", (to_db_time(cutoff),))
        new = await db.fetchval(f"SELECT count(*) {where} >= ?{condition}", (to_db_time(cutoff),))
        found[rule] = (int(old), int(new))
    return found


async def test_every_retention_kind_purges_old_rows_and_keeps_new_ones(hearth: Harness) -> None:
    await populated(hearth, OLD, "alice")
    await _moderate(hearth, "an old term")
    first = await group_checkin(hearth, NEW + NINE)
    bob = await populate(hearth, "bob", "bob", checkin=first)
    second = await group_checkin(hearth, NEW + NINE + timedelta(days=1))
    await anonymous_note(hearth, "bob", second, "bob anonymous note", bob)
    await care_alert(hearth, "bob")
    await _moderate(hearth, "a new term")
    db = hearth.running_bot.db
    assert db is not None
    service = hearth.running_bot.privacy
    now = hearth.clock.now()

    cutoff = now - timedelta(days=30)
    before = await _counts(db, cutoff)
    missing = [f"{rule.kind}: {rule.table} has {'no old' if not old else 'no new'} rows"
               for rule, (old, new) in before.items() if not old or not new]
    assert not missing, f"populate the tables of these rules: {missing}"

    # With the defaults, only the kinds kept for less than 100 days lose Alice's rows.
    defaults = RetentionSettings()
    service.retention = defaults
    report = await hearth.running_bot.get_cog("Privacy").run_retention()  # type: ignore[union-attr]
    shorter = {kind for kind, days in retention_kinds(defaults).items() if 0 < days < 100}
    assert shorter and set(report.rows_by_kind) == shorter
    after = await _counts(db, cutoff)
    for rule, (old, new) in before.items():
        assert after[rule] == ((0 if rule.kind in shorter else old), new), rule

    # Every kind at 30 days: every rule's old rows go, and every new row stays.
    service.retention = replace(defaults, **{f"{kind}_days": 30 for kind in retention_kinds(defaults)})
    report = await hearth.running_bot.get_cog("Privacy").run_retention()  # type: ignore[union-attr]
    after = await _counts(db, cutoff)
    for rule, (_, new) in before.items():
        assert after[rule] == (0, new), f"{rule}: {before[rule]} became {after[rule]}"
    removed: dict[str, int] = {}
    for rule, (old, _) in before.items():
        if rule.kind not in shorter:
            removed[rule.kind] = removed.get(rule.kind, 0) + old
    assert report.rows_by_kind == removed

    # What members see: Bob still has everything; Alice kept only what is never aged out.
    bob_export = str(await exported(hearth, "bob"))
    assert all(words in bob_export for words in bob.kept)
    alice = await exported(hearth, "alice")
    assert alice["journal"] == [] and alice["exercise_sessions"] == []
    assert alice["checkins"]["answers"] == [] and alice["checkins"]["anonymous_notes"] == []
    assert alice["checkins"]["reminders"], "reminders are not aged out"
    [step] = alice["trust_ladder"]
    assert step["step"] == "alice ladder step" and step["practice"] == [], "a step stays; its logs age out"
