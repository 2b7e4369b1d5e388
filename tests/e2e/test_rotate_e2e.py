"""`python -m bot rotate-key` re-seals every encrypted column, each holding real data written
through the commands, and the bot reads all of it back under the new key."""

from __future__ import annotations

import asyncio

import pytest

from bot.__main__ import main as cli_main
from bot.services.privacy import sensitive_columns
from bot.storage import privacy as privacy_store
from bot.storage.crypto import ENV_VAR, DecryptionError, Keyring, key_file_path, load_keyring, write_key_file
from bot.storage.db import Database
from tests.e2e.checkin_helpers import MONDAY_8AM
from tests.e2e.privacy_helpers import exported, populated
from tests.fakediscord.harness import Harness

pytestmark = pytest.mark.hearth_config(checkins={"count_refresh_seconds": 0.0})

Opened = dict[str, dict[object, str]]


async def _open_every_sealed_value(path: object, keyring: Keyring) -> Opened:
    """Decrypt every value of every registered sensitive column, by "table.column" and row key."""
    db = await Database.open(path)  # type: ignore[arg-type]
    try:
        columns, strays = await sensitive_columns(db)
        assert strays == [], f"sealed values in unregistered columns: {strays}"
        opened: Opened = {}
        for column in columns:
            rows = await db.fetchall(
                f"SELECT {column.key_column}, {column.column} FROM {column.table} "
                f"WHERE {column.column} IS NOT NULL"
            )
            opened[f"{column.table}.{column.column}"] = {
                row[0]: keyring.decrypt(row[1], context=column.context) for row in rows
            }
        return opened
    finally:
        await db.close()


async def _values_under(path: object, version: str) -> list[tuple[str, str]]:
    db = await Database.open(path)  # type: ignore[arg-type]
    try:
        found = []
        for table in await privacy_store.user_tables(db):
            for column in await privacy_store.table_columns(db, table):
                count = await db.fetchval(
                    f'SELECT count(*) FROM "{table}" WHERE typeof("{column}") = \'text\' '
                    f'AND "{column}" GLOB \'{version}:*\''
                )
                if count:
                    found.append((table, column))
        return found
    finally:
        await db.close()


async def _rotate(hearth: Harness, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> str:
    """Rotate with the key in the environment: the first run prints the new value, the second re-seals."""
    monkeypatch.setenv(ENV_VAR, hearth.keyring.serialize().replace("\n", ","))
    assert await asyncio.to_thread(cli_main, ["--config", str(hearth.config_path), "rotate-key"]) == 0
    new_value = next(line.split("=", 1)[1] for line in capsys.readouterr().out.splitlines()
                     if f"{ENV_VAR}=" in line)
    monkeypatch.setenv(ENV_VAR, new_value)
    assert await asyncio.to_thread(cli_main, ["--config", str(hearth.config_path), "rotate-key"]) == 0
    return new_value


async def test_rotation_re_seals_every_encrypted_column_and_everything_reads_back(
    hearth: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await populated(hearth, MONDAY_8AM, "alice", "bob")
    exports = {name: await exported(hearth, name) for name in ("alice", "bob")}
    await hearth.stop()
    old_key = hearth.keyring
    before = await _open_every_sealed_value(hearth.database_path, old_key)
    registered = {f"{c.table}.{c.column}" for c in privacy_store.SENSITIVE_COLUMNS}
    empty = sorted(name for name in registered if not before.get(name))
    assert not empty, f"no real data in these encrypted columns: {empty}"

    new_value = await _rotate(hearth, monkeypatch, capsys)
    printed = capsys.readouterr().out
    total = sum(len(values) for values in before.values())
    assert f"re-encrypted {total} value(s) under key version 2" in printed
    for name, values in before.items():
        assert f"{name}: {len(values)} re-encrypted" in printed

    rotated = Keyring.parse(new_value)
    assert await _open_every_sealed_value(hearth.database_path, rotated) == before
    assert await _values_under(hearth.database_path, "v1") == []
    # The old key alone opens nothing any more.
    only_old = Keyring({1: old_key.masters[1]})
    with pytest.raises(DecryptionError):
        await _open_every_sealed_value(hearth.database_path, only_old)

    hearth.keyring = rotated
    await hearth.start()
    for name, data in exports.items():
        assert await exported(hearth, name) == data, f"{name}'s export changed after rotation"


async def test_rotation_with_a_key_file_adds_the_version_to_the_file_and_re_seals(
    hearth: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await populated(hearth, MONDAY_8AM, "alice")
    export = await exported(hearth, "alice")
    await hearth.stop()
    before = await _open_every_sealed_value(hearth.database_path, hearth.keyring)
    key_file = key_file_path(hearth.database_path)
    write_key_file(key_file, hearth.keyring)
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert await asyncio.to_thread(cli_main, ["--config", str(hearth.config_path), "rotate-key"]) == 0
    assert f"wrote key version 2 to {key_file}" in capsys.readouterr().out
    from_file = load_keyring(hearth.database_path, environ={})
    assert sorted(from_file.masters) == [1, 2] and from_file.masters[1] == hearth.keyring.masters[1]
    assert await _open_every_sealed_value(hearth.database_path, from_file) == before
    assert await _values_under(hearth.database_path, "v1") == []
    hearth.keyring = from_file
    await hearth.start()
    assert await exported(hearth, "alice") == export
