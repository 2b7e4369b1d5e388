from __future__ import annotations

import asyncio
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage.crypto import KeyMismatchError, Keyring, generate_master_key, verify_keyring
from bot.storage.db import Database, available_migrations, backup_file, from_db_time, to_db_time
from bot.storage.settings import SettingsStore


async def test_pragmas(db: Database) -> None:
    assert (await db.fetchval("PRAGMA journal_mode")).lower() == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.fetchval("PRAGMA busy_timeout") >= 1000
    assert await db.fetchval("PRAGMA synchronous") == 1  # NORMAL


async def test_migrations_reach_the_latest_version_and_are_idempotent(db: Database) -> None:
    latest = available_migrations()[-1][0]
    assert await db.schema_version() == latest
    assert await db.migrate() == []
    tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"guild_settings", "app_state"} <= tables


async def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_first.sql").write_text("CREATE TABLE a (x INTEGER);")
    (folder / "0002_broken.sql").write_text("CREATE TABLE b (y INTEGER);\nINSERT INTO nowhere VALUES (1);")
    database = await Database.open(tmp_path / "m.db")
    try:
        with pytest.raises(sqlite3.OperationalError):
            await database.migrate(folder)
        assert await database.schema_version() == 1
        tables = {r[0] for r in await database.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "a" in tables and "b" not in tables
    finally:
        await database.close()


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    store = SettingsStore(db)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    await store.update(1, now, vetting=True)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("UPDATE guild_settings SET vetting = 0 WHERE guild_id = 1")
            raise RuntimeError("boom")
    assert (await store.get(1)).vetting is True


async def test_concurrent_transactions_do_not_interleave(db: Database) -> None:
    await db.execute("CREATE TABLE counter (n INTEGER)")
    await db.execute("INSERT INTO counter VALUES (0)")

    async def bump() -> None:
        async with db.transaction() as tx:
            value = await tx.fetchval("SELECT n FROM counter")
            await asyncio.sleep(0)
            await tx.execute("UPDATE counter SET n = ?", (value + 1,))

    await asyncio.gather(*(bump() for _ in range(50)))
    assert await db.fetchval("SELECT n FROM counter") == 50


async def test_settings_round_trip_and_defaults(db: Database) -> None:
    store = SettingsStore(db)
    assert (await store.get(9)).resources_region == "INTL"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    await store.update(9, now, alerts_channel_id=55, resources_region="UK", vetting=True)
    settings = await store.get(9)
    assert (settings.alerts_channel_id, settings.resources_region, settings.vetting) == (55, "UK", True)
    with pytest.raises(ValueError):
        await store.update(9, now, owner_id=1)


def test_times_are_stored_in_utc() -> None:
    moment = datetime.fromisoformat("2026-03-29T02:30:00+02:00")
    assert to_db_time(moment) == "2026-03-29T00:30:00+00:00"
    assert from_db_time(to_db_time(moment)) == moment
    with pytest.raises(ValueError):
        to_db_time(datetime(2026, 1, 1))


async def test_backup_is_consistent_while_writes_continue(db: Database, tmp_path: Path) -> None:
    await db.execute("CREATE TABLE notes (n INTEGER)")
    stop = asyncio.Event()

    async def writer() -> None:
        i = 0
        while not stop.is_set():
            await db.execute("INSERT INTO notes VALUES (?)", (i,))
            i += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.05)
    destination = tmp_path / "backup" / "copy.db"
    await asyncio.to_thread(backup_file, db.path, destination)
    stop.set()
    await task
    copy = sqlite3.connect(destination)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = copy.execute("SELECT count(*) FROM notes").fetchone()[0]
        assert count > 0
        assert copy.execute("PRAGMA user_version").fetchone()[0] == await db.schema_version()
    finally:
        copy.close()


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_backup_of_a_stopped_database_at_an_awkward_path_copies_it_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "w #1 %41?x"
    database = await Database.open(folder / "h.db")
    await database.migrate()
    await database.execute("INSERT INTO app_state (key, value) VALUES ('kept', 'yes')")
    await database.close()
    before = _names(folder)
    destination = tmp_path / "copy.db"
    backup_file(folder / "h.db", destination)
    copy = sqlite3.connect(destination)
    try:
        assert copy.execute("SELECT value FROM app_state WHERE key = 'kept'").fetchone() == ("yes",)
    finally:
        copy.close()
    assert _names(folder) == before == ["h.db"]
    assert _names(tmp_path) == ["copy.db", "w #1 %41?x"]
    assert stat.S_IMODE(destination.stat().st_mode) == 0o600


async def test_a_new_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "data" / "h.db")
    await database.migrate()
    try:
        for name in ("h.db", "h.db-wal"):
            assert stat.S_IMODE((tmp_path / "data" / name).stat().st_mode) == 0o600, name
    finally:
        await database.close()


async def test_close_waits_for_the_write_in_flight(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "c.db")
    await database.execute("CREATE TABLE t (x INTEGER)")

    async def slow_write() -> None:
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (1)")
            await asyncio.sleep(0.05)
            await tx.execute("INSERT INTO t VALUES (2)")

    writing = asyncio.create_task(slow_write())
    await asyncio.sleep(0.01)
    await database.close()
    await writing
    check = sqlite3.connect(tmp_path / "c.db")
    assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    check.close()


async def test_the_database_remembers_its_key_and_refuses_another(db: Database) -> None:
    first = Keyring.parse(generate_master_key())
    await verify_keyring(db, first)
    await verify_keyring(db, first)
    # A rotation adds a version and keeps the first: still the database's own key.
    rotated = Keyring({**first.masters, 2: Keyring.parse(generate_master_key()).masters[1]})
    await verify_keyring(db, rotated)
    with pytest.raises(KeyMismatchError):
        await verify_keyring(db, Keyring.parse(generate_master_key()))
