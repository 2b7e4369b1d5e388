"""Privacy end to end: /privacy, /mydata export and erase, leaving a guild, retention and key rotation.

A stand-in area ("diary": named notes, encrypted, plus anonymous posts found by ban key)
is registered next to every real area, so the erase scan covers the real schema as well.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

import bot.services.privacy as privacy_module
from bot.__main__ import main as cli_main
from bot.services.identity import ban_key_for
from bot.storage import privacy as privacy_store
from bot.storage.crypto import ENV_VAR, Keyring
from bot.storage.db import Database, Transaction, to_db_time
from bot.storage.personal import REGISTRY, MemberRef, PersonalData
from tests.fakediscord.harness import Harness

NOTE = "diary.body"


async def _export(db: Database, keyring: Keyring, member: MemberRef) -> dict[str, Any]:
    notes = await db.fetchall("SELECT body FROM diary WHERE user_id = ? ORDER BY id", (member.user_id,))
    keys = list(member.ban_keys.values()) or [""]
    marks = ",".join("?" * len(keys))
    posts = await db.fetchall(f"SELECT message_id FROM anon_posts WHERE ban_key IN ({marks})", keys)
    return {"notes": [keyring.decrypt(r[0], context=NOTE) for r in notes],
            "posts": [str(r[0]) for r in posts]}


async def _erase(tx: Transaction, member: MemberRef) -> None:
    await tx.execute("DELETE FROM diary WHERE user_id = ?", (member.user_id,))
    for key in member.ban_keys.values():
        await tx.execute("DELETE FROM anon_posts WHERE ban_key = ?", (key,))


async def _posts(db: Database, member: MemberRef) -> list[tuple[int, int]]:
    keys = list(member.ban_keys.values()) or [""]
    marks = ",".join("?" * len(keys))
    rows = await db.fetchall(
        f"SELECT channel_id, message_id FROM anon_posts WHERE ban_key IN ({marks})", keys
    )
    return [(r[0], r[1]) for r in rows]


DIARY = PersonalData("diary", _export, _erase, posts=_posts, description="Notes you wrote.",
                     retention="moods")


@pytest.fixture
async def diary(hearth: Harness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setattr(privacy_module, "REGISTRY", [*REGISTRY, DIARY])
    db = hearth.bot.db
    assert db is not None
    await db.execute("CREATE TABLE diary (id INTEGER PRIMARY KEY, guild_id INTEGER, user_id INTEGER, "
                     "body TEXT, created_at TEXT)")
    await db.execute("CREATE TABLE anon_posts (id INTEGER PRIMARY KEY, guild_id INTEGER, ban_key TEXT, "
                     "channel_id INTEGER, message_id INTEGER, created_at TEXT)")
    return hearth


async def add_note(hearth: Harness, name: str, text: str, *, days_ago: int = 0) -> None:
    member = hearth.members[name]
    assert hearth.bot.db is not None
    await hearth.bot.db.execute(
        "INSERT INTO diary (guild_id, user_id, body, created_at) VALUES (?, ?, ?, ?)",
        (hearth.guild.id, member.id, hearth.bot.keyring.encrypt(text, context=NOTE),
         to_db_time(hearth.bot.now() - timedelta(days=days_ago))),
    )


async def add_anonymous_post(hearth: Harness, name: str, text: str) -> int:
    """Post a message as Hearth does for an anonymous share, and link it to the author's ban key."""
    channel = hearth.channels["sharing"]
    message = await hearth.bot.get_partial_messageable(channel.id).send(text)
    key = ban_key_for(hearth.bot.keyring, hearth.guild.id, hearth.members[name].id)
    assert hearth.bot.db is not None
    await hearth.bot.db.execute(
        "INSERT INTO anon_posts (guild_id, ban_key, channel_id, message_id, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (hearth.guild.id, key, channel.id, message.id, to_db_time(hearth.bot.now())),
    )
    return message.id


async def rows_mentioning(db: Database, needles: list[str]) -> list[tuple[str, str]]:
    """Scan every column of every table (from sqlite_master) for any needle, inside text too."""
    found = []
    for table in await privacy_store.user_tables(db):
        for column in await privacy_store.table_columns(db, table):
            for needle in needles:
                hits = await db.fetchval(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE ?', (f"%{needle}%",)
                )
                if hits:
                    found.append((table, column))
    return found


