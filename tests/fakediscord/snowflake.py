"""Snowflake ids like Discord's: time-ordered, unique within the process."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1420070400000

_counter = itertools.count()
_lock = threading.Lock()
_last = 0


def new_snowflake() -> int:
    """Return a fresh id whose timestamp is now; ids never repeat and always increase."""
    global _last
    with _lock:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (millis << 22) | (next(_counter) & 0xFFF)
        if candidate <= _last:
            candidate = _last + 1
        _last = candidate
        return candidate


def snowflake_time(snowflake: int) -> datetime:
    """Return when a snowflake was made."""
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


def iso(moment: datetime | None = None) -> str:
    """Format a time the way Discord's payloads do."""
    return (moment or datetime.now(UTC)).isoformat()
