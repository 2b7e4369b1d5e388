"""Queries for per-guild settings and the bot's own small state."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from bot.storage.db import Database, to_db_time


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    moderator_role_id: int | None = None
    checkin_channel_id: int | None = None
    sharing_channel_id: int | None = None
    review_channel_id: int | None = None
    alerts_channel_id: int | None = None
    resources_region: str = "INTL"
    vetting: bool = False


SETTING_COLUMNS = tuple(f.name for f in fields(GuildSettings) if f.name != "guild_id")


class SettingsStore:
    """Reads and writes `guild_settings` and `app_state`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, guild_id: int) -> GuildSettings:
        """Return a guild's settings, or the defaults if it has none yet."""
        row = await self.db.fetchone(
            f"SELECT guild_id, {', '.join(SETTING_COLUMNS)} FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return GuildSettings(guild_id=guild_id)
        values = dict(row)
        values["vetting"] = bool(values["vetting"])
        return GuildSettings(**values)

    async def update(self, guild_id: int, now: datetime, **changes: object) -> GuildSettings:
        """Change some settings of a guild and return the result."""
        unknown = set(changes) - set(SETTING_COLUMNS)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (guild_id, to_db_time(now)),
            )
            for column, value in changes.items():
                stored = int(value) if isinstance(value, bool) else value
                await tx.execute(
                    f"UPDATE guild_settings SET {column} = ?, updated_at = ? WHERE guild_id = ?",
                    (stored, to_db_time(now), guild_id),
                )
        return await self.get(guild_id)

    async def get_state(self, key: str) -> str | None:
        """Return one value of the bot's own state."""
        return await self.db.fetchval("SELECT value FROM app_state WHERE key = ?", (key,))

    async def set_state(self, key: str, value: str) -> None:
        """Store one value of the bot's own state."""
        await self.db.execute(
            "INSERT INTO app_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
