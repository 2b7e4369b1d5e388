"""Members' data: what Hearth holds, export, erase, retention, guild purges and key rotation."""

from __future__ import annotations

import logging
import random
import secrets
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
from bot.storage.privacy import PendingDeletion

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1
# How long the buttons of /mydata erase work (Discord keeps an ephemeral message about as long).
CONFIRM_WINDOW = timedelta(minutes=15)
# A post whose deletion failed (Discord trouble) is tried again this much later, this many times.
DELETE_RETRY_AFTER = timedelta(minutes=5)
DELETE_ATTEMPTS = 5
# A deletion this late was missed (Hearth was stopped), not merely a moment behind.
OVERDUE_AFTER = timedelta(minutes=1)
# Settings in [retention] that are not a kind of row aged out by a rule.
_NOT_KINDS = ("left_guild_grace_days", "erasure_log_days")


@dataclass(frozen=True)
class AreaSummary:
    """What one area holds about a member: a sentence, how many items, and how long they are kept."""

    area: str
    description: str
    items: int
    retention: str | None
    keep_days: int | None


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure removed, and the messages queued for deletion from Discord."""

    areas: tuple[str, ...]
    named_posts: tuple[PostedMessage, ...]
    anonymous_posts: tuple[PostedMessage, ...]
    spread_minutes: int


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
    """Return every kind that some registered rule ages out, with its days (0: kept until erased),
    in the order of the settings."""
    store.import_storage_modules()
    ruled = {rule.kind for rule in store.RETENTION_RULES}
    return {
        f.name.removesuffix("_days"): getattr(settings, f.name)
        for f in fields(settings)
        if f.name.endswith("_days") and f.name not in _NOT_KINDS and f.name.removesuffix("_days") in ruled
    }


def unruled_retention_settings(settings: RetentionSettings) -> list[str]:
    """Return `[retention]` kinds that no registered rule uses (a setting that would do nothing)."""
    store.import_storage_modules()
    ruled = {rule.kind for rule in store.RETENTION_RULES}
    return [
        f.name for f in fields(settings)
        if f.name.endswith("_days") and f.name not in _NOT_KINDS and f.name.removesuffix("_days") not in ruled
    ]


class PrivacyService:
    """Export, erase and age out members' data across every registered area."""

    def __init__(self, db: Database, keyring: Keyring, retention: RetentionSettings,
                 registry: Iterable[PersonalData] | None = None, rng: random.Random | None = None) -> None:
        store.import_storage_modules()
        self.db = db
        self.keyring = keyring
        self.retention = retention
        self._registry = registry
        self.rng = rng or secrets.SystemRandom()

    @property
    def registry(self) -> list[PersonalData]:
        """Return the areas that hold personal data."""
        return list(REGISTRY if self._registry is None else self._registry)

    async def member_ref(self, user_id: int, guild_ids: Iterable[int] = ()) -> MemberRef:
        """Return the member's id and their ban key in every guild Hearth has data for (or is in)."""
        guilds = await store.known_guild_ids(self.db) | {g for g in guild_ids if g}
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
            result.append(AreaSummary(entry.area, entry.description, count_items(data), entry.retention,
                                      retention_days(self.retention, entry.retention)))
        return result

    # ----- erasure -----

    def _confirmation_subject(self, user_id: int) -> str:
        return self.keyring.keyed_hash("erase-confirmation", user_id)

    async def request_erasure(self, user_id: int, now: datetime) -> str:
        """Return a nonce for the erase buttons; it works for this member only, for CONFIRM_WINDOW."""
        nonce = secrets.token_hex(8)
        await store.save_erase_confirmation(self.db, nonce, self._confirmation_subject(user_id),
                                            now + CONFIRM_WINDOW, now)
        return nonce

    async def cancel_erasure(self, nonce: str) -> None:
        """Forget an erase confirmation the member turned down."""
        await store.drop_erase_confirmation(self.db, nonce)

    async def _posts(self, member: MemberRef, *, named: bool) -> list[PostedMessage]:
        found: list[PostedMessage] = []
        for entry in self.registry:
            finder = entry.named_posts if named else entry.posts
            if finder is not None:
                found.extend(await finder(self.db, member))
        return list(dict.fromkeys(found))

    def _subjects(self, member: MemberRef) -> list[str]:
        return [store.erasure_subject(self.keyring, member.user_id),
                *(store.ban_key_subject(self.keyring, key) for key in member.ban_keys.values())]

    async def erase(self, user_id: int, now: datetime, *, delete_posts: bool, guild_ids: Iterable[int] = (),
                    nonce: str | None = None) -> ErasureResult | None:
        """Erase every row about the member in one transaction, remember the erasure, and queue the
        deletion of their posts (named ones always; anonymous ones if asked), each at its own random
        moment within `[retention] erased_posts_spread_minutes`.

        With a `nonce` (from `request_erasure`) nothing happens, and None is returned, unless it is
        this member's and still valid.
        """
        member = await self.member_ref(user_id, guild_ids)
        named = await self._posts(member, named=True)
        anonymous = await self._posts(member, named=False) if delete_posts else []
        anonymous = [post for post in anonymous if post not in named]
        spread = timedelta(minutes=self.retention.erased_posts_spread_minutes)
        due = [(channel, message, now + spread * self.rng.random()) for channel, message in named + anonymous]
        subjects = self._subjects(member)
        async with self.db.transaction() as tx:
            if nonce is not None and not await store.claim_erase_confirmation(
                tx, nonce, self._confirmation_subject(user_id), now
            ):
                return None
            for entry in self.registry:
                await entry.erase(tx, member)
            await store.record_erasure(tx, subjects, now)
            await store.queue_deletions(tx, due)
        # The file beside the database outlives a restore of an older copy of the database.
        path = store.erasure_file_path(self.db)
        entries = store.read_erasure_file(path)
        entries.update(dict.fromkeys(subjects, to_db_time(now)))
        store.write_erasure_file(path, entries)
        log.info("erased a member's data across %d areas; %d post(s) queued for deletion",
                 len(self.registry), len(due))
        return ErasureResult(tuple(e.area for e in self.registry), tuple(named), tuple(anonymous),
                             self.retention.erased_posts_spread_minutes)

    async def _known_authors(self) -> set[tuple[int, str]]:
        """Return every (guild, ban key) rows are kept under: plain `ban_key` columns, and the keys
        areas keep sealed (which only they can open)."""
        found = await store.known_ban_keys(self.db)
        for entry in self.registry:
            if entry.authors is not None:
                found |= await entry.authors(self.db, self.keyring)
        return found

    async def _erase_rows(self, member: MemberRef) -> None:
        async with self.db.transaction() as tx:
            for entry in self.registry:
                await entry.erase(tx, member)

    # ----- posts waiting to be deleted -----

    async def due_deletions(self, now: datetime) -> list[PendingDeletion]:
        """Return the queued post deletions whose moment has come."""
        return await store.due_deletions(self.db, now)

    async def deletion_done(self, deletion: PendingDeletion) -> None:
        """Forget a deletion that happened (or can never happen: the message or channel is gone)."""
        await store.finish_deletion(self.db, deletion.id)

    async def deletion_failed(self, deletion: PendingDeletion, now: datetime) -> bool:
        """Try a deletion again later; False (and forgotten) once it has failed too often."""
        if deletion.attempts + 1 >= DELETE_ATTEMPTS:
            await store.finish_deletion(self.db, deletion.id)
            return False
        await store.postpone_deletion(self.db, deletion.id, now + DELETE_RETRY_AFTER)
        return True

    async def respread_overdue_deletions(self, now: datetime) -> int:
        """Spread again, over a new window from `now`, deletions whose moment passed while Hearth was
        not running: deleted together on start-up, they would vanish at once after all. Return how many."""
        overdue = await store.overdue_deletions(self.db, now - OVERDUE_AFTER)
        spread = timedelta(minutes=self.retention.erased_posts_spread_minutes)
        await store.reschedule_deletions(self.db, [(i, now + spread * self.rng.random()) for i in overdue])
        return len(overdue)

    async def next_deletion_at(self) -> datetime | None:
        """Return when the next queued deletion is due."""
        return await store.next_deletion_at(self.db)

    # ----- retention, departures, erasures after a restore -----

    async def guild_left(self, guild_id: int, now: datetime) -> None:
        """Start the grace period after which a guild's data is purged."""
        await store.record_departure(self.db, guild_id, now)

    async def guild_joined(self, guild_id: int) -> bool:
        """Cancel a pending purge because Hearth is back in the guild."""
        return await store.clear_departure(self.db, guild_id)

    async def reconcile_guilds(self, present: Iterable[int], now: datetime) -> tuple[list[int], list[int]]:
        """After connecting: start the grace period for every guild Hearth holds data for but is no
        longer in (it may have been removed while offline), and cancel it for guilds it is in.
        Return (guilds left, guilds back)."""
        here = set(present)
        left = sorted(await store.known_guild_ids(self.db) - here)
        for guild_id in left:
            await store.record_departure(self.db, guild_id, now)
        back = [guild_id for guild_id in sorted(here) if await store.clear_departure(self.db, guild_id)]
        return left, back

    async def purge_guild(self, guild_id: int) -> dict[str, int]:
        """Delete all of a guild's data now."""
        counts = await store.purge_guild(self.db, guild_id)
        await store.clear_departure(self.db, guild_id)
        return counts

    async def reapply_erasures(self) -> int:
        """Erase again what the database holds of members whose erasure it does not know: it was
        restored from a copy taken before they erased. They are found by their id, or, for rows with
        no id (anonymous posts and notes), by their ban keys. Members who came back after erasing
        keep their new data, because their erasure is already in the database's own log."""
        path = store.erasure_file_path(self.db)
        remembered = store.read_erasure_file(path)
        known = await store.erasure_rows(self.db)
        missing = {subject: when for subject, when in remembered.items() if subject not in known}
        if not missing:
            return 0
        again = 0
        for user_id in sorted(await store.known_member_ids(self.db)):
            if store.erasure_subject(self.keyring, user_id) in missing:
                await self._erase_rows(await self.member_ref(user_id))
                again += 1
        for guild_id, ban_key in sorted(await self._known_authors()):
            if store.ban_key_subject(self.keyring, ban_key) in missing:
                await self._erase_rows(MemberRef.by_ban_keys({guild_id: ban_key}, self.keyring))
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
        for name in unruled_retention_settings(self.retention):
            log.warning("[retention] %s ages nothing out: no table registers that kind", name)
        grace = timedelta(days=self.retention.left_guild_grace_days)
        for guild_id in await store.departures_before(self.db, now - grace):
            await self.purge_guild(guild_id)
            report.guilds_purged.append(guild_id)
        report.erasures_reapplied = await self.reapply_erasures()
        await store.expire_erase_confirmations(self.db, now)
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


