"""Check-in storage and rules on a real SQLite file: claims, answers, sealed notes, reminders, /mydata."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import CheckinSettings
from bot.content import ContentReader
from bot.content_areas.prompts import load_prompts
from bot.errors import UserFacingError
from bot.services.checkins import CheckinClosedError, CheckinService
from bot.services.identity import ban_key_for
from bot.storage.checkins import CheckinStore, erase_member, export_member
from bot.storage.crypto import Keyring
from bot.storage.db import Database
from bot.storage.personal import REGISTRY, MemberRef
from tests.storage.checkin_helpers import claim_all
from tests.storage.migration_helpers import older_database

CONTENT = Path(__file__).resolve().parents[2] / "content"
GUILD = 111
CHANNEL = 222
ALICE, BOB, CARA = 1001, 1002, 1003


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def service(db: Database, keyring: Keyring) -> CheckinService:
    _, prompts = load_prompts(ContentReader(CONTENT))
    return CheckinService(
        CheckinStore(db, keyring), CheckinSettings(), prompts, exercise_ids=["box-breathing"]
    )


async def daily_at_nine(service: CheckinService, now: datetime, **kwargs) -> int:
    saved = await service.create_schedule(
        GUILD, CHANNEL, time_text="09:00", days_text="daily", zone_text="UTC", now=now, **kwargs
    )
    return saved.schedule.id


# ----- schedules and claims -------------------------------------------------------------------------


async def test_a_new_schedule_knows_its_next_run_and_dst_notes(service: CheckinService) -> None:
    saved = await service.create_schedule(
        GUILD,
        CHANNEL,
        time_text="2:30am",
        days_text="daily",
        zone_text="america/new_york",
        now=utc(2026, 1, 10),
        name="Night owls",
    )
    assert saved.schedule.timezone == "America/New_York"
    assert saved.next_run_at == utc(2026, 1, 10, 7, 30)
    assert len(saved.clock_notes) == 1 and "03:30 instead" in saved.clock_notes[0]
    repeated = await service.create_schedule(
        GUILD,
        CHANNEL,
        time_text="1:30am",
        days_text="daily",
        zone_text="America/New_York",
        now=utc(2026, 1, 10),
    )
    assert len(repeated.clock_notes) == 1 and "happens twice" in repeated.clock_notes[0]


async def test_unknown_prompt_sets_and_zones_are_refused(service: CheckinService) -> None:
    with pytest.raises(UserFacingError, match="no prompt set"):
        await daily_at_nine(service, utc(2026, 1, 1), prompt_set="nonsense")
    with pytest.raises(UserFacingError, match="Europe/Berlin"):
        await service.create_schedule(
            GUILD, CHANNEL, time_text="9:00", days_text="daily", zone_text="Europe/Berln", now=utc(2026, 1, 1)
        )


async def test_a_due_schedule_is_claimed_once(service: CheckinService) -> None:
    schedule_id = await daily_at_nine(service, utc(2026, 5, 1, 8))
    first = await claim_all(service, utc(2026, 5, 1, 9))
    again = await claim_all(service, utc(2026, 5, 1, 9, 0, 30))
    assert [o.scheduled_for for o in first.claimed] == [utc(2026, 5, 1, 9)]
    assert again.claimed == []
    occurrence = first.claimed[0]
    assert occurrence.state == "claimed" and occurrence.prompt_text
    assert occurrence.closes_at == utc(2026, 5, 1, 21)
    assert occurrence.remind_at == utc(2026, 5, 1, 9) + timedelta(hours=12) * 0.8
    schedule = await service.store.get_schedule(schedule_id)
    assert schedule is not None and schedule.next_run_at == utc(2026, 5, 2, 9)


async def test_the_database_refuses_a_second_claim_for_the_same_time(service: CheckinService) -> None:
    schedule_id = await daily_at_nine(service, utc(2026, 5, 1, 8))
    claimed = await claim_all(service, utc(2026, 5, 1, 9))
    # Even if the schedule's next run were wound back (a bug, a restored backup), the
    # unique claim stops a second post of the same occurrence.
    await service.store.update_schedule(schedule_id, utc(2026, 5, 1, 9), next_run_at=utc(2026, 5, 1, 9))
    assert (await claim_all(service, utc(2026, 5, 1, 9, 1))).claimed == []
    assert len(await service.store.schedule_occurrences(schedule_id)) == len(claimed.claimed) == 1


async def test_downtime_within_grace_posts_once_late(service: CheckinService) -> None:
    schedule_id = await daily_at_nine(service, utc(2026, 5, 1, 8))
    result = await claim_all(service, utc(2026, 5, 1, 10, 45))  # 105 minutes late, grace is 120
    assert [o.scheduled_for for o in result.claimed] == [utc(2026, 5, 1, 9)]
    assert result.claimed[0].closes_at == utc(2026, 5, 1, 22, 45)  # a full window from the late post
    assert result.missed == []
    assert len(await service.store.schedule_occurrences(schedule_id)) == 1


async def test_downtime_past_grace_is_skipped_and_recorded(service: CheckinService) -> None:
    schedule_id = await daily_at_nine(service, utc(2026, 4, 28, 8))
    result = await claim_all(service, utc(2026, 5, 1, 11, 30))  # three days down; today's is 150 min late
    assert result.claimed == []
    assert len(result.missed) == 4
    rows = await service.store.schedule_occurrences(schedule_id)
    assert [(r.state, r.scheduled_for) for r in rows] == [("skipped", utc(2026, 5, 1, 9))]
    schedule = await service.store.get_schedule(schedule_id)
    assert schedule is not None and schedule.next_run_at == utc(2026, 5, 2, 9)


async def test_paused_schedules_do_not_fire_and_resume_from_now(service: CheckinService) -> None:
    schedule_id = await daily_at_nine(service, utc(2026, 5, 1, 8))
    await service.set_paused(GUILD, schedule_id, True, utc(2026, 5, 1, 8))
    assert (await claim_all(service, utc(2026, 5, 3, 9))).claimed == []
    resumed = await service.set_paused(GUILD, schedule_id, False, utc(2026, 5, 3, 9, 30))
    assert resumed.next_run_at == utc(2026, 5, 4, 9)


async def test_rotation_survives_across_claims(service: CheckinService) -> None:
    await daily_at_nine(service, utc(2026, 5, 1, 8), prompt_set="small-wins")
    size = len(service.prompts.sets["small-wins"].prompts)
    keys = []
    for day in range(size):
        result = await claim_all(service, utc(2026, 5, 1 + day, 9))
        keys.append(result.claimed[0].prompt_key)
    assert len(set(keys)) == size  # every prompt once before any repeats
    nxt = await claim_all(service, utc(2026, 5, 1 + size, 9))
    assert nxt.claimed[0].prompt_cycle == 1 and nxt.claimed[0].prompt_key != keys[-1]


async def test_custom_and_hidden_prompts(service: CheckinService) -> None:
    now = utc(2026, 5, 1)
    prompt_id = await service.add_prompt(GUILD, "Evening", "What went gently today?", now)
    listed = await service.list_prompts(GUILD)
    assert (f"c:{prompt_id}", "What went gently today?") in listed["evening"]
    hidden_text = await service.remove_prompt(GUILD, "b:sw-step")
    assert "small step" in hidden_text
    assert all(k != "b:sw-step" for k, _ in (await service.list_prompts(GUILD, "small-wins"))["small-wins"])
    assert await service.remove_prompt(GUILD, f"c:{prompt_id}") == "What went gently today?"
    with pytest.raises(UserFacingError):
        await service.remove_prompt(GUILD, f"c:{prompt_id}")
    with pytest.raises(UserFacingError):
        await service.remove_prompt(GUILD + 1, "c:1")


# ----- answers and notes ------------------------------------------------------------------------------


async def open_checkin(service: CheckinService, *, show_distribution: bool = False) -> int:
    await daily_at_nine(service, utc(2026, 5, 1, 8), show_distribution=show_distribution)
    claimed = (await claim_all(service, utc(2026, 5, 1, 9))).claimed[0]
    await service.store.confirm_posted(claimed.id, 5555, utc(2026, 5, 1, 9))
    return claimed.id


async def test_one_answer_per_member_and_changing_it(service: CheckinService) -> None:
    occurrence_id = await open_checkin(service)
    now = utc(2026, 5, 1, 10)
    first = await service.record_mood(occurrence_id, ALICE, 2, now)
    changed = await service.record_mood(occurrence_id, ALICE, 4, now)
    await service.record_mood(occurrence_id, BOB, 3, now)
    await service.record_pass(occurrence_id, CARA, now)
    assert first.was_new and not changed.was_new and changed.previous_mood == 2
    total, moods = await service.store.answer_counts(occurrence_id)
    assert total == 3 and moods == {4: 1, 3: 1}


async def test_answers_after_the_window_are_refused(service: CheckinService) -> None:
    occurrence_id = await open_checkin(service)
    with pytest.raises(CheckinClosedError, match="closed"):
        await service.record_mood(occurrence_id, ALICE, 3, utc(2026, 5, 1, 21))


async def test_distribution_needs_the_setting_five_moods_and_the_close(service: CheckinService) -> None:
    occurrence_id = await open_checkin(service, show_distribution=True)
    occurrence = await service.store.get_occurrence(occurrence_id)
    assert occurrence is not None
    for user, score in zip(range(4), (1, 2, 3, 3), strict=True):
        await service.record_mood(occurrence_id, user, score, utc(2026, 5, 1, 10))
    assert (await service.tally(occurrence, closed=True)).distribution is None
    await service.record_mood(occurrence_id, 99, 5, utc(2026, 5, 1, 10))
    assert (await service.tally(occurrence)).distribution is None  # still open
    assert (await service.tally(occurrence, closed=True)).distribution == {1: 1, 2: 1, 3: 2, 4: 0, 5: 1}


async def test_notes_are_sealed_at_rest(service: CheckinService, db: Database, keyring: Keyring) -> None:
    occurrence_id = await open_checkin(service)
    secret = "I finally told my sister how I felt"
    key = ban_key_for(keyring, GUILD, ALICE)
    await service.save_note(occurrence_id, ALICE, secret, "group", utc(2026, 5, 1, 10), key)
    raw = await db.fetchval("SELECT note FROM checkin_answers WHERE user_id = ?", (ALICE,))
    assert secret not in raw and raw.startswith("v1:")
    answer = await service.store.get_answer(occurrence_id, ALICE)
    assert answer is not None and answer.note == secret and answer.note_visibility == "group"
    dump = "\n".join(str(tuple(r)) for r in await db.fetchall("SELECT * FROM checkin_answers"))
    assert "sister" not in dump


async def test_an_anonymous_note_is_kept_under_a_per_check_in_key_not_a_user_id(
    service: CheckinService, db: Database, keyring: Keyring
) -> None:
    occurrence_id = await open_checkin(service)
    key = ban_key_for(keyring, GUILD, ALICE)
    await service.record_mood(occurrence_id, ALICE, 3, utc(2026, 5, 1, 10))
    await service.save_note(occurrence_id, ALICE, "a private hope", "private", utc(2026, 5, 1, 10), key)
    saved = await service.save_note(
        occurrence_id, ALICE, "something hard", "anonymous", utc(2026, 5, 1, 11), key
    )
    assert saved.previous_visibility == "private"
    row = await db.fetchone("SELECT * FROM checkin_anonymous_notes")
    assert row is not None and "user_id" not in set(row.keys())
    dump = " ".join(str(v) for v in tuple(row))
    assert key not in dump and str(ALICE) not in dump and "something hard" not in dump
    answer = await service.store.get_answer(occurrence_id, ALICE)
    assert answer is not None and answer.note is None and answer.note_visibility is None and answer.mood == 3
    found = await service.store.get_anonymous_note(GUILD, occurrence_id, key)
    assert found is not None and found.note == "something hard"
    back = await service.save_note(occurrence_id, ALICE, "private now", "private", utc(2026, 5, 1, 12), key)
    assert back.previous_visibility == "anonymous"
    assert await db.fetchval("SELECT COUNT(*) FROM checkin_anonymous_notes") == 0


async def test_an_anonymous_note_leaves_no_time_to_line_up_with_its_authors_answer(
    service: CheckinService, db: Database, keyring: Keyring
) -> None:
    """The audit's attack: join answers and anonymous notes on the check-in and the time."""
    occurrence_id = await open_checkin(service)
    for minute, user in enumerate((ALICE, BOB, CARA, 1004, 1005)):
        await service.record_mood(occurrence_id, user, 3, utc(2026, 5, 1, 9, 5 + minute))
    written = datetime(2026, 5, 1, 10, 17, 3, 123456, tzinfo=UTC)
    cara_key = ban_key_for(keyring, GUILD, CARA)
    await service.save_note(occurrence_id, CARA, "anon words", "anonymous", written, cara_key)
    # A member who only writes anonymously gets no answer row at all.
    dana_key = ban_key_for(keyring, GUILD, 1006)
    await service.save_note(occurrence_id, 1006, "more anon", "anonymous", utc(2026, 5, 1, 11), dana_key)
    assert await db.fetchval("SELECT COUNT(*) FROM checkin_answers WHERE user_id = 1006") == 0
    cara = await service.store.get_answer(occurrence_id, CARA)
    assert cara is not None and cara.updated_at == utc(2026, 5, 1, 9, 7)  # untouched by the note
    answer_times = {
        value
        for row in await db.fetchall("SELECT answered_at, updated_at FROM checkin_answers")
        for value in tuple(row)
    }
    for row in await db.fetchall("SELECT * FROM checkin_anonymous_notes"):
        values = {str(v) for v in tuple(row)}
        assert not values & answer_times
        assert row["written_on"].startswith("2026-05-01") and "10:17" not in row["written_on"]
    occurrence = await service.store.get_occurrence(occurrence_id)
    assert occurrence is not None
    tally = await service.tally(occurrence)
    assert (tally.total, tally.anonymous_notes) == (5, 2)


