"""Writes that take longer than Discord's 3-second window, as they do when the database is busy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest


def slow_down_write(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, seconds: float = 3.5
) -> Callable[..., Awaitable[Any]]:
    """Make `owner.name` wait `seconds` before it runs; return the original to put back."""
    original = getattr(owner, name)

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(seconds)  # a busy database holds the write past Discord's 3 seconds
        return await original(*args, **kwargs)

    monkeypatch.setattr(owner, name, slow)
    return original
