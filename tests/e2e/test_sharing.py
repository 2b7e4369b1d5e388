"""Anonymous sharing end to end: the real bot against the fake Discord.

Every test here runs under the leak scan (tests/e2e/leak_scan.py), which afterwards scans
every REST payload the bot sent and every log line for the members' ids, usernames and
display names. The only place a member may be named is a reply to that member alone (an
ephemeral interaction response or follow-up, or their own DMs), and a moderator to
moderators for an action of their own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from typing import Any

import pytest

from bot.cogs.privacy import privacy_service
from tests.e2e.leak_scan import LogCapture, assert_no_leaks
from tests.e2e.sharing_helpers import (
    CRISIS_TEXT,
    OTHER_TEXT,
    REPLY_FIELD,
    SHARE_FIELD,
    TEXT,
    set_up_sharing,
    share,
)
from tests.fakediscord.harness import Harness
from tests.sharing_markdown import hidden_and_shown

CONCERN_TEXT = "Some days I feel hopeless and like a burden to everyone around me."


pytestmark = pytest.mark.leak_scan


@pytest.fixture
async def sharing(hearth: Harness) -> Harness:
    """Set up the sharing, review and alerts channels (the module's leak scan runs afterwards)."""
    await set_up_sharing(hearth)
    return hearth


# ----- helpers ---------------------------------------------------------------------------------


def posts(hearth: Harness, channel: str = "sharing") -> list[Any]:
    return hearth.fake.messages(hearth.channels[channel])


def footer(message: Any) -> str:
    return message.embeds[0]["footer"]["text"]


def thread_of(hearth: Harness, message: Any) -> Any:
    threads = [
        t
        for t in hearth.fake.world.threads_of(hearth.channels["sharing"])
        if t.id == message.id or t.starter_message_id == message.id
    ]
    assert len(threads) == 1, "a share opens exactly one thread"
    return threads[0]


async def reply_by_button(hearth: Harness, who: str, message: Any, text: str) -> Any:
    opened = await hearth.actor(who, "sharing").click(message, label="Reply anonymously")
    assert opened.modal.title == "Reply anonymously"
    submitted = await opened.submit({REPLY_FIELD: text})
    await submitted.reply()
    return submitted


async def held_for_review(hearth: Harness, who: str = "alice", text: str = TEXT, **details: str) -> Any:
    """Turn review before posting on, and share as `who`; return the item moderators are shown."""
    await (await hearth.actor("mod").slash("setup", vetting=True)).reply()
    await share(hearth, who, text, **details)
    return hearth.fake.last_message(hearth.channels["review"])


async def approve_latest(hearth: Harness, moderator: str = "mod") -> Any:
    """Approve the newest review item as a moderator; return the review item."""
    item = hearth.fake.last_message(hearth.channels["review"])
    await (await hearth.actor(moderator, "review").click(item, label="Approve")).reply()
    return item


async def delay_shares_by(hearth: Harness, seconds: int) -> Any:
    """Turn on a random delay of up to 600 seconds, drawn as `seconds` for now; return the sharing cog."""
    await (await hearth.actor("mod").slash("sharemod settings", delay_seconds=600)).reply()
    cog = hearth.bot.get_cog("Sharing")
    draw_delay(cog, seconds)
    return cog


def draw_delay(cog: Any, seconds: int) -> None:
    """Make the random delay of the next shares come out as `seconds`."""
    cog.service.rng.randint = lambda low, high: seconds


def thread_posts(hearth: Harness, thread: Any) -> list[Any]:
    return hearth.fake.world.channel_messages(thread)


def pseudonym_in(text: str) -> str:
    found = re.search(r"([A-Z][a-z]+ [A-Z][a-z]+ \d{4})", text)
    assert found, f"no pseudonym in {text!r}"
    return found.group(1)


# ----- sharing and replies -------------------------------------------------------------------------


async def test_a_share_is_posted_without_a_name_signed_by_a_pseudonym_with_a_thread(sharing: Harness) -> None:
    hearth = sharing
    result = await share(hearth, "alice", TEXT, title="Something I finally said")
    assert result.ephemeral
    [posted] = posts(hearth)
    assert posted.author.bot and posted.interaction_metadata is None, (
        "a plain bot message, not a reply to /share"
    )
    embed = posted.embeds[0]
    assert embed["description"] == TEXT and embed["title"] == "Something I finally said"
    assert "author" not in embed
    name = pseudonym_in(footer(posted))
    assert footer(posted) == f"Shared anonymously by {name}"
    assert posted.find_component(label="Reply anonymously") is not None
    thread = thread_of(hearth, posted)
    assert thread.name == f"Replies to {name}", "the thread's name holds none of the author's words"
    reply = await result.reply()
    assert name in reply.text and posted.jump_url.rsplit("/", 1)[1] in reply.text


async def test_the_authors_reply_is_marked_and_another_member_gets_another_name(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice")
    [posted] = posts(hearth)
    author_name = pseudonym_in(footer(posted))
    own = await reply_by_button(hearth, "alice", posted, "Thank you all for reading this.")
    assert "original poster" in own.text
    menu = await hearth.actor("bob", "sharing").message_command("Reply anonymously", posted)
    other = await menu.submit({REPLY_FIELD: "That took courage. I'm glad she listened."})
    await other.reply()
    first, second = thread_posts(hearth, thread_of(hearth, posted))
    assert footer(first) == f"Anonymous reply from {author_name} (original poster)"
    bob_name = pseudonym_in(footer(second))
    assert bob_name != author_name and "original poster" not in footer(second)
    assert second.embeds[0]["description"] == "That took courage. I'm glad she listened."
    # A reply to a reply (menu on bob's message) still lands in the same thread, under the same names.
    menu = await hearth.actor("alice", "sharing").message_command("Reply anonymously", second)
    again = await menu.submit({REPLY_FIELD: "It really did."})
    await again.reply()
    assert footer(thread_posts(hearth, thread_of(hearth, posted))[-1]).startswith(
        f"Anonymous reply from {author_name}"
    )


async def test_one_author_has_different_names_in_two_threads(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    await share(hearth, "alice", OTHER_TEXT)
    first, second = posts(hearth)
    assert pseudonym_in(footer(first)) != pseudonym_in(footer(second))


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        (TEXT + " || and this", "family conflict"),
        (TEXT + " |||AFTER THE BARS", "grief"),
        (TEXT + " ||||AFTER FOUR BARS", "grief"),
        (TEXT + " ending with a bar|", "grief"),
        (TEXT + " ending with a backslash \\", "grief"),
        (TEXT, "family ||"),
        (TEXT + " **bold**", "**a warning** that opens bold ||"),
    ],
)
async def test_a_content_warning_keeps_the_whole_text_inside_one_spoiler(
    sharing: Harness, text: str, warning: str
) -> None:
    hearth = sharing
    await share(hearth, "alice", text, warning=warning)
    [posted] = posts(hearth)
    # What a Discord client shows: the warning in plain sight, the text inside exactly one spoiler.
    spoilers, outside = hidden_and_shown(posted.embeds[0]["description"])
    assert spoilers == [text.replace("**bold**", "bold")]
    assert outside == f"Content warning: {warning}\n\n"


@pytest.mark.parametrize("title", ["What he did to me", "Bars || in it |", "**bold** and a backslash \\"])
async def test_a_content_warning_hides_the_title_with_the_text(sharing: Harness, title: str) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT, title=title, warning="betrayal")
    [posted] = posts(hearth)
    embed = posted.embeds[0]
    assert "title" not in embed, "no title in plain sight"
    spoilers, outside = hidden_and_shown(embed["description"])
    assert spoilers == [f"{title}\n\n{TEXT}"], "the title and the text behind one spoiler"
    assert outside == "Content warning: betrayal\n\n"
    assert title not in json.dumps({k: v for k, v in embed.items() if k != "description"})
    # Without a warning the title shows as usual.
    await share(hearth, "alice", OTHER_TEXT, title=title)
    assert posts(hearth)[-1].embeds[0]["title"] == title


