"""Personal check-ins via the fake Discord: /checkin, /mood, /pause, reminder DMs, group exercises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest
from discord.ext import commands

from tests.e2e.checkin_helpers import MONDAY_8AM, add_schedule, cog, settle, tick
from tests.fakediscord.harness import Harness


@pytest.fixture(autouse=True)
async def frozen_monday(hearth: Harness) -> None:
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)


async def test_checkin_records_a_private_mood_and_note(hearth: Harness) -> None:
    result = await hearth.actor("alice", "general").slash("checkin", mood=4, note="slept well for once")
    reply = await result.reply()
    assert reply.ephemeral and "4 · Good" in reply.text and "privately" in reply.text
    assert all("slept well" not in m.text for m in hearth.fake.messages(hearth.channels["general"]))
    db = hearth.running_bot.db
    assert db is not None
    [row] = await db.fetchall("SELECT mood, note FROM checkin_answers")
    assert row[0] == 4 and "slept well" not in row[1]


async def test_a_low_personal_mood_gets_gentle_help(hearth: Harness) -> None:
    reply = await (await hearth.actor("bob", "general").slash("checkin", mood=1)).reply()
    assert reply.ephemeral and "/resources" in reply.text


async def test_mood_shows_history_weekly_averages_and_a_gentle_streak(hearth: Harness) -> None:
    alice = hearth.actor("alice", "general")
    empty = await (await alice.slash("mood")).reply()
    assert empty.ephemeral and "No moods yet" in empty.text
    start = datetime(2026, 5, 20, 18, tzinfo=UTC)
    # Twelve days: a mood on most, two single days missed (which never break the streak).
    for offset, score in enumerate((2, 3, 3, None, 4, 4, 5, None, 3, 4, 4, 5)):
        hearth.clock.set(start + timedelta(days=offset))
        if score is not None:
            await (await alice.slash("checkin", mood=score)).reply()
    reply = await (await alice.slash("mood", timezone="Europe/Berlin")).reply()
    text = reply.text
    assert reply.ephemeral
    assert "Last 30 days** (10 check-ins" in text and "Last 90 days** (10 check-ins)" in text
    description = reply.embed["description"]
    thirty = description.split("```")[1].strip()
    assert len(thirty) == 30 and thirty.endswith("▅▆▆█") and "·" in thirty
    assert "Weekly averages" in text and "18 May" in text and "25 May" in text
    assert "10 days checked in in this run" in text
    assert "Days counted in Europe/Berlin" in text
    # Nobody else's moods are in it, and nobody else sees it.
    bob = await (await hearth.actor("bob", "general").slash("mood")).reply()
    assert "No moods yet" in bob.text


async def test_pause_freezes_the_streak_and_stops_reminders(hearth: Harness) -> None:
    alice = hearth.actor("alice", "general")
    await (await alice.slash("reminders on", time="20:00", timezone="UTC")).reply()
    await (await alice.slash("checkin", mood=3)).reply()
    paused = await (await alice.slash("pause", days=3)).reply()
    assert paused.ephemeral and "frozen, not broken" in paused.text
    dms_before = len(hearth.fake.dm_messages(hearth.members["alice"]))
    for day in (0, 1, 2):
        await tick(hearth, datetime(2026, 6, 1 + day, 20, tzinfo=UTC))
    assert len(hearth.fake.dm_messages(hearth.members["alice"])) == dms_before
    hearth.clock.set(datetime(2026, 6, 4, 12, tzinfo=UTC))
    mood = await (await alice.slash("mood")).reply()
    assert "1 day checked in so far" in mood.text  # three days away, and the run goes on
    await tick(hearth, datetime(2026, 6, 4, 20, tzinfo=UTC))
    assert len(hearth.fake.dm_messages(hearth.members["alice"])) == dms_before + 1


async def test_a_personal_reminder_dm_takes_a_mood_with_its_buttons(hearth: Harness) -> None:
    alice = hearth.actor("alice", "general")
    await (await alice.slash("reminders on", time="20:00", timezone="Europe/Berlin", days="weekdays")).reply()
    await tick(hearth, datetime(2026, 6, 1, 18, tzinfo=UTC))  # 20:00 in Berlin
    dms = hearth.fake.dm_messages(hearth.members["alice"])
    reminder = dms[-1]
    assert "How are you today?" in reminder.text and len(reminder.buttons) == 5
    dm_actor = hearth.actor("alice", hearth.fake.world.channels[reminder.channel_id])
    clicked = await dm_actor.click(reminder, label="5 · Great")
    assert "5 · Great" in (await clicked.reply()).text
    history = await (await alice.slash("mood")).reply()
    assert "Last 30 days** (1 check-in, average 5.0)" in history.text
    # Checked in today already: the next weekday's reminder still comes, today's does not repeat.
    await tick(hearth, datetime(2026, 6, 1, 18, 30, tzinfo=UTC))
    assert len(hearth.fake.dm_messages(hearth.members["alice"])) == len(dms)


async def test_reminders_off(hearth: Harness) -> None:
    alice = hearth.actor("alice", "general")
    await (await alice.slash("reminders on", time="20:00", timezone="UTC")).reply()
    off = await (await alice.slash("reminders off")).reply()
    assert off.ephemeral and "Reminders are off" in off.text
    before = len(hearth.fake.dm_messages(hearth.members["alice"]))
    await tick(hearth, datetime(2026, 6, 1, 20, tzinfo=UTC))
    assert len(hearth.fake.dm_messages(hearth.members["alice"])) == before


class StandInExercises(commands.Cog, name="Exercises"):
    """Stands in for the exercises area when it is not installed: records group exercise posts."""

    def __init__(self) -> None:
        self.posted: list[str] = []

    async def post_group_exercise(
        self, channel: discord.abc.Messageable, exercise_id: str, *, marker: str | None = None
    ) -> Any:
        self.posted.append(exercise_id)
        embed = discord.Embed(title=f"Group exercise: {exercise_id}")
        if marker:
            embed.set_footer(text=marker)
        return await channel.send(embed=embed)


async def test_an_exercise_schedule_posts_the_group_exercise(hearth: Harness) -> None:
    bot = hearth.running_bot
    stand_in: StandInExercises | None = None
    if bot.get_cog("Exercises") is None:
        stand_in = StandInExercises()
        await bot.add_cog(stand_in)
    choices = await hearth.actor("mod", "checkins").autocomplete("schedule add", "exercise", "box")
    assert "box-breathing" in [c["value"] for c in choices]
    schedule_id = await add_schedule(hearth, exercise="box-breathing", name="Morning breath")
    mark = hearth.fake.journal.mark
    report = await tick(hearth, datetime(2026, 6, 1, 9, tzinfo=UTC))
    assert len(report.posted) == 1
    posts = hearth.fake.journal.select("POST /channels/{channel_id}/messages", after=mark)
    assert len(posts) >= 1
    if stand_in is not None:
        assert stand_in.posted == ["box-breathing"]
    [row] = await cog(hearth).service.store.schedule_occurrences(schedule_id)
    assert row.state == "posted" and row.closed


async def test_an_exercise_schedule_without_the_exercises_area_fails_kindly(hearth: Harness) -> None:
    bot = hearth.running_bot
    stand_in = StandInExercises()
    if bot.get_cog("Exercises") is None:
        await bot.add_cog(stand_in)
    schedule_id = await add_schedule(hearth, exercise="box-breathing")
    await bot.remove_cog("Exercises")
    report = await tick(hearth, datetime(2026, 6, 1, 9, tzinfo=UTC))
    assert report.failed and not report.posted
    listed = await (await hearth.actor("mod", "general").slash("schedule list")).reply()
    assert "last post failed" in listed.text
    assert schedule_id
