"""What each area holds about a member, so /mydata can export and erase all of it.

Every storage area that keeps rows about a member registers a `PersonalData`
here. Rows are found by user id, or, for anonymous content, by the member's ban
keys (one per guild), since no anonymous table holds a user id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.storage.crypto import Keyring
from bot.storage.db import Database, Transaction


@dataclass(frozen=True)
class MemberRef:
    """Everything that can point at one member: their id and their ban key in each guild.

    `keyring` lets an area find rows filed under keys derived per item (such as anonymous
    check-in notes, keyed per check-in so that no two of them can be linked without the key).
    """

    user_id: int
    ban_keys: dict[int, str]
    keyring: Keyring | None = field(default=None, repr=False, compare=False)


# (channel id, message id) of a message Hearth posted for the member, e.g. an anonymous share.
PostedMessage = tuple[int, int]


@dataclass(frozen=True)
class PersonalData:
    """One area's export (decrypted, as plain JSON-ready values) and erase for a member.

    Optional parts, all backward compatible:
    - `posts(db, member)` lists the messages Hearth posted in channels on the member's
      behalf (anonymous shares and replies). /mydata erase deletes them from Discord
      when the member asks; otherwise they stay, and `erase` cuts every link to them.
    - `description` says in one plain sentence what the area keeps (shown by /privacy).
    - `retention` names the `[retention]` setting (without `_days`) that ages these rows out.
    """

    area: str
    export: Callable[[Database, Keyring, MemberRef], Awaitable[Any]]
    erase: Callable[[Transaction, MemberRef], Awaitable[None]]
    posts: Callable[[Database, MemberRef], Awaitable[list[PostedMessage]]] | None = None
    description: str = ""
    retention: str | None = None


REGISTRY: list[PersonalData] = []


def register_personal_data(entry: PersonalData) -> PersonalData:
    """Add an area to what /mydata exports and erases."""
    if any(existing.area == entry.area for existing in REGISTRY):
        raise ValueError(f"personal data for {entry.area!r} is registered twice")
    REGISTRY.append(entry)
    return entry
