"""Privacy end to end, on data written through the real commands: /privacy, /mydata export and erase.

Leaving a guild, retention and key rotation have their own modules (test_retention_e2e.py,
test_rotate_e2e.py, test_privacy_departures_e2e.py).
"""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest

from bot.services.privacy import retention_kinds
from bot.storage import privacy as privacy_store
from bot.storage.personal import REGISTRY
from tests.e2e.checkin_helpers import MONDAY_8AM
from tests.e2e.privacy_helpers import (
    SHARE_FIELD,
    Footprint,
    approved_share,
    exported,
    needles,
    populated,
    rows_mentioning,
)
from tests.fakediscord.harness import Harness

pytestmark = pytest.mark.hearth_config(checkins={"count_refresh_seconds": 0.0})

ERASE_AND_DELETE = "Erase, and delete my anonymous posts"
ERASE_AND_KEEP = "Erase, and leave my posts unlinked"
# Every column that holds something of a member after `populated` (in the clear, or sealed: a
# sealed ban key, the id kept for a decision DM): the scan must see each one.
MEMBER_TABLES = {
    ("checkin_answers", "user_id"), ("checkin_anonymous_notes", "author"), ("checkin_members", "user_id"),
    ("checkin_pauses", "user_id"), ("checkin_reminders", "user_id"), ("exercise_sessions", "user_id"),
    ("journal_entries", "user_id"), ("ladder_logs", "user_id"), ("ladder_steps", "user_id"),
    ("moderator_notices", "user_id"), ("moderator_notices", "body"), ("sharing_events", "ban_key"),
    ("sharing_posts", "ban_key"), ("sharing_posts", "notify_enc"),
}


@pytest.fixture
async def world(hearth: Harness) -> dict[str, Footprint]:
    """Alice and Bob have used everything; deletions after an erasure start a minute or more away."""
    footprints = await populated(hearth, MONDAY_8AM, "alice", "bob")
    hearth.running_bot.privacy.rng = random.Random(7)
    return footprints


def _fields(result: object) -> dict[str, str]:
    fields: dict[str, str] = {}
    for message in result.messages:  # type: ignore[attr-defined]
        for embed in message.embeds:
            for field in embed.get("fields") or []:
                fields[field["name"]] = field["value"]
    return fields


def _field(fields: dict[str, str], prefix: str) -> str:
    found = [value for name, value in fields.items() if name.startswith(prefix)]
    assert len(found) == 1, f"no single field starting {prefix!r} in {list(fields)}"
    return found[0]


# ----- /privacy ------------------------------------------------------------------------------


@pytest.mark.hearth_config(retention={"moods_days": 90, "journal_days": 0})
async def test_privacy_tells_exactly_what_is_held_and_for_how_long(hearth: Harness,
                                                                    world: dict[str, Footprint]) -> None:
    result = await hearth.actor("alice").slash("privacy")
    await result.reply()
    assert all(message.ephemeral for message in result.messages)
    fields = _fields(result)
    export = await exported(hearth, "alice")

    # One field per area, with the area's whole description (never clipped) and its real count.
    for entry in REGISTRY:
        [(name, area)] = [(name, value) for name, value in fields.items() if entry.description in value]
        assert re.fullmatch(r"[A-Z][\w -]+: (1 item|\d+ items)", name), name
        assert area.startswith(entry.description) and "…" not in area
    checkins = _field(fields, "Check-ins")
    answers = export["checkins"]
    count = sum(len(answers[k]) for k in ("answers", "anonymous_notes", "reminders", "pauses")) + 1
    assert next(n for n in fields if n.startswith("Check-ins")) == f"Check-ins: {count} items"
    assert "Deleted after 90 days: check-in moods, notes (named and anonymous) and pauses." in checkins
    assert "reminder settings and time zone are not aged out" in checkins
    assert "No retention period: kept until you erase it" in _field(fields, "Journal")
    assert _field(fields, "Care alerts waiting").count("\n") == 1

    # The kinds listed are exactly those some table is aged out by.
    periods = _field(fields, "How long things are kept").splitlines()
    ruled = {rule.kind for rule in privacy_store.RETENTION_RULES}
    assert len(periods) == len(retention_kinds(hearth.settings.retention)) + 1 == len(ruled) + 1
    assert "• check-in moods, notes (named and anonymous) and pauses: up to 90 days" in periods
    assert "• everything about a server: 30 days after Hearth leaves it" in periods

    text = result.text
    # Who wrote an anonymous post is never stored, except while a decision DM is waiting.
    assert "your id is kept, encrypted, next to that post until the decision is made" in text
    unreachable = _field(fields, "What erasing cannot reach")
    assert "alerts channel name you" in unreachable and "until a moderator deletes them" in unreachable
    assert "copied it into the FAQ" in unreachable and "outlives `/mydata erase`" in unreachable
    choices = _field(fields, "Your choices")
    assert "shared under your name are deleted" in choices and "over the next 30 minutes" in choices


