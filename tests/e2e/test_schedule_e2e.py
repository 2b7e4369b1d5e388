"""/schedule and /prompts via the fake Discord: zones, DST notes, preview, edit, pause, test, prompt sets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.e2e.checkin_helpers import MONDAY_8AM, add_schedule, checkin_posts, cog, settle, tick
from tests.fakediscord.harness import Harness


@pytest.fixture(autouse=True)
async def frozen_monday(hearth: Harness) -> None:
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)


async def test_schedule_add_with_a_bad_zone_suggests_the_right_one(hearth: Harness) -> None:
    mod = hearth.actor("mod", "checkins")
    result = await mod.slash(
        "schedule add", time="19:30", timezone="Europe/Berln", channel=hearth.channels["checkins"]
    )
    reply = await result.reply()
    assert reply.ephemeral
    assert "don't know the time zone" in reply.text and "Europe/Berlin" in reply.text
    assert await cog(hearth).service.store.guild_schedules(hearth.guild.id) == []


async def test_schedule_add_with_a_good_zone_saves_it_and_autocompletes_zones(hearth: Harness) -> None:
    mod = hearth.actor("mod", "checkins")
    choices = await mod.autocomplete("schedule add", "timezone", "berlin")
    assert choices[0]["value"] == "Europe/Berlin"
    result = await mod.slash(
        "schedule add", time="7:30pm", timezone="Europe/Berlin", days="weekdays",
        channel=hearth.channels["checkins"], name="Evening check-in",
    )
    reply = await result.reply()
    assert reply.ephemeral
    assert "Evening check-in" in reply.text and "19:30 on weekdays (Europe/Berlin)" in reply.text
    # 19:30 in Berlin on Monday 1 June 2026 is 17:30 UTC.
    assert f"<t:{int(datetime(2026, 6, 1, 17, 30, tzinfo=UTC).timestamp())}:F>" in reply.text
    [saved] = await cog(hearth).service.store.guild_schedules(hearth.guild.id)
    assert saved.timezone == "Europe/Berlin" and saved.weekdays == "01234"


async def test_a_time_in_a_dst_gap_is_explained_and_preview_shows_it(hearth: Harness) -> None:
    hearth.clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    mod = hearth.actor("mod", "checkins")
    result = await mod.slash(
        "schedule add", time="02:30", timezone="America/New_York", days="sun",
        channel=hearth.channels["checkins"],
    )
    reply = await result.reply()
    assert "When the clocks change" in reply.text
    assert "Sunday 8 March 2026" in reply.text and "03:30 instead" in reply.text
    schedule_id = (await cog(hearth).service.store.guild_schedules(hearth.guild.id))[0].id
    preview = await (await mod.slash("schedule preview", schedule=schedule_id)).reply()
    lines = [line for line in preview.embed["description"].splitlines() if line.startswith("•")]
    assert len(lines) == 5
    assert "Sun 08 Mar 2026, 03:30 (America/New_York)" in preview.embed["description"]
    assert "clocks jump forward" in preview.embed["description"]
    stamp = int(datetime(2026, 3, 8, 7, 30, tzinfo=UTC).timestamp())
    assert f"<t:{stamp}:F>" in preview.embed["description"]


async def test_members_cannot_manage_schedules(hearth: Harness) -> None:
    result = await hearth.actor("alice", "checkins").slash("schedule list")
    reply = await result.reply()
    assert reply.ephemeral and "moderators" in reply.text


async def test_list_edit_pause_resume_and_remove(hearth: Harness) -> None:
    mod = hearth.actor("mod", "checkins")
    schedule_id = await add_schedule(hearth, name="Morning")
    listed = await (await mod.slash("schedule list")).reply()
    assert f"#{schedule_id} · Morning" in listed.text and "09:00 every day (UTC)" in listed.text

    choices = await mod.autocomplete("schedule edit", "schedule", "morn")
    assert [c["value"] for c in choices] == [schedule_id]
    result = await mod.slash("schedule edit", schedule=schedule_id, time="10:15", days="mon-fri")
    edited = await result.reply()
    assert "Schedule changed" in edited.text and "10:15 on weekdays (UTC)" in edited.text

    paused = await (await mod.slash("schedule pause", schedule=schedule_id)).reply()
    assert "Paused" in paused.text
    await tick(hearth, datetime(2026, 6, 1, 10, 15, tzinfo=UTC))
    assert checkin_posts(hearth) == []  # paused: nothing at 10:15

    resumed = await (await mod.slash("schedule resume", schedule=schedule_id)).reply()
    assert "Resumed" in resumed.text and "missed while paused are not posted" in resumed.text
    await tick(hearth, datetime(2026, 6, 2, 10, 15, tzinfo=UTC))
    assert len(checkin_posts(hearth)) == 1

    removed = await (await mod.slash("schedule remove", schedule=schedule_id)).reply()
    assert "Removed" in removed.text
    await tick(hearth, datetime(2026, 6, 3, 10, 15, tzinfo=UTC))
    assert len(checkin_posts(hearth)) == 1
    gone = await (await mod.slash("schedule preview", schedule=schedule_id)).reply()
    assert f"no schedule #{schedule_id}" in gone.text


async def test_schedule_test_posts_one_check_in_now_without_moving_the_schedule(hearth: Harness) -> None:
    mod = hearth.actor("mod", "checkins")
    schedule_id = await add_schedule(hearth)
    before = (await cog(hearth).service.store.get_schedule(schedule_id)).next_run_at  # type: ignore[union-attr]
    reply = await (await mod.slash("schedule test", schedule=schedule_id)).reply()
    assert "Posted a test check-in" in reply.text
    [post] = checkin_posts(hearth)
    assert len(post.buttons) == 7
    assert (await cog(hearth).service.store.get_schedule(schedule_id)).next_run_at == before  # type: ignore[union-attr]
    await tick(hearth, datetime(2026, 6, 1, 9, tzinfo=UTC))
    assert len(checkin_posts(hearth)) == 2  # the real one still comes at 09:00


async def test_prompt_sets_add_list_remove_and_rotation_uses_them(hearth: Harness) -> None:
    mod = hearth.actor("mod", "checkins")
    listed = await (await mod.slash("prompts list")).reply()
    for title in ("Noticing yourself", "Triggers and responses", "Small wins", "Support and connection"):
        assert title in listed.text
    added = await (await mod.slash("prompts add", set="evening", text="What felt steady today?")).reply()
    assert "Added to **evening**" in added.text
    added = await (await mod.slash("prompts add", set="evening", text="Who made you smile?")).reply()
    choices = await mod.autocomplete("schedule add", "prompts", "eve")
    assert [c["value"] for c in choices] == ["evening"]
    schedule_id = await add_schedule(hearth, prompts="evening")

    prompts_seen = []
    for day in (1, 2, 3):
        await tick(hearth, datetime(2026, 6, day, 9, tzinfo=UTC))
        prompts_seen.append(checkin_posts(hearth)[-1].embed["description"].split("**")[1])
    assert set(prompts_seen[:2]) == {"What felt steady today?", "Who made you smile?"}
    assert prompts_seen[2] != prompts_seen[1]  # a new round never opens with the last one

    options = await mod.autocomplete("prompts remove", "prompt", "smile")
    [choice] = options
    removed = await (await mod.slash("prompts remove", prompt=choice["value"])).reply()
    assert "Who made you smile?" in removed.text
    assert schedule_id


async def test_hiding_a_built_in_prompt(hearth: Harness) -> None:
    mod = hearth.actor("mod", "checkins")
    [choice] = await mod.autocomplete("prompts remove", "prompt", "quietly proud")
    assert choice["value"] == "b:sw-proud"
    await (await mod.slash("prompts remove", prompt="b:sw-proud")).reply()
    listed = await (await mod.slash("prompts list", set="small-wins")).reply()
    assert "quietly proud" not in listed.text and "one small step" in listed.text


async def test_a_channel_the_bot_cannot_post_in_is_recorded_on_the_schedule(hearth: Harness) -> None:
    from tests.fakediscord import Overwrite, Perm

    schedule_id = await add_schedule(hearth)
    no_send = Overwrite(hearth.roles["bot"].id, 0, deny=Perm.SEND_MESSAGES)
    hearth.channels["checkins"].overwrites.append(no_send)
    report = await tick(hearth, datetime(2026, 6, 1, 9, tzinfo=UTC))
    assert len(report.failed) == 1
    listed = await (await hearth.actor("mod", "general").slash("schedule list")).reply()
    assert "last post failed" in listed.text and "permission" in listed.text
    assert schedule_id
