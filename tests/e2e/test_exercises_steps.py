"""Step exercises, the thought record and group mode through the fake Discord."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.slow_writes import slow_down_write
from tests.fakediscord.harness import Harness


def _desc(result: Any) -> str:
    return str(result.embed.get("description", ""))


def _footer(result: Any) -> str:
    return str(result.embed.get("footer", {}).get("text", ""))


async def test_exercise_names_autocomplete_from_the_content(hearth: Harness) -> None:
    choices = await hearth.actor("alice").autocomplete("exercise", "name", "breath")
    values = [c["value"] for c in choices]
    assert values[:3] == ["box-breathing", "breathing-4-7-8", "paced-breathing"]
    everything = await hearth.actor("alice").autocomplete("exercise", "name", "")
    assert len(everything) == 10
    assert all(len(c["name"]) <= 100 for c in everything)


async def test_an_unknown_exercise_gets_a_kind_answer(hearth: Harness) -> None:
    result = await hearth.actor("alice").slash("exercise", name="juggling")
    assert result.ephemeral
    assert "I don't know an exercise called `juggling`" in result.content


async def test_an_exercise_can_be_named_by_its_title_in_any_case_or_with_a_typo(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    typed_title = await alice.slash("exercise", name="5-4-3-2-1 Grounding")
    assert typed_title.ephemeral and "### Five things you can see" in _desc(typed_title)
    misspelt = await alice.slash("exercise", name="THOUGTH record")
    assert misspelt.embed["title"] == "Thought record" and "### The situation" in _desc(misspelt)
    vague = await alice.slash("exercise", name="breathing")
    assert vague.ephemeral and "I don't know an exercise called `breathing`" in vague.content


async def test_a_step_exercise_continues_after_a_restart(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    started = await alice.slash("exercise", name="grounding-5-4-3-2-1")
    assert started.ephemeral
    assert "### Five things you can see" in _desc(started)
    assert _footer(started).startswith("Step 1 of 5  ●○○○○")
    buttons = {b["label"]: b for b in started.message.buttons}
    assert list(buttons) == ["Back", "Next", "Stop"]
    assert buttons["Back"].get("disabled") is True
    assert all(":exercise:step:" in b["custom_id"] and str(hearth.members["alice"].id) not in b["custom_id"]
               for b in buttons.values())

    second = await alice.click(started, label="Next")
    assert second.type == 7 and "### Four things you can feel" in _desc(second)

    await hearth.restart()
    message = hearth.fake.message(started.message.id)
    third = await hearth.actor("alice").click(message, label="Next")
    assert "### Three things you can hear" in _desc(third)
    assert _footer(third).startswith("Step 3 of 5  ●●●○○")
    back = await hearth.actor("alice").click(third, label="Back")
    assert "### Four things you can feel" in _desc(back)
    for title in ("Three things you can hear", "Two things you can smell", "One thing you can taste"):
        back = await hearth.actor("alice").click(back, label="Next")
        assert f"### {title}" in _desc(back)
    assert [b["label"] for b in back.message.buttons] == ["Back", "Finish", "Stop"]
    done = await hearth.actor("alice").click(back, label="Finish")
    assert _desc(done).startswith("## Finished\nYou just spent a few minutes in the present moment.")
    assert done.message.buttons == []


async def test_next_is_acknowledged_in_time_when_saving_the_step_is_slow(
    hearth: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = hearth.bot.get_cog("Exercises").service.sessions  # type: ignore[union-attr]
    alice = hearth.actor("alice")
    started = await alice.slash("exercise", name="grounding-5-4-3-2-1")
    move = slow_down_write(monkeypatch, sessions, "move")
    clicked = await alice.click(started, label="Next")
    assert clicked.type == 6 and clicked.latency < 3
    await clicked.reply(timeout=8)
    assert "### Four things you can feel" in _desc(clicked)

    monkeypatch.setattr(sessions, "move", move)
    quick = await alice.click(clicked, label="Next")
    assert quick.type == 7 and "### Three things you can hear" in _desc(quick)


async def test_breathing_options_given_to_a_step_exercise_are_named_as_unused(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    started = await alice.slash("exercise", name="grounding-5-4-3-2-1", rate=6, cycles=3)
    note = "5-4-3-2-1 grounding goes at your own pace, so `rate` and `cycles` aren't used here."
    assert note in _desc(started) and "### Five things you can see" in _desc(started)
    moved = await alice.click(started, label="Next")
    assert "aren't used here" not in _desc(moved)

    plain = await alice.slash("exercise", name="muscle-relaxation")
    assert "used here" not in _desc(plain)

    group = await (await hearth.actor("mod").slash("exercise", name="self-soothing", group=True,
                                                    cycles=2)).reply()
    assert group.ephemeral and "so `cycles` isn't used here." in group.text
    posted = hearth.fake.last_message(hearth.channels["general"])
    assert posted is not None and "used here" not in posted.text


async def test_stopping_a_step_exercise_says_it_can_be_started_again(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    started = await alice.slash("exercise", name="muscle-relaxation")
    stopped = await alice.click(started, label="Stop")
    assert _desc(stopped) == (
        "## Stopped\nThat's fine: you can start it again from the beginning any time with **/exercise**."
    )
    assert stopped.message.buttons == []


ANSWERS = [
    {"What happened?": "My friend read my message and didn't answer all evening."},
    {"What went through your mind?": "She is pulling away from me, like everyone does."},
    {"Which emotion?": "anxious", "How strong, from 0 to 100?": "80"},
    {"Evidence that supports the thought": "She has been quieter this week.",
     "Evidence that doesn't fit it": "She told me she has exams. She always replies in the end."},
    {"A more balanced thought": "She is probably busy with exams; it isn't about me.",
     "The emotion now, from 0 to 100": "40"},
]


async def answer_step(alice: Any, current: Any, answers: dict[str, str]) -> Any:
    """Open the step's form, submit `answers` and wait until the exercise has moved on."""
    moved = await (await alice.click(current, label="Answer")).submit(answers)
    await moved.reply()
    return moved


