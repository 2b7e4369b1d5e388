"""The foundation end to end: start-up and sync, /about, /setup and who may use it, restarts."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import discord
import pytest
from discord import app_commands

from tests.fakediscord.harness import Harness

SYNC_ROUTE = "PUT /applications/{application_id}/guilds/{guild_id}/commands"
EVERY_COMMAND = {
    # slash commands
    "about", "checkin", "exercise", "faq", "faqadmin", "journal", "ladder", "learn", "mood", "mydata",
    "myshares", "pause", "privacy", "prompts", "reminders", "resources", "safety", "schedule", "setup",
    "share", "sharemod",
    # message context menus
    "Moderate anonymous post", "Reply anonymously", "Report to moderators",
}


def _assert_closed_cleanly(database: Path) -> None:
    # The WAL was checkpointed and removed: nothing is left half-written.
    assert not Path(f"{database}-wal").exists()
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()


def _field(embed: dict, name: str) -> str:
    for field in embed.get("fields") or []:
        if field["name"] == name:
            return field["value"]
    raise AssertionError(f"no field {name!r} in embed {embed.get('title')!r}")


async def test_start_syncs_the_commands_to_the_dev_guild(hearth: Harness) -> None:
    syncs = hearth.fake.journal.select(SYNC_ROUTE)
    assert len(syncs) == 1
    assert syncs[0].params["guild_id"] == str(hearth.guild.id)
    names = {c["name"] for c in syncs[0].json}
    assert names == EVERY_COMMAND
    assert set(hearth.fake.command_names(hearth.guild)) == EVERY_COMMAND
    # Nothing is synced globally while a dev guild is configured.
    assert hearth.fake.journal.select("PUT /applications/{application_id}/commands") == []
    setup = next(c for c in syncs[0].json if c["name"] == "setup")
    # Moderator commands are hidden from members by default (Manage Server = 1 << 5).
    assert int(setup["default_member_permissions"]) == 1 << 5


async def test_restart_on_the_same_database_does_not_sync_again(hearth: Harness) -> None:
    await hearth.restart()
    assert len(hearth.fake.journal.select(SYNC_ROUTE)) == 1
    # The commands still work after the restart without a new sync.
    result = await hearth.actor("bob").slash("about")
    assert result.ephemeral


async def test_about_answers_ephemerally(hearth: Harness) -> None:
    result = await hearth.actor("alice").slash("about")
    assert result.type == 4
    assert result.ephemeral
    assert result.embed["title"] == "Hearth"
    assert "/resources" in result.text and "/privacy" in result.text
    assert _field(result.embed, "Version")
    assert re.fullmatch(r"(\d+d )?\d+h \d+m", _field(result.embed, "Uptime"))
    # Nothing was posted where others could see it.
    assert hearth.fake.messages(hearth.channels["general"]) == []


async def test_setup_by_a_moderator_persists_across_a_restart(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    result = await mod.slash(
        "setup",
        moderator_role=hearth.roles["Moderator"],
        checkin_channel=hearth.channels["checkins"],
        review_channel=hearth.channels["review"],
        vetting=True,
    )
    reply = await result.reply()
    assert reply.ephemeral
    assert _field(reply.embed, "Check-in channel") == hearth.channels["checkins"].mention
    assert _field(reply.embed, "Moderator role") == hearth.roles["Moderator"].mention
    assert _field(reply.embed, "Vetting of shares") == "on"

    await hearth.stop()
    await hearth.start()

    shown = await (await hearth.actor("mod").slash("setup")).reply()
    assert _field(shown.embed, "Check-in channel") == hearth.channels["checkins"].mention
    assert _field(shown.embed, "Review channel") == hearth.channels["review"].mention
    assert _field(shown.embed, "Moderator role") == hearth.roles["Moderator"].mention
    assert _field(shown.embed, "Vetting of shares") == "on"
    assert _field(shown.embed, "Sharing channel") == "not set"


async def test_setup_by_a_plain_member_is_refused_kindly(hearth: Harness) -> None:
    result = await hearth.actor("alice").slash("setup", vetting=True)
    assert result.ephemeral
    assert "moderator" in result.content.lower()
    assert "Reference" not in result.content
    # The refusal changed nothing.
    shown = await (await hearth.actor("mod").slash("setup")).reply()
    assert _field(shown.embed, "Vetting of shares") == "off"


async def test_moderator_role_without_manage_server_is_allowed_once_configured(hearth: Harness) -> None:
    refused = await hearth.actor("mod2").slash("setup")
    assert refused.type == 4 and "moderator" in refused.content.lower()

    await (await hearth.actor("mod").slash("setup", moderator_role=hearth.roles["Moderator"])).reply()

    allowed = await hearth.actor("mod2").slash("setup", alerts_channel=hearth.channels["alerts"])
    reply = await allowed.reply()
    assert reply.ephemeral
    assert _field(reply.embed, "Alerts channel") == hearth.channels["alerts"].mention


async def test_setup_clear_unsets_a_channel(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    await (await mod.slash("setup", sharing_channel=hearth.channels["sharing"])).reply()
    cleared = await (await mod.slash("setup", clear="sharing_channel")).reply()
    assert _field(cleared.embed, "Sharing channel") == "not set"


async def test_setup_region_autocomplete_offers_known_regions(hearth: Harness) -> None:
    choices = await hearth.actor("mod").autocomplete("setup", "region", "")
    values = [c["value"] for c in choices]
    assert "INTL" in values
    assert len(values) <= 25
    narrowed = await hearth.actor("mod").autocomplete("setup", "region", "int")
    assert [c["value"] for c in narrowed] == ["INTL"]


async def test_a_changed_command_set_is_synced_on_the_next_start(hearth: Harness) -> None:
    @app_commands.command(name="extra", description="A command added by a new release")
    async def extra(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("extra", ephemeral=True)

    hearth.on_start(lambda bot: bot.tree.add_command(extra))
    await hearth.restart()
    syncs = hearth.fake.journal.select(SYNC_ROUTE)
    assert len(syncs) == 2
    assert "extra" in {c["name"] for c in syncs[1].json}
    assert (await hearth.actor("alice").slash("extra")).content == "extra"
    # And the next restart with the same set does not sync again.
    await hearth.restart()
    assert len(hearth.fake.journal.select(SYNC_ROUTE)) == 2


async def test_a_clean_stop_closes_the_database_and_the_scheduler(hearth: Harness) -> None:
    bot = hearth.running_bot
    await (await hearth.actor("mod").slash("setup", vetting=True)).reply()
    await hearth.stop()
    assert bot.is_closed()
    assert bot.scheduler is not None and not bot.scheduler.running
    with pytest.raises(RuntimeError, match="closed"):
        await bot.db.fetchval("SELECT 1")  # type: ignore[union-attr]
    _assert_closed_cleanly(hearth.database_path)
    # The gateway saw a normal close, not a dropped socket.
    assert not hearth.fake.gateway.connected


async def test_a_stop_lets_a_running_job_finish_its_write_and_starts_no_new_one(hearth: Harness) -> None:
    bot = hearth.running_bot
    assert bot.db is not None
    db = bot.db
    await db.execute("CREATE TABLE job_marks (n INTEGER)")
    started = asyncio.Event()

    async def slow_job() -> None:
        started.set()
        await asyncio.sleep(0.3)
        await db.execute("INSERT INTO job_marks VALUES (1)")

    running = asyncio.create_task(bot.run_job("test:slow", slow_job))
    await started.wait()
    await hearth.stop()
    await running
    late = asyncio.Event()
    await bot.run_job("test:late", lambda: asyncio.sleep(0, late.set()))  # type: ignore[func-returns-value]
    assert not late.is_set()
    connection = sqlite3.connect(hearth.database_path)
    try:
        assert connection.execute("SELECT count(*) FROM job_marks").fetchone()[0] == 1
    finally:
        connection.close()


async def test_a_stop_lets_a_member_s_command_finish_its_write_and_answer(hearth: Harness) -> None:
    @app_commands.command(name="slowsave", description="Save something after a pause")
    async def slowsave(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await asyncio.sleep(0.3)
        db = interaction.client.db  # type: ignore[attr-defined]
        await db.execute("INSERT INTO app_state (key, value) VALUES ('slowsave', 'kept')")
        await interaction.followup.send("Saved.", ephemeral=True)

    hearth.on_start(lambda bot: bot.tree.add_command(slowsave))
    await hearth.restart()
    result = await hearth.actor("alice").slash("slowsave")  # answered "thinking…" at once
    await hearth.stop()  # SIGTERM while the command is between its defer and its write
    assert (await result.reply()).content == "Saved."
    connection = sqlite3.connect(hearth.database_path)
    try:
        row = connection.execute("SELECT value FROM app_state WHERE key = 'slowsave'").fetchone()
        assert row == ("kept",)
    finally:
        connection.close()
    _assert_closed_cleanly(hearth.database_path)


@pytest.mark.hearth_options(dev_guild=False)
async def test_without_a_dev_guild_commands_sync_globally_and_work_in_dms(hearth: Harness) -> None:
    (sync,) = hearth.fake.journal.select("PUT /applications/{application_id}/commands")
    assert {"about", "setup"} <= {c["name"] for c in sync.json}
    assert hearth.fake.journal.select(SYNC_ROUTE) == []

    result = await hearth.dm_actor("alice").slash("about")
    assert result.ephemeral and result.embed["title"] == "Hearth"
    assert result.record.guild_id is None
    # /setup is for servers only: Discord does not offer it in DMs.
    with pytest.raises(AssertionError, match="does not offer"):
        await hearth.dm_actor("alice").slash("setup")


@pytest.mark.hearth_config(retention={"audit_days": 30})
class TestConfigMarkersCombine:
    @pytest.mark.hearth_config(retention={"moods_days": 7}, sharing={"min_length": 5})
    async def test_class_and_function_markers_merge(self, hearth: Harness) -> None:
        config = hearth.running_bot.config
        assert config.retention.audit_days == 30
        assert config.retention.moods_days == 7
        assert config.sharing.min_length == 5