async def test_mentions_are_neutralised_and_never_allowed(sharing: Harness) -> None:
    hearth = sharing
    someone = 424242424242424242  # a user mentioned in the text (not a member the leak scan knows)
    role = hearth.roles["Moderator"]
    text = f"@everyone and @here, <@{someone}> and <@&{role.id}>: I need to say this out loud."
    mark = hearth.fake.journal.mark
    await share(hearth, "alice", text, title="@everyone listen")
    [posted] = posts(hearth)
    await reply_by_button(hearth, "carol", posted, f"@here <@!{someone}> hugs")
    shown = json.dumps(posted.embeds) + json.dumps(thread_posts(hearth, thread_of(hearth, posted))[0].embeds)
    for raw in ("@everyone", "@here", f"<@{someone}>", f"<@!{someone}>", f"<@&{role.id}>"):
        assert raw not in shown
    assert "everyone" in posted.embeds[0]["description"], "the words stay readable"
    sends = hearth.fake.journal.select("POST /channels/{channel_id}/messages", after=mark)
    sends += hearth.fake.journal.select(
        lambda e: (e.route or "").startswith(("POST /webhooks", "PATCH /")), after=mark
    )
    assert sends
    for entry in sends:
        assert entry.json.get("allowed_mentions") == {"parse": []}, entry


# ----- checks ---------------------------------------------------------------------------------------


