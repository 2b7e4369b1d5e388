"""Discord's limits on what a bot sends, checked the way the real API does (400, code 50035).

The fake refuses what Discord would refuse, so a bot that overruns a limit fails in tests
the way it would fail in production instead of passing silently.
"""

from __future__ import annotations

import re
from typing import Any

CONTENT_LIMIT = 2000
NONCE_LIMIT = 25
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_AUTHOR = 256
EMBED_TOTAL = 6000
ACTION_ROWS = 5
ROW_BUTTONS = 5
CUSTOM_ID = 100
BUTTON_LABEL = 80
SELECT_OPTIONS = 25
SELECT_OPTION_TEXT = 100
SELECT_PLACEHOLDER = 150
CHOICES = 25
CHOICE_NAME = 100
CHOICE_STRING_VALUE = 100
MODAL_TITLE = 45
MODAL_COMPONENTS = 5
TEXT_INPUT_LABEL = 45
TEXT_INPUT_PLACEHOLDER = 100
TEXT_INPUT_VALUE = 4000
LABEL_TEXT = 45
COMPONENTS_V2_TOTAL = 40
TEXT_DISPLAY_TOTAL = 4000
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
COMMAND_DESCRIPTION = 100
COMMAND_OPTIONS = 25

IS_COMPONENTS_V2 = 1 << 15


