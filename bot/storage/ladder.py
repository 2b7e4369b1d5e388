"""Queries for the trust ladder: a member's steps (titles encrypted) and their discomfort logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.crypto import Keyring
from bot.storage.db import Database, Transaction, from_db_time, to_db_time
from bot.storage.personal import MemberRef, PersonalData, register_personal_data
from bot.storage.privacy import RetentionRule, register_retention, register_sensitive_column

TITLE_CONTEXT = "ladder_steps.title"


@dataclass(frozen=True)
class LadderLog:
    """One practice of a step: how uncomfortable it felt before and after (0-100)."""

    id: int
    step_id: int
    before: int
    after: int
    logged_at: datetime


@dataclass(frozen=True)
class LadderStep:
    """One rung of a member's ladder, with every time they practised it (oldest first)."""

    id: int
    guild_id: int
    user_id: int
    title: str
    difficulty: int
    created_at: datetime
    logs: tuple[LadderLog, ...] = ()


class LadderStore:
    """Reads and writes `ladder_steps` and `ladder_logs`."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self.db = db
        self.keyring = keyring

    def _step(self, row: Any, logs: tuple[LadderLog, ...] = ()) -> LadderStep:
        created = from_db_time(row["created_at"])
        assert created is not None
        return LadderStep(
            id=row["id"], guild_id=row["guild_id"], user_id=row["user_id"],
            title=self.keyring.decrypt(row["title"], context=TITLE_CONTEXT), difficulty=row["difficulty"],
            created_at=created, logs=logs,
        )

    @staticmethod
    def _log(row: Any) -> LadderLog:
        logged = from_db_time(row["logged_at"])
        assert logged is not None
        return LadderLog(row["id"], row["step_id"], row["discomfort_before"], row["discomfort_after"], logged)

    async def add_step(
        self, *, guild_id: int, user_id: int, title: str, difficulty: int, now: datetime
    ) -> int:
        """Store a new step and return its id."""
        return await self.db.execute(
            "INSERT INTO ladder_steps (guild_id, user_id, title, difficulty, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (guild_id, user_id, self.keyring.encrypt(title, context=TITLE_CONTEXT), difficulty,
             to_db_time(now)),
        )

    async def count_steps(self, guild_id: int, user_id: int) -> int:
        """Return how many steps a member's ladder has in a guild."""
        return int(await self.db.fetchval(
            "SELECT COUNT(*) FROM ladder_steps WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        ))

    async def steps(self, guild_id: int, user_id: int) -> list[LadderStep]:
        """Return a member's steps, easiest first, each with its logs."""
        rows = await self.db.fetchall(
            "SELECT * FROM ladder_steps WHERE guild_id = ? AND user_id = ? ORDER BY difficulty, id",
            (guild_id, user_id),
        )
        log_rows = await self.db.fetchall(
            "SELECT * FROM ladder_logs WHERE guild_id = ? AND user_id = ? ORDER BY id", (guild_id, user_id)
        )
        logs: dict[int, list[LadderLog]] = {}
        for log_row in log_rows:
            logs.setdefault(log_row["step_id"], []).append(self._log(log_row))
        return [self._step(row, tuple(logs.get(row["id"], ()))) for row in rows]

    async def step(self, step_id: int) -> LadderStep | None:
        """Return one step with its logs, or None."""
        row = await self.db.fetchone("SELECT * FROM ladder_steps WHERE id = ?", (step_id,))
        if row is None:
            return None
        log_rows = await self.db.fetchall(
            "SELECT * FROM ladder_logs WHERE step_id = ? ORDER BY id", (step_id,)
        )
        return self._step(row, tuple(self._log(r) for r in log_rows))

    async def add_log(self, step: LadderStep, *, before: int, after: int, now: datetime) -> int:
        """Record one practice of a step."""
        return await self.db.execute(
            "INSERT INTO ladder_logs "
            "(step_id, guild_id, user_id, discomfort_before, discomfort_after, logged_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (step.id, step.guild_id, step.user_id, before, after, to_db_time(now)),
        )

    async def remove_step(self, step_id: int, user_id: int) -> bool:
        """Delete one of a member's steps and its logs; False if it was not theirs."""
        return await self.db.execute(
            "DELETE FROM ladder_steps WHERE id = ? AND user_id = ?", (step_id, user_id)
        ) == 1


async def _export(db: Database, keyring: Keyring, member: MemberRef) -> list[dict[str, Any]]:
    store = LadderStore(db, keyring)
    rows = await db.fetchall("SELECT * FROM ladder_steps WHERE user_id = ? ORDER BY id", (member.user_id,))
    exported = []
    for row in rows:
        step = await store.step(row["id"])
        assert step is not None
        exported.append({
            "guild_id": step.guild_id,
            "step": step.title,
            "difficulty": step.difficulty,
            "added_at": to_db_time(step.created_at),
            "practice": [
                {"discomfort_before": log.before, "discomfort_after": log.after,
                 "logged_at": to_db_time(log.logged_at)}
                for log in step.logs
            ],
        })
    return exported


async def _erase(tx: Transaction, member: MemberRef) -> None:
    await tx.execute("DELETE FROM ladder_logs WHERE user_id = ?", (member.user_id,))
    await tx.execute("DELETE FROM ladder_steps WHERE user_id = ?", (member.user_id,))


register_personal_data(PersonalData(
    "trust_ladder", _export, _erase,
    description="Your steps (encrypted; they stay until you remove them) and the ratings you logged.",
    # `[retention] ladder_days` ages out the ratings (ladder_logs); the steps have no retention.
    retention="ladder",
))
register_sensitive_column("ladder_steps", "title", TITLE_CONTEXT, "id")
register_retention(RetentionRule("ladder", "ladder_logs", "logged_at"))
