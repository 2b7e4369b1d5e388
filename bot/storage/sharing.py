"""Queries for anonymous sharing: posts, rate events, blocks, the audit log and preferences.

Nothing here ever receives a user id for an author: authorship is the ban key. The
only user ids stored are moderators' (in the audit log and on blocks they made). A block
is kept under a block key derived one way from the ban key, so it can outlive the member's
erasure without any table keeping their ban key.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from bot.storage.crypto import Keyring
from bot.storage.db import Database, Transaction, from_db_time, to_db_time
from bot.storage.personal import MemberRef, PersonalData, PostedMessage, register_personal_data
from bot.storage.privacy import RetentionRule, register_retention, register_sensitive_column

PENDING = "pending"
QUEUED = "queued"
POSTING = "posting"
POSTED = "posted"
REJECTED = "rejected"

LINK_POLICIES = ("allow", "strip_invites", "strip_all", "refuse")

# Encryption contexts: one stable string per column.
TITLE_CONTEXT = "sharing_posts.title_enc"
WARNING_CONTEXT = "sharing_posts.warning_enc"
BODY_CONTEXT = "sharing_posts.body_enc"
NOTIFY_CONTEXT = "sharing_posts.notify_enc"

# Posts get random ids in this range (seven digits), never counting ones.
POST_ID_FIRST = 1_000_000
POST_ID_COUNT = 9_000_000

EVENT_RETENTION = timedelta(days=1)
REJECTED_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class SharingConfig:
    """A guild's sharing settings."""

    guild_id: int
    blocked_terms: tuple[str, ...] = ()
    link_policy: str = "strip_invites"
    delay_seconds: int = 0
    name_epoch: int = 0


@dataclass(frozen=True)
class Post:
    """One share or reply, as stored: ids, ban key, status and (while pending) sealed text."""

    id: int
    guild_id: int
    kind: str
    share_id: int | None
    ban_key: str
    pseudonym: str
    is_op: bool
    source: str
    status: str
    held_for_care: bool
    flags: tuple[str, ...]
    title_enc: str | None
    warning_enc: str | None
    body_enc: str | None
    notify_enc: str | None
    reject_reason: str | None
    channel_id: int | None
    message_id: int | None
    thread_id: int | None
    review_channel_id: int | None
    review_message_id: int | None
    created_at: datetime
    post_at: datetime | None
    decided_at: datetime | None
    posted_at: datetime | None
    attempts: int
    # The naming round of a share's thread (see pseudonym_scope), and for a post waiting out the
    # delay, the care level to alert moderators about once it is up.
    name_epoch: int
    care_level: str | None

    @property
    def is_share(self) -> bool:
        """Say whether this is a share (not a reply)."""
        return self.kind == "share"


@dataclass(frozen=True)
class NewPost:
    """What the service hands the store to create a post; the pseudonym may depend on the new id."""

    guild_id: int
    kind: str
    ban_key: str
    status: str
    created_at: datetime
    pseudonym: Callable[[int], str]
    share_id: int | None = None
    is_op: bool = False
    source: str = "share"
    held_for_care: bool = False
    flags: tuple[str, ...] = ()
    title_enc: str | None = None
    warning_enc: str | None = None
    body_enc: str | None = None
    notify_enc: str | None = None
    post_at: datetime | None = None
    name_epoch: int = 0
    care_level: str | None = None


def block_key_for(keyring: Keyring, guild_id: int, ban_key: str) -> str:
    """Return the one-way key a block on a ban key is stored and found under."""
    return keyring.keyed_hash("block", guild_id, ban_key)


@dataclass(frozen=True)
class Block:
    """A block on one member's authorship, kept under its block key; it names no one."""

    id: int
    guild_id: int
    block_key: str
    reason: str
    created_by: int | None
    created_at: datetime
    expires_at: datetime | None

    def active(self, now: datetime) -> bool:
        """Say whether the block still applies at `now`."""
        return self.expires_at is None or self.expires_at > now


# The end of an audit entry's detail when an author deleted their own post (no moderator did it).
DELETED_BY_AUTHOR = "by its author"


@dataclass(frozen=True)
class AuditEntry:
    """One action in the audit log; `moderator_id` is None for an author's own delete, and after
    the moderator who took the action erased their data."""

    id: int
    guild_id: int
    moderator_id: int | None
    action: str
    post_id: int | None
    block_id: int | None
    detail: str
    created_at: datetime

    @property
    def by_author(self) -> bool:
        """Say whether an author (not a moderator) took this action: deleting their own post."""
        by_nobody = self.moderator_id is None
        return by_nobody and self.action == "delete" and self.detail.endswith(DELETED_BY_AUTHOR)


