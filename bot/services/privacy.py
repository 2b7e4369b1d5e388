"""Members' data: what Hearth holds, export, erase, retention, guild purges and key rotation."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from bot.config import RetentionSettings
from bot.services.identity import ban_key_for
from bot.storage import privacy as store
from bot.storage.crypto import Keyring
from bot.storage.db import Database, to_db_time
from bot.storage.personal import REGISTRY, MemberRef, PersonalData, PostedMessage

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1


@dataclass(frozen=True)
class AreaSummary:
    """What one area holds about a member: a sentence, how many items, and how long they are kept."""

    area: str
    description: str
    items: int
    keep_days: int | None


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure removed, and the posts the member asked to delete from Discord."""

    areas: tuple[str, ...]
    posts_to_delete: tuple[PostedMessage, ...]


@dataclass
class RetentionReport:
    """What one run of the daily retention job removed (counts only, never content)."""

    rows_by_kind: dict[str, int] = field(default_factory=dict)
    guilds_purged: list[int] = field(default_factory=list)
    erasures_reapplied: int = 0
    erasures_expired: int = 0


def count_items(value: Any) -> int:
    """Count the items in an area's export: list length, or the sum over a dict's lists."""
    if isinstance(value, list | tuple):
        return len(value)
    if isinstance(value, dict):
        nested = [v for v in value.values() if isinstance(v, list | tuple | dict)]
        return sum(count_items(v) for v in nested) if nested else (1 if value else 0)
    return 0 if value in (None, "", 0) else 1


def retention_days(settings: RetentionSettings, kind: str | None) -> int | None:
    """Return `[retention] <kind>_days`, or None if the kind is unknown."""
    if kind is None:
        return None
    value = getattr(settings, f"{kind}_days", None)
    return value if isinstance(value, int) else None


def retention_kinds(settings: RetentionSettings) -> dict[str, int]:
    """Return every retention kind with its days (0 means kept until erased)."""
    return {
        f.name.removesuffix("_days"): getattr(settings, f.name)
        for f in fields(settings)
        if f.name.endswith("_days") and f.name not in ("left_guild_grace_days", "erasure_log_days")
    }


