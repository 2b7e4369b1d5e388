"""Queries for notices to moderators that wait until they are delivered (see migration 0011)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.crypto import Keyring
from bot.storage.db import Database, Transaction, from_db_time, to_db_time
from bot.storage.personal import MemberRef, PersonalData, register_personal_data
from bot.storage.privacy import register_sensitive_column

BODY_CONTEXT = "moderator_notices.body"


@dataclass(frozen=True)
class Notice:
    """One notice for moderators, its body opened."""

    id: int
    guild_id: int
    topic: str | None
    channel_id: int | None
    body: dict[str, Any]
    attempts: int
    created_at: datetime
    delivered_at: datetime | None


class NoticeStore:
    """Reads and writes `moderator_notices`; bodies are sealed, since an alert may name a member."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self.db = db
        self.keyring = keyring

    def _notice(self, row: Any) -> Notice:
        created = from_db_time(row["created_at"])
        assert created is not None
        return Notice(
            id=row["id"],
            guild_id=row["guild_id"],
            topic=row["topic"],
            channel_id=row["channel_id"],
            body=json.loads(self.keyring.decrypt(row["body"], context=BODY_CONTEXT)),
            attempts=row["attempts"],
            created_at=created,
            delivered_at=from_db_time(row["delivered_at"]),
        )

    async def add(
        self,
        guild_id: int,
        body: dict[str, Any],
        now: datetime,
        *,
        topic: str | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
    ) -> Notice | None:
        """Keep a new notice; None when one with the same topic is already kept (said once)."""
        sealed = self.keyring.encrypt(json.dumps(body), context=BODY_CONTEXT)
        async with self.db.transaction() as tx:
            if topic is not None and await tx.fetchval(
                "SELECT 1 FROM moderator_notices WHERE guild_id = ? AND topic = ?", (guild_id, topic)
            ):
                return None
            notice_id = await tx.execute(
                "INSERT INTO moderator_notices (guild_id, topic, channel_id, body, user_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, topic, channel_id, sealed, user_id, to_db_time(now)),
            )
            row = await tx.fetchone("SELECT * FROM moderator_notices WHERE id = ?", (notice_id,))
        return self._notice(row)

    async def waiting(self, guild_id: int | None = None, limit: int = 50) -> list[Notice]:
        """Return notices not yet delivered, oldest first (of one guild, or of all)."""
        if guild_id is None:
            rows = await self.db.fetchall(
                "SELECT * FROM moderator_notices WHERE delivered_at IS NULL ORDER BY id LIMIT ?", (limit,)
            )
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM moderator_notices WHERE guild_id = ? AND delivered_at IS NULL "
                "ORDER BY id LIMIT ?",
                (guild_id, limit),
            )
        return [self._notice(row) for row in rows]

    async def standing(self, guild_id: int) -> list[Notice]:
        """Return a guild's troubles that still hold (notices with a topic), delivered or not."""
        rows = await self.db.fetchall(
            "SELECT * FROM moderator_notices WHERE guild_id = ? AND topic IS NOT NULL ORDER BY id",
            (guild_id,),
        )
        return [self._notice(row) for row in rows]

    async def delivered(self, notice: Notice, now: datetime) -> None:
        """Record a delivery: a one-off notice is gone; a topic stays, so it is not said again."""
        if notice.topic is None:
            await self.db.execute("DELETE FROM moderator_notices WHERE id = ?", (notice.id,))
        else:
            await self.db.execute(
                "UPDATE moderator_notices SET delivered_at = ? WHERE id = ?", (to_db_time(now), notice.id)
            )

    async def attempted(self, notice_id: int) -> None:
        """Count a delivery that failed."""
        await self.db.execute(
            "UPDATE moderator_notices SET attempts = attempts + 1 WHERE id = ?", (notice_id,)
        )

    async def clear_topic(self, guild_id: int, topic: str) -> int:
        """Forget a trouble that has ended; return how many notices went."""
        return await self.db.execute(
            "DELETE FROM moderator_notices WHERE guild_id = ? AND topic = ?", (guild_id, topic)
        )

    async def clear_channel(self, guild_id: int, channel_id: int) -> int:
        """Forget every trouble about one channel (it works again, or is no longer used)."""
        return await self.db.execute(
            "DELETE FROM moderator_notices WHERE guild_id = ? AND channel_id = ? AND topic IS NOT NULL",
            (guild_id, channel_id),
        )

    async def troubled_channels(self) -> set[tuple[int, int]]:
        """Return (guild id, channel id) of every channel with a standing trouble."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT guild_id, channel_id FROM moderator_notices "
            "WHERE topic IS NOT NULL AND channel_id IS NOT NULL"
        )
        return {(row["guild_id"], row["channel_id"]) for row in rows}


async def _export(db: Database, keyring: Keyring, member: MemberRef) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT * FROM moderator_notices WHERE user_id = ? ORDER BY id", (member.user_id,)
    )
    store = NoticeStore(db, keyring)
    return [
        {
            "guild_id": row["guild_id"],
            "created_at": row["created_at"],
            "for_moderators": store._notice(row).body.get("description", ""),
        }
        for row in rows
    ]


async def _erase(tx: Transaction, member: MemberRef) -> None:
    await tx.execute("DELETE FROM moderator_notices WHERE user_id = ?", (member.user_id,))


register_personal_data(PersonalData(
    "moderator notices", _export, _erase,
    description="Care alerts about you that are still waiting to reach a moderator (usually none: they "
                "are deleted once delivered).",
))
register_sensitive_column("moderator_notices", "body", BODY_CONTEXT, "id")
