"""A busy database while a member submits their words: they get every word back, and nothing half-saved.

The database is made busy the way it is in production: another connection (a backup, a
`python -m bot` command) holds the write lock. The bot's busy timeout is shortened so the tests
stay quick; one test keeps a timeout longer than Discord's 3-second window, to show the member
still gets an answer then.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.checkin_helpers import MONDAY_8AM, add_schedule, checkin_posts, settle, tick
from tests.e2e.sharing_helpers import SHARE_FIELD, set_up_sharing
from tests.e2e.test_exercises_steps import ANSWERS, answer_step
from tests.fakediscord.harness import Harness

BUSY_WORDS = "very busy"
SHARE = "Today I told my sister something I had kept to myself for years, and she simply listened."
CRISIS = "Same here. I have decided to end my life this weekend and I have a plan."


@asynccontextmanager
async def busy_database(hearth: Harness, timeout_ms: int = 150) -> AsyncIterator[None]:
    """Hold the database's write lock from another connection, as a backup or a CLI command would."""
    db = hearth.bot.db
    assert db is not None
    await db.execute(f"PRAGMA busy_timeout = {timeout_ms}")
    other = sqlite3.connect(hearth.database_path, timeout=0.1, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()
        await db.execute("PRAGMA busy_timeout = 5000")


async def count(hearth: Harness, table: str) -> int:
    db = hearth.bot.db
    assert db is not None
    return int(await db.fetchval(f"SELECT COUNT(*) FROM {table}"))


def varied_text(length: int) -> str:
    """Return long prose that does not repeat itself (the sharing checks refuse text that does)."""
    text = ""
    n = 0
    while len(text) < length:
        n += 1
        text += f"Day {n}: {n + 1000} slow steps, {n + 2000} kind breaths, a calmer evening. "
    return text[:length].rstrip()


def kept(messages: list[Any]) -> str:
    """Return the words handed back in code blocks, joined as the member would copy them."""
    pieces = []
    for message in messages:
        for text in [message.content or "", *(e.get("description", "") for e in message.embeds)]:
            if "```" in text:
                pieces.append(text.split("```\n", 1)[1].rsplit("\n```", 1)[0])
    return "".join(pieces)


@pytest.mark.leak_scan
async def test_a_share_submitted_while_the_database_is_busy_comes_back_whole(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("setup", sharing_channel=hearth.channels["sharing"])).reply()
    long_share = varied_text(3990)
    opened = await hearth.actor("alice").slash("share")
    async with busy_database(hearth):
        result = await opened.submit({SHARE_FIELD: long_share})
        await result.reply()
        await result.wait_followups(1)
    assert all(m.ephemeral for m in result.messages)
    assert BUSY_WORDS in result.text and "Here is what you wrote" in result.text
    assert kept(result.messages) == long_share, "every word comes back, in order"
    assert await count(hearth, "sharing_posts") == 0, "nothing half-saved"

    again = await (await hearth.actor("alice").slash("share")).submit({SHARE_FIELD: SHARE})
    assert "Shared anonymously" in (await again.reply()).text


@pytest.mark.leak_scan
async def test_a_crisis_reply_refused_by_a_busy_database_still_shows_resources(hearth: Harness) -> None:
    channels = hearth.channels
    await set_up_sharing(hearth)
    await (await (await hearth.actor("alice").slash("share")).submit({SHARE_FIELD: SHARE})).reply()
    [posted] = hearth.fake.messages(channels["sharing"])
    opened = await hearth.actor("bob", "sharing").click(posted, label="Reply anonymously")
    async with busy_database(hearth):
        result = await opened.submit({"Your reply": CRISIS})
        await result.reply()
        await result.wait_followups(1)
    assert all(m.ephemeral for m in result.messages)
    assert BUSY_WORDS in result.text and kept(result.messages) == CRISIS, "the words come back"
    assert "You're not alone" in result.text and "Nobody has been told" in result.text
    assert hearth.fake.messages(channels["alerts"]) == [], "no alert about a reply that was never kept"
    assert hearth.fake.messages(channels["review"]) == []
    assert await count(hearth, "sharing_posts") == 1, "only alice's share"


async def test_a_journal_entry_comes_back_even_when_the_wait_outlasts_the_window(hearth: Harness) -> None:
    entry = "Tonight I noticed I wanted to check his phone, and I went for a walk instead."
    opened = await hearth.actor("alice").slash("journal write")
    async with busy_database(hearth, timeout_ms=3500):
        result = await opened.submit({"Your entry": entry})
        reply = await result.reply(timeout=8)
    assert reply.ephemeral and BUSY_WORDS in reply.text and entry in reply.text
    assert await count(hearth, "journal_entries") == 0


async def test_a_thought_record_keeps_its_last_answers_and_saves_once_later(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    current = await alice.slash("exercise", name="thought-record")
    for answers in ANSWERS[:-1]:
        current = await answer_step(alice, current, answers)
    opened = await alice.click(current, label="Answer")
    async with busy_database(hearth):
        failed = await opened.submit(ANSWERS[-1])
        told = await failed.wait_followups(1)
    assert told[0].ephemeral and BUSY_WORDS in told[0].text
    assert "it isn't about me" in told[0].text and "40" in told[0].text
    assert await count(hearth, "journal_entries") == 0
    assert "### A balanced thought" in failed.message.embeds[0]["description"], "still at the last step"

    done = await answer_step(alice, failed, ANSWERS[-1])
    assert done.message.embeds[0]["description"].startswith("## Saved to your journal")
    assert await count(hearth, "journal_entries") == 1


async def test_a_check_in_note_comes_back_and_no_part_of_it_is_kept(hearth: Harness) -> None:
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)
    await add_schedule(hearth)
    await tick(hearth, MONDAY_8AM + timedelta(hours=1))
    [post] = checkin_posts(hearth)
    actor = hearth.actor("alice", "checkins")
    chooser = await actor.click(post, label="Add a few words")
    opened = await actor.click(chooser, label="The group, anonymously")
    async with busy_database(hearth):
        reply = await (await actor.submit(opened, {"Your words": "A heavy week, lighter today."})).reply()
    assert BUSY_WORDS in reply.text and "A heavy week, lighter today." in reply.text
    assert await count(hearth, "checkin_anonymous_notes") == 0
    thread_messages = [m for t in hearth.fake.world.threads_of(hearth.channels["checkins"])
                       for m in hearth.fake.world.channel_messages(t)]
    assert thread_messages == []


async def test_a_moderators_faq_entry_comes_back_with_every_field(hearth: Harness) -> None:
    opened = await hearth.actor("mod").slash("faqadmin add")
    async with busy_database(hearth):
        result = await opened.submit({"Question": "When does the group meet?",
                                      "Answer": "Every Tuesday at 7pm in the voice channel.",
                                      "Keywords (comma separated)": "meeting, voice chat"})
        reply = await result.reply()
    assert BUSY_WORDS in reply.text
    for typed in ("When does the group meet?", "Every Tuesday at 7pm", "meeting, voice chat"):
        assert typed in reply.text
    assert "when-group-meet" not in (await (await hearth.actor("mod").slash("faqadmin export")).reply()).text


async def test_a_ladder_step_typed_as_an_option_comes_back(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    async with busy_database(hearth):
        result = await alice.slash("ladder add", step="Tell my sister the truth", difficulty=40)
        reply = await result.reply()
    assert BUSY_WORDS in reply.text and "Tell my sister the truth" in reply.text
    assert await count(hearth, "ladder_steps") == 0
