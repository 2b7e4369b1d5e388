"""The trust ladder through the fake Discord: add, view, log with trends, remove and milestones."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_busy_e2e import busy_database, count
from tests.fakediscord.harness import Harness


def _desc(result: Any) -> str:
    return str(result.embed.get("description", ""))


async def _step_value(hearth: Harness, member: str, typed: str) -> str:
    # As on Discord, the other required options (before, after) may still be empty.
    choices = await hearth.actor(member).autocomplete("ladder log", "step", typed)
    assert len(choices) == 1, choices
    return str(choices[0]["value"])


async def test_add_log_and_view_a_ladder(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    first = await alice.slash("ladder add", step="Tell a friend how my week really went", difficulty=60)
    await first.reply()
    assert first.ephemeral
    assert first.content.startswith("Added **Tell a friend how my week really went** (difficulty 60). "
                                    "It's step 1 of 1")
    assert "Start with the easiest" in first.content
    second = await alice.slash("ladder add", step="Ask a colleague for a recommendation", difficulty=15)
    await second.reply()
    assert "It's step 1 of 2, counting from the easiest." in second.content

    empty_view = await alice.slash("ladder view")
    assert "**0 of 2** steps feel manageable" in _desc(empty_view)
    lines = _desc(empty_view).splitlines()
    assert lines[2] == "` 15` **Ask a colleague for a recommendation**: ○ not tried yet"
    assert lines[3] == "` 60` **Tell a friend how my week really went**: ○ not tried yet"
    assert "**Next to practise:** Ask a colleague for a recommendation" in _desc(empty_view)
    guidance = empty_view.embed["fields"][0]
    assert guidance["name"] == "How to climb"
    assert "**Start small.**" in guidance["value"] and "**Celebrate small wins.**" in guidance["value"]

    step = await _step_value(hearth, "alice", "colleague")
    logged = await alice.slash("ladder log", step=step, before=70, after=40)
    await logged.reply()
    assert logged.ephemeral
    assert logged.embed["title"] == "Logged: Ask a colleague for a recommendation"
    assert "Discomfort before: **70**, after: **40**." in _desc(logged)
    assert "First try: discomfort 70 before, 40 after. It eased by 30 points by the end." in _desc(logged)
    assert "🎉 **A small win.** You tried a step on your trust ladder for the first time." in _desc(logged)

    await (await alice.slash("ladder log", step=step, before=45, after=30)).reply()
    third = await alice.slash("ladder log", step=step, before=25, after=10)
    await third.reply()
    assert "Discomfort before, try by try: 70 → 45 → 25, down 45 since your first try." in _desc(third)
    assert "This step now feels manageable." in _desc(third)

    view = await alice.slash("ladder view")
    text = _desc(view)
    assert "**1 of 2** steps feel manageable  ▰▱" in text
    assert (
        "**Ask a colleague for a recommendation**: ✅ feels manageable\n      discomfort before: 70 → 45 → 25"
    ) in text
    assert "**Next to practise:** Tell a friend how my week really went" in text


async def test_each_member_sees_only_their_own_ladder(hearth: Harness) -> None:
    sent = await hearth.actor("alice").slash("ladder add", step="Say good morning first", difficulty=10)
    await sent.reply()
    assert await hearth.actor("bob").autocomplete("ladder remove", "step", "") == []
    bob_view = await hearth.actor("bob").slash("ladder view")
    assert "Your ladder is empty." in _desc(bob_view)
    step = await _step_value(hearth, "alice", "")
    refused = await hearth.actor("bob").slash("ladder log", step=step, before=10, after=5)
    await refused.reply()
    assert refused.ephemeral and "I can't find that step on your ladder" in refused.content


async def test_remove_a_step(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    await (await alice.slash("ladder add", step="Share a small opinion at dinner", difficulty=30)).reply()
    step = await _step_value(hearth, "alice", "opinion")
    removed = await alice.slash("ladder remove", step=step)
    await removed.reply()
    assert removed.content == "Removed **Share a small opinion at dinner** and its history from your ladder."
    assert "Your ladder is empty." in _desc(await alice.slash("ladder view"))


async def test_typed_text_that_is_not_a_step_gets_a_kind_answer(hearth: Harness) -> None:
    refused = await hearth.actor("alice").slash("ladder log", step="my step", before=10, after=5)
    assert "Please pick a step from the list" in refused.content


@pytest.mark.leak_scan
async def test_a_small_win_can_be_shared_anonymously_in_the_members_own_words(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("setup", sharing_channel=hearth.channels["sharing"])).reply()
    alice = hearth.actor("alice")
    await (await alice.slash("ladder add", step="Ask my brother Tom for a lift", difficulty=40)).reply()
    step = await _step_value(hearth, "alice", "Tom")
    logged = await alice.slash("ladder log", step=step, before=60, after=30)
    await logged.reply()
    assert [b["label"] for b in logged.message.buttons] == ["Share this win anonymously"]

    opened = await alice.click(logged, label="Share this win anonymously")
    suggested = opened.modal.field("Your post (anonymous)").value
    # The suggestion never repeats the step, which could name the member or people they know.
    assert suggested == "A small win: I tried a new step on my trust ladder today. Small steps count."
    shared = await opened.submit({"Your post (anonymous)": suggested + " It felt scary but okay."})
    assert "Shared anonymously as" in (await shared.reply()).text

    posts = [m for m in hearth.fake.messages(hearth.channels["sharing"]) if m.embeds]
    assert len(posts) == 1
    post = posts[0]
    assert post.embeds[0]["title"] == "A small win on the trust ladder"
    assert "It felt scary but okay." in post.embeds[0]["description"]
    assert "Tom" not in post.text and "alice" not in post.text.lower()
    assert str(hearth.members["alice"].id) not in str(post.embeds) + str(post.components)


async def test_suggested_milestone_posts_quote_no_ratings_or_counts(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("setup", sharing_channel=hearth.channels["sharing"])).reply()
    alice = hearth.actor("alice")
    await (await alice.slash("ladder add", step="Say what I need", difficulty=50)).reply()
    step = await _step_value(hearth, "alice", "need")
    for before in (70, 60):
        await (await alice.slash("ladder log", step=step, before=before, after=40)).reply()
    dropped = await alice.slash("ladder log", step=step, before=45, after=30)
    await dropped.reply()
    # Privately, the member sees the figures ...
    assert "has come down 25 points" in _desc(dropped)
    opened = await alice.click(dropped, label="Share this win anonymously")
    suggested = opened.modal.field("Your post (anonymous)").value
    # ... but the suggested anonymous post doesn't repeat them.
    assert suggested == "A small win: a step on my trust ladder that used to feel big feels smaller now."

    await (await alice.slash("ladder add", step="Keep a plan", difficulty=60)).reply()
    again = await _step_value(hearth, "alice", "plan")
    for _ in range(4):
        await (await alice.slash("ladder log", step=again, before=60, after=50)).reply()
    fifth = await alice.slash("ladder log", step=again, before=60, after=50)
    await fifth.reply()
    assert "You have practised this step 5 times." in _desc(fifth)
    opened = await alice.click(fifth, label="Share this win anonymously")
    suggested = opened.modal.field("Your post (anonymous)").value
    assert not any(ch.isdigit() for ch in suggested), suggested


async def test_no_share_button_when_sharing_is_not_loaded(hearth: Harness) -> None:
    await hearth.bot.remove_cog("Sharing")
    alice = hearth.actor("alice")
    await (await alice.slash("ladder add", step="Ask for directions", difficulty=5)).reply()
    logged = await alice.slash("ladder log", step=await _step_value(hearth, "alice", ""), before=30, after=10)
    await logged.reply()
    assert "A small win" in _desc(logged)
    assert logged.message.buttons == []


@pytest.mark.hearth_config(retention={"ladder_days": 90})
async def test_privacy_says_how_long_ladder_ratings_are_kept(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    await (await alice.slash("ladder add", step="Say what I need", difficulty=50)).reply()
    step = await _step_value(hearth, "alice", "need")
    await (await alice.slash("ladder log", step=step, before=50, after=40)).reply()
    shown = await (await alice.slash("privacy")).reply()
    held = next(f["value"] for f in shown.embed["fields"] if f["name"] == "Trust ladder: 1 item")
    assert held == (
        "Your steps (encrypted; they stay until you remove them) and the ratings you logged.\n"
        "_Deleted after 90 days: trust-ladder practice logs (the steps stay until you remove them)._"
    )


async def test_a_try_logged_while_the_database_is_busy_is_answered_in_time_and_saved_once(
    hearth: Harness,
) -> None:
    alice = hearth.actor("alice")
    await (await alice.slash("ladder add", step="Ask for help at work", difficulty=20)).reply()
    step = await _step_value(hearth, "alice", "help")
    # The lock outlasts Discord's 3 seconds: the member still sees Hearth working, then hears why.
    async with busy_database(hearth, timeout_ms=3500):
        result = await alice.slash("ladder log", step=step, before=50, after=30)
        assert result.deferred and result.latency < 3
        reply = await result.reply(timeout=8)
    assert reply.ephemeral and "very busy" in reply.text
    assert "before 50, after 30" in reply.text and "Nothing was saved" in reply.text
    assert await count(hearth, "ladder_logs") == 0

    again = await alice.slash("ladder log", step=step, before=50, after=30)
    assert "Discomfort before: **50**, after: **30**." in (await again.reply()).text
    assert await count(hearth, "ladder_logs") == 1, "the try is logged once"


async def test_a_step_removed_while_the_database_is_busy_is_answered_in_time_and_kept(
    hearth: Harness,
) -> None:
    alice = hearth.actor("alice")
    await (await alice.slash("ladder add", step="Share a worry with my sister", difficulty=50)).reply()
    step = await _step_value(hearth, "alice", "worry")
    async with busy_database(hearth, timeout_ms=3500):
        result = await alice.slash("ladder remove", step=step)
        assert result.deferred and result.latency < 3
        reply = await result.reply(timeout=8)
    assert reply.ephemeral and "very busy" in reply.text and "still on your ladder" in reply.text
    assert "Share a worry with my sister" in _desc(await alice.slash("ladder view"))

    removed = await (await alice.slash("ladder remove", step=step)).reply()
    assert removed.content == "Removed **Share a worry with my sister** and its history from your ladder."
    assert await count(hearth, "ladder_steps") == 0