async def test_a_full_thought_record_is_saved_to_the_journal(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    current = await alice.slash("exercise", name="thought-record")
    assert "### The situation" in _desc(current)
    assert [b["label"] for b in current.message.buttons] == ["Back", "Answer", "Stop"]

    titles = ["The situation", "The automatic thought", "The feeling", "The evidence", "A balanced thought"]
    for number, (title, answers) in enumerate(zip(titles, ANSWERS, strict=True), start=1):
        opened = await alice.click(current, label="Answer")
        assert opened.type == 9 and opened.modal.title == title
        if number == 3:
            # A rating that isn't a number is sent back to fix, with the words kept.
            fix = await opened.submit({"Which emotion?": "anxious", "How strong, from 0 to 100?": "lot"})
            await fix.reply()
            assert "**How strong, from 0 to 100?** needs a whole number from 0 to 100." in _desc(fix)
            assert "### The feeling" in _desc(fix)
            opened = await alice.click(fix, label="Answer")
            assert opened.modal.field("Which emotion?").value == "anxious"
        current = await opened.submit(answers)
        await current.reply()  # the step message itself moves on

    saved = _desc(current)
    assert saved.startswith("## Saved to your journal\n**Thought record**")
    assert "**Emotion:** anxious, 80/100" in saved
    assert "**Intensity afterwards:** 40/100 (down 40)" in saved
    assert current.message.buttons == []

    listed = await (await alice.slash("journal entries")).reply()
    assert "Thought record" in listed.text
    assert "My friend read my message" in listed.text
    [option] = listed.selects[0]["options"]
    opened_entry = await alice.select(listed, [option["value"]])
    assert opened_entry.ephemeral and opened_entry.embed["title"].startswith("Thought record")
    assert _desc(opened_entry).splitlines() == [
        "**Thought record**",
        "",
        "**Situation:** My friend read my message and didn't answer all evening.",
        "**Automatic thought:** She is pulling away from me, like everyone does.",
        "**Emotion:** anxious, 80/100",
        "**Evidence for the thought:** She has been quieter this week.",
        "**Evidence against the thought:** She told me she has exams. She always replies in the end.",
        "**Balanced thought:** She is probably busy with exams; it isn't about me.",
        "**Intensity afterwards:** 40/100 (down 40)",
    ]


async def test_starting_another_exercise_keeps_a_half_done_thought_record(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    record = await alice.slash("exercise", name="thought-record")
    current = record
    for answers in ANSWERS[:2]:
        current = await answer_step(alice, current, answers)

    grounding = await alice.slash("exercise", name="grounding-5-4-3-2-1")
    assert "### Five things you can see" in _desc(grounding)
    assert ("Your unfinished thought record is kept with its answers: start **Thought record** again with "
            "**/exercise** to carry on where you left off.") in _desc(grounding)

    # The thought record's own message still works ...
    opened = await alice.click(hearth.fake.message(record.message.id), label="Answer")
    assert opened.modal.title == "The feeling"
    current = await opened.submit(ANSWERS[2])
    await current.reply()
    assert "### The evidence" in _desc(current)

    # ... and starting it again picks it up where it was left, even if that message is gone.
    resumed = await alice.slash("exercise", name="thought-record")
    assert "### The evidence" in _desc(resumed) and "### The situation" not in _desc(resumed)
    assert "You were part-way through a thought record, so it carries on where you left off." in \
        _desc(resumed)
    assert _footer(resumed).startswith("Step 4 of 5")
    current = resumed
    for answers in ANSWERS[3:]:
        current = await answer_step(alice, current, answers)
    saved = _desc(current)
    assert saved.startswith("## Saved to your journal")
    assert "**Situation:** My friend read my message and didn't answer all evening." in saved
    assert "**Automatic thought:** She is pulling away from me, like everyone does." in saved
    assert "**Emotion:** anxious, 80/100" in saved


async def test_stopping_a_thought_record_says_its_answers_are_deleted(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    current = await alice.slash("exercise", name="thought-record")
    current = await answer_step(alice, current, ANSWERS[0])
    stopped = await alice.click(current, label="Stop")
    assert _desc(stopped) == (
        "## Stopped\nYour answers to this thought record have been deleted, and nothing was saved to your "
        "journal. You can start a new one any time with **/exercise**."
    )
    assert "pick it up" not in _desc(stopped)
    listed = await (await alice.slash("journal entries")).reply()
    assert "Your journal is empty." in listed.text
    # And it is true: a new one starts from the beginning, with nothing of the old answers.
    fresh = await alice.slash("exercise", name="thought-record")
    assert "### The situation" in _desc(fresh) and "My friend read my message" not in _desc(fresh)
    assert "part-way through" not in _desc(fresh)
    opened = await alice.click(fresh, label="Answer")
    assert opened.modal.field("What happened?").value in (None, "")


async def test_back_in_a_thought_record_shows_the_earlier_answer_ready_to_change(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    current = await alice.slash("exercise", name="thought-record")
    current = await answer_step(alice, current, ANSWERS[0])
    back = await alice.click(current, label="Back")
    assert "### The situation" in _desc(back)
    assert "My friend read my message" in _desc(back)
    opened = await alice.click(back, label="Answer")
    assert opened.modal.field("What happened?").value == ANSWERS[0]["What happened?"]


async def test_a_thought_record_survives_a_restart_with_its_form_open(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    current = await alice.slash("exercise", name="thought-record")
    opened = await alice.click(current, label="Answer")
    await hearth.restart()
    moved = await hearth.actor("alice").submit(opened, ANSWERS[0])
    await moved.reply()
    assert "### The automatic thought" in _desc(moved)


async def test_crisis_words_in_a_thought_record_step_get_care_at_once_and_privately(
    hearth: Harness,
) -> None:
    await (await hearth.actor("mod").slash("setup", alerts_channel=hearth.channels["alerts"])).reply()
    alice = hearth.actor("alice")
    current = await answer_step(alice, await alice.slash("exercise", name="thought-record"), ANSWERS[0])
    current = await answer_step(alice, current, {"What went through your mind?": "I want to die."})
    (care,) = await current.wait_followups(1)
    assert care.ephemeral and care.embeds[0]["title"] == "You're not alone"
    assert "carrying something really heavy" in care.text
    assert "Nobody has been told about this." in care.text

    stopped = await alice.click(current, label="Stop")
    assert _desc(stopped).startswith("## Stopped")
    assert hearth.fake.messages(hearth.channels["alerts"]) == []


async def test_crisis_words_in_a_thought_record_step_get_care_even_when_the_step_could_not_be_saved(
    hearth: Harness,
) -> None:
    from tests.e2e.test_busy_e2e import busy_database  # here: that module imports ANSWERS from this one

    alice = hearth.actor("alice")
    current = await answer_step(alice, await alice.slash("exercise", name="thought-record"), ANSWERS[0])
    opened = await alice.click(current, label="Answer")
    async with busy_database(hearth):
        failed = await opened.submit({"What went through your mind?": "I want to die."})
        told, care = await failed.wait_followups(2)
    assert told.ephemeral and "very busy" in told.text and "I want to die." in told.text
    assert care.ephemeral and care.embeds[0]["title"] == "You're not alone"
    assert "carrying something really heavy" in care.text
    assert "### The automatic thought" in _desc(failed), "still at the same step"


async def test_thought_record_care_is_offered_once_per_level(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    current = await answer_step(alice, await alice.slash("exercise", name="thought-record"), ANSWERS[0])
    current = await answer_step(alice, current, {"What went through your mind?": "I feel so hopeless."})
    (care,) = await current.wait_followups(1)
    assert "It sounds like things are hard" in care.text

    # The same worry again at the next step is not met with the same resources again ...
    current = await answer_step(alice, current, {"Which emotion?": "hopeless, I feel so hopeless",
                                                 "How strong, from 0 to 100?": "90"})
    await asyncio.sleep(0.3)
    assert current.followups == []
    # ... but words that worry more are.
    current = await answer_step(alice, current, {"Evidence that supports the thought": "I want to die.",
                                                 "Evidence that doesn't fit it": "None."})
    (care,) = await current.wait_followups(1)
    assert "carrying something really heavy" in care.text


async def test_a_moderator_runs_a_group_pacer_publicly(hearth: Harness) -> None:
    cog: Any = hearth.bot.get_cog("Exercises")
    from bot.cogs.exercises import PacerTiming

    cog.pacer_timing = PacerTiming(scale=0.05, min_edit_interval=0.1)
    general = hearth.channels["general"]
    answer = await hearth.actor("mod").slash("exercise", name="box-breathing", group=True, cycles=1)
    reply = await answer.reply()
    assert reply.ephemeral and "Started **Box breathing** for everyone in this channel" in reply.text

    posted = hearth.fake.last_message(general)
    assert posted is not None and not posted.ephemeral
    assert posted.embeds[0]["title"] == "Box breathing · together"
    assert [b["label"] for b in posted.buttons] == ["Stop", "Do it on my own"]

    def done() -> bool:
        return hearth.fake.message(posted.id).embeds[0]["description"].startswith("## Done")

    await hearth.fake.wait_until(done, timeout=5, what="the group pacer to finish")
    edits = hearth.fake.journal.select("PATCH /channels/{channel_id}/messages/{message_id}",
                                       message_id=posted.id)
    headings = [e.json["embeds"][0]["description"].split("\n")[0] for e in edits]
    assert headings == [
        "## Breathe in for 4", "## Hold for 4", "## Breathe out for 4", "## Hold for 4", "## Done",
    ]
    # After the group is done, anyone can still do it privately.
    assert [b["label"] for b in hearth.fake.message(posted.id).buttons] == ["Do it on my own"]
    mine = await hearth.actor("bob").click(hearth.fake.message(posted.id), label="Do it on my own")
    assert mine.ephemeral and mine.embed["title"] == "Box breathing"


async def test_only_moderators_start_or_stop_group_exercises(hearth: Harness) -> None:
    refused = await hearth.actor("alice").slash("exercise", name="box-breathing", group=True)
    assert refused.ephemeral and "for this server's moderators" in refused.content
    assert hearth.fake.last_message(hearth.channels["general"]) is None

    await (await hearth.actor("mod").slash("exercise", name="box-breathing", group=True)).reply()
    posted = hearth.fake.last_message(hearth.channels["general"])
    assert posted is not None
    not_allowed = await hearth.actor("bob").click(posted, label="Stop")
    assert not_allowed.ephemeral and "Only a moderator can stop the group's breathing" in not_allowed.content
    stopped = await hearth.actor("mod").click(posted, label="Stop")
    assert _desc(stopped).startswith("## Stopped")


async def test_a_group_step_exercise_is_led_by_a_moderator(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("exercise", name="grounding-5-4-3-2-1", group=True)).reply()
    posted = hearth.fake.last_message(hearth.channels["general"])
    assert posted is not None and not posted.ephemeral
    assert posted.embeds[0]["title"] == "5-4-3-2-1 grounding · together"
    assert [b["label"] for b in posted.buttons] == ["Back", "Next", "Stop", "Do it on my own"]

    refused = await hearth.actor("bob").click(posted, label="Next")
    assert refused.ephemeral and "A moderator leads this group exercise" in refused.content
    moved = await hearth.actor("mod").click(posted, label="Next")
    assert "### Four things you can feel" in _desc(moved)
    assert not moved.ephemeral

    private = await hearth.actor("bob").click(posted, label="Do it on my own")
    assert private.ephemeral and "### Five things you can see" in _desc(private)


async def test_post_group_exercise_for_a_check_in_schedule(hearth: Harness) -> None:
    cog: Any = hearth.bot.get_cog("Exercises")
    checkins = hearth.bot.get_channel(hearth.channels["checkins"].id)
    assert checkins is not None
    message = await cog.post_group_exercise(checkins, "self-soothing")
    posted = hearth.fake.message(message.id)
    assert posted.channel_id == hearth.channels["checkins"].id and not posted.ephemeral
    assert "### Sight" in posted.embeds[0]["description"]

    invitation = await cog.post_group_exercise(checkins, "thought-record")
    shown = hearth.fake.message(invitation.id)
    assert [b["label"] for b in shown.buttons] == ["Do it on my own"]
    started = await hearth.actor("carol", "checkins").click(shown, label="Do it on my own")
    assert started.ephemeral and "### The situation" in _desc(started)

    prompt = await cog.post_group_exercise(checkins, "journal-prompt")
    public_prompt = hearth.fake.message(prompt.id)
    assert [b["label"] for b in public_prompt.buttons] == ["Write about this"]
    opened = await hearth.actor("carol", "checkins").click(public_prompt, label="Write about this")
    saved = await opened.submit({"Your entry": "Writing this privately, from the group prompt."})
    await saved.reply()
    assert saved.ephemeral and saved.content.startswith("Saved to your private journal.")

    # A partial channel that knows only its ids works too (check-in schedules may pass one).
    partial = hearth.bot.get_partial_messageable(hearth.channels["checkins"].id, guild_id=hearth.guild.id)
    posted = await cog.post_group_exercise(partial, "name-the-feeling")
    assert "### Start with your body" in hearth.fake.message(posted.id).embeds[0]["description"]


async def test_a_scheduled_group_step_post_keeps_its_marker_at_every_step(hearth: Harness) -> None:
    cog: Any = hearth.bot.get_cog("Exercises")
    checkins = hearth.bot.get_channel(hearth.channels["checkins"].id)
    message = await cog.post_group_exercise(checkins, "self-soothing", marker="Hearth check-in #7")
    posted = hearth.fake.message(message.id)
    assert posted.embeds[0]["footer"]["text"].startswith("Hearth check-in #7 · Step 1 of 6")

    mod = hearth.actor("mod", "checkins")
    moved = await mod.click(posted, label="Next")
    assert "### Sound" in _desc(moved)
    assert _footer(moved).startswith("Hearth check-in #7 · Step 2 of 6  ●●○○○○")
    back = await mod.click(moved, label="Back")
    assert _footer(back).startswith("Hearth check-in #7 · Step 1 of 6")
    stopped = await mod.click(back, label="Stop")
    assert _desc(stopped).startswith("## Stopped") and _footer(stopped) == "Hearth check-in #7"

    # A group post without a marker gets none.
    plain = await cog.post_group_exercise(checkins, "grounding-5-4-3-2-1")
    after = await mod.click(hearth.fake.message(plain.id), label="Next")
    assert _footer(after).startswith("Step 2 of 5")


async def test_the_start_button_gives_anyone_the_exercise_privately(hearth: Harness) -> None:
    import discord

    from bot.cogs.exercises import StartButton

    channel = hearth.bot.get_channel(hearth.channels["checkins"].id)
    assert isinstance(channel, discord.TextChannel)
    view = discord.ui.View(timeout=None).add_item(StartButton("grounding-5-4-3-2-1", label="Grounding"))
    sent = await channel.send("Feeling low? Try this:", view=view)
    assert hearth.fake.message(sent.id).buttons[0]["custom_id"] == "hearth:exercise:start:grounding-5-4-3-2-1"
    started = await hearth.actor("alice", "checkins").click(hearth.fake.message(sent.id), label="Grounding")
    assert started.ephemeral and "### Five things you can see" in _desc(started)