# ----- /privacy ------------------------------------------------------------------------------


@pytest.mark.hearth_config(retention={"moods_days": 90})
async def test_privacy_says_what_is_held_and_for_how_long(diary: Harness) -> None:
    await add_note(diary, "alice", "first")
    await add_note(diary, "alice", "second")
    result = await (await diary.actor("alice").slash("privacy")).reply()
    assert result.ephemeral
    held = _field(result.embed, "What Hearth holds")
    assert "**diary**: 2 items, kept up to 90 days. Notes you wrote." in held
    periods = _field(result.embed, "How long")
    assert "check-in moods and notes: up to 90 days" in periods
    assert "journal entries and thought records: until you erase it" in periods
    assert "30 days after Hearth leaves it" in periods
    assert "/mydata export" in result.text and "/mydata erase" in result.text
    # Bob holds nothing in the diary.
    bob = await (await diary.actor("bob").slash("privacy")).reply()
    assert "**diary**: 0 items" in _field(bob.embed, "What Hearth holds")


def _field(embed: dict, prefix: str) -> str:
    for field in embed.get("fields") or []:
        if field["name"].startswith(prefix):
            return field["value"]
    raise AssertionError(f"no field starting {prefix!r}")


# ----- /mydata export -------------------------------------------------------------------------


async def test_export_holds_the_members_data_and_no_one_elses(diary: Harness) -> None:
    await add_note(diary, "alice", "alice wrote this")
    await add_note(diary, "bob", "bob wrote this")
    alice_post = await add_anonymous_post(diary, "alice", "an anonymous share")
    bob_post = await add_anonymous_post(diary, "bob", "another anonymous share")

    result = await (await diary.actor("alice").slash("mydata export")).reply()
    assert result.ephemeral
    [attachment] = result.attachments
    assert attachment.filename == "hearth-my-data.json"
    data = json.loads(attachment.data)
    assert data["user_id"] == str(diary.members["alice"].id)
    assert data["areas"]["diary"] == {"notes": ["alice wrote this"], "posts": [str(alice_post)]}
    raw = attachment.data.decode()
    assert "bob wrote this" not in raw
    assert str(bob_post) not in raw
    assert str(diary.members["bob"].id) not in raw
    # Every real area answered too.
    assert {entry.area for entry in REGISTRY} <= set(data["areas"])


# ----- /mydata erase ----------------------------------------------------------------------------


async def test_erase_deletes_everything_and_the_posts_when_asked(diary: Harness) -> None:
    alice = diary.members["alice"]
    await add_note(diary, "alice", "alice wrote this")
    await add_note(diary, "bob", "bob wrote this")
    post = await add_anonymous_post(diary, "alice", "an anonymous share")
    other = await add_anonymous_post(diary, "bob", "bob's share")
    await (await diary.actor("mod").slash("safety phrases add", phrase="blue door", level="concern")).reply()
    assert diary.bot.db is not None
    needles = [str(alice.id), ban_key_for(diary.bot.keyring, diary.guild.id, alice.id)]
    assert await rows_mentioning(diary.bot.db, needles)

    asked = await diary.actor("alice").slash("mydata erase")
    assert asked.ephemeral
    assert "cannot be undone" in asked.text
    done = await asked.click(label="Erase, and delete my anonymous posts")
    await diary.fake.wait_until(lambda: "Done." in (done.message.content or ""), 3, "the erasure")

    assert "Deleted 1 anonymous post" in done.message.content
    assert diary.fake.message(post).deleted
    assert not diary.fake.message(other).deleted
    assert await rows_mentioning(diary.bot.db, needles) == []
    bob_export = await (await diary.actor("bob").slash("mydata export")).reply()
    assert json.loads(bob_export.attachments[0].data)["areas"]["diary"]["notes"] == ["bob wrote this"]
    # Moderators' settings are not the member's data and stay.
    assert await diary.bot.safety.list_phrases(diary.guild.id)


