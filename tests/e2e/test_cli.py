"""The command line, run as a real process against the fake Discord: start, stop, errors, backup."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakediscord.harness import REPO_ROOT, TEST_SECRET_KEY, Harness, running_hearth, write_config

START_TIMEOUT = 30.0


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "HEARTH_SECRET_KEY")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(extra)
    return env


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@dataclass
class RunningProcess:
    """A `python -m bot run` process talking to the harness's fake Discord."""

    process: asyncio.subprocess.Process
    hearth: Harness

    async def stop(self, sig: signal.Signals) -> tuple[int, str]:
        """Send a signal and return the exit code and stderr."""
        self.process.send_signal(sig)
        _, err = await asyncio.wait_for(self.process.communicate(), START_TIMEOUT)
        assert self.process.returncode is not None
        return self.process.returncode, err.decode()


@asynccontextmanager
async def bot_process(tmp_path: Path) -> AsyncIterator[RunningProcess]:
    """Run the bot as a process against a fake Discord; wait until it is connected."""
    async with running_hearth(tmp_path, start=False) as hearth:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(hearth.config_path),
            cwd=REPO_ROOT,
            env=_env(DISCORD_TOKEN=hearth.world.token, HEARTH_SECRET_KEY=TEST_SECRET_KEY),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        running = RunningProcess(process, hearth)
        try:
            waiter = asyncio.create_task(hearth.fake.gateway.wait_connected(START_TIMEOUT))
            exited = asyncio.create_task(process.wait())
            done, _ = await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
            if exited in done:
                waiter.cancel()
                err = (await process.stderr.read()).decode() if process.stderr else ""
                raise AssertionError(f"the bot exited early with {process.returncode}:\n{err}")
            exited.cancel()
            await waiter
            yield running
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


def _assert_clean_database(database: Path) -> None:
    # A clean close checkpoints the WAL and removes it; a killed process leaves it behind.
    assert not Path(f"{database}-wal").exists(), "the database was not closed cleanly"
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA user_version").fetchone()[0] >= 1
    finally:
        connection.close()


def _assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert " ERROR " not in stderr, stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_run_syncs_and_shuts_down_cleanly_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    async with bot_process(tmp_path) as running:
        hearth = running.hearth
        syncs = hearth.fake.journal.select("PUT /applications/{application_id}/guilds/{guild_id}/commands")
        assert len(syncs) == 1 and {"about", "setup"} <= {c["name"] for c in syncs[0].json}
        # The process answers members like the in-process bot does.
        result = await hearth.actor("alice").slash("about")
        assert result.ephemeral
        code, stderr = await running.stop(sig)
    assert code == 0, stderr
    _assert_no_traceback(stderr)
    assert "shut down cleanly" in stderr
    _assert_clean_database(hearth.database_path)


async def test_backup_while_running_is_a_consistent_copy(tmp_path: Path) -> None:
    async with bot_process(tmp_path) as running:
        hearth = running.hearth
        setup = await hearth.actor("mod").slash(
            "setup", vetting=True, checkin_channel=hearth.channels["checkins"]
        )
        await setup.reply()
        destination = tmp_path / "backups" / "copy.db"
        code, out, err = await _run(
            "backup",
            str(destination),
            "--config",
            str(hearth.config_path),
            env=_env(HEARTH_SECRET_KEY=TEST_SECRET_KEY),
        )
        assert code == 0, err
        assert str(destination) in out
        # The bot is still running and still answering.
        assert (await hearth.actor("bob").slash("about")).ephemeral
        stop_code, stderr = await running.stop(signal.SIGTERM)
    assert stop_code == 0, stderr
    copy = sqlite3.connect(destination)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables, "the backup has no tables"
        dumped = "\n".join(copy.iterdump())
    finally:
        copy.close()
    # The setting made through Discord before the backup is in the copy.
    assert str(hearth.channels["checkins"].id) in dumped


async def test_run_without_a_token_says_how_to_set_it(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {"bot": {"database": str(tmp_path / "db" / "h.db")}})
    code, _, stderr = await _run("run", "--config", str(config), env=_env())
    assert code == 2
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "DISCORD_TOKEN" in lines[0]
    assert not (tmp_path / "db" / "h.db").exists()


async def test_run_with_a_rejected_token_says_so_in_one_line(tmp_path: Path) -> None:
    async with running_hearth(tmp_path, start=False) as hearth:
        code, _, stderr = await _run(
            "run",
            "--config",
            str(hearth.config_path),
            env=_env(DISCORD_TOKEN="not-the-right-token", HEARTH_SECRET_KEY=TEST_SECRET_KEY),
        )
        (attempt,) = hearth.fake.journal.select("GET /users/@me")
        assert attempt.status == 401
    assert code == 2
    _assert_no_traceback(stderr)
    rejected = [line for line in stderr.splitlines() if line.startswith("hearth:")]
    assert len(rejected) == 1 and "401" in rejected[0] and "DISCORD_TOKEN" in rejected[0], stderr
    # Only log lines (which carry a level) may accompany it.
    others = [line for line in stderr.splitlines() if line.strip() and not line.startswith("hearth:")]
    assert all(any(level in line for level in ("INFO", "WARNING")) for line in others), stderr