class FormErrors:
    """Collects problems by dotted path and renders Discord's nested error body."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str, str]] = []

    def add(self, path: str, code: str, message: str) -> None:
        """Record one problem at a dotted path such as ``embeds.0.description``."""
        self.problems.append((path, code, message))

    def max_length(self, path: str, value: Any, limit: int) -> None:
        """Record a problem if a string is longer than `limit`."""
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def required(self, path: str, value: Any) -> None:
        """Record a problem if a required string is missing or empty."""
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def __bool__(self) -> bool:
        return bool(self.problems)

    def body(self) -> dict[str, Any]:
        """Return the 400 body Discord sends for an invalid form."""
        errors: dict[str, Any] = {}
        for path, code, message in self.problems:
            node = errors
            for part in path.split("."):
                node = node.setdefault(part, {})
            node.setdefault("_errors", []).append({"code": code, "message": message})
        return {"code": 50035, "errors": errors, "message": "Invalid Form Body"}

    def describe(self) -> str:
        """Return the problems on one line each, for logs and assertion messages."""
        return "; ".join(f"{path}: {message}" for path, _, message in self.problems)


def check_message(
    payload: dict[str, Any], errors: FormErrors, *, prefix: str = "", edit: bool = False
) -> None:
    """Check a message create/edit payload against Discord's limits."""
    content = payload.get("content")
    errors.max_length(prefix + "content", content, CONTENT_LIMIT)
    errors.max_length(prefix + "nonce", payload.get("nonce"), NONCE_LIMIT)
    embeds = payload.get("embeds") or []
    if len(embeds) > EMBEDS_PER_MESSAGE:
        errors.add(
            prefix + "embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_PER_MESSAGE} or fewer in length."
        )
    total = 0
    for index, embed in enumerate(embeds):
        total += check_embed(embed, errors, f"{prefix}embeds.{index}.")
    if total > EMBED_TOTAL:
        errors.add(prefix + "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    flags = int(payload.get("flags") or 0)
    check_components(
        payload.get("components") or [], errors, prefix + "components", v2=bool(flags & IS_COMPONENTS_V2)
    )
    if flags & IS_COMPONENTS_V2 and (content or embeds):
        errors.add(
            prefix + "content",
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        )


def is_empty_message(payload: dict[str, Any], file_count: int) -> bool:
    """Say whether a new message would have nothing in it (Discord answers 50006)."""
    return not (
        payload.get("content")
        or payload.get("embeds")
        or payload.get("components")
        or payload.get("sticker_ids")
        or payload.get("poll")
        or file_count
    )


def check_embed(embed: dict[str, Any], errors: FormErrors, prefix: str) -> int:
    """Check one embed and return its character count toward the 6000 total."""
    size = 0
    title = embed.get("title")
    errors.max_length(prefix + "title", title, EMBED_TITLE)
    size += len(title or "")
    description = embed.get("description")
    errors.max_length(prefix + "description", description, EMBED_DESCRIPTION)
    size += len(description or "")
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS:
        errors.add(prefix + "fields", "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_FIELDS} or fewer in length.")
    for index, field in enumerate(fields):
        where = f"{prefix}fields.{index}."
        errors.required(where + "name", field.get("name"))
        errors.required(where + "value", field.get("value"))
        errors.max_length(where + "name", field.get("name"), EMBED_FIELD_NAME)
        errors.max_length(where + "value", field.get("value"), EMBED_FIELD_VALUE)
        size += len(field.get("name") or "") + len(field.get("value") or "")
    footer = embed.get("footer") or {}
    errors.max_length(prefix + "footer.text", footer.get("text"), EMBED_FOOTER)
    size += len(footer.get("text") or "")
    author = embed.get("author") or {}
    errors.max_length(prefix + "author.name", author.get("name"), EMBED_AUTHOR)
    size += len(author.get("name") or "")
    return size


def check_components(components: list[dict[str, Any]], errors: FormErrors, prefix: str, *, v2: bool) -> None:
    """Check message components: rows, buttons, selects, and custom ids."""
    if not v2 and len(components) > ACTION_ROWS:
        errors.add(prefix, "BASE_TYPE_MAX_LENGTH", f"Must be {ACTION_ROWS} or fewer in length.")
    if v2 and _count_components(components) > COMPONENTS_V2_TOTAL:
        errors.add(prefix, "BASE_TYPE_MAX_LENGTH", f"Must be {COMPONENTS_V2_TOTAL} or fewer in total.")
    for index, component in enumerate(components):
        check_component(component, errors, f"{prefix}.{index}")
    seen: set[str] = set()
    for path, custom_id in _custom_ids(components, prefix):
        if custom_id in seen:
            errors.add(path, "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
        seen.add(custom_id)


def _custom_ids(components: list[dict[str, Any]], prefix: str) -> list[tuple[str, str]]:
    """Return (path, custom id) for every component in a message, nested ones included."""
    found: list[tuple[str, str]] = []
    for index, component in enumerate(components):
        found += _custom_ids_in(component, f"{prefix}.{index}")
    return found


def _custom_ids_in(component: dict[str, Any], path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(component.get("custom_id"), str):
        found.append((path + ".custom_id", component["custom_id"]))
    found += _custom_ids(component.get("components") or [], path + ".components")
    for key in ("accessory", "component"):
        if component.get(key):
            found += _custom_ids_in(component[key], f"{path}.{key}")
    return found


def _count_components(components: list[dict[str, Any]]) -> int:
    total = 0
    for component in components:
        total += 1
        total += _count_components(component.get("components") or [])
        if component.get("accessory"):
            total += 1
    return total


def check_component(component: dict[str, Any], errors: FormErrors, path: str) -> None:
    """Check one component and its children."""
    kind = component.get("type")
    children = component.get("components") or []
    if kind == 1:
        buttons = [c for c in children if c.get("type") == 2]
        selects = [c for c in children if c.get("type") in (3, 5, 6, 7, 8)]
        if len(buttons) > ROW_BUTTONS:
            errors.add(
                path + ".components", "BASE_TYPE_MAX_LENGTH", f"Must be {ROW_BUTTONS} or fewer in length."
            )
        if selects and len(children) > 1:
            errors.add(
                path + ".components",
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "A select menu must be alone in its row",
            )
        if not children:
            errors.add(path + ".components", "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
    if kind in (2, 3, 4, 5, 6, 7, 8):
        custom_id = component.get("custom_id")
        if kind == 2 and component.get("style") in (5, 6):
            pass  # link and premium buttons carry no custom_id
        else:
            errors.required(path + ".custom_id", custom_id)
            errors.max_length(path + ".custom_id", custom_id, CUSTOM_ID)
    if kind == 2:
        errors.max_length(path + ".label", component.get("label"), BUTTON_LABEL)
        if not component.get("label") and not component.get("emoji"):
            errors.add(path, "BUTTON_COMPONENT_INVALID", "A button needs a label or an emoji")
    if kind in (3, 5, 6, 7, 8):
        errors.max_length(path + ".placeholder", component.get("placeholder"), SELECT_PLACEHOLDER)
    if kind == 3:
        options = component.get("options") or []
        if not options or len(options) > SELECT_OPTIONS:
            errors.add(
                path + ".options",
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {SELECT_OPTIONS} in length.",
            )
        for index, option in enumerate(options):
            where = f"{path}.options.{index}."
            errors.required(where + "label", option.get("label"))
            errors.max_length(where + "label", option.get("label"), SELECT_OPTION_TEXT)
            errors.max_length(where + "value", option.get("value"), SELECT_OPTION_TEXT)
            errors.max_length(where + "description", option.get("description"), SELECT_OPTION_TEXT)
    if kind == 10:
        errors.max_length(path + ".content", component.get("content"), TEXT_DISPLAY_TOTAL)
    for index, child in enumerate(children):
        check_component(child, errors, f"{path}.components.{index}")
    if component.get("accessory"):
        check_component(component["accessory"], errors, path + ".accessory")
    if component.get("component"):
        check_component(component["component"], errors, path + ".component")


def check_choices(choices: list[dict[str, Any]], errors: FormErrors) -> None:
    """Check autocomplete choices: at most 25, names 1-100 characters."""
    if len(choices) > CHOICES:
        errors.add("data.choices", "BASE_TYPE_MAX_LENGTH", f"Must be {CHOICES} or fewer in length.")
    for index, choice in enumerate(choices):
        where = f"data.choices.{index}."
        errors.required(where + "name", choice.get("name"))
        errors.max_length(where + "name", choice.get("name"), CHOICE_NAME)
        errors.max_length(where + "value", choice.get("value"), CHOICE_STRING_VALUE)


def check_modal(modal: dict[str, Any], errors: FormErrors) -> None:
    """Check a modal: title, custom id, at most five components, text input limits."""
    errors.required("data.title", modal.get("title"))
    errors.max_length("data.title", modal.get("title"), MODAL_TITLE)
    errors.required("data.custom_id", modal.get("custom_id"))
    errors.max_length("data.custom_id", modal.get("custom_id"), CUSTOM_ID)
    components = modal.get("components") or []
    if not components or len(components) > MODAL_COMPONENTS:
        errors.add(
            "data.components", "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MODAL_COMPONENTS} in length."
        )
    for index, component in enumerate(components):
        path = f"data.components.{index}"
        if component.get("type") == 18:
            errors.required(path + ".label", component.get("label"))
            errors.max_length(path + ".label", component.get("label"), LABEL_TEXT)
        for inner_index, inner in enumerate(_modal_inputs(component)):
            where = f"{path}.components.{inner_index}."
            errors.max_length(where + "custom_id", inner.get("custom_id"), CUSTOM_ID)
            if inner.get("type") == 4:
                if component.get("type") != 18:
                    errors.required(where + "label", inner.get("label"))
                errors.max_length(where + "label", inner.get("label"), TEXT_INPUT_LABEL)
                errors.max_length(where + "placeholder", inner.get("placeholder"), TEXT_INPUT_PLACEHOLDER)
                errors.max_length(where + "value", inner.get("value"), TEXT_INPUT_VALUE)
                low, high = inner.get("min_length"), inner.get("max_length")
                if low is not None and not 0 <= low <= TEXT_INPUT_VALUE:
                    errors.add(where + "min_length", "NUMBER_TYPE_MAX", "Must be between 0 and 4000.")
                if high is not None and not 1 <= high <= TEXT_INPUT_VALUE:
                    errors.add(where + "max_length", "NUMBER_TYPE_MAX", "Must be between 1 and 4000.")


def _modal_inputs(component: dict[str, Any]) -> list[dict[str, Any]]:
    if component.get("type") == 1:
        return list(component.get("components") or [])
    if component.get("type") == 18 and component.get("component"):
        return [component["component"]]
    return []


def check_commands(commands: list[dict[str, Any]], errors: FormErrors) -> None:
    """Check an application command list as a bulk overwrite would."""
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        path = str(index)
        kind = int(command.get("type", 1))
        name = command.get("name") or ""
        if (kind, name) in seen:
            errors.add(
                path + ".name",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique ({name})",
            )
        seen.add((kind, name))
        if kind == 1:
            if not COMMAND_NAME.match(name) or name != name.lower():
                errors.add(
                    path + ".name", "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid ({name!r})"
                )
            errors.required(path + ".description", command.get("description"))
            errors.max_length(path + ".description", command.get("description"), COMMAND_DESCRIPTION)
        elif not 1 <= len(name) <= 32:
            errors.add(path + ".name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        _check_options(command.get("options") or [], errors, path + ".options")


def _check_options(options: list[dict[str, Any]], errors: FormErrors, path: str) -> None:
    if len(options) > COMMAND_OPTIONS:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {COMMAND_OPTIONS} or fewer in length.")
    optional_seen = False
    for index, option in enumerate(options):
        where = f"{path}.{index}"
        name = option.get("name") or ""
        if not COMMAND_NAME.match(name) or name != name.lower():
            errors.add(
                where + ".name", "APPLICATION_COMMAND_INVALID_NAME", f"Option name is invalid ({name!r})"
            )
        errors.required(where + ".description", option.get("description"))
        errors.max_length(where + ".description", option.get("description"), COMMAND_DESCRIPTION)
        if option.get("type") in (1, 2):
            _check_options(option.get("options") or [], errors, where + ".options")
            continue
        if option.get("required"):
            if optional_seen:
                errors.add(
                    where + ".required",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        choices = option.get("choices") or []
        if len(choices) > CHOICES:
            errors.add(where + ".choices", "BASE_TYPE_MAX_LENGTH", f"Must be {CHOICES} or fewer in length.")
        if choices and option.get("autocomplete"):
            errors.add(
                where + ".autocomplete",
                "APPLICATION_COMMAND_OPTIONS_AUTOCOMPLETE_AND_CHOICES",
                "Autocomplete cannot be used with choices",
            )
