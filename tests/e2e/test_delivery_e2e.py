"""Posting where moderators pointed Hearth, when that channel is gone or Hearth lost a permission.

What a moderator notices: one clear notice (in the alerts channel, else the review channel, else
in /setup), a schedule that pauses instead of failing every day, and posts that go up once the
channel is fixed. What a member notices: their words are kept, and they are told so kindly.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.checkin_helpers import MONDAY_8AM, add_schedule, checkin_posts, settle, tick
from tests.e2e.sharing_helpers import CRISIS_TEXT, OTHER_TEXT, REPLY_FIELD, TEXT, set_up_sharing, share
from tests.fakediscord import Overwrite, Perm
from tests.fakediscord.harness import Harness

NOTICE_TITLE = "Hearth can't post in a channel"


def deny_send(hearth: Harness, channel: str) -> Overwrite:
    overwrite = Overwrite(hearth.roles["bot"].id, 0, deny=Perm.SEND_MESSAGES)
    hearth.channels[channel].overwrites.append(overwrite)
    return overwrite


def notices(hearth: Harness, channel: str) -> list[Any]:
    return [m for m in hearth.fake.messages(hearth.channels[channel]) if m.embeds and m.embed.get("title")]


def titled(hearth: Harness, channel: str, title: str) -> list[Any]:
    return [m for m in notices(hearth, channel) if m.embed["title"] == title]


async def setup_reply(hearth: Harness, **options: Any) -> Any:
    return await (await hearth.actor("mod").slash("setup", **options)).reply()


async def until_posted(hearth: Harness, count: int) -> None:
    for _ in range(100):
        if await hearth.bot.sharing.store.count_by_status() == {"posted": count}:
            return
        await asyncio.sleep(0.03)
    raise AssertionError(f"not all {count} shares were posted")


def attention(reply: Any) -> str:
    for field in reply.embeds[0].get("fields", []):
        if field["name"] == "Needs attention":
            return str(field["value"])
    return ""


# ----- anonymous shares -----------------------------------------------------------------------


@pytest.mark.leak_scan
async def test_a_deleted_sharing_channel_keeps_shares_and_tells_moderators_once(
    hearth: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await set_up_sharing(hearth)
    await hearth.delete_channel("sharing")
    with caplog.at_level(logging.WARNING, logger="bot"):
        first = await share(hearth, "alice")
    assert first.ephemeral and "saved safely" in first.text and "told the moderators" in first.text
    assert "no longer exists" in caplog.text, "the log says why"
    second = await share(hearth, "bob", OTHER_TEXT)
    assert "saved safely" in second.text
    [notice] = titled(hearth, "alerts", NOTICE_TITLE)
    assert "anonymous shares" in notice.text and "no longer exists" in notice.text, "once, with why"
    assert await hearth.bot.sharing.store.count_by_status() == {"queued": 2}, "nothing is lost"
    mine = await (await hearth.actor("alice").slash("myshares")).reply()
    assert "about to be posted" in mine.text

    fresh = await hearth.add_channel("sharing-2")
    shown = await setup_reply(hearth, sharing_channel=fresh)
    await until_posted(hearth, 2)
    assert {m.embed["description"] for m in hearth.fake.messages(fresh)} == {TEXT, OTHER_TEXT}
    assert attention(shown) == "", "the trouble is forgotten once the setting changed"


@pytest.mark.leak_scan
async def test_a_share_waits_while_hearth_cannot_send_and_goes_up_when_allowed_again(hearth: Harness) -> None:
    await set_up_sharing(hearth)
    overwrite = deny_send(hearth, "sharing")
    result = await share(hearth, "alice")
    assert "missing a permission" in result.text and "saved safely" in result.text
    [notice] = titled(hearth, "alerts", NOTICE_TITLE)
    assert "missing a permission" in notice.text
    assert "missing a permission" in attention(await setup_reply(hearth))

    hearth.channels["sharing"].overwrites.remove(overwrite)
    hearth.clock.advance(minutes=1)
    assert await hearth.bot.get_cog("Sharing").post_due() == 1  # type: ignore[union-attr]
    assert len(hearth.fake.messages(hearth.channels["sharing"])) == 1
    assert attention(await setup_reply(hearth)) == "", "a post that works clears the trouble"
    # Trouble that comes back is told again.
    deny_send(hearth, "sharing")
    await share(hearth, "bob", OTHER_TEXT)
    assert len(titled(hearth, "alerts", NOTICE_TITLE)) == 2


@pytest.mark.leak_scan
async def test_without_the_review_channel_held_items_go_to_the_alerts_channel(hearth: Harness) -> None:
    await set_up_sharing(hearth, vetting=True)
    deny_send(hearth, "review")
    result = await share(hearth, "alice")
    assert "waiting for a moderator" in result.text
    alerts = hearth.fake.messages(hearth.channels["alerts"])
    [item] = [m for m in alerts if m.find_component(label="Approve") is not None]
    [notice] = titled(hearth, "alerts", NOTICE_TITLE)
    assert "review items" in notice.text
    approved = await (await hearth.actor("mod", "alerts").click(item, label="Approve")).reply()
    assert "Approved and posted" in approved.text


@pytest.mark.leak_scan
async def test_held_items_wait_when_no_moderators_channel_takes_them(hearth: Harness) -> None:
    await set_up_sharing(hearth, vetting=True)
    deny_send(hearth, "review")
    deny_send(hearth, "alerts")
    result = await share(hearth, "alice")
    assert "waiting for a moderator" in result.text
    assert await hearth.bot.sharing.store.count_by_status() == {"pending": 1}
    shown = await setup_reply(hearth)
    assert "review items" in attention(shown), "/setup says what needs fixing"
    titles = [e.get("title") for e in shown.embeds[1:]]
    assert NOTICE_TITLE in titles, "waiting notices are shown to the moderator"

    fresh = await hearth.add_channel("mods-only")
    await setup_reply(hearth, review_channel=fresh)
    [item] = await hearth.fake.wait_until(
        lambda: [m for m in hearth.fake.messages(fresh) if m.find_component(label="Approve")],
        timeout=3, what="the review item in the new review channel",
    )
    assert TEXT in item.text


# ----- reports and care alerts ----------------------------------------------------------------


@pytest.mark.leak_scan
async def test_a_report_reaches_the_review_channel_when_the_alerts_channel_is_gone(hearth: Harness) -> None:
    await set_up_sharing(hearth)
    await share(hearth, "alice")
    [posted] = hearth.fake.messages(hearth.channels["sharing"])
    await hearth.delete_channel("alerts")
    opened = await hearth.actor("bob", "sharing").message_command("Report to moderators", posted)
    done = await (await opened.submit({"What's wrong with it?": "This does not feel okay to me."})).reply()
    assert "Thank you for telling us" in done.text
    reports = [m for m in hearth.fake.messages(hearth.channels["review"]) if "was reported" in m.text]
    assert len(reports) == 1
    assert any("notices for moderators" in m.text or "reports" in m.text
               for m in titled(hearth, "review", NOTICE_TITLE))


@pytest.mark.hearth_config(sharing={"min_length": 5})
async def test_a_care_alert_that_cannot_be_posted_waits_for_setup(
    hearth: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await set_up_sharing(hearth)
    deny_send(hearth, "alerts")
    deny_send(hearth, "review")
    with caplog.at_level(logging.WARNING, logger="bot"):
        asked = await hearth.actor("alice").slash("faq", question=CRISIS_TEXT)
        await asked.wait_followups(1)
    assert "You're not alone" in asked.text
    assert "couldn't reach this server's moderators just now" in asked.text, "the member is told honestly"
    assert "is waiting" in caplog.text, "an undelivered alert is logged"

    shown = await setup_reply(hearth)
    [alert] = [e for e in shown.embeds if e.get("title") == "Someone may be in crisis"]
    assert hearth.members["alice"].mention in alert["description"]
    again = await setup_reply(hearth)
    assert all(e.get("title") != "Someone may be in crisis" for e in again.embeds), "delivered once"


async def test_waiting_notices_go_out_when_a_route_works_again(hearth: Harness) -> None:
    await set_up_sharing(hearth)
    alerts_block = deny_send(hearth, "alerts")
    review_block = deny_send(hearth, "review")
    asked = await hearth.actor("alice").slash("faq", question=CRISIS_TEXT)
    await asked.wait_followups(1)
    hearth.channels["alerts"].overwrites.remove(alerts_block)
    hearth.channels["review"].overwrites.remove(review_block)
    from bot.cogs._delivery import deliver_waiting

    await deliver_waiting(hearth.bot)  # what the job does every few minutes
    assert titled(hearth, "alerts", "Someone may be in crisis")
    assert not await hearth.bot.notices.waiting(hearth.guild.id)


# ----- scheduled check-ins ----------------------------------------------------------------------

NINE = MONDAY_8AM + timedelta(hours=1)


async def frozen_monday(hearth: Harness) -> None:
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)


async def test_a_schedule_whose_channel_was_deleted_pauses_and_moderators_hear_once(hearth: Harness) -> None:
    await frozen_monday(hearth)
    await set_up_sharing(hearth)
    schedule_id = await add_schedule(hearth)
    await hearth.delete_channel("checkins")
    report = await tick(hearth, NINE)
    assert len(report.failed) == 1
    [notice] = titled(hearth, "alerts", "A check-in schedule is paused")
    assert f"#{schedule_id}" in notice.text and "no longer exists" in notice.text
    assert "/schedule resume" in notice.text
    # The next days: nothing is tried again, and nothing more is said.
    for day in range(1, 3):
        report = await tick(hearth, NINE + timedelta(days=day))
        assert report.failed == [] and report.posted == []
    assert len(titled(hearth, "alerts", "A check-in schedule is paused")) == 1
    listed = await (await hearth.actor("mod", "general").slash("schedule list")).reply()
    assert "paused by Hearth" in listed.text and "no longer exists" in listed.text

    fresh = await hearth.add_channel("checkins-2")
    await (await hearth.actor("mod").slash("schedule edit", schedule=schedule_id, channel=fresh)).reply()
    resumed = await (await hearth.actor("mod").slash("schedule resume", schedule=schedule_id)).reply()
    assert "Resumed" in resumed.text
    report = await tick(hearth, NINE + timedelta(days=3))
    assert len(report.posted) == 1 and len(checkin_posts(hearth, "checkins-2")) == 1


async def test_without_an_alerts_channel_schedule_list_says_what_happened(hearth: Harness) -> None:
    await frozen_monday(hearth)
    schedule_id = await add_schedule(hearth)
    deny_send(hearth, "checkins")
    await tick(hearth, NINE)
    listed = await (await hearth.actor("mod", "general").slash("schedule list")).reply()
    assert "paused by Hearth" in listed.text and "permission" in listed.text
    shown = await setup_reply(hearth)
    assert f"#{schedule_id}" in attention(shown)
    assert any(e.get("title") == "A check-in schedule is paused" for e in shown.embeds[1:])


# ----- DMs closed ---------------------------------------------------------------------------------


@pytest.mark.leak_scan
async def test_a_decision_dm_to_closed_dms_is_tried_once_and_forgotten(
    hearth: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await set_up_sharing(hearth, vetting=True)
    hearth.members["alice"].user.dms_open = False
    held = await share(hearth, "alice")
    asked = await held.click(label="DM me when it's decided")
    assert "I'll DM you" in (await asked.reply()).text
    item = hearth.fake.last_message(hearth.channels["review"])
    mark = hearth.fake.journal.mark
    with caplog.at_level(logging.INFO, logger="bot"):
        approved = await (await hearth.actor("mod", "review").click(item, label="Approve")).reply()
    assert "Approved and posted" in approved.text, "closed DMs don't get in the moderator's way"
    sends = [e for e in hearth.fake.journal.select("POST /channels/{channel_id}/messages", after=mark)
             if e.status == 403]
    assert len(sends) == 1, "one try, no retry loop"
    assert "could not be delivered (403)" in caplog.text
    db = hearth.bot.db
    assert db is not None
    assert await db.fetchval("SELECT COUNT(*) FROM sharing_posts WHERE notify_enc IS NOT NULL") == 0


# ----- deleted threads and messages ----------------------------------------------------------------

async def posted_share_with_thread(hearth: Harness) -> tuple[Any, Any]:
    """Alice shares (no vetting); return her post and the thread that holds its replies."""
    await set_up_sharing(hearth)
    await share(hearth, "alice")
    [posted] = hearth.fake.messages(hearth.channels["sharing"])
    [thread] = hearth.fake.world.threads_of(hearth.channels["sharing"])
    return posted, thread


@pytest.mark.leak_scan
async def test_a_reply_whose_thread_was_deleted_is_not_retried_forever(hearth: Harness) -> None:
    posted, thread = await posted_share_with_thread(hearth)
    await hearth.delete_channel(thread)
    opened = await hearth.actor("bob", "sharing").click(posted, label="Reply anonymously")
    result = await (await opened.submit({REPLY_FIELD: "That took courage, and it matters."})).reply()
    assert "saved" in result.text
    hearth.clock.advance(seconds=31)
    cog: Any = hearth.bot.get_cog("Sharing")
    await cog.post_due()
    # Discord keeps a deleted thread's place on its message, so no new thread can open there:
    # the reply is given up on, and its author can see why.
    mine = await (await hearth.actor("bob").slash("myshares")).reply()
    assert "not posted" in mine.text and "reply thread was deleted" in mine.text
    hearth.clock.advance(hours=1)
    assert await cog.post_due() == 0 and not hearth.fake.world.channel_messages(thread)


@pytest.mark.leak_scan
async def test_a_reply_to_a_share_deleted_by_hand_is_not_kept_waiting(hearth: Harness) -> None:
    posted, thread = await posted_share_with_thread(hearth)
    opened = await hearth.actor("bob", "sharing").click(posted, label="Reply anonymously")
    posted.deleted = True
    await hearth.delete_channel(thread)
    first = await (await opened.submit({REPLY_FIELD: "I hope it went well for you."})).reply()
    assert "saved" in first.text
    hearth.clock.advance(seconds=31)
    assert await hearth.bot.get_cog("Sharing").post_due() == 0  # type: ignore[union-attr]
    mine = await (await hearth.actor("bob").slash("myshares")).reply()
    assert "not posted" in mine.text and "share it answered was removed" in mine.text
    assert await hearth.bot.sharing.store.count_by_status() == {"posted": 1, "rejected": 1}


async def test_a_group_exercise_schedule_in_a_deleted_channel_pauses_and_leaves_no_session(
    hearth: Harness,
) -> None:
    await frozen_monday(hearth)
    await set_up_sharing(hearth)
    schedule_id = await add_schedule(hearth, exercise="grounding-5-4-3-2-1")
    await hearth.delete_channel("checkins")
    report = await tick(hearth, NINE)
    assert len(report.failed) == 1
    [notice] = titled(hearth, "alerts", "A check-in schedule is paused")
    assert f"#{schedule_id}" in notice.text
    db = hearth.bot.db
    assert db is not None
    assert await db.fetchval("SELECT COUNT(*) FROM exercise_sessions WHERE status = 'active'") == 0


@pytest.mark.leak_scan
async def test_passing_trouble_is_retried_without_alarming_moderators(hearth: Harness) -> None:
    await set_up_sharing(hearth)
    # 503 is not retried by discord.py itself, so the share meets it at once.
    hearth.fake.faults.server_error(
        "POST /channels/{channel_id}/messages", status=503, channel_id=hearth.channels["sharing"].id
    )
    result = await share(hearth, "alice")
    assert "saved safely" in result.text and "keep trying" in result.text
    assert titled(hearth, "alerts", NOTICE_TITLE) == [], "a passing 5xx is not a channel problem"
    hearth.clock.advance(seconds=31)
    assert await hearth.bot.get_cog("Sharing").post_due() == 1  # type: ignore[union-attr]