@dataclass(frozen=True)
class Withdrawal:
    """A review message to mark withdrawn: its item's author erased their data before a decision."""

    id: int
    guild_id: int
    channel_id: int
    message_id: int


@dataclass(frozen=True)
class Admission:
    """The result of the atomic rate-limit check: either a new post, or why not."""

    post: Post | None
    repeated: bool = False
    limited_until: datetime | None = None


@dataclass
class EventRule:
    """How a submission is counted: its kind, its text hash, and the limit per window."""

    kind: str
    text_hash: str | None
    limit: int
    window: timedelta = timedelta(hours=1)
    repeat_window: timedelta = field(default=EVENT_RETENTION)


_POST_COLUMNS = tuple(f.name for f in fields(Post))
_TIME_COLUMNS = {"created_at", "post_at", "decided_at", "posted_at"}


def _post(row: Any) -> Post:
    values = dict(row)
    for column in _TIME_COLUMNS:
        values[column] = from_db_time(values[column])
    values["is_op"] = bool(values["is_op"])
    values["held_for_care"] = bool(values["held_for_care"])
    values["flags"] = tuple(json.loads(values["flags"]))
    return Post(**values)


def _block(row: Any) -> Block:
    values = dict(row)
    values["created_at"] = from_db_time(values["created_at"])
    values["expires_at"] = from_db_time(values["expires_at"])
    return Block(**values)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else to_db_time(moment)


_SELECT_POST = f"SELECT {', '.join(_POST_COLUMNS)} FROM sharing_posts"
# Once a post is posted, abandoned or rejected, everything about its content goes: the sealed
# words, the sealed id for a decision DM, and what the safety check and the filters found in it
# (flags such as a blocked term, and the care hold). Only ids, the pseudonym and the ban key remain.
_FORGET_CONTENT = (
    "title_enc = NULL, warning_enc = NULL, body_enc = NULL, notify_enc = NULL, care_level = NULL, "
    "flags = '[]', held_for_care = 0"
)


