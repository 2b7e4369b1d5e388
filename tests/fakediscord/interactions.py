"""What the fake knows about each interaction it dispatched, and the modal a bot opened."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakediscord.world import Member, User


class InteractionType:
    """Interaction type numbers."""

    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class ResponseType:
    """Interaction callback type numbers."""

    PONG = 1
    CHANNEL_MESSAGE = 4
    DEFERRED_CHANNEL_MESSAGE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE_RESULT = 8
    MODAL = 9


# Which callback types Discord accepts for each interaction type.
ALLOWED_RESPONSES: dict[int, set[int]] = {
    InteractionType.APPLICATION_COMMAND: {4, 5, 9},
    InteractionType.MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
    InteractionType.AUTOCOMPLETE: {8},
    InteractionType.MODAL_SUBMIT: {4, 5, 6, 7},
}


@dataclass
class ModalField:
    """One input in a modal the bot opened."""

    custom_id: str
    label: str | None
    type: int
    required: bool
    min_length: int | None = None
    max_length: int | None = None
    value: str | None = None
    placeholder: str | None = None
    style: int | None = None
    options: list[dict[str, Any]] = field(default_factory=list)
    min_values: int | None = None
    max_values: int | None = None
    in_label: bool = False


@dataclass
class Modal:
    """A modal the bot opened (callback type 9)."""

    title: str
    custom_id: str
    components: list[dict[str, Any]]

    @property
    def fields(self) -> list[ModalField]:
        """Return every input in order (text inputs, selects, ...)."""
        found: list[ModalField] = []
        for component in self.components:
            if component.get("type") == 1:
                found.extend(_field(c, None) for c in component.get("components") or [])
            elif component.get("type") == 18 and component.get("component"):
                found.append(_field(component["component"], component.get("label")))
        return found

    def field(self, key: str) -> ModalField:
        """Return the input whose custom_id or label is `key`."""
        for candidate in self.fields:
            if key in (candidate.custom_id, candidate.label):
                return candidate
        known = ", ".join(f"{f.custom_id!r} ({f.label!r})" for f in self.fields)
        raise AssertionError(f"modal {self.title!r} has no field {key!r}; it has: {known}")

    @property
    def text(self) -> str:
        """Return the modal's visible text: title, labels and text displays."""
        parts = [self.title]
        for component in self.components:
            if component.get("type") == 10:
                parts.append(component.get("content") or "")
            if component.get("type") == 18:
                parts.append(component.get("label") or "")
                parts.append(component.get("description") or "")
        parts.extend(f.label or "" for f in self.fields)
        return "\n".join(p for p in parts if p)


def _field(component: dict[str, Any], label: str | None) -> ModalField:
    kind = int(component.get("type", 4))
    required_default = kind == 4
    return ModalField(
        custom_id=str(component.get("custom_id")),
        label=label if label is not None else component.get("label"),
        type=kind,
        required=bool(component.get("required", required_default)),
        min_length=component.get("min_length"),
        max_length=component.get("max_length"),
        value=component.get("value"),
        placeholder=component.get("placeholder"),
        style=component.get("style"),
        options=list(component.get("options") or []),
        min_values=component.get("min_values"),
        max_values=component.get("max_values"),
        in_label=label is not None,
    )


@dataclass
class InteractionRecord:
    """One interaction the fake dispatched, and everything the bot did in answer to it."""

    id: int
    token: str
    type: int
    data: dict[str, Any]
    user: User
    member: Member | None
    channel_id: int
    guild_id: int | None
    payload: dict[str, Any]
    # The message carrying the clicked component (or the component that opened a submitted modal).
    source_message_id: int | None = None
    dispatched_at: float = field(default_factory=time.monotonic)
    response_type: int | None = None
    response: dict[str, Any] | None = None
    responded_at: float | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: Modal | None = None
    choices: list[dict[str, Any]] | None = None
    expired: bool = False
    rejected: list[tuple[int, Any]] = field(default_factory=list)
    # Set once the bot answered, or once it was too late to answer.
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def latency(self) -> float | None:
        """Return how long the bot took to answer, in seconds."""
        return None if self.responded_at is None else self.responded_at - self.dispatched_at