# ----- /mydata export -------------------------------------------------------------------------


async def test_export_holds_the_members_data_and_no_one_elses(hearth: Harness,
                                                              world: dict[str, Footprint]) -> None:
    result = await (await hearth.actor("alice").slash("mydata export")).reply()
    assert result.ephemeral
    [attachment] = result.attachments
    assert attachment.filename == "hearth-my-data.json"
    raw = attachment.data.decode()
    for words in world["alice"].kept:
        assert words in raw, words
    for words in world["bob"].written:
        assert words not in raw, words
    assert str(hearth.members["bob"].id) not in raw
    assert {entry.area for entry in REGISTRY} == set(await exported(hearth, "alice"))


# ----- /mydata erase ----------------------------------------------------------------------------


async def _erase(hearth: Harness, name: str, label: str) -> str:
    asked = await hearth.actor(name).slash("mydata erase")
    assert asked.ephemeral and "cannot be undone" in asked.text
    done = await asked.click(label=label)
    await hearth.fake.wait_until(lambda: "Done." in (done.message.content or ""), 3, "the erasure")
    return str(done.message.content)


def _deleted(hearth: Harness, ids: list[int]) -> list[bool]:
    return [hearth.fake.message(i).deleted for i in ids]


async def test_after_erase_no_table_holds_the_members_id_or_ban_key(hearth: Harness,
                                                                     world: dict[str, Footprint]) -> None:
    db = hearth.running_bot.db
    assert db is not None
    alice, bob = world["alice"], world["bob"]
    found = set(await rows_mentioning(db, needles(hearth, "alice"), hearth.running_bot.keyring))
    assert found >= MEMBER_TABLES, f"populate left nothing in {MEMBER_TABLES - found}"
    bob_before = await exported(hearth, "bob")

    said = await _erase(hearth, "alice", ERASE_AND_DELETE)

    assert await rows_mentioning(db, needles(hearth, "alice"), hearth.running_bot.keyring) == []
    # Bob keeps everything; only his reply's link to Alice's (erased) share is gone.
    for post in bob_before["sharing"]["posts"]:
        post["share_id"] = None
    assert await exported(hearth, "bob") == bob_before
    assert "Your 3 anonymous posts and 1 check-in note shown under your name will be deleted" in said
    assert "over the next 30 minutes" in said
    # Nothing vanishes at once; each post goes at its own moment, spread over the 30 minutes.
    posts = alice.anonymous_posts + alice.named_notes
    assert len(posts) == 4 and not any(_deleted(hearth, posts))
    due = sorted(row[0] for row in await db.fetchall("SELECT due_at FROM pending_deletions"))
    assert len(set(due)) == 4
    cog = hearth.running_bot.get_cog("Privacy")
    halfway = hearth.clock.now() + timedelta(minutes=15)
    hearth.clock.set(halfway)
    gone = await cog.delete_due_posts()  # type: ignore[union-attr]
    assert 0 < gone < 4 and sum(_deleted(hearth, posts)) == gone
    # The queue survives a restart.
    await hearth.restart()
    hearth.clock.advance(minutes=16)
    await hearth.running_bot.get_cog("Privacy").delete_due_posts()  # type: ignore[union-attr]
    assert all(_deleted(hearth, posts))
    assert not any(_deleted(hearth, bob.anonymous_posts + bob.named_notes))
    assert await hearth.running_bot.db.fetchval("SELECT count(*) FROM pending_deletions") == 0  # type: ignore[union-attr]
    # Moderators' settings are not the member's data and stay.
    assert (await hearth.running_bot.guild_settings.get(hearth.guild.id)).sharing_channel_id is not None


async def test_leaving_posts_unlinked_still_deletes_notes_under_the_members_name(
    hearth: Harness, world: dict[str, Footprint]
) -> None:
    alice = world["alice"]
    said = await _erase(hearth, "alice", ERASE_AND_KEEP)
    assert "Your anonymous posts stay where they are" in said
    assert "Your 1 check-in note shown under your name will be deleted" in said
    db = hearth.running_bot.db
    assert db is not None
    assert await rows_mentioning(db, needles(hearth, "alice"), hearth.running_bot.keyring) == []
    hearth.clock.advance(minutes=31)
    await hearth.running_bot.get_cog("Privacy").delete_due_posts()  # type: ignore[union-attr]
    assert all(_deleted(hearth, alice.named_notes))
    assert not any(_deleted(hearth, alice.anonymous_posts))


