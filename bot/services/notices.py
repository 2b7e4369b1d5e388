"""Notices for moderators: remembered until delivered, each standing trouble said once.

The Discord side (which channel a notice goes to, and what counts as trouble) lives in
`bot/cogs/_delivery.py`; this keeps the rules: a notice with a topic is kept while its
trouble lasts, so it is never said twice, and the channels with a standing trouble are
known without a query per post.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.storage.notices import Notice, NoticeStore


class NoticeBoard:
    """What moderators still need to hear, and which channels Hearth currently cannot post in."""

    def __init__(self, store: NoticeStore) -> None:
        self.store = store
        self._troubled: set[tuple[int, int]] | None = None

    async def _channels(self) -> set[tuple[int, int]]:
        if self._troubled is None:
            self._troubled = await self.store.troubled_channels()
        return self._troubled

    async def is_troubled(self, guild_id: int, channel_id: int) -> bool:
        """Say whether a channel has a standing trouble (Hearth could not post there lately)."""
        return (guild_id, channel_id) in await self._channels()

    async def remember(
        self,
        guild_id: int,
        body: dict[str, Any],
        now: datetime,
        *,
        topic: str | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
    ) -> Notice | None:
        """Keep a notice until it is delivered; None if the same trouble was already noted."""
        notice = await self.store.add(
            guild_id, body, now, topic=topic, channel_id=channel_id, user_id=user_id
        )
        if notice is not None and topic is not None and channel_id is not None:
            (await self._channels()).add((guild_id, channel_id))
        return notice

    async def waiting(self, guild_id: int | None = None, limit: int = 50) -> list[Notice]:
        """Return notices not delivered yet, oldest first."""
        return await self.store.waiting(guild_id, limit)

    async def standing(self, guild_id: int) -> list[Notice]:
        """Return the troubles that still hold in a guild."""
        return await self.store.standing(guild_id)

    async def delivered(self, notice: Notice, now: datetime) -> None:
        """Record that a notice reached moderators."""
        await self.store.delivered(notice, now)

    async def attempted(self, notice: Notice) -> None:
        """Record a delivery that failed."""
        await self.store.attempted(notice.id)

    async def channel_works(self, guild_id: int, channel_id: int) -> bool:
        """Forget a channel's troubles once a post there worked; say whether there were any."""
        channels = await self._channels()
        if (guild_id, channel_id) not in channels:
            return False
        await self.store.clear_channel(guild_id, channel_id)
        channels.discard((guild_id, channel_id))
        return True

    async def trouble_ended(self, guild_id: int, topic: str) -> None:
        """Forget one trouble (a moderator resumed a schedule, or changed a setting)."""
        if await self.store.clear_topic(guild_id, topic):
            self._troubled = await self.store.troubled_channels()
