"""A group check-in via the fake Discord: moods counted once, notes, closing, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services.identity import ban_key_for, pseudonym_for
from tests.e2e.checkin_helpers import (
    MONDAY_8AM,
    add_schedule,
    checkin_posts,
    cog,
    count_field,
    occurrence_id_of,
    settle,
    tick,
)
from tests.fakediscord.actors import InteractionResult
from tests.fakediscord.harness import Harness
from tests.fakediscord.world import Message

pytestmark = pytest.mark.hearth_config(checkins={"count_refresh_seconds": 0.0})

NINE = datetime(2026, 6, 1, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
async def frozen_monday(hearth: Harness) -> None:
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)


async def posted_checkin(hearth: Harness, **options: object):
    await add_schedule(hearth, **options)
    report = await tick(hearth, NINE)
    assert len(report.posted) == 1
    [post] = checkin_posts(hearth)
    return post


async def test_a_check_in_is_posted_when_due_and_not_before(hearth: Harness) -> None:
    await add_schedule(hearth)
    await tick(hearth, NINE - timedelta(seconds=1))
    assert checkin_posts(hearth) == []
    await tick(hearth, NINE)
    await tick(hearth, NINE + timedelta(minutes=1))
    [post] = checkin_posts(hearth)
    labels = [b.get("label") for b in post.buttons]
    assert labels == ["1 · Rough", "2 · Low", "3 · Okay", "4 · Good", "5 · Great", "Add a few words", "Pass"]
    assert all(b.get("emoji") for b in post.buttons[:5])
    prompt = post.embed["description"].split("**")[1]
    all_prompts = {p.text for s in cog(hearth).service.prompts.sets.values() for p in s.prompts}
    assert prompt in all_prompts
    assert count_field(post) == "No one yet. You could be the first."
    # No custom id anywhere on the way to a note carries a member's id: not the check-in's
    # buttons, not the visibility buttons, not the note form.
    alice = hearth.actor("alice", "checkins")
    chooser = await alice.click(post, label="Add a few words")
    opened = await alice.click(chooser, label="The group, anonymously")
    custom_ids = [str(b.get("custom_id")) for b in (*post.buttons, *chooser.message.buttons)]
    custom_ids.append(opened.modal.custom_id)
    assert len(custom_ids) == 11
    for member in hearth.members.values():
        assert all(str(member.user.id) not in custom_id for custom_id in custom_ids)


async def test_mood_clicks_are_counted_once_per_member_and_never_show_who(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    alice = hearth.actor("alice", "checkins")
    first = await alice.click(post, label="3 · Okay")
    assert first.ephemeral and "Thank you for checking in" in first.text and "3 · Okay" in first.text
    changed = await alice.click(post, label="4 · Good")
    assert changed.ephemeral and "Changed to" in changed.text and "4 · Good" in changed.text
    await hearth.actor("bob", "checkins").click(post, label="5 · Great")
    await cog(hearth).counts.flush()
    live = hearth.fake.message(post.id)
    assert count_field(live) == "2 members checked in."
    public = live.text
    for name in ("alice", "bob"):
        assert hearth.members[name].user.username not in public
    assert "How the group is doing" not in public  # distribution is off by default
    total, moods = await cog(hearth).service.store.answer_counts(occurrence_id_of(post))
    assert total == 2 and moods == {4: 1, 5: 1}


async def test_a_low_mood_is_offered_breathing_grounding_and_resources_privately(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    reply = await hearth.actor("carol", "checkins").click(post, label="1 · Rough")
    assert reply.ephemeral
    assert "/resources" in reply.text and "with the buttons below" in reply.text
    buttons = {b.get("label"): b.get("custom_id") for b in reply.message.buttons}
    assert buttons == {
        "Breathe with me": "hearth:exercise:start:box-breathing",
        "Ground myself": "hearth:exercise:start:grounding-5-4-3-2-1",
    }
    # The exercises area answers the button, privately.
    started = await hearth.actor("carol", "checkins").click(reply, label="Breathe with me")
    assert (await started.reply()).ephemeral
    # Nothing about Carol's mood reaches the channel.
    assert "Rough" not in "\n".join(m.text for m in hearth.fake.messages(hearth.channels["checkins"])
                                    if m.id != post.id)


async def test_a_low_mood_reply_offers_only_what_it_shows(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    bot = hearth.running_bot
    # Without the breathing and grounding exercises among the content: no buttons, so the reply
    # points to /exercise instead of to buttons "below".
    library = bot.content.parts["exercises"]
    bot.content.parts["exercises"] = {}
    try:
        reply = await hearth.actor("carol", "checkins").click(post, label="2 · Low")
    finally:
        bot.content.parts["exercises"] = library
    assert reply.message.buttons == []
    assert "below" not in reply.text and "`/exercise`" in reply.text and "/resources" in reply.text
    # Without the exercises area at all: no exercise is offered, only the helplines.
    await bot.remove_cog("Exercises")
    for seen in (
        (await hearth.actor("alice", "checkins").click(post, label="1 · Rough")).message,
        await (await hearth.actor("bob", "general").slash("checkin", mood=1)).reply(),
    ):
        assert seen.buttons == []
        assert "exercise" not in seen.text and "below" not in seen.text
        assert "/resources" in seen.text


async def test_pass_counts_as_checked_in_without_a_mood(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    reply = await hearth.actor("alice", "checkins").click(post, label="Pass")
    assert reply.ephemeral and "Passing is always okay" in reply.text
    await cog(hearth).counts.flush()
    assert count_field(hearth.fake.message(post.id)) == "1 member checked in."


def fields_of(message) -> dict[str, str]:
    """Return a copy of a check-in's embed fields, by name (the fake's message changes with edits)."""
    return {f["name"]: f["value"] for f in message.embed.get("fields", [])}


def mood_lines(fields: dict[str, str]) -> list[str]:
    """Return the lines of a check-in's public mood spread (empty when none is shown)."""
    spread = fields.get("How the group is doing", "")
    return spread.strip("`").strip().splitlines() if spread.startswith("```") else []


