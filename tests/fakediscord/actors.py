"""Actors: a test acts as a member (slash commands, autocomplete, buttons, selects, modals, menus).

Every action dispatches an INTERACTION_CREATE over the gateway, waits for the bot's
initial response, and returns an `InteractionResult` that reads like what the member saw.
The actor refuses what Discord's own client would refuse (an unknown option, a value
outside the choices, a disabled button, a modal field over its max length), so a test
cannot pass by doing something no member could do.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.fakediscord.interactions import InteractionRecord, InteractionType, Modal, ResponseType
from tests.fakediscord.world import Channel, Guild, Member, Message, MessageFlag, Role, StoredAttachment, User

if TYPE_CHECKING:
    from tests.fakediscord.server import FakeDiscord

DEFAULT_TIMEOUT = 5.0

OPTION_SUBCOMMAND, OPTION_GROUP = 1, 2
OPTION_STRING, OPTION_INTEGER, OPTION_BOOLEAN = 3, 4, 5
OPTION_USER, OPTION_CHANNEL, OPTION_ROLE, OPTION_MENTIONABLE = 6, 7, 8, 9
OPTION_NUMBER, OPTION_ATTACHMENT = 10, 11


@dataclass(frozen=True)
class Upload:
    """A file a member attaches to a command option (type 11)."""

    filename: str
    data: bytes
    content_type: str | None = None


class Actor:
    """A member (or a user, in DMs) acting in one channel."""

    def __init__(
        self,
        fake: FakeDiscord,
        who: Member | User,
        channel: Channel | None = None,
        *,
        locale: str = "en-US",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.fake = fake
        self.member = who if isinstance(who, Member) else None
        self.user = who.user if isinstance(who, Member) else who
        if channel is None:
            if self.member is None:
                channel = fake.world.dm_channel_for(self.user)
            else:
                guild = self.member.guild
                channel = fake.world.channels[guild.channel_ids[0]]
        self.channel = channel
        self.locale = locale
        self.timeout = timeout

    def __repr__(self) -> str:
        where = f"#{self.channel.name}" if self.channel.name else "DM"
        return f"<Actor {self.user.username} in {where}>"

    @property
    def guild(self) -> Guild | None:
        """Return the fake guild the actor is in (None in DMs)."""
        return self.member.guild if self.member else None

    def in_channel(self, channel: Channel) -> Actor:
        """Return the same member acting in another channel (or thread)."""
        return Actor(self.fake, self.member or self.user, channel, locale=self.locale, timeout=self.timeout)

    def say(self, content: str, **fields: Any) -> Message:
        """Store a message written by this member in the actor's channel (no gateway event)."""
        return self.fake.world.post_as(self.user, self.channel, content, **fields)

    # ----- commands -----

    def _find_command(self, name: str, kind: int) -> dict[str, Any]:
        world = self.fake.world
        scopes: list[int | None] = [None]
        if self.guild is not None:
            scopes.insert(0, self.guild.id)
        for scope in scopes:
            for command in world.commands.get(scope, []):
                if command["name"] == name and int(command.get("type", 1)) == kind:
                    self._check_offered(command)
                    return command
        synced = sorted({c["name"] for scope in scopes for c in world.commands.get(scope, [])})
        raise AssertionError(f"no command {name!r} (type {kind}) is synced; synced commands: {synced}")

    def _check_offered(self, command: dict[str, Any]) -> None:
        # Discord offers a command only in the contexts it allows. default_member_permissions is
        # not enforced: a server can override it, which is why moderator commands check again.
        in_dm = self.guild is None
        contexts = command.get("contexts")
        refused = (contexts is not None and (1 if in_dm else 0) not in contexts) or (
            in_dm and command.get("dm_permission") is False
        )
        if refused:
            where = "in DMs" if in_dm else "in servers"
            raise AssertionError(f"Discord does not offer {command['name']!r} {where} (contexts {contexts})")

    async def slash(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        /,
        *,
        wait: bool = True,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> InteractionResult:
        """Run a slash command: ``slash("setup", vetting=True)``, ``slash("checkin schedule add", ...)``.

        Options are given as keyword arguments (or a dict for names that are not Python
        identifiers). Members, users, roles, channels and `Upload`s become their option
        types with the `resolved` data Discord adds. `None` values are left out.
        """
        data = self._command_data(command, {**(options or {}), **kwargs}, focused=None)
        return await self._interact(InteractionType.APPLICATION_COMMAND, data, wait=wait, timeout=timeout)

    async def autocomplete(
        self,
        command: str,
        option: str,
        typed: str = "",
        options: dict[str, Any] | None = None,
        /,
        *,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Type `typed` into an autocomplete option and return the choices the bot offered."""
        values = {**(options or {}), **kwargs, option: typed}
        data = self._command_data(command, values, focused=option)
        result = await self._interact(InteractionType.AUTOCOMPLETE, data, wait=True, timeout=timeout)
        if result.type != ResponseType.AUTOCOMPLETE_RESULT:
            raise AssertionError(f"autocomplete for {command} {option} answered with type {result.type}")
        return list(result.record.choices or [])

    def _command_data(self, command: str, values: dict[str, Any], *, focused: str | None) -> dict[str, Any]:
        parts = command.lstrip("/").split()
        definition = self._find_command(parts[0], 1)
        resolved: dict[str, dict[str, Any]] = {}
        built = self._build_options(
            definition.get("options") or [], parts[1:], dict(values), resolved, focused, "/" + " ".join(parts)
        )
        data: dict[str, Any] = {
            "id": definition["id"],
            "name": definition["name"],
            "type": 1,
            "options": built,
        }
        if resolved:
            data["resolved"] = resolved
        if definition.get("guild_id"):
            data["guild_id"] = definition["guild_id"]
        return data

    def _build_options(
        self,
        definitions: list[dict[str, Any]],
        path: list[str],
        values: dict[str, Any],
        resolved: dict[str, dict[str, Any]],
        focused: str | None,
        where: str,
    ) -> list[dict[str, Any]]:
        if path:
            for definition in definitions:
                if definition["name"] == path[0] and definition["type"] in (OPTION_SUBCOMMAND, OPTION_GROUP):
                    inner = self._build_options(
                        definition.get("options") or [], path[1:], values, resolved, focused, where
                    )
                    return [{"type": definition["type"], "name": path[0], "options": inner}]
            subs = [d["name"] for d in definitions if d["type"] in (OPTION_SUBCOMMAND, OPTION_GROUP)]
            raise AssertionError(f"{where}: no subcommand {path[0]!r}; there are {subs}")
        subs = [d["name"] for d in definitions if d["type"] in (OPTION_SUBCOMMAND, OPTION_GROUP)]
        if subs:
            raise AssertionError(f"{where} needs a subcommand, one of {subs}")
        by_name = {d["name"]: d for d in definitions}
        built = []
        for name, value in values.items():
            definition = by_name.get(name)
            if definition is None:
                raise AssertionError(f"{where} has no option {name!r}; its options are {list(by_name)}")
            if value is None:
                continue
            built.append(self._option(definition, value, resolved, name == focused, where))
        given = {o["name"] for o in built}
        missing = [d["name"] for d in definitions if d.get("required") and d["name"] not in given]
        # An autocomplete carries only what has been typed so far, so required options may be empty.
        if missing and focused is None:
            raise AssertionError(f"{where}: required options missing: {missing}")
        return built

    def _option(
        self,
        definition: dict[str, Any],
        value: Any,
        resolved: dict[str, dict[str, Any]],
        focused: bool,
        where: str,
    ) -> dict[str, Any]:
        kind = definition["type"]
        name = definition["name"]
        option: dict[str, Any] = {"type": kind, "name": name}
        if focused:
            if not definition.get("autocomplete"):
                raise AssertionError(f"{where} option {name!r} has no autocomplete")
            option.update(value=str(value), focused=True)
            return option
        if kind == OPTION_STRING:
            if not isinstance(value, str):
                raise AssertionError(f"{where} option {name!r} takes text, not {value!r}")
            low, high = definition.get("min_length"), definition.get("max_length", 6000)
            if (low is not None and len(value) < low) or len(value) > high:
                raise AssertionError(f"{where} option {name!r}: Discord would refuse {len(value)} characters")
        elif kind == OPTION_INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise AssertionError(f"{where} option {name!r} takes an integer, not {value!r}")
        elif kind == OPTION_NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise AssertionError(f"{where} option {name!r} takes a number, not {value!r}")
        elif kind == OPTION_BOOLEAN and not isinstance(value, bool):
            raise AssertionError(f"{where} option {name!r} takes True or False, not {value!r}")
        if kind in (OPTION_INTEGER, OPTION_NUMBER):
            low, high = definition.get("min_value"), definition.get("max_value")
            if (low is not None and value < low) or (high is not None and value > high):
                raise AssertionError(f"{where} option {name!r}: {value} is outside {low}..{high}")
        choices = definition.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise AssertionError(
                f"{where} option {name!r}: {value!r} is not one of {[c['value'] for c in choices]}"
            )
        if kind in (OPTION_STRING, OPTION_INTEGER, OPTION_NUMBER, OPTION_BOOLEAN):
            option["value"] = value
            return option
        option["value"] = self._resolve(kind, value, resolved, definition, where)
        return option

    def _resolve(
        self,
        kind: int,
        value: Any,
        resolved: dict[str, dict[str, Any]],
        definition: dict[str, Any] | None,
        where: str,
    ) -> str:
        world = self.fake.world
        name = definition["name"] if definition else "value"
        if kind in (OPTION_USER, OPTION_MENTIONABLE) and isinstance(value, Member | User):
            user = value.user if isinstance(value, Member) else value
            resolved.setdefault("users", {})[str(user.id)] = user.payload()
            if isinstance(value, Member):
                permissions = value.guild.permissions_in(value, self.channel, world)
                resolved.setdefault("members", {})[str(user.id)] = value.payload(
                    with_user=False, permissions=permissions
                )
            return str(user.id)
        if kind in (OPTION_ROLE, OPTION_MENTIONABLE) and isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = value.payload()
            return str(value.id)
        if kind == OPTION_CHANNEL and isinstance(value, Channel):
            allowed = (definition or {}).get("channel_types")
            if allowed and value.type not in allowed:
                raise AssertionError(
                    f"{where} option {name!r} accepts channel types {allowed}, not {value.type}"
                )
            permissions = self.member.guild.permissions_in(self.member, value, world) if self.member else 0
            resolved.setdefault("channels", {})[str(value.id)] = value.interaction_payload(world, permissions)
            return str(value.id)
        if kind == OPTION_ATTACHMENT:
            attachment = self._attachment(value)
            resolved.setdefault("attachments", {})[str(attachment.id)] = attachment.payload()
            return str(attachment.id)
        raise AssertionError(f"{where} option {name!r} (type {kind}) cannot take {value!r}")

    def _attachment(self, value: Any) -> StoredAttachment:
        if isinstance(value, StoredAttachment):
            return value
        if isinstance(value, tuple):
            value = Upload(*value)
        if not isinstance(value, Upload):
            raise AssertionError(f"an attachment option takes an Upload(filename, data), not {value!r}")
        return self.fake.world.store_attachment(
            self.channel.id, value.filename, value.data, content_type=value.content_type, ephemeral=True
        )

    async def message_command(self, name: str, message: Message, *, wait: bool = True) -> InteractionResult:
        """Use a message context menu command ("Apps > name") on a message."""
        definition = self._find_command(name, 3)
        data: dict[str, Any] = {
            "id": definition["id"],
            "name": name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): message.payload(self.fake.world)}},
        }
        if definition.get("guild_id"):
            data["guild_id"] = definition["guild_id"]
        return await self._interact(InteractionType.APPLICATION_COMMAND, data, wait=wait)

    async def user_command(self, name: str, target: Member | User, *, wait: bool = True) -> InteractionResult:
        """Use a user context menu command on a member."""
        definition = self._find_command(name, 2)
        resolved: dict[str, dict[str, Any]] = {}
        target_id = self._resolve(OPTION_USER, target, resolved, None, name)
        data: dict[str, Any] = {
            "id": definition["id"],
            "name": name,
            "type": 2,
            "target_id": target_id,
            "resolved": resolved,
        }
        if definition.get("guild_id"):
            data["guild_id"] = definition["guild_id"]
        return await self._interact(InteractionType.APPLICATION_COMMAND, data, wait=wait)

    # ----- components -----

    def _live(self, message: Message | InteractionResult, **find: Any) -> Message:
        if isinstance(message, InteractionResult):
            found = message.message_with(**find)
        else:
            found = self.fake.world.messages.get(message.id)
        if found is None or found.deleted:
            raise AssertionError(f"the message to interact with is gone: {message!r}")
        if found.ephemeral and found.visible_to not in (None, self.user.id):
            raise AssertionError(f"{self.user.username} cannot see ephemeral message {found.id}")
        return found

    async def click(
        self,
        message: Message | InteractionResult,
        *,
        label: str | None = None,
        custom_id: str | None = None,
        wait: bool = True,
    ) -> InteractionResult:
        """Click a button (found by label or custom_id) on a message or on a result's messages."""
        if label is None and custom_id is None:
            raise ValueError("give the button's label or custom_id")
        target = self._live(message, label=label, custom_id=custom_id)
        button = target.find_component(label=label, custom_id=custom_id)
        if button is None or button.get("type") != 2:
            labels = [b.get("label") or b.get("custom_id") for b in target.buttons]
            raise AssertionError(
                f"no button {label or custom_id!r} on message {target.id}; buttons: {labels}"
            )
        if button.get("disabled"):
            raise AssertionError(f"button {label or custom_id!r} is disabled")
        if button.get("style") in (5, 6) or not button.get("custom_id"):
            raise AssertionError(f"button {label or custom_id!r} is a link, not something the bot hears")
        data = {"custom_id": button["custom_id"], "component_type": 2}
        return await self._interact(InteractionType.MESSAGE_COMPONENT, data, message=target, wait=wait)

    async def select(
        self,
        message: Message | InteractionResult,
        values: list[Any],
        *,
        custom_id: str | None = None,
        placeholder: str | None = None,
        wait: bool = True,
    ) -> InteractionResult:
        """Choose values in a select menu (found by custom_id, placeholder, or the only one there)."""
        target = self._live(message, custom_id=custom_id, placeholder=placeholder, kind="select")
        if custom_id is None and placeholder is None:
            menus = target.selects
            if len(menus) != 1:
                raise AssertionError(f"message {target.id} has {len(menus)} select menus; say which one")
            menu = menus[0]
        else:
            menu = target.find_component(custom_id=custom_id, placeholder=placeholder) or {}
            if menu.get("type") not in (3, 5, 6, 7, 8):
                raise AssertionError(f"no select menu {custom_id or placeholder!r} on message {target.id}")
        if menu.get("disabled"):
            raise AssertionError("the select menu is disabled")
        low, high = menu.get("min_values", 1), menu.get("max_values", 1)
        if not low <= len(values) <= high:
            raise AssertionError(f"the select menu takes {low}..{high} values, not {len(values)}")
        data: dict[str, Any] = {"custom_id": menu["custom_id"], "component_type": menu["type"]}
        if menu["type"] == 3:
            offered = [o["value"] for o in menu.get("options") or []]
            for value in values:
                if value not in offered:
                    raise AssertionError(f"{value!r} is not an option of the select menu; options: {offered}")
            data["values"] = list(values)
        else:
            resolved: dict[str, dict[str, Any]] = {}
            kind = {5: OPTION_USER, 6: OPTION_ROLE, 7: OPTION_CHANNEL, 8: OPTION_MENTIONABLE}[menu["type"]]
            data["values"] = [self._resolve(kind, v, resolved, None, "select") for v in values]
            data["resolved"] = resolved
        return await self._interact(InteractionType.MESSAGE_COMPONENT, data, message=target, wait=wait)

    async def submit(
        self,
        opened: InteractionResult | Modal,
        values: dict[str, Any] | None = None,
        /,
        *,
        wait: bool = True,
        **fields: Any,
    ) -> InteractionResult:
        """Fill in and submit a modal: fields by custom_id or label (``values``) or by custom_id (kwargs).

        Fields left out keep the value the bot pre-filled, or are sent empty when optional;
        a required field left empty, or text over a field's max length, fails the test.
        """
        if isinstance(opened, InteractionResult):
            modal = opened.modal
            source = opened.record.source_message_id
        else:
            modal, source = opened, None
        given = {**(values or {}), **fields}
        chosen: dict[str, Any] = {}
        for key, value in given.items():
            chosen[modal.field(key).custom_id] = value
        components = []
        for component in modal.components:
            if component.get("type") == 1:
                inner = [self._modal_value(c, None, chosen) for c in component.get("components") or []]
                components.append({"type": 1, "components": inner})
            elif component.get("type") == 18 and component.get("component"):
                inner_component = component["component"]
                components.append(
                    {
                        "type": 18,
                        "component": self._modal_value(inner_component, component.get("label"), chosen),
                    }
                )
        message = self.fake.world.messages.get(source) if source else None
        data = {"custom_id": modal.custom_id, "components": components}
        return await self._interact(InteractionType.MODAL_SUBMIT, data, message=message, wait=wait)

    def _modal_value(
        self, component: dict[str, Any], label: str | None, chosen: dict[str, Any]
    ) -> dict[str, Any]:
        custom_id = component.get("custom_id")
        name = label or component.get("label") or custom_id
        kind = int(component.get("type", 4))
        if kind == 4:
            value = chosen.get(custom_id, component.get("value") or "")
            if not isinstance(value, str):
                raise AssertionError(f"modal field {name!r} takes text, not {value!r}")
            required = component.get("required", True)
            low = component.get("min_length") or 0
            high = component.get("max_length") or 4000
            if required and not value:
                raise AssertionError(f"modal field {name!r} is required; Discord would not submit it empty")
            if value and not low <= len(value) <= high:
                raise AssertionError(f"modal field {name!r} takes {low}..{high} characters, not {len(value)}")
            return {"type": 4, "custom_id": custom_id, "value": value}
        values = chosen.get(custom_id, [])
        if not isinstance(values, list):
            values = [values]
        if kind == 3:
            offered = [o["value"] for o in component.get("options") or []]
            for value in values:
                if value not in offered:
                    raise AssertionError(
                        f"{value!r} is not an option of modal field {name!r}; options: {offered}"
                    )
            return {"type": 3, "custom_id": custom_id, "values": values}
        return {"type": kind, "custom_id": custom_id, "values": [str(getattr(v, "id", v)) for v in values]}

    # ----- dispatch -----

    async def _interact(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        message: Message | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> InteractionResult:
        record = self.fake.interaction_payload(
            kind, data, self.user, self.member, self.channel, message=message, locale=self.locale
        )
        result = InteractionResult(self.fake, self, record)
        await self.fake.dispatch_interaction(record, timeout or self.timeout)
        if wait:
            await result.wait_response(timeout or self.timeout)
        return result


class InteractionResult:
    """What came of one interaction: the bot's response, its message(s), a modal or choices."""

    def __init__(self, fake: FakeDiscord, actor: Actor, record: InteractionRecord) -> None:
        self.fake = fake
        self.actor = actor
        self.record = record
        source = fake.world.messages.get(record.source_message_id or 0)
        self._source_edits = len(source.history) if source else 0

    def __repr__(self) -> str:
        return (
            f"<InteractionResult {self.describe()} type={self.type} ephemeral={self.ephemeral} "
            f"text={(self.message.text[:80] if self.message else None)!r} followups={len(self.followups)}>"
        )

    def describe(self) -> str:
        """Name the interaction, e.g. "/setup" or "click hearth:checkin:mood:1:3"."""
        data = self.record.data
        if self.record.type in (InteractionType.APPLICATION_COMMAND, InteractionType.AUTOCOMPLETE):
            names = [data.get("name", "?")]
            options = data.get("options") or []
            while options and options[0].get("type") in (OPTION_SUBCOMMAND, OPTION_GROUP):
                names.append(options[0]["name"])
                options = options[0].get("options") or []
            return "/" + " ".join(names)
        if self.record.type == InteractionType.MESSAGE_COMPONENT:
            return f"component {data.get('custom_id')}"
        return f"modal {data.get('custom_id')}"

    async def wait_response(self, timeout: float = DEFAULT_TIMEOUT) -> InteractionResult:
        """Wait for the bot's initial response; fail with what went wrong if none comes."""
        record = self.record
        # A refused answer (a 400) is not final: the bot may still answer, e.g. with its error message.
        # Waiting on the record's own event keeps thousands of concurrent actors cheap.
        deadline = time.monotonic() + timeout
        try:
            while not record.settled.is_set():
                if self.fake.liveness is not None:
                    self.fake.liveness()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(record.settled.wait(), min(remaining, 0.5))
        except TimeoutError:
            refused = f"; Discord refused its answer(s): {record.rejected}" if record.rejected else ""
            raise AssertionError(
                f"the bot did not answer {self.describe()} within {timeout}s "
                f"(Discord would show 'This interaction failed'){refused}"
            ) from None
        if record.response_type is None:
            raise AssertionError(
                f"the bot answered {self.describe()} later than Discord's 3 second deadline; "
                "it must defer before slow work"
            )
        return self

    # ----- the response -----

    @property
    def type(self) -> int | None:
        """Return the response type: 4 message, 5 deferred, 6/7 (deferred) update, 8 choices, 9 modal."""
        return self.record.response_type

    @property
    def deferred(self) -> bool:
        """Say whether the bot deferred (types 5 and 6)."""
        return self.type in (ResponseType.DEFERRED_CHANNEL_MESSAGE, ResponseType.DEFERRED_UPDATE_MESSAGE)

    @property
    def latency(self) -> float | None:
        """Return how long the bot took to send its initial response."""
        return self.record.latency

    @property
    def message(self) -> Message | None:
        """Return the message the response created or updated, as it is now (after any edits)."""
        message_id = self.record.original_message_id
        return None if message_id is None else self.fake.world.messages[message_id]

    def _message(self) -> Message:
        message = self.message
        if message is None:
            raise AssertionError(f"{self.describe()} has no response message (response type {self.type})")
        return message

    @property
    def ephemeral(self) -> bool:
        """Say whether the response message is visible only to the member."""
        return self._message().ephemeral

    @property
    def content(self) -> str:
        """Return the response message's content."""
        return self._message().content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """Return the response message's embeds."""
        return self._message().embeds

    @property
    def embed(self) -> dict[str, Any]:
        """Return the response message's first embed."""
        return self._message().embed

    @property
    def components(self) -> list[dict[str, Any]]:
        """Return the response message's components."""
        return self._message().components

    @property
    def flags(self) -> int:
        """Return the response message's flags."""
        return self._message().flags

    @property
    def attachments(self) -> list[StoredAttachment]:
        """Return the response message's attachments (with their bytes)."""
        return self._message().attachments

    @property
    def text(self) -> str:
        """Return all text of the response message and follow-ups (content, embeds, text displays)."""
        return "\n".join(m.text for m in self.messages)

    @property
    def modal(self) -> Modal:
        """Return the modal the bot opened (fails if it opened none)."""
        if self.record.modal is None:
            raise AssertionError(f"{self.describe()} opened no modal (response type {self.type})")
        return self.record.modal

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Return the autocomplete choices."""
        return list(self.record.choices or [])

    @property
    def followups(self) -> list[Message]:
        """Return the follow-up messages, as they are now."""
        return [self.fake.world.messages[m] for m in self.record.followup_ids]

    @property
    def messages(self) -> list[Message]:
        """Return the response message (if any) and the follow-ups, skipping deleted ones."""
        found = ([self.message] if self.message else []) + self.followups
        return [m for m in found if not m.deleted]

    def message_with(
        self,
        *,
        label: str | None = None,
        custom_id: str | None = None,
        placeholder: str | None = None,
        kind: str | None = None,
    ) -> Message | None:
        """Return the newest of this interaction's messages with a matching component."""
        for message in reversed(self.messages):
            if kind == "select" and custom_id is None and placeholder is None:
                if message.selects:
                    return message
            elif message.find_component(label=label, custom_id=custom_id, placeholder=placeholder):
                return message
        return self.message

    # ----- after the response -----

    async def reply(self, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """Return the message the member ends up seeing, waiting through a deferral.

        For a deferred response this waits until the "thinking" message is replaced (by an
        edit or the first follow-up); for a deferred update, until the message is edited or
        a follow-up is sent.
        """
        kind = self.type
        if kind == ResponseType.DEFERRED_CHANNEL_MESSAGE:

            def ready() -> Message | None:
                message = self.message
                return message if message and not message.flags & MessageFlag.LOADING else None

            return await self.fake.wait_until(ready, timeout, f"the deferred reply to {self.describe()}")
        if kind == ResponseType.DEFERRED_UPDATE_MESSAGE:

            def updated() -> Message | None:
                if self.followups:
                    return self.followups[0]
                message = self.message
                return message if message and len(message.history) > self._source_edits else None

            return await self.fake.wait_until(updated, timeout, f"the update after {self.describe()}")
        if kind in (ResponseType.CHANNEL_MESSAGE, ResponseType.UPDATE_MESSAGE):
            return self._message()
        raise AssertionError(f"{self.describe()} was answered with type {kind}, which has no message")

    async def wait_followups(self, count: int = 1, timeout: float = DEFAULT_TIMEOUT) -> list[Message]:
        """Wait until the bot has sent at least `count` follow-ups; return them."""
        await self.fake.wait_until(
            lambda: len(self.record.followup_ids) >= count,
            timeout,
            f"{count} follow-up(s) to {self.describe()}",
        )
        return self.followups

    async def click(
        self, *, label: str | None = None, custom_id: str | None = None, wait: bool = True
    ) -> InteractionResult:
        """Click a button on this interaction's newest message that has it, as the same member."""
        return await self.actor.click(self, label=label, custom_id=custom_id, wait=wait)

    async def select(
        self,
        values: list[Any],
        *,
        custom_id: str | None = None,
        placeholder: str | None = None,
        wait: bool = True,
    ) -> InteractionResult:
        """Choose values in a select menu on this interaction's messages, as the same member."""
        return await self.actor.select(self, values, custom_id=custom_id, placeholder=placeholder, wait=wait)

    async def submit(
        self, values: dict[str, Any] | None = None, /, *, wait: bool = True, **fields: Any
    ) -> InteractionResult:
        """Submit the modal this interaction opened, as the same member."""
        return await self.actor.submit(self, values, wait=wait, **fields)

    def age(self) -> float:
        """Return seconds since the interaction was dispatched."""
        return time.monotonic() - self.record.dispatched_at
