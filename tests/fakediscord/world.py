"""The fake Discord's in-memory world: guilds, channels, roles, members, users, messages and threads.

Everything here is plain data plus the payload factories that turn it into the JSON
Discord sends. Payload factories always emit every key discord.py reads, because a
missing key in a gateway payload kills the client.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from tests.fakediscord.snowflake import iso, new_snowflake, snowflake_time


class Perm:
    """Permission bits (the ones Hearth and its tests care about)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    MODERATE_MEMBERS = 1 << 40

    ALL = (1 << 51) - 1

    EVERYONE_DEFAULT = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS
    )

    BOT_DEFAULT = (
        EVERYONE_DEFAULT | MANAGE_MESSAGES | MANAGE_THREADS | CREATE_PRIVATE_THREADS | MENTION_EVERYONE
    )


class ChannelType:
    """Discord channel type numbers."""

    TEXT = 0
    DM = 1
    CATEGORY = 4
    NEWS_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    THREAD_TYPES = (10, 11, 12)


class MessageFlag:
    """Message flag bits."""

    CROSSPOSTED = 1 << 0
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


# ----- users, roles, members -------------------------------------------------------


@dataclass
class User:
    """A Discord user. `dms_open=False` makes DMs to them fail with 50007, as when they closed DMs."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True

    @property
    def mention(self) -> str:
        """Return the mention markup for this user."""
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        """Return the user object Discord sends."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "banner": None,
            "accent_color": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }


@dataclass
class Role:
    """A guild role; `permissions` is the raw permission integer."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    bot_id: int | None = None
    mentionable: bool = False

    @property
    def mention(self) -> str:
        """Return the mention markup for this role."""
        return f"<@&{self.id}>"

    def payload(self) -> dict[str, Any]:
        """Return the role object Discord sends."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Member:
    """A user's membership in a guild."""

    user: User
    guild: Guild
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def id(self) -> int:
        """Return the member's user id."""
        return self.user.id

    @property
    def name(self) -> str:
        """Return the member's username."""
        return self.user.username

    @property
    def mention(self) -> str:
        """Return the mention markup for this member."""
        return self.user.mention

    @property
    def roles(self) -> list[Role]:
        """Return the member's roles, without @everyone."""
        return [self.guild.roles[r] for r in self.role_ids if r in self.guild.roles]

    def has_role(self, role: Role | int) -> bool:
        """Say whether the member has a role."""
        role_id = role if isinstance(role, int) else role.id
        return role_id in self.role_ids

    def add_role(self, role: Role | int) -> None:
        """Give the member a role (no gateway event is sent; interactions carry the new roles)."""
        role_id = role if isinstance(role, int) else role.id
        if role_id not in self.role_ids:
            self.role_ids.append(role_id)

    def remove_role(self, role: Role | int) -> None:
        """Take a role away from the member."""
        role_id = role if isinstance(role, int) else role.id
        if role_id in self.role_ids:
            self.role_ids.remove(role_id)

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        """Return the guild member object; interactions add `permissions`."""
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "avatar_decoration_data": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


# ----- channels -------------------------------------------------------------------------


