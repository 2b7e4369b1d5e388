"""Per-guild settings that moderators manage with /setup."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from bot.errors import UserFacingError
from bot.storage.settings import SETTING_COLUMNS, GuildSettings, SettingsStore

DEFAULT_REGION = "INTL"


class SettingsService:
    """Reads and changes a guild's settings, checking values before they are stored."""

    def __init__(self, store: SettingsStore, known_regions: Callable[[], Collection[str]]) -> None:
        self.store = store
        self._known_regions = known_regions

    async def get(self, guild_id: int) -> GuildSettings:
        """Return the guild's settings (defaults if never set)."""
        return await self.store.get(guild_id)

    async def change(self, guild_id: int, now: datetime, **changes: object) -> GuildSettings:
        """Apply the given changes; settings given as None are left as they are."""
        updates = {k: v for k, v in changes.items() if v is not None}
        region = updates.get("resources_region")
        if isinstance(region, str):
            region = region.strip().upper()
            known = {r.upper() for r in self._known_regions()} | {DEFAULT_REGION}
            if region not in known:
                raise UserFacingError(
                    f"I don't know the region `{region[:20]}`. Choose one of: {', '.join(sorted(known))}."
                )
            updates["resources_region"] = region
        if not updates:
            return await self.store.get(guild_id)
        return await self.store.update(guild_id, now, **updates)

    async def clear(self, guild_id: int, now: datetime, name: str) -> GuildSettings:
        """Unset one channel or role setting."""
        if name not in SETTING_COLUMNS or name in ("resources_region", "vetting"):
            raise UserFacingError("That setting cannot be cleared.")
        return await self.store.update(guild_id, now, **{name: None})