async def test_one_members_anonymous_notes_share_no_value_that_links_them(
    service: CheckinService, db: Database, keyring: Keyring
) -> None:
    key = ban_key_for(keyring, GUILD, ALICE)
    first = await open_checkin(service)
    second = await open_checkin_second(service)
    for occurrence_id in (first, second):
        await service.save_note(occurrence_id, ALICE, "same words", "anonymous", utc(2026, 5, 1, 10), key)
        note = await service.store.get_anonymous_note(GUILD, occurrence_id, key)
        assert note is not None
        await service.store.set_anonymous_message(note.id, 987654321012345678)
    one, two = await db.fetchall("SELECT * FROM checkin_anonymous_notes ORDER BY id")
    columns = one.keys()  # a Row iterates over its values, not its names
    shared = {c for c in columns if one[c] == two[c]}
    assert shared == {"guild_id", "written_on"}  # nothing that tells the author apart
    dump = " ".join(str(v) for row in (one, two) for v in tuple(row))
    assert "987654321012345678" not in dump  # a message id carries the time it was posted
    note = await service.store.get_anonymous_note(GUILD, second, key)
    assert note is not None and note.message_id == 987654321012345678


async def test_words_shared_under_a_name_cannot_move_to_anonymous(
    service: CheckinService, keyring: Keyring
) -> None:
    occurrence_id = await open_checkin(service)
    key = ban_key_for(keyring, GUILD, ALICE)
    await service.save_note(occurrence_id, ALICE, "seen by all", "group", utc(2026, 5, 1, 10), key)
    with pytest.raises(UserFacingError) as refused:
        await service.save_note(occurrence_id, ALICE, "hide me now", "anonymous", utc(2026, 5, 1, 11), key)
    assert refused.value.keep_text == "hide me now"


