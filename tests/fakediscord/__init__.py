"""A fake Discord (REST + gateway) for end-to-end tests of the real bot. See README.md here."""

from __future__ import annotations

from tests.fakediscord.actors import Actor, InteractionResult, Upload
from tests.fakediscord.faults import Fault, FaultPlan
from tests.fakediscord.gateway import Gateway
from tests.fakediscord.interactions import InteractionRecord, InteractionType, Modal, ModalField, ResponseType
from tests.fakediscord.journal import Entry, Journal, UploadedFile
from tests.fakediscord.ratelimit import BucketSpec, RateLimiter
from tests.fakediscord.server import FakeDiscord
from tests.fakediscord.world import (
    Channel,
    ChannelType,
    Guild,
    Member,
    Message,
    MessageFlag,
    Overwrite,
    Perm,
    Role,
    StoredAttachment,
    User,
    World,
)

__all__ = [
    "Actor",
    "BucketSpec",
    "Channel",
    "ChannelType",
    "Entry",
    "FakeDiscord",
    "Fault",
    "FaultPlan",
    "Gateway",
    "Guild",
    "InteractionRecord",
    "InteractionResult",
    "InteractionType",
    "Journal",
    "Member",
    "Message",
    "MessageFlag",
    "Modal",
    "ModalField",
    "Overwrite",
    "Perm",
    "RateLimiter",
    "ResponseType",
    "Role",
    "StoredAttachment",
    "Upload",
    "UploadedFile",
    "User",
    "World",
]