class SharingStore:
    """All SQL for anonymous sharing."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ----- settings ------------------------------------------------------

    async def get_config(self, guild_id: int) -> SharingConfig:
        """Return a guild's sharing settings (defaults if never set)."""
        row = await self.db.fetchone(
            "SELECT blocked_terms, link_policy, delay_seconds, name_epoch FROM sharing_settings "
            "WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return SharingConfig(guild_id=guild_id)
        return SharingConfig(
            guild_id=guild_id,
            blocked_terms=tuple(json.loads(row["blocked_terms"])),
            link_policy=row["link_policy"],
            delay_seconds=int(row["delay_seconds"]),
            name_epoch=int(row["name_epoch"]),
        )

    async def update_config(
        self,
        guild_id: int,
        now: datetime,
        *,
        blocked_terms: Sequence[str] | None = None,
        link_policy: str | None = None,
        delay_seconds: int | None = None,
        bump_epoch: bool = False,
    ) -> SharingConfig:
        """Change some of a guild's sharing settings and return the result."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO sharing_settings (guild_id, updated_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (guild_id, to_db_time(now)),
            )
            if blocked_terms is not None:
                await tx.execute(
                    "UPDATE sharing_settings SET blocked_terms = ? WHERE guild_id = ?",
                    (json.dumps(list(blocked_terms)), guild_id),
                )
            if link_policy is not None:
                if link_policy not in LINK_POLICIES:
                    raise ValueError(f"unknown link policy {link_policy!r}")
                await tx.execute(
                    "UPDATE sharing_settings SET link_policy = ? WHERE guild_id = ?", (link_policy, guild_id)
                )
            if delay_seconds is not None:
                await tx.execute(
                    "UPDATE sharing_settings SET delay_seconds = ? WHERE guild_id = ?",
                    (delay_seconds, guild_id),
                )
            if bump_epoch:
                await tx.execute(
                    "UPDATE sharing_settings SET name_epoch = name_epoch + 1 WHERE guild_id = ?", (guild_id,)
                )
            await tx.execute(
                "UPDATE sharing_settings SET updated_at = ? WHERE guild_id = ?", (to_db_time(now), guild_id)
            )
        return await self.get_config(guild_id)

    # ----- creating posts ------------------------------------------------

    async def admit(self, new: NewPost, rule: EventRule) -> Admission:
        """Check the rate limit and repeated text, and create the post, in one transaction.

        Doing both under the write lock means two submissions at the same instant
        cannot both slip under the limit.
        """
        now = new.created_at
        async with self.db.transaction() as tx:
            if rule.text_hash is not None:
                repeated = await tx.fetchval(
                    "SELECT 1 FROM sharing_events WHERE guild_id = ? AND ban_key = ? AND kind = ? "
                    "AND text_hash = ? AND created_at > ? LIMIT 1",
                    (
                        new.guild_id,
                        new.ban_key,
                        rule.kind,
                        rule.text_hash,
                        to_db_time(now - rule.repeat_window),
                    ),
                )
                if repeated:
                    return Admission(post=None, repeated=True)
            recent = await tx.fetchall(
                "SELECT created_at FROM sharing_events WHERE guild_id = ? AND ban_key = ? AND kind = ? "
                "AND created_at > ? ORDER BY created_at",
                (new.guild_id, new.ban_key, rule.kind, to_db_time(now - rule.window)),
            )
            if len(recent) >= rule.limit:
                oldest = from_db_time(recent[len(recent) - rule.limit]["created_at"])
                assert oldest is not None
                return Admission(post=None, limited_until=oldest + rule.window)
            await tx.execute(
                "INSERT INTO sharing_events (guild_id, ban_key, kind, text_hash, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (new.guild_id, new.ban_key, rule.kind, rule.text_hash, to_db_time(now)),
            )
            post_id = await self._insert_post(tx, new)
            row = await tx.fetchone(f"{_SELECT_POST} WHERE id = ?", (post_id,))
        return Admission(post=_post(row))

    @staticmethod
    async def _new_post_id(tx: Transaction) -> int:
        """Pick an unused random id: ids are shown and carried in buttons, and counting ones would
        tell which post was written first, undoing the random posting delay."""
        while True:
            candidate = POST_ID_FIRST + secrets.randbelow(POST_ID_COUNT)
            taken = await tx.fetchval(
                "SELECT 1 FROM sharing_posts WHERE id = ? "
                "UNION ALL SELECT 1 FROM sharing_audit WHERE post_id = ?",
                (candidate, candidate),
            )
            if not taken:
                return candidate

    async def _insert_post(self, tx: Transaction, new: NewPost) -> int:
        post_id = await self._new_post_id(tx)
        await tx.execute(
            "INSERT INTO sharing_posts (id, guild_id, kind, share_id, ban_key, pseudonym, is_op, source, "
            "status, held_for_care, flags, title_enc, warning_enc, body_enc, notify_enc, created_at, "
            "post_at, name_epoch, care_level) "
            "VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                post_id,
                new.guild_id,
                new.kind,
                new.share_id,
                new.ban_key,
                int(new.is_op),
                new.source,
                new.status,
                int(new.held_for_care),
                json.dumps(list(new.flags)),
                new.title_enc,
                new.warning_enc,
                new.body_enc,
                new.notify_enc,
                to_db_time(new.created_at),
                _time(new.post_at),
                new.name_epoch,
                new.care_level,
            ),
        )
        await tx.execute(
            "UPDATE sharing_posts SET pseudonym = ? WHERE id = ?", (new.pseudonym(post_id), post_id)
        )
        return post_id

    async def record_event(
        self,
        guild_id: int,
        ban_key: str,
        kind: str,
        now: datetime,
        limit: int,
        window: timedelta = timedelta(hours=1),
    ) -> datetime | None:
        """Count one event (such as a report) against a limit; return when it frees up if over it."""
        async with self.db.transaction() as tx:
            recent = await tx.fetchall(
                "SELECT created_at FROM sharing_events WHERE guild_id = ? AND ban_key = ? AND kind = ? "
                "AND created_at > ? ORDER BY created_at",
                (guild_id, ban_key, kind, to_db_time(now - window)),
            )
            if len(recent) >= limit:
                oldest = from_db_time(recent[len(recent) - limit]["created_at"])
                assert oldest is not None
                return oldest + window
            await tx.execute(
                "INSERT INTO sharing_events (guild_id, ban_key, kind, created_at) VALUES (?, ?, ?, ?)",
                (guild_id, ban_key, kind, to_db_time(now)),
            )
        return None

    # ----- reading posts -------------------------------------------------

    async def get_post(self, post_id: int) -> Post | None:
        """Return one post by id."""
        row = await self.db.fetchone(f"{_SELECT_POST} WHERE id = ?", (post_id,))
        return None if row is None else _post(row)

    async def post_by_message(self, guild_id: int, message_id: int) -> Post | None:
        """Return the posted share or reply shown by a Discord message."""
        row = await self.db.fetchone(
            f"{_SELECT_POST} WHERE message_id = ? AND guild_id = ?", (message_id, guild_id)
        )
        return None if row is None else _post(row)

    async def posts_by_author(
        self, guild_id: int, ban_key: str, limit: int = 100, offset: int = 0
    ) -> list[Post]:
        """Return a member's shares and replies in a guild, newest first (from `offset` on)."""
        rows = await self.db.fetchall(
            f"{_SELECT_POST} WHERE guild_id = ? AND ban_key = ? ORDER BY created_at DESC, rowid DESC "
            "LIMIT ? OFFSET ?",
            (guild_id, ban_key, limit, offset),
        )
        return [_post(r) for r in rows]

    async def count_by_author(self, guild_id: int, ban_key: str) -> int:
        """Count a member's shares and replies in a guild."""
        value = await self.db.fetchval(
            "SELECT COUNT(*) FROM sharing_posts WHERE guild_id = ? AND ban_key = ?", (guild_id, ban_key)
        )
        return int(value or 0)

    async def count_by_status(self, guild_id: int | None = None) -> dict[str, int]:
        """Count posts per status, in one guild or all (/sharemod pending counts beyond its list)."""
        where, params = ("WHERE guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
        rows = await self.db.fetchall(
            f"SELECT status, COUNT(*) AS n FROM sharing_posts {where} GROUP BY status", params
        )
        return {r["status"]: int(r["n"]) for r in rows}

    async def due_posts(self, now: datetime, limit: int = 500) -> list[int]:
        """Return the ids of queued posts whose time has come, oldest first."""
        rows = await self.db.fetchall(
            "SELECT id FROM sharing_posts WHERE status = ? AND post_at <= ? ORDER BY post_at, id LIMIT ?",
            (QUEUED, to_db_time(now), limit),
        )
        return [int(r["id"]) for r in rows]

    # ----- moving posts through their life -------------------------------

    async def claim(self, post_id: int) -> Post | None:
        """Take a queued post for posting; only one caller ever wins it."""
        changed = await self.db.execute(
            "UPDATE sharing_posts SET status = ?, attempts = attempts + 1 WHERE id = ? AND status = ?",
            (POSTING, post_id, QUEUED),
        )
        return await self.get_post(post_id) if changed else None

    async def release(self, post_id: int, retry_at: datetime) -> None:
        """Put a post whose posting failed back in the queue for a later try."""
        await self.db.execute(
            "UPDATE sharing_posts SET status = ?, post_at = ? WHERE id = ? AND status = ?",
            (QUEUED, to_db_time(retry_at), post_id, POSTING),
        )

    async def set_care_level(self, post_id: int, level: str) -> bool:
        """Remember to alert moderators about care once a waiting post is up; False if it no longer waits."""
        changed = await self.db.execute(
            "UPDATE sharing_posts SET care_level = ? WHERE id = ? AND status IN (?, ?)",
            (level, post_id, QUEUED, POSTING),
        )
        return changed > 0

    async def retry_now(self, guild_id: int, now: datetime) -> int:
        """Bring a guild's queued posts forward to now (its sharing channel was just fixed)."""
        return await self.db.execute(
            "UPDATE sharing_posts SET post_at = ? WHERE guild_id = ? AND status = ? AND post_at > ?",
            (to_db_time(now), guild_id, QUEUED, to_db_time(now)),
        )

    async def requeue_interrupted(self) -> int:
        """Put posts left half-way by a stopped process back in the queue."""
        return await self.db.execute(
            "UPDATE sharing_posts SET status = ? WHERE status = ?", (QUEUED, POSTING)
        )

    async def mark_posted(
        self, post_id: int, now: datetime, *, channel_id: int, message_id: int, thread_id: int | None
    ) -> Post | None:
        """Record where a post went and forget its text; return the post as it was just before."""
        before = await self.get_post(post_id)
        await self.db.execute(
            "UPDATE sharing_posts SET status = ?, channel_id = ?, message_id = ?, thread_id = ?, "
            f"posted_at = ?, {_FORGET_CONTENT} WHERE id = ?",
            (POSTED, channel_id, message_id, thread_id, to_db_time(now), post_id),
        )
        return before

    async def abandon(self, post_id: int, now: datetime, reason: str) -> bool:
        """Give up on a claimed post that can no longer go anywhere (its share was removed)."""
        changed = await self.db.execute(
            f"UPDATE sharing_posts SET status = ?, reject_reason = ?, decided_at = ?, {_FORGET_CONTENT} "
            "WHERE id = ? AND status = ?",
            (REJECTED, reason, to_db_time(now), post_id, POSTING),
        )
        return changed > 0

    async def discard(self, post_id: int) -> None:
        """Delete a post that never reached anyone (no review channel to hold it in)."""
        await self.db.execute("DELETE FROM sharing_posts WHERE id = ?", (post_id,))

    async def pending_posts(self, guild_id: int, limit: int = 50) -> list[Post]:
        """Return a guild's posts waiting for review, oldest first."""
        rows = await self.db.fetchall(
            f"{_SELECT_POST} WHERE guild_id = ? AND status = ? ORDER BY created_at, rowid LIMIT ?",
            (guild_id, PENDING, limit),
        )
        return [_post(r) for r in rows]

    async def set_thread(self, post_id: int, thread_id: int | None) -> None:
        """Remember the reply thread of a share opened after it was posted (None: it was deleted)."""
        await self.db.execute("UPDATE sharing_posts SET thread_id = ? WHERE id = ?", (thread_id, post_id))

    async def set_review_message(self, post_id: int, channel_id: int, message_id: int) -> None:
        """Remember where a post's review item is."""
        await self.db.execute(
            "UPDATE sharing_posts SET review_channel_id = ?, review_message_id = ? WHERE id = ?",
            (channel_id, message_id, post_id),
        )

    async def set_notify(self, post_id: int, token: str | None) -> bool:
        """Store (or clear) the sealed id used for one decision DM; only while the post is undecided."""
        changed = await self.db.execute(
            "UPDATE sharing_posts SET notify_enc = ? WHERE id = ? AND status IN (?, ?, ?)",
            (token, post_id, PENDING, QUEUED, POSTING),
        )
        return changed > 0

    async def approve(self, post_id: int, now: datetime, moderator_id: int) -> Post | None:
        """Move a pending post to the queue, due now; None if it was no longer pending."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE sharing_posts SET status = ?, post_at = ?, decided_at = ? "
                "WHERE id = ? AND status = ?",
                (QUEUED, to_db_time(now), to_db_time(now), post_id, PENDING),
            )
            if not changed:
                return None
            await self._audit(tx, now, post_id=post_id, moderator_id=moderator_id, action="approve")
            row = await tx.fetchone(f"{_SELECT_POST} WHERE id = ?", (post_id,))
        return _post(row)

    async def reject(
        self, post_id: int, now: datetime, moderator_id: int, reason: str, *, action: str = "reject"
    ) -> Post | None:
        """Reject a pending post and forget its text; return it as it was, or None if not pending."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(f"{_SELECT_POST} WHERE id = ? AND status = ?", (post_id, PENDING))
            if row is None:
                return None
            await tx.execute(
                f"UPDATE sharing_posts SET status = ?, reject_reason = ?, decided_at = ?, {_FORGET_CONTENT} "
                "WHERE id = ?",
                (REJECTED, reason, to_db_time(now), post_id),
            )
            if action == "reject":
                await self._audit(
                    tx, now, post_id=post_id, moderator_id=moderator_id, action="reject", detail=reason
                )
        return _post(row)

    async def delete_post(
        self, post_id: int, now: datetime, *, moderator_id: int | None, guild_id: int, audit: bool = True
    ) -> list[Post]:
        """Delete a post (and, for a share, its replies); return what was deleted, share first."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(f"{_SELECT_POST} WHERE id = ? AND guild_id = ?", (post_id, guild_id))
            if row is None:
                return []
            gone = [_post(row)]
            if gone[0].is_share:
                replies = await tx.fetchall(f"{_SELECT_POST} WHERE share_id = ?", (post_id,))
                gone.extend(_post(r) for r in replies)
                await tx.execute("DELETE FROM sharing_posts WHERE share_id = ?", (post_id,))
            await tx.execute("DELETE FROM sharing_posts WHERE id = ?", (post_id,))
            if audit:
                detail = "by a moderator" if moderator_id is not None else DELETED_BY_AUTHOR
                await self._audit(
                    tx,
                    now,
                    post_id=post_id,
                    moderator_id=moderator_id,
                    action="delete",
                    detail=f"{gone[0].kind} deleted {detail}",
                    guild_id=guild_id,
                )
        return gone

    # ----- blocks --------------------------------------------------------

    async def active_block(self, guild_id: int, block_key: str, now: datetime) -> Block | None:
        """Return the block that applies to a block key now, the longest-lasting first."""
        rows = await self.db.fetchall(
            "SELECT * FROM sharing_blocks WHERE guild_id = ? AND block_key = ? "
            "AND (expires_at IS NULL OR expires_at > ?) ORDER BY expires_at IS NULL DESC, expires_at DESC",
            (guild_id, block_key, to_db_time(now)),
        )
        return _block(rows[0]) if rows else None

    async def add_block(
        self,
        guild_id: int,
        block_key: str,
        now: datetime,
        *,
        moderator_id: int,
        reason: str,
        expires_at: datetime | None,
        post_id: int | None = None,
    ) -> Block:
        """Block a block key (see `block_key_for`) and record it in the audit log."""
        async with self.db.transaction() as tx:
            block_id = await tx.execute(
                "INSERT INTO sharing_blocks "
                "(guild_id, block_key, reason, created_by, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, block_key, reason, moderator_id, to_db_time(now), _time(expires_at)),
            )
            until = "for good" if expires_at is None else f"until {to_db_time(expires_at)}"
            await self._audit(
                tx,
                now,
                post_id=post_id,
                block_id=block_id,
                moderator_id=moderator_id,
                action="block",
                detail=f"{until}: {reason}".strip(),
                guild_id=guild_id,
            )
            row = await tx.fetchone("SELECT * FROM sharing_blocks WHERE id = ?", (block_id,))
        return _block(row)

    async def remove_block(
        self, guild_id: int, block_id: int, now: datetime, moderator_id: int
    ) -> Block | None:
        """Lift a block and record it; None if there was no such block."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM sharing_blocks WHERE id = ? AND guild_id = ?", (block_id, guild_id)
            )
            if row is None:
                return None
            await tx.execute("DELETE FROM sharing_blocks WHERE id = ?", (block_id,))
            await self._audit(
                tx, now, block_id=block_id, moderator_id=moderator_id, action="unblock", guild_id=guild_id
            )
        return _block(row)

    async def adopt_legacy_blocks(self, keyring: Keyring) -> int:
        """Move blocks kept under raw ban keys (before migration 0013) to their block keys; return how many.

        Run at start, before anyone can share. Ids stay the same, so the audit log still matches.
        """
        async with self.db.transaction() as tx:
            legacy = await tx.fetchval(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sharing_blocks_legacy'"
            )
            if not legacy:
                return 0
            rows = await tx.fetchall("SELECT * FROM sharing_blocks_legacy ORDER BY id")
            for row in rows:
                await tx.execute(
                    "INSERT INTO sharing_blocks "
                    "(id, guild_id, block_key, reason, created_by, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        row["id"],
                        row["guild_id"],
                        block_key_for(keyring, row["guild_id"], row["ban_key"]),
                        row["reason"],
                        row["created_by"],
                        row["created_at"],
                        row["expires_at"],
                    ),
                )
            await tx.execute("DROP TABLE sharing_blocks_legacy")
        return len(rows)

    async def list_blocks(self, guild_id: int, now: datetime) -> list[Block]:
        """Return the blocks in force in a guild, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM sharing_blocks WHERE guild_id = ? AND (expires_at IS NULL OR expires_at > ?) "
            "ORDER BY id DESC",
            (guild_id, to_db_time(now)),
        )
        return [_block(r) for r in rows]

    # ----- audit ---------------------------------------------------------

    async def _audit(
        self,
        tx: Transaction,
        now: datetime,
        *,
        action: str,
        moderator_id: int | None,
        post_id: int | None = None,
        block_id: int | None = None,
        detail: str = "",
        guild_id: int | None = None,
    ) -> None:
        if guild_id is None:
            guild_id = await tx.fetchval("SELECT guild_id FROM sharing_posts WHERE id = ?", (post_id,))
        await tx.execute(
            "INSERT INTO sharing_audit "
            "(guild_id, moderator_id, action, post_id, block_id, detail, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (guild_id, moderator_id, action, post_id, block_id, detail, to_db_time(now)),
        )

    async def audit(
        self,
        guild_id: int,
        now: datetime,
        *,
        action: str,
        moderator_id: int | None,
        detail: str = "",
        post_id: int | None = None,
        block_id: int | None = None,
    ) -> None:
        """Record one moderator action that has no other write to ride along with."""
        async with self.db.transaction() as tx:
            await self._audit(
                tx,
                now,
                action=action,
                moderator_id=moderator_id,
                detail=detail,
                post_id=post_id,
                block_id=block_id,
                guild_id=guild_id,
            )

    async def audit_log(self, guild_id: int, limit: int = 20) -> list[AuditEntry]:
        """Return a guild's latest moderator actions, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM sharing_audit WHERE guild_id = ? ORDER BY id DESC LIMIT ?", (guild_id, limit)
        )
        return [
            AuditEntry(**{**dict(r), "created_at": from_db_time(r["created_at"])})  # type: ignore[arg-type]
            for r in rows
        ]

    # ----- review items withdrawn by an erasure ---------------------------

    async def withdrawals(self, limit: int = 100) -> list[Withdrawal]:
        """Return review messages waiting to be marked withdrawn (their authors erased their data)."""
        rows = await self.db.fetchall(
            "SELECT id, guild_id, channel_id, message_id FROM sharing_withdrawals ORDER BY id LIMIT ?",
            (limit,),
        )
        return [Withdrawal(**dict(r)) for r in rows]

    async def forget_withdrawal(self, withdrawal_id: int) -> None:
        """Drop a withdrawal once its review message was edited (or is gone)."""
        await self.db.execute("DELETE FROM sharing_withdrawals WHERE id = ?", (withdrawal_id,))

    # ----- preferences ---------------------------------------------------

    async def dm_decisions(self, guild_id: int, ban_key: str) -> bool:
        """Say whether a member asked for a DM about every decision on their shares."""
        value = await self.db.fetchval(
            "SELECT dm_decisions FROM sharing_prefs WHERE guild_id = ? AND ban_key = ?", (guild_id, ban_key)
        )
        return bool(value)

    async def set_dm_decisions(self, guild_id: int, ban_key: str, enabled: bool) -> None:
        """Turn decision DMs on or off for a member."""
        if enabled:
            await self.db.execute(
                "INSERT INTO sharing_prefs (guild_id, ban_key, dm_decisions) VALUES (?, ?, 1) "
                "ON CONFLICT (guild_id, ban_key) DO UPDATE SET dm_decisions = 1",
                (guild_id, ban_key),
            )
        else:
            await self.db.execute(
                "DELETE FROM sharing_prefs WHERE guild_id = ? AND ban_key = ?", (guild_id, ban_key)
            )

    # ----- housekeeping --------------------------------------------------

    async def purge(self, now: datetime, *, audit_days: int = 0) -> dict[str, int]:
        """Drop what is no longer needed: old rate events, expired blocks, old rejections (and audit rows).

        The daily retention job ages the audit log out too (`[retention] audit_days`); passing
        `audit_days` here does the same at once.
        """
        removed: dict[str, int] = {}
        async with self.db.transaction() as tx:
            removed["events"] = await tx.execute(
                "DELETE FROM sharing_events WHERE created_at <= ?", (to_db_time(now - EVENT_RETENTION),)
            )
            removed["blocks"] = await tx.execute(
                "DELETE FROM sharing_blocks WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (to_db_time(now),),
            )
            removed["rejected"] = await tx.execute(
                "DELETE FROM sharing_posts WHERE status = ? AND decided_at <= ?",
                (REJECTED, to_db_time(now - REJECTED_RETENTION)),
            )
            removed["audit"] = 0
            if audit_days > 0:
                removed["audit"] = await tx.execute(
                    "DELETE FROM sharing_audit WHERE created_at <= ?",
                    (to_db_time(now - timedelta(days=audit_days)),),
                )
        return removed

    async def purge_guild(self, tx: Transaction, guild_id: int) -> None:
        """Delete everything sharing keeps for one guild."""
        for table in (
            "sharing_posts",
            "sharing_withdrawals",
            "sharing_events",
            "sharing_blocks",
            "sharing_audit",
            "sharing_prefs",
            "sharing_settings",
        ):
            await tx.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))


