from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, parse_settings


def test_missing_file_gives_every_default(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "nope.toml")
    assert settings.bot.database == "data/hearth.db"
    assert settings.discord.api_base_url == "https://discord.com/api/v10"
    assert settings.discord.gateway_url == "wss://gateway.discord.gg/"
    assert settings.bot.dev_guild_id is None


def test_values_are_read_and_frozen() -> None:
    settings = parse_settings(
        {
            "bot": {"database": "x.db", "log_level": "debug", "dev_guild_id": 42},
            "sharing": {"shares_per_hour": 5},
        }
    )
    assert settings.bot.database == "x.db"
    assert settings.bot.log_level == "DEBUG"
    assert settings.bot.dev_guild_id == 42
    assert settings.sharing.shares_per_hour == 5
    with pytest.raises(AttributeError):
        settings.bot.database = "other.db"  # type: ignore[misc]


def test_unknown_key_and_wrong_type_are_both_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"bot": {"databse": "x.db", "dev_guild_id": "123"}}, "cfg.toml")
    keys = [key for key, _ in caught.value.problems]
    assert keys == ["bot.databse", "bot.dev_guild_id"]
    text = str(caught.value)
    assert "cfg.toml: bot.databse: unknown key" in text
    assert "bot.dev_guild_id: must be an integer, not str" in text


def test_unknown_section_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"bots": {}})
    assert caught.value.problems[0][0] == "bots"


def test_bad_values_are_refused_with_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            {
                "bot": {"log_level": "LOUD"},
                "discord": {"gateway_url": "http://example"},
                "checkins": {"grace_minutes": -1},
            }
        )
    keys = {key for key, _ in caught.value.problems}
    assert keys == {"bot.log_level", "discord.gateway_url", "checkins.grace_minutes"}


def test_booleans_are_not_integers() -> None:
    with pytest.raises(ConfigError):
        parse_settings({"sharing": {"shares_per_hour": True}})


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[bot\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "not valid TOML" in str(caught.value)


def _example_sections(text: str) -> dict[str, list[str]]:
    """Split the example config into its sections' lines."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        header = re.fullmatch(r"\[(\w+)\]", line.strip())
        if header:
            current = sections.setdefault(header.group(1), [])
        else:
            current.append(line)
    return sections


def test_example_config_documents_every_key_and_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    settings = load_settings(example)
    sections = _example_sections(example.read_text())
    names = [f.name for f in fields(Settings) if is_dataclass(getattr(Settings(), f.name))]
    assert names, "Settings has no sections"
    for section_name in names:
        section = getattr(Settings(), section_name)
        assert section_name in sections, f"[{section_name}] is not in config.example.toml"
        lines = sections[section_name]
        for key in vars(section):
            # A key may be shown commented out (an optional value with no default).
            at = [i for i, line in enumerate(lines) if re.match(rf"(# )?{key} =", line)]
            assert at, f"{section_name}.{key} is not in config.example.toml"
            above = lines[at[0] - 1] if at[0] > 0 else ""
            assert above.startswith("#") and not re.match(r"(# )?\w+ = ", above), (
                f"{section_name}.{key} has no comment line above it in config.example.toml"
            )
        assert getattr(settings, section_name) == section


def test_the_shipped_content_is_found_from_any_folder_but_never_replaces_a_named_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    default = Settings(path=str(tmp_path / "config.toml"))
    assert (default.content_path / "faq").is_dir()
    named = parse_settings({"bot": {"content_dir": "our-content"}}, str(tmp_path / "config.toml"))
    assert named.content_path == Path("our-content")  # missing, so check-config says so
