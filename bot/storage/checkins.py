"""Queries for check-ins: schedules, prompts, occurrences (claimed before posting), answers, reminders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from bot.storage.crypto import Keyring
from bot.storage.db import Database, Transaction, from_db_time, to_db_time
from bot.storage.personal import MemberRef, PersonalData, PostedMessage, register_personal_data
from bot.storage.privacy import RetentionRule, register_retention, register_sensitive_column

NOTE_CONTEXT = "checkin_answers.note"
ANON_NOTE_CONTEXT = "checkin_anonymous_notes.note"
ANON_AUTHOR_CONTEXT = "checkin_anonymous_notes.author"
ANON_MESSAGE_CONTEXT = "checkin_anonymous_notes.message"
LEGACY_ANON_TABLE = "checkin_anonymous_notes_legacy"

Conn = Database | Transaction


def _time(value: str | None) -> datetime | None:
    return from_db_time(value)


def _must_time(value: str) -> datetime:
    moment = from_db_time(value)
    assert moment is not None
    return moment


def _opt(moment: datetime | None) -> str | None:
    return None if moment is None else to_db_time(moment)


def anonymous_author_key(keyring: Keyring, guild_id: int, occurrence_id: int, ban_key: str) -> str:
    """Return the key an anonymous note is filed under: a member has a different one on every check-in."""
    return keyring.keyed_hash("checkin-anon", guild_id, occurrence_id, ban_key)


def _seal_message(keyring: Keyring, message_id: int | None) -> str | None:
    return None if message_id is None else keyring.encrypt(str(message_id), context=ANON_MESSAGE_CONTEXT)


def day_of(moment: datetime) -> str:
    """Return midnight UTC of a moment's day, in the database's time format (no time of day kept)."""
    return to_db_time(datetime.combine(moment.astimezone(UTC).date(), time(0), tzinfo=UTC))


@dataclass(frozen=True)
class ScheduleRow:
    id: int
    guild_id: int
    channel_id: int
    name: str
    kind: str
    exercise_id: str | None
    local_time: time
    weekdays: str
    timezone: str
    prompt_set: str | None
    window_minutes: int
    show_distribution: bool
    paused: bool
    prompt_cycle: int
    next_run_at: datetime | None
    last_error: str | None

    @classmethod
    def from_row(cls, row: Any) -> ScheduleRow:
        hour, minute = (int(p) for p in row["local_time"].split(":"))
        return cls(
            id=row["id"],
            guild_id=row["guild_id"],
            channel_id=row["channel_id"],
            name=row["name"],
            kind=row["kind"],
            exercise_id=row["exercise_id"],
            local_time=time(hour, minute),
            weekdays=row["weekdays"],
            timezone=row["timezone"],
            prompt_set=row["prompt_set"],
            window_minutes=row["window_minutes"],
            show_distribution=bool(row["show_distribution"]),
            paused=bool(row["paused"]),
            prompt_cycle=row["prompt_cycle"],
            next_run_at=_time(row["next_run_at"]),
            last_error=row["last_error"],
        )


SCHEDULE_FIELDS = (
    "channel_id",
    "name",
    "kind",
    "exercise_id",
    "local_time",
    "weekdays",
    "timezone",
    "prompt_set",
    "window_minutes",
    "show_distribution",
    "paused",
    "prompt_cycle",
    "next_run_at",
    "last_error",
)


@dataclass(frozen=True)
class OccurrenceRow:
    id: int
    schedule_id: int | None
    guild_id: int
    channel_id: int
    kind: str
    exercise_id: str | None
    title: str
    scheduled_for: datetime
    prompt_key: str | None
    prompt_text: str | None
    prompt_cycle: int | None
    show_distribution: bool
    state: str
    claimed_at: datetime
    posted_at: datetime | None
    message_id: int | None
    thread_id: int | None
    closes_at: datetime
    remind_at: datetime | None
    reminded: bool
    closed: bool
    detail: str | None

    @classmethod
    def from_row(cls, row: Any) -> OccurrenceRow:
        return cls(
            id=row["id"],
            schedule_id=row["schedule_id"],
            guild_id=row["guild_id"],
            channel_id=row["channel_id"],
            kind=row["kind"],
            exercise_id=row["exercise_id"],
            title=row["title"],
            scheduled_for=_must_time(row["scheduled_for"]),
            prompt_key=row["prompt_key"],
            prompt_text=row["prompt_text"],
            prompt_cycle=row["prompt_cycle"],
            show_distribution=bool(row["show_distribution"]),
            state=row["state"],
            claimed_at=_must_time(row["claimed_at"]),
            posted_at=_time(row["posted_at"]),
            message_id=row["message_id"],
            thread_id=row["thread_id"],
            closes_at=_must_time(row["closes_at"]),
            remind_at=_time(row["remind_at"]),
            reminded=bool(row["reminded"]),
            closed=bool(row["closed"]),
            detail=row["detail"],
        )


@dataclass(frozen=True)
class NewOccurrence:
    """What a claim writes: everything the post needs, fixed before anything is sent."""

    schedule_id: int | None
    guild_id: int
    channel_id: int
    kind: str
    exercise_id: str | None
    title: str
    scheduled_for: datetime
    prompt_key: str | None
    prompt_text: str | None
    prompt_cycle: int | None
    show_distribution: bool
    claimed_at: datetime
    closes_at: datetime
    remind_at: datetime | None
    state: str = "claimed"
    detail: str | None = None


@dataclass(frozen=True)
class AnswerRow:
    id: int
    user_id: int
    guild_id: int | None
    occurrence_id: int | None
    mood: int | None
    passed: bool
    note: str | None  # opened
    note_visibility: str | None
    note_message_id: int | None
    answered_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AnonymousNoteRow:
    id: int
    guild_id: int
    occurrence_id: int
    note: str  # opened
    message_id: int | None  # opened


@dataclass(frozen=True)
class ReminderRow:
    user_id: int
    guild_id: int
    local_time: time
    weekdays: str
    timezone: str
    enabled: bool
    next_run_at: datetime | None
    dm_channel_id: int | None

    @classmethod
    def from_row(cls, row: Any) -> ReminderRow:
        hour, minute = (int(p) for p in row["local_time"].split(":"))
        return cls(
            user_id=row["user_id"],
            guild_id=row["guild_id"],
            local_time=time(hour, minute),
            weekdays=row["weekdays"],
            timezone=row["timezone"],
            enabled=bool(row["enabled"]),
            next_run_at=_time(row["next_run_at"]),
            dm_channel_id=row["dm_channel_id"],
        )


@dataclass(frozen=True)
class PauseRow:
    id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class MemberRow:
    user_id: int
    timezone: str | None
    dm_closed_notice: bool
    notice_channel_id: int | None


class CheckinStore:
    """All SQL for the check-ins area. Notes are sealed and opened here, never stored in the clear."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self.db = db
        self.keyring = keyring

    # ----- schedules ---------------------------------------------------------------------

    async def create_schedule(self, guild_id: int, now: datetime, **values: Any) -> ScheduleRow:
        """Insert a schedule and return it."""
        unknown = set(values) - set(SCHEDULE_FIELDS)
        if unknown:
            raise ValueError(f"unknown schedule fields: {sorted(unknown)}")
        values = {k: _column_value(v) for k, v in values.items()}
        columns = ["guild_id", *values, "created_at", "updated_at"]
        params = [guild_id, *values.values(), to_db_time(now), to_db_time(now)]
        marks = ", ".join("?" for _ in columns)
        new_id = await self.db.execute(
            f"INSERT INTO checkin_schedules ({', '.join(columns)}) VALUES ({marks})", params
        )
        schedule = await self.get_schedule(new_id)
        assert schedule is not None
        return schedule

    async def update_schedule(
        self, schedule_id: int, now: datetime, conn: Conn | None = None, **values: Any
    ) -> None:
        """Change some fields of a schedule."""
        unknown = set(values) - set(SCHEDULE_FIELDS)
        if unknown:
            raise ValueError(f"unknown schedule fields: {sorted(unknown)}")
        if not values:
            return
        sets = ", ".join(f"{column} = ?" for column in values)
        params = [*(_column_value(v) for v in values.values()), to_db_time(now), schedule_id]
        await (conn or self.db).execute(
            f"UPDATE checkin_schedules SET {sets}, updated_at = ? WHERE id = ?", params
        )

    async def get_schedule(self, schedule_id: int, guild_id: int | None = None) -> ScheduleRow | None:
        """Return one schedule (only if it belongs to `guild_id`, when given)."""
        row = await self.db.fetchone("SELECT * FROM checkin_schedules WHERE id = ?", (schedule_id,))
        if row is None or (guild_id is not None and row["guild_id"] != guild_id):
            return None
        return ScheduleRow.from_row(row)

    async def guild_schedules(self, guild_id: int) -> list[ScheduleRow]:
        """Return a guild's schedules, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM checkin_schedules WHERE guild_id = ? ORDER BY id", (guild_id,)
        )
        return [ScheduleRow.from_row(r) for r in rows]

    async def count_guild_schedules(self, guild_id: int) -> int:
        """Count a guild's schedules."""
        return int(
            await self.db.fetchval("SELECT COUNT(*) FROM checkin_schedules WHERE guild_id = ?", (guild_id,))
        )

    async def delete_schedule(self, schedule_id: int) -> None:
        """Delete a schedule; its past check-ins keep their answers until they are erased."""
        await self.db.execute("DELETE FROM checkin_schedules WHERE id = ?", (schedule_id,))

    async def due_schedule_ids(self, now: datetime) -> list[int]:
        """Return the ids of active schedules whose next run is at or before `now`, earliest first."""
        rows = await self.db.fetchall(
            "SELECT id FROM checkin_schedules WHERE paused = 0 AND next_run_at <= ? ORDER BY next_run_at, id",
            (to_db_time(now),),
        )
        return [r[0] for r in rows]

    async def due_schedules(self, now: datetime, conn: Conn, ids: list[int]) -> list[ScheduleRow]:
        """Return those of `ids` that are still active and due (read inside the claiming transaction)."""
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        rows = await conn.fetchall(
            f"SELECT * FROM checkin_schedules WHERE id IN ({marks}) AND paused = 0 AND next_run_at <= ? "
            "ORDER BY next_run_at, id",
            (*ids, to_db_time(now)),
        )
        return [ScheduleRow.from_row(r) for r in rows]

    async def schedules_without_next_run(self) -> list[ScheduleRow]:
        """Return active schedules that have no next run yet."""
        rows = await self.db.fetchall(
            "SELECT * FROM checkin_schedules WHERE paused = 0 AND next_run_at IS NULL"
        )
        return [ScheduleRow.from_row(r) for r in rows]

    async def next_wakeup(self) -> datetime | None:
        """Return the earliest moment anything is due: a schedule, a close, a reminder."""
        row = await self.db.fetchone(
            "SELECT MIN(t) FROM ("
            " SELECT MIN(next_run_at) AS t FROM checkin_schedules WHERE paused = 0"
            " UNION ALL SELECT MIN(closes_at) FROM checkin_occurrences WHERE state = 'posted' AND closed = 0"
            " UNION ALL SELECT MIN(closes_at) FROM checkin_occurrences WHERE state = 'unknown' AND closed = 0"
            " UNION ALL SELECT MIN(remind_at) FROM checkin_occurrences"
            "   WHERE state = 'posted' AND closed = 0 AND reminded = 0 AND remind_at IS NOT NULL"
            " UNION ALL SELECT MIN(next_run_at) FROM checkin_reminders WHERE enabled = 1)"
        )
        return _time(row[0]) if row else None

    # ----- prompts -----------------------------------------------------------------------

    async def add_prompt(self, guild_id: int, set_name: str, text: str, now: datetime) -> int:
        """Add a server's own prompt to a set and return its id."""
        return await self.db.execute(
            "INSERT INTO checkin_prompts (guild_id, set_name, text, created_at) VALUES (?, ?, ?, ?)",
            (guild_id, set_name, text, to_db_time(now)),
        )

    async def custom_prompts(self, guild_id: int, conn: Conn | None = None) -> list[tuple[int, str, str]]:
        """Return a server's own prompts as (id, set name, text), oldest first."""
        rows = await (conn or self.db).fetchall(
            "SELECT id, set_name, text FROM checkin_prompts WHERE guild_id = ? ORDER BY id", (guild_id,)
        )
        return [(r["id"], r["set_name"], r["text"]) for r in rows]

    async def remove_prompt(self, guild_id: int, prompt_id: int) -> bool:
        """Delete a server's own prompt; say whether there was one."""
        return bool(
            await self.db.execute(
                "DELETE FROM checkin_prompts WHERE guild_id = ? AND id = ?", (guild_id, prompt_id)
            )
        )

    async def hide_prompt(self, guild_id: int, prompt_key: str) -> bool:
        """Hide a built-in prompt for a server; say whether it was shown before."""
        return bool(
            await self.db.execute(
                "INSERT INTO checkin_hidden_prompts (guild_id, prompt_key) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                (guild_id, prompt_key),
            )
        )

    async def hidden_prompts(self, guild_id: int, conn: Conn | None = None) -> set[str]:
        """Return the keys of the built-in prompts a server hid."""
        rows = await (conn or self.db).fetchall(
            "SELECT prompt_key FROM checkin_hidden_prompts WHERE guild_id = ?", (guild_id,)
        )
        return {r[0] for r in rows}

    async def rotation_state(self, schedule_id: int, cycle: int, conn: Conn) -> tuple[set[str], str | None]:
        """Return the prompts a schedule used in its current cycle, and its most recent prompt."""
        # The most recent prompt is always in the current cycle or the one before it (an edit
        # of the prompt set starts a new cycle), so two cycles are enough.
        rows = await conn.fetchall(
            "SELECT prompt_key, prompt_cycle FROM checkin_occurrences WHERE schedule_id = ? "
            "AND prompt_cycle >= ? AND prompt_key IS NOT NULL AND state NOT IN ('skipped', 'failed') "
            "ORDER BY id DESC",
            (schedule_id, cycle - 1),
        )
        used = {r[0] for r in rows if r[1] == cycle}
        return used, rows[0][0] if rows else None

    # ----- occurrences -------------------------------------------------------------------

    async def claim(self, new: NewOccurrence, conn: Conn) -> OccurrenceRow | None:
        """Insert an occurrence unless one exists for the same schedule and time; return it, or None."""
        row = await conn.fetchone(
            "INSERT INTO checkin_occurrences (schedule_id, guild_id, channel_id, kind, exercise_id, title, "
            "scheduled_for, prompt_key, prompt_text, prompt_cycle, show_distribution, state, claimed_at, "
            "closes_at, remind_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING *",
            (
                new.schedule_id,
                new.guild_id,
                new.channel_id,
                new.kind,
                new.exercise_id,
                new.title,
                to_db_time(new.scheduled_for),
                new.prompt_key,
                new.prompt_text,
                new.prompt_cycle,
                int(new.show_distribution),
                new.state,
                to_db_time(new.claimed_at),
                to_db_time(new.closes_at),
                _opt(new.remind_at),
                new.detail,
            ),
        )
        return None if row is None else OccurrenceRow.from_row(row)

    async def get_occurrence(self, occurrence_id: int) -> OccurrenceRow | None:
        """Return one occurrence."""
        row = await self.db.fetchone("SELECT * FROM checkin_occurrences WHERE id = ?", (occurrence_id,))
        return None if row is None else OccurrenceRow.from_row(row)

    async def occurrence_by_thread(self, guild_id: int, thread_id: int) -> OccurrenceRow | None:
        """Return the check-in whose notes live in a thread."""
        row = await self.db.fetchone(
            "SELECT * FROM checkin_occurrences WHERE thread_id = ? AND guild_id = ?", (thread_id, guild_id)
        )
        return None if row is None else OccurrenceRow.from_row(row)

    async def schedule_occurrences(self, schedule_id: int) -> list[OccurrenceRow]:
        """Return a schedule's occurrences, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM checkin_occurrences WHERE schedule_id = ? ORDER BY id", (schedule_id,)
        )
        return [OccurrenceRow.from_row(r) for r in rows]

    async def confirm_posted(self, occurrence_id: int, message_id: int, now: datetime) -> None:
        """Record that a claimed occurrence's message exists."""
        await self.db.execute(
            "UPDATE checkin_occurrences SET state = 'posted', message_id = ?, posted_at = ? WHERE id = ?",
            (message_id, to_db_time(now), occurrence_id),
        )

    async def clear_last_error(self, schedule_id: int, now: datetime) -> None:
        """Forget why an active schedule's last post failed: a post of it has just worked."""
        await self.db.execute(
            "UPDATE checkin_schedules SET last_error = NULL, updated_at = ? "
            "WHERE id = ? AND last_error IS NOT NULL AND paused = 0",
            (to_db_time(now), schedule_id),
        )

    async def set_state(self, occurrence_id: int, state: str, detail: str | None = None) -> None:
        """Record that an occurrence was skipped, failed, or is in an unknown state."""
        await self.db.execute(
            "UPDATE checkin_occurrences SET state = ?, detail = ? WHERE id = ?",
            (state, detail, occurrence_id),
        )

    async def claimed_occurrences(self) -> list[OccurrenceRow]:
        """Return every occurrence claimed but not yet confirmed, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM checkin_occurrences WHERE state = 'claimed' ORDER BY claimed_at, id"
        )
        return [OccurrenceRow.from_row(r) for r in rows]

    async def occurrences_to_close(self, now: datetime) -> list[OccurrenceRow]:
        """Return posted (or unknown) occurrences whose window has ended but which are not marked closed."""
        rows = await self.db.fetchall(
            "SELECT * FROM checkin_occurrences WHERE state = 'posted' AND closed = 0 AND closes_at <= ? "
            "UNION ALL SELECT * FROM checkin_occurrences WHERE state = 'unknown' AND closed = 0 "
            "AND closes_at <= ? ORDER BY closes_at, id",
            (to_db_time(now), to_db_time(now)),
        )
        return [OccurrenceRow.from_row(r) for r in rows]

    async def mark_closed(self, occurrence_ids: Iterable[int]) -> None:
        """Mark occurrences closed (their message is then edited once)."""
        await self.db.executemany(
            "UPDATE checkin_occurrences SET closed = 1 WHERE id = ?", [(i,) for i in occurrence_ids]
        )

    async def claim_reminder_pass(self, now: datetime) -> list[OccurrenceRow]:
        """Mark open check-ins whose reminder time has come as reminded, and return them."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM checkin_occurrences WHERE state = 'posted' AND closed = 0 AND reminded = 0 "
                "AND kind = 'checkin' AND remind_at IS NOT NULL AND remind_at <= ? AND closes_at > ?",
                (to_db_time(now), to_db_time(now)),
            )
            for row in rows:
                await tx.execute("UPDATE checkin_occurrences SET reminded = 1 WHERE id = ?", (row["id"],))
        return [OccurrenceRow.from_row(r) for r in rows]

    async def skip_stale_reminders(self, now: datetime) -> int:
        """Mark reminders that can no longer be sent (their check-in has closed) as done."""
        return await self.db.execute(
            "UPDATE checkin_occurrences SET reminded = 1 WHERE reminded = 0 AND closes_at <= ?",
            (to_db_time(now),),
        )

    async def set_thread(self, occurrence_id: int, thread_id: int) -> None:
        """Remember the thread that holds a check-in's notes."""
        await self.db.execute(
            "UPDATE checkin_occurrences SET thread_id = ? WHERE id = ?", (thread_id, occurrence_id)
        )

    # ----- answers -----------------------------------------------------------------------

    def _answer(self, row: Any) -> AnswerRow:
        return AnswerRow(
            id=row["id"],
            user_id=row["user_id"],
            guild_id=row["guild_id"],
            occurrence_id=row["occurrence_id"],
            mood=row["mood"],
            passed=bool(row["passed"]),
            note=self.keyring.decrypt_optional(row["note"], context=NOTE_CONTEXT),
            note_visibility=row["note_visibility"],
            note_message_id=row["note_message_id"],
            answered_at=_must_time(row["answered_at"]),
            updated_at=_must_time(row["updated_at"]),
        )

    async def get_answer(self, occurrence_id: int, user_id: int) -> AnswerRow | None:
        """Return a member's answer to one check-in."""
        row = await self.db.fetchone(
            "SELECT * FROM checkin_answers WHERE occurrence_id = ? AND user_id = ?", (occurrence_id, user_id)
        )
        return None if row is None else self._answer(row)

    async def upsert_answer(
        self, occurrence_id: int, guild_id: int, user_id: int, now: datetime, **values: Any
    ) -> AnswerRow:
        """Create or change a member's one answer to a check-in and return it."""
        async with self.db.transaction() as tx:
            return await self._upsert_answer(tx, occurrence_id, guild_id, user_id, now, **values)

    async def _upsert_answer(
        self, tx: Transaction, occurrence_id: int, guild_id: int, user_id: int, now: datetime, **values: Any
    ) -> AnswerRow:
        allowed = {"mood", "passed", "note", "note_visibility", "note_message_id"}
        if set(values) - allowed:
            raise ValueError(f"unknown answer fields: {sorted(set(values) - allowed)}")
        if "note" in values:
            values["note"] = self.keyring.encrypt_optional(values["note"], context=NOTE_CONTEXT)
        if "passed" in values:
            values["passed"] = int(values["passed"])
        stamp = to_db_time(now)
        await tx.execute(
            "INSERT INTO checkin_answers (user_id, guild_id, occurrence_id, answered_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (user_id, guild_id, occurrence_id, stamp, stamp),
        )
        if values:
            sets = ", ".join(f"{c} = ?" for c in values)
            await tx.execute(
                f"UPDATE checkin_answers SET {sets}, updated_at = ? "
                "WHERE occurrence_id = ? AND user_id = ?",
                (*values.values(), stamp, occurrence_id, user_id),
            )
        row = await tx.fetchone(
            "SELECT * FROM checkin_answers WHERE occurrence_id = ? AND user_id = ?",
            (occurrence_id, user_id),
        )
        assert row is not None
        return self._answer(row)

    async def store_note(
        self,
        occurrence_id: int,
        guild_id: int,
        user_id: int,
        ban_key: str,
        note: str,
        visibility: str,
        now: datetime,
        *,
        keep_message_id: int | None,
    ) -> None:
        """Store a member's note at a visibility in one transaction, so a failure leaves nothing half-done.

        An anonymous note goes under a per-check-in author key, and the member's own answer (if
        any) loses its note *without* a new `updated_at` and is never created for it: a time
        written there would line up with the anonymous note. Any other note goes in the
        member's answer, and an anonymous one of theirs is removed.
        """
        author_key = anonymous_author_key(self.keyring, guild_id, occurrence_id, ban_key)
        async with self.db.transaction() as tx:
            if visibility == "anonymous":
                await tx.execute(
                    "INSERT INTO checkin_anonymous_notes "
                    "(guild_id, occurrence_id, author_key, author, note, written_on) "
                    "VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (occurrence_id, author_key) DO UPDATE SET note = excluded.note",
                    (
                        guild_id,
                        occurrence_id,
                        author_key,
                        self.keyring.encrypt(ban_key, context=ANON_AUTHOR_CONTEXT),
                        self.keyring.encrypt(note, context=ANON_NOTE_CONTEXT),
                        day_of(now),
                    ),
                )
                await tx.execute(
                    "UPDATE checkin_answers SET note = NULL, note_visibility = NULL, note_message_id = NULL "
                    "WHERE occurrence_id = ? AND user_id = ? AND note IS NOT NULL",
                    (occurrence_id, user_id),
                )
                return
            await tx.execute(
                "DELETE FROM checkin_anonymous_notes WHERE occurrence_id = ? AND author_key = ?",
                (occurrence_id, author_key),
            )
            await self._upsert_answer(
                tx, occurrence_id, guild_id, user_id, now,
                note=note, note_visibility=visibility, note_message_id=keep_message_id,
            )

    async def set_note_message(self, occurrence_id: int, user_id: int, message_id: int | None) -> None:
        """Remember which thread message shows a member's group note."""
        await self.db.execute(
            "UPDATE checkin_answers SET note_message_id = ? WHERE occurrence_id = ? AND user_id = ?",
            (message_id, occurrence_id, user_id),
        )

    async def add_personal_answer(
        self, user_id: int, guild_id: int | None, mood: int, note: str | None, now: datetime
    ) -> AnswerRow:
        """Store a personal check-in (/checkin or a reminder's buttons); its note is private."""
        sealed = self.keyring.encrypt_optional(note, context=NOTE_CONTEXT)
        new_id = await self.db.execute(
            "INSERT INTO checkin_answers (user_id, guild_id, occurrence_id, mood, note, note_visibility, "
            "answered_at, updated_at) VALUES (?, ?, NULL, ?, ?, ?, ?, ?)",
            (user_id, guild_id, mood, sealed, "private" if note else None, to_db_time(now), to_db_time(now)),
        )
        row = await self.db.fetchone("SELECT * FROM checkin_answers WHERE id = ?", (new_id,))
        return self._answer(row)

    async def answer_counts(self, occurrence_id: int) -> tuple[int, dict[int, int]]:
        """Return how many members answered a check-in, and how many chose each mood."""
        rows = await self.db.fetchall(
            "SELECT mood, COUNT(*) FROM checkin_answers WHERE occurrence_id = ? GROUP BY mood",
            (occurrence_id,),
        )
        total = sum(r[1] for r in rows)
        return total, {r[0]: r[1] for r in rows if r[0] is not None}

    async def anonymous_note_count(self, occurrence_id: int) -> int:
        """Count a check-in's anonymous notes (counted apart from answers, which they never touch)."""
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM checkin_anonymous_notes WHERE occurrence_id = ?", (occurrence_id,)
            )
        )

    async def user_moods(self, user_id: int, since: datetime) -> list[tuple[datetime, int]]:
        """Return a member's moods since a moment, as (when, mood), oldest first."""
        rows = await self.db.fetchall(
            "SELECT answered_at, mood FROM checkin_answers WHERE user_id = ? AND answered_at >= ? "
            "AND mood IS NOT NULL ORDER BY answered_at",
            (user_id, to_db_time(since)),
        )
        return [(_must_time(r[0]), r[1]) for r in rows]

    async def user_checkin_times(self, user_id: int, since: datetime) -> list[datetime]:
        """Return when a member checked in (any answer, a pass included) since a moment."""
        rows = await self.db.fetchall(
            "SELECT answered_at FROM checkin_answers WHERE user_id = ? AND answered_at >= ? "
            "ORDER BY answered_at",
            (user_id, to_db_time(since)),
        )
        return [_must_time(r[0]) for r in rows]

    # ----- anonymous notes ---------------------------------------------------------------

    def _anonymous(self, row: Any) -> AnonymousNoteRow:
        message = self.keyring.decrypt_optional(row["message"], context=ANON_MESSAGE_CONTEXT)
        return AnonymousNoteRow(
            id=row["id"],
            guild_id=row["guild_id"],
            occurrence_id=row["occurrence_id"],
            note=self.keyring.decrypt(row["note"], context=ANON_NOTE_CONTEXT),
            message_id=None if message is None else int(message),
        )

    async def get_anonymous_note(
        self, guild_id: int, occurrence_id: int, ban_key: str
    ) -> AnonymousNoteRow | None:
        """Return the anonymous note a member (by ban key) wrote on one check-in."""
        row = await self.db.fetchone(
            "SELECT * FROM checkin_anonymous_notes WHERE occurrence_id = ? AND author_key = ?",
            (occurrence_id, anonymous_author_key(self.keyring, guild_id, occurrence_id, ban_key)),
        )
        return None if row is None else self._anonymous(row)

    async def anonymous_notes(self, occurrence_id: int) -> list[AnonymousNoteRow]:
        """Return a check-in's anonymous notes, opened (to find the one a thread message shows)."""
        rows = await self.db.fetchall(
            "SELECT * FROM checkin_anonymous_notes WHERE occurrence_id = ? ORDER BY id", (occurrence_id,)
        )
        return [self._anonymous(r) for r in rows]

    async def anonymous_author_keys(self, occurrence_id: int) -> set[str]:
        """Return the keyed hashes that stand for the authors of a check-in's anonymous notes."""
        rows = await self.db.fetchall(
            "SELECT author_key FROM checkin_anonymous_notes WHERE occurrence_id = ?", (occurrence_id,)
        )
        return {r["author_key"] for r in rows}

    async def set_anonymous_message(self, note_id: int, message_id: int | None) -> None:
        """Remember (sealed) which thread message shows an anonymous note."""
        await self.db.execute(
            "UPDATE checkin_anonymous_notes SET message = ? WHERE id = ?",
            (_seal_message(self.keyring, message_id), note_id),
        )

    async def adopt_legacy_anonymous_notes(self) -> int:
        """Move anonymous notes an older Hearth kept under plain ban keys into the per-check-in form.

        The migration renamed the old table; its rows need the key ring, so they move here (once,
        at start) and the old table is dropped. Return how many moved.
        """
        if not await _table_exists(self.db, LEGACY_ANON_TABLE):
            return 0
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT guild_id, occurrence_id, ban_key, note, message_id, created_at "
                f"FROM {LEGACY_ANON_TABLE}"
            )
            for row in rows:
                guild_id, occurrence_id, ban_key = row["guild_id"], row["occurrence_id"], row["ban_key"]
                await tx.execute(
                    "INSERT INTO checkin_anonymous_notes "
                    "(guild_id, occurrence_id, author_key, author, note, message, written_on) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (
                        guild_id,
                        occurrence_id,
                        anonymous_author_key(self.keyring, guild_id, occurrence_id, ban_key),
                        self.keyring.encrypt(ban_key, context=ANON_AUTHOR_CONTEXT),
                        row["note"],
                        _seal_message(self.keyring, row["message_id"]),
                        day_of(_must_time(row["created_at"])),
                    ),
                )
            await tx.execute(f"DROP TABLE {LEGACY_ANON_TABLE}")
        return len(rows)

    # ----- reminders, members and pauses ----------------------------------------------

    async def upsert_reminder(self, user_id: int, guild_id: int, now: datetime, **values: Any) -> None:
        """Turn a member's reminders on (or change them) for one server."""
        stamp = to_db_time(now)
        values = {k: _column_value(v) for k, v in values.items()}
        columns = ["user_id", "guild_id", *values, "enabled", "created_at", "updated_at"]
        params = [user_id, guild_id, *values.values(), 1, stamp, stamp]
        updates = ", ".join(f"{c} = excluded.{c}" for c in [*values, "enabled", "updated_at"])
        await self.db.execute(
            f"INSERT INTO checkin_reminders ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT (user_id, guild_id) DO UPDATE SET {updates}",
            params,
        )

    async def get_reminder(self, user_id: int, guild_id: int) -> ReminderRow | None:
        """Return a member's reminder settings for one server."""
        row = await self.db.fetchone(
            "SELECT * FROM checkin_reminders WHERE user_id = ? AND guild_id = ?", (user_id, guild_id)
        )
        return None if row is None else ReminderRow.from_row(row)

    async def disable_reminders(self, user_id: int, now: datetime, guild_id: int | None = None) -> int:
        """Turn reminders off for one server, or everywhere when no server is given."""
        if guild_id is None:
            return await self.db.execute(
                "UPDATE checkin_reminders SET enabled = 0, next_run_at = NULL, updated_at = ? "
                "WHERE user_id = ?",
                (to_db_time(now), user_id),
            )
        return await self.db.execute(
            "UPDATE checkin_reminders SET enabled = 0, next_run_at = NULL, updated_at = ? "
            "WHERE user_id = ? AND guild_id = ?",
            (to_db_time(now), user_id, guild_id),
        )

    async def due_reminders(self, now: datetime) -> list[ReminderRow]:
        """Return enabled personal reminders whose time has come."""
        rows = await self.db.fetchall(
            "SELECT * FROM checkin_reminders WHERE enabled = 1 AND next_run_at <= ? ORDER BY next_run_at",
            (to_db_time(now),),
        )
        return [ReminderRow.from_row(r) for r in rows]

    async def set_reminder_next_run(self, user_id: int, guild_id: int, next_run_at: datetime | None) -> None:
        """Move a personal reminder to its next time."""
        await self.db.execute(
            "UPDATE checkin_reminders SET next_run_at = ? WHERE user_id = ? AND guild_id = ?",
            (_opt(next_run_at), user_id, guild_id),
        )

    async def set_dm_channel(self, user_id: int, dm_channel_id: int) -> None:
        """Remember a member's DM channel, saving a request per reminder."""
        await self.db.execute(
            "UPDATE checkin_reminders SET dm_channel_id = ? WHERE user_id = ?", (dm_channel_id, user_id)
        )

    async def reminder_recipients(
        self, occurrence_id: int, guild_id: int, now: datetime
    ) -> list[ReminderRow]:
        """Return members of a server who opted in, are not paused, and have no answer on a check-in.

        An anonymous note is not linked to its author here; the service leaves its author out.
        """
        rows = await self.db.fetchall(
            "SELECT r.* FROM checkin_reminders r WHERE r.guild_id = ? AND r.enabled = 1 "
            "AND NOT EXISTS (SELECT 1 FROM checkin_answers a "
            "                WHERE a.occurrence_id = ? AND a.user_id = r.user_id) "
            "AND NOT EXISTS (SELECT 1 FROM checkin_pauses p WHERE p.user_id = r.user_id "
            "                AND p.starts_at <= ? AND p.ends_at > ?) "
            "ORDER BY r.user_id",
            (guild_id, occurrence_id, to_db_time(now), to_db_time(now)),
        )
        return [ReminderRow.from_row(r) for r in rows]

    async def get_member(self, user_id: int) -> MemberRow | None:
        """Return a member's check-in facts."""
        row = await self.db.fetchone("SELECT * FROM checkin_members WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        return MemberRow(
            row["user_id"], row["timezone"], bool(row["dm_closed_notice"]), row["notice_channel_id"]
        )

    async def set_member_timezone(self, user_id: int, timezone: str, now: datetime) -> None:
        """Remember the zone a member's days are counted in."""
        await self.db.execute(
            "INSERT INTO checkin_members (user_id, timezone, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone, "
            "updated_at = excluded.updated_at",
            (user_id, timezone, to_db_time(now)),
        )

    async def set_dm_closed_notice(self, user_id: int, channel_id: int | None, now: datetime) -> None:
        """Leave a notice for a member whose DMs turned out to be closed."""
        await self.db.execute(
            "INSERT INTO checkin_members (user_id, dm_closed_notice, notice_channel_id, updated_at) "
            "VALUES (?, 1, ?, ?) ON CONFLICT (user_id) DO UPDATE SET dm_closed_notice = 1, "
            "notice_channel_id = excluded.notice_channel_id, updated_at = excluded.updated_at",
            (user_id, channel_id, to_db_time(now)),
        )

    async def take_dm_closed_notice(self, user_id: int) -> tuple[bool, int | None]:
        """Return and clear a member's waiting notice, so it is shown once."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT dm_closed_notice, notice_channel_id FROM checkin_members WHERE user_id = ?",
                (user_id,),
            )
            if row is None or not row[0]:
                return False, None
            await tx.execute("UPDATE checkin_members SET dm_closed_notice = 0 WHERE user_id = ?", (user_id,))
        return True, row[1]

    async def add_pause(self, user_id: int, starts_at: datetime, ends_at: datetime) -> None:
        """Pause a member from now until `ends_at`, ending any pause already running."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE checkin_pauses SET ends_at = ? WHERE user_id = ? AND ends_at > ?",
                (to_db_time(starts_at), user_id, to_db_time(starts_at)),
            )
            if ends_at > starts_at:
                await tx.execute(
                    "INSERT INTO checkin_pauses (user_id, starts_at, ends_at) VALUES (?, ?, ?)",
                    (user_id, to_db_time(starts_at), to_db_time(ends_at)),
                )

    async def pauses(self, user_id: int, since: datetime) -> list[PauseRow]:
        """Return a member's pauses that end after `since`."""
        rows = await self.db.fetchall(
            "SELECT id, starts_at, ends_at FROM checkin_pauses WHERE user_id = ? AND ends_at > ? "
            "ORDER BY starts_at",
            (user_id, to_db_time(since)),
        )
        return [PauseRow(r[0], _must_time(r[1]), _must_time(r[2])) for r in rows]