# ----- personal data (for /mydata) ----------------------------------------------


def _open(keyring: Keyring, token: str | None, context: str) -> str | None:
    return keyring.decrypt_optional(token, context=context)


async def export_member(db: Database, keyring: Keyring, member: MemberRef) -> dict[str, Any]:
    """Return a member's shares, replies, recent activity, preferences, blocks and moderator actions."""
    posts: list[dict[str, Any]] = []
    activity: list[dict[str, Any]] = []
    prefs: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    for guild_id, ban_key in sorted(member.ban_keys.items()):
        rows = await db.fetchall(
            f"{_SELECT_POST} WHERE guild_id = ? AND ban_key = ? ORDER BY created_at", (guild_id, ban_key)
        )
        for post in map(_post, rows):
            posts.append(
                {
                    "guild_id": post.guild_id,
                    "id": post.id,
                    "kind": post.kind,
                    "share_id": post.share_id,
                    "pseudonym": post.pseudonym,
                    "status": post.status,
                    "title": _open(keyring, post.title_enc, TITLE_CONTEXT),
                    "content_warning": _open(keyring, post.warning_enc, WARNING_CONTEXT),
                    "text": _open(keyring, post.body_enc, BODY_CONTEXT),
                    "reject_reason": post.reject_reason,
                    "channel_id": post.channel_id,
                    "message_id": post.message_id,
                    "thread_id": post.thread_id,
                    "created_at": _time(post.created_at),
                    "posted_at": _time(post.posted_at),
                }
            )
        for row in await db.fetchall(
            "SELECT kind, created_at FROM sharing_events WHERE guild_id = ? AND ban_key = ? ORDER BY id",
            (guild_id, ban_key),
        ):
            activity.append({"guild_id": guild_id, "kind": row["kind"], "at": row["created_at"]})
        pref = await db.fetchval(
            "SELECT dm_decisions FROM sharing_prefs WHERE guild_id = ? AND ban_key = ?", (guild_id, ban_key)
        )
        if pref is not None:
            prefs.append({"guild_id": guild_id, "dm_decisions": bool(pref)})
        # A block's reason is a moderator's note and may name others, so only its dates are shown.
        for row in await db.fetchall(
            "SELECT id, created_at, expires_at FROM sharing_blocks WHERE guild_id = ? AND block_key = ?",
            (guild_id, block_key_for(keyring, guild_id, ban_key)),
        ):
            blocks.append(
                {
                    "guild_id": guild_id,
                    "block_id": row["id"],
                    "since": row["created_at"],
                    "until": row["expires_at"],
                }
            )
    actions = await db.fetchall(
        "SELECT guild_id, action, post_id, block_id, detail, created_at FROM sharing_audit "
        "WHERE moderator_id = ? ORDER BY id",
        (member.user_id,),
    )
    # Blocks the member made as a moderator carry their id (`created_by`) and their own reason;
    # the block key stands for someone else, so it is left out.
    made = await db.fetchall(
        "SELECT guild_id, id, reason, created_at, expires_at FROM sharing_blocks "
        "WHERE created_by = ? ORDER BY id",
        (member.user_id,),
    )
    return {
        "posts": posts,
        "recent_activity": activity,
        "preferences": prefs,
        "blocks": blocks,
        "moderator_actions": [dict(r) for r in actions],
        "blocks_made": [
            {
                "guild_id": r["guild_id"],
                "block_id": r["id"],
                "reason": r["reason"],
                "since": r["created_at"],
                "until": r["expires_at"],
            }
            for r in made
        ],
    }