async def test_help_lists_every_command() -> None:
    code, out, _ = await _run("--help", env=_env())
    assert code == 0
    for command in ("run", "check-config", "migrate", "backup"):
        assert command in out


async def test_check_config_names_an_unknown_key_and_a_wrong_type(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[bot]\ndatabase = 5\ncolour = "blue"\n', encoding="utf-8")
    code, out, err = await _run("check-config", "--config", str(config), env=_env())
    assert code == 1
    assert "bot.database" in out and "bot.colour" in out
    assert "Traceback" not in out + err


async def test_check_config_accepts_the_example(tmp_path: Path) -> None:
    code, out, err = await _run(
        "check-config", "--config", str(REPO_ROOT / "config.example.toml"), env=_env()
    )
    assert code == 0, out + err


async def test_migrate_brings_a_new_database_to_the_current_schema(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    config = write_config(tmp_path / "config.toml", {"bot": {"database": str(database)}})
    code, out, err = await _run("migrate", "--config", str(config), env=_env())
    assert code == 0, err
    assert "applied migrations 0001" in out
    again_code, again_out, _ = await _run("migrate", "--config", str(config), env=_env())
    assert again_code == 0 and "already at the current schema" in again_out
    _assert_clean_database(database)


async def test_run_with_a_malformed_secret_key_says_so_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {"bot": {"database": str(tmp_path / "h.db")}})
    code, _, stderr = await _run(
        "run", "--config", str(config), env=_env(DISCORD_TOKEN="token", HEARTH_SECRET_KEY="short")
    )
    assert code == 2
    _assert_no_traceback(stderr)
    lines = [line for line in stderr.splitlines() if line.startswith("hearth:")]
    assert len(lines) == 1 and "secret key" in lines[0], stderr


async def test_run_when_discord_cannot_be_reached_says_so_in_one_line(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        {
            "bot": {"database": str(tmp_path / "h.db")},
            "discord": {"api_base_url": "http://127.0.0.1:9/api/v10", "gateway_url": "ws://127.0.0.1:9/"},
        },
    )
    code, _, stderr = await _run(
        "run", "--config", str(config), env=_env(DISCORD_TOKEN="token", HEARTH_SECRET_KEY=TEST_SECRET_KEY)
    )
    assert code == 2
    _assert_no_traceback(stderr)
    lines = [line for line in stderr.splitlines() if line.startswith("hearth:")]
    assert len(lines) == 1 and "cannot reach Discord" in lines[0], stderr


async def test_run_refuses_a_key_that_is_not_the_database_s_own(tmp_path: Path) -> None:
    async with running_hearth(tmp_path) as hearth:  # the database is first sealed under the test key
        await hearth.stop()
        config = str(hearth.config_path)
        database = hearth.database_path
        wrong_key = "another-secret-key-that-is-long-enough"
        code, _, stderr = await _run(
            "run", "--config", config, env=_env(DISCORD_TOKEN=hearth.world.token, HEARTH_SECRET_KEY=wrong_key)
        )
        assert code == 2
        _assert_no_traceback(stderr)
        lines = [line for line in stderr.splitlines() if line.startswith("hearth:")]
        assert len(lines) == 1 and "not the one this database was sealed with" in lines[0], stderr

        # With no key given and no key file, a new key would make everything unreadable: refused,
        # and the new key file is not left behind to hide that the real one is missing.
        code, _, stderr = await _run("run", "--config", config, env=_env(DISCORD_TOKEN=hearth.world.token))
        assert code == 2
        lines = [line for line in stderr.splitlines() if line.startswith("hearth:")]
        assert len(lines) == 1 and "hearth.key is missing" in lines[0], stderr
        assert not (database.parent / "hearth.key").exists()


async def test_a_second_bot_or_a_key_rotation_is_refused_while_hearth_runs(tmp_path: Path) -> None:
    async with bot_process(tmp_path) as running:
        config = str(running.hearth.config_path)
        env = _env(DISCORD_TOKEN=running.hearth.world.token, HEARTH_SECRET_KEY=TEST_SECRET_KEY)
        code, _, stderr = await _run("run", "--config", config, env=env)
        assert code == 2 and "already running" in stderr, stderr
        code, _, stderr = await _run("rotate-key", "--config", config, env=env)
        assert code == 1 and "stop it first" in stderr, stderr
        _assert_no_traceback(stderr)
        code, _ = await running.stop(signal.SIGTERM)
        assert code == 0
    # Stopped, the same rotation goes ahead.
    code, out, stderr = await _run("rotate-key", "--config", config, env=env)
    assert code == 0, stderr
    assert "A new key version 2 is ready" in out