@pytest.mark.hearth_config(sharing={"shares_per_hour": 2})
async def test_the_rate_limit_refuses_and_hands_the_text_back(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    await share(hearth, "alice", OTHER_TEXT)
    third = "A third thing I wanted to get off my chest before the week ends."
    refused = await share(hearth, "alice", third)
    assert "limit of 2 shares an hour" in refused.text and third in refused.text
    assert len(posts(hearth)) == 2
    hearth.clock.advance(minutes=61)
    await share(hearth, "alice", third)
    assert len(posts(hearth)) == 3


async def test_blocked_terms_are_refused_with_the_reason(sharing: Harness) -> None:
    hearth = sharing
    settings = await hearth.actor("mod").slash("sharemod settings", add_terms="grimthorpe, bad place")
    assert "grimthorpe" in (await settings.reply()).text
    text = "I went back to the Bad   Place today and it was harder than I expected it to be."
    refused = await share(hearth, "alice", text, title="Going back", warning="a hard place")
    assert "“bad place”" in refused.text
    for typed in (text, "Title: Going back", "Content warning: a hard place"):
        assert typed in refused.text, "everything typed comes back, title and warning included"
    for hidden in ("grim\u200ethorpe", "grim\u2062thorpe", "grim\u202ethorpe", "grim\U000e0041thorpe"):
        refused = await share(hearth, "alice", f"I keep thinking about {hidden} and what happened there.")
        assert "“grimthorpe”" in refused.text, hidden
    assert posts(hearth) == []


async def test_invite_links_are_stripped_and_the_member_told(sharing: Harness) -> None:
    hearth = sharing
    result = await share(
        hearth, "alice", TEXT + " Join us at https://discord.gg/abcdEF12 and read https://example.org/help"
    )
    assert "removed an invite link" in result.text
    description = posts(hearth)[0].embeds[0]["description"]
    assert "abcdEF12" not in description and "discord.gg" not in description
    assert "[invite link removed]" in description and "https://example.org/help" in description


async def test_invites_written_any_way_that_still_works_are_stripped(sharing: Harness) -> None:
    hearth = sharing
    invites = [
        "https://discord.gg:443/abcdEF12",
        "https://discord.com:443/invite/abcdEF12",
        "[come along](https://discord.gg./abcdEF12)",
        "discord.com/invite\\abcdEF12",
        "https://someone@DISCORD.GG/abcdEF12",
        "https://disc\u200eord.gg/abcdEF12",
    ]
    await share(hearth, "alice", TEXT + "".join(f" Join at {invite} please." for invite in invites))
    description = posts(hearth)[0].embeds[0]["description"]
    assert "abcdEF12" not in description
    assert description.count(" Join at [invite link removed] please.") + description.count(
        "[come along]([invite link removed])"
    ) == len(invites)


async def test_short_text_is_refused_and_kept(sharing: Harness) -> None:
    refused = await share(sharing, "alice", "just a bit")
    assert "at least 20 characters" in refused.text and "just a bit" in refused.text


# ----- vetting ----------------------------------------------------------------------------------------


async def test_vetting_approve_reject_and_block_without_unmasking(sharing: Harness) -> None:
    hearth = sharing
    await (await hearth.actor("mod").slash("setup", vetting=True)).reply()
    held = await share(hearth, "alice", TEXT, warning="family")
    assert "waiting for a moderator" in held.text
    assert posts(hearth) == []
    item = hearth.fake.last_message(hearth.channels["review"])
    assert TEXT in item.text and "family" in item.text and "Pseudonym" in item.text
    name = pseudonym_in(item.text)

    approved = await hearth.actor("mod", "review").click(item, label="Approve")
    assert "Approved and posted" in (await approved.reply()).text
    [posted] = posts(hearth)
    assert footer(posted) == f"Shared anonymously by {name}"
    item = hearth.fake.message(item.id)
    assert TEXT not in item.text and "Approved by" in item.text and item.buttons == []

    # The author asks for a DM, then a moderator rejects with a reason.
    held = await share(hearth, "alice", OTHER_TEXT)
    await held.click(label="DM me when it's decided")
    item = hearth.fake.last_message(hearth.channels["review"])
    opened = await hearth.actor("mod", "review").click(item, label="Reject")
    rejected = await opened.submit({"Reason (the author can see it)": "Please add a content warning."})
    await rejected.reply()
    assert len(posts(hearth)) == 1
    dms = hearth.fake.dm_messages(hearth.members["alice"])
    assert dms and "Please add a content warning." in dms[-1].text
    mine = await hearth.actor("alice").slash("myshares")
    assert "Please add a content warning." in (await mine.reply()).text

    # Block from the review item: the share is not posted and the author can no longer share.
    third = "Something else that is on my mind this evening, written down at last."
    await share(hearth, "alice", third)
    item = hearth.fake.last_message(hearth.channels["review"])
    opened = await hearth.actor("mod", "review").click(item, label="Block author")
    blocked = await opened.submit(
        {
            "Days (leave empty to block for good)": "7",
            "Reason (only moderators see it)": "repeated harassment",
        }
    )
    assert "block #1" in (await blocked.reply()).text
    assert third not in hearth.fake.message(item.id).text and len(posts(hearth)) == 1
    refused = await hearth.actor("alice").slash("share")
    assert refused.ephemeral and "can't share anonymously" in refused.text
    assert await hearth.bot.sharing.store.count_by_status() == {"posted": 1, "rejected": 2}


async def test_a_blocked_author_is_refused_after_names_rotate_and_blocks_list_no_identity(
    sharing: Harness,
) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    [posted] = posts(hearth)
    await reply_by_button(hearth, "bob", posted, "Sending you strength.")
    menu = await hearth.actor("mod", "sharing").message_command("Moderate anonymous post", posted)
    assert menu.ephemeral
    opened = await menu.click(label="Block author")
    done = await opened.submit({"Reason (only moderators see it)": "spam links"})
    assert "block #1" in (await done.reply()).text
    rotated = await hearth.actor("mod").slash("sharemod rotate-names")
    assert "new names" in (await rotated.reply()).text

    refused = await hearth.actor("alice").slash("share")
    assert "can't share anonymously" in refused.text
    replying = await hearth.actor("alice", "sharing").click(posted, label="Reply anonymously")
    assert "can't share anonymously" in replying.text
    # Bob keeps his one name inside the old thread: rotation changes names in new threads only.
    await reply_by_button(hearth, "bob", posted, "Still thinking of you today.")
    before, after = thread_posts(hearth, thread_of(hearth, posted))
    assert pseudonym_in(footer(before)) == pseudonym_in(footer(after))

    listing = await hearth.actor("mod").slash("sharemod blocks")
    shown = await listing.reply()
    assert "Block #1" in shown.text and "spam links" in shown.text and "for good" in shown.text
    unblocked = await listing.click(label="Unblock #1")
    assert "Lifted block #1" in (await unblocked.reply()).text
    await share(hearth, "alice", OTHER_TEXT)
    assert len(posts(hearth)) == 2

    audit = await (await hearth.actor("mod").slash("sharemod audit")).reply()
    for words in ("blocked the author of", "rotated the anonymous names", "lifted block #1"):
        assert words in audit.text
    assert f"<@{hearth.members['mod'].id}>" in audit.text


async def test_the_audit_log_tells_an_erased_moderator_from_an_author(sharing: Harness) -> None:
    hearth = sharing
    await held_for_review(hearth)
    await approve_latest(hearth)
    mine = await hearth.actor("alice").slash("myshares")
    await mine.reply()
    asking = await mine.click(label="Delete #1")
    await asking.reply()
    await (await asking.click(label="Yes, delete it")).reply()
    await privacy_service(hearth.bot).erase(
        hearth.members["mod"].id, hearth.clock.now(), delete_posts=False, guild_ids=[hearth.guild.id]
    )
    audit = await (await hearth.actor("owner").slash("sharemod audit")).reply()
    assert "A former moderator approved item #" in audit.text
    assert "The author deleted item #" in audit.text
    assert "The author approved" not in audit.text and str(hearth.members["mod"].id) not in audit.text


async def test_a_moderator_who_is_not_one_cannot_approve(sharing: Harness) -> None:
    hearth = sharing
    item = await held_for_review(hearth)
    refused = await hearth.actor("mod2", "review").click(item, label="Approve")
    assert refused.ephemeral and "moderators" in refused.text
    assert posts(hearth) == []


# ----- crisis hold -------------------------------------------------------------------------------------


async def test_crisis_language_is_held_with_care_for_the_author_and_an_alert(sharing: Harness) -> None:
    hearth = sharing
    result = await share(hearth, "alice", CRISIS_TEXT)
    await result.wait_followups(1)
    assert all(m.ephemeral for m in result.messages)
    assert "a moderator will look at it" in result.text
    assert "You're not alone" in result.text
    assert posts(hearth) == [], "held even though vetting is off"
    item = hearth.fake.last_message(hearth.channels["review"])
    assert "may need care" in item.text and "crisis language" in item.text
    alert = await hearth.fake.wait_for_message(
        hearth.channels["alerts"], lambda m: "share" in m.text, timeout=2
    )
    assert str(item.id) in json.dumps(alert.embeds), "the alert links to the review item"
    approved = await hearth.actor("mod", "review").click(item, label="Approve")
    await approved.reply()
    assert len(posts(hearth)) == 1


# ----- authors' controls -------------------------------------------------------------------------------


async def test_delete_through_myshares_removes_the_message_thread_and_rows(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    [posted] = posts(hearth)
    thread = thread_of(hearth, posted)
    await reply_by_button(hearth, "bob", posted, "Proud of you for this.")
    mine = await hearth.actor("alice").slash("myshares")
    listed = await mine.reply()
    assert listed.ephemeral and "share · posted" in listed.text and "reply" not in listed.text
    bob_mine = await (await hearth.actor("bob").slash("myshares")).reply()
    assert "reply · posted" in bob_mine.text
    asking = await mine.click(label="Delete #1")
    assert "can't be undone" in (await asking.reply()).text
    deleted = await asking.click(label="Yes, delete it")
    assert "Deleted your share signed" in (await deleted.reply()).text
    assert posts(hearth) == []
    assert thread_posts(hearth, thread) == [], "the replies under it are gone too"
    thread = hearth.fake.world.channels[thread.id]
    assert thread.name == "Removed share" and thread.archived
    assert await hearth.bot.sharing.store.count_by_status() == {}
    again = await (await hearth.actor("alice").slash("myshares")).reply()
    assert "no anonymous shares" in again.text


@pytest.mark.hearth_config(sharing={"shares_per_hour": 50})
async def test_myshares_pages_through_every_item_and_deletes_an_old_one(sharing: Harness) -> None:
    hearth = sharing
    await (await hearth.actor("mod").slash("setup", vetting=True)).reply()
    alice = hearth.members["alice"]
    for n in range(1, 23):  # 22 items, waiting for review: oldest first
        result = await hearth.bot.sharing.submit_share(
            hearth.guild.id,
            alice.id,
            hearth.clock.now(),
            text=f"Item number {n}: {TEXT}",
            vetting=True,
            assessment=None,
        )
        assert result.post is not None
        hearth.clock.advance(minutes=1)
    mine = await hearth.actor("alice").slash("myshares")
    first = await mine.reply()
    assert "Showing 1–20 of 22" in first.text and "**#20**" in first.text and "**#21**" not in first.text
    assert first.find_component(label="Delete #20") is not None
    assert first.find_component(label="◀ Newer") is None
    custom_ids = [b["custom_id"] for b in first.buttons]
    assert not any(str(alice.id) in c for c in custom_ids), custom_ids

    older = await mine.click(label="Older ▶")
    shown = await older.reply()
    assert "Showing 21–22 of 22" in shown.text and "**#22**" in shown.text and "**#1**" not in shown.text
    assert shown.find_component(label="Older ▶") is None
    asking = await older.click(label="Delete #22")
    assert "can't be undone" in (await asking.reply()).text
    deleted = await asking.click(label="Yes, delete it")
    assert "Deleted your share" in (await deleted.reply()).text
    assert await hearth.bot.sharing.waiting_count(hearth.guild.id) == 21
    rows = (await hearth.bot.sharing.mine_page(hearth.guild.id, alice.id, 0, 100)).items
    assert "Item number 1:" not in " ".join(hearth.bot.sharing.open(p).text for p in rows), "the oldest went"

    # The buttons carry only a page number: they show whoever clicks them their own items.
    button = shown.find_component(label="◀ Newer")
    bobs = await (await hearth.actor("bob").slash("myshares")).reply()
    bobs.components = [{"type": 1, "components": [button]}]
    turned = await hearth.actor("bob").click(bobs, custom_id=button["custom_id"])
    assert "no anonymous shares" in (await turned.reply()).text and "Item number" not in turned.text
    newer = await older.click(label="◀ Newer")
    assert "Showing 1–20 of 21" in (await newer.reply()).text


async def test_nobody_else_can_delete_a_share(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    mine = await hearth.actor("alice").slash("myshares")
    button = (await mine.reply()).find_component(label="Delete #1")
    assert button is not None
    bobs = await hearth.actor("bob").slash("myshares")
    tampered = await bobs.reply()
    # Bob's client forges buttons carrying alice's item (as if he had guessed its id) and clicks them.
    for custom_id in (button["custom_id"], button["custom_id"].replace(":delete:", ":delete-yes:")):
        tampered.components = [{"type": 1, "components": [{**button, "custom_id": custom_id}]}]
        refused = await (await hearth.actor("bob").click(tampered, custom_id=custom_id)).reply()
        assert refused.ephemeral and "can't find that item among yours" in refused.text
    assert len(posts(hearth)) == 1 and not posts(hearth)[0].deleted


# ----- reports ------------------------------------------------------------------------------------------


async def test_a_report_reaches_the_alerts_channel_without_the_reporter(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    [posted] = posts(hearth)
    opened = await hearth.actor("bob", "sharing").message_command("Report to moderators", posted)
    sent = await opened.submit({"What's wrong with it?": "This reads like it is about a real person here."})
    assert "your name isn't shared" in (await sent.reply()).text
    alert = hearth.fake.last_message(hearth.channels["alerts"])
    assert "was reported" in alert.text and "about a real person here" in alert.text
    assert posted.jump_url.rsplit("/", 1)[1] in json.dumps(alert.embeds)
    removed = await hearth.actor("mod", "alerts").click(alert, label="Remove post")
    number = re.search(r"Removed share #(\d{7})\.", (await removed.reply()).text)
    assert number is not None
    assert posts(hearth) == []
    audit = await (await hearth.actor("mod").slash("sharemod audit")).reply()
    assert f"deleted item #{number.group(1)}" in audit.text


async def test_report_works_only_on_anonymous_posts(sharing: Harness) -> None:
    hearth = sharing
    message = hearth.actor("carol", "general").say("an ordinary message")
    refused = await hearth.actor("bob", "general").message_command("Report to moderators", message)
    assert refused.ephemeral and "anonymous shares and replies" in refused.text


# ----- the random delay ------------------------------------------------------------------------------------


async def test_moderators_can_turn_the_delay_on_without_the_operator(sharing: Harness) -> None:
    mod = sharing.actor("mod")
    too_long = await (await mod.slash("sharemod settings", delay_seconds=301)).reply()
    assert "at most 300 seconds" in too_long.text
    shown = await (await mod.slash("sharemod settings", delay_seconds=300)).reply()
    assert "random 0 to 300 seconds" in shown.text


@pytest.mark.hearth_config(sharing={"max_delay_seconds": 600})
async def test_the_random_delay_holds_a_share_back_then_posts_it(sharing: Harness) -> None:
    hearth = sharing
    too_long = await hearth.actor("mod").slash("sharemod settings", delay_seconds=601)
    assert "at most 600 seconds" in (await too_long.reply()).text
    cog = await delay_shares_by(hearth, 300)
    result = await share(hearth, "alice", TEXT)
    assert "within about 5 minutes" in result.text
    assert posts(hearth) == []
    assert await cog.post_due() == 0
    hearth.clock.advance(seconds=301)
    assert await cog.post_due() == 1
    assert len(posts(hearth)) == 1
    assert await cog.post_due() == 0, "posted exactly once"


@pytest.mark.hearth_config(sharing={"max_delay_seconds": 600})
async def test_no_button_or_number_tells_which_share_was_written_first(sharing: Harness) -> None:
    hearth = sharing
    cog = await delay_shares_by(hearth, 500)
    await share(hearth, "alice", TEXT)  # written first, shown last
    hearth.clock.advance(seconds=20)
    draw_delay(cog, 0)
    await share(hearth, "bob", OTHER_TEXT)
    [bobs_post] = posts(hearth)
    await reply_by_button(hearth, "carol", bobs_post, "Thank you for writing this.")
    bobs_list = await (await hearth.actor("bob").slash("myshares")).reply()
    assert "**#1** · share" in bobs_list.text, "members number their own items, 1, 2, 3"
    hearth.clock.advance(seconds=481)
    assert await cog.post_due() == 1
    alices_post = posts(hearth)[-1]

    ids = [str(row["id"]) for row in await hearth.bot.db.fetchall("SELECT id FROM sharing_posts")]
    public = [*posts(hearth), *thread_posts(hearth, thread_of(hearth, bobs_post))]
    custom_ids = [button["custom_id"] for message in public for button in message.buttons]
    assert custom_ids and not any(re.search(r"\d", custom_id) for custom_id in custom_ids), custom_ids
    assert not any(i in bobs_list.text for i in ids), "a member sees no ids, only their own numbers"
    # The button works from the message it is on, and so do buttons of posts made before this change.
    await reply_by_button(hearth, "bob", alices_post, "Sending you warmth.")
    alices_post.components = [
        {"type": 1, "components": [{**alices_post.buttons[0], "custom_id": f"hearth:share:reply:{ids[0]}"}]}
    ]
    await reply_by_button(hearth, "carol", alices_post, "Me too, from an older button.")
    assert len(thread_posts(hearth, thread_of(hearth, alices_post))) == 2


@pytest.mark.hearth_config(sharing={"max_delay_seconds": 600})
async def test_a_waiting_share_is_not_posted_once_its_author_is_blocked(sharing: Harness) -> None:
    hearth = sharing
    cog = await delay_shares_by(hearth, 300)
    waiting = await share(hearth, "alice", TEXT)
    assert "within about 5 minutes" in waiting.text
    draw_delay(cog, 0)
    await share(hearth, "alice", OTHER_TEXT)
    [posted] = posts(hearth)
    menu = await hearth.actor("mod", "sharing").message_command("Moderate anonymous post", posted)
    blocking = await menu.click(label="Block author")
    await (await blocking.submit({"Reason (only moderators see it)": "harassment"})).reply()
    review_before = len(hearth.fake.messages(hearth.channels["review"]))
    hearth.clock.advance(seconds=301)
    assert await cog.post_due() == 0
    assert posts(hearth) == [posted], "the waiting share never goes up"
    assert len(hearth.fake.messages(hearth.channels["review"])) == review_before, "moderators learn nothing"
    mine = await (await hearth.actor("alice").slash("myshares")).reply()
    assert "not posted" in mine.text and "can't share anonymously in this server right now" in mine.text


@pytest.mark.hearth_config(sharing={"max_delay_seconds": 600})
async def test_a_care_alert_for_a_delayed_share_waits_for_the_post(sharing: Harness) -> None:
    hearth = sharing
    await (await hearth.actor("mod").slash("safety alerts", level="concern")).reply()
    cog = await delay_shares_by(hearth, 300)
    alerts = hearth.channels["alerts"]
    before = len(hearth.fake.messages(alerts))
    result = await share(hearth, "alice", CONCERN_TEXT)
    await result.wait_followups(1)
    assert "You're not alone" in result.text and "When your post appears" in result.text
    assert len(hearth.fake.messages(alerts)) == before, "no alert yet: it would show when it was written"
    hearth.clock.advance(seconds=301)
    assert await cog.post_due() == 1
    [posted] = posts(hearth)
    alert = hearth.fake.last_message(alerts)
    assert "may be struggling" in alert.text and posted.jump_url.rsplit("/", 1)[1] in json.dumps(alert.embeds)


async def test_erasing_before_a_decision_withdraws_the_review_item(sharing: Harness) -> None:
    hearth = sharing
    item = await held_for_review(hearth, title="A long-kept secret")
    assert TEXT in item.text and item.buttons
    await privacy_service(hearth.bot).erase(
        hearth.members["alice"].id, hearth.clock.now(), delete_posts=False, guild_ids=[hearth.guild.id]
    )
    await hearth.bot.get_cog("Sharing").sweep()  # type: ignore[union-attr]
    item = hearth.fake.message(item.id)
    assert "Withdrawn by its author" in item.text and item.buttons == []
    assert TEXT not in item.text and "A long-kept secret" not in item.text
    assert await hearth.bot.db.fetchall("SELECT * FROM sharing_withdrawals") == []


async def test_a_queued_share_survives_a_restart(sharing: Harness) -> None:
    hearth = sharing
    hearth.fake.faults.missing_permissions(
        "POST /channels/{channel_id}/messages", channel_id=hearth.channels["sharing"].id
    )
    result = await share(hearth, "alice", TEXT)
    assert "saved" in result.text
    await hearth.restart()
    hearth.clock.advance(minutes=1)
    await hearth.bot.get_cog("Sharing").post_due()  # type: ignore[union-attr]
    assert len(posts(hearth)) == 1


# ----- the stress test --------------------------------------------------------------------------------------


@pytest.mark.hearth_options(rate_limits=True)
@pytest.mark.hearth_config(sharing={"channel_window_seconds": 0.05})
async def test_two_hundred_members_share_at_once(sharing: Harness) -> None:
    hearth = sharing
    limits = hearth.fake.ratelimits
    # Discord's buckets (5 messages, and 5 new threads, per channel in 5 s; 50 requests a second
    # in all), a hundred times faster so the test takes seconds, not minutes; Hearth's pacer is
    # set to the same pace.
    limits.enable(global_limit=50, global_per=0.01)
    for route in (
        "POST /channels/{channel_id}/messages",
        "POST /channels/{channel_id}/messages/{message_id}/threads",
    ):
        limits.set_bucket(route, 5, 0.05)
    members = [hearth.add_member(f"member{n:03d}") for n in range(200)]

    async def one(n: int) -> Any:
        actor = hearth.actor(members[n], "general")
        opened = await actor.slash("share")
        submitted = await opened.submit({SHARE_FIELD: f"Share number {n}: {TEXT}"})
        await submitted.reply(timeout=60)
        return submitted

    results = await asyncio.gather(*(one(n) for n in range(200)))
    assert all("Shared anonymously as" in r.text for r in results)
    shown = [m.embeds[0]["description"] for m in posts(hearth)]
    assert len(shown) == 200 and len(set(shown)) == 200, "each share posted exactly once"
    assert len(hearth.fake.world.threads_of(hearth.channels["sharing"])) == 200
    assert await hearth.bot.sharing.store.count_by_status() == {"posted": 200}
    # A burst from a few members at once still honours the per-member limit of three an hour.
    burst = await asyncio.gather(
        *(
            share(hearth, f"member{n:03d}", f"Burst {k} from {n}: {OTHER_TEXT}")
            for n in range(3)
            for k in range(3)
        )
    )
    assert sum("Shared anonymously as" in r.text for r in burst) == 6
    assert sum("limit of 3 shares an hour" in r.text for r in burst) == 3
    assert limits.violation_count == 0, f"sent into an exhausted bucket: {limits.violations[:5]}"


# ----- decisions by DM, replies held for care, concern, the ladder contract ----------------------------


async def test_decision_dms_only_when_the_member_turned_them_on(sharing: Harness) -> None:
    hearth = sharing
    await held_for_review(hearth, "bob")
    await approve_latest(hearth)
    assert hearth.fake.dm_messages(hearth.members["bob"]) == [], "no DM unless asked for"

    mine = await hearth.actor("alice").slash("myshares")
    await mine.reply()
    turned_on = await mine.click(label="DM me about decisions")
    assert "From now on" in (await turned_on.reply()).text
    await share(hearth, "alice", OTHER_TEXT)
    await approve_latest(hearth)
    [dm] = hearth.fake.dm_messages(hearth.members["alice"])
    assert "approved and is now posted" in dm.text and str(posts(hearth)[-1].id) in dm.text

    hearth.members["carol"].user.dms_open = False
    carol_mine = await hearth.actor("carol").slash("myshares")
    await carol_mine.reply()
    await (await carol_mine.click(label="DM me about decisions")).reply()
    await share(hearth, "carol", "A thing I have been carrying around for a while, now written down.")
    item = hearth.fake.last_message(hearth.channels["review"])
    opened = await hearth.actor("mod", "review").click(item, label="Reject")
    done = await opened.submit({"Reason (the author can see it)": "Not this one, sorry."})
    assert "Rejected share #" in (await done.reply()).text, "closed DMs don't break the decision"


async def test_a_reply_with_crisis_language_is_held_and_the_replier_cared_for(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    [posted] = posts(hearth)
    opened = await hearth.actor("bob", "sharing").click(posted, label="Reply anonymously")
    held = await opened.submit({REPLY_FIELD: "Same here. " + CRISIS_TEXT})
    await held.wait_followups(1)
    assert "You're not alone" in held.text and all(m.ephemeral for m in held.messages)
    assert thread_posts(hearth, thread_of(hearth, posted)) == []
    item = hearth.fake.last_message(hearth.channels["review"])
    assert "this reply may need care" in item.text and "In reply to" in item.text
    await hearth.fake.wait_for_message(hearth.channels["alerts"], lambda m: "reply" in m.text, timeout=2)
    await (await hearth.actor("mod", "review").click(item, label="Approve")).reply()
    [reply] = thread_posts(hearth, thread_of(hearth, posted))
    assert CRISIS_TEXT in reply.embeds[0]["description"]


async def test_a_share_with_concern_is_posted_and_the_author_offered_support(sharing: Harness) -> None:
    hearth = sharing
    result = await share(hearth, "alice", CONCERN_TEXT)
    await result.wait_followups(1)
    assert "Shared anonymously as" in result.text and "You're not alone" in result.text
    assert len(posts(hearth)) == 1


async def test_held_items_go_to_the_alerts_channel_without_a_review_channel(sharing: Harness) -> None:
    hearth = sharing
    await (await hearth.actor("mod").slash("setup", vetting=True, clear="review_channel")).reply()
    await share(hearth, "alice", TEXT)
    item = hearth.fake.last_message(hearth.channels["alerts"])
    assert "waiting for review" in item.text and item.find_component(label="Approve") is not None
    listed = await (await hearth.actor("mod").slash("sharemod pending")).reply()
    assert "1 item(s) waiting for review: 1 already in place, 0 posted again" in listed.text


async def test_pending_posts_again_only_the_review_items_that_are_missing(sharing: Harness) -> None:
    hearth = sharing
    first = await held_for_review(hearth)
    listed = await (await hearth.actor("mod").slash("sharemod pending")).reply()
    assert "1 already in place, 0 posted again" in listed.text
    assert hearth.fake.last_message(hearth.channels["review"]).id == first.id, "no second copy"
    first.deleted = True  # a moderator deleted the review item by hand
    listed = await (await hearth.actor("mod").slash("sharemod pending")).reply()
    assert "0 already in place, 1 posted again" in listed.text
    second = hearth.fake.last_message(hearth.channels["review"])
    opened = await hearth.actor("mod", "review").click(second, label="Reject")
    await (await opened.submit({"Reason (the author can see it)": "Not this one."})).reply()
    for message in hearth.fake.world.channel_messages(hearth.channels["review"]):
        if not message.deleted:
            assert TEXT not in message.text and message.buttons == [], "no copy keeps text or buttons"


async def test_share_text_posts_a_ladder_milestone_through_the_same_pipeline(sharing: Harness) -> None:
    hearth = sharing
    import discord
    from discord import app_commands
    from discord.ext import commands

    class LadderProbe(commands.Cog):
        @app_commands.command(name="probe-milestone", description="test only")
        async def probe(self, interaction: discord.Interaction) -> None:
            cog = interaction.client.get_cog("Sharing")  # type: ignore[attr-defined]
            await cog.share_text(
                interaction,
                text="I told a coworker I disagreed, kindly, and it went fine.",
                title="A small win on the trust ladder",
                source="ladder",
            )

    async def add_probe(bot: Any) -> None:
        await bot.add_cog(LadderProbe())

    hearth.on_start(add_probe)
    await hearth.restart()
    result = await hearth.actor("alice").slash("probe-milestone")
    assert "Shared anonymously as" in (await result.reply()).text and result.ephemeral
    [posted] = posts(hearth)
    assert footer(posted).endswith("· a trust ladder milestone")
    assert posted.embeds[0]["title"] == "A small win on the trust ladder"
    refused = await hearth.actor("alice").slash("probe-milestone")
    assert "same text" in (await refused.reply()).text, "the same checks apply"


@pytest.mark.leak_scan(False)
async def test_the_leak_scan_notices_a_name_in_a_public_payload(hearth: Harness) -> None:
    """The scan behind every test above can fail: names where others see them, public answers,
    a moderator named for something they did not do or for something they wrote, ids in tracebacks."""
    import discord
    from discord import app_commands
    from discord.ext import commands

    class Probes(commands.Cog):
        @app_commands.command(name="probe-public", description="test only")
        async def public(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Shared it for you.")  # public: shows who used it

        @app_commands.command(name="probe-approve", description="test only")
        async def approve(self, interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)
            channel = interaction.client.get_partial_messageable(hearth.channels["review"].id)
            await channel.send(f"Approved by {interaction.user.mention}.")
            await interaction.followup.send("Done.", ephemeral=True)

    async def add_probes(bot: Any) -> None:
        await bot.add_cog(Probes())

    hearth.on_start(add_probes)
    await hearth.restart()
    review = hearth.bot.get_partial_messageable(hearth.channels["review"].id)
    moderator = hearth.members["mod2"]
    # A moderator's own action, named to moderators: fine.
    await (await hearth.actor("mod2").slash("probe-approve")).reply()
    assert_no_leaks(hearth, LogCapture())

    mark = hearth.fake.journal.mark
    await (await hearth.actor("alice").slash("probe-public")).reply()
    with pytest.raises(AssertionError, match="public interaction answer"):
        assert_no_leaks(hearth, LogCapture(), after=mark)
    general = hearth.bot.get_partial_messageable(hearth.channels["general"].id)
    for where, text in (
        (general, f"thanks {hearth.members['alice'].user.username}!"),
        (general, f"thanks {moderator.mention}!"),  # a moderator named where members see it
        (review, f"Written by {moderator.user.username}."),  # named, and not as the one who acted
        (review, f"Approved by {moderator.mention}."),  # a mention no action of theirs caused
    ):
        mark = hearth.fake.journal.mark
        await where.send(text)
        with pytest.raises(AssertionError, match="identity leaks"):
            assert_no_leaks(hearth, LogCapture(), after=mark)

    # A moderator who writes a share is an author like any other: naming them to moderators
    # while their share is handled is a leak.
    channels = hearth.channels
    await (
        await hearth.actor("mod").slash(
            "setup", sharing_channel=channels["sharing"], review_channel=channels["review"]
        )
    ).reply()
    cog: Any = hearth.bot.get_cog("Sharing")
    held = cog._held

    async def naming_held(interaction: Any, *args: Any, **kwargs: Any) -> Any:
        await review.send(f"From {interaction.user.mention}.")
        return await held(interaction, *args, **kwargs)

    cog._held = naming_held
    mark = hearth.fake.journal.mark
    await share(hearth, "mod2", CRISIS_TEXT)
    with pytest.raises(AssertionError, match=f"names '{moderator.id}'"):
        assert_no_leaks(hearth, LogCapture(), after=mark)

    logs = LogCapture()
    logs.emit(
        logging.LogRecord("bot.x", logging.INFO, __file__, 1, "user %s", (hearth.members["bob"].id,), None)
    )
    with pytest.raises(AssertionError, match="log line"):
        assert_no_leaks(hearth, logs)
    try:
        raise RuntimeError(f"no such member {hearth.members['carol'].id}")
    except RuntimeError:
        failed = logging.LogRecord("bot.x", logging.ERROR, __file__, 1, "it failed", None, sys.exc_info())
    logs = LogCapture()
    logs.emit(failed)
    assert failed.exc_text is None, "no handler has formatted it yet"
    with pytest.raises(AssertionError, match="log line"):
        assert_no_leaks(hearth, logs)


async def test_a_moderator_can_share_anonymously_without_being_named(sharing: Harness) -> None:
    hearth = sharing
    moderators = hearth.roles["Moderator"]
    await (await hearth.actor("mod").slash("setup", vetting=True, moderator_role=moderators)).reply()
    held = await share(hearth, "mod2", TEXT)
    assert "waiting for a moderator" in held.text
    await approve_latest(hearth)
    [posted] = posts(hearth)
    await share(hearth, "carol", OTHER_TEXT)  # mod2 moderates too, and is named for that
    item = await approve_latest(hearth, "mod2")
    assert f"Approved by <@{hearth.members['mod2'].id}>" in hearth.fake.message(item.id).text
    await reply_by_button(hearth, "mod2", posted, "Thank you for reading, everyone.")
    await reply_by_button(hearth, "alice", posted, "Thank you for writing it.")
    mine = await (await hearth.actor("mod2").slash("myshares")).reply()
    assert "share · posted" in mine.text and "reply · posted" in mine.text
    audit = await (await hearth.actor("mod2").slash("sharemod audit")).reply()
    assert f"<@{hearth.members['mod'].id}> approved" in audit.text
    # The fixture's leak scan then checks that mod2 is named nowhere but in their own replies.


async def test_a_moderators_crisis_share_is_held_and_alerted_without_naming_them(sharing: Harness) -> None:
    hearth = sharing
    moderators = hearth.roles["Moderator"]
    await (await hearth.actor("mod").slash("setup", moderator_role=moderators)).reply()
    held = await share(hearth, "mod2", CRISIS_TEXT)
    await held.wait_followups(1)
    assert "You're not alone" in held.text and all(m.ephemeral for m in held.messages)
    item = hearth.fake.last_message(hearth.channels["review"])
    alert = await hearth.fake.wait_for_message(
        hearth.channels["alerts"], lambda m: "share" in m.text, timeout=2
    )
    writer = hearth.members["mod2"]
    shown = json.dumps([item.embeds, item.components, alert.embeds, alert.components])
    for trace in (str(writer.id), writer.user.username, writer.user.global_name, writer.nick):
        assert trace and trace not in shown, trace
    await approve_latest(hearth, "mod")
    [posted] = posts(hearth)
    assert str(writer.id) not in json.dumps(posted.embeds)
    # The leak scan then checks every payload: the review item and the alert were sent while
    # mod2's share was being handled, so naming mod2 there, even by mention, fails the test.


async def test_without_a_sharing_channel_the_member_is_told_and_still_cared_for(sharing: Harness) -> None:
    hearth = sharing
    await (await hearth.actor("mod").slash("setup", clear="sharing_channel")).reply()
    refused = await hearth.actor("alice").slash("share")
    assert refused.ephemeral and "hasn't chosen a channel" in refused.text
    await (await hearth.actor("mod").slash("setup", vetting=True, clear="review_channel")).reply()
    await (await hearth.actor("mod").slash("setup", sharing_channel=hearth.channels["sharing"])).reply()
    await (await hearth.actor("mod").slash("setup", clear="alerts_channel")).reply()
    held = await share(hearth, "alice", CRISIS_TEXT)
    await held.wait_followups(1)
    assert "no review channel" in held.text and CRISIS_TEXT in held.text
    assert "You're not alone" in held.text
    assert await hearth.bot.sharing.store.count_by_status() == {}


# ----- forms across a restart ----------------------------------------------------------------------


async def test_forms_opened_before_a_restart_still_submit_after_it(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    [posted] = posts(hearth)
    sharing_form = await hearth.actor("bob").slash("share")
    reply_form = await hearth.actor("carol", "sharing").click(posted, label="Reply anonymously")
    report_form = await hearth.actor("carol", "sharing").message_command("Report to moderators", posted)
    for opened in (sharing_form, reply_form, report_form):
        assert "user" not in opened.modal.custom_id and str(hearth.members["alice"].id) not in (
            opened.modal.custom_id
        )
    await hearth.restart()  # the members are still typing

    shared = await sharing_form.submit({SHARE_FIELD: OTHER_TEXT})
    assert "Shared anonymously as" in (await shared.reply()).text
    assert posts(hearth)[-1].embeds[0]["description"] == OTHER_TEXT
    replied = await reply_form.submit({REPLY_FIELD: "Thank you for sharing this with us."})
    assert "Replied anonymously as" in (await replied.reply()).text
    [reply] = thread_posts(hearth, thread_of(hearth, posted))
    assert reply.embeds[0]["description"] == "Thank you for sharing this with us."
    reported = await report_form.submit({"What's wrong with it?": "It names someone I know."})
    assert "your name isn't shared" in (await reported.reply()).text
    assert "It names someone I know." in hearth.fake.last_message(hearth.channels["alerts"]).text


async def test_a_moderators_forms_survive_a_restart_and_check_the_moderator_again(sharing: Harness) -> None:
    hearth = sharing
    item = await held_for_review(hearth)
    rejecting = await hearth.actor("mod", "review").click(item, label="Reject")
    await hearth.restart()
    done = await rejecting.submit({"Reason (the author can see it)": "Not this one."})
    assert "Rejected share #" in (await done.reply()).text
    assert "Rejected by" in hearth.fake.message(item.id).text

    await share(hearth, "alice", OTHER_TEXT)
    item = hearth.fake.last_message(hearth.channels["review"])
    blocking = await hearth.actor("mod", "review").click(item, label="Block author")
    hearth.members["mod"].role_ids.clear()  # no longer a moderator when the form comes back
    refused = await blocking.submit({"Reason (only moderators see it)": "spam"})
    assert "for this server's moderators" in (await refused.reply()).text
    assert await hearth.bot.sharing.blocks(hearth.guild.id, hearth.clock.now()) == []


# ----- care on every path ----------------------------------------------------------------------------


def alert_count(hearth: Harness) -> int:
    return len(hearth.fake.messages(hearth.channels["alerts"]))


@pytest.mark.hearth_config(sharing={"shares_per_hour": 1})
async def test_a_crisis_share_refused_by_the_rate_limit_still_shows_resources(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    before = alert_count(hearth)
    refused = await share(hearth, "alice", CRISIS_TEXT)
    await refused.wait_followups(1)
    assert all(m.ephemeral for m in refused.messages)
    assert "limit of 1 share an hour" in refused.text and CRISIS_TEXT in refused.text
    assert "You're not alone" in refused.text and "Reach someone now" in refused.text
    assert "Nobody has been told" in refused.text, "honest: nothing was passed on"
    assert alert_count(hearth) == before, "no alert about a post that does not exist"
    assert len(posts(hearth)) == 1 and hearth.fake.messages(hearth.channels["review"]) == []


async def test_a_blocked_authors_crisis_share_still_shows_resources(sharing: Harness) -> None:
    hearth = sharing
    await share(hearth, "alice", TEXT)
    [posted] = posts(hearth)
    opened = await hearth.actor("alice").slash("share")  # the form is open when the block lands
    menu = await hearth.actor("mod", "sharing").message_command("Moderate anonymous post", posted)
    blocking = await menu.click(label="Block author")
    await (await blocking.submit({"Reason (only moderators see it)": "harassment"})).reply()
    before = alert_count(hearth)
    refused = await opened.submit({SHARE_FIELD: CRISIS_TEXT})
    await refused.wait_followups(1)
    assert all(m.ephemeral for m in refused.messages)
    assert "can't share anonymously" in refused.text and CRISIS_TEXT in refused.text
    assert "You're not alone" in refused.text and "Nobody has been told" in refused.text
    assert alert_count(hearth) == before
    assert hearth.fake.messages(hearth.channels["review"]) == []


async def test_a_reply_with_concern_that_fails_to_post_alerts_moderators_once_it_is_up(
    sharing: Harness,
) -> None:
    hearth = sharing
    await (await hearth.actor("mod").slash("safety alerts", level="concern")).reply()
    await share(hearth, "alice", TEXT)
    [posted] = posts(hearth)
    thread = thread_of(hearth, posted)
    # 503 is not retried by discord.py itself, so the reply meets it at once.
    hearth.fake.faults.server_error("POST /channels/{channel_id}/messages", status=503, channel_id=thread.id)
    before = alert_count(hearth)
    opened = await hearth.actor("bob", "sharing").click(posted, label="Reply anonymously")
    saved = await opened.submit({REPLY_FIELD: CONCERN_TEXT})
    await saved.reply()
    await saved.wait_followups(1)
    assert "saved" in saved.text and "You're not alone" in saved.text
    assert "When your post appears" in saved.text, "told when moderators will hear"
    assert alert_count(hearth) == before, "no alert with nothing to open"
    hearth.clock.advance(seconds=31)
    assert await hearth.bot.get_cog("Sharing").post_due() == 1  # type: ignore[union-attr]
    [reply] = thread_posts(hearth, thread)
    alert = hearth.fake.last_message(hearth.channels["alerts"])
    assert "may be struggling" in alert.text and str(reply.id) in json.dumps(alert.embeds)


# ----- the daily clean-up ------------------------------------------------------------------------------


async def test_the_clean_up_runs_soon_after_a_start_and_catches_up_a_missed_day(sharing: Harness) -> None:
    from datetime import UTC, datetime, timedelta

    hearth = sharing
    opened = await hearth.actor("mod", "review").click(await held_for_review(hearth), label="Reject")
    await (await opened.submit({"Reason (the author can see it)": "Not this one."})).reply()
    await share(hearth, "bob", OTHER_TEXT)
    opened = await hearth.actor("mod", "review").click(
        hearth.fake.last_message(hearth.channels["review"]), label="Block author"
    )
    await (await opened.submit({"Days (leave empty to block for good)": "1"})).reply()
    mine = await (await hearth.actor("alice").slash("myshares")).reply()
    assert "Not this one." in mine.text
    hearth.clock.advance(days=31)
    await hearth.restart()  # Hearth was not running at 04:17 for a month

    scheduler = hearth.bot.scheduler
    assert scheduler is not None
    daily = scheduler.get_job("sharing:cleanup")
    assert daily.coalesce and daily.misfire_grace_time >= 12 * 3600, "a late run still happens, once"
    soon = scheduler.get_job("sharing:cleanup:startup")
    assert soon is not None and soon.next_run_time - datetime.now(UTC) < timedelta(minutes=10)
    await soon.func()  # what APScheduler runs a few minutes after the start

    mine = await (await hearth.actor("alice").slash("myshares")).reply()
    assert "no anonymous shares" in mine.text, "a rejection older than 30 days is gone"
    db = hearth.bot.db
    assert db is not None
    assert await db.fetchval("SELECT COUNT(*) FROM sharing_blocks") == 0, "the expired block is gone"
    assert await db.fetchval("SELECT COUNT(*) FROM sharing_events") == 0, "old rate-limit rows are gone"
