"""Privacy plumbing shared by every area: sensitive columns, retention rules, guild purges, erasures.

Areas register what they keep at import time, next to their queries:

- `register_sensitive_column(table, column, context, key_column)` for every column
  holding `bot.keyring.encrypt(...)` output, so `python -m bot rotate-key` re-seals it;
- `register_retention(RetentionRule(kind, table, time_column))` for rows that age out
  after `[retention] <kind>_days`.

A guild's rows are purged from every table that has a `guild_id` column; child tables
without one must reference their parent with `ON DELETE CASCADE`.

Key rotation re-seals the registered columns only; a sealed value found anywhere else is
reported (so an area that forgot to register is caught), never guessed at.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.storage.crypto import Keyring
from bot.storage.db import Database, Transaction, to_db_time

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SEALED_VALUE = re.compile(r"^v\d+:[A-Za-z0-9_\-=]+$")
# Columns that hold a member's Discord id, by convention (a moderator is a member too).
MEMBER_COLUMNS = ("user_id", "member_id", "author_id", "moderator_id", "created_by")
# The column that holds a member's per-guild ban key, by convention (next to a guild_id column).
BAN_KEY_COLUMN = "ban_key"
# Tables that belong to the bot itself, never to a guild's data.
_INTERNAL_TABLES = frozenset({"sqlite_sequence", "app_state", "erasure_log"})


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a plain SQL identifier")
    return name


@dataclass(frozen=True)
class SensitiveColumn:
    """A column whose values are sealed with the keyring under a fixed `context`."""

    table: str
    column: str
    context: str
    key_column: str = "rowid"


@dataclass(frozen=True)
class RetentionRule:
    """Rows of `table` older than `[retention] <kind>_days` (by `time_column`) are purged daily.

    `condition` is an optional extra SQL condition (no parameters), e.g. "status = 'closed'".
    """

    kind: str
    table: str
    time_column: str
    condition: str | None = None


SENSITIVE_COLUMNS: list[SensitiveColumn] = []
RETENTION_RULES: list[RetentionRule] = []


def register_sensitive_column(table: str, column: str, context: str, key_column: str = "rowid") -> None:
    """Declare an encrypted column so key rotation re-seals it (idempotent)."""
    entry = SensitiveColumn(_check_identifier(table), _check_identifier(column), context,
                            _check_identifier(key_column))
    if entry not in SENSITIVE_COLUMNS:
        SENSITIVE_COLUMNS.append(entry)


def register_retention(rule: RetentionRule) -> None:
    """Declare rows that the daily retention job purges when they are old enough (idempotent)."""
    _check_identifier(rule.table)
    _check_identifier(rule.time_column)
    if rule not in RETENTION_RULES:
        RETENTION_RULES.append(rule)


def import_storage_modules() -> None:
    """Import every module in bot.storage so every area's registrations are in place."""
    import bot.storage as storage

    for module in pkgutil.iter_modules(storage.__path__):
        importlib.import_module(f"{storage.__name__}.{module.name}")


# ----- schema discovery --------------------------------------------------------------


async def user_tables(db: Database | Transaction) -> list[str]:
    """Return every ordinary table in the database (not SQLite's own)."""
    rows = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    return [row[0] for row in rows]


async def table_columns(db: Database | Transaction, table: str) -> list[str]:
    """Return a table's column names."""
    rows = await db.fetchall(f"PRAGMA table_info({_check_identifier(table)})")
    return [row[1] for row in rows]


async def tables_with_column(db: Database | Transaction, column: str) -> list[str]:
    """Return the tables that have a column of this name."""
    return [t for t in await user_tables(db) if column in await table_columns(db, t)]


async def known_guild_ids(db: Database | Transaction) -> set[int]:
    """Return every guild id that appears in any table (never 0, which stands for DMs)."""
    found: set[int] = set()
    for table in await tables_with_column(db, "guild_id"):
        rows = await db.fetchall(
            f"SELECT DISTINCT guild_id FROM {table} WHERE guild_id IS NOT NULL AND guild_id != 0"
        )
        found.update(int(row[0]) for row in rows)
    return found


