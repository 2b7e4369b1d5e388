"""Safety and privacy through the real features: shares, /faq, check-ins, the journal, and erasure."""

from __future__ import annotations

import json

import pytest

from tests.e2e.privacy_helpers import needles, rows_mentioning
from tests.e2e.sharing_helpers import set_up_sharing, share
from tests.fakediscord.harness import Harness

EVERYDAY = "Today I told my sister something I had kept to myself for years, and she simply listened."
CRISIS = "Honestly everyone would be better off without me, I don't want to be here anymore."


@pytest.mark.leak_scan
async def test_a_crisis_share_gives_private_help_and_an_alert_that_cannot_identify(hearth: Harness) -> None:
    await set_up_sharing(hearth, region="UK")
    alice = hearth.members["alice"]
    result = await share(hearth, "alice", CRISIS)
    await result.wait_followups(1)
    assert all(m.ephemeral for m in result.messages)
    assert "116 123" in result.text  # the server's region (UK) helplines, privately
    alert = await hearth.fake.wait_for_message(hearth.channels["alerts"], lambda m: "share" in m.text,
                                               timeout=3)
    shown = alert.text + json.dumps(alert.embeds) + json.dumps(alert.components)
    assert "anonymously" in alert.text and "review item" in alert.text
    for trace in (str(alice.id), alice.user.username, alice.user.mention, "better off without me"):
        assert trace not in shown
    # Nobody else saw anything public.
    assert hearth.fake.messages(hearth.channels["sharing"]) == []


async def test_a_journal_entry_never_alerts_even_when_concern_alerts_are_on(hearth: Harness) -> None:
    await set_up_sharing(hearth, region="UK")
    await hearth.actor("mod").slash("safety alerts", level="concern")
    opened = await hearth.actor("bob").slash("journal write")
    saved = await opened.submit({"Your entry": "I want to kill myself some nights."})
    care = await saved.wait_followups(1)
    assert care[0].ephemeral and "116 123" in care[0].text
    assert "Nobody has been told" in care[0].text
    assert hearth.fake.messages(hearth.channels["alerts"]) == []


@pytest.mark.leak_scan
async def test_erasing_deletes_real_shares_from_the_channel_when_asked(hearth: Harness) -> None:
    await set_up_sharing(hearth, region="UK")
    await share(hearth, "alice", EVERYDAY)
    await share(hearth, "bob", "I noticed I checked my partner's phone again, then stopped and breathed.")
    alice_post, bob_post = hearth.fake.messages(hearth.channels["sharing"])

    exported = await (await hearth.actor("alice").slash("mydata export")).reply()
    shares = json.loads(exported.attachments[0].data)["areas"]["sharing"]
    mine = json.dumps(shares)
    assert str(alice_post.id) in mine and str(bob_post.id) not in mine

    asked = await hearth.actor("alice").slash("mydata erase")
    done = await asked.click(label="Erase, and delete my anonymous posts")
    await hearth.fake.wait_until(lambda: "Done." in (done.message.content or ""), 3, "the erasure")
    assert "Your 1 anonymous post will be deleted" in done.message.content
    hearth.clock.advance(minutes=31)
    await hearth.bot.get_cog("Privacy").delete_due_posts()  # type: ignore[union-attr]
    assert hearth.fake.message(alice_post.id).deleted
    assert not hearth.fake.message(bob_post.id).deleted

    db = hearth.bot.db
    assert db is not None
    assert await rows_mentioning(db, needles(hearth, "alice"), hearth.running_bot.keyring) == []
    mine = await (await hearth.actor("bob").slash("myshares")).reply()
    assert "share · posted" in mine.text


async def test_a_crisis_faq_question_gets_help_and_moderators_can_reach_out(hearth: Harness) -> None:
    await set_up_sharing(hearth, region="UK")
    alice = hearth.members["alice"]
    result = await hearth.actor("alice").slash("faq", question="is there any reason to keep living")
    reply = await result.reply()
    shown = reply.text + "".join(m.text for m in result.followups)
    assert all(m.ephemeral for m in result.messages)
    assert "116 123" in shown
    assert "reach out" in shown
    alert = await hearth.fake.wait_for_message(hearth.channels["alerts"], lambda m: "FAQ" in m.text,
                                               timeout=3)
    assert alert.embed["title"] == "Someone may be in crisis"
    assert alice.user.mention in alert.text  # a named question: a moderator can reach out
    assert "keep living" not in alert.text  # but the words stay private
    assert hearth.fake.messages(hearth.channels["general"]) == []


