"""A guild's data is purged 30 days after Hearth leaves it, even if it was removed while offline;
and erasures are applied again to a database restored from an older backup."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from typing import Any

from bot.storage.db import Database, backup_file
from tests.e2e.checkin_helpers import MONDAY_8AM
from tests.e2e.privacy_helpers import (
    Footprint,
    anonymous_note,
    approved_share,
    group_checkin,
    needles,
    rows_mentioning,
    set_up_guild,
)
from tests.fakediscord.harness import Harness


async def _reconciled(hearth: Harness) -> Database:
    """Wait for the check Hearth makes after connecting of which guilds it is still in."""
    cog = await hearth.wait_for_bot(lambda bot: bot.get_cog("Privacy"), what="the privacy cog")
    task = await hearth.wait_for_bot(lambda _: cog.reconcile_task, what="the guild check")
    await task
    db = hearth.running_bot.db
    assert db is not None
    return db


async def _departures(db: Database, guild_id: int) -> int:
    return int(await db.fetchval("SELECT count(*) FROM guild_departures WHERE guild_id = ?", (guild_id,)))


async def _noted_departure(db: Database, guild_id: int) -> None:
    """Wait for the GUILD_DELETE listener to note the departure."""
    for _ in range(300):
        if await _departures(db, guild_id):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("Hearth did not note that it left the guild")


async def _other_guild_with_data(hearth: Harness) -> int:
    """Add a second server Hearth is in, with a setting and a journal entry there."""
    other = hearth.world.add_guild("Other group")
    member = hearth.world.add_member(other, "dana")
    await hearth.fake.join_guild(other)
    bot = await hearth.wait_for_bot(lambda b: b if b.get_guild(other.id) else None, what="the new guild")
    await bot.guild_settings.change(other.id, bot.now(), resources_region="UK")
    journal = bot.get_cog("Journal").service  # type: ignore[union-attr]
    await journal.write(guild_id=other.id, user_id=member.id, text="an entry in the other server",
                        now=bot.now())
    return other.id


async def _rows_of(db: Database, guild_id: int) -> list[tuple[str, str]]:
    # app_state holds only the bot's own bookkeeping (the hash of the commands synced there).
    return [hit for hit in await rows_mentioning(db, [str(guild_id)]) if hit[0] != "app_state"]


async def test_a_guild_that_removed_hearth_while_it_was_offline_is_purged_after_the_grace_period(
    hearth: Harness,
) -> None:
    await (await (await hearth.actor("alice").slash("journal write")).submit({"Your entry": "here"})).reply()
    other = await _other_guild_with_data(hearth)
    await hearth.stop()
    await hearth.fake.remove_bot_from_guild(hearth.world.guilds[other])  # no GUILD_DELETE: Hearth is offline
    await hearth.start()
    db = await _reconciled(hearth)
    assert await _departures(db, other) == 1
    assert await _departures(db, hearth.guild.id) == 0  # the server Hearth is still in

    cog = hearth.running_bot.get_cog("Privacy")
    hearth.clock.advance(days=29)
    assert (await cog.run_retention()).guilds_purged == []  # type: ignore[union-attr]
    assert await _rows_of(db, other)
    # Another restart within the grace period keeps the first departure time.
    await hearth.restart()
    db = await _reconciled(hearth)
    hearth.clock.advance(days=2)
    cog = hearth.running_bot.get_cog("Privacy")
    assert (await cog.run_retention()).guilds_purged == [other]  # type: ignore[union-attr]
    assert await _rows_of(db, other) == []
    assert await _rows_of(db, hearth.guild.id)


async def test_a_guild_hearth_is_back_in_at_start_up_is_not_purged(hearth: Harness) -> None:
    other = await _other_guild_with_data(hearth)
    await hearth.fake.remove_bot_from_guild(hearth.world.guilds[other])
    db = hearth.running_bot.db
    assert db is not None
    await _noted_departure(db, other)
    await hearth.stop()
    # Added back while Hearth was offline: no GUILD_CREATE for a join, only the guild at connection.
    guild = hearth.world.guilds[other]
    bot_role = next(r for r in guild.roles.values() if r.managed)
    from tests.fakediscord.world import Member

    guild.members[hearth.world.bot_user.id] = Member(user=hearth.world.bot_user, guild=guild,
                                                     role_ids=[bot_role.id])
    guild.unavailable = False
    await hearth.start()
    db = await _reconciled(hearth)
    assert await _departures(db, other) == 0
    hearth.clock.advance(days=40)
    assert (await hearth.running_bot.get_cog("Privacy").run_retention()).guilds_purged == []  # type: ignore[union-attr]
    assert await _rows_of(db, other)


async def test_leaving_a_guild_live_purges_its_data_after_the_grace_period(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("safety phrases add", phrase="blue door", level="concern")).reply()
    await (await (await hearth.actor("alice").slash("journal write")).submit({"Your entry": "here"})).reply()
    await hearth.remove_bot()
    db = hearth.running_bot.db
    assert db is not None
    await _noted_departure(db, hearth.guild.id)
    cog = hearth.running_bot.get_cog("Privacy")
    hearth.clock.advance(days=29)
    assert (await cog.run_retention()).guilds_purged == []  # type: ignore[union-attr]
    assert await db.fetchval("SELECT count(*) FROM journal_entries") == 1
    hearth.clock.advance(days=2)
    assert (await cog.run_retention()).guilds_purged == [hearth.guild.id]  # type: ignore[union-attr]
    assert await _rows_of(db, hearth.guild.id) == []


# ----- erasure and an older backup -------------------------------------------------------------


async def _restore(hearth: Harness, backup: Any) -> None:
    await hearth.stop()
    for suffix in ("-wal", "-shm"):
        hearth.database_path.with_name(hearth.database_path.name + suffix).unlink(missing_ok=True)
    shutil.copy(backup, hearth.database_path)
    await hearth.start()


async def test_erasures_are_applied_again_after_an_older_backup_is_restored(hearth: Harness) -> None:
    """Carol only ever shared, Bob only wrote an anonymous check-in note (no row holds their ids),
    and the moderator only approved a share."""
    hearth.clock.set(MONDAY_8AM)
    await set_up_guild(hearth)
    await approved_share(hearth, "carol", "Carol's share, long enough to be reviewed.")
    post = await group_checkin(hearth, MONDAY_8AM + timedelta(hours=1))
    await anonymous_note(hearth, "bob", post, "bob's only words here", Footprint("bob"))
    await (await (await hearth.actor("alice").slash("journal write")).submit({"Your entry": "mine"})).reply()
    db = hearth.running_bot.db
    assert db is not None
    carol, bob, mod = needles(hearth, "carol"), needles(hearth, "bob"), needles(hearth, "mod")
    assert await rows_mentioning(db, [carol[0], bob[0]]) == []  # no row holds Carol's or Bob's id
    assert await rows_mentioning(db, carol[1:])  # Carol's ban key is in the sharing tables
    assert ("sharing_audit", "moderator_id") in await rows_mentioning(db, mod[:1])
    assert await db.fetchval("SELECT count(*) FROM checkin_anonymous_notes") == 1  # Bob's, key sealed

    await hearth.stop()
    backup = hearth.database_path.with_name("before-erasing.db")
    backup_file(hearth.database_path, backup)
    await hearth.start()
    for name in ("carol", "bob", "mod"):
        asked = await hearth.actor(name).slash("mydata erase")
        done = await asked.click(label="Erase, and leave my posts unlinked")
        await hearth.fake.wait_until(lambda d=done: "Done." in (d.message.content or ""), 3, "the erasure")

    await _restore(hearth, backup)
    db = hearth.running_bot.db
    assert db is not None
    everyone = carol + bob + mod
    assert await rows_mentioning(db, everyone, hearth.running_bot.keyring)  # an old copy: nothing erased
    assert await db.fetchval("SELECT count(*) FROM checkin_anonymous_notes") == 1
    report = await hearth.running_bot.get_cog("Privacy").run_retention()  # type: ignore[union-attr]
    assert report.erasures_reapplied == 3
    assert await rows_mentioning(db, everyone, hearth.running_bot.keyring) == []
    assert await db.fetchval("SELECT count(*) FROM checkin_anonymous_notes") == 0
    assert await db.fetchval("SELECT count(*) FROM journal_entries") == 1  # Alice's stays
    assert (await hearth.running_bot.get_cog("Privacy").run_retention()).erasures_reapplied == 0  # type: ignore[union-attr]
