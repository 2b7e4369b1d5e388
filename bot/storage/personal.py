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

# Discord never hands out the id 0, so a MemberRef with it matches no row by user id.
NO_USER_ID = 0

# /privacy shows each area's description in one embed field (1,024 characters) with its
# item count and retention, so a description must leave room for those.
DESCRIPTION_LIMIT = 700


@dataclass(frozen=True)
class MemberRef:
    """Everything that can point at one member: their id and their ban key in each guild.

    `keyring` lets an area find rows filed under keys derived per item (such as anonymous
    check-in notes, keyed per check-in so that no two of them can be linked without the key).
    """

    user_id: int
    ban_keys: dict[int, str]
    keyring: Keyring | None = field(default=None, repr=False, compare=False)

    @classmethod
    def by_ban_keys(cls, ban_keys: dict[int, str], keyring: Keyring) -> MemberRef:
        """Return a reference to an author known only by ban keys (an erasure applied again to a
        restored database that holds their anonymous rows and nothing with their id)."""
        return cls(NO_USER_ID, dict(ban_keys), keyring=keyring)


# (channel id, message id) of a message Hearth posted for the member, e.g. an anonymous share.
PostedMessage = tuple[int, int]

PostsFinder = Callable[[Database, MemberRef], Awaitable[list[PostedMessage]]]
# (guild id, ban key) pairs an area keeps rows under.
AuthorsFinder = Callable[[Database, Keyring], Awaitable[set[tuple[int, str]]]]


@dataclass(frozen=True)
class PersonalData:
    """One area's export (decrypted, as plain JSON-ready values) and erase for a member.

    Optional parts, all backward compatible:
    - `posts(db, member)` lists the messages Hearth posted in channels for the member
      *anonymously* (shares, replies, anonymous check-in notes). /mydata erase deletes them
      from Discord when the member asks; otherwise they stay, and `erase` cuts every link.
    - `named_posts(db, member)` lists messages Hearth posted *under the member's name* (check-in
      notes shared with the group). They cannot be unlinked, so /mydata erase always deletes them.
    - `description` says in plain words what the area keeps, including anything that is kept
      for a different time than `retention` says (shown by /privacy; at most DESCRIPTION_LIMIT).
    - `retention` names the `[retention]` setting (without `_days`) that ages these rows out.
    - `authors(db, keyring)` returns every (guild id, ban key) the area keeps anonymous rows under
      when the ban key is not in a plain `ban_key` column (sealed, say), so that an erasure can be
      applied again to a database restored from a backup older than it.
    """

    area: str
    export: Callable[[Database, Keyring, MemberRef], Awaitable[Any]]
    erase: Callable[[Transaction, MemberRef], Awaitable[None]]
    posts: PostsFinder | None = None
    description: str = ""
    retention: str | None = None
    named_posts: PostsFinder | None = None
    authors: AuthorsFinder | None = None


REGISTRY: list[PersonalData] = []


def register_personal_data(entry: PersonalData) -> PersonalData:
    """Add an area to what /mydata exports and erases."""
    if any(existing.area == entry.area for existing in REGISTRY):
        raise ValueError(f"personal data for {entry.area!r} is registered twice")
    if len(entry.description) > DESCRIPTION_LIMIT:
        raise ValueError(f"the description of {entry.area!r} is longer than {DESCRIPTION_LIMIT} characters")
    REGISTRY.append(entry)
    return entry
