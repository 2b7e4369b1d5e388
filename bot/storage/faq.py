"""Queries for guild FAQ entries, hidden built-ins, aliases and the gap queue.

No table here holds a member id. The gap queue keeps only the sealed question,
the guild and the day it was asked, so a question cannot be tied to its asker.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.services.faq import GuildEntry, GuildFaq, Miss, Origin
from bot.storage.crypto import DecryptionError, Keyring
from bot.storage.db import Database, Transaction, from_db_time, to_db_time
from bot.storage.privacy import RetentionRule, register_retention, register_sensitive_column

MISS_CONTEXT = "faq_misses.query"
MISSES_SHOWN = 500

register_sensitive_column("faq_misses", "query", MISS_CONTEXT, "id")
register_retention(RetentionRule("faq_misses", "faq_misses", "asked_on"))


def day_of(moment: datetime) -> datetime:
    """Return midnight UTC of a moment's day: misses are dated to the day, never the minute."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class FaqStore:
    """Reads and writes the FAQ tables."""

    def __init__(self, db: Database, keyring: Keyring | None) -> None:
        self.db = db
        # None for read-only use (the command line), which never touches the sealed gap queue.
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        """Return the keyring, which only the gap queue needs."""
        if self._keyring is None:
            raise RuntimeError("this FAQ store was opened without a keyring")
        return self._keyring

    # ----- a guild's changes -----

    async def guild_faq(self, guild_id: int) -> GuildFaq:
        """Return everything a guild changed."""
        rows = await self.db.fetchall(
            "SELECT entry_id, kind, question, answer, keywords FROM faq_guild_entries "
            "WHERE guild_id = ? ORDER BY kind DESC, entry_id",
            (guild_id,),
        )
        entries = tuple(
            GuildEntry(r["entry_id"], Origin(r["kind"]), r["question"], r["answer"],
                       tuple(json.loads(r["keywords"])))
            for r in rows
        )
        hidden = await self.db.fetchall("SELECT entry_id FROM faq_hidden WHERE guild_id = ?", (guild_id,))
        alias_rows = await self.db.fetchall(
            "SELECT entry_id, alias FROM faq_aliases WHERE guild_id = ? ORDER BY entry_id, added_at, alias",
            (guild_id,),
        )
        aliases: dict[str, list[str]] = {}
        for row in alias_rows:
            aliases.setdefault(row["entry_id"], []).append(row["alias"])
        return GuildFaq(
            entries=entries,
            hidden=frozenset(r["entry_id"] for r in hidden),
            aliases={k: tuple(v) for k, v in aliases.items()},
        )

    async def upsert_entry(self, guild_id: int, entry: GuildEntry, now: datetime) -> None:
        """Create or replace a guild's custom entry or override."""
        await _upsert(self.db, guild_id, entry, now)

    async def delete_entry(self, guild_id: int, entry_id: str) -> bool:
        """Delete a guild's entry (and the aliases taught to it)."""
        async with self.db.transaction() as tx:
            deleted = await tx.execute(
                "DELETE FROM faq_guild_entries WHERE guild_id = ? AND entry_id = ?", (guild_id, entry_id)
            )
            await tx.execute(
                "DELETE FROM faq_aliases WHERE guild_id = ? AND entry_id = ?", (guild_id, entry_id)
            )
        return deleted > 0

    async def hide(self, guild_id: int, entry_id: str, now: datetime) -> None:
        """Hide a built-in entry for a guild."""
        await self.db.execute(
            "INSERT INTO faq_hidden (guild_id, entry_id, hidden_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, entry_id, to_db_time(now)),
        )

    async def unhide(self, guild_id: int, entry_id: str) -> bool:
        """Show a hidden built-in again; say whether it was hidden."""
        return await self.db.execute(
            "DELETE FROM faq_hidden WHERE guild_id = ? AND entry_id = ?", (guild_id, entry_id)
        ) > 0

    async def add_alias(self, guild_id: int, entry_id: str, alias: str, now: datetime, *,
                        clear_misses: Sequence[int] = ()) -> None:
        """Teach an entry another wording and remove the misses it answers, together."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO faq_aliases (guild_id, entry_id, alias, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (guild_id, entry_id, alias, to_db_time(now)),
            )
            await _delete_misses(tx, guild_id, clear_misses)

    async def apply_import(
        self, guild_id: int, incoming: GuildFaq, now: datetime, *, replace_all: bool
    ) -> None:
        """Apply a validated import in one transaction (replacing the guild's changes if asked)."""
        async with self.db.transaction() as tx:
            if replace_all:
                for table in ("faq_guild_entries", "faq_hidden", "faq_aliases"):
                    await tx.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
            for entry in incoming.entries:
                await _upsert(tx, guild_id, entry, now)
            for entry_id in sorted(incoming.hidden):
                await tx.execute(
                    "INSERT INTO faq_hidden (guild_id, entry_id, hidden_at) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (guild_id, entry_id, to_db_time(now)),
                )
            for entry_id, aliases in incoming.aliases.items():
                for alias in aliases:
                    await tx.execute(
                        "INSERT INTO faq_aliases (guild_id, entry_id, alias, added_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        (guild_id, entry_id, alias, to_db_time(now)),
                    )

    # ----- the gap queue -----

    async def add_miss(self, guild_id: int, text: str, now: datetime) -> None:
        """Add a question to the gap queue: sealed, dated to the day, with nothing about who asked."""
        await self.db.execute(
            "INSERT INTO faq_misses (guild_id, query, asked_on) VALUES (?, ?, ?)",
            (guild_id, self.keyring.encrypt(text, context=MISS_CONTEXT), to_db_time(day_of(now))),
        )

    async def misses(self, guild_id: int, limit: int = MISSES_SHOWN) -> list[Miss]:
        """Return a guild's most recent misses, opened."""
        rows = await self.db.fetchall(
            "SELECT id, query, asked_on FROM faq_misses WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, limit),
        )
        found = []
        for row in rows:
            try:
                text = self.keyring.decrypt(row["query"], context=MISS_CONTEXT)
            except DecryptionError:
                continue
            asked_on = from_db_time(row["asked_on"])
            assert asked_on is not None
            found.append(Miss(int(row["id"]), text, asked_on))
        return found

    async def delete_misses(self, guild_id: int, miss_ids: Sequence[int]) -> int:
        """Remove misses from a guild's gap queue; return how many."""
        async with self.db.transaction() as tx:
            return await _delete_misses(tx, guild_id, miss_ids)

    async def purge_misses(self, now: datetime, keep_days: int, *, guild_id: int | None = None) -> int:
        """Delete misses older than `keep_days` (0 keeps them), for one guild or all."""
        if keep_days <= 0:
            return 0
        cutoff = to_db_time(day_of(now) - timedelta(days=keep_days))
        if guild_id is None:
            return await self.db.execute("DELETE FROM faq_misses WHERE asked_on < ?", (cutoff,))
        return await self.db.execute(
            "DELETE FROM faq_misses WHERE guild_id = ? AND asked_on < ?", (guild_id, cutoff)
        )


async def _upsert(db: Database | Transaction, guild_id: int, entry: GuildEntry, now: datetime) -> None:
    await db.execute(
        "INSERT INTO faq_guild_entries (guild_id, entry_id, kind, question, answer, keywords, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, entry_id) DO UPDATE SET "
        "kind = excluded.kind, question = excluded.question, answer = excluded.answer, "
        "keywords = excluded.keywords, updated_at = excluded.updated_at",
        (guild_id, entry.entry_id, entry.kind.value, entry.question, entry.answer,
         json.dumps(list(entry.keywords)), to_db_time(now)),
    )


async def _delete_misses(tx: Transaction, guild_id: int, miss_ids: Sequence[int]) -> int:
    removed = 0
    ids = list(miss_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        removed += await tx.execute(
            f"DELETE FROM faq_misses WHERE guild_id = ? AND id IN ({marks})", (guild_id, *chunk)
        )
    return removed
