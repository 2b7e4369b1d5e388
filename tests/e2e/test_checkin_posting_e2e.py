"""Posting check-ins through Discord's trouble: lost answers, busy channels, refusals, unreadable history.

Each test drives the real bot against the fake Discord with injected faults, and checks what
members see in the channel (one post, never two) and what moderators are told.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.checkin_helpers import MONDAY_8AM, add_schedule, checkin_posts, cog, settle, tick
from tests.fakediscord import Overwrite, Perm
from tests.fakediscord.harness import Harness

NINE = datetime(2026, 6, 1, 9, tzinfo=UTC)
POST = "POST /channels/{channel_id}/messages"
EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"


@pytest.fixture(autouse=True)
async def frozen_monday(hearth: Harness) -> None:
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)


async def occurrence(hearth: Harness, schedule_id: int):
    [row] = await cog(hearth).service.store.schedule_occurrences(schedule_id)
    return row


def alerts_text(hearth: Harness) -> str:
    return "\n".join(m.text for m in hearth.fake.messages(hearth.channels["alerts"]))


async def setup_alerts(hearth: Harness) -> None:
    done = await hearth.actor("mod", "general").slash("setup", alerts_channel=hearth.channels["alerts"])
    await done.reply()


async def deny(hearth: Harness, channel_name: str, target_id: int, kind: int, permission: int) -> Overwrite:
    """Deny a permission in a channel, and tell the bot as Discord would (CHANNEL_UPDATE)."""
    channel = hearth.channels[channel_name]
    overwrite = Overwrite(target_id, kind, deny=permission)
    channel.overwrites.append(overwrite)
    await channel_changed(hearth, channel_name)
    return overwrite


async def channel_changed(hearth: Harness, channel_name: str) -> None:
    channel = hearth.channels[channel_name]
    await hearth.fake.gateway.dispatch("CHANNEL_UPDATE", channel.payload(hearth.fake.world))
    bot = hearth.running_bot
    await hearth.fake.wait_until(
        lambda: len(bot.get_channel(channel.id).overwrites) == len(channel.overwrites), what="the update"
    )


# ----- a post whose answer is lost --------------------------------------------------------------


async def test_a_post_created_then_answered_502_goes_out_once(hearth: Harness) -> None:
    """discord.py sends the post again after a 502; its nonce makes Discord return the first one."""
    schedule_id = await add_schedule(hearth)
    checkins = hearth.channels["checkins"]
    hearth.fake.faults.server_error(POST, status=502, after_effect=True, channel_id=checkins.id)
    report = await tick(hearth, NINE)
    [post] = checkin_posts(hearth)
    attempts = hearth.fake.journal.select(POST, channel_id=checkins.id)
    assert [e.status for e in attempts] == [502, 200]
    assert report.posted and (await occurrence(hearth, schedule_id)).message_id == post.id


async def test_posting_the_same_check_in_again_makes_no_second_message(hearth: Harness) -> None:
    """What a repost after a lost answer does: the occurrence's own nonce makes it the same message."""
    schedule_id = await add_schedule(hearth)
    await tick(hearth, NINE)
    row = await occurrence(hearth, schedule_id)
    tally = await cog(hearth).service.tally(row)
    again = await cog(hearth).poster.post_checkin(row, tally)
    [post] = checkin_posts(hearth)
    assert again == post.id == row.message_id


async def test_posting_the_same_group_exercise_again_makes_no_second_message(hearth: Harness) -> None:
    schedule_id = await add_schedule(hearth, exercise="journal-prompt")
    await tick(hearth, NINE)
    row = await occurrence(hearth, schedule_id)
    again = await cog(hearth).poster.post_exercise(row)
    channel = hearth.channels["checkins"]
    posts = [m for m in hearth.fake.messages(channel) if "Hearth check-in #" in m.text]
    assert [m.id for m in posts] == [again] == [row.message_id]


async def test_a_lost_answer_is_settled_by_finding_the_post_even_in_a_busy_channel(hearth: Harness) -> None:
    schedule_id = await add_schedule(hearth)
    checkins = hearth.channels["checkins"]
    # 503 is not retried by discord.py: Hearth is told the post failed, though it went out.
    hearth.fake.faults.server_error(POST, status=503, after_effect=True, channel_id=checkins.id)
    report = await tick(hearth, NINE)
    assert report.posted == [] and (await occurrence(hearth, schedule_id)).state == "claimed"
    alice = hearth.actor("alice", "checkins")
    for index in range(250):  # the group talks on: the post is no longer among the newest 100
        alice.say(f"message {index}")
    report = await tick(hearth, NINE + timedelta(minutes=1))
    assert report.confirmed_after_restart and report.posted == []
    [post] = checkin_posts(hearth)
    row = await occurrence(hearth, schedule_id)
    assert row.state == "posted" and row.message_id == post.id


