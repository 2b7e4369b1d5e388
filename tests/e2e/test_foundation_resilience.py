"""The bot survives Discord's bad moments: 429s, 5xx, reconnects, invalid sessions, lost ACKs."""

from __future__ import annotations

import discord
import pytest

from tests.e2e.checkin_helpers import MONDAY_8AM, add_schedule, checkin_posts, settle, tick
from tests.fakediscord.harness import Harness

SEND = "POST /channels/{channel_id}/messages"


async def _send(hearth: Harness, channel_name: str, content: str) -> discord.Message:
    channel = hearth.running_bot.get_channel(hearth.channels[channel_name].id)
    assert isinstance(channel, discord.TextChannel)
    return await channel.send(content)


async def test_a_429_and_a_502_on_a_send_are_survived_and_the_message_arrives_once(hearth: Harness) -> None:
    checkins = hearth.channels["checkins"]
    # The 502 first: discord.py waits 1 + 2 * attempt seconds after a 5xx.
    hearth.fake.faults.server_error(SEND, status=502, channel_id=checkins.id)
    hearth.fake.faults.rate_limit(SEND, retry_after=0.05, channel_id=checkins.id)

    sent = await _send(hearth, "checkins", "good morning, everyone")

    attempts = hearth.fake.journal.select(SEND, channel_id=checkins.id)
    assert [a.status for a in attempts] == [502, 429, 200]
    assert attempts[0].fault and attempts[1].fault and attempts[2].fault is None
    messages = hearth.fake.messages(checkins)
    assert [m.content for m in messages] == ["good morning, everyone"]
    assert messages[0].id == sent.id


async def test_a_scheduled_check_in_survives_a_502_and_a_429_and_is_posted_once(hearth: Harness) -> None:
    checkins = hearth.channels["checkins"]
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)
    await add_schedule(hearth, time="09:00", timezone="UTC")
    hearth.fake.faults.server_error(SEND, status=502, channel_id=checkins.id)
    hearth.fake.faults.rate_limit(SEND, retry_after=0.05, channel_id=checkins.id)

    await tick(hearth, MONDAY_8AM.replace(hour=9))

    statuses = [a.status for a in hearth.fake.journal.select(SEND, channel_id=checkins.id)]
    assert statuses[:2] == [502, 429] and statuses[2:] == [200]
    assert len(checkin_posts(hearth)) == 1


async def test_a_global_429_is_survived(hearth: Harness) -> None:
    hearth.fake.faults.rate_limit(global_=True, retry_after=0.05)
    await _send(hearth, "general", "hello")
    assert [m.content for m in hearth.fake.messages(hearth.channels["general"])] == ["hello"]
    assert [e.status for e in hearth.fake.journal.select(SEND)] == [429, 200]


async def test_a_429_without_via_is_not_retried(hearth: Harness) -> None:
    # Without `Via`, a 429 comes from Cloudflare, not Discord; discord.py gives up at once.
    hearth.fake.faults.rate_limit(SEND, retry_after=0.05, via=False)
    with pytest.raises(discord.HTTPException) as caught:
        await _send(hearth, "general", "hello")
    assert caught.value.status == 429
    assert hearth.fake.messages(hearth.channels["general"]) == []


async def test_reconnect_resumes_and_commands_work_afterwards(hearth: Harness) -> None:
    gateway = hearth.fake.gateway
    before = (await hearth.actor("alice").slash("about")).record.id

    await gateway.reconnect()
    await gateway.wait_for_resume(1)

    assert gateway.identify_count == 1
    (resume,) = gateway.received_ops(6)
    assert resume.path == "/gateway-resume"
    assert resume.data["session_id"] == gateway.current.id
    result = await hearth.actor("alice").slash("about")
    assert result.ephemeral and result.record.id != before


async def test_events_missed_while_reconnecting_are_replayed(hearth: Harness) -> None:
    gateway = hearth.fake.gateway
    await gateway.reconnect()
    # Sent while the bot is between sockets: only a RESUME replay can deliver it.
    channel = hearth.world.add_text_channel(hearth.guild, "late")
    await gateway.dispatch("CHANNEL_CREATE", channel.payload(hearth.world), wait_connected=False)
    await gateway.wait_for_resume(1)
    await hearth.wait_for_bot(lambda bot: bot.get_channel(channel.id), what="the replayed CHANNEL_CREATE")


async def test_invalid_session_makes_the_bot_identify_again(hearth: Harness) -> None:
    gateway = hearth.fake.gateway
    await gateway.invalidate_session(resumable=False)
    await gateway.wait_for_identify(2)
    assert gateway.ready_count == 2
    await hearth.wait_for_bot(
        lambda bot: bot.is_ready() and bot.get_guild(hearth.guild.id), what="READY again"
    )
    result = await hearth.actor("bob").slash("about")
    assert result.ephemeral


async def test_resumable_invalid_session_resumes(hearth: Harness) -> None:
    gateway = hearth.fake.gateway
    await gateway.invalidate_session(resumable=True)
    await gateway.wait_for_resume(1)
    assert gateway.identify_count == 1
    assert (await hearth.actor("bob").slash("about")).ephemeral


async def test_close_code_4000_resumes(hearth: Harness) -> None:
    gateway = hearth.fake.gateway
    await gateway.close(4000)
    await gateway.wait_for_resume(1)
    assert (await hearth.actor("carol").slash("about")).ephemeral


async def test_a_fatal_close_code_stops_the_bot_and_the_harness_reports_it(hearth: Harness) -> None:
    await hearth.fake.gateway.close(4004, "Authentication failed.")
    with pytest.raises(discord.ConnectionClosed) as caught:
        await hearth.wait_for_bot(lambda bot: False, timeout=5, what="the bot to die")
    assert caught.value.code == 4004
    with pytest.raises(discord.ConnectionClosed):
        await hearth.stop()


@pytest.mark.hearth_options(start=False, heartbeat_timeout=0.6)
async def test_lost_heartbeat_acks_lead_to_a_resume(hearth: Harness) -> None:
    gateway = hearth.fake.gateway
    gateway.heartbeat_interval_ms = 100
    await hearth.start()
    gateway.ack_heartbeats = False
    await gateway.wait_for_resume(1, timeout=5)
    gateway.ack_heartbeats = True
    assert gateway.identify_count == 1
    assert (await hearth.actor("alice").slash("about")).ephemeral


async def test_a_hard_kill_and_restart_keeps_committed_settings(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("setup", vetting=True)).reply()
    await hearth.restart(hard=True)
    shown = await (await hearth.actor("mod").slash("setup")).reply()
    fields = {f["name"]: f["value"] for f in shown.embed["fields"]}
    assert fields["Vetting of shares"] == "on"