async def test_a_crisis_note_in_a_personal_check_in_reaches_moderators_by_name_only(hearth: Harness) -> None:
    await set_up_sharing(hearth, region="UK")
    carol = hearth.members["carol"]
    result = await hearth.actor("carol").slash("checkin", mood=1, note="I wish I was dead, honestly")
    assert result.ephemeral
    care = await result.wait_followups(1)
    assert care[-1].ephemeral and care[-1].embed["title"] == "You're not alone"
    assert "116 123" in care[-1].text and "moderators know" in care[-1].text
    # Like a /faq question: the member is named so a moderator can reach out; the words stay hers,
    # and there is nothing to open (the note is private).
    alert = await hearth.fake.wait_for_message(
        hearth.channels["alerts"], lambda m: "check-in note" in m.text, timeout=3
    )
    assert alert.embed["title"] == "Someone may be in crisis"
    assert carol.user.mention in alert.text
    assert "dead" not in alert.text and "Open the" not in alert.text
    assert hearth.fake.messages(hearth.channels["general"]) == []


async def test_concern_in_a_personal_check_in_note_alerts_only_when_the_server_chose_it(
    hearth: Harness,
) -> None:
    await set_up_sharing(hearth, region="UK")
    bob, carol = hearth.members["bob"], hearth.members["carol"]
    first = await hearth.actor("bob").slash("checkin", mood=2, note="I feel so hopeless lately")
    care = await first.wait_followups(1)
    assert care[-1].embed["title"] == "You're not alone" and "Nobody has been told" in care[-1].text
    await (await hearth.actor("mod").slash("safety alerts", level="concern")).reply()
    second = await hearth.actor("carol").slash("checkin", mood=2, note="I feel so hopeless lately")
    care = await second.wait_followups(1)
    assert "moderators know" in care[-1].text
    alert = await hearth.fake.wait_for_message(
        hearth.channels["alerts"], lambda m: "check-in note" in m.text, timeout=3
    )
    assert alert.embed["title"] == "Someone may be struggling" and carol.user.mention in alert.text
    [only] = [m for m in hearth.fake.messages(hearth.channels["alerts"]) if "check-in note" in m.text]
    assert bob.user.mention not in only.text


async def test_an_everyday_faq_question_gets_no_care_message(hearth: Harness) -> None:
    await set_up_sharing(hearth, region="UK")
    question = "what is the difference between trust issues and caution"
    result = await hearth.actor("bob").slash("faq", question=question)
    reply = await result.reply()
    assert "You're not alone" not in reply.text + "".join(m.text for m in result.followups)
    assert hearth.fake.messages(hearth.channels["alerts"]) == []


@pytest.mark.leak_scan
async def test_erase_after_using_every_feature_leaves_no_trace(hearth: Harness) -> None:
    await set_up_sharing(hearth, region="UK")
    sent = await hearth.actor("alice").slash("checkin", mood=4, note="A calm day, walked by the river.")
    await sent.reply()
    opened = await hearth.actor("alice").slash("journal write")
    sent = await opened.submit({"Your entry": "I noticed I trusted a friend with a small thing today."})
    await sent.reply()
    await share(hearth, "alice", EVERYDAY)
    await (await hearth.actor("bob").slash("checkin", mood=3, note="Bob's own note.")).reply()

    exported = await (await hearth.actor("alice").slash("mydata export")).reply()
    data = json.loads(exported.attachments[0].data)
    raw = json.dumps(data)
    assert "walked by the river" in raw and "trusted a friend" in raw
    assert "Bob's own note" not in raw

    asked = await hearth.actor("alice").slash("mydata erase")
    done = await asked.click(label="Erase, and leave my posts unlinked")
    await hearth.fake.wait_until(lambda: "Done." in (done.message.content or ""), 3, "the erasure")
    db = hearth.bot.db
    assert db is not None
    assert await rows_mentioning(db, needles(hearth, "alice"), hearth.running_bot.keyring) == []
    again = await (await hearth.actor("alice").slash("mydata export")).reply()
    assert "walked by the river" not in again.attachments[0].data.decode()
    bob = await (await hearth.actor("bob").slash("mydata export")).reply()
    assert "Bob's own note" in bob.attachments[0].data.decode()
    # The share itself is still in the channel, with nothing linking it to anyone.
    assert len(hearth.fake.messages(hearth.channels["sharing"])) == 1