@dataclass
class Overwrite:
    """A permission overwrite on a channel: `kind` 0 for a role, 1 for a member."""

    id: int
    kind: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        """Return the overwrite object Discord sends."""
        return {"id": str(self.id), "type": self.kind, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class Channel:
    """A guild text channel, a category, a thread or a DM channel."""

    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    recipient_id: int | None = None  # DMs
    owner_id: int | None = None  # threads
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    message_ids: list[int] = field(default_factory=list)
    thread_member_ids: set[int] = field(default_factory=set)
    last_message_id: int | None = None
    total_message_sent: int = 0
    # A message whose thread this is, for threads started from a message.
    starter_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        """Say whether this channel is a thread."""
        return self.type in ChannelType.THREAD_TYPES

    @property
    def is_dm(self) -> bool:
        """Say whether this is a DM channel."""
        return self.type == ChannelType.DM

    @property
    def mention(self) -> str:
        """Return the mention markup for this channel."""
        return f"<#{self.id}>"

    def payload(self, world: World) -> dict[str, Any]:
        """Return the channel object Discord sends."""
        last = str(self.last_message_id) if self.last_message_id else None
        if self.is_dm:
            recipient = world.users[self.recipient_id] if self.recipient_id else None
            return {
                "id": str(self.id),
                "type": ChannelType.DM,
                "last_message_id": last,
                "recipients": [recipient.payload()] if recipient else [],
                "flags": 0,
            }
        if self.is_thread:
            return {
                "id": str(self.id),
                "type": self.type,
                "guild_id": str(self.guild_id),
                "parent_id": str(self.parent_id),
                "owner_id": str(self.owner_id),
                "name": self.name,
                "last_message_id": last,
                "rate_limit_per_user": 0,
                "message_count": len(self.message_ids),
                "member_count": len(self.thread_member_ids),
                "total_message_sent": self.total_message_sent,
                "flags": 0,
                "applied_tags": [],
                "thread_metadata": {
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso(self.created_at),
                    "locked": self.locked,
                    "invitable": True,
                    "create_timestamp": iso(self.created_at),
                },
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.payload() for o in self.overwrites],
            "nsfw": False,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "topic": self.topic,
            "last_message_id": last,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440,
            "default_thread_rate_limit_per_user": 0,
            "last_pin_timestamp": None,
            "flags": 0,
        }

    def interaction_payload(self, world: World, permissions: int) -> dict[str, Any]:
        """Return the partial channel object an interaction carries."""
        data = self.payload(world)
        if not self.is_dm:
            data["permissions"] = str(permissions)
        return data


# ----- messages -------------------------------------------------------------------------


@dataclass
class StoredAttachment:
    """A file someone uploaded; its bytes are served at `url`."""

    id: int
    channel_id: int
    filename: str
    data: bytes
    content_type: str
    url: str
    description: str | None = None
    ephemeral: bool = False

    @property
    def size(self) -> int:
        """Return the file's size in bytes."""
        return len(self.data)

    def payload(self) -> dict[str, Any]:
        """Return the attachment object Discord sends."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
            "ephemeral": self.ephemeral,
        }
        if self.description:
            data["description"] = self.description
        return data

    def text(self, encoding: str = "utf-8") -> str:
        """Decode the attachment's bytes."""
        return self.data.decode(encoding)


@dataclass
class Message:
    """A message as the fake stores it; `history` keeps each earlier version after an edit."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    allowed_mentions: dict[str, Any] | None = None
    tts: bool = False
    nonce: Any = None
    poll: dict[str, Any] | None = None
    thread_id: int | None = None
    pinned: bool = False
    reactions: dict[str, set[int]] = field(default_factory=dict)
    edited_at: datetime | None = None
    deleted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    # The user who can see an ephemeral message (the one who caused the interaction).
    visible_to: int | None = None

    @property
    def created_at(self) -> datetime:
        """Return when the message was sent."""
        return snowflake_time(self.id)

    @property
    def ephemeral(self) -> bool:
        """Say whether only one member can see this message."""
        return bool(self.flags & MessageFlag.EPHEMERAL)

    @property
    def edited(self) -> bool:
        """Say whether the message was edited after it was sent."""
        return bool(self.history)

    @property
    def jump_url(self) -> str:
        """Return the message's link."""
        guild = self.guild_id if self.guild_id else "@me"
        return f"https://discord.com/channels/{guild}/{self.channel_id}/{self.id}"

    def snapshot(self) -> dict[str, Any]:
        """Return the message's visible state (used to keep its edit history)."""
        return {
            "content": self.content,
            "embeds": [dict(e) for e in self.embeds],
            "components": list(self.components),
            "attachments": [a.filename for a in self.attachments],
            "flags": self.flags,
        }

    # ----- reading helpers for tests -----

    @property
    def embed(self) -> dict[str, Any]:
        """Return the first embed (fails the test if there is none)."""
        assert self.embeds, f"message {self.id} has no embeds: {self.content!r}"
        return self.embeds[0]

    @property
    def text(self) -> str:
        """Return all text a member reads: content, embed titles, descriptions, fields, footers."""
        parts = [self.content]
        for embed in self.embeds:
            parts.extend(_embed_texts(embed))
        parts.extend(_component_texts(self.components))
        return "\n".join(p for p in parts if p)

    def iter_components(self) -> Iterator[dict[str, Any]]:
        """Yield every component at any depth (rows, buttons, selects, containers...)."""
        yield from walk_components(self.components)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Return every button."""
        return [c for c in self.iter_components() if c.get("type") == 2]

    @property
    def selects(self) -> list[dict[str, Any]]:
        """Return every select menu."""
        return [c for c in self.iter_components() if c.get("type") in (3, 5, 6, 7, 8)]

    def find_component(
        self, *, custom_id: str | None = None, label: str | None = None, placeholder: str | None = None
    ) -> dict[str, Any] | None:
        """Return the first interactive component matching a custom_id, a label or a placeholder."""
        for component in self.iter_components():
            if component.get("type") not in (2, 3, 5, 6, 7, 8):
                continue
            if custom_id is not None and component.get("custom_id") == custom_id:
                return component
            if label is not None and component.get("label") == label:
                return component
            if placeholder is not None and component.get("placeholder") == placeholder:
                return component
        return None

    def payload(self, world: World) -> dict[str, Any]:
        """Return the message object Discord sends."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "type": self.type,
            "content": self.content,
            "author": self.author.payload(),
            "timestamp": iso(self.created_at),
            "edited_timestamp": iso(self.edited_at) if self.edited_at else None,
            "tts": self.tts,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": self.embeds,
            "reactions": [
                {
                    "emoji": {"id": None, "name": emoji},
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "burst_colors": [],
                    "me": world.bot_user.id in users,
                    "me_burst": False,
                    "burst_me": False,
                    "burst_count": 0,
                }
                for emoji, users in self.reactions.items()
                if users
            ],
            "pinned": self.pinned,
            "flags": self.flags,
            "components": self.components,
            "sticker_items": [],
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        if self.poll is not None:
            data["poll"] = self.poll
        if self.thread_id is not None and self.thread_id in world.channels:
            data["thread"] = world.channels[self.thread_id].payload(world)
        return data


