from __future__ import annotations

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


def test_example_config_documents_every_key_and_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    settings = load_settings(example)
    text = example.read_text()
    for section_name in ("bot", "discord", "checkins", "sharing", "retention"):
        section = getattr(Settings(), section_name)
        assert f"[{section_name}]" in text
        for key in vars(section):
            assert f"{key} =" in text, f"{section_name}.{key} is not in config.example.toml"
        assert getattr(settings, section_name) == section