async def known_member_ids(db: Database | Transaction) -> set[int]:
    """Return every member id that appears in a conventional member column of any table."""
    found: set[int] = set()
    for table in await user_tables(db):
        for column in await table_columns(db, table):
            if column in MEMBER_COLUMNS:
                rows = await db.fetchall(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")
                found.update(int(row[0]) for row in rows if str(row[0]).isdigit())
    return found


async def known_ban_keys(db: Database | Transaction) -> set[tuple[int, str]]:
    """Return every (guild id, ban key) pair found in a table with `guild_id` and `ban_key` columns."""
    found: set[tuple[int, str]] = set()
    for table in await tables_with_column(db, BAN_KEY_COLUMN):
        if "guild_id" not in await table_columns(db, table):
            continue
        rows = await db.fetchall(
            f"SELECT DISTINCT guild_id, {BAN_KEY_COLUMN} FROM {table} WHERE {BAN_KEY_COLUMN} IS NOT NULL"
        )
        found.update((int(row[0]), str(row[1])) for row in rows)
    return found


# ----- guild departures and purges -------------------------------------------------------


async def record_departure(db: Database, guild_id: int, now: datetime) -> None:
    """Note that Hearth left a guild (keeping the first time if it is already noted)."""
    await db.execute(
        "INSERT INTO guild_departures (guild_id, left_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (guild_id, to_db_time(now)),
    )


async def clear_departure(db: Database, guild_id: int) -> bool:
    """Forget a departure (Hearth was added back); say whether one was pending."""
    return await db.execute("DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,)) > 0


async def departures_before(db: Database, cutoff: datetime) -> list[int]:
    """Return the guilds Hearth left before `cutoff`."""
    rows = await db.fetchall(
        "SELECT guild_id FROM guild_departures WHERE left_at <= ? ORDER BY guild_id", (to_db_time(cutoff),)
    )
    return [int(row[0]) for row in rows]


async def purge_guild(db: Database, guild_id: int) -> dict[str, int]:
    """Delete every row of a guild from every table with a guild_id column; return counts per table."""
    counts: dict[str, int] = {}
    async with db.transaction() as tx:
        await tx.execute("PRAGMA defer_foreign_keys = ON")
        for table in await tables_with_column(tx, "guild_id"):
            if table in _INTERNAL_TABLES:
                continue
            deleted = await tx.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
            if deleted:
                counts[table] = deleted
    return counts


# ----- retention ------------------------------------------------------------------------


async def purge_older_than(db: Database, rule: RetentionRule, cutoff: datetime) -> int:
    """Delete a rule's rows older than `cutoff`; return how many."""
    condition = f" AND ({rule.condition})" if rule.condition else ""
    return await db.execute(
        f"DELETE FROM {rule.table} WHERE {rule.time_column} < ?{condition}", (to_db_time(cutoff),)
    )


# ----- erasure log ------------------------------------------------------------------------


def erasure_subject(keyring: Keyring, user_id: int) -> str:
    """Return the one-way key under which an erasure is remembered (never the id itself)."""
    return keyring.keyed_hash("erasure", user_id)


def ban_key_subject(keyring: Keyring, ban_key: str) -> str:
    """Return the one-way key under which an erasure remembers one of the member's ban keys, so
    anonymous rows (which hold no user id) are found again in a restored database."""
    return keyring.keyed_hash("erasure-ban", ban_key)


async def record_erasure(tx: Transaction, subjects: Iterable[str], now: datetime) -> None:
    """Remember that a member erased their data, under each of their subjects."""
    for subject in subjects:
        await tx.execute(
            "INSERT INTO erasure_log (subject_hash, erased_at) VALUES (?, ?) "
            "ON CONFLICT (subject_hash) DO UPDATE SET erased_at = excluded.erased_at",
            (subject, to_db_time(now)),
        )


ERASURE_FILE_NAME = "hearth.erasures"


def erasure_file_path(db: Database) -> Path | None:
    """Return the erasure log kept beside the database file (None for an in-memory database)."""
    if str(db.path) == ":memory:":
        return None
    return Path(db.path).parent / ERASURE_FILE_NAME


def read_erasure_file(path: Path | None) -> dict[str, str]:
    """Return subject hash -> erased_at from the erasure file (empty if there is none)."""
    if path is None or not path.exists():
        return {}
    entries: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        subject, _, erased_at = line.strip().partition(" ")
        if subject and erased_at and not subject.startswith("#"):
            entries[subject] = erased_at
    return entries


def write_erasure_file(path: Path | None, entries: dict[str, str]) -> None:
    """Rewrite the erasure file atomically, readable only by its owner."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# Hearth's erasure log: one-way hashes of the ids and ban keys of members who\n"
                     "# erased their data. Keep it beside the database (like hearth.key); it is not\n"
                     "# part of `backup`.\n")
        handle.writelines(f"{subject} {erased_at}\n" for subject, erased_at in sorted(entries.items()))
    os.replace(tmp, path)


async def erasure_rows(db: Database) -> dict[str, str]:
    """Return the erasure log held inside the database."""
    return {row[0]: row[1] for row in await db.fetchall("SELECT subject_hash, erased_at FROM erasure_log")}


async def expire_erasures(db: Database, cutoff: datetime) -> int:
    """Forget erasures older than `cutoff` (once no backup can predate them)."""
    return await db.execute("DELETE FROM erasure_log WHERE erased_at < ?", (to_db_time(cutoff),))


# ----- key rotation -----------------------------------------------------------------------


async def reseal_column(db: Database, column: SensitiveColumn, keyring: Keyring) -> int:
    """Re-encrypt a column's values that are under an older key version; return how many."""
    rows = await db.fetchall(
        f"SELECT {column.key_column} AS k, {column.column} AS v FROM {column.table} "
        f"WHERE {column.column} IS NOT NULL"
    )
    stale = [(row["k"], row["v"]) for row in rows if keyring.needs_rotation(row["v"])]
    if not stale:
        return 0
    async with db.transaction() as tx:
        for key, value in stale:
            fresh = keyring.encrypt(keyring.decrypt(value, context=column.context), context=column.context)
            await tx.execute(
                f"UPDATE {column.table} SET {column.column} = ? WHERE {column.key_column} = ?", (fresh, key)
            )
    return len(stale)


async def sealed_values_outside(db: Database, columns: Iterable[SensitiveColumn]) -> list[tuple[str, str]]:
    """Find (table, column) pairs holding sealed values that no area registered."""
    registered = {(c.table, c.column) for c in columns}
    strays: list[tuple[str, str]] = []
    for table in await user_tables(db):
        for name in await table_columns(db, table):
            if (table, name) in registered:
                continue
            quoted = _quote(name)
            sample = await db.fetchval(
                f"SELECT {quoted} FROM {table} WHERE typeof({quoted}) = 'text' "
                f"AND {quoted} GLOB 'v[0-9]*:*' LIMIT 1"
            )
            if sample is not None and SEALED_VALUE.match(sample):
                strays.append((table, name))
    return strays


# ----- erase confirmations ----------------------------------------------------------------


async def save_erase_confirmation(db: Database, nonce: str, subject: str, expires_at: datetime,
                                  now: datetime) -> None:
    """Keep a confirmation the member can use until `expires_at` (and forget expired ones)."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM erase_confirmations WHERE expires_at <= ?", (to_db_time(now),))
        await tx.execute(
            "INSERT INTO erase_confirmations (nonce, subject_hash, expires_at) VALUES (?, ?, ?)",
            (nonce, subject, to_db_time(expires_at)),
        )


async def claim_erase_confirmation(tx: Transaction, nonce: str, subject: str, now: datetime) -> bool:
    """Use up a confirmation; say whether it was this member's and still valid."""
    claimed = await tx.execute(
        "DELETE FROM erase_confirmations WHERE nonce = ? AND subject_hash = ? AND expires_at > ?",
        (nonce, subject, to_db_time(now)),
    )
    return claimed == 1


async def drop_erase_confirmation(db: Database, nonce: str) -> None:
    """Forget a confirmation (the member cancelled)."""
    await db.execute("DELETE FROM erase_confirmations WHERE nonce = ?", (nonce,))


async def expire_erase_confirmations(db: Database, now: datetime) -> int:
    """Forget confirmations nobody used in time."""
    return await db.execute("DELETE FROM erase_confirmations WHERE expires_at <= ?", (to_db_time(now),))


# ----- posts waiting to be deleted -----------------------------------------------------------


@dataclass(frozen=True)
class PendingDeletion:
    """A message to delete from Discord once `due_at` has passed."""

    id: int
    channel_id: int
    message_id: int
    attempts: int


async def queue_deletions(tx: Transaction, due: Iterable[tuple[int, int, datetime]]) -> None:
    """Queue (channel id, message id, due time) deletions (a message already queued keeps its time)."""
    for channel_id, message_id, due_at in due:
        # Random row ids: one erasure's rows do not sit together in id order.
        await tx.execute(
            "INSERT INTO pending_deletions (id, channel_id, message_id, due_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (channel_id, message_id) DO NOTHING",
            (secrets.randbits(62), channel_id, message_id, to_db_time(due_at)),
        )


async def due_deletions(db: Database, now: datetime, limit: int = 50) -> list[PendingDeletion]:
    """Return deletions whose moment has come, earliest first."""
    rows = await db.fetchall(
        "SELECT id, channel_id, message_id, attempts FROM pending_deletions WHERE due_at <= ? "
        "ORDER BY due_at LIMIT ?",
        (to_db_time(now), limit),
    )
    return [PendingDeletion(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


async def finish_deletion(db: Database, deletion_id: int) -> None:
    """Forget a deletion that is done (or can never be done)."""
    await db.execute("DELETE FROM pending_deletions WHERE id = ?", (deletion_id,))


async def postpone_deletion(db: Database, deletion_id: int, due_at: datetime) -> None:
    """Try a failed deletion again later."""
    await db.execute(
        "UPDATE pending_deletions SET attempts = attempts + 1, due_at = ? WHERE id = ?",
        (to_db_time(due_at), deletion_id),
    )


async def overdue_deletions(db: Database, before: datetime) -> list[int]:
    """Return the ids of deletions that were due before `before` (Hearth was not running then)."""
    rows = await db.fetchall("SELECT id FROM pending_deletions WHERE due_at < ?", (to_db_time(before),))
    return [int(r[0]) for r in rows]


async def reschedule_deletions(db: Database, due: Iterable[tuple[int, datetime]]) -> None:
    """Give deletions new moments: (deletion id, due time)."""
    async with db.transaction() as tx:
        for deletion_id, due_at in due:
            await tx.execute(
                "UPDATE pending_deletions SET due_at = ? WHERE id = ?", (to_db_time(due_at), deletion_id)
            )


async def next_deletion_at(db: Database) -> datetime | None:
    """Return when the next queued deletion is due, if any."""
    value = await db.fetchval("SELECT min(due_at) FROM pending_deletions")
    return None if value is None else datetime.fromisoformat(value)
