"""The fake Discord itself, driven through the real discord.py client by a test-only cog.

These tests pin down the behaviour other areas' tests rely on: options with resolved data,
attachments, buttons, selects, modals, context menus, deferrals and follow-ups, DMs,
threads, files, Discord's limits, and what counts as a problem at the end of a test.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import Overwrite, Perm, Upload
from tests.fakediscord.harness import Harness


class ProbeModal(discord.ui.Modal, title="Tell us more"):
    feeling = discord.ui.TextInput(label="Feeling", custom_id="probe:feeling", max_length=20)
    detail = discord.ui.TextInput(
        label="Detail", custom_id="probe:detail", style=discord.TextStyle.paragraph, required=False
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"feeling={self.feeling.value} detail={self.detail.value or '-'}", ephemeral=True
        )


class ProbeView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)

    @discord.ui.button(label="Count", custom_id="probe:count")
    async def count(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content=f"counted by {interaction.user.name}")

    @discord.ui.button(label="Open", custom_id="probe:open")
    async def open(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(ProbeModal())

    @discord.ui.button(label="Later", custom_id="probe:later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="done later", view=None)

    @discord.ui.button(label="Off", custom_id="probe:off", disabled=True)
    async def off(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        raise AssertionError("a disabled button was clicked")

    @discord.ui.select(
        custom_id="probe:pick", options=[discord.SelectOption(label=x, value=x) for x in "abc"]
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        await interaction.response.send_message(f"picked {','.join(select.values)}", ephemeral=True)


class Probe(commands.Cog):
    """Commands that exercise what the fake must support."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.seen: dict[str, Any] = {}

    @app_commands.command(name="probe", description="Echo typed options")
    async def probe(
        self,
        interaction: discord.Interaction,
        text: str,
        number: app_commands.Range[int, 1, 10] = 1,
        member: discord.Member | None = None,
        role: discord.Role | None = None,
        channel: discord.TextChannel | None = None,
        file: discord.Attachment | None = None,
        flag: bool = False,
    ) -> None:
        self.seen.update(
            text=text,
            number=number,
            member=member,
            role=role,
            channel=channel,
            flag=flag,
            file=await file.read() if file else None,
            perms=interaction.permissions.manage_guild,
        )
        await interaction.response.send_message("probed", ephemeral=True)

    group = app_commands.Group(name="probing", description="A group")
    deep = app_commands.Group(name="deep", description="A nested group", parent=group)

    @deep.command(name="dive", description="A nested subcommand")
    async def dive(self, interaction: discord.Interaction, depth: int) -> None:
        await interaction.response.send_message(f"depth {depth}")

    @app_commands.command(name="panel", description="Post a panel with buttons")
    async def panel(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("panel", view=ProbeView())

    @app_commands.command(name="slow", description="Defer, then follow up")
    async def slow(self, interaction: discord.Interaction, public: bool = False) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        await interaction.followup.send("first", ephemeral=True)
        await interaction.followup.send("second", ephemeral=True, file=discord.File(_bytes(b"xyz"), "x.txt"))

    @app_commands.command(name="dm", description="DM someone")
    async def dm(self, interaction: discord.Interaction, member: discord.Member) -> None:
        try:
            await member.send("a private hello")
        except discord.Forbidden as exc:
            await interaction.response.send_message(f"could not: {exc.code}", ephemeral=True)
        else:
            await interaction.response.send_message("sent", ephemeral=True)

    @app_commands.command(name="thread", description="Post and open a thread")
    async def thread(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        assert isinstance(interaction.channel, discord.TextChannel)
        message = await interaction.channel.send("starter", file=discord.File(_bytes(b"data"), "d.bin"))
        thread = await message.create_thread(name="talk")
        await thread.send("inside")
        await interaction.followup.send("ok", ephemeral=True)

    @app_commands.command(name="toolong", description="Send too much text")
    async def toolong(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("x" * 2001)


def _bytes(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


@app_commands.context_menu(name="Quote")
async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
    await interaction.response.send_message(f"quoted: {message.content}", ephemeral=True)


@app_commands.context_menu(name="Who")
async def who(interaction: discord.Interaction, member: discord.Member) -> None:
    await interaction.response.send_message(f"that is {member.name}", ephemeral=True)


# The probe cog is added before the bot's first start (see `probed`), which saves a restart.
pytestmark = pytest.mark.hearth_options(start=False)


@pytest.fixture
async def probed(hearth: Harness) -> Probe:
    """Restart the bot with the probe cog and context menus loaded."""
    cogs: list[Probe] = []

    async def add_probe(bot: commands.Bot) -> None:
        cog = Probe(bot)
        cogs.append(cog)
        await bot.add_cog(cog)
        bot.tree.add_command(quote)
        bot.tree.add_command(who)

    hearth.on_start(add_probe)
    if hearth.bot is None:
        await hearth.start()
    else:
        await hearth.restart()
    return cogs[-1]


async def test_options_arrive_typed_with_resolved_data(hearth: Harness, probed: Probe) -> None:
    result = await hearth.actor("mod").slash(
        "probe",
        text="hi",
        number=3,
        member=hearth.members["bob"],
        role=hearth.roles["Moderator"],
        channel=hearth.channels["checkins"],
        file=Upload("notes.txt", b"hello file"),
        flag=True,
    )
    assert result.content == "probed" and result.ephemeral
    seen = probed.seen
    assert seen["text"] == "hi" and seen["number"] == 3 and seen["flag"] is True
    assert seen["member"].id == hearth.members["bob"].id
    assert seen["role"].id == hearth.roles["Moderator"].id
    assert seen["channel"].id == hearth.channels["checkins"].id
    assert seen["file"] == b"hello file"
    assert seen["perms"] is True


async def test_member_permissions_follow_roles(hearth: Harness, probed: Probe) -> None:
    await hearth.actor("mod2").slash("probe", text="x")
    assert probed.seen["perms"] is False


async def test_actor_refuses_what_discord_would_refuse(hearth: Harness, probed: Probe) -> None:
    alice = hearth.actor("alice")
    with pytest.raises(AssertionError, match="no option"):
        await alice.slash("probe", text="x", nonsense=1)
    with pytest.raises(AssertionError, match="required"):
        await alice.slash("probe")
    with pytest.raises(AssertionError, match="outside"):
        await alice.slash("probe", text="x", number=11)
    with pytest.raises(AssertionError, match="no command"):
        await alice.slash("nonexistent")


async def test_nested_subcommands(hearth: Harness, probed: Probe) -> None:
    result = await hearth.actor("alice").slash("probing deep dive", depth=4)
    assert result.content == "depth 4"
    assert not result.ephemeral
    assert hearth.fake.last_message(hearth.channels["general"]).content == "depth 4"


async def test_buttons_update_open_modals_and_defer(hearth: Harness, probed: Probe) -> None:
    bob = hearth.actor("bob")
    panel = await bob.slash("panel")
    assert [b["label"] for b in panel.message.buttons] == ["Count", "Open", "Later", "Off"]

    alice = hearth.actor("alice")
    counted = await alice.click(panel.message, label="Count")
    assert counted.type == 7
    assert panel.message.content == "counted by alice"
    assert hearth.fake.edits_of(panel.message)[0]["content"] == "panel"

    opened = await alice.click(panel.message, custom_id="probe:open")
    assert opened.modal.title == "Tell us more"
    assert [f.label for f in opened.modal.fields] == ["Feeling", "Detail"]
    with pytest.raises(AssertionError, match="required"):
        await opened.submit(Detail="only the optional one")
    with pytest.raises(AssertionError, match="characters"):
        await opened.submit(Feeling="x" * 21)
    submitted = await opened.submit({"Feeling": "calm"})
    assert submitted.content == "feeling=calm detail=-" and submitted.ephemeral

    picked = await alice.select(panel.message, ["b", "c"][:1])
    assert picked.content == "picked b"

    with pytest.raises(AssertionError, match="disabled"):
        await alice.click(panel.message, label="Off")

    later = await alice.click(panel.message, label="Later")
    assert later.type == 6
    updated = await later.reply()
    assert updated.content == "done later" and updated.buttons == []


async def test_deferral_then_followups(hearth: Harness, probed: Probe) -> None:
    private = await hearth.actor("alice").slash("slow")
    assert private.type == 5 and private.deferred
    first = await private.reply()
    assert first.content == "first" and first.ephemeral
    (second,) = await private.wait_followups(1)
    assert second.ephemeral and second.attachments[0].data == b"xyz"


async def test_first_followup_after_a_public_deferral_is_public(hearth: Harness, probed: Probe) -> None:
    public = await hearth.actor("alice").slash("slow", public=True)
    first = await public.reply()
    # As on Discord, the first follow-up replaces the public "thinking" message, flags or not.
    assert first.content == "first" and not first.ephemeral
    assert hearth.fake.last_message(hearth.channels["general"]).content == "first"


async def test_context_menus(hearth: Harness, probed: Probe) -> None:
    said = hearth.actor("bob").say("the words")
    quoted = await hearth.actor("alice").message_command("Quote", said)
    assert quoted.content == "quoted: the words"
    named = await hearth.actor("alice").user_command("Who", hearth.members["carol"])
    assert named.content == "that is carol"


async def test_dms_open_and_closed(hearth: Harness, probed: Probe) -> None:
    sent = await hearth.actor("mod").slash("dm", member=hearth.members["bob"])
    assert sent.content == "sent"
    assert [m.content for m in hearth.fake.dm_messages(hearth.members["bob"])] == ["a private hello"]

    hearth.members["carol"].user.dms_open = False
    refused = await hearth.actor("mod").slash("dm", member=hearth.members["carol"])
    assert refused.content == "could not: 50007"
    assert hearth.fake.dm_messages(hearth.members["carol"]) == []


async def test_threads_and_files(hearth: Harness, probed: Probe) -> None:
    result = await hearth.actor("alice").slash("thread")
    assert (await result.reply()).content == "ok"
    starter = hearth.fake.last_message(hearth.channels["general"])
    assert starter.content == "starter" and starter.attachments[0].data == b"data"
    (thread,) = hearth.fake.world.threads_of(hearth.channels["general"])
    assert thread.name == "talk" and thread.id == starter.id
    assert [m.content for m in hearth.fake.messages(thread)] == ["inside"]


async def test_missing_permission_is_a_403(hearth: Harness, probed: Probe) -> None:
    general = hearth.channels["general"]
    general.overwrites.append(Overwrite(hearth.roles["bot"].id, 0, deny=Perm.SEND_MESSAGES))
    bot = hearth.running_bot
    with pytest.raises(discord.Forbidden) as caught:
        await bot.get_channel(general.id).send("hello")
    assert caught.value.code == 50013


@pytest.mark.expect_errors
@pytest.mark.allow_rejected_payloads
async def test_overlong_content_is_refused_like_discord(hearth: Harness, probed: Probe) -> None:
    result = await hearth.actor("alice").slash("toolong")
    # The refused answer is not the end: the bot's error handler answered instead.
    assert result.ephemeral and "Reference" in result.content
    (rejected,) = hearth.fake.rejections
    assert rejected.status == 400 and "content" in rejected.response["errors"]["data"]
    problems = hearth.problems()
    assert any(p.startswith("logged error") for p in problems)
    assert any(p.startswith("Discord would refuse") for p in problems)


async def test_problems_list_unknown_routes_and_refusals(hearth: Harness, probed: Probe) -> None:
    bot = hearth.running_bot
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/applications/{a}/emojis", a=1))
    problems = hearth.problems()
    assert any("does not know" in p for p in problems)
    hearth.fake.unknown_routes.clear()


SEND = "POST /channels/{channel_id}/messages"


@pytest.mark.hearth_options(start=False, rate_limits=True)
async def test_rate_limit_emulation_paces_the_bot_without_violations(hearth: Harness, probed: Probe) -> None:
    fake = hearth.fake
    fake.ratelimits.set_bucket(SEND, limit=2, per=0.3)
    general = hearth.channels["general"]
    channel = hearth.running_bot.get_channel(general.id)
    assert isinstance(channel, discord.TextChannel)
    started = time.monotonic()
    await asyncio.gather(*(channel.send(f"message {i}") for i in range(6)))
    elapsed = time.monotonic() - started

    assert sorted(m.content for m in fake.messages(general)) == [f"message {i}" for i in range(6)]
    assert fake.ratelimits.violation_count == 0
    headers = fake.journal.select(SEND)[0].response_headers
    assert headers["X-RateLimit-Limit"] == "2"
    assert headers["X-RateLimit-Remaining"] == "1"
    assert {"X-RateLimit-Reset", "X-RateLimit-Reset-After", "X-RateLimit-Bucket"} <= set(headers)
    # Three windows of two messages each: the bot waited for two resets.
    assert elapsed >= 0.55


@pytest.mark.hearth_options(start=False, rate_limits=True)
async def test_global_limit_violations_are_counted_and_retried(hearth: Harness, probed: Probe) -> None:
    fake = hearth.fake
    fake.ratelimits.enable(global_limit=3, global_per=0.5)
    bot = hearth.running_bot
    channels = [
        bot.get_channel(hearth.channels[name].id)
        for name in ("general", "checkins", "sharing", "review", "alerts")
    ]
    await asyncio.gather(*(c.send("hello") for c in channels))  # type: ignore[union-attr]

    # discord.py does not pace the global limit itself: two of five went over and were retried.
    assert fake.ratelimits.violations_by_scope() == {"global": 2}
    limited = [e for e in fake.journal.select(SEND) if e.status == 429]
    assert len(limited) == 2 and all(e.response["global"] for e in limited)
    for name in ("general", "checkins", "sharing", "review", "alerts"):
        assert [m.content for m in fake.messages(hearth.channels[name])] == ["hello"]


async def test_a_delayed_request_takes_effect_when_it_is_answered(hearth: Harness, probed: Probe) -> None:
    fake = hearth.fake
    channel = hearth.running_bot.get_channel(hearth.channels["general"].id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("before")
    edit_route = "PATCH /channels/{channel_id}/messages/{message_id}"
    fault = fake.faults.delay(edit_route, seconds=0.3, message_id=sent.id)
    started = time.monotonic()
    editing = asyncio.ensure_future(sent.edit(content="after"))
    await fake.wait_until(lambda: fault.hits == 1, timeout=2, what="the edit to arrive")
    assert fake.message(sent.id).content == "before"
    await editing
    assert time.monotonic() - started >= 0.3
    assert fake.message(sent.id).content == "after"
    (entry,) = fake.journal.select(edit_route, message_id=sent.id)
    assert entry.status == 200 and entry.fault == "delayed 0.3 s"


async def test_reconfigure_applies_on_the_next_start(hearth: Harness, probed: Probe) -> None:
    assert hearth.running_bot.config.retention.audit_days == 365
    hearth.reconfigure(retention={"audit_days": 30})
    await hearth.restart()
    assert hearth.running_bot.config.retention.audit_days == 30
    # The rest of the config (the fake's URLs, the database) is unchanged.
    assert (await hearth.actor("alice").slash("about")).ephemeral


async def test_a_deleted_channel_answers_404(hearth: Harness, probed: Probe) -> None:
    checkins = hearth.channels["checkins"]
    hearth.world.post_as(hearth.members["bob"].user, checkins, "before")
    await hearth.delete_channel("checkins")
    with pytest.raises(discord.NotFound) as caught:
        await hearth.running_bot.get_partial_messageable(checkins.id).send("into the void")
    assert caught.value.code == 10003
    assert [m.content for m in hearth.fake.messages(checkins)] == ["before"]


async def test_removing_the_bot_from_the_server(hearth: Harness, probed: Probe) -> None:
    general = hearth.channels["general"]
    await hearth.remove_bot()
    with pytest.raises(discord.Forbidden) as caught:
        await hearth.running_bot.get_partial_messageable(general.id).send("still here?")
    assert caught.value.code == 50001


async def test_a_second_server_joined_mid_test(hearth: Harness, probed: Probe) -> None:
    world = hearth.world
    other = world.add_guild("Another group")
    lobby = world.add_text_channel(other, "lobby")
    dana = world.add_member(other, "dana")
    await hearth.fake.join_guild(other)
    await hearth.wait_for_bot(lambda bot: bot.get_guild(other.id), what="the new guild")
    # Commands are synced to the dev guild only, so the other server has none.
    with pytest.raises(AssertionError, match="no command"):
        await hearth.fake.actor(dana, lobby).slash("about")
    message = await hearth.running_bot.get_partial_messageable(lobby.id).send("welcome")
    assert hearth.fake.last_message(lobby).id == message.id