async def test_the_distribution_shows_only_at_the_close_when_enabled_and_five_answered(
    hearth: Harness,
) -> None:
    post = await posted_checkin(hearth, show_distribution=True)
    for index in range(5):
        member = hearth.add_member(f"member{index}")
        await hearth.actor(member, "checkins").click(post, label="3 · Okay")
    await cog(hearth).counts.flush()
    before = fields_of(hearth.fake.message(post.id))
    # Alice's one click: were the spread shown while open, the two versions would show her mood.
    await hearth.actor("alice", "checkins").click(post, label="1 · Rough")
    await cog(hearth).counts.flush()
    after = fields_of(hearth.fake.message(post.id))
    assert before["Checked in"] == "5 members checked in." and after["Checked in"] == "6 members checked in."
    for version in (before, after):
        assert mood_lines(version) == []
        assert version["How the group is doing"] == (
            "Shown here when the check-in closes, if at least 5 members gave a mood."
        )
    await tick(hearth, NINE + timedelta(hours=12))
    lines = mood_lines(fields_of(hearth.fake.message(post.id)))
    assert lines[0].startswith("😞 Rough") and lines[0].endswith(" 1")
    assert lines[2].startswith("😐 Okay") and lines[2].endswith(" 5")


async def test_no_distribution_with_fewer_than_five_moods_even_at_the_close(hearth: Harness) -> None:
    post = await posted_checkin(hearth, show_distribution=True)
    for name in ("alice", "bob", "carol"):
        await hearth.actor(name, "checkins").click(post, label="4 · Good")
    await hearth.actor("owner", "checkins").click(post, label="Pass")
    await tick(hearth, NINE + timedelta(hours=12))
    closed = hearth.fake.message(post.id)
    # It did close: the closed text, the buttons off, and still no spread of moods.
    assert "This check-in has closed" in closed.text
    assert closed.buttons and all(b.get("disabled") for b in closed.buttons)
    fields = fields_of(closed)
    assert mood_lines(fields) == [] and "How the group is doing" not in fields
    assert "4 members checked in." in closed.text


