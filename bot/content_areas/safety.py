"""Load content/safety.toml (crisis concepts and phrases) and content/resources.toml (helplines and paths)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.content import EMBED_FIELD_VALUE_LIMIT, ContentReader, content_loader
from bot.services.safety import (
    DEFAULT_GRAMMAR,
    CrisisLevel,
    Grammar,
    PhraseBook,
    PhraseError,
    build_concepts,
    compile_parts,
)

SAFETY_FILE = "safety.toml"
RESOURCES_FILE = "resources.toml"
# A helpline not confirmed for this long makes check-config warn (it still loads).
RECHECK_AFTER = timedelta(days=365)
_SPELLING_KEY = re.compile(r"^[a-z0-9]+$")
_SYMBOL_KEY = re.compile(r"^[^\x00-\x7f]{1,4}$")
_REGION_CODE = re.compile(r"^[A-Z]{2,5}$")


_SECTIONS = ("crisis", "concern", "idioms", "softeners")
_GRAMMAR_KEYS = ("negators", "negation_breakers", "clause_words", "subjects", "first_person", "third_person")


def _phrase_list(reader: ContentReader, data: dict[str, Any], section: str, path: Path,
                 spelling: dict[str, str], concepts: dict[str, Any]) -> list[str]:
    required = section in ("crisis", "concern")
    table = reader.get(data, section, dict, path, required=required, default={})
    reader.unknown_keys(table, {"phrases"}, path, section)
    phrases = reader.get(table, "phrases", list, path, section, required=required, default=[])
    good: list[str] = []
    for index, phrase in enumerate(phrases):
        where = f"{section}.phrases[{index}]"
        if not isinstance(phrase, str):
            reader.problem(path, where, f"must be text, not {type(phrase).__name__}")
            continue
        try:
            compile_parts(phrase, spelling, concepts)
        except PhraseError as exc:
            reader.problem(path, where, f"{exc} in {phrase!r}")
            continue
        good.append(phrase)
    return good


def _concepts(reader: ContentReader, data: dict[str, Any], path: Path,
              spelling: dict[str, str]) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Read [concepts]: named word classes, each a list of phrases; later ones may use earlier ones."""
    table = reader.get(data, "concepts", dict, path, required=False, default={})
    sources: dict[str, list[str]] = {}
    compiled: dict[str, Any] = {}
    for name, items in table.items():
        where = f"concepts.{name}"
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            reader.problem(path, where, "must be a non-empty list of phrases")
            continue
        try:
            compiled.update(build_concepts({name: items}, spelling, compiled))
        except PhraseError as exc:
            reader.problem(path, where, str(exc))
            continue
        sources[name] = items
    return sources, compiled


def _grammar(reader: ContentReader, data: dict[str, Any], path: Path) -> Grammar:
    table = reader.get(data, "grammar", dict, path, required=False, default={})
    reader.unknown_keys(table, set(_GRAMMAR_KEYS), path, "grammar")
    values: dict[str, frozenset[str]] = {}
    for key in _GRAMMAR_KEYS:
        words = reader.get(table, key, list, path, "grammar", required=False)
        if words is None:
            continue
        if not all(isinstance(w, str) and _SPELLING_KEY.match(w) for w in words):
            reader.problem(path, f"grammar.{key}", "must be a list of single lower-case words")
            continue
        values[key] = frozenset(words)
    return replace(DEFAULT_GRAMMAR, **values)


@content_loader
def load_safety(reader: ContentReader) -> tuple[str, PhraseBook]:
    """Load and compile the concepts and the crisis, concern, idiom and softener phrases."""
    path = reader.root / SAFETY_FILE
    data = reader.toml(path)
    if data is None:
        return "safety", PhraseBook()
    reader.unknown_keys(data, {"spelling", "fillers", "grammar", "concepts", "examples", *_SECTIONS}, path)
    spelling_table = reader.get(data, "spelling", dict, path, required=False, default={})
    spelling: dict[str, str] = {}
    for key, value in spelling_table.items():
        if not _SPELLING_KEY.match(key) and not _SYMBOL_KEY.match(key):
            reader.problem(path, f"spelling.{key}",
                           "must be one lower-case word (letters and digits) or one emoji")
        elif not isinstance(value, str) or not value.strip():
            reader.problem(path, f"spelling.{key}", "must be the replacement text")
        else:
            spelling[key] = " ".join(value.casefold().split())
    fillers = reader.get(data, "fillers", dict, path, required=False, default={})
    reader.unknown_keys(fillers, {"words"}, path, "fillers")
    for word in reader.get(fillers, "words", list, path, "fillers", required=False, default=[]):
        if not isinstance(word, str) or not _SPELLING_KEY.match(word):
            reader.problem(path, "fillers.words", f"{word!r} is not one lower-case word")
        elif word in spelling:
            reader.problem(path, "fillers.words", f"{word!r} is also in [spelling]")
        else:
            spelling[word] = ""  # dropped from text and phrases alike
    grammar = _grammar(reader, data, path)
    concept_sources, concepts = _concepts(reader, data, path, spelling)
    lists = {section: _phrase_list(reader, data, section, path, spelling, concepts) for section in _SECTIONS}
    if not lists["crisis"]:
        reader.problem(path, "crisis.phrases", "must hold at least one phrase")
    book = PhraseBook.build(spelling=spelling, crisis=lists["crisis"], concern=lists["concern"],
                            idioms=lists["idioms"], softeners=lists["softeners"],
                            concepts=concept_sources, grammar=grammar)
    return "safety", replace(book, examples=_examples(reader, data, path, book))