async def posted_messages(db: Database, member: MemberRef) -> list[PostedMessage]:
    """List the channel messages of a member's posted shares and replies (for /mydata erase)."""
    found: list[PostedMessage] = []
    for guild_id, ban_key in sorted(member.ban_keys.items()):
        rows = await db.fetchall(
            "SELECT channel_id, message_id FROM sharing_posts WHERE guild_id = ? AND ban_key = ? "
            "AND channel_id IS NOT NULL AND message_id IS NOT NULL ORDER BY created_at",
            (guild_id, ban_key),
        )
        found.extend((int(r["channel_id"]), int(r["message_id"])) for r in rows)
    return found


async def erase_member(tx: Transaction, member: MemberRef) -> None:
    """Delete a member's shares, replies, rate events and preferences; unname their moderator actions.

    Blocks on the member stay: they hold only a one-way block key (never the ban key), the
    moderator's reason and dates, and they protect the group from someone who could otherwise
    lift their own block by erasing their data.
    """
    for guild_id, ban_key in member.ban_keys.items():
        # Their items still waiting for a decision show the text in the review channel: the cog
        # edits those review messages to "withdrawn" (it cannot be done inside this transaction).
        await tx.execute(
            "INSERT INTO sharing_withdrawals (guild_id, channel_id, message_id) "
            "SELECT guild_id, review_channel_id, review_message_id FROM sharing_posts "
            "WHERE guild_id = ? AND ban_key = ? AND status = ? "
            "AND review_channel_id IS NOT NULL AND review_message_id IS NOT NULL",
            (guild_id, ban_key, PENDING),
        )
        for table in ("sharing_posts", "sharing_events", "sharing_prefs"):
            await tx.execute(f"DELETE FROM {table} WHERE guild_id = ? AND ban_key = ?", (guild_id, ban_key))
    await tx.execute("UPDATE sharing_audit SET moderator_id = NULL WHERE moderator_id = ?", (member.user_id,))
    await tx.execute("UPDATE sharing_blocks SET created_by = NULL WHERE created_by = ?", (member.user_id,))