# ----- history Hearth cannot read ------------------------------------------------------------------


async def test_without_read_message_history_nothing_is_posted_twice_and_moderators_hear(
    hearth: Harness,
) -> None:
    await setup_alerts(hearth)
    schedule_id = await add_schedule(hearth)
    checkins = hearth.channels["checkins"]
    hearth.fake.faults.server_error(POST, status=503, after_effect=True, channel_id=checkins.id)
    await tick(hearth, NINE)
    no_history = await deny(hearth, "checkins", hearth.roles["bot"].id, 0, Perm.READ_MESSAGE_HISTORY)
    report = await tick(hearth, NINE + timedelta(minutes=1))
    assert report.unknown and len(checkin_posts(hearth)) == 1
    assert (await occurrence(hearth, schedule_id)).state == "unknown"
    told = alerts_text(hearth)
    assert "may not have gone out" in told and "Read Message History" in told
    listed = await (await hearth.actor("mod", "checkins").slash("schedule list")).reply()
    assert "Read Message History" in listed.text
    # Told once, however often it ticks.
    await tick(hearth, NINE + timedelta(minutes=2))
    assert alerts_text(hearth).count("may not have gone out") == 1

    # A moderator gives the permission back: at the end of its window it is found and closed.
    checkins.overwrites.remove(no_history)
    await channel_changed(hearth, "checkins")
    report = await tick(hearth, NINE + timedelta(hours=12))
    [post] = checkin_posts(hearth)
    assert report.closed and "This check-in has closed" in post.text
    assert all(b.get("disabled") for b in post.buttons)
    assert (await occurrence(hearth, schedule_id)).message_id == post.id


async def test_schedule_add_asks_for_read_message_history(hearth: Harness) -> None:
    await deny(hearth, "checkins", hearth.roles["bot"].id, 0, Perm.READ_MESSAGE_HISTORY)
    result = await hearth.actor("mod", "checkins").slash(
        "schedule add", channel=hearth.channels["checkins"], time="09:00", timezone="UTC"
    )
    reply = await result.reply()
    assert "missing Read Message History" in reply.text
    assert await cog(hearth).service.store.guild_schedules(hearth.guild.id) == []


# ----- refusals and trouble that passes ------------------------------------------------------------


@pytest.mark.allow_rejected_payloads
async def test_a_post_discord_refuses_is_not_sent_again_and_moderators_hear_once(
    hearth: Harness,
) -> None:
    await setup_alerts(hearth)
    schedule_id = await add_schedule(hearth)
    checkins = hearth.channels["checkins"]
    hearth.fake.faults.error(
        POST, status=400, code=50035, message="Invalid Form Body", count=10, channel_id=checkins.id
    )
    report = await tick(hearth, NINE)
    assert report.failed and (await occurrence(hearth, schedule_id)).state == "failed"
    for minutes in (1, 2, 30, 90):
        await tick(hearth, NINE + timedelta(minutes=minutes))
    assert len(hearth.fake.journal.select(POST, channel_id=checkins.id)) == 1
    assert checkin_posts(hearth) == []
    assert alerts_text(hearth).count("wasn't posted") == 1
    schedule = await cog(hearth).service.store.get_schedule(schedule_id)
    assert schedule is not None and not schedule.paused and "400" in (schedule.last_error or "")
    # The next day's post works, and the schedule's error is forgotten.
    hearth.fake.faults.clear()
    await tick(hearth, NINE + timedelta(days=1))
    assert len(checkin_posts(hearth)) == 1
    schedule = await cog(hearth).service.store.get_schedule(schedule_id)
    assert schedule is not None and schedule.last_error is None


async def test_a_close_that_meets_discord_trouble_is_tried_again_then_left(hearth: Harness) -> None:
    schedule_id = await add_schedule(hearth)
    await tick(hearth, NINE)
    first = (await occurrence(hearth, schedule_id)).id
    hearth.fake.faults.server_error(EDIT, status=503, count=1000)
    closes = NINE + timedelta(hours=12)
    assert (await tick(hearth, closes)).closed == []
    assert (await tick(hearth, closes + timedelta(hours=3))).closed == []
    assert len(hearth.fake.journal.select(EDIT)) == 2
    report = await tick(hearth, closes + timedelta(hours=24, minutes=1))
    assert report.closed == [first]
    assert (await tick(hearth, closes + timedelta(hours=25))).closed == []
    assert len(hearth.fake.journal.select(EDIT)) == 3
    hearth.fake.faults.clear()


