"""Queries for each guild's own safety phrases and its alert choice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database, to_db_time


@dataclass(frozen=True)
class GuildPhrase:
    """A phrase a guild's moderators added, with its level (crisis, concern or ignore)."""

    phrase: str
    level: str


class SafetyStore:
    """Reads and writes `safety_phrases` and `safety_settings`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_phrases(self, guild_id: int) -> list[GuildPhrase]:
        """Return a guild's phrases in alphabetical order."""
        rows = await self.db.fetchall(
            "SELECT phrase, level FROM safety_phrases WHERE guild_id = ? ORDER BY phrase", (guild_id,)
        )
        return [GuildPhrase(row["phrase"], row["level"]) for row in rows]

    async def add_phrase(self, guild_id: int, phrase: str, level: str, now: datetime) -> GuildPhrase:
        """Insert a phrase, or change its level if the guild already has it."""
        await self.db.execute(
            "INSERT INTO safety_phrases (guild_id, phrase, level, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (guild_id, phrase) DO UPDATE SET level = excluded.level",
            (guild_id, phrase, level, to_db_time(now)),
        )
        return GuildPhrase(phrase, level)

    async def remove_phrase(self, guild_id: int, phrase: str) -> bool:
        """Delete a phrase (compared without regard to case); say whether one was deleted."""
        count = await self.db.execute(
            "DELETE FROM safety_phrases WHERE guild_id = ? AND lower(phrase) = lower(?)", (guild_id, phrase)
        )
        return count > 0

    async def get_alert_on_concern(self, guild_id: int) -> bool:
        """Return whether concern alerts the guild's moderators (default: no)."""
        value = await self.db.fetchval(
            "SELECT alert_on_concern FROM safety_settings WHERE guild_id = ?", (guild_id,)
        )
        return bool(value)

    async def set_alert_on_concern(self, guild_id: int, value: bool, now: datetime) -> None:
        """Store whether concern alerts the guild's moderators."""
        await self.db.execute(
            "INSERT INTO safety_settings (guild_id, alert_on_concern, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET alert_on_concern = excluded.alert_on_concern, "
            "updated_at = excluded.updated_at",
            (guild_id, int(value), to_db_time(now)),
        )