class PrivacyService:
    """Export, erase and age out members' data across every registered area."""

    def __init__(self, db: Database, keyring: Keyring, retention: RetentionSettings,
                 registry: Iterable[PersonalData] | None = None) -> None:
        store.import_storage_modules()
        self.db = db
        self.keyring = keyring
        self.retention = retention
        self._registry = registry

    @property
    def registry(self) -> list[PersonalData]:
        """Return the areas that hold personal data."""
        return list(REGISTRY if self._registry is None else self._registry)

    async def member_ref(self, user_id: int, guild_ids: Iterable[int] = ()) -> MemberRef:
        """Return the member's id and their ban key in every guild Hearth has data for (or is in)."""
        guilds = await store.known_guild_ids(self.db) | set(guild_ids)
        ban_keys = {g: ban_key_for(self.keyring, g, user_id) for g in sorted(guilds)}
        return MemberRef(user_id, ban_keys, keyring=self.keyring)

    async def export(self, user_id: int, now: datetime, guild_ids: Iterable[int] = ()) -> dict[str, Any]:
        """Return everything held about the member, decrypted, as JSON-ready data."""
        member = await self.member_ref(user_id, guild_ids)
        areas: dict[str, Any] = {}
        for entry in self.registry:
            areas[entry.area] = await entry.export(self.db, self.keyring, member)
        return {
            "format": EXPORT_FORMAT,
            "exported_at": to_db_time(now),
            "user_id": str(user_id),
            "note": "Everything Hearth holds about you. Anonymous posts are included because they are "
                    "linked to you through a one-way key that only Hearth can compute.",
            "areas": areas,
        }

    async def summary(self, user_id: int, guild_ids: Iterable[int] = ()) -> list[AreaSummary]:
        """Say, per area, what is held about the member and for how long."""
        member = await self.member_ref(user_id, guild_ids)
        result = []
        for entry in self.registry:
            data = await entry.export(self.db, self.keyring, member)
            result.append(AreaSummary(entry.area, entry.description, count_items(data),
                                      retention_days(self.retention, entry.retention)))
        return result

    async def posts(self, user_id: int, guild_ids: Iterable[int] = ()) -> list[PostedMessage]:
        """List the channel messages Hearth posted on the member's behalf."""
        return await self._posts(await self.member_ref(user_id, guild_ids))

    async def _posts(self, member: MemberRef) -> list[PostedMessage]:
        # Areas may list their posts; tables with ban_key, channel_id and message_id are found too.
        found: list[PostedMessage] = []
        for entry in self.registry:
            if entry.posts is not None:
                found.extend(await entry.posts(self.db, member))
        found.extend(await store.anonymous_messages(self.db, member.ban_keys.values()))
        return list(dict.fromkeys(found))

    async def erase(self, user_id: int, now: datetime, *, delete_posts: bool,
                    guild_ids: Iterable[int] = ()) -> ErasureResult:
        """Erase every row about the member in one transaction, and remember the erasure."""
        member = await self.member_ref(user_id, guild_ids)
        to_delete = await self._posts(member) if delete_posts else []
        subject = store.erasure_subject(self.keyring, user_id)
        async with self.db.transaction() as tx:
            for entry in self.registry:
                await entry.erase(tx, member)
            await store.record_erasure(tx, subject, now)
        # The file beside the database outlives a restore of an older copy of the database.
        path = store.erasure_file_path(self.db)
        entries = store.read_erasure_file(path)
        entries[subject] = to_db_time(now)
        store.write_erasure_file(path, entries)
        log.info("erased a member's data across %d areas", len(self.registry))
        return ErasureResult(tuple(e.area for e in self.registry), tuple(to_delete))

    # ----- retention, departures, erasures after a restore -----

    async def guild_left(self, guild_id: int, now: datetime) -> None:
        """Start the grace period after which a guild's data is purged."""
        await store.record_departure(self.db, guild_id, now)

    async def guild_joined(self, guild_id: int) -> bool:
        """Cancel a pending purge because Hearth is back in the guild."""
        return await store.clear_departure(self.db, guild_id)

    async def purge_guild(self, guild_id: int) -> dict[str, int]:
        """Delete all of a guild's data now."""
        counts = await store.purge_guild(self.db, guild_id)
        await store.clear_departure(self.db, guild_id)
        return counts

    async def reapply_erasures(self) -> int:
        """Erase again members whose erasure the database does not know: it was restored from a copy
        taken before they erased. Members who came back after erasing keep their new data, because
        their erasure is already in the database's own log."""
        path = store.erasure_file_path(self.db)
        remembered = store.read_erasure_file(path)
        known = await store.erasure_rows(self.db)
        missing = {subject: when for subject, when in remembered.items() if subject not in known}
        if not missing:
            return 0
        again = 0
        for user_id in sorted(await store.known_member_ids(self.db)):
            if store.erasure_subject(self.keyring, user_id) in missing:
                member = await self.member_ref(user_id)
                async with self.db.transaction() as tx:
                    for entry in self.registry:
                        await entry.erase(tx, member)
                again += 1
        async with self.db.transaction() as tx:
            for subject, when in missing.items():
                await tx.execute(
                    "INSERT INTO erasure_log (subject_hash, erased_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (subject, when),
                )
        if again:
            log.warning("applied %d erasure(s) again: the database was older than the erasure log", again)
        return again

    async def run_retention(self, now: datetime) -> RetentionReport:
        """Purge what is older than its retention period, and guilds past their grace period."""
        report = RetentionReport()
        for rule in store.RETENTION_RULES:
            days = retention_days(self.retention, rule.kind)
            if days is None:
                log.warning("retention kind %r has no [retention] %s_days setting; keeping its rows",
                            rule.kind, rule.kind)
                continue
            if days == 0:
                continue
            removed = await store.purge_older_than(self.db, rule, now - timedelta(days=days))
            if removed:
                report.rows_by_kind[rule.kind] = report.rows_by_kind.get(rule.kind, 0) + removed
        grace = timedelta(days=self.retention.left_guild_grace_days)
        for guild_id in await store.departures_before(self.db, now - grace):
            await self.purge_guild(guild_id)
            report.guilds_purged.append(guild_id)
        report.erasures_reapplied = await self.reapply_erasures()
        if self.retention.erasure_log_days:
            cutoff = now - timedelta(days=self.retention.erasure_log_days)
            report.erasures_expired = await store.expire_erasures(self.db, cutoff)
            path = store.erasure_file_path(self.db)
            entries = store.read_erasure_file(path)
            kept = {s: when for s, when in entries.items() if when >= to_db_time(cutoff)}
            if kept != entries:
                store.write_erasure_file(path, kept)
        log.info("retention: removed %s; purged %d guild(s)", report.rows_by_kind or "nothing",
                 len(report.guilds_purged))
        return report


# ----- key rotation ------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationReport:
    """How many values each sensitive column had re-sealed, and any sealed columns nobody registered."""

    resealed: dict[str, int]
    unregistered: list[tuple[str, str]]


async def sensitive_columns(db: Database, keyring: Keyring) -> tuple[list[store.SensitiveColumn],
                                                                   list[tuple[str, str]]]:
    """Return every column to re-seal (registered, or found by its "table.column" context) and strays."""
    store.import_storage_modules()
    tables = set(await store.user_tables(db))
    registered = [c for c in store.SENSITIVE_COLUMNS if c.table in tables]
    discovered, strays = await store.discover_sealed_columns(db, keyring, store.SENSITIVE_COLUMNS)
    return registered + discovered, strays


async def pending_rotation(db: Database, keyring: Keyring) -> bool:
    """Say whether any sensitive column still holds a value under an older key version."""
    columns, _ = await sensitive_columns(db, keyring)
    for column in columns:
        rows = await db.fetchall(
            f"SELECT {column.column} FROM {column.table} WHERE {column.column} IS NOT NULL"
        )
        if any(keyring.needs_rotation(row[0]) for row in rows):
            return True
    return False


async def reseal_all(db: Database, keyring: Keyring) -> RotationReport:
    """Re-encrypt every sensitive column under the keyring's current version."""
    columns, strays = await sensitive_columns(db, keyring)
    resealed: dict[str, int] = {}
    for column in columns:
        resealed[f"{column.table}.{column.column}"] = await store.reseal_column(db, column, keyring)
    return RotationReport(resealed, strays)
