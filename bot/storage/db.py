"""The one database connection: pragmas, numbered migrations, transactions and online backup."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000

Params = Sequence[Any] | dict[str, Any]


class StorageBusyError(Exception):
    """The database stayed locked past the busy timeout; the caller may try again."""


class DatabaseInUseError(Exception):
    """Another Hearth process holds the database's run lock."""


@contextlib.contextmanager
def run_lock(database_path: Path) -> Iterator[None]:
    """Hold the database's run lock: one running bot per database, and no key rotation under it.

    An advisory lock on a file beside the database; the system releases it when the process
    ends, however it ends, so a killed bot never leaves it held.
    """
    lock_path = database_path.with_name(database_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUseError(f"another Hearth process is using {database_path}") from None
        yield
    finally:
        os.close(fd)


def to_db_time(moment: datetime) -> str:
    """Format an aware datetime the way every table stores time: ISO 8601 in UTC."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the database")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(value: str | None) -> datetime | None:
    """Parse a stored time back into an aware UTC datetime."""
    return None if value is None else datetime.fromisoformat(value)


def available_migrations(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, Path]]:
    """List the migration files in order of their number."""
    found = []
    for path in directory.glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise RuntimeError(f"migration file {path.name} must be named NNNN_name.sql")
        found.append((int(match.group(1)), path))
    found.sort()
    numbers = [n for n, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number in {directory}")
    return found


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Database:
    """One aiosqlite connection shared by the whole bot.

    Writes go through one lock so a transaction never interleaves with another
    coroutine's statements on the shared connection, and `close` waits for the
    write in flight to finish.
    """

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._conn = connection
        self.path = path
        self._write_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) the database file and set its pragmas."""
        path = Path(path)
        new_file = str(path) != ":memory:" and not path.exists()
        if new_file:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Members' data: readable by Hearth's own user only (SQLite gives the -wal and -shm
            # files the database file's mode).
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        connection = await aiosqlite.connect(path, isolation_level=None)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA journal_mode = WAL")
        # NORMAL is safe against a killed process in WAL mode (a committed
        # transaction survives a crash of the bot); only a power cut can lose the
        # last few commits. That trade keeps writes cheap under check-in bursts,
        # and nothing Hearth stores is worth an fsync per mood click.
        await connection.execute("PRAGMA synchronous = NORMAL")
        await connection.execute("PRAGMA foreign_keys = ON")
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return cls(connection, path)

    async def schema_version(self) -> int:
        """Return the schema version recorded in `PRAGMA user_version`."""
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self, directory: Path = MIGRATIONS_DIR) -> list[int]:
        """Apply every migration newer than the schema, each in its own transaction."""
        applied = []
        current = await self.schema_version()
        for number, path in available_migrations(directory):
            if number <= current:
                continue
            script = path.read_text(encoding="utf-8")
            async with self._write_lock:
                try:
                    # executescript runs the whole file; BEGIN/COMMIT around it and the
                    # version bump make the migration all-or-nothing.
                    await self._conn.executescript(
                        f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version = {number};\nCOMMIT;"
                    )
                except Exception:
                    if self._conn.in_transaction:
                        await self._conn.execute("ROLLBACK")
                    log.error("migration %s failed; the database is unchanged by it", path.name)
                    raise
            log.info("applied migration %s", path.name)
            applied.append(number)
        return applied

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement and return the id of the inserted row (or the row count)."""
        async with self._write_lock:
            cursor = await self._run(sql, params)
            return cursor.lastrowid if sql.lstrip().upper().startswith("INSERT") else cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one write statement for many rows in a single transaction."""
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """Return the first row of a query, or None."""
        cursor = await self._run(sql, params)
        return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """Return every row of a query."""
        cursor = await self._run(sql, params)
        return list(await cursor.fetchall())

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """Return the first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Hold the write lock for a BEGIN IMMEDIATE ... COMMIT block, rolling back on error."""
        async with self._write_lock:
            await self._run("BEGIN IMMEDIATE")
            try:
                yield Transaction(self)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._run("COMMIT")

    async def _run(self, sql: str, params: Params = ()) -> aiosqlite.Cursor:
        if self._closed:
            raise RuntimeError("the database is closed")
        try:
            return await self._conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StorageBusyError(str(exc)) from exc
            raise

    async def backup_to(self, destination: str | Path) -> None:
        """Copy a consistent snapshot of the live database to `destination`."""
        async with self._write_lock:
            await asyncio.to_thread(backup_file, self.path, Path(destination))

    async def close(self) -> None:
        """Wait for the write in flight, then close the connection."""
        if self._closed:
            return
        async with self._write_lock:
            self._closed = True
            try:
                await self._conn.execute("PRAGMA optimize")
            finally:
                await self._conn.close()


class Transaction:
    """Statements inside `Database.transaction()`; they share the held write lock."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement and return the inserted row id (or the row count)."""
        cursor = await self._db._run(sql, params)
        return cursor.lastrowid if sql.lstrip().upper().startswith("INSERT") else cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for many rows."""
        await self._db._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """Return the first row of a query inside the transaction."""
        cursor = await self._db._run(sql, params)
        return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """Return every row of a query inside the transaction."""
        cursor = await self._db._run(sql, params)
        return list(await cursor.fetchall())

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """Return the first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def backup_file(source: Path, destination: Path) -> None:
    """Copy a live SQLite database with the online backup API (safe while the bot writes).

    The copy is written beside the destination and moved into place at the end, so a
    failed backup never leaves a half-written file where a good one was.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT, 0o600))
    # A quoted URI, so spaces, '#', '?' and '%' in the path name this file and no other. Read-write
    # (never creating) rather than read-only: as the last connection to a stopped bot's database,
    # it removes the -wal and -shm files it opened on close, as a read-only one cannot.
    uri = source.resolve().as_uri() + "?mode=rw"
    src = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, destination)