async def test_erase_can_leave_posts_in_place_with_the_link_cut(diary: Harness) -> None:
    post = await add_anonymous_post(diary, "alice", "an anonymous share")
    asked = await diary.actor("alice").slash("mydata erase")
    done = await asked.click(label="Erase, and leave my posts unlinked")
    await diary.fake.wait_until(lambda: "Done." in (done.message.content or ""), 3, "the erasure")
    assert "stay where they are" in done.message.content
    assert not diary.fake.message(post).deleted
    assert diary.bot.db is not None
    assert await diary.bot.db.fetchval("SELECT count(*) FROM anon_posts") == 0


async def test_cancel_erases_nothing(diary: Harness) -> None:
    await add_note(diary, "alice", "keep me")
    asked = await diary.actor("alice").slash("mydata erase")
    cancelled = await asked.click(label="Cancel")
    assert "Nothing was erased" in cancelled.message.content
    assert diary.bot.db is not None
    assert await diary.bot.db.fetchval("SELECT count(*) FROM diary") == 1


# ----- leaving a guild, retention ---------------------------------------------------------------


async def test_leaving_a_guild_purges_its_data_after_the_grace_period(diary: Harness) -> None:
    await add_note(diary, "alice", "in this server")
    await (await diary.actor("mod").slash("safety phrases add", phrase="blue door", level="concern")).reply()
    await diary.fake.gateway.dispatch("GUILD_DELETE", {"id": str(diary.guild.id)})
    db = diary.bot.db
    assert db is not None
    for _ in range(100):
        if await db.fetchval("SELECT count(*) FROM guild_departures"):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the bot did not note that it left the guild")
    cog = diary.bot.get_cog("Privacy")
    diary.clock.advance(days=29)
    assert (await cog.run_retention()).guilds_purged == []
    assert await db.fetchval("SELECT count(*) FROM diary") == 1
    diary.clock.advance(days=2)
    assert (await cog.run_retention()).guilds_purged == [diary.guild.id]
    # app_state holds only the bot's own bookkeeping (the hash of the commands synced there).
    leftovers = [hit for hit in await rows_mentioning(db, [str(diary.guild.id)]) if hit[0] != "app_state"]
    assert leftovers == []