def _column_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return to_db_time(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


# ----- personal data (/mydata) ----------------------------------------------------------------


async def export_member(db: Database, keyring: Keyring, member: MemberRef) -> dict[str, Any]:
    """Return everything the check-ins area holds about one member, notes opened."""
    answers = await db.fetchall(
        "SELECT a.guild_id, a.occurrence_id, a.mood, a.passed, a.note, a.note_visibility, a.answered_at, "
        "a.updated_at, o.title FROM checkin_answers a "
        "LEFT JOIN checkin_occurrences o ON o.id = a.occurrence_id "
        "WHERE a.user_id = ? ORDER BY a.answered_at",
        (member.user_id,),
    )
    anonymous = [
        {
            "guild_id": r["guild_id"],
            "check_in": r["occurrence_id"],
            "note": keyring.decrypt(r["note"], context=ANON_NOTE_CONTEXT),
            "written_on": r["written_on"][:10],
        }
        for r in await _anonymous_rows(db, keyring, member)
    ]
    reminders = await db.fetchall(
        "SELECT guild_id, local_time, weekdays, timezone, enabled FROM checkin_reminders WHERE user_id = ?",
        (member.user_id,),
    )
    pauses = await db.fetchall(
        "SELECT starts_at, ends_at FROM checkin_pauses WHERE user_id = ? ORDER BY starts_at",
        (member.user_id,),
    )
    facts = await db.fetchone(
        "SELECT timezone, dm_closed_notice FROM checkin_members WHERE user_id = ?", (member.user_id,)
    )
    return {
        "answers": [
            {
                "guild_id": r["guild_id"],
                "check_in": r["occurrence_id"],
                "check_in_title": r["title"],
                "mood": r["mood"],
                "passed": bool(r["passed"]),
                "note": keyring.decrypt_optional(r["note"], context=NOTE_CONTEXT),
                "note_visibility": r["note_visibility"],
                "answered_at": r["answered_at"],
                "changed_at": r["updated_at"],
            }
            for r in answers
        ],
        "anonymous_notes": anonymous,
        "reminders": [
            {
                "guild_id": r["guild_id"] or None,
                "time": r["local_time"],
                "weekdays": r["weekdays"],
                "timezone": r["timezone"],
                "enabled": bool(r["enabled"]),
            }
            for r in reminders
        ],
        "pauses": [{"from": r[0], "until": r[1]} for r in pauses],
        "settings": None if facts is None else {"timezone": facts[0], "dm_closed_notice": bool(facts[1])},
    }


async def _table_exists(conn: Conn, table: str) -> bool:
    found = await conn.fetchval("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return bool(found)


def _keyring_of(member: MemberRef) -> Keyring:
    if member.keyring is None:
        # Without the key the member's anonymous notes cannot be found: refuse rather than miss them.
        raise ValueError("finding a member's anonymous check-in notes needs MemberRef.keyring")
    return member.keyring


async def _anonymous_rows(conn: Conn, keyring: Keyring, member: MemberRef) -> list[Any]:
    """Return the member's anonymous notes, working out their author key on every check-in with notes."""
    found: list[Any] = []
    for guild_id, ban_key in sorted(member.ban_keys.items()):
        occurrences = await conn.fetchall(
            "SELECT DISTINCT occurrence_id FROM checkin_anonymous_notes WHERE guild_id = ?", (guild_id,)
        )
        for (occurrence_id,) in occurrences:
            row = await conn.fetchone(
                "SELECT n.*, o.thread_id FROM checkin_anonymous_notes n "
                "JOIN checkin_occurrences o ON o.id = n.occurrence_id "
                "WHERE n.occurrence_id = ? AND n.author_key = ?",
                (occurrence_id, anonymous_author_key(keyring, guild_id, occurrence_id, ban_key)),
            )
            if row is not None:
                found.append(row)
    return found


async def erase_member(tx: Transaction, member: MemberRef) -> None:
    """Delete every check-ins row about one member."""
    await tx.execute("DELETE FROM checkin_answers WHERE user_id = ?", (member.user_id,))
    for row in await _anonymous_rows(tx, _keyring_of(member), member):
        await tx.execute("DELETE FROM checkin_anonymous_notes WHERE id = ?", (row["id"],))
    if await _table_exists(tx, LEGACY_ANON_TABLE):  # not yet moved by a start of the check-ins area
        for guild_id, ban_key in member.ban_keys.items():
            await tx.execute(
                f"DELETE FROM {LEGACY_ANON_TABLE} WHERE guild_id = ? AND ban_key = ?", (guild_id, ban_key)
            )
    await tx.execute("DELETE FROM checkin_reminders WHERE user_id = ?", (member.user_id,))
    await tx.execute("DELETE FROM checkin_pauses WHERE user_id = ?", (member.user_id,))
    await tx.execute("DELETE FROM checkin_members WHERE user_id = ?", (member.user_id,))


async def named_note_messages(db: Database, member: MemberRef) -> list[PostedMessage]:
    """List the thread messages showing a member's notes under their name, as (channel, message)."""
    rows = await db.fetchall(
        "SELECT o.thread_id, a.note_message_id FROM checkin_answers a "
        "JOIN checkin_occurrences o ON o.id = a.occurrence_id "
        "WHERE a.user_id = ? AND a.note_message_id IS NOT NULL AND o.thread_id IS NOT NULL",
        (member.user_id,),
    )
    return [(int(r[0]), int(r[1])) for r in rows]


async def anonymous_note_messages(db: Database, member: MemberRef) -> list[PostedMessage]:
    """List the thread messages showing a member's anonymous notes, as (channel, message)."""
    found: list[PostedMessage] = []
    keyring = _keyring_of(member)
    for row in await _anonymous_rows(db, keyring, member):
        message = keyring.decrypt_optional(row["message"], context=ANON_MESSAGE_CONTEXT)
        if message is not None and row["thread_id"] is not None:
            found.append((int(row["thread_id"]), int(message)))
    return found


async def anonymous_authors(db: Database, keyring: Keyring) -> set[tuple[int, str]]:
    """Return the (guild id, ban key) of every anonymous note's author (the key is kept sealed)."""
    rows = await db.fetchall("SELECT guild_id, author FROM checkin_anonymous_notes")
    return {(int(r[0]), keyring.decrypt(r[1], context=ANON_AUTHOR_CONTEXT)) for r in rows}


PERSONAL_DATA = register_personal_data(
    PersonalData(
        "checkins",
        export_member,
        erase_member,
        posts=anonymous_note_messages,
        named_posts=named_note_messages,
        authors=anonymous_authors,
        description=(
            "Your moods, check-in notes (sealed) and pauses; anonymous notes are found by a one-way key, "
            "never by your id. Your reminder settings and time zone are not aged out: they stay (switched "
            "off, if you turn reminders off) until you erase your data."
        ),
        retention="moods",
    )
)
register_sensitive_column("checkin_answers", "note", NOTE_CONTEXT, key_column="id")
register_sensitive_column("checkin_anonymous_notes", "note", ANON_NOTE_CONTEXT, key_column="id")
register_sensitive_column("checkin_anonymous_notes", "author", ANON_AUTHOR_CONTEXT, key_column="id")
register_sensitive_column("checkin_anonymous_notes", "message", ANON_MESSAGE_CONTEXT, key_column="id")
register_retention(RetentionRule("moods", "checkin_answers", "answered_at"))
register_retention(RetentionRule("moods", "checkin_anonymous_notes", "written_on"))
register_retention(RetentionRule("moods", "checkin_pauses", "ends_at"))