async def test_notes_kept_by_an_older_hearth_move_to_per_check_in_keys(
    tmp_path: Path, keyring: Keyring
) -> None:
    """The migration renames the old table; the check-ins area moves its rows at start."""
    from bot.storage.db import MIGRATIONS_DIR

    async with older_database(tmp_path, before=14) as db:
        nine, nine_pm = "2026-05-01T09:00:00+00:00", "2026-05-01T21:00:00+00:00"
        await db.execute(
            "INSERT INTO checkin_occurrences (id, guild_id, channel_id, kind, title, scheduled_for, state, "
            "claimed_at, closes_at, thread_id) "
            "VALUES (7, ?, ?, 'checkin', 'Check-in', ?, 'posted', ?, ?, 42)",
            (GUILD, CHANNEL, nine, nine, nine_pm),
        )
        key = ban_key_for(keyring, GUILD, ALICE)
        sealed = keyring.encrypt("older words", context="checkin_anonymous_notes.note")
        await db.execute(
            "INSERT INTO checkin_anonymous_notes (guild_id, occurrence_id, ban_key, note, message_id, "
            "created_at, updated_at) VALUES (?, 7, ?, ?, 5555, '2026-05-01T10:11:12+00:00', "
            "'2026-05-01T10:11:12+00:00')",
            (GUILD, key, sealed),
        )
        await db.migrate(MIGRATIONS_DIR)
        store = CheckinStore(db, keyring)
        assert await store.adopt_legacy_anonymous_notes() == 1
        assert await store.adopt_legacy_anonymous_notes() == 0  # once
        note = await store.get_anonymous_note(GUILD, 7, key)
        assert note is not None and note.note == "older words" and note.message_id == 5555
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "checkin_anonymous_notes_legacy" not in tables
        dump = " ".join(str(v) for v in tuple(await db.fetchone("SELECT * FROM checkin_anonymous_notes")))
        assert key not in dump and "5555" not in dump and "10:11" not in dump


