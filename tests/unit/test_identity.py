from __future__ import annotations

import re

from bot.services.identity import ban_key_for, pseudonym_for
from bot.storage.crypto import Keyring, generate_master_key

KEYRING = Keyring.parse(generate_master_key())


def test_pseudonym_looks_like_adjective_animal_number() -> None:
    name = pseudonym_for(KEYRING, 1, "share:1", 42)
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+ \d{4}", name)


def test_pseudonym_is_stable_within_a_scope_and_differs_across_scopes() -> None:
    assert pseudonym_for(KEYRING, 1, "share:1", 42) == pseudonym_for(KEYRING, 1, "share:1", 42)
    names = {pseudonym_for(KEYRING, 1, f"share:{n}", 42) for n in range(20)}
    assert len(names) >= 19


def test_different_members_differ_in_the_same_thread() -> None:
    names = {pseudonym_for(KEYRING, 1, "share:1", user) for user in range(50)}
    assert len(names) >= 49


def test_ban_key_is_per_guild_and_reveals_nothing() -> None:
    key = ban_key_for(KEYRING, 1, 424242)
    assert key == ban_key_for(KEYRING, 1, 424242)
    assert key != ban_key_for(KEYRING, 2, 424242)
    assert "424242" not in key and len(key) == 64
    other = Keyring.parse(generate_master_key())
    assert ban_key_for(other, 1, 424242) != key
