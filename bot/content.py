"""Load and validate the shipped text in `content/` (FAQ, topics, exercises, prompts, resources).

Every problem is reported with the file, the key and what is wrong, so that
`python -m bot check-config` can list them all at once. Each area has a module
in `bot/content_areas/` whose loader fills its part of `Content`.
"""

from __future__ import annotations

import importlib
import pkgutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

# Discord's limits, which content must fit before it ever reaches a request.
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_TITLE_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
MESSAGE_LIMIT = 2000


@dataclass(frozen=True)
class ContentProblem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


class ContentError(Exception):
    """Content that failed validation; `problems` names every file and key at fault."""

    def __init__(self, problems: list[ContentProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_KIND_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list",
               dict: "a table"}


class ContentReader:
    """Reads content files relative to a root and collects problems instead of stopping at the first.

    Warnings are things worth attention that do not stop Hearth (check-config prints them).
    """

    def __init__(self, root: Path, today: date | None = None) -> None:
        self.root = root
        self.problems: list[ContentProblem] = []
        self.warnings: list[ContentProblem] = []
        # The date for checks that depend on it, such as how long ago a helpline was confirmed.
        self.today = today or date.today()

    def rel(self, path: Path) -> str:
        """Return a path as shown in problems: relative to the content root's parent."""
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def problem(self, path: Path | str, key: str, message: str) -> None:
        """Record one problem."""
        shown = self.rel(path) if isinstance(path, Path) else path
        self.problems.append(ContentProblem(shown, key, message))

    def warn(self, path: Path | str, key: str, message: str) -> None:
        """Record one warning."""
        shown = self.rel(path) if isinstance(path, Path) else path
        self.warnings.append(ContentProblem(shown, key, message))

    def toml(self, path: Path) -> dict[str, Any] | None:
        """Parse a TOML file, recording a problem (and returning None) if it is missing or malformed."""
        if not path.exists():
            self.problem(path, "(file)", "is missing")
            return None
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            self.problem(path, "(file)", f"is not valid TOML: {exc}")
            return None

    def markdown(self, path: Path) -> tuple[dict[str, Any], str] | None:
        """Split a Markdown file with `+++` TOML front matter into (front matter, body)."""
        text = path.read_text(encoding="utf-8")
        if not text.startswith("+++\n"):
            self.problem(path, "(front matter)", "must start with a +++ line")
            return None
        head, sep, body = text[4:].partition("\n+++\n")
        if not sep:
            self.problem(path, "(front matter)", "has no closing +++ line")
            return None
        try:
            meta = tomllib.loads(head)
        except tomllib.TOMLDecodeError as exc:
            self.problem(path, "(front matter)", f"is not valid TOML: {exc}")
            return None
        return meta, body.strip()

    def get(
        self,
        table: dict[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        path: Path,
        where: str = "",
        *,
        required: bool = True,
        default: Any = None,
        max_length: int | None = None,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """Return `table[key]` if it has the right kind, else record a problem naming `where.key`."""
        dotted = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                self.problem(path, dotted, "is required")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
            self.problem(path, dotted, f"must be {names}, not {type(value).__name__}")
            return default
        if max_length is not None and isinstance(value, str | list) and len(value) > max_length:
            self.problem(path, dotted, f"is {len(value)} long; the limit is {max_length}")
            return default
        if check is not None:
            message = check(value)
            if message:
                self.problem(path, dotted, message)
                return default
        return value

    def unknown_keys(self, table: dict[str, Any], allowed: set[str], path: Path, where: str = "") -> None:
        """Record a problem for each key the schema does not know (usually a typo)."""
        for key in table:
            if key not in allowed:
                dotted = f"{where}.{key}" if where else key
                self.problem(path, dotted, f"is not a known key (known: {', '.join(sorted(allowed))})")


@dataclass
class Content:
    """All shipped text, validated. Each area owns one attribute."""

    root: Path
    parts: dict[str, Any] = field(default_factory=dict)
    warnings: list[ContentProblem] = field(default_factory=list)


# Each loader takes the reader and returns (attribute name, loaded value).
ContentLoader = Callable[[ContentReader], tuple[str, Any]]
LOADERS: list[ContentLoader] = []


def content_loader(func: ContentLoader) -> ContentLoader:
    """Register an area's loader so that `load_content` and `check-config` run it."""
    LOADERS.append(func)
    return func


def _import_area_loaders() -> None:
    import bot.content_areas as areas

    for module in pkgutil.iter_modules(areas.__path__):
        importlib.import_module(f"{areas.__name__}.{module.name}")


def check_content(root: Path) -> tuple[Content, list[ContentProblem]]:
    """Load every area's content and return it with all problems found."""
    _import_area_loaders()
    reader = ContentReader(root)
    content = Content(root=root)
    if not root.is_dir():
        reader.problem(root, "(folder)", "the content folder is missing")
        return content, reader.problems
    for loader in LOADERS:
        name, value = loader(reader)
        content.parts[name] = value
    content.warnings.extend(reader.warnings)
    return content, reader.problems


def load_content(root: Path) -> Content:
    """Load and validate all content, raising ContentError listing every problem."""
    content, problems = check_content(root)
    if problems:
        raise ContentError(problems)
    return content