async def test_claims_come_in_a_small_first_batch_then_hundreds(service: CheckinService) -> None:
    for index in range(130):
        await service.create_schedule(
            GUILD + index, CHANNEL + index, time_text="09:00", days_text="daily", zone_text="UTC",
            now=utc(2026, 5, 1, 8),
        )
    sizes = [len(batch.claimed) async for batch in service.claim_due_batches(utc(2026, 5, 1, 9))]
    assert sizes == [16, 100, 14]


# ----- reminders and pauses ----------------------------------------------------------------------------


async def test_reminder_recipients_are_opted_in_unanswered_and_not_paused(service: CheckinService) -> None:
    occurrence_id = await open_checkin(service)
    now = utc(2026, 5, 1, 10)
    for user in (ALICE, BOB, CARA):
        await service.reminders_on(user, GUILD, "20:00", "UTC", None, now)
    await service.reminders_on(4444, GUILD + 1, "20:00", "UTC", None, now)  # another server
    await service.record_mood(occurrence_id, BOB, 4, now)
    await service.pause(CARA, 3, now)
    recipients = await service.store.reminder_recipients(occurrence_id, GUILD, now)
    assert [r.user_id for r in recipients] == [ALICE]


async def test_dms_closed_turns_reminders_off_and_leaves_one_notice(service: CheckinService) -> None:
    now = utc(2026, 5, 1, 10)
    await service.reminders_on(ALICE, GUILD, "20:00", "UTC", None, now)
    await service.reminders_on(ALICE, None, "08:00", "UTC", None, now)
    await service.dm_closed(ALICE, CHANNEL, now)
    assert (await service.store.due_reminders(utc(2026, 6, 1))) == []
    assert await service.store.take_dm_closed_notice(ALICE) == (True, CHANNEL)
    assert await service.store.take_dm_closed_notice(ALICE) == (False, None)