async def sensitive_columns(db: Database) -> tuple[list[store.SensitiveColumn], list[tuple[str, str]]]:
    """Return the registered sealed columns present in the database, and any other column that
    holds sealed values (which rotation cannot re-seal: an area forgot to register it)."""
    store.import_storage_modules()
    tables = set(await store.user_tables(db))
    registered = [c for c in store.SENSITIVE_COLUMNS if c.table in tables]
    return registered, await store.sealed_values_outside(db, store.SENSITIVE_COLUMNS)


async def pending_rotation(db: Database, keyring: Keyring) -> bool:
    """Say whether any sensitive column still holds a value under an older key version."""
    columns, _ = await sensitive_columns(db)
    for column in columns:
        rows = await db.fetchall(
            f"SELECT {column.column} FROM {column.table} WHERE {column.column} IS NOT NULL"
        )
        if any(keyring.needs_rotation(row[0]) for row in rows):
            return True
    return False


async def reseal_all(db: Database, keyring: Keyring) -> RotationReport:
    """Re-encrypt every sensitive column under the keyring's current version."""
    columns, strays = await sensitive_columns(db)
    resealed: dict[str, int] = {}
    for column in columns:
        resealed[f"{column.table}.{column.column}"] = await store.reseal_column(db, column, keyring)
    return RotationReport(resealed, strays)
