"""Load `content/prompts.toml`: the built-in check-in prompt sets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.content import EMBED_DESCRIPTION_LIMIT, ContentReader, content_loader

FILE_NAME = "prompts.toml"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# A prompt is the heart of the check-in embed; keep it to a few sentences.
PROMPT_LIMIT = 600
SET_TITLE_LIMIT = 80


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str


@dataclass(frozen=True)
class PromptSet:
    id: str
    title: str
    description: str
    prompts: tuple[Prompt, ...]


@dataclass(frozen=True)
class PromptLibrary:
    """The built-in prompt sets, in file order."""

    sets: dict[str, PromptSet] = field(default_factory=dict)

    def prompt(self, prompt_id: str) -> Prompt | None:
        """Find a built-in prompt by its id, in any set."""
        for prompt_set in self.sets.values():
            for prompt in prompt_set.prompts:
                if prompt.id == prompt_id:
                    return prompt
        return None


def _check_id(value: str) -> str | None:
    return None if _ID.match(value) else "must be lowercase letters, digits and dashes (at most 40)"


def _load_prompt(reader: ContentReader, raw: Any, where: str, path: Any) -> Prompt | None:
    if not isinstance(raw, dict):
        reader.problem(path, where, "must be a table with id and text")
        return None
    reader.unknown_keys(raw, {"id", "text"}, path, where)
    prompt_id = reader.get(raw, "id", str, path, where, check=_check_id)
    text = reader.get(raw, "text", str, path, where, max_length=PROMPT_LIMIT)
    if prompt_id is None or text is None:
        return None
    if not text.strip():
        reader.problem(path, f"{where}.text", "must not be empty")
        return None
    return Prompt(prompt_id, text.strip())


@content_loader
def load_prompts(reader: ContentReader) -> tuple[str, PromptLibrary]:
    """Read and check every prompt set; ids must be unique across the file."""
    path = reader.root / FILE_NAME
    data = reader.toml(path)
    if data is None:
        return "prompts", PromptLibrary()
    reader.unknown_keys(data, {"set"}, path)
    raw_sets = reader.get(data, "set", list, path)
    sets: dict[str, PromptSet] = {}
    seen_prompts: set[str] = set()
    for index, raw in enumerate(raw_sets or []):
        where = f"set[{index}]"
        if not isinstance(raw, dict):
            reader.problem(path, where, "must be a table")
            continue
        reader.unknown_keys(raw, {"id", "title", "description", "prompts"}, path, where)
        set_id = reader.get(raw, "id", str, path, where, check=_check_id)
        title = reader.get(raw, "title", str, path, where, max_length=SET_TITLE_LIMIT)
        description = reader.get(
            raw,
            "description",
            str,
            path,
            where,
            default="",
            required=False,
            max_length=EMBED_DESCRIPTION_LIMIT // 4,
        )
        raw_prompts = reader.get(raw, "prompts", list, path, where)
        if set_id is None or title is None or raw_prompts is None:
            continue
        if set_id in sets:
            reader.problem(path, f"{where}.id", f"`{set_id}` is used by another set")
            continue
        prompts: list[Prompt] = []
        for p_index, raw_prompt in enumerate(raw_prompts):
            prompt = _load_prompt(reader, raw_prompt, f"{where}.prompts[{p_index}]", path)
            if prompt is None:
                continue
            if prompt.id in seen_prompts:
                reader.problem(path, f"{where}.prompts[{p_index}].id", f"`{prompt.id}` is used twice")
                continue
            seen_prompts.add(prompt.id)
            prompts.append(prompt)
        if not prompts:
            reader.problem(path, f"{where}.prompts", "needs at least one prompt")
            continue
        sets[set_id] = PromptSet(set_id, title.strip(), (description or "").strip(), tuple(prompts))
    if raw_sets is not None and not sets:
        reader.problem(path, "set", "needs at least one prompt set")
    return "prompts", PromptLibrary(sets)
