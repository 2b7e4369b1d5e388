"""Fixtures shared by the storage tests: a migrated database in `tmp_path` and a fresh keyring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.crypto import Keyring, generate_master_key
from bot.storage.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A database file migrated to the latest version, closed after the test."""
    database = await Database.open(tmp_path / "hearth.db")
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def keyring() -> Keyring:
    """A keyring with one freshly generated master key."""
    return Keyring.parse(generate_master_key())