async def submit_note(
    hearth: Harness, post, member: str, visibility_label: str, text: str
) -> InteractionResult:
    actor = hearth.actor(member, "checkins")
    chooser = await actor.click(post, label="Add a few words")
    assert chooser.ephemeral and "Who should see your words?" in chooser.text
    opened = await actor.click(chooser, label=visibility_label)
    assert opened.modal is not None
    return await actor.submit(opened, {"Your words": text})


async def write_note(hearth: Harness, post, member: str, visibility_label: str, text: str):
    return await (await submit_note(hearth, post, member, visibility_label, text)).reply()


async def test_a_note_at_each_visibility(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    db = hearth.running_bot.db
    assert db is not None
    occurrence_id = occurrence_id_of(post)

    private = await write_note(hearth, post, "alice", "Only me", "a quiet private thought")
    assert private.ephemeral and "Only you can see" in private.text
    assert hearth.fake.world.threads_of(hearth.channels["checkins"]) == []

    group = await write_note(hearth, post, "bob", "The group, under my name", "I set a boundary today")
    assert group.ephemeral and "under your name" in group.text
    [thread] = hearth.fake.world.threads_of(hearth.channels["checkins"])
    [bob_note] = hearth.fake.world.channel_messages(thread)
    assert "I set a boundary today" in bob_note.text
    bob = hearth.members["bob"]
    assert bob_note.embed["author"]["name"] in {bob.nick, bob.user.global_name, bob.user.username}

    await hearth.actor("carol", "checkins").click(post, label="2 · Low")
    anonymous = await write_note(hearth, post, "carol", "The group, anonymously", "it was a hard week")
    pseudonym = pseudonym_for(hearth.keyring, hearth.guild.id, f"checkin:{occurrence_id}",
                              hearth.members["carol"].user.id)
    assert anonymous.ephemeral and pseudonym in anonymous.text
    messages = hearth.fake.world.channel_messages(thread)
    assert len(messages) == 2
    carol_note = messages[1]
    assert "it was a hard week" in carol_note.text and pseudonym in carol_note.text
    carol = hearth.members["carol"]
    for name in {carol.nick, carol.user.global_name, carol.user.username} - {None}:
        assert name not in carol_note.text

    # Notes are sealed at rest: the words appear nowhere in the database in the clear.
    for table in ("checkin_answers", "checkin_anonymous_notes"):
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            dump = " ".join(str(v) for v in tuple(row))
            for words in ("quiet private thought", "boundary", "hard week"):
                assert words not in dump
    # No row ties Carol's anonymous note to her user id, her ban key, or the time of her answer.
    row = await db.fetchone("SELECT * FROM checkin_anonymous_notes")
    dump = " ".join(str(v) for v in tuple(row))
    carol_id = hearth.members["carol"].user.id
    assert str(carol_id) not in dump and ban_key_for(hearth.keyring, hearth.guild.id, carol_id) not in dump
    assert str(carol_note.id) not in dump
    answer = await db.fetchone(
        "SELECT answered_at, updated_at FROM checkin_answers WHERE user_id = ?", (carol_id,)
    )
    assert answer["answered_at"] == answer["updated_at"] and answer["updated_at"] not in dump

    # The lock that keeps two notes from opening two threads is not kept once the thread exists.
    assert cog(hearth)._thread_locks == {}

    # The count shows the anonymous note apart: Carol's mood counts once, her note never.
    await cog(hearth).counts.flush()
    assert count_field(hearth.fake.message(post.id)) == (
        "3 members checked in.\n1 anonymous note in the thread."
    )


async def test_changing_a_note_edits_it_and_moving_it_removes_the_old_one(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    await write_note(hearth, post, "bob", "The group, under my name", "first words")
    [thread] = hearth.fake.world.threads_of(hearth.channels["checkins"])
    await write_note(hearth, post, "bob", "The group, under my name", "better words")
    [note] = hearth.fake.world.channel_messages(thread)
    assert "better words" in note.text and note.edited
    await write_note(hearth, post, "bob", "Only me", "just mine now")
    assert hearth.fake.world.channel_messages(thread) == []


async def test_the_note_form_is_filled_with_earlier_words(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    await write_note(hearth, post, "alice", "Only me", "remember this")
    alice = hearth.actor("alice", "checkins")
    chooser = await alice.click(post, label="Add a few words")
    opened = await alice.click(chooser, label="Only me")
    assert opened.modal.field("Your words").value == "remember this"


async def crisis_note(hearth: Harness, visibility_label: str) -> tuple[Message, Message]:
    """Alice writes words of crisis in a note, with an alerts channel set; return her reply and the care."""
    if getattr(hearth.running_bot, "safety", None) is None:
        pytest.skip("the safety area is not installed")
    await hearth.actor("mod", "general").slash("setup", alerts_channel=hearth.channels["alerts"])
    post = await posted_checkin(hearth)
    submitted = await submit_note(hearth, post, "alice", visibility_label, "I want to end my life")
    await hearth.fake.wait_until(lambda: len(submitted.messages) >= 2, what="the care message")
    reply, care = submitted.messages
    return reply, care


async def test_crisis_words_in_a_group_note_reach_resources_and_moderators(hearth: Harness) -> None:
    shared, care = await crisis_note(hearth, "The group, under my name")
    assert "under your name" in shared.text
    assert care.ephemeral and "not alone" in care.text
    alert = await hearth.fake.wait_for_message(hearth.channels["alerts"], lambda m: "check-in note" in m.text)
    assert alert is not None


async def test_crisis_words_in_a_private_note_reach_moderators_by_name_without_the_words(
    hearth: Harness,
) -> None:
    saved, care = await crisis_note(hearth, "Only me")
    assert "Only you can see these words" in saved.text
    assert care.ephemeral and "not alone" in care.text and "moderators know" in care.text
    alert = await hearth.fake.wait_for_message(hearth.channels["alerts"], lambda m: "check-in note" in m.text)
    assert hearth.members["alice"].user.mention in alert.text  # a moderator can reach out to her
    assert "end my life" not in alert.text and "Open the" not in alert.text  # the words stay hers
    assert hearth.fake.world.threads_of(hearth.channels["checkins"]) == []  # and nowhere public


@pytest.mark.parametrize("where", ["checkin", "note"])
async def test_crisis_words_not_saved_on_a_busy_database_still_bring_care(
    hearth: Harness, where: str
) -> None:
    from tests.e2e.test_busy_e2e import busy_database

    setup = await hearth.actor("mod", "general").slash("setup", alerts_channel=hearth.channels["alerts"])
    await setup.reply()
    words = "I want to end my life"
    if where == "checkin":
        async with busy_database(hearth):
            result = await hearth.actor("alice", "general").slash("checkin", mood=1, note=words)
            await hearth.fake.wait_until(lambda: len(result.messages) >= 2, what="care and the refusal")
    else:
        post = await posted_checkin(hearth)
        actor = hearth.actor("alice", "checkins")
        chooser = await actor.click(post, label="Add a few words")
        opened = await actor.click(chooser, label="The group, under my name")
        async with busy_database(hearth):
            result = await actor.submit(opened, {"Your words": words})
            await hearth.fake.wait_until(lambda: len(result.messages) >= 2, what="care and the refusal")
    assert all(m.ephemeral for m in result.messages)
    texts = [m.text for m in result.messages]
    assert any("not alone" in t for t in texts), texts  # helplines, privately
    assert any("very busy" in t and words in t for t in texts), texts  # and her words handed back
    alert = await hearth.fake.wait_for_message(hearth.channels["alerts"], lambda m: "check-in note" in m.text)
    assert hearth.members["alice"].user.mention in alert.text and words not in alert.text
    assert hearth.fake.world.threads_of(hearth.channels["checkins"]) == []
    alice_id = hearth.members["alice"].user.id
    assert await cog(hearth).service.store.user_moods(alice_id, NINE - timedelta(days=9)) == []  # not saved


async def test_the_window_closes_and_the_buttons_say_so(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    alice = hearth.actor("alice", "checkins")
    await alice.click(post, label="4 · Good")
    report = await tick(hearth, NINE + timedelta(hours=11, minutes=59))
    assert report.closed == []
    # A click after the window but before the runner edits the message is refused kindly.
    hearth.clock.set(NINE + timedelta(hours=12))
    late = await hearth.actor("bob", "checkins").click(post, label="3 · Okay")
    assert late.ephemeral and "closed" in late.text and "/checkin" in late.text
    report = await tick(hearth)
    assert len(report.closed) == 1
    closed = hearth.fake.message(post.id)
    assert "This check-in has closed" in closed.text and "1 member checked in." in closed.text
    assert all(b.get("disabled") for b in closed.buttons)
    answers, _ = await cog(hearth).service.store.answer_counts(report.closed[0])
    assert answers == 1


async def test_one_reminder_at_eighty_percent_only_to_those_who_opted_in(hearth: Harness) -> None:
    alice = hearth.actor("alice", "checkins")
    reply = await (await alice.slash("reminders on", time="20:00", timezone="UTC")).reply()
    assert "Reminders are on" in reply.text
    [hello] = hearth.fake.dm_messages(hearth.members["alice"])
    assert "This is where they'll arrive" in hello.text
    await (await hearth.actor("bob", "checkins").slash("reminders on", time="20:00", timezone="UTC")).reply()
    post = await posted_checkin(hearth)
    await hearth.actor("bob", "checkins").click(post, label="4 · Good")  # Bob answered already

    await tick(hearth, NINE + timedelta(hours=9, minutes=35))
    assert len(hearth.fake.dm_messages(hearth.members["alice"])) == 1
    await tick(hearth, NINE + timedelta(hours=9, minutes=36))
    await tick(hearth, NINE + timedelta(hours=10))
    alice_dms = hearth.fake.dm_messages(hearth.members["alice"])
    assert len(alice_dms) == 2 and "gentle reminder" in alice_dms[1].text
    assert len(hearth.fake.dm_messages(hearth.members["bob"])) == 1  # only his "reminders are on"
    assert hearth.fake.dm_messages(hearth.members["carol"]) == []  # never opted in


async def test_an_anonymous_note_counts_as_answered_for_the_reminder(hearth: Harness) -> None:
    for name in ("alice", "carol"):
        turned_on = await hearth.actor(name, "checkins").slash("reminders on", time="20:00", timezone="UTC")
        assert "Reminders are on" in (await turned_on.reply()).text
    post = await posted_checkin(hearth)
    shared = await write_note(hearth, post, "alice", "The group, anonymously", "a small win today")
    assert "Shared anonymously" in shared.text  # her only answer: no mood, no pass
    report = await tick(hearth, NINE + timedelta(hours=9, minutes=36))
    assert report.reminded == [hearth.members["carol"].user.id]
    assert len(hearth.fake.dm_messages(hearth.members["alice"])) == 1  # only "reminders are on"
    carol_dms = hearth.fake.dm_messages(hearth.members["carol"])
    assert len(carol_dms) == 2 and "gentle reminder" in carol_dms[1].text
    # Nothing new ties Alice to her anonymous note: its row holds only the per-check-in keyed hash.
    db = hearth.running_bot.db
    assert db is not None
    rows = await db.fetchall("SELECT * FROM checkin_anonymous_notes")
    alice_id = str(hearth.members["alice"].user.id)
    assert len(rows) == 1 and all(alice_id not in str(value) for value in tuple(rows[0]))


async def test_dms_closed_at_opt_in_is_explained_and_reminders_stay_off(hearth: Harness) -> None:
    await hearth.actor("mod", "general").slash("setup", checkin_channel=hearth.channels["checkins"])
    dave = hearth.add_member("dave", dms_open=False)
    result = await hearth.actor(dave, "general").slash("reminders on", time="20:00", timezone="UTC")
    reply = await result.reply()
    assert reply.ephemeral and "DMs seem to be closed" in reply.text
    assert f"<#{hearth.channels['checkins'].id}>" in reply.text
    reminder = await cog(hearth).service.store.get_reminder(dave.user.id, hearth.guild.id)
    assert reminder is not None and not reminder.enabled


async def test_dms_closed_later_turns_reminders_off_and_tells_the_member_once(hearth: Harness) -> None:
    erin = hearth.add_member("erin")
    await (await hearth.actor(erin, "checkins").slash("reminders on", time="20:00", timezone="UTC")).reply()
    post = await posted_checkin(hearth)
    erin.user.dms_open = False
    mark = hearth.fake.journal.mark
    report = await tick(hearth, NINE + timedelta(hours=9, minutes=36))
    assert report.dm_closed == [erin.user.id]
    sends = "POST /channels/{channel_id}/messages"
    attempts = hearth.fake.journal.select(sends, after=mark)
    await tick(hearth, NINE + timedelta(hours=11))  # the 20:00 personal reminder: off, so no second try
    assert len(hearth.fake.journal.select(sends, after=mark)) == len(attempts)
    reminder = await cog(hearth).service.store.get_reminder(erin.user.id, hearth.guild.id)
    assert reminder is not None and not reminder.enabled

    erin_actor = hearth.actor(erin, "checkins")
    told = await erin_actor.click(post, label="4 · Good")
    assert "DMs are closed" in told.text and f"<#{hearth.channels['checkins'].id}>" in told.text
    again = await erin_actor.click(post, label="3 · Okay")
    assert "DMs are closed" not in again.text


@pytest.mark.parametrize("where", ["setup", "schedule"])
async def test_dms_closed_at_a_personal_reminder_names_the_servers_check_in_channel(
    hearth: Harness, where: str
) -> None:
    # The server's check-in channel is the one /setup names, else the channel its check-ins go to.
    await hearth.add_channel("daily-checkin")
    if where == "setup":
        done = await hearth.actor("mod", "general").slash(
            "setup", checkin_channel=hearth.channels["daily-checkin"]
        )
        await done.reply()
    else:
        await add_schedule(hearth, channel="daily-checkin")
    erin = hearth.add_member("erin")
    await (await hearth.actor(erin, "general").slash("reminders on", time="20:00", timezone="UTC")).reply()
    erin.user.dms_open = False
    report = await tick(hearth, datetime(2026, 6, 1, 20, tzinfo=UTC))  # her own 20:00 reminder
    assert report.dm_closed == [erin.user.id] and report.personal_reminded == []
    told = await (await hearth.actor(erin, "general").slash("mood")).reply()
    channel = hearth.channels["daily-checkin"]
    assert "DMs are closed" in told.text and f"in <#{channel.id}>" in told.text
    assert "your server's check-in channel" not in told.text


async def test_mood_buttons_keep_working_after_a_restart(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    await hearth.restart()
    await settle(hearth)
    reply = await hearth.actor("alice", "checkins").click(post, label="2 · Low")
    assert reply.ephemeral and "2 · Low" in reply.text
    total, _ = await cog(hearth).service.store.answer_counts(occurrence_id_of(post))
    assert total == 1


async def test_a_busy_database_hands_the_members_words_back(hearth: Harness) -> None:
    from bot.storage.db import StorageBusyError

    post = await posted_checkin(hearth)

    async def busy(*args: object, **kwargs: object) -> None:
        raise StorageBusyError("database is locked")

    cog(hearth).service.save_note = busy  # type: ignore[method-assign]
    reply = await write_note(hearth, post, "alice", "Only me", "words I do not want to lose")
    assert reply.ephemeral and "very busy" in reply.text and "words I do not want to lose" in reply.text
