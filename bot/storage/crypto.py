"""Authenticated encryption for sensitive text columns, and keyed hashes for identities.

Ciphertext is stored as ``v<version>:<base64(nonce || AES-GCM ciphertext)>`` so the
key version always sits beside the data it encrypts, and a key rotation can find
what is still under an old version.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from bot.storage.db import Database

log = logging.getLogger(__name__)

KEY_FILE_NAME = "hearth.key"
ENV_VAR = "HEARTH_SECRET_KEY"
_TOKEN = re.compile(r"^v(\d+):([A-Za-z0-9_\-=]+)$")
_ENTRY = re.compile(r"^(?:(\d+):)?(.+)$")


class DecryptionError(Exception):
    """Ciphertext that was tampered with, or sealed under a key this keyring lacks."""


class SecretKeyError(Exception):
    """A secret key that cannot be parsed."""


class KeyMismatchError(Exception):
    """A keyring that is not the one the database was sealed with."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hearth/" + purpose).derive(master)


def _decode_master(text: str) -> bytes:
    """Accept a base64 key (the generated form) or any long passphrase."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return raw
    if len(text) < 16:
        raise SecretKeyError("a secret key must be at least 16 characters (or a generated key)")
    return hashlib.sha256(text.encode()).digest()


def generate_master_key() -> str:
    """Return a new random key in the form key files and the environment use."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


@dataclass(frozen=True)
class Keyring:
    """Every key version Hearth can read; the highest version seals new data."""

    masters: dict[int, bytes]

    def __post_init__(self) -> None:
        if not self.masters:
            raise SecretKeyError("the keyring is empty")

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Parse ``key`` or ``1:key,2:key`` (commas or newlines between entries; ``#`` starts a comment)."""
        masters: dict[int, bytes] = {}
        lines = (line.split("#", 1)[0] for line in text.splitlines())
        entries = [e.strip() for line in lines for e in line.split(",") if e.strip()]
        for entry in entries:
            match = _ENTRY.match(entry)
            if not match:
                raise SecretKeyError("a key entry must look like VERSION:KEY")
            version = int(match.group(1) or 1)
            if version in masters:
                raise SecretKeyError(f"key version {version} is given twice")
            masters[version] = _decode_master(match.group(2))
        return cls(masters)

    @property
    def current_version(self) -> int:
        """Return the version new data is sealed with."""
        return max(self.masters)

    def _data_key(self, version: int) -> bytes:
        try:
            return _derive(self.masters[version], b"data")
        except KeyError:
            raise DecryptionError(f"no key for version {version}") from None

    @property
    def identity_key(self) -> bytes:
        """Return the key for pseudonyms and ban keys.

        It comes from the oldest version and so survives rotation: ban keys are
        one-way and could not be recomputed, and blocks must outlive a new key.
        """
        return _derive(self.masters[min(self.masters)], b"identity")

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        """Seal text under the current key; `context` binds it to where it is stored."""
        version = self.current_version
        nonce = os.urandom(12)
        sealed = AESGCM(self._data_key(version)).encrypt(nonce, plaintext.encode(), context.encode())
        return f"v{version}:" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, context: str = "") -> str:
        """Open sealed text, raising DecryptionError if it was altered or the key is wrong."""
        match = _TOKEN.match(token or "")
        if not match:
            raise DecryptionError("not a sealed value")
        try:
            blob = base64.urlsafe_b64decode(match.group(2))
        except (binascii.Error, ValueError):
            raise DecryptionError("the sealed value was altered") from None
        nonce, sealed = blob[:12], blob[12:]
        if len(nonce) < 12 or len(sealed) < 16:  # a nonce and AES-GCM's tag at the least
            raise DecryptionError("the sealed value was cut short")
        try:
            opened = AESGCM(self._data_key(int(match.group(1)))).decrypt(nonce, sealed, context.encode())
            return opened.decode()
        except (InvalidTag, UnicodeDecodeError):
            raise DecryptionError("the sealed value was altered or the key is wrong") from None

    def encrypt_optional(self, plaintext: str | None, *, context: str = "") -> str | None:
        """Seal text, passing None through."""
        return None if plaintext is None else self.encrypt(plaintext, context=context)

    def decrypt_optional(self, token: str | None, *, context: str = "") -> str | None:
        """Open sealed text, passing None through."""
        return None if token is None else self.decrypt(token, context=context)

    def needs_rotation(self, token: str) -> bool:
        """Say whether a sealed value is under an older version than the current one."""
        match = _TOKEN.match(token or "")
        return bool(match) and int(match.group(1)) != self.current_version

    def keyed_hash(self, purpose: str, *parts: object) -> str:
        """Return a hex HMAC-SHA256 of the parts under the identity key, separated by purpose."""
        message = "\x1f".join([purpose, *(str(p) for p in parts)]).encode()
        return hmac.new(self.identity_key, message, hashlib.sha256).hexdigest()

    def serialize(self) -> str:
        """Return the keyring in the key-file form."""
        return "\n".join(
            f"{v}:{base64.urlsafe_b64encode(k).decode().rstrip('=')}" for v, k in sorted(self.masters.items())
        )


def key_file_path(database_path: Path) -> Path:
    """Return where the generated key file lives: beside the database."""
    return database_path.parent / KEY_FILE_NAME


def write_key_file(path: Path, keyring: Keyring) -> None:
    """Write a keyring to a file readable only by its owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(
            "# Hearth's secret keys. Back this file up with the database: without it,\n"
            "# encrypted text cannot be read.\n" + keyring.serialize() + "\n"
        )
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_keyring(database_path: Path, environ: dict[str, str] | None = None) -> Keyring:
    """Load the keyring from HEARTH_SECRET_KEY, or from (creating on first run) the key file."""
    environ = os.environ if environ is None else environ
    from_env = environ.get(ENV_VAR, "").strip()
    if from_env:
        return Keyring.parse(from_env)
    path = key_file_path(database_path)
    if path.exists():
        return Keyring.parse(path.read_text(encoding="utf-8"))
    keyring = Keyring.parse(generate_master_key())
    write_key_file(path, keyring)
    log.warning("created a new secret key file at %s; back it up together with the database", path)
    return keyring


KEY_CHECK_STATE = "key_check"


async def verify_keyring(db: Database, keyring: Keyring) -> None:
    """Refuse a keyring that is not the one this database was sealed with; remember it on first use.

    What is kept is a keyed hash under the identity key (which a key rotation keeps), so it
    reveals nothing about the key. A lost key file replaced by a new one, or a wrong
    HEARTH_SECRET_KEY, would otherwise leave every sealed column unreadable and let blocked
    members back in (their blocks are keyed hashes too).
    """
    fingerprint = keyring.keyed_hash(KEY_CHECK_STATE)
    await db.execute(
        "INSERT OR IGNORE INTO app_state (key, value) VALUES (?, ?)", (KEY_CHECK_STATE, fingerprint)
    )
    stored = await db.fetchval("SELECT value FROM app_state WHERE key = ?", (KEY_CHECK_STATE,))
    if not hmac.compare_digest(str(stored), fingerprint):
        raise KeyMismatchError("the secret key is not the one this database was sealed with")
