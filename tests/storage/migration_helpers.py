"""Helpers for storage tests that start from a database an older Hearth left behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.storage.db import Database, available_migrations


@asynccontextmanager
async def older_database(tmp_path: Path, *, before: int) -> AsyncIterator[Database]:
    """Open a database migrated only as far as the migrations numbered below `before`."""
    older = tmp_path / f"before-{before:04d}"
    older.mkdir()
    for number, path in available_migrations():
        if number < before:
            (older / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    database = await Database.open(tmp_path / "old.db")
    try:
        await database.migrate(older)
        yield database
    finally:
        await database.close()