async def test_pause_zero_ends_a_pause(service: CheckinService) -> None:
    now = utc(2026, 5, 1, 10)
    await service.pause(ALICE, 5, now)
    assert await service.is_paused(ALICE, now + timedelta(days=1))
    await service.pause(ALICE, 0, now + timedelta(days=2))
    assert not await service.is_paused(ALICE, now + timedelta(days=2, hours=1))
    with pytest.raises(UserFacingError):
        await service.pause(ALICE, 365, now)


async def test_history_reads_the_members_own_moods(service: CheckinService) -> None:
    now = utc(2026, 5, 20, 12)
    for days_ago, score in ((0, 5), (1, 4), (3, 2), (40, 1)):
        await service.personal_checkin(ALICE, None, score, None, now - timedelta(days=days_ago))
    await service.personal_checkin(BOB, None, 1, None, now)
    history = await service.history(ALICE, now)
    assert history.count_30 == 3 and history.count_90 == 4
    assert history.last_30.endswith("▃·▆█")
    assert history.streak.days == 3


# ----- personal data -----------------------------------------------------------------------------------


async def test_export_and_erase_cover_every_row(
    service: CheckinService, db: Database, keyring: Keyring
) -> None:
    assert any(entry.area == "checkins" for entry in REGISTRY)
    occurrence_id = await open_checkin(service)
    now = utc(2026, 5, 1, 10)
    key = ban_key_for(keyring, GUILD, ALICE)
    await service.record_mood(occurrence_id, ALICE, 2, now)
    await service.save_note(occurrence_id, ALICE, "words in the open", "group", now, key)
    await service.personal_checkin(ALICE, None, 4, "just for me", now)
    other = await open_checkin_second(service)
    await service.save_note(other, ALICE, "nobody knows it's me", "anonymous", now, key)
    await service.reminders_on(ALICE, GUILD, "20:00", "Europe/Berlin", None, now)
    await service.pause(ALICE, 2, now)
    await service.record_mood(occurrence_id, BOB, 5, now)
    member = MemberRef(ALICE, {GUILD: key}, keyring=keyring)

    exported = await export_member(db, keyring, member)
    notes = {a["note"] for a in exported["answers"]}
    assert {"words in the open", "just for me"} <= notes
    assert [n["note"] for n in exported["anonymous_notes"]] == ["nobody knows it's me"]
    assert exported["anonymous_notes"][0]["written_on"] == "2026-05-01"
    assert exported["reminders"][0]["timezone"] == "Europe/Berlin"
    assert len(exported["pauses"]) == 1
    assert all(a["mood"] != 5 for a in exported["answers"])  # Bob's answer is not Alice's

    async with db.transaction() as tx:
        await erase_member(tx, member)
    for table in ("checkin_answers", "checkin_reminders", "checkin_pauses", "checkin_members"):
        assert await db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (ALICE,)) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM checkin_anonymous_notes") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM checkin_answers WHERE user_id = ?", (BOB,)) == 1
    with pytest.raises(ValueError):  # without the key the notes can't be found, so it refuses
        async with db.transaction() as tx:
            await erase_member(tx, MemberRef(ALICE, {GUILD: key}))


async def open_checkin_second(service: CheckinService) -> int:
    saved = await service.create_schedule(
        GUILD, CHANNEL + 1, time_text="09:00", days_text="daily", zone_text="UTC", now=utc(2026, 5, 1, 8)
    )
    claimed = await service.claim_test(saved.schedule, utc(2026, 5, 1, 9, 30))
    await service.store.confirm_posted(claimed.id, 6666, utc(2026, 5, 1, 9, 30))
    return claimed.id
