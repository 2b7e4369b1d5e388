"""The privacy machinery (registry, erasure log, confirmations, deletion queue, retention, guild
purges, key rotation) against a real SQLite file, with a stand-in "diary" area registered next to
every real one. The requirements themselves are shown end to end, on real areas, in
tests/e2e/test_privacy_e2e.py, test_retention_e2e.py, test_rotate_e2e.py and
test_privacy_departures_e2e.py."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import RetentionSettings
from bot.services.identity import ban_key_for
from bot.services.privacy import PrivacyService, pending_rotation, reseal_all
from bot.storage import privacy as privacy_store
from bot.storage.crypto import DecryptionError, Keyring, generate_master_key
from bot.storage.db import Database, Transaction, to_db_time
from bot.storage.personal import REGISTRY, MemberRef, PersonalData
from tests.e2e.privacy_helpers import rows_mentioning

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ALICE, BOB = 111111111111111111, 222222222222222222
GUILD, OTHER_GUILD = 900000000000000001, 900000000000000002
NOTE = "diary.body"


@pytest.fixture
async def db(db: Database) -> Database:
    """The migrated database with a stand-in area: sealed named notes, and anonymous posts by ban key."""
    await db.execute(
        "CREATE TABLE diary (id INTEGER PRIMARY KEY, guild_id INTEGER, user_id INTEGER, body TEXT, "
        "created_at TEXT)"
    )
    await db.execute(
        "CREATE TABLE anon_posts (id INTEGER PRIMARY KEY, guild_id INTEGER, ban_key TEXT, "
        "channel_id INTEGER, message_id INTEGER, created_at TEXT)"
    )
    return db


async def _export(db: Database, keyring: Keyring, member: MemberRef) -> dict[str, Any]:
    notes = await db.fetchall("SELECT body FROM diary WHERE user_id = ?", (member.user_id,))
    keys = list(member.ban_keys.values())
    marks = ",".join("?" * len(keys)) or "NULL"
    posts = await db.fetchall(f"SELECT message_id FROM anon_posts WHERE ban_key IN ({marks})", keys)
    return {"notes": [keyring.decrypt(r[0], context=NOTE) for r in notes],
            "posts": [str(r[0]) for r in posts]}


async def _erase(tx: Transaction, member: MemberRef) -> None:
    await tx.execute("DELETE FROM diary WHERE user_id = ?", (member.user_id,))
    for key in member.ban_keys.values():
        await tx.execute("DELETE FROM anon_posts WHERE ban_key = ?", (key,))


async def _posts(db: Database, member: MemberRef) -> list[tuple[int, int]]:
    keys = list(member.ban_keys.values())
    marks = ",".join("?" * len(keys)) or "NULL"
    rows = await db.fetchall(
        f"SELECT channel_id, message_id FROM anon_posts WHERE ban_key IN ({marks})", keys
    )
    return [(r[0], r[1]) for r in rows]


DIARY = PersonalData("diary", _export, _erase, posts=_posts, description="Notes you wrote.",
                     retention="moods")


def service(db: Database, keyring: Keyring, **retention: int) -> PrivacyService:
    return PrivacyService(db, keyring, RetentionSettings(**retention), registry=[*REGISTRY, DIARY],
                          rng=random.Random(3))


async def add_note(db: Database, keyring: Keyring, user_id: int, text: str, when: datetime = NOW,
                   guild_id: int = GUILD) -> None:
    await db.execute(
        "INSERT INTO diary (guild_id, user_id, body, created_at) VALUES (?, ?, ?, ?)",
        (guild_id, user_id, keyring.encrypt(text, context=NOTE), to_db_time(when)),
    )


async def add_post(db: Database, keyring: Keyring, user_id: int, message_id: int,
                   guild_id: int = GUILD) -> None:
    await db.execute(
        "INSERT INTO anon_posts (guild_id, ban_key, channel_id, message_id, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (guild_id, ban_key_for(keyring, guild_id, user_id), 555, message_id, to_db_time(NOW)),
    )


async def test_export_holds_the_member_and_no_one_else(db: Database, keyring: Keyring) -> None:
    await add_note(db, keyring, ALICE, "alice's note")
    await add_note(db, keyring, BOB, "bob's note")
    await add_post(db, keyring, ALICE, 1001)
    await add_post(db, keyring, ALICE, 1002, guild_id=OTHER_GUILD)
    await add_post(db, keyring, BOB, 2001)
    data = await service(db, keyring).export(ALICE, NOW)
    assert data["user_id"] == str(ALICE)
    assert data["areas"]["diary"] == {"notes": ["alice's note"], "posts": ["1001", "1002"]}
    assert "bob" not in repr(data)
    assert "2001" not in repr(data)


async def test_erase_leaves_no_trace_of_the_member_anywhere(db: Database, keyring: Keyring) -> None:
    await add_note(db, keyring, ALICE, "alice's note")
    await add_note(db, keyring, BOB, "bob's note")
    await add_post(db, keyring, ALICE, 1001)
    await add_post(db, keyring, BOB, 2001)
    privacy = service(db, keyring)
    member = await privacy.member_ref(ALICE)
    needles = [str(ALICE), *member.ban_keys.values()]
    assert await rows_mentioning(db, needles)

    result = await privacy.erase(ALICE, NOW, delete_posts=True)

    assert result is not None and result.anonymous_posts == ((555, 1001),)
    assert await rows_mentioning(db, needles) == []
    [queued] = await db.fetchall("SELECT channel_id, message_id, due_at FROM pending_deletions")
    assert tuple(queued)[:2] == (555, 1001)
    assert to_db_time(NOW) <= queued[2] <= to_db_time(NOW + timedelta(minutes=30))
    # Bob is untouched.
    assert (await privacy.export(BOB, NOW))["areas"]["diary"] == {"notes": ["bob's note"], "posts": ["2001"]}


async def test_erase_can_leave_posts_in_place(db: Database, keyring: Keyring) -> None:
    await add_post(db, keyring, ALICE, 1001)
    result = await service(db, keyring).erase(ALICE, NOW, delete_posts=False)
    assert result is not None and result.anonymous_posts == ()
    assert await db.fetchval("SELECT count(*) FROM anon_posts") == 0
    assert await db.fetchval("SELECT count(*) FROM pending_deletions") == 0


async def test_an_erasure_is_applied_again_after_restoring_an_old_backup(db: Database, keyring: Keyring,
                                                                        tmp_path: Path) -> None:
    await add_note(db, keyring, ALICE, "alice's note")
    await add_note(db, keyring, BOB, "bob's note")
    backup = tmp_path / "backup.db"
    await db.backup_to(backup)  # taken before alice erases
    privacy = service(db, keyring)
    await privacy.erase(ALICE, NOW, delete_posts=False)
    assert (tmp_path / "hearth.erasures").exists()
    assert str(ALICE) not in (tmp_path / "hearth.erasures").read_text()

    restored = await Database.open(backup)
    try:
        assert await rows_mentioning(restored, [str(ALICE)])
        again = PrivacyService(restored, keyring, RetentionSettings(), registry=[*REGISTRY, DIARY])
        # The restored copy sits beside the same erasure file (tmp_path), as after a restore in place.
        assert await again.reapply_erasures() == 1
        assert await rows_mentioning(restored, [str(ALICE)]) == []
        assert await restored.fetchval("SELECT count(*) FROM diary") == 1
        assert await again.reapply_erasures() == 0
    finally:
        await restored.close()


async def test_a_member_who_comes_back_after_erasing_keeps_their_new_data(db: Database,
                                                                         keyring: Keyring) -> None:
    privacy = service(db, keyring)
    await add_note(db, keyring, ALICE, "before")
    await privacy.erase(ALICE, NOW, delete_posts=False)
    await add_note(db, keyring, ALICE, "after coming back")
    report = await privacy.run_retention(NOW + timedelta(days=1))
    assert report.erasures_reapplied == 0
    assert (await privacy.export(ALICE, NOW))["areas"]["diary"]["notes"] == ["after coming back"]


async def test_the_erasure_log_ages_out(db: Database, keyring: Keyring, tmp_path: Path) -> None:
    privacy = service(db, keyring, erasure_log_days=400)
    await privacy.erase(ALICE, NOW, delete_posts=False)
    await privacy.run_retention(NOW + timedelta(days=399))
    assert await db.fetchval("SELECT count(*) FROM erasure_log") == 1
    report = await privacy.run_retention(NOW + timedelta(days=401))
    assert report.erasures_expired == 1
    assert await db.fetchval("SELECT count(*) FROM erasure_log") == 0
    lines = (tmp_path / "hearth.erasures").read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == []


async def test_summary_counts_items_and_names_the_retention(db: Database, keyring: Keyring) -> None:
    await add_note(db, keyring, ALICE, "one")
    await add_note(db, keyring, ALICE, "two")
    summary = {s.area: s for s in await service(db, keyring, moods_days=90).summary(ALICE)}
    assert summary["diary"].items == 2
    assert summary["diary"].keep_days == 90
    assert summary["diary"].description == "Notes you wrote."


async def test_retention_purges_what_is_old_and_keeps_what_is_new(db: Database, keyring: Keyring) -> None:
    privacy_store.register_retention(privacy_store.RetentionRule("moods", "diary", "created_at"))
    try:
        await add_note(db, keyring, ALICE, "old", when=NOW - timedelta(days=31))
        await add_note(db, keyring, ALICE, "recent", when=NOW - timedelta(days=29))
        report = await service(db, keyring, moods_days=30).run_retention(NOW)
        assert report.rows_by_kind == {"moods": 1}
        assert (await service(db, keyring).export(ALICE, NOW))["areas"]["diary"]["notes"] == ["recent"]
        # 0 days means "keep until erased".
        await add_note(db, keyring, ALICE, "ancient", when=NOW - timedelta(days=3000))
        await service(db, keyring, moods_days=0).run_retention(NOW)
        assert await db.fetchval("SELECT count(*) FROM diary") == 2
    finally:
        privacy_store.RETENTION_RULES.remove(privacy_store.RetentionRule("moods", "diary", "created_at"))


async def test_a_guild_left_behind_is_purged_after_the_grace_period(db: Database, keyring: Keyring) -> None:
    await add_note(db, keyring, ALICE, "in the old guild")
    await add_note(db, keyring, ALICE, "in another guild", guild_id=OTHER_GUILD)
    await db.execute(
        "INSERT INTO safety_phrases (guild_id, phrase, level, created_at) VALUES (?, 'x', 'crisis', ?)",
        (GUILD, to_db_time(NOW)),
    )
    privacy = service(db, keyring, left_guild_grace_days=30)
    await privacy.guild_left(GUILD, NOW)
    assert (await privacy.run_retention(NOW + timedelta(days=29))).guilds_purged == []
    assert await db.fetchval("SELECT count(*) FROM diary WHERE guild_id = ?", (GUILD,)) == 1
    report = await privacy.run_retention(NOW + timedelta(days=30))
    assert report.guilds_purged == [GUILD]
    assert await rows_mentioning(db, [str(GUILD)]) == []
    assert await db.fetchval("SELECT count(*) FROM diary WHERE guild_id = ?", (OTHER_GUILD,)) == 1


async def test_rejoining_cancels_the_purge(db: Database, keyring: Keyring) -> None:
    await add_note(db, keyring, ALICE, "stay")
    privacy = service(db, keyring)
    await privacy.guild_left(GUILD, NOW)
    assert await privacy.guild_joined(GUILD)
    assert (await privacy.run_retention(NOW + timedelta(days=90))).guilds_purged == []
    assert await db.fetchval("SELECT count(*) FROM diary") == 1


async def test_rotation_reseals_every_registered_column_and_round_trips(db: Database,
                                                                       keyring: Keyring) -> None:
    privacy_store.register_sensitive_column("diary", "body", NOTE, "id")
    try:
        texts = [f"note {i} ✨" for i in range(25)]
        for text in texts:
            await add_note(db, keyring, ALICE, text)
        rotated = Keyring({**keyring.masters, 2: Keyring.parse(generate_master_key()).masters[1]})
        assert await pending_rotation(db, rotated)
        report = await reseal_all(db, rotated)
        assert report.resealed["diary.body"] == 25
        assert report.unregistered == []
        assert not await pending_rotation(db, rotated)
        stored = [r[0] for r in await db.fetchall("SELECT body FROM diary ORDER BY id")]
        assert all(value.startswith("v2:") for value in stored)
        assert [rotated.decrypt(v, context=NOTE) for v in stored] == texts
        with pytest.raises(DecryptionError):
            keyring.decrypt(stored[0], context=NOTE)
        # Ban keys and pseudonyms survive: they come from the oldest key.
        assert ban_key_for(rotated, GUILD, ALICE) == ban_key_for(keyring, GUILD, ALICE)
        # Running it again changes nothing.
        assert (await reseal_all(db, rotated)).resealed["diary.body"] == 0
    finally:
        privacy_store.SENSITIVE_COLUMNS.remove(privacy_store.SensitiveColumn("diary", "body", NOTE, "id"))


async def test_rotation_reseals_only_registered_columns_and_names_the_others(
    db: Database, keyring: Keyring
) -> None:
    await add_note(db, keyring, ALICE, "sealed under diary.body, never registered")
    rotated = Keyring({**keyring.masters, 2: Keyring.parse(generate_master_key()).masters[1]})
    report = await reseal_all(db, rotated)
    assert "diary.body" not in report.resealed
    assert report.unregistered == [("diary", "body")]
    assert (await db.fetchval("SELECT body FROM diary")).startswith("v1:")


async def test_rotation_names_sealed_columns_it_cannot_open(db: Database, keyring: Keyring) -> None:
    await db.execute(
        "INSERT INTO diary (guild_id, user_id, body, created_at) VALUES (?, ?, ?, ?)",
        (GUILD, ALICE, keyring.encrypt("odd context", context="something.else"), to_db_time(NOW)),
    )
    report = await reseal_all(db, keyring)
    assert report.unregistered == [("diary", "body")]


# ----- erasure after a restore, by ban key ------------------------------------------------------


async def test_an_author_known_only_by_ban_key_is_erased_again_after_a_restore(
    db: Database, keyring: Keyring, tmp_path: Path
) -> None:
    await add_post(db, keyring, ALICE, 1001)  # no row anywhere holds Alice's id
    await add_post(db, keyring, BOB, 2001)
    backup = tmp_path / "backup.db"
    await db.backup_to(backup)
    await service(db, keyring).erase(ALICE, NOW, delete_posts=False)
    text = (tmp_path / "hearth.erasures").read_text()
    assert str(ALICE) not in text and ban_key_for(keyring, GUILD, ALICE) not in text

    restored = await Database.open(backup)
    try:
        again = PrivacyService(restored, keyring, RetentionSettings(), registry=[*REGISTRY, DIARY])
        assert await again.reapply_erasures() == 1
        assert await restored.fetchval("SELECT message_id FROM anon_posts") == 2001
        assert await again.reapply_erasures() == 0
    finally:
        await restored.close()


async def test_known_member_ids_include_moderator_columns(db: Database) -> None:
    await db.execute(
        "INSERT INTO sharing_audit (guild_id, moderator_id, action, created_at) VALUES (?, ?, 'settings', ?)",
        (GUILD, BOB, to_db_time(NOW)),
    )
    assert BOB in await privacy_store.known_member_ids(db)


# ----- the erase confirmation ---------------------------------------------------------------------


async def test_a_confirmation_works_once_for_its_member_until_it_expires(db: Database,
                                                                         keyring: Keyring) -> None:
    privacy = service(db, keyring)
    await add_note(db, keyring, ALICE, "alice's note")
    await add_note(db, keyring, BOB, "bob's note")
    nonce = await privacy.request_erasure(ALICE, NOW)
    assert await privacy.erase(BOB, NOW, delete_posts=False, nonce=nonce) is None  # not Bob's
    late = NOW + timedelta(minutes=16)
    assert await privacy.erase(ALICE, late, delete_posts=False, nonce=nonce) is None  # expired
    assert await db.fetchval("SELECT count(*) FROM diary") == 2

    nonce = await privacy.request_erasure(ALICE, NOW)
    assert await privacy.erase(ALICE, NOW, delete_posts=False, nonce=nonce) is not None
    await add_note(db, keyring, ALICE, "written after erasing")
    assert await privacy.erase(ALICE, NOW, delete_posts=False, nonce=nonce) is None  # used up
    assert await db.fetchval("SELECT count(*) FROM diary WHERE user_id = ?", (ALICE,)) == 1
    assert await db.fetchval("SELECT count(*) FROM erase_confirmations") == 1  # the expired one
    await privacy.run_retention(late)
    assert await db.fetchval("SELECT count(*) FROM erase_confirmations") == 0


# ----- the deletion queue -----------------------------------------------------------------------


async def test_posts_are_queued_at_independent_moments_within_the_spread(db: Database,
                                                                         keyring: Keyring) -> None:
    for message_id in range(1001, 1011):
        await add_post(db, keyring, ALICE, message_id)
    privacy = service(db, keyring, erased_posts_spread_minutes=30)
    await privacy.erase(ALICE, NOW, delete_posts=True)
    rows = await db.fetchall("SELECT id, due_at FROM pending_deletions")
    due = sorted(datetime.fromisoformat(r[1]) for r in rows)
    assert len(set(due)) == 10
    assert due[0] >= NOW and due[-1] <= NOW + timedelta(minutes=30)
    assert due[-1] - due[0] > timedelta(minutes=10)
    ids = sorted(r[0] for r in rows)
    assert ids[-1] - ids[0] > 1000, "row ids are random, so one erasure's rows do not sit together"

    halfway = await privacy.due_deletions(NOW + timedelta(minutes=15))
    assert 0 < len(halfway) < 10
    assert await privacy.next_deletion_at() == due[0]


async def test_deletions_missed_while_stopped_are_spread_out_again(db: Database, keyring: Keyring) -> None:
    for message_id in range(1001, 1006):
        await add_post(db, keyring, ALICE, message_id)
    privacy = service(db, keyring, erased_posts_spread_minutes=30)
    await privacy.erase(ALICE, NOW, delete_posts=True)
    back = NOW + timedelta(hours=5)  # Hearth was stopped all that time
    assert len(await privacy.due_deletions(back)) == 5
    assert await privacy.respread_overdue_deletions(back) == 5
    assert len(await privacy.due_deletions(back)) == 0
    rows = await db.fetchall("SELECT due_at FROM pending_deletions")
    due = sorted(datetime.fromisoformat(r[0]) for r in rows)
    assert len(set(due)) == 5 and due[0] >= back and due[-1] <= back + timedelta(minutes=30)
    assert await privacy.respread_overdue_deletions(back + timedelta(seconds=30)) == 0


async def test_a_failing_deletion_is_retried_then_given_up(db: Database, keyring: Keyring) -> None:
    await add_post(db, keyring, ALICE, 1001)
    privacy = service(db, keyring, erased_posts_spread_minutes=0)
    await privacy.erase(ALICE, NOW, delete_posts=True)
    moment = NOW
    for _ in range(4):
        [deletion] = await privacy.due_deletions(moment)
        assert await privacy.deletion_failed(deletion, moment)
        assert await privacy.due_deletions(moment) == []
        moment += timedelta(minutes=5)
    [deletion] = await privacy.due_deletions(moment)
    assert not await privacy.deletion_failed(deletion, moment)
    assert await db.fetchval("SELECT count(*) FROM pending_deletions") == 0


# ----- guilds Hearth is no longer in ------------------------------------------------------------


async def test_reconciling_guilds_notes_departures_and_returns(db: Database, keyring: Keyring) -> None:
    await add_note(db, keyring, ALICE, "here", guild_id=GUILD)
    await add_note(db, keyring, ALICE, "there", guild_id=OTHER_GUILD)
    await add_note(db, keyring, ALICE, "in DMs", guild_id=0)
    privacy = service(db, keyring)
    assert await privacy.reconcile_guilds([GUILD], NOW) == ([OTHER_GUILD], [])
    assert await privacy.reconcile_guilds([GUILD], NOW + timedelta(days=3)) == ([OTHER_GUILD], [])
    assert await privacy_store.departures_before(db, NOW) == [OTHER_GUILD]  # the first time is kept
    assert await privacy.reconcile_guilds([GUILD, OTHER_GUILD], NOW) == ([], [OTHER_GUILD])
    assert await privacy_store.departures_before(db, NOW + timedelta(days=99)) == []