# ----- the wake-up job -------------------------------------------------------------------------------


def wakeup_in(hearth: Harness) -> float | None:
    """Return in how many real seconds the wake-up job runs, or None if there is none."""
    assert hearth.running_bot.scheduler is not None
    job = hearth.running_bot.scheduler.get_job("checkin:wakeup")
    if job is None or job.next_run_time is None:
        return None
    return (job.next_run_time - datetime.now(UTC)).total_seconds()


async def test_the_wake_up_job_follows_every_change_and_a_restart(hearth: Harness) -> None:
    assert wakeup_in(hearth) is None  # nothing in the database
    schedule_id = await add_schedule(hearth, time="11:00")
    assert wakeup_in(hearth) == pytest.approx(3 * 3600, abs=5)
    mod = hearth.actor("mod", "checkins")
    await (await mod.slash("schedule edit", schedule=schedule_id, time="09:30")).reply()
    assert wakeup_in(hearth) == pytest.approx(90 * 60, abs=5)
    await (await mod.slash("schedule pause", schedule=schedule_id)).reply()
    assert wakeup_in(hearth) is None
    await (await mod.slash("schedule resume", schedule=schedule_id)).reply()
    assert wakeup_in(hearth) == pytest.approx(90 * 60, abs=5)
    await hearth.restart()
    await settle(hearth)
    assert wakeup_in(hearth) == pytest.approx(90 * 60, abs=5)
    await tick(hearth, NINE + timedelta(minutes=30))  # posted: next, its reminder at 80% of 12 hours
    assert wakeup_in(hearth) == pytest.approx(0.8 * 12 * 3600, abs=5)


async def test_the_wake_up_job_survives_a_close_that_keeps_failing(hearth: Harness) -> None:
    await add_schedule(hearth)
    await tick(hearth, NINE)
    hearth.fake.faults.server_error(EDIT, status=503, count=1000)
    await tick(hearth, NINE + timedelta(hours=12))
    await asyncio.sleep(1.5)
    # Still there, and a pause away rather than at once: no loop of edits.
    remaining = wakeup_in(hearth)
    assert remaining is not None and 10 < remaining <= 15
    assert len(hearth.fake.journal.select(EDIT)) == 1
    hearth.fake.faults.clear()


# ----- reminders only for members who can still see the check-in ------------------------------------


async def test_no_reminder_for_members_who_left_or_can_no_longer_see_the_channel(
    hearth: Harness,
) -> None:
    for name in ("alice", "bob", "carol"):
        turned_on = await hearth.actor(name, "checkins").slash("reminders on", time="20:00", timezone="UTC")
        assert "Reminders are on" in (await turned_on.reply()).text
    await add_schedule(hearth)
    await tick(hearth, NINE)
    del hearth.guild.members[hearth.members["bob"].user.id]  # Bob left the server
    await deny(hearth, "checkins", hearth.members["carol"].user.id, 1, Perm.VIEW_CHANNEL)  # hidden from Carol
    report = await tick(hearth, NINE + timedelta(hours=9, minutes=36))
    assert report.reminded == [hearth.members["alice"].user.id]
    assert len(hearth.fake.dm_messages(hearth.members["alice"])) == 2
    for name in ("bob", "carol"):
        assert len(hearth.fake.dm_messages(hearth.members[name])) == 1  # only "reminders are on"


# ----- a burst of reminders within Discord's global limit ------------------------------------------


@pytest.mark.hearth_options(rate_limits=True)
async def test_a_burst_of_group_reminders_stays_under_the_global_rate_limit(hearth: Harness) -> None:
    # Each reminder is several requests (look the member up, open the DM channel, send), and all
    # are due at the same moment: every one of them waits its turn, none is refused.
    names = [f"member{n}" for n in range(60)]
    members = [hearth.add_member(name) for name in names]
    service = cog(hearth).service
    for member in members:
        await service.reminders_on(member.user.id, hearth.guild.id, "20:00", "UTC", None, hearth.clock())
    await add_schedule(hearth)
    await tick(hearth, NINE)
    mark = hearth.fake.journal.mark
    report = await tick(hearth, NINE + timedelta(hours=9, minutes=36))
    assert sorted(report.reminded) == sorted(m.user.id for m in members)
    for member in members:
        [dm] = hearth.fake.dm_messages(member)
        assert "gentle reminder" in dm.text
    sent = hearth.fake.journal.select(after=mark)
    assert len(sent) >= 3 * len(members)
    assert hearth.fake.ratelimits.violation_count == 0, hearth.fake.ratelimits.violations[:5]
    assert [e for e in sent if e.status == 429] == []