def _examples(reader: ContentReader, data: dict[str, Any], path: Path, book: PhraseBook) -> tuple[str, ...]:
    """Read [examples] crisis: messages that must read as crisis (checked here, and used to warn
    moderators when one of their phrases would change how Hearth reads them)."""
    table = reader.get(data, "examples", dict, path, required=False, default={})
    reader.unknown_keys(table, {"crisis"}, path, "examples")
    items = reader.get(table, "crisis", list, path, "examples", required=False, default=[])
    good: list[str] = []
    for index, text in enumerate(items):
        where = f"examples.crisis[{index}]"
        if not isinstance(text, str) or not text.strip():
            reader.problem(path, where, "must be a message")
            continue
        level = book.classify(text).level
        if level is not CrisisLevel.CRISIS:
            reader.problem(path, where, f"{text!r} reads as {level.value}, not crisis")
            continue
        good.append(text)
    return tuple(good)


# ----- resources -----------------------------------------------------------------


@dataclass(frozen=True)
class Helpline:
    """One way to reach help, with the date someone last confirmed it works."""

    name: str
    contact: str
    last_checked: date
    url: str | None = None
    hours: str | None = None


@dataclass(frozen=True)
class Region:
    """A region's emergency number and helplines."""

    code: str
    name: str
    emergency: str
    helplines: tuple[Helpline, ...]


@dataclass(frozen=True)
class ProfessionalPath:
    """A kind of professional help, described in a sentence or two."""

    name: str
    text: str


@dataclass(frozen=True)
class Resources:
    """Everything /resources shows: regions, the international directory, paths and the statement."""

    regions: dict[str, Region] = field(default_factory=dict)
    directory: Helpline | None = None
    paths: tuple[ProfessionalPath, ...] = ()
    statement: str = ""

    def region(self, code: str | None) -> Region | None:
        """Return a region by code, falling back to the international entry."""
        if code and code.upper() in self.regions:
            return self.regions[code.upper()]
        return self.regions.get("INTL")


def _helpline(reader: ContentReader, table: Any, path: Path, where: str) -> Helpline | None:
    if not isinstance(table, dict):
        reader.problem(path, where, "must be a table")
        return None
    reader.unknown_keys(table, {"name", "contact", "url", "hours", "last_checked"}, path, where)
    name = reader.get(table, "name", str, path, where, max_length=100)
    contact = reader.get(table, "contact", str, path, where, max_length=200)
    checked = reader.get(table, "last_checked", date, path, where)
    url = reader.get(table, "url", str, path, where, required=False,
                     check=lambda v: None if v.startswith("https://") else "must start with https://")
    hours = reader.get(table, "hours", str, path, where, required=False, max_length=200)
    if name is None or contact is None or checked is None:
        return None
    if not isinstance(checked, date) or hasattr(checked, "hour"):
        reader.problem(path, f"{where}.last_checked", "must be a date like 2026-01-31")
        return None
    if reader.today - checked > RECHECK_AFTER:
        reader.warn(path, f"{where}.last_checked",
                    f"{name} was last confirmed on {checked.isoformat()}, over a year ago: whoever runs "
                    "Hearth should call or visit it to confirm it still works, then update the date")
    return Helpline(name=name, contact=contact, last_checked=checked, url=url, hours=hours)


@content_loader
def load_resources(reader: ContentReader) -> tuple[str, Resources]:
    """Load regional helplines, the directory, professional paths and the peer-support statement."""
    path = reader.root / RESOURCES_FILE
    data = reader.toml(path)
    if data is None:
        return "resources", Resources()
    reader.unknown_keys(data, {"statement", "directory", "paths", "regions"}, path)
    statement = reader.get(data, "statement", str, path, max_length=EMBED_FIELD_VALUE_LIMIT) or ""
    directory_table = reader.get(data, "directory", dict, path)
    directory = _helpline(reader, directory_table, path, "directory") if directory_table else None
    paths: list[ProfessionalPath] = []
    for index, item in enumerate(reader.get(data, "paths", list, path, default=[])):
        where = f"paths[{index}]"
        if not isinstance(item, dict):
            reader.problem(path, where, "must be a table")
            continue
        reader.unknown_keys(item, {"name", "text"}, path, where)
        name = reader.get(item, "name", str, path, where, max_length=256)
        text = reader.get(item, "text", str, path, where, max_length=EMBED_FIELD_VALUE_LIMIT)
        if name and text:
            paths.append(ProfessionalPath(name, " ".join(text.split())))
    regions: dict[str, Region] = {}
    for code, table in reader.get(data, "regions", dict, path, default={}).items():
        where = f"regions.{code}"
        if not _REGION_CODE.match(code):
            reader.problem(path, where, "a region code is 2 to 5 capital letters, like UK or INTL")
            continue
        if not isinstance(table, dict):
            reader.problem(path, where, "must be a table")
            continue
        reader.unknown_keys(table, {"name", "emergency", "helplines"}, path, where)
        name = reader.get(table, "name", str, path, where, max_length=100)
        emergency = reader.get(table, "emergency", str, path, where, max_length=200)
        lines = [_helpline(reader, item, path, f"{where}.helplines[{i}]")
                 for i, item in enumerate(reader.get(table, "helplines", list, path, where, default=[]))]
        helplines = tuple(line for line in lines if line is not None)
        if not helplines:
            reader.problem(path, f"{where}.helplines", "must list at least one helpline")
        if name and emergency:
            regions[code] = Region(code, name, emergency, helplines)
    if "INTL" not in regions:
        reader.problem(path, "regions.INTL", "is required: it is the default region")
    return "resources", Resources(regions=regions, directory=directory, paths=tuple(paths),
                                  statement=" ".join(statement.split()))