async def test_the_daily_job_purges_what_is_old_and_keeps_what_is_new(
    diary: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(privacy_store, "RETENTION_RULES",
                        [privacy_store.RetentionRule("moods", "diary", "created_at")])
    await add_note(diary, "alice", "a year and a bit ago", days_ago=400)
    await add_note(diary, "alice", "last month", days_ago=30)
    job = diary.bot.scheduler.get_job("retention:daily") if diary.bot.scheduler else None
    assert job is not None
    report = await diary.bot.get_cog("Privacy").run_retention()
    assert report.rows_by_kind == {"moods": 1}
    export = await (await diary.actor("alice").slash("mydata export")).reply()
    assert json.loads(export.attachments[0].data)["areas"]["diary"]["notes"] == ["last month"]


# ----- key rotation -------------------------------------------------------------------------------


async def test_rotate_key_round_trips_everything_the_bot_reads(
    diary: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    column = privacy_store.SensitiveColumn("diary", "body", NOTE, "id")
    monkeypatch.setattr(privacy_store, "SENSITIVE_COLUMNS", [*privacy_store.SENSITIVE_COLUMNS, column])
    texts = [f"note {i}: ünïcode ✨" for i in range(5)]
    for text in texts:
        await add_note(diary, "alice", text)
    await diary.stop()
    old_key = diary.keyring.serialize().replace("\n", ",")
    monkeypatch.setenv(ENV_VAR, old_key)

    # With the key in the environment, the first run only prints the new value to set.
    assert await asyncio.to_thread(cli_main, ["--config", str(diary.config_path), "rotate-key"]) == 0
    printed = capsys.readouterr().out
    new_value = next(line.split("=", 1)[1] for line in printed.splitlines() if f"{ENV_VAR}=" in line)
    monkeypatch.setenv(ENV_VAR, new_value)
    assert await asyncio.to_thread(cli_main, ["--config", str(diary.config_path), "rotate-key"]) == 0
    assert "re-encrypted 5 value(s) under key version 2" in capsys.readouterr().out

    rotated = Keyring.parse(new_value)
    check = await Database.open(diary.database_path)
    try:
        stored = [r[0] for r in await check.fetchall("SELECT body FROM diary ORDER BY id")]
    finally:
        await check.close()
    assert all(value.startswith("v2:") for value in stored)

    diary.keyring = rotated
    await diary.start()
    export = await (await diary.actor("alice").slash("mydata export")).reply()
    assert json.loads(export.attachments[0].data)["areas"]["diary"]["notes"] == texts


# ----- with a real area: the journal -----------------------------------------------------------


async def _write_journal(hearth: Harness, member: str, text: str) -> None:
    opened = await hearth.actor(member).slash("journal write")
    saved = await opened.submit({"Your entry": text})
    await saved.reply()
    assert "Saved" in saved.content


async def test_journal_entries_export_rotate_and_erase(hearth: Harness, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    await _write_journal(hearth, "alice", "Alice's entry about a small brave step.")
    await _write_journal(hearth, "bob", "Bob's entry about his week.")

    exported = await (await hearth.actor("alice").slash("mydata export")).reply()
    raw = exported.attachments[0].data.decode()
    assert "small brave step" in raw and "Bob's entry" not in raw

    # Rotate the key with the bot stopped; the journal reads back under the new key.
    await hearth.stop()
    monkeypatch.setenv(ENV_VAR, hearth.keyring.serialize().replace("\n", ","))
    assert await asyncio.to_thread(cli_main, ["--config", str(hearth.config_path), "rotate-key"]) == 0
    new_value = next(line.split("=", 1)[1] for line in capsys.readouterr().out.splitlines()
                     if f"{ENV_VAR}=" in line)
    monkeypatch.setenv(ENV_VAR, new_value)
    assert await asyncio.to_thread(cli_main, ["--config", str(hearth.config_path), "rotate-key"]) == 0
    assert "journal_entries.body: 2 re-encrypted" in capsys.readouterr().out
    hearth.keyring = Keyring.parse(new_value)
    await hearth.start()
    listed = await (await hearth.actor("alice").slash("journal entries")).reply()
    assert "small brave step" in listed.text

    asked = await hearth.actor("alice").slash("mydata erase")
    done = await asked.click(label="Erase, and leave my posts unlinked")
    await hearth.fake.wait_until(lambda: "Done." in (done.message.content or ""), 3, "the erasure")
    db = hearth.bot.db
    assert db is not None
    alice = hearth.members["alice"]
    needles = [str(alice.id), ban_key_for(hearth.bot.keyring, hearth.guild.id, alice.id)]
    assert await rows_mentioning(db, needles) == []
    bob = await (await hearth.actor("bob").slash("journal entries")).reply()
    assert "Bob's entry" in bob.text


# ----- with a real area: a block on anonymous sharing ----------------------------------------------


async def test_a_blocked_member_who_erases_leaves_no_id_or_ban_key_and_stays_blocked(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("setup", sharing_channel=hearth.channels["sharing"])).reply()
    text = "Today I told a friend something I had kept to myself for years, and they listened."
    opened = await hearth.actor("alice").slash("share")
    await (await opened.submit({"What would you like to share?": text})).reply()
    posted = hearth.fake.last_message(hearth.channels["sharing"])
    assert posted is not None
    menu = await hearth.actor("mod", "sharing").message_command("Moderate anonymous post", posted)
    block = await (await menu.click(label="Block author")).submit({"Reason (only moderators see it)": "spam"})
    assert "block #1" in (await block.reply()).text

    asked = await hearth.actor("alice").slash("mydata erase")
    assert "block" in asked.text and "one-way key" in asked.text  # told before choosing
    done = await asked.click(label="Erase, and delete my anonymous posts")
    await hearth.fake.wait_until(lambda: "Done." in (done.message.content or ""), 3, "the erasure")
    assert hearth.fake.message(posted.id).deleted
    db = hearth.bot.db
    assert db is not None
    alice = hearth.members["alice"]
    needles = [str(alice.id), ban_key_for(hearth.bot.keyring, hearth.guild.id, alice.id)]
    assert await rows_mentioning(db, needles) == []

    refused = await hearth.actor("alice").slash("share")
    assert "can't share anonymously" in refused.text
    listing = await (await hearth.actor("mod").slash("sharemod blocks")).reply()
    assert "Block #1" in listing.text and "spam" in listing.text
    # /privacy says so plainly.
    privacy = await (await hearth.actor("alice").slash("privacy")).reply()
    assert "outlives" in privacy.text and "one-way key" in privacy.text
