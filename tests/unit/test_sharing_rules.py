"""The text rules and identities behind anonymous sharing, with no Discord and no disk."""

from __future__ import annotations

import asyncio

import pytest

from bot.services.identity import ban_key_for, pseudonym_for
from bot.services.sharing import (
    INVITE_REMOVED,
    LINK_REMOVED,
    ZWSP,
    ChannelPacer,
    apply_link_policy,
    clean_invisible,
    escape_markdown_fully,
    escape_spoiler,
    find_blocked_terms,
    fold,
    looks_repetitive,
    meaningful_length,
    neutralise_mentions,
    pseudonym_scope,
)
from bot.storage.crypto import Keyring, generate_master_key
from tests.sharing_markdown import hidden_and_shown

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


@pytest.mark.parametrize(
    "text",
    ["this || breaks out", "|||after the bars", "||||", "ends with a bar|", "a backslash \\", "a \\|| b"],
)
def test_bars_and_backslashes_in_text_cannot_close_the_spoiler(text: str) -> None:
    spoilers, outside = hidden_and_shown(f"||{escape_spoiler(text)}||")
    assert spoilers == [text] and outside == ""


def test_a_content_warning_is_shown_literally() -> None:
    for warning in ("family ||", "**bold** and `code`", "a \\ b"):
        spoilers, outside = hidden_and_shown(escape_markdown_fully(warning) + "\n\n||hidden||")
        assert spoilers == ["hidden"] and outside == warning + "\n\n"


HIDERS = [
    "\u200b",
    "\u200e",
    "\u200f",
    "\u2061",
    "\u2064",
    "\u034f",
    "\u180e",
    "\u202a",
    "\u202e",
    "\U000e0041",
]
HIDERS += ["\u00ad", "\ufeff", "\u2060", "\u200d"]


@pytest.mark.parametrize("hidden", [f"grim{c}thorpe" for c in HIDERS] + ["ｇｒｉｍｔｈｏｒｐｅ"])
def test_invisible_characters_cannot_hide_a_blocked_term(hidden: str) -> None:
    assert find_blocked_terms(f"I saw {hidden} today", ["grimthorpe"]) == ["grimthorpe"]
    assert "grimthorpe" in fold(clean_invisible(hidden))


def test_invisible_characters_are_dropped_but_emoji_sequences_kept() -> None:
    family = "👩\u200d👧"
    keycap = "1\ufe0f\u20e3"
    heart = "❤\ufe0f"
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    for emoji in (family, keycap, heart, scotland):
        assert clean_invisible(f"a {emoji} b") == f"a {emoji} b"
    assert clean_invisible("disc\u200bord.gg/abc") == "discord.gg/abc"
    assert clean_invisible("grim\u200e\u202ethorpe\U000e0041") == "grimthorpe"
    assert clean_invisible("a\u200db") == "ab"


@pytest.mark.parametrize(
    "text",
    [
        "join https://discord.gg/abcDEF now",
        "join discord.gg/abcDEF now",
        "join https://discord.com/invite/abc-def now",
        "join https://discordapp.com/invite/xyz now",
        "join https://discord.gg:443/abcdEF12 now",
        "join https://discord.com:443/invite/abcdEF12 now",
        "join [x](https://discord.gg./abcdEF12) now",
        "join discord.com/invite\\abcdEF12 now",
        "join https:\\\\discord.gg\\abcdEF12 now",
        "join HTTPS://Discord.GG/abcdEF12 now",
        "join https://someone:secret@discord.gg/abcdEF12 now",
        "join https://disc%6Frd.gg/abcdEF12 now",
        "join ｄｉｓｃｏｒｄ．ｇｇ/abcdEF12 now",
        "join discord。gg/abcdEF12 now",
        "join https://canary.discord.com/invite/abcdEF12 now",
        "join <https://discord.gg/abcdEF12> now",
    ],
)
def test_invites_are_stripped_by_default(text: str) -> None:
    result = apply_link_policy(clean_invisible(text), "strip_invites")
    assert result.invites_removed == 1
    assert INVITE_REMOVED in result.text
    assert result.text.startswith("join ") and result.text.endswith(" now")
    assert "discord" not in fold(result.text) and "abc" not in result.text and "xyz" not in result.text


def test_mentions_of_discord_that_are_not_invites_stay() -> None:
    text = "I found it on discord.gg, see discord.com/channels/1/2 and https://discord.com/invite/"
    assert apply_link_policy(text, "strip_invites").text == text


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


class FakeTime:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


async def test_the_channel_pacer_lets_at_most_five_through_in_any_window_per_channel() -> None:
    time = FakeTime()
    pacer = ChannelPacer(5, 5.0, clock=time.clock, sleep=time.sleep)
    sent: list[tuple[str, float]] = []

    async def send(channel: str) -> None:
        async with pacer.slot((channel, "message")):
            sent.append((channel, time.now))

    await asyncio.gather(*(send("a") for _ in range(12)), *(send("b") for _ in range(3)))
    times = [at for channel, at in sent if channel == "a"]
    assert len(times) == 12
    assert all(sum(start <= t < start + 5.0 for t in times) <= 5 for start in times)
    assert times[:5] == [0.0] * 5 and times[5] == 5.0, "a burst of five goes at once, then one window later"
    assert len([1 for channel, _ in sent if channel == "b"]) == 3


async def test_the_channel_pacer_counts_a_window_from_the_answer_not_the_send() -> None:
    time = FakeTime()
    pacer = ChannelPacer(2, 5.0, clock=time.clock, sleep=time.sleep)
    answered = asyncio.Event()
    started: list[float] = []

    async def slow() -> None:
        async with pacer.slot("c"):
            started.append(time.now)
            await answered.wait()

    first = [asyncio.create_task(slow()) for _ in range(2)]
    third = asyncio.create_task(slow())
    await asyncio.sleep(0.01)
    assert len(started) == 2, "two requests in flight fill the window"
    time.now = 7.0  # the answers arrive late
    answered.set()
    await asyncio.gather(*first, third)
    assert started[2] == 12.0, "the next may go only a whole window after an answer"