def walk_components(components: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield components at any depth: action rows, sections, containers and labels included."""
    for component in components:
        yield component
        children = list(component.get("components") or [])
        if component.get("component"):
            children.append(component["component"])
        if component.get("accessory"):
            children.append(component["accessory"])
        yield from walk_components(children)


def _embed_texts(embed: dict[str, Any]) -> list[str]:
    texts = [embed.get("title") or "", embed.get("description") or ""]
    if embed.get("author"):
        texts.append(embed["author"].get("name") or "")
    for embed_field in embed.get("fields") or []:
        texts.extend([embed_field.get("name") or "", embed_field.get("value") or ""])
    if embed.get("footer"):
        texts.append(embed["footer"].get("text") or "")
    return texts


def _component_texts(components: list[dict[str, Any]]) -> list[str]:
    # Text display components (components v2) carry text members read.
    return [c.get("content") or "" for c in walk_components(components) if c.get("type") == 10]


# ----- guilds and the world ----------------------------------------------------------------


@dataclass
class Guild:
    """A guild with its roles, channels (and threads) and members."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    unavailable: bool = False

    @property
    def everyone(self) -> Role:
        """Return the @everyone role (its id is the guild's id)."""
        return self.roles[self.id]

    def role_named(self, name: str) -> Role:
        """Return the role with this name."""
        for role in self.roles.values():
            if role.name == name:
                return role
        raise KeyError(f"no role named {name!r} in guild {self.name!r}")

    def member_named(self, name: str) -> Member:
        """Return the member whose username is `name`."""
        for member in self.members.values():
            if member.user.username == name:
                return member
        raise KeyError(f"no member named {name!r} in guild {self.name!r}")

    def base_permissions(self, member: Member) -> int:
        """Return a member's guild-wide permissions from @everyone and their roles."""
        if member.id == self.owner_id:
            return Perm.ALL
        value = self.everyone.permissions
        for role in member.roles:
            value |= role.permissions
        if value & Perm.ADMINISTRATOR:
            return Perm.ALL
        return value

    def permissions_in(self, member: Member, channel: Channel | None, world: World) -> int:
        """Return a member's permissions in a channel, applying overwrites as Discord does."""
        value = self.base_permissions(member)
        if value == Perm.ALL or channel is None:
            return value
        target = channel
        if channel.is_thread and channel.parent_id in world.channels:
            target = world.channels[channel.parent_id]
        overwrites = {(o.kind, o.id): o for o in target.overwrites}
        everyone = overwrites.get((0, self.id))
        if everyone:
            value = (value & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role_id in member.role_ids:
            role_overwrite = overwrites.get((0, role_id))
            if role_overwrite:
                allow |= role_overwrite.allow
                deny |= role_overwrite.deny
        value = (value & ~deny) | allow
        own = overwrites.get((1, member.id))
        if own:
            value = (value & ~own.deny) | own.allow
        if not value & Perm.VIEW_CHANNEL:
            return 0
        return value


class World:
    """Everything the fake Discord knows. Tests build it before the bot connects, and read it after."""

    def __init__(self, *, bot_name: str = "Hearth", token: str | None = None) -> None:
        self.token = token or ("fake." + secrets.token_urlsafe(24))
        self.application_id = new_snowflake()
        self.bot_user = User(id=self.application_id, username=bot_name, bot=True)
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        # Application commands: None is the global scope, else a guild id.
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.cdn_base = "http://127.0.0.1"
        self._listeners: list[Callable[[], None]] = []

    # ----- change notification -----

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every change to the world (used by waiters)."""
        self._listeners.append(callback)

    def changed(self) -> None:
        """Tell listeners that something changed."""
        for callback in list(self._listeners):
            callback()

    # ----- building -----

    def add_user(self, username: str, *, global_name: str | None = None, dms_open: bool = True) -> User:
        """Create a user."""
        user = User(id=new_snowflake(), username=username, global_name=global_name, dms_open=dms_open)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, *, owner: User | None = None) -> Guild:
        """Create a guild with its @everyone role and the bot as a member with its managed role."""
        guild_id = new_snowflake()
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = Guild(id=guild_id, name=name, owner_id=owner.id)
        guild.roles[guild_id] = Role(
            id=guild_id, guild_id=guild_id, name="@everyone", permissions=Perm.EVERYONE_DEFAULT, position=0
        )
        self.guilds[guild_id] = guild
        bot_role = self.add_role(
            guild, self.bot_user.username, permissions=Perm.BOT_DEFAULT, managed=True, bot_id=self.bot_user.id
        )
        guild.members[self.bot_user.id] = Member(user=self.bot_user, guild=guild, role_ids=[bot_role.id])
        guild.members[owner.id] = Member(user=owner, guild=guild)
        return guild

    def add_role(
        self,
        guild: Guild,
        name: str,
        *,
        permissions: int = 0,
        managed: bool = False,
        bot_id: int | None = None,
        mentionable: bool = False,
    ) -> Role:
        """Create a role in a guild, above the existing ones."""
        position = max((r.position for r in guild.roles.values()), default=0) + 1
        role = Role(
            id=new_snowflake(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=position,
            managed=managed,
            bot_id=bot_id,
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        return role

    def add_member(self, guild: Guild, user: User | str, *, roles: Iterable[Role] = ()) -> Member:
        """Add a user (or a new user with this name) to a guild."""
        if isinstance(user, str):
            user = self.add_user(user)
        member = Member(user=user, guild=guild, role_ids=[r.id for r in roles])
        guild.members[user.id] = member
        return member

    def add_text_channel(
        self,
        guild: Guild,
        name: str,
        *,
        topic: str | None = None,
        parent: Channel | None = None,
        overwrites: Iterable[Overwrite] = (),
    ) -> Channel:
        """Create a text channel in a guild."""
        channel = Channel(
            id=new_snowflake(),
            type=ChannelType.TEXT,
            name=name,
            guild_id=guild.id,
            parent_id=parent.id if parent else None,
            position=len(guild.channel_ids),
            topic=topic,
            overwrites=list(overwrites),
        )
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        return channel

    def add_thread(
        self,
        parent: Channel,
        name: str,
        *,
        owner: User | None = None,
        private: bool = False,
        starter_message: Message | None = None,
        auto_archive_duration: int = 1440,
    ) -> Channel:
        """Create a thread under a text channel (from a message when `starter_message` is given)."""
        thread_id = starter_message.id if starter_message else new_snowflake()
        owner = owner or self.bot_user
        thread = Channel(
            id=thread_id,
            type=ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD,
            name=name,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner.id,
            auto_archive_duration=auto_archive_duration,
            starter_message_id=starter_message.id if starter_message else None,
            thread_member_ids={owner.id},
        )
        self.channels[thread.id] = thread
        if starter_message is not None:
            starter_message.thread_id = thread.id
        self.changed()
        return thread

    def remove_channel(self, channel: Channel) -> None:
        """Delete a channel (and its threads); its messages stay readable for assertions."""
        for thread in self.threads_of(channel):
            self.channels.pop(thread.id, None)
        self.channels.pop(channel.id, None)
        if channel.guild_id is not None and channel.guild_id in self.guilds:
            ids = self.guilds[channel.guild_id].channel_ids
            if channel.id in ids:
                ids.remove(channel.id)
        self.changed()

    def dm_channel_for(self, user: User) -> Channel:
        """Return (creating it if needed) the bot's DM channel with a user."""
        channel_id = self.dm_channels.get(user.id)
        if channel_id is not None:
            return self.channels[channel_id]
        channel = Channel(id=new_snowflake(), type=ChannelType.DM, recipient_id=user.id)
        self.channels[channel.id] = channel
        self.dm_channels[user.id] = channel.id
        return channel

    # ----- messages -----

    def store_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        *,
        content_type: str | None = None,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> StoredAttachment:
        """Keep an uploaded file and give it a URL the fake serves."""
        attachment_id = new_snowflake()
        guessed = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        url = f"{self.cdn_base}/attachments/{channel_id}/{attachment_id}/{quote(filename)}"
        attachment = StoredAttachment(
            id=attachment_id,
            channel_id=channel_id,
            filename=filename,
            data=data,
            content_type=guessed,
            url=url,
            description=description,
            ephemeral=ephemeral,
        )
        self.attachments[attachment_id] = attachment
        return attachment

    def add_message(self, message: Message, *, listed: bool = True) -> Message:
        """Store a message; `listed=False` keeps it out of the channel's history (ephemeral messages)."""
        self.messages[message.id] = message
        channel = self.channels.get(message.channel_id)
        if channel is not None and listed:
            channel.message_ids.append(message.id)
            channel.last_message_id = message.id
            channel.total_message_sent += 1
        self.changed()
        return message

    def post_as(self, user: User, channel: Channel, content: str, **fields: Any) -> Message:
        """Store a message written by someone (a member's message, for context menus or threads)."""
        message = Message(
            id=new_snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=user,
            content=content,
            **fields,
        )
        return self.add_message(message)

    def channel_messages(self, channel: Channel | int, *, include_deleted: bool = False) -> list[Message]:
        """Return a channel's messages, oldest first (ephemeral messages are never listed)."""
        found = self.channels.get(channel) if isinstance(channel, int) else channel
        if found is None:
            return []
        messages = (self.messages[m] for m in found.message_ids)
        return [m for m in messages if include_deleted or not m.deleted]

    def threads_of(self, channel: Channel | int) -> list[Channel]:
        """Return the threads under a channel, oldest first."""
        channel_id = channel if isinstance(channel, int) else channel.id
        return [c for c in self.channels.values() if c.is_thread and c.parent_id == channel_id]

    # ----- gateway payloads -----

    def guild_create_payload(self, guild: Guild) -> dict[str, Any]:
        """Return the full GUILD_CREATE payload for a guild, with every key discord.py reads."""
        channels = [self.channels[c] for c in guild.channel_ids]
        threads = [
            c for c in self.channels.values() if c.is_thread and c.guild_id == guild.id and not c.archived
        ]
        bot_member = guild.members.get(self.bot_user.id)
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in sorted(guild.roles.values(), key=lambda r: r.position)],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "incidents_data": None,
            "joined_at": iso(bot_member.joined_at if bot_member else None),
            "large": False,
            "lazy": True,
            "unavailable": False,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": [bot_member.payload()] if bot_member else [],
            "channels": [c.payload(self) for c in channels],
            "threads": [t.payload(self) for t in threads],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
        }
