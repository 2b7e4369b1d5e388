"""Queries for exercise sessions: where a member (or a group) is in a step exercise."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.crypto import Keyring
from bot.storage.db import Database, Transaction, from_db_time, to_db_time
from bot.storage.personal import MemberRef, PersonalData, register_personal_data
from bot.storage.privacy import RetentionRule, register_retention, register_sensitive_column

ANSWERS_CONTEXT = "exercise_sessions.answers"

_COLUMNS = (
    "id, guild_id, user_id, exercise_id, mode, step, status, answers, channel_id, message_id, "
    "started_at, updated_at"
)


@dataclass(frozen=True)
class ExerciseSession:
    """One run of a step exercise; `answers` are the decrypted thought-record answers so far."""

    id: int
    guild_id: int
    user_id: int | None
    exercise_id: str
    mode: str
    step: int
    status: str
    answers: dict[str, str]
    channel_id: int | None
    message_id: int | None
    started_at: datetime
    updated_at: datetime

    @property
    def is_group(self) -> bool:
        """Say whether a whole channel follows this session together."""
        return self.mode == "group"

    @property
    def is_active(self) -> bool:
        """Say whether the session can still move."""
        return self.status == "active"


class ExerciseSessionStore:
    """Reads and writes `exercise_sessions`, sealing answers under the keyring."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self.db = db
        self.keyring = keyring

    def _row(self, row: Any) -> ExerciseSession:
        answers: dict[str, str] = {}
        if row["answers"]:
            answers = json.loads(self.keyring.decrypt(row["answers"], context=ANSWERS_CONTEXT))
        started = from_db_time(row["started_at"])
        updated = from_db_time(row["updated_at"])
        assert started is not None and updated is not None
        return ExerciseSession(
            id=row["id"], guild_id=row["guild_id"], user_id=row["user_id"], exercise_id=row["exercise_id"],
            mode=row["mode"], step=row["step"], status=row["status"], answers=answers,
            channel_id=row["channel_id"], message_id=row["message_id"],
            started_at=started, updated_at=updated,
        )

    def _seal(self, answers: dict[str, str]) -> str | None:
        return self.keyring.encrypt(json.dumps(answers), context=ANSWERS_CONTEXT) if answers else None

    async def create(
        self, *, guild_id: int, user_id: int | None, exercise_id: str, now: datetime,
        channel_id: int | None = None,
    ) -> ExerciseSession:
        """Start a session at the first step; a session without a user is a group session."""
        mode = "private" if user_id is not None else "group"
        session_id = await self.db.execute(
            "INSERT INTO exercise_sessions (guild_id, user_id, exercise_id, mode, channel_id, started_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (guild_id, user_id, exercise_id, mode, channel_id, to_db_time(now), to_db_time(now)),
        )
        session = await self.get(session_id)
        assert session is not None
        return session

    async def get(self, session_id: int) -> ExerciseSession | None:
        """Return one session, or None."""
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM exercise_sessions WHERE id = ?", (session_id,))
        return None if row is None else self._row(row)

    async def move(
        self, session_id: int, *, from_step: int, to_step: int, now: datetime,
        answers: dict[str, str] | None = None,
    ) -> bool:
        """Move an active session from one step to another; False if someone else moved it first."""
        if answers is None:
            changed = await self.db.execute(
                "UPDATE exercise_sessions SET step = ?, updated_at = ? "
                "WHERE id = ? AND step = ? AND status = 'active'",
                (to_step, to_db_time(now), session_id, from_step),
            )
        else:
            changed = await self.db.execute(
                "UPDATE exercise_sessions SET step = ?, answers = ?, updated_at = ? "
                "WHERE id = ? AND step = ? AND status = 'active'",
                (to_step, self._seal(answers), to_db_time(now), session_id, from_step),
            )
        return changed == 1

    async def end(
        self, session_id: int, *, status: str, now: datetime, conn: Database | Transaction | None = None
    ) -> bool:
        """Finish or stop an active session and forget its answers; False if it had already ended."""
        changed = await (conn or self.db).execute(
            "UPDATE exercise_sessions SET status = ?, answers = NULL, updated_at = ? "
            "WHERE id = ? AND status = 'active'",
            (status, to_db_time(now), session_id),
        )
        return changed == 1

    async def set_message(self, session_id: int, *, channel_id: int, message_id: int) -> None:
        """Remember where a group session's public message is."""
        await self.db.execute(
            "UPDATE exercise_sessions SET channel_id = ?, message_id = ? WHERE id = ?",
            (channel_id, message_id, session_id),
        )

    async def active_private(self, user_id: int, guild_id: int) -> list[ExerciseSession]:
        """Return a member's active private sessions in a guild, newest first."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM exercise_sessions "
            "WHERE user_id = ? AND guild_id = ? AND status = 'active' ORDER BY id DESC",
            (user_id, guild_id),
        )
        return [self._row(row) for row in rows]

    async def stop_active(
        self, user_id: int, guild_id: int, now: datetime, *, keep: int | None = None
    ) -> int:
        """Stop a member's active private sessions in a guild, except the one `keep` names."""
        return await self.db.execute(
            "UPDATE exercise_sessions SET status = 'stopped', answers = NULL, updated_at = ? "
            "WHERE user_id = ? AND guild_id = ? AND status = 'active' AND id != ?",
            (to_db_time(now), user_id, guild_id, -1 if keep is None else keep),
        )


async def _export(db: Database, keyring: Keyring, member: MemberRef) -> list[dict[str, Any]]:
    store = ExerciseSessionStore(db, keyring)
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM exercise_sessions WHERE user_id = ? ORDER BY id", (member.user_id,)
    )
    sessions = [store._row(row) for row in rows]
    return [
        {
            "guild_id": s.guild_id,
            "exercise": s.exercise_id,
            "step": s.step + 1,
            "status": s.status,
            "answers_so_far": s.answers,
            "started_at": to_db_time(s.started_at),
            "updated_at": to_db_time(s.updated_at),
        }
        for s in sessions
    ]


async def _erase(tx: Transaction, member: MemberRef) -> None:
    await tx.execute("DELETE FROM exercise_sessions WHERE user_id = ?", (member.user_id,))


register_personal_data(PersonalData(
    "exercise_sessions", _export, _erase,
    description="Where you are in step-by-step exercises, and thought-record answers until you finish "
                "(encrypted).",
    retention="exercise_state",
))
register_sensitive_column("exercise_sessions", "answers", ANSWERS_CONTEXT, "id")
register_retention(RetentionRule("exercise_state", "exercise_sessions", "updated_at"))
