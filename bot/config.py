"""Typed, frozen settings loaded from `config.toml`, plus the secrets from the environment."""

from __future__ import annotations

import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A config file that cannot be used; `problems` lists every key that is wrong."""

    def __init__(self, path: str, problems: list[tuple[str, str]]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}: {key}: {message}" for key, message in problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class BotSettings:
    database: str = "data/hearth.db"
    log_level: str = "INFO"
    dev_guild_id: int | None = None
    content_dir: str = "content"


@dataclass(frozen=True)
class DiscordSettings:
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    guild_ready_timeout: float = 2.0


@dataclass(frozen=True)
class CheckinSettings:
    grace_minutes: int = 120
    default_window_hours: int = 12
    reminder_at_fraction: float = 0.8
    posts_per_second: float = 48.0
    post_workers: int = 16
    count_refresh_seconds: float = 5.0
    anonymous_notes_per_hour: int = 10


@dataclass(frozen=True)
class SharingSettings:
    shares_per_hour: int = 3
    min_length: int = 20
    max_delay_seconds: int = 300
    replies_per_hour: int = 20
    channel_window_seconds: float = 5.0


@dataclass(frozen=True)
class RetentionSettings:
    moods_days: int = 365
    journal_days: int = 0
    exercise_state_days: int = 30
    faq_misses_days: int = 90
    audit_days: int = 365
    shares_days: int = 365
    ladder_days: int = 0
    left_guild_grace_days: int = 30
    erasure_log_days: int = 400
    erased_posts_spread_minutes: int = 30


@dataclass(frozen=True)
class Settings:
    bot: BotSettings = field(default_factory=BotSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    checkins: CheckinSettings = field(default_factory=CheckinSettings)
    sharing: SharingSettings = field(default_factory=SharingSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    path: str = "config.toml"

    @property
    def database_path(self) -> Path:
        """Return the database file's path."""
        return Path(self.bot.database)

    @property
    def content_path(self) -> Path:
        """Return the content folder: as configured, else beside the config file, else the shipped one.

        The shipped one is `content/` in a checkout, or the copy installed inside the package
        (for the default `content_dir` only: a folder a moderator named is never replaced).
        """
        configured = Path(self.bot.content_dir)
        if configured.is_absolute() or configured.is_dir():
            return configured
        here = Path(__file__).resolve().parent
        candidates = [Path(self.path).resolve().parent / configured, here.parent / configured]
        if self.bot.content_dir == BotSettings.content_dir:
            candidates.append(here / "shipped_content")
        return next((c for c in candidates if c.is_dir()), configured)


_SECTION_TYPES: dict[str, type] = {
    name: hint for name, hint in typing.get_type_hints(Settings).items() if name != "path"
}


def _type_name(expected: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        parts = [names.get(a, a.__name__) for a in typing.get_args(expected) if a is not type(None)]
        return " or ".join(parts)
    return names.get(expected, getattr(expected, "__name__", str(expected)))


def _matches(value: Any, expected: Any) -> bool:
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(expected) if arg is not type(None))
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _check_value(section: str, key: str, value: Any) -> str | None:
    """Return a problem with a value that has the right type but is still unusable."""
    if section == "bot" and key == "log_level" and str(value).upper() not in LOG_LEVELS:
        return f"must be one of {', '.join(LOG_LEVELS)}, not {value!r}"
    if section == "discord" and key in ("api_base_url", "gateway_url"):
        schemes = ("http://", "https://") if key == "api_base_url" else ("ws://", "wss://")
        if not str(value).startswith(schemes):
            return f"must start with {' or '.join(schemes)}"
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return "must not be negative"
    if section == "checkins" and key == "reminder_at_fraction" and not 0 < value < 1:
        return "must be between 0 and 1"
    if section == "checkins" and key in ("posts_per_second", "post_workers") and value <= 0:
        return "must be more than 0"
    return None


def parse_settings(data: dict[str, Any], path: str = "config.toml") -> Settings:
    """Build settings from parsed TOML, naming every unknown key and wrong type."""
    problems: list[tuple[str, str]] = []
    sections: dict[str, Any] = {}
    for section_name, section_value in data.items():
        cls = _SECTION_TYPES.get(section_name)
        if cls is None:
            problems.append((section_name, f"unknown section (known: {', '.join(_SECTION_TYPES)})"))
            continue
        if not isinstance(section_value, dict):
            problems.append((section_name, "must be a table, like [" + section_name + "]"))
            continue
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for key, value in section_value.items():
            dotted = f"{section_name}.{key}"
            if key not in hints:
                problems.append((dotted, f"unknown key (known: {', '.join(hints)})"))
                continue
            if not _matches(value, hints[key]):
                problems.append((dotted, f"must be {_type_name(hints[key])}, not {type(value).__name__}"))
                continue
            problem = _check_value(section_name, key, value)
            if problem:
                problems.append((dotted, problem))
                continue
            if hints[key] is float:
                value = float(value)
            if key == "log_level":
                value = value.upper()
            values[key] = value
        sections[section_name] = cls(**values)
    if problems:
        raise ConfigError(path, problems)
    return Settings(**sections, path=path)


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Load settings from a TOML file; a missing file means every default."""
    path = Path(path)
    if not path.exists():
        return Settings(path=str(path))
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [("(file)", f"is not valid TOML: {exc}")]) from exc
    return parse_settings(data, str(path))


def discord_token() -> str | None:
    """Return the bot token from the environment, or None."""
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    return token or None
