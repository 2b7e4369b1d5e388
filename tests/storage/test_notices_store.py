"""Notices for moderators: kept sealed until delivered, each standing trouble said once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services.notices import NoticeBoard
from bot.storage.crypto import Keyring
from bot.storage.db import Database
from bot.storage.notices import NoticeStore
from bot.storage.personal import REGISTRY, MemberRef

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
GUILD, CHANNEL, MEMBER = 10, 20, 30


@pytest.fixture
def board(db: Database, keyring: Keyring) -> NoticeBoard:
    return NoticeBoard(NoticeStore(db, keyring))


async def test_a_trouble_is_kept_once_until_it_ends(board: NoticeBoard) -> None:
    body = {"title": "Hearth can't post in a channel", "description": "gone"}
    first = await board.remember(GUILD, body, NOW, topic=f"channel:{CHANNEL}", channel_id=CHANNEL)
    assert first is not None and first.body == body
    assert await board.remember(GUILD, body, NOW, topic=f"channel:{CHANNEL}", channel_id=CHANNEL) is None
    assert await board.is_troubled(GUILD, CHANNEL)
    await board.delivered(first, NOW)
    assert await board.waiting(GUILD) == [] and len(await board.standing(GUILD)) == 1
    assert await board.remember(GUILD, body, NOW, topic=f"channel:{CHANNEL}", channel_id=CHANNEL) is None

    assert await board.channel_works(GUILD, CHANNEL)
    assert not await board.is_troubled(GUILD, CHANNEL) and await board.standing(GUILD) == []
    assert await board.remember(GUILD, body, NOW, topic=f"channel:{CHANNEL}", channel_id=CHANNEL) is not None


async def test_a_one_off_alert_is_gone_once_delivered_and_its_text_is_sealed(board: NoticeBoard) -> None:
    alert = await board.remember(GUILD, {"description": "Written by <@30>."}, NOW, user_id=MEMBER)
    assert alert is not None
    raw = await board.store.db.fetchval("SELECT body FROM moderator_notices WHERE id = ?", (alert.id,))
    assert "Written by" not in raw
    await board.attempted(alert)
    [again] = await board.waiting()
    assert again.attempts == 1
    await board.delivered(again, NOW)
    assert await board.store.db.fetchval("SELECT COUNT(*) FROM moderator_notices") == 0


async def test_erasing_a_member_removes_alerts_that_name_them(board: NoticeBoard) -> None:
    await board.remember(GUILD, {"description": "about the member"}, NOW, user_id=MEMBER)
    await board.remember(GUILD, {"description": "about a channel"}, NOW, topic="channel:1", channel_id=1)
    [area] = [entry for entry in REGISTRY if entry.area == "moderator notices"]
    member = MemberRef(MEMBER, {})
    db = board.store.db
    assert len(await area.export(db, board.store.keyring, member)) == 1
    async with db.transaction() as tx:
        await area.erase(tx, member)
    assert await area.export(db, board.store.keyring, member) == []
    assert len(await board.standing(GUILD)) == 1, "notices about channels stay"