PERSONAL_DATA = register_personal_data(
    PersonalData(
        "sharing",
        export_member,
        erase_member,
        posts=posted_messages,
        description=(
            "Your anonymous shares and replies, found by a one-way key (one that was not posted, with "
            "the reason, for 30 days after the decision); their words only while they wait for a "
            "moderator or the posting delay. Whether you asked for decision DMs, until you change it. "
            "Your user id, "
            "encrypted, only while a decision DM you asked for is waiting. For up to a day, when you "
            "shared, replied or reported (for the rate limits), without the words. If you moderate: "
            "what you did (the audit trail, kept as long as it says below) and the blocks you made, "
            "with your id, until they end or are lifted."
        ),
        retention="shares",
    )
)
for _column, _context in (
    ("title_enc", TITLE_CONTEXT),
    ("warning_enc", WARNING_CONTEXT),
    ("body_enc", BODY_CONTEXT),
    ("notify_enc", NOTIFY_CONTEXT),
):
    register_sensitive_column("sharing_posts", _column, _context, key_column="id")
register_retention(RetentionRule("audit", "sharing_audit", "created_at"))
# Decided posts (posted or not) lose the row linking them to a ban key after `shares_days`; a post
# still waiting is kept until it is decided.
register_retention(
    RetentionRule("shares", "sharing_posts", "created_at", condition=f"status IN ('{POSTED}', '{REJECTED}')")
)
