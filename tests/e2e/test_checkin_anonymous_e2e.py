"""Anonymous check-in notes follow the server's anonymous-sharing rules, and can be reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.services.identity import ban_key_for
from bot.storage.sharing import block_key_for
from tests.e2e.checkin_helpers import MONDAY_8AM, add_schedule, checkin_posts, cog, count_field, settle, tick
from tests.fakediscord.harness import Harness

pytestmark = [pytest.mark.hearth_config(checkins={"count_refresh_seconds": 0.0}), pytest.mark.leak_scan]

NINE = datetime(2026, 6, 1, 9, tzinfo=UTC)
ANONYMOUSLY = "The group, anonymously"


@pytest.fixture(autouse=True)
async def frozen_monday(hearth: Harness) -> None:
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)


async def posted_checkin(hearth: Harness):
    await add_schedule(hearth)
    await tick(hearth, NINE)
    [post] = checkin_posts(hearth)
    return post


async def write_note(hearth: Harness, post, member: str, visibility_label: str, text: str):
    actor = hearth.actor(member, "checkins")
    chooser = await actor.click(post, label="Add a few words")
    opened = await actor.click(chooser, label=visibility_label)
    return await (await actor.submit(opened, {"Your words": text})).reply()


def thread_messages(hearth: Harness) -> list:
    return [
        m
        for thread in hearth.fake.world.threads_of(hearth.channels["checkins"])
        for m in hearth.fake.world.channel_messages(thread)
    ]


async def test_links_and_mentions_in_anonymous_notes_follow_the_servers_rules(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    reply = await write_note(
        hearth, post, "alice", ANONYMOUSLY, "join us at discord.gg/abcdef @everyone, it helped me"
    )
    assert reply.ephemeral and "I removed an invite link" in reply.text
    [note] = thread_messages(hearth)
    assert "discord.gg" not in note.text and "[invite link removed]" in note.text
    assert "@\u200beveryone" in note.text

    await hearth.actor("mod").slash("sharemod settings", link_policy="refuse")
    refused = await write_note(hearth, post, "bob", ANONYMOUSLY, "read https://example.org please")
    assert "doesn't allow links" in refused.text and "read https://example.org please" in refused.text
    assert len(thread_messages(hearth)) == 1


async def test_blocked_terms_refuse_an_anonymous_note_and_hand_the_words_back(hearth: Harness) -> None:
    await hearth.actor("mod").slash("sharemod settings", add_terms="pineapple")
    post = await posted_checkin(hearth)
    refused = await write_note(hearth, post, "alice", ANONYMOUSLY, "I really miss my Pineapple friends")
    assert refused.ephemeral and "pineapple" in refused.text.lower()
    assert "I really miss my Pineapple friends" in refused.text  # handed back to copy
    assert thread_messages(hearth) == []
    assert await cog(hearth).service.store.anonymous_note_count(1) == 0


@pytest.mark.leak_scan(False)  # ends with words shared under the member's name, which name her
async def test_a_member_blocked_from_anonymous_sharing_cannot_post_anonymous_notes(hearth: Harness) -> None:
    alice = hearth.members["alice"]
    ban_key = ban_key_for(hearth.keyring, hearth.guild.id, alice.user.id)
    await hearth.running_bot.sharing.store.add_block(
        hearth.guild.id,
        block_key_for(hearth.keyring, hearth.guild.id, ban_key),
        hearth.clock(),
        moderator_id=hearth.members["mod"].user.id,
        reason="test",
        expires_at=None,
    )
    post = await posted_checkin(hearth)
    refused = await write_note(hearth, post, "alice", ANONYMOUSLY, "words I would like to share")
    assert "You can't share anonymously in this server" in refused.text
    assert "words I would like to share" in refused.text
    assert thread_messages(hearth) == []
    # Words under her own name are not anonymous, so the block does not apply to them.
    named = await write_note(hearth, post, "alice", "The group, under my name", "words I would like to share")
    assert "under your name" in named.text


@pytest.mark.hearth_config(checkins={"anonymous_notes_per_hour": 2})
async def test_anonymous_notes_have_an_hourly_limit(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    await write_note(hearth, post, "alice", ANONYMOUSLY, "first words")
    await write_note(hearth, post, "alice", ANONYMOUSLY, "first words, changed")
    limited = await write_note(hearth, post, "alice", ANONYMOUSLY, "changed once more")
    assert "a lot of anonymous words this hour" in limited.text and "changed once more" in limited.text
    [note] = thread_messages(hearth)
    assert "first words, changed" in note.text
    hearth.clock.advance(hours=1, minutes=1)
    again = await write_note(hearth, post, "alice", ANONYMOUSLY, "changed once more")
    assert "Shared anonymously" in again.text and "changed once more" in thread_messages(hearth)[0].text


@pytest.mark.hearth_config(checkins={"anonymous_notes_per_hour": 1})
async def test_crisis_words_refused_by_the_hourly_limit_still_bring_helplines(hearth: Harness) -> None:
    setup = await hearth.actor("mod", "general").slash(
        "setup", alerts_channel=hearth.channels["alerts"], region="UK"
    )
    await setup.reply()
    post = await posted_checkin(hearth)
    await write_note(hearth, post, "alice", ANONYMOUSLY, "first words")
    actor = hearth.actor("alice", "checkins")
    chooser = await actor.click(post, label="Add a few words")
    opened = await actor.click(chooser, label=ANONYMOUSLY)
    words = "I want to end my life"
    submitted = await actor.submit(opened, {"Your words": words})
    await hearth.fake.wait_until(lambda: len(submitted.messages) >= 2, what="care and the refusal")
    care, refused = submitted.messages
    assert care.ephemeral and care.embed["title"] == "You're not alone" and "116 123" in care.text
    assert "Nobody has been told" in care.text
    assert refused.ephemeral and "a lot of anonymous words this hour" in refused.text
    assert words in refused.text  # handed back to copy
    # Nothing was posted, so moderators get no alert with nothing to open.
    assert hearth.fake.messages(hearth.channels["alerts"]) == []
    [note] = thread_messages(hearth)
    assert "first words" in note.text


async def test_the_alert_about_a_crisis_anonymous_note_cannot_identify_its_author(hearth: Harness) -> None:
    alerts = hearth.channels["alerts"]
    await (await hearth.actor("mod", "general").slash("setup", alerts_channel=alerts)).reply()
    post = await posted_checkin(hearth)
    alice = hearth.members["alice"]
    words = "I want to end my life"
    shared = await write_note(hearth, post, "alice", ANONYMOUSLY, words)
    assert "Shared anonymously" in shared.text
    alert = await hearth.fake.wait_for_message(alerts, lambda m: "check-in note" in m.text, timeout=3)
    [note] = thread_messages(hearth)
    assert alert.embed["title"] == "Someone may be in crisis"
    assert "anonymously" in alert.text and f"/{note.id})" in alert.text  # the note itself, to open
    sent = hearth.fake.journal.select("POST /channels/{channel_id}/messages", channel_id=alerts.id)
    shown = alert.text + json.dumps(alert.embeds) + json.dumps(alert.components)
    shown += "".join(json.dumps(entry.json) for entry in sent)
    pseudonym = note.embed["author"]["name"]
    traces = [str(alice.user.id), alice.user.username, alice.user.mention, f"<@!{alice.user.id}>", pseudonym]
    traces += [name for name in (alice.nick, alice.user.global_name) if name]
    for trace in traces:
        assert trace not in shown, trace
    assert words not in shown and "end my life" not in shown
    assert not alert.content  # no ping, no name in the content either


@pytest.mark.leak_scan(False)  # words shared under a name name their writer, as they should
async def test_words_shared_under_a_name_cannot_then_go_anonymous(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    await write_note(hearth, post, "bob", "The group, under my name", "I had a good day")
    refused = await write_note(hearth, post, "bob", ANONYMOUSLY, "actually it was hard")
    assert "would not stay anonymous" in refused.text and "actually it was hard" in refused.text
    [note] = thread_messages(hearth)
    assert "I had a good day" in note.text


@pytest.mark.leak_scan(False)  # ends with words shared under the member's name, which name her
async def test_an_anonymous_note_can_be_reported_without_naming_the_reporter(hearth: Harness) -> None:
    await hearth.actor("mod", "general").slash("setup", alerts_channel=hearth.channels["alerts"])
    post = await posted_checkin(hearth)
    await write_note(hearth, post, "alice", ANONYMOUSLY, "something unkind about a person here")
    [note] = thread_messages(hearth)
    [thread] = hearth.fake.world.threads_of(hearth.channels["checkins"])
    opened = await hearth.actor("bob", thread).message_command("Report to moderators", note)
    assert opened.modal is not None and opened.modal.title == "Report to moderators"
    sent = await opened.submit({"What's wrong with it?": "It names someone in this group."})
    assert "your name isn't shared" in (await sent.reply()).text
    alert = hearth.fake.last_message(hearth.channels["alerts"])
    assert "anonymous check-in note was reported" in alert.text and "It names someone" in alert.text
    assert note.jump_url in json.dumps(alert.embeds)
    bob = hearth.members["bob"]
    for name in {bob.nick, bob.user.global_name, bob.user.username, str(bob.user.id)} - {None}:
        assert name not in alert.text

    # A note under a member's name is theirs to answer for: the menu points elsewhere.
    await write_note(hearth, post, "carol", "The group, under my name", "my own words")
    named = thread_messages(hearth)[-1]
    refused = await hearth.actor("bob", thread).message_command("Report to moderators", named)
    assert refused.ephemeral and "anonymous shares and replies" in refused.text


async def test_the_count_shows_anonymous_notes_apart_from_answers(hearth: Harness) -> None:
    post = await posted_checkin(hearth)
    await write_note(hearth, post, "alice", ANONYMOUSLY, "only words, no mood")
    await cog(hearth).counts.flush()
    notes = "1 anonymous note in the thread."
    assert count_field(hearth.fake.message(post.id)) == f"0 members checked in.\n{notes}"
    await hearth.actor("bob", "checkins").click(post, label="4 · Good")
    await cog(hearth).counts.flush()
    assert count_field(hearth.fake.message(post.id)) == f"1 member checked in.\n{notes}"
    await tick(hearth, NINE + timedelta(hours=12))
    assert notes in hearth.fake.message(post.id).text
