"""Restarts never lose or duplicate a check-in: downtime within and past grace, and a kill mid-post."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from tests.e2e.checkin_helpers import (
    MONDAY_8AM,
    add_schedule,
    checkin_posts,
    cog,
    occurrence_id_of,
    settle,
    tick,
)
from tests.fakediscord.harness import Harness

NINE = datetime(2026, 6, 1, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
async def frozen_monday(hearth: Harness) -> None:
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)
    # Discord's `enforce_nonce` looks back a few minutes; here those minutes pass on the test's
    # clock, so a repost long after the first one is a second message, as on Discord.
    hearth.fake.nonce_clock = hearth.clock


async def occurrences(hearth: Harness, schedule_id: int):
    return await cog(hearth).service.store.schedule_occurrences(schedule_id)


async def test_downtime_within_grace_posts_once_late(hearth: Harness) -> None:
    schedule_id = await add_schedule(hearth)
    await hearth.stop()
    hearth.clock.set(NINE + timedelta(minutes=90))  # down through 09:00; back 90 minutes later
    await hearth.start()
    await settle(hearth)  # the first tick after start catches up
    await tick(hearth)
    await tick(hearth, NINE + timedelta(minutes=95))
    [post] = checkin_posts(hearth)
    [row] = await occurrences(hearth, schedule_id)
    assert row.state == "posted" and row.message_id == post.id and row.scheduled_for == NINE
    # Its window runs from when it was actually posted.
    assert row.closes_at == NINE + timedelta(minutes=90, hours=12)


async def test_downtime_past_grace_skips_and_records_it(
    hearth: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    schedule_id = await add_schedule(hearth)
    await hearth.stop()
    hearth.clock.set(NINE + timedelta(hours=2, minutes=30))  # grace is 120 minutes
    await hearth.start()
    await settle(hearth)
    assert checkin_posts(hearth) == []
    [row] = await occurrences(hearth, schedule_id)
    assert row.state == "skipped" and row.scheduled_for == NINE
    assert any("skipped check-in" in r.getMessage() for r in caplog.records)
    # The next day's check-in comes as usual.
    await tick(hearth, NINE + timedelta(days=1))
    assert len(checkin_posts(hearth)) == 1


@pytest.mark.hearth_config(checkins={"grace_minutes": 30})
@pytest.mark.parametrize(("down_for", "posted"), [(20, True), (45, False)])
async def test_the_grace_window_is_configurable(hearth: Harness, down_for: int, posted: bool) -> None:
    schedule_id = await add_schedule(hearth)
    await hearth.stop()
    hearth.clock.set(NINE + timedelta(minutes=down_for))
    await hearth.start()
    await settle(hearth)
    assert len(checkin_posts(hearth)) == (1 if posted else 0)
    [row] = await occurrences(hearth, schedule_id)
    assert row.state == ("posted" if posted else "skipped")


# Restarted well past Discord's few minutes of `enforce_nonce` (a second post would be a second
# message), and well within the 2-hour grace (a missing post would be posted again).
BACK_AFTER_KILL = timedelta(minutes=30)


async def kill_after_posting(hearth: Harness, schedule_id: int, posts: Callable[[], list[Any]]) -> None:
    """Post what is due at nine, kill the bot before it records the message id, start it again later."""
    never = asyncio.Event()

    async def die_before_confirming(*args: object) -> None:
        await never.wait()

    cog(hearth).service.store.confirm_posted = die_before_confirming  # type: ignore[method-assign]
    hearth.clock.set(NINE)
    ticking = asyncio.create_task(cog(hearth).runner.tick(NINE))
    await hearth.fake.wait_until(posts, what="the post to reach Discord")
    ticking.cancel()
    await hearth.kill()
    [row] = await occurrences_after_kill(hearth, schedule_id)
    assert row.state == "claimed" and row.message_id is None
    hearth.clock.set(NINE + BACK_AFTER_KILL)
    await hearth.start()
    await settle(hearth)  # the first tick looks for the post by its marker


def posts_sent(hearth: Harness, occurrence_id: int) -> list[Any]:
    """Return every request that posted an occurrence in the check-ins channel (answered or not)."""
    wanted = f"Hearth check-in #{occurrence_id}"

    def carries_marker(entry: Any) -> bool:
        embeds = (entry.json or {}).get("embeds") or []
        return any(((e.get("footer") or {}).get("text") or "").startswith(wanted) for e in embeds)

    return hearth.fake.journal.select(
        "POST /channels/{channel_id}/messages", carries_marker, channel_id=hearth.channels["checkins"].id
    )


async def kill_before_posting(
    hearth: Harness, schedule_id: int, post_method: str, posts: Callable[[], list[Any]]
) -> None:
    """Claim what is due at nine, kill the bot before anything is sent, and start it 5 minutes later."""
    never = asyncio.Event()

    async def die_before_sending(*args: object) -> int:
        await never.wait()
        return 0

    setattr(cog(hearth).poster, post_method, die_before_sending)
    ticking = asyncio.create_task(cog(hearth).runner.tick(NINE))

    async def claimed() -> bool:
        rows = await occurrences(hearth, schedule_id)
        return bool(rows) and rows[0].state == "claimed"

    for _ in range(200):
        if await claimed():
            break
        await asyncio.sleep(0.01)
    ticking.cancel()
    await hearth.kill()
    assert posts() == []
    hearth.clock.set(NINE + timedelta(minutes=5))
    await hearth.start()
    await settle(hearth)


async def test_killed_after_posting_but_before_confirming_is_not_posted_again(hearth: Harness) -> None:
    schedule_id = await add_schedule(hearth)
    await kill_after_posting(hearth, schedule_id, lambda: checkin_posts(hearth))
    await tick(hearth, NINE + BACK_AFTER_KILL + timedelta(minutes=1))
    [post] = checkin_posts(hearth)  # members see it once
    [row] = await occurrences(hearth, schedule_id)
    assert len(posts_sent(hearth, row.id)) == 1  # and Hearth never sent it a second time
    assert row.state == "posted" and row.message_id == post.id
    reply = await hearth.actor("alice", "checkins").click(post, label="4 · Good")
    assert "Thank you for checking in" in reply.text


async def test_killed_before_posting_is_posted_once_after_restart(hearth: Harness) -> None:
    schedule_id = await add_schedule(hearth)
    await kill_before_posting(hearth, schedule_id, "post_checkin", lambda: checkin_posts(hearth))
    await tick(hearth, NINE + timedelta(minutes=6))
    [post] = checkin_posts(hearth)
    [row] = await occurrences(hearth, schedule_id)
    assert row.state == "posted" and row.message_id == post.id and occurrence_id_of(post) == row.id


def exercise_posts(hearth: Harness, title: str) -> list[Any]:
    """Return the group exercise messages titled `title` in the check-ins channel, oldest first."""
    return [
        m
        for m in hearth.fake.messages(hearth.channels["checkins"])
        if m.embeds and m.embeds[0].get("title", "").startswith(title)
    ]


# One exercise of each kind the exercises area posts: a live pacer, a step exercise, a journal
# prompt and an invitation to a private exercise.
EXERCISES = {
    "box-breathing": "Box breathing",
    "grounding-5-4-3-2-1": "5-4-3-2-1 grounding",
    "journal-prompt": "Something to write about",
    "thought-record": "Thought record",
}


@pytest.mark.parametrize("exercise", list(EXERCISES))
async def test_a_group_exercise_killed_after_posting_is_not_posted_again(
    hearth: Harness, exercise: str
) -> None:
    title = EXERCISES[exercise]
    schedule_id = await add_schedule(hearth, exercise=exercise)
    await kill_after_posting(hearth, schedule_id, lambda: exercise_posts(hearth, title))
    await tick(hearth, NINE + BACK_AFTER_KILL + timedelta(minutes=1))
    await tick(hearth, NINE + timedelta(hours=13))  # long after a check-in's window would close
    [post] = exercise_posts(hearth, title)  # the group sees it once
    [row] = await occurrences(hearth, schedule_id)
    assert len(posts_sent(hearth, row.id)) == 1  # and Hearth never sent it a second time
    assert row.state == "posted" and row.message_id == post.id
    # Still the exercise the group follows, never edited into a closed check-in.
    shown = hearth.fake.message(post.id)
    assert shown.embeds[0]["title"].startswith(title) and "This check-in has closed" not in shown.text


async def test_a_group_exercise_killed_before_posting_is_posted_once_after_restart(hearth: Harness) -> None:
    schedule_id = await add_schedule(hearth, exercise="box-breathing")
    posts = partial(exercise_posts, hearth, "Box breathing")
    await kill_before_posting(hearth, schedule_id, "post_exercise", posts)
    await tick(hearth, NINE + timedelta(minutes=6))
    [post] = posts()
    [row] = await occurrences(hearth, schedule_id)
    assert row.state == "posted" and row.message_id == post.id


async def test_a_check_in_posted_before_a_restart_still_closes_on_time(hearth: Harness) -> None:
    await add_schedule(hearth)
    await tick(hearth, NINE)
    [post] = checkin_posts(hearth)
    await hearth.restart()
    await settle(hearth)
    await tick(hearth, NINE + timedelta(hours=12))
    closed = hearth.fake.message(post.id)
    assert "This check-in has closed" in closed.text
    assert all(b.get("disabled") for b in closed.buttons)


async def occurrences_after_kill(hearth: Harness, schedule_id: int):
    """Read the database directly while the bot is down."""
    from bot.storage.checkins import CheckinStore
    from bot.storage.db import Database

    db = await Database.open(hearth.database_path)
    try:
        return await CheckinStore(db, hearth.keyring).schedule_occurrences(schedule_id)
    finally:
        await db.close()
