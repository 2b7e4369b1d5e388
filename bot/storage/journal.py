"""Queries for the private journal; every body is stored encrypted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.crypto import Keyring
from bot.storage.db import Database, Transaction, from_db_time, to_db_time
from bot.storage.personal import MemberRef, PersonalData, register_personal_data
from bot.storage.privacy import RetentionRule, register_retention, register_sensitive_column

BODY_CONTEXT = "journal_entries.body"
KINDS = ("entry", "thought_record")


@dataclass(frozen=True)
class JournalEntry:
    """One decrypted journal entry."""

    id: int
    guild_id: int
    user_id: int
    kind: str
    prompt_id: str | None
    body: str
    created_at: datetime


class JournalStore:
    """Reads and writes `journal_entries`, sealing each body under the keyring."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self.db = db
        self.keyring = keyring

    def _row(self, row: Any) -> JournalEntry:
        created = from_db_time(row["created_at"])
        assert created is not None
        return JournalEntry(
            id=row["id"], guild_id=row["guild_id"], user_id=row["user_id"], kind=row["kind"],
            prompt_id=row["prompt_id"], body=self.keyring.decrypt(row["body"], context=BODY_CONTEXT),
            created_at=created,
        )

    async def add(
        self, *, guild_id: int, user_id: int, body: str, now: datetime, kind: str = "entry",
        prompt_id: str | None = None, conn: Database | Transaction | None = None,
    ) -> int:
        """Store a new entry and return its id (inside `conn`'s transaction, if given)."""
        if kind not in KINDS:
            raise ValueError(f"unknown journal entry kind {kind!r}")
        return await (conn or self.db).execute(
            "INSERT INTO journal_entries (guild_id, user_id, kind, prompt_id, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, user_id, kind, prompt_id, self.keyring.encrypt(body, context=BODY_CONTEXT),
             to_db_time(now)),
        )

    async def count(self, guild_id: int, user_id: int) -> int:
        """Return how many entries a member has in a guild."""
        return int(await self.db.fetchval(
            "SELECT COUNT(*) FROM journal_entries WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        ))

    async def page(self, guild_id: int, user_id: int, *, offset: int, limit: int) -> list[JournalEntry]:
        """Return a member's entries, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM journal_entries WHERE guild_id = ? AND user_id = ? "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (guild_id, user_id, limit, offset),
        )
        return [self._row(row) for row in rows]

    async def all_for(self, guild_id: int, user_id: int) -> list[JournalEntry]:
        """Return every entry of a member in a guild, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM journal_entries WHERE guild_id = ? AND user_id = ? ORDER BY id",
            (guild_id, user_id),
        )
        return [self._row(row) for row in rows]

    async def get(self, entry_id: int) -> JournalEntry | None:
        """Return one entry, or None."""
        row = await self.db.fetchone("SELECT * FROM journal_entries WHERE id = ?", (entry_id,))
        return None if row is None else self._row(row)

    async def position(self, entry: JournalEntry) -> int:
        """Return how many of the member's entries are newer than this one (its place, newest first)."""
        return int(await self.db.fetchval(
            "SELECT COUNT(*) FROM journal_entries WHERE guild_id = ? AND user_id = ? AND id > ?",
            (entry.guild_id, entry.user_id, entry.id),
        ))

    async def delete(self, entry_id: int, user_id: int) -> bool:
        """Delete one of a member's entries; False if it was not theirs or is already gone."""
        return await self.db.execute(
            "DELETE FROM journal_entries WHERE id = ? AND user_id = ?", (entry_id, user_id)
        ) == 1


async def _export(db: Database, keyring: Keyring, member: MemberRef) -> list[dict[str, Any]]:
    store = JournalStore(db, keyring)
    rows = await db.fetchall("SELECT * FROM journal_entries WHERE user_id = ? ORDER BY id", (member.user_id,))
    return [
        {
            "guild_id": entry.guild_id,
            "kind": entry.kind,
            "prompt_id": entry.prompt_id,
            "written_at": to_db_time(entry.created_at),
            "text": entry.body,
        }
        for entry in (store._row(row) for row in rows)
    ]


async def _erase(tx: Transaction, member: MemberRef) -> None:
    await tx.execute("DELETE FROM journal_entries WHERE user_id = ?", (member.user_id,))


register_personal_data(PersonalData(
    "journal", _export, _erase,
    description="Your private journal entries and finished thought records (encrypted; only you can read "
                "them).",
    retention="journal",
))
register_sensitive_column("journal_entries", "body", BODY_CONTEXT, "id")
register_retention(RetentionRule("journal", "journal_entries", "created_at"))
