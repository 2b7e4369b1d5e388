from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from bot.storage.crypto import (
    DecryptionError,
    Keyring,
    SecretKeyError,
    generate_master_key,
    key_file_path,
    load_keyring,
)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.parse(generate_master_key())


def test_round_trip(keyring: Keyring) -> None:
    token = keyring.encrypt("I felt safe today ✨", context="journal.body")
    assert token.startswith("v1:")
    assert "safe" not in token
    assert keyring.decrypt(token, context="journal.body") == "I felt safe today ✨"


def test_same_text_encrypts_differently(keyring: Keyring) -> None:
    assert keyring.encrypt("same") != keyring.encrypt("same")


def test_tampering_is_detected(keyring: Keyring) -> None:
    token = keyring.encrypt("private note")
    version, blob = token.split(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(blob))
    raw[-1] ^= 0x01
    tampered = version + ":" + base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(DecryptionError):
        keyring.decrypt(tampered)


def test_ciphertext_is_bound_to_its_column(keyring: Keyring) -> None:
    token = keyring.encrypt("note", context="checkin.note")
    with pytest.raises(DecryptionError):
        keyring.decrypt(token, context="journal.body")


def test_wrong_key_is_refused(keyring: Keyring) -> None:
    token = keyring.encrypt("secret")
    other = Keyring.parse(generate_master_key())
    with pytest.raises(DecryptionError):
        other.decrypt(token)


def test_old_versions_decrypt_and_new_data_uses_the_newest(keyring: Keyring) -> None:
    old = keyring.encrypt("written last year")
    rotated = Keyring.parse(keyring.serialize() + "\n2:" + generate_master_key())
    assert rotated.current_version == 2
    assert rotated.decrypt(old) == "written last year"
    assert rotated.needs_rotation(old)
    fresh = rotated.encrypt("new")
    assert fresh.startswith("v2:") and not rotated.needs_rotation(fresh)
    # Identity hashes survive rotation, so blocks on ban keys keep working.
    assert rotated.keyed_hash("ban-key", 1, 2) == keyring.keyed_hash("ban-key", 1, 2)


def test_missing_version_is_a_clear_error(keyring: Keyring) -> None:
    with pytest.raises(DecryptionError):
        keyring.decrypt("v7:" + base64.urlsafe_b64encode(os.urandom(40)).decode())


def test_garbage_is_refused(keyring: Keyring) -> None:
    with pytest.raises(DecryptionError):
        keyring.decrypt("plain text")


@pytest.mark.parametrize("token", ["v1:abc", "v1:AAAA", "v1:" + "A" * 36, "v1:====", "v9:AAAA"])
def test_a_cut_short_or_mangled_value_is_refused_like_any_other_tampering(
    keyring: Keyring, token: str
) -> None:
    with pytest.raises(DecryptionError):
        keyring.decrypt(token)


def test_short_passphrase_is_refused() -> None:
    with pytest.raises(SecretKeyError):
        Keyring.parse("short")


def test_passphrase_keys_work() -> None:
    ring = Keyring.parse("a long passphrase that is not base64!")
    assert ring.decrypt(ring.encrypt("x")) == "x"


def test_key_file_is_created_once_with_owner_only_mode(tmp_path: Path) -> None:
    db_path = tmp_path / "data" / "hearth.db"
    first = load_keyring(db_path, environ={})
    path = key_file_path(db_path)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_keyring(db_path, environ={})
    assert second.decrypt(first.encrypt("kept")) == "kept"


def test_environment_key_wins_and_writes_no_file(tmp_path: Path) -> None:
    key = generate_master_key()
    ring = load_keyring(tmp_path / "hearth.db", environ={"HEARTH_SECRET_KEY": key})
    assert not key_file_path(tmp_path / "hearth.db").exists()
    assert Keyring.parse(key).decrypt(ring.encrypt("x")) == "x"
