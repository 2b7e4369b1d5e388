"""Load and validate the guided exercises (`content/exercises/*.toml`) and the journal prompts.

One TOML file per exercise; the file name (without `.toml`) is the exercise id used by
`/exercise` and by the `hearth:exercise:start:<id>` buttons. Every file has:

    title, kind, summary, area          (required)
    intro, closing, safety_note, order  (optional; safety_note is required for breathing)

and then, by kind:

- `breathing`: a `[breathing]` table with `cycles`, `max_cycles` and `phases`, a list of
  `{ label, seconds }`. With `paced = true` each phase has a `share` of one breath instead of
  `seconds`, and the table has `rate`, `min_rate` and `max_rate` in breaths per minute, within
  `PACED_RATES` (the range `/exercise rate:` offers).
- `steps`: a list of `[[steps]]`, each with `title` and `text`.
- `thought_record`: `[[steps]]` as above, each with one to five `[[steps.fields]]`
  (`key`, `label`, `style` = "short" or "long", `placeholder`, `rating`, `required`, `max_length`).
  Together the fields hold every key in `THOUGHT_RECORD_KEYS`, once each; `rating = true` is
  required for the keys in `RATING_KEYS` (0-100 ratings) and refused for the others.
- `journal_prompt`: no extra tables; it offers a prompt from `content/journal_prompts.toml`.

Problems name the file and the key, such as `exercises/box-breathing.toml: breathing.phases[2].seconds`.
Steps, phases and fields are counted from 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content import ContentReader, content_loader

EXERCISE_ID = re.compile(r"^[a-z0-9_-]{1,60}$")
KINDS = ("breathing", "steps", "thought_record", "journal_prompt")
AREAS = ("self-awareness", "emotional regulation", "trust-building")
THOUGHT_RECORD_KEYS = (
    "situation",
    "automatic_thought",
    "emotion",
    "intensity",
    "evidence_for",
    "evidence_against",
    "balanced_thought",
    "rerating",
)
# The thought-record answers that are 0-100 ratings: these, and only these, need `rating = true`.
RATING_KEYS = ("intensity", "rerating")
FIELD_STYLES = ("short", "long")

# A live pacer must finish well inside the 15 minutes an interaction token lasts.
MAX_PACER_SECONDS = 600
# Breaths per minute a paced exercise may use; `/exercise rate:` offers exactly this range.
PACED_RATES = (4, 12)
MAX_STEPS = 15
TITLE_LIMIT = 80
SUMMARY_LIMIT = 100
STEP_TEXT_LIMIT = 1500
NOTE_LIMIT = 1000
PHASE_LABEL_LIMIT = 40
FIELD_LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100
TEXT_INPUT_LIMIT = 4000
PROMPT_LIMIT = 100
# A finished thought record is one journal entry and must fit one embed (4096) with its headings.
RECORD_TEXT_LIMIT = 3700


@dataclass(frozen=True)
class Phase:
    """One part of a breath, such as "Breathe in" for 4 seconds."""

    label: str
    seconds: float


@dataclass(frozen=True)
class Breathing:
    """How a breathing exercise paces: fixed phases, or shares of a breath at a chosen rate."""

    phases: tuple[Phase, ...]
    cycles: int
    max_cycles: int
    paced: bool = False
    rate: float = 0.0
    min_rate: float = 0.0
    max_rate: float = 0.0
    shares: tuple[float, ...] = ()

    def phases_at(self, rate: float | None = None) -> tuple[Phase, ...]:
        """Return the phases, timed for `rate` breaths per minute when the exercise is paced."""
        if not self.paced:
            return self.phases
        chosen = self.rate if rate is None else min(max(rate, self.min_rate), self.max_rate)
        breath = 60.0 / chosen
        return tuple(Phase(p.label, round(breath * share, 2)) for p, share in zip(self.phases, self.shares,
                                                                                    strict=True))

    def cycle_seconds(self, rate: float | None = None) -> float:
        """Return how long one round of all phases takes."""
        return sum(p.seconds for p in self.phases_at(rate))

    def most_cycles(self, rate: float | None = None) -> int:
        """Return the most rounds allowed: `max_cycles`, and never longer than a live pacer may run."""
        fits = int(MAX_PACER_SECONDS // max(self.cycle_seconds(rate), 0.1))
        return max(1, min(self.max_cycles, fits))


@dataclass(frozen=True)
class Field:
    """One answer a thought-record step asks for, shown as a text input in a modal."""

    key: str
    label: str
    style: str = "long"
    placeholder: str = ""
    rating: bool = False
    required: bool = True
    max_length: int = 1000


@dataclass(frozen=True)
class Step:
    """One screen of a step exercise."""

    title: str
    text: str
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Exercise:
    """A guided exercise, validated."""

    id: str
    title: str
    kind: str
    summary: str
    area: str
    intro: str = ""
    closing: str = ""
    safety_note: str = ""
    order: int = 100
    steps: tuple[Step, ...] = ()
    breathing: Breathing | None = None

    @property
    def has_steps(self) -> bool:
        """Say whether the exercise is walked through one step at a time."""
        return self.kind in ("steps", "thought_record")


class ExerciseLibrary(Mapping[str, Exercise]):
    """Every exercise by id; iterating it lists the exercise ids in display order."""

    def __init__(self, exercises: list[Exercise]) -> None:
        ordered = sorted(exercises, key=lambda e: (e.order, e.title.lower()))
        self._by_id = {e.id: e for e in ordered}

    def __getitem__(self, key: str) -> Exercise:
        return self._by_id[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def ids(self) -> list[str]:
        """Return the exercise ids in display order."""
        return list(self._by_id)

    def search(self, typed: str, limit: int = 25) -> list[Exercise]:
        """Return exercises whose id, title or summary contains every typed word, best first."""
        words = typed.lower().split()
        found = []
        for exercise in self._by_id.values():
            haystack = f"{exercise.id} {exercise.title} {exercise.summary} {exercise.area}".lower()
            if all(word in haystack for word in words):
                starts = exercise.title.lower().startswith(typed.lower().strip())
                found.append((0 if starts else 1, exercise))
        found.sort(key=lambda pair: pair[0])
        return [exercise for _, exercise in found[:limit]]


@dataclass(frozen=True)
class JournalPrompt:
    """A question to write about."""

    id: str
    text: str
    area: str


class PromptPool(Mapping[str, JournalPrompt]):
    """The journal prompts by id, in file order."""

    def __init__(self, prompts: list[JournalPrompt]) -> None:
        self._by_id = {p.id: p for p in prompts}

    def __getitem__(self, key: str) -> JournalPrompt:
        return self._by_id[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def after(self, prompt_id: str | None, seed: int) -> JournalPrompt:
        """Pick a prompt other than `prompt_id`, spread by `seed` (callers pass something random)."""
        choices = [p for p in self._by_id.values() if p.id != prompt_id] or list(self._by_id.values())
        return choices[seed % len(choices)]


# ----- validation helpers ------------------------------------------------------


def _one_of(options: tuple[str, ...]) -> Any:
    def check(value: Any) -> str | None:
        return None if value in options else f"must be one of {', '.join(repr(o) for o in options)}"

    return check


def _between(low: float, high: float) -> Any:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be between {low:g} and {high:g}, not {value}"

    return check


def _not_blank(value: Any) -> str | None:
    return "must not be empty" if isinstance(value, str) and not value.strip() else None


def _text(
    reader: ContentReader, table: dict[str, Any], key: str, path: Path, where: str, limit: int,
    *, required: bool = True,
) -> str:
    value = reader.get(table, key, str, path, where, required=required, default="", max_length=limit,
                       check=_not_blank if required else None)
    return value.strip() if isinstance(value, str) else ""


def _list_of_tables(
    reader: ContentReader, table: dict[str, Any], key: str, path: Path, where: str,
    *, minimum: int, maximum: int,
) -> list[dict[str, Any]]:
    items = reader.get(table, key, list, path, where)
    dotted = f"{where}.{key}" if where else key
    if items is None:
        return []
    if not minimum <= len(items) <= maximum:
        reader.problem(path, dotted, f"has {len(items)} entries; it needs {minimum} to {maximum}")
    tables = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            reader.problem(path, f"{dotted}[{number}]", f"must be a table, not {type(item).__name__}")
            continue
        tables.append(item)
    return tables


# ----- exercises ---------------------------------------------------------------

_TOP_KEYS = {
    "title", "kind", "summary", "area", "intro", "closing", "safety_note", "order", "steps", "breathing",
}
_BREATHING_KEYS = {"cycles", "max_cycles", "phases", "paced", "rate", "min_rate", "max_rate"}
_PHASE_KEYS = {"label", "seconds", "share"}
_STEP_KEYS = {"title", "text", "fields"}
_FIELD_KEYS = {"key", "label", "style", "placeholder", "rating", "required", "max_length"}


def _load_breathing(reader: ContentReader, data: dict[str, Any], path: Path) -> Breathing | None:
    table = reader.get(data, "breathing", dict, path)
    if table is None:
        return None
    where = "breathing"
    reader.unknown_keys(table, _BREATHING_KEYS, path, where)
    paced = reader.get(table, "paced", bool, path, where, required=False, default=False)
    max_cycles = reader.get(table, "max_cycles", int, path, where, default=10, check=_between(1, 30))
    cycles = reader.get(table, "cycles", int, path, where, default=1, check=_between(1, max_cycles))
    phases: list[Phase] = []
    shares: list[float] = []
    for number, item in enumerate(
        _list_of_tables(reader, table, "phases", path, where, minimum=2, maximum=6), start=1
    ):
        at = f"{where}.phases[{number}]"
        reader.unknown_keys(item, _PHASE_KEYS, path, at)
        label = _text(reader, item, "label", path, at, PHASE_LABEL_LIMIT)
        if paced:
            share = reader.get(item, "share", (int, float), path, at, default=0.5, check=_between(0.05, 0.95))
            shares.append(float(share))
            phases.append(Phase(label, 0.0))
        else:
            seconds = reader.get(item, "seconds", (int, float), path, at, default=4, check=_between(1, 20))
            phases.append(Phase(label, float(seconds)))
    breathing = Breathing(tuple(phases), cycles, max_cycles, paced=paced, shares=tuple(shares))
    if paced:
        lowest, highest = PACED_RATES
        min_rate = reader.get(table, "min_rate", (int, float), path, where, default=lowest,
                              check=_between(lowest, highest))
        max_rate = reader.get(table, "max_rate", (int, float), path, where, default=highest,
                              check=_between(min_rate, highest))
        rate = reader.get(table, "rate", (int, float), path, where, default=6,
                          check=_between(min_rate, max_rate))
        if shares and abs(sum(shares) - 1.0) > 0.01:
            reader.problem(path, f"{where}.phases",
                           f"the shares add up to {sum(shares):g}; they must add up to 1")
        breathing = Breathing(tuple(phases), cycles, max_cycles, paced=True, rate=float(rate),
                              min_rate=float(min_rate), max_rate=float(max_rate), shares=tuple(shares))
    if phases and breathing.cycle_seconds() * cycles > MAX_PACER_SECONDS:
        reader.problem(path, f"{where}.cycles",
                       f"{cycles} rounds take longer than {MAX_PACER_SECONDS} seconds")
    return breathing


def _load_fields(reader: ContentReader, step: dict[str, Any], path: Path, where: str) -> tuple[Field, ...]:
    fields = []
    for number, item in enumerate(_list_of_tables(reader, step, "fields", path, where, minimum=1, maximum=5),
                                  start=1):
        at = f"{where}.fields[{number}]"
        reader.unknown_keys(item, _FIELD_KEYS, path, at)
        key = reader.get(item, "key", str, path, at, default="", check=_one_of(THOUGHT_RECORD_KEYS))
        label = _text(reader, item, "label", path, at, FIELD_LABEL_LIMIT)
        style = reader.get(item, "style", str, path, at, required=False, default="long",
                           check=_one_of(FIELD_STYLES))
        placeholder = _text(reader, item, "placeholder", path, at, PLACEHOLDER_LIMIT, required=False)
        rating = reader.get(item, "rating", bool, path, at, required=False, default=False)
        if key in RATING_KEYS and not rating:
            reader.problem(path, f"{at}.rating", f"must be true: {key!r} is a rating from 0 to 100")
        elif key and key not in RATING_KEYS and rating:
            ratings = " and ".join(map(repr, RATING_KEYS))
            reader.problem(path, f"{at}.rating", f"must be false for {key!r}; only {ratings} are ratings")
        required = reader.get(item, "required", bool, path, at, required=False, default=True)
        max_length = reader.get(item, "max_length", int, path, at, required=False, default=1000,
                                check=_between(3 if rating or key in RATING_KEYS else 20, TEXT_INPUT_LIMIT))
        fields.append(Field(key, label, style, placeholder, rating, required, max_length))
    return tuple(fields)


def _load_steps(
    reader: ContentReader, data: dict[str, Any], path: Path, *, with_fields: bool
) -> tuple[Step, ...]:
    steps = []
    tables = _list_of_tables(reader, data, "steps", path, "", minimum=2, maximum=MAX_STEPS)
    for number, item in enumerate(tables, start=1):
        at = f"steps[{number}]"
        reader.unknown_keys(item, _STEP_KEYS if with_fields else _STEP_KEYS - {"fields"}, path, at)
        title = _text(reader, item, "title", path, at, TITLE_LIMIT)
        text = _text(reader, item, "text", path, at, STEP_TEXT_LIMIT)
        fields = _load_fields(reader, item, path, at) if with_fields else ()
        steps.append(Step(title, text, fields))
    if with_fields:
        keys = [f.key for s in steps for f in s.fields if f.key]
        for key in THOUGHT_RECORD_KEYS:
            if keys.count(key) != 1:
                said = "is missing" if key not in keys else f"appears {keys.count(key)} times"
                reader.problem(path, "steps.fields",
                               f"the thought-record field {key!r} {said}; it must appear once")
        room = sum(f.max_length for s in steps for f in s.fields)
        if room > RECORD_TEXT_LIMIT:
            reader.problem(path, "steps.fields",
                           f"the fields' max_length add up to {room}; at most {RECORD_TEXT_LIMIT} fit one "
                           "journal entry")
    return tuple(steps)


def load_exercise(reader: ContentReader, path: Path) -> Exercise | None:
    """Load one exercise file, recording every problem; return None if it cannot be used."""
    before = len(reader.problems)
    exercise_id = path.stem
    if not EXERCISE_ID.match(exercise_id):
        reader.problem(path, "(file name)", "must be 1-60 lowercase letters, digits, '-' or '_' before .toml")
    data = reader.toml(path)
    if data is None:
        return None
    reader.unknown_keys(data, _TOP_KEYS, path)
    title = _text(reader, data, "title", path, "", TITLE_LIMIT)
    kind = reader.get(data, "kind", str, path, default="", check=_one_of(KINDS))
    summary = _text(reader, data, "summary", path, "", SUMMARY_LIMIT)
    area = reader.get(data, "area", str, path, default="", check=_one_of(AREAS))
    intro = _text(reader, data, "intro", path, "", NOTE_LIMIT, required=False)
    closing = _text(reader, data, "closing", path, "", NOTE_LIMIT, required=False)
    safety_note = _text(reader, data, "safety_note", path, "", NOTE_LIMIT, required=kind == "breathing")
    order = reader.get(data, "order", int, path, required=False, default=100)
    breathing = None
    steps: tuple[Step, ...] = ()
    # Name the kind as the file spells it, even one that is not valid.
    given = f"not {data['kind']!r}" if "kind" in data else "and this file has no kind"
    if kind == "breathing":
        breathing = _load_breathing(reader, data, path)
    elif "breathing" in data:
        reader.problem(path, "breathing", f"is only for kind 'breathing', {given}")
    if kind in ("steps", "thought_record"):
        steps = _load_steps(reader, data, path, with_fields=kind == "thought_record")
    elif "steps" in data:
        reader.problem(path, "steps", f"is only for kinds 'steps' and 'thought_record', {given}")
    if len(reader.problems) > before:
        return None
    return Exercise(
        exercise_id, title, kind, summary, area, intro, closing, safety_note, order, steps, breathing
    )


@content_loader
def load_exercises(reader: ContentReader) -> tuple[str, ExerciseLibrary]:
    """Load every exercise in content/exercises/."""
    folder = reader.root / "exercises"
    if not folder.is_dir():
        reader.problem(folder, "(folder)", "is missing")
        return "exercises", ExerciseLibrary([])
    exercises = [e for path in sorted(folder.glob("*.toml")) if (e := load_exercise(reader, path))]
    if not exercises and not any(folder.glob("*.toml")):
        reader.problem(folder, "(folder)", "has no exercise files")
    return "exercises", ExerciseLibrary(exercises)


# ----- journal prompts -----------------------------------------------------------


@content_loader
def load_journal_prompts(reader: ContentReader) -> tuple[str, PromptPool]:
    """Load the journal prompts from content/journal_prompts.toml."""
    path = reader.root / "journal_prompts.toml"
    data = reader.toml(path)
    if data is None:
        return "journal_prompts", PromptPool([])
    reader.unknown_keys(data, {"prompts"}, path)
    prompts: list[JournalPrompt] = []
    seen: set[str] = set()
    for number, item in enumerate(_list_of_tables(reader, data, "prompts", path, "", minimum=1, maximum=500),
                                  start=1):
        at = f"prompts[{number}]"
        reader.unknown_keys(item, {"id", "text", "area"}, path, at)
        prompt_id = reader.get(item, "id", str, path, at, default="",
                               check=lambda v: None if EXERCISE_ID.match(v) else "must be lowercase letters, "
                               "digits, '-' or '_' (at most 60)")
        if prompt_id and prompt_id in seen:
            reader.problem(path, f"{at}.id", f"{prompt_id!r} is used twice")
        seen.add(prompt_id)
        text = _text(reader, item, "text", path, at, PROMPT_LIMIT)
        area = reader.get(item, "area", str, path, at, default="", check=_one_of(AREAS))
        if prompt_id and text and area:
            prompts.append(JournalPrompt(prompt_id, text, area))
    return "journal_prompts", PromptPool(prompts)
