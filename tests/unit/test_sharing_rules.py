"""The text rules and identities behind anonymous sharing, with no Discord and no disk."""

from __future__ import annotations

import pytest

from bot.services.identity import ban_key_for, pseudonym_for
from bot.services.sharing import (
    INVITE_REMOVED,
    LINK_REMOVED,
    ZWSP,
    apply_link_policy,
    clean_invisible,
    escape_spoiler,
    find_blocked_terms,
    looks_repetitive,
    meaningful_length,
    neutralise_mentions,
    pseudonym_scope,
)
from bot.storage.crypto import Keyring, generate_master_key

GUILD = 111
ALICE = 900000000000000001
BOB = 900000000000000002


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.parse(generate_master_key())


def test_a_pseudonym_is_adjective_animal_number(keyring: Keyring) -> None:
    name = pseudonym_for(keyring, GUILD, pseudonym_scope(1, 0), ALICE)
    adjective, animal, number = name.split(" ")
    assert adjective.istitle() and animal.istitle()
    assert 1000 <= int(number) <= 9999


def test_one_author_has_one_name_per_thread_and_different_names_across_threads(keyring: Keyring) -> None:
    in_first = pseudonym_for(keyring, GUILD, pseudonym_scope(1, 0), ALICE)
    assert pseudonym_for(keyring, GUILD, pseudonym_scope(1, 0), ALICE) == in_first
    in_second = pseudonym_for(keyring, GUILD, pseudonym_scope(2, 0), ALICE)
    assert in_second != in_first
    assert pseudonym_for(keyring, GUILD, pseudonym_scope(1, 0), BOB) != in_first


def test_rotating_names_changes_pseudonyms_but_not_the_ban_key(keyring: Keyring) -> None:
    before = pseudonym_for(keyring, GUILD, pseudonym_scope(1, 0), ALICE)
    after = pseudonym_for(keyring, GUILD, pseudonym_scope(1, 1), ALICE)
    assert before != after
    assert ban_key_for(keyring, GUILD, ALICE) == ban_key_for(keyring, GUILD, ALICE)


def test_ban_keys_are_per_guild_and_never_contain_the_id(keyring: Keyring) -> None:
    key = ban_key_for(keyring, GUILD, ALICE)
    assert str(ALICE) not in key
    assert key != ban_key_for(keyring, GUILD + 1, ALICE)
    assert key != ban_key_for(Keyring.parse(generate_master_key()), GUILD, ALICE)


@pytest.mark.parametrize(
    "raw",
    ["@everyone look", "hey @here", "<@123456789012345678>", "<@!123456789012345678>", "<@&42424242424242>"],
)
def test_mentions_are_neutralised(raw: str) -> None:
    shown = neutralise_mentions(raw)
    assert "@everyone" not in shown and "@here" not in shown
    assert "<@1" not in shown and "<@!" not in shown and "<@&" not in shown
    assert shown.replace(ZWSP, "") == raw
    assert neutralise_mentions(shown) == shown


def test_spoiler_bars_in_text_cannot_close_the_spoiler() -> None:
    assert "||" not in escape_spoiler("this || breaks out")


def test_invisible_characters_are_dropped_but_emoji_joiners_kept() -> None:
    family = "👩\u200d👧"
    assert clean_invisible("disc\u200bord.gg/abc") == "discord.gg/abc"
    assert clean_invisible(family) == family


@pytest.mark.parametrize(
    "text",
    [
        "join https://discord.gg/abcDEF now",
        "join discord.gg/abcDEF now",
        "join https://discord.com/invite/abc-def now",
        "join https://discordapp.com/invite/xyz now",
    ],
)
def test_invites_are_stripped_by_default(text: str) -> None:
    result = apply_link_policy(text, "strip_invites")
    assert result.invites_removed == 1
    assert INVITE_REMOVED in result.text
    assert result.text.startswith("join ") and result.text.endswith(" now")
    assert "discord" not in result.text and "abc" not in result.text and "xyz" not in result.text


def test_ordinary_links_stay_unless_the_policy_strips_them() -> None:
    text = "this helped me https://example.org/article and discord.gg/xyz"
    kept = apply_link_policy(text, "strip_invites")
    assert "https://example.org/article" in kept.text and kept.links_removed == 0
    stripped = apply_link_policy(text, "strip_all")
    assert "example.org" not in stripped.text and LINK_REMOVED in stripped.text
    assert stripped.invites_removed == 1
    assert apply_link_policy(text, "allow").text == text
    assert apply_link_policy(text, "refuse").refused
    assert not apply_link_policy("no links here", "refuse").refused


def test_blocked_terms_match_whole_words_across_case_and_spacing() -> None:
    terms = ["badword", "two words"]
    assert find_blocked_terms("This has a BADWORD in it", terms) == ["badword"]
    assert find_blocked_terms("TWO\n  words", terms) == ["two words"]
    assert find_blocked_terms("notbadwordish", terms) == []
    assert find_blocked_terms("bad\u200bword hidden", terms) == ["badword"]
    assert find_blocked_terms("ｂａｄｗｏｒｄ in full width", terms) == ["badword"]


def test_meaningful_length_ignores_long_runs_and_padding() -> None:
    assert meaningful_length("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == 3
    assert meaningful_length("  hello     there  ") == len("hello there")


def test_repetition_is_spotted_but_ordinary_writing_is_not() -> None:
    assert looks_repetitive("buy now " * 10)
    assert not looks_repetitive(
        "Today I told my sister something I had kept to myself for years, and she listened."
    )
    assert not looks_repetitive("no no no")