async def test_a_moderator_who_erases_leaves_no_id_in_the_audit_trail(hearth: Harness) -> None:
    await approved_share(hearth, "carol", "A share long enough to need review.")
    db = hearth.running_bot.db
    assert db is not None
    mod = needles(hearth, "mod")
    assert ("sharing_audit", "moderator_id") in await rows_mentioning(db, mod, hearth.running_bot.keyring)
    await _erase(hearth, "mod", ERASE_AND_KEEP)
    assert await rows_mentioning(db, needles(hearth, "mod"), hearth.running_bot.keyring) == []
    assert await db.fetchval("SELECT count(*) FROM sharing_audit") == 1


# ----- the erase confirmation ---------------------------------------------------------------------


async def _journal(hearth: Harness, name: str, text: str) -> None:
    await (await (await hearth.actor(name).slash("journal write")).submit({"Your entry": text})).reply()


async def _journal_rows(hearth: Harness) -> int:
    db = hearth.running_bot.db
    assert db is not None
    return int(await db.fetchval("SELECT count(*) FROM journal_entries"))


async def test_the_erase_buttons_still_work_after_a_restart(hearth: Harness) -> None:
    await _journal(hearth, "alice", "an entry written before the restart")
    asked = await hearth.actor("alice").slash("mydata erase")
    assert all("hearth:privacy:erase:" in str(b.get("custom_id")) for b in asked.message.buttons)
    assert not any(str(hearth.members["alice"].id) in str(b.get("custom_id")) for b in asked.message.buttons)
    await hearth.restart()
    done = await hearth.actor("alice").click(hearth.fake.message(asked.message.id), label=ERASE_AND_KEEP)
    await hearth.fake.wait_until(lambda: "Done." in (done.message.content or ""), 3, "the erasure")
    assert await _journal_rows(hearth) == 0


async def test_an_expired_confirmation_erases_nothing_and_says_so(hearth: Harness) -> None:
    await _journal(hearth, "alice", "keep me")
    asked = await hearth.actor("alice").slash("mydata erase")
    assert "These buttons work for 15 minutes." in asked.text
    hearth.clock.advance(minutes=16)
    late = await hearth.actor("alice").click(asked.message, label=ERASE_AND_DELETE)
    await hearth.fake.wait_until(lambda: "expired" in (late.message.content or ""), 3, "the answer")
    assert "nothing was erased" in late.message.content and late.message.buttons == []
    assert await _journal_rows(hearth) == 1


async def test_cancel_erases_nothing(hearth: Harness) -> None:
    await _journal(hearth, "alice", "keep me")
    asked = await hearth.actor("alice").slash("mydata erase")
    cancelled = await asked.click(label="Cancel")
    assert "Nothing was erased" in cancelled.message.content
    assert await _journal_rows(hearth) == 1


# ----- a block outlives erasure ----------------------------------------------------------------------


async def test_a_blocked_member_who_erases_leaves_no_id_or_ban_key_and_stays_blocked(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("setup", sharing_channel=hearth.channels["sharing"])).reply()
    text = "Today I told a friend something I had kept to myself for years, and they listened."
    opened = await hearth.actor("alice").slash("share")
    await (await opened.submit({SHARE_FIELD: text})).reply()
    posted = hearth.fake.last_message(hearth.channels["sharing"])
    assert posted is not None
    menu = await hearth.actor("mod", "sharing").message_command("Moderate anonymous post", posted)
    block = await (await menu.click(label="Block author")).submit({"Reason (only moderators see it)": "spam"})
    assert "block #1" in (await block.reply()).text

    asked = await hearth.actor("alice").slash("mydata erase")
    assert "block" in asked.text and "one-way key" in asked.text  # told before choosing
    await _erase(hearth, "alice", ERASE_AND_DELETE)
    db = hearth.running_bot.db
    assert db is not None
    assert await rows_mentioning(db, needles(hearth, "alice"), hearth.running_bot.keyring) == []
    hearth.clock.advance(minutes=31)
    await hearth.running_bot.get_cog("Privacy").delete_due_posts()  # type: ignore[union-attr]
    assert hearth.fake.message(posted.id).deleted

    refused = await hearth.actor("alice").slash("share")
    assert "can't share anonymously" in refused.text
    listing = await (await hearth.actor("mod").slash("sharemod blocks")).reply()
    assert "Block #1" in listing.text and "spam" in listing.text
    privacy = await (await hearth.actor("alice").slash("privacy")).reply()
    assert "outlives" in privacy.text and "one-way key" in privacy.text
