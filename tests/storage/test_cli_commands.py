"""The command line's file-handling commands, run in-process against real files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import load_settings


def _database(tmp_path: Path) -> tuple[Path, Path]:
    database = tmp_path / "data" / "hearth.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE notes (n INTEGER)")
        conn.execute("INSERT INTO notes VALUES (7)")
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndatabase = "{database}"\n', encoding="utf-8")
    return database, config


def _rows(database: Path) -> list[tuple[int]]:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT n FROM notes").fetchall()


def test_backup_writes_a_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, config = _database(tmp_path)
    destination = tmp_path / "backups" / "copy.db"
    assert main(["backup", str(destination), "--config", str(config)]) == 0
    assert _rows(destination) == [(7,)]
    assert not list(destination.parent.glob("*.partial"))
    assert "backed up" in capsys.readouterr().out


def test_backup_onto_the_live_database_is_refused_and_keeps_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database, config = _database(tmp_path)
    same_file = database.parent / ".." / "data" / "hearth.db"
    assert main(["backup", str(same_file), "--config", str(config)]) == 1
    assert _rows(database) == [(7,)]
    err = capsys.readouterr().err
    assert "live database" in err and "Traceback" not in err


def test_backup_into_a_folder_is_refused_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = _database(tmp_path)
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["backup", str(folder), "--config", str(config)]) == 1
    assert "give a file name" in capsys.readouterr().err
    assert list(folder.iterdir()) == []


def test_backup_that_cannot_be_written_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = _database(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    assert main(["backup", str(blocker / "copy.db"), "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hearth: the backup")


def test_check_config_still_checks_the_configured_content_when_other_keys_are_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "mycontent"
    content.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ncontent_dir = "{content}"\nlog_level = "LOUD"\n', encoding="utf-8")
    assert main(["check-config", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "bot.log_level" in out
    # The empty folder is what was checked (not the shipped content), so its files are missing.
    assert "mycontent/" in out


def test_content_is_found_beside_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy = tmp_path / "deploy"
    (deploy / "texts").mkdir(parents=True)
    config = deploy / "config.toml"
    config.write_text('[bot]\ncontent_dir = "texts"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_settings(config).content_path == (deploy / "texts").resolve()


@pytest.mark.parametrize("command", [["migrate"], ["check-config"], ["backup", "copy.db"], ["run"]])
def test_a_config_file_named_but_missing_is_an_error_not_every_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    with pytest.raises(SystemExit) as exited:
        main([*command, "--config", "confg.toml"])
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == "hearth: there is no config file at confg.toml (leave out --config to use every default)"
    assert not (tmp_path / "data").exists()  # nothing was created from the defaults
