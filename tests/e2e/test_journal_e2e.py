"""The private journal through the fake Discord: write, list, read, delete, export, and care."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.slow_writes import slow_down_write
from tests.e2e.test_busy_e2e import busy_database
from tests.fakediscord.harness import Harness


def _desc(result: Any) -> str:
    return str(result.embed.get("description", ""))


async def _write(hearth: Harness, member: str, text: str) -> Any:
    actor = hearth.actor(member)
    opened = await actor.slash("journal write")
    assert opened.type == 9 and opened.modal.title == "New journal entry"
    submitted = await opened.submit({"Your entry": text})
    await submitted.reply()
    return submitted


async def test_write_list_read_delete_and_export(hearth: Harness) -> None:
    saved = await _write(hearth, "alice", "Today I asked Sam for help with the move, and he came. Small win.")
    assert saved.ephemeral
    assert saved.content == "Saved to your private journal. Only you can read it: see **/journal entries**."
    for n in range(1, 6):
        await _write(hearth, "alice", f"Entry number {n}: noticed my shoulders drop after a walk.")
    await _write(hearth, "bob", "Bob's private thoughts about his week.")

    alice = hearth.actor("alice")
    listed = await (await alice.slash("journal entries")).reply()
    assert listed.ephemeral
    embed = listed.embeds[0]
    assert embed["title"] == "Your journal"
    assert "Entry number 5" in embed["description"] and "asked Sam" not in embed["description"]
    assert embed["footer"]["text"].startswith("Page 1 of 2 · 6 entries")
    assert "Bob" not in listed.text
    assert [b["label"] for b in listed.buttons] == ["Newer", "Older"]

    older = await alice.click(listed, label="Older")
    assert "asked Sam" in _desc(older) and older.embed["footer"]["text"].startswith("Page 2 of 2")

    menu = older.message.selects[0]
    first_entry = menu["options"][0]["value"]
    read = await alice.select(older, [first_entry])
    assert read.embed["title"].startswith("Entry, ")
    assert _desc(read) == "Today I asked Sam for help with the move, and he came. Small win."
    assert [b["label"] for b in read.message.buttons] == ["Back to the list", "Delete"]

    confirm = await alice.click(read, label="Delete")
    assert confirm.embed["title"] == "Delete this entry?"
    kept = await alice.click(confirm, label="Keep it")
    assert _desc(kept).startswith("Today I asked Sam")
    confirm = await alice.click(kept, label="Delete")
    deleted = await alice.click(confirm, label="Delete for good")
    assert _desc(deleted).startswith("Deleted. That entry is gone from Hearth for good.")
    assert "asked Sam" not in _desc(deleted)

    exported = await (await alice.slash("journal export")).reply()
    assert exported.ephemeral
    assert "Here is your journal: 5 entries." in exported.content
    attachment = exported.attachments[0]
    assert attachment.filename == "hearth-journal.md"
    markdown = attachment.text()
    assert markdown.startswith("# My Hearth journal (Hearth Test Server)")
    assert markdown.count("## Entry, ") == 5
    assert "Entry number 1" in markdown and "asked Sam" not in markdown and "Bob" not in markdown


async def test_entries_are_encrypted_at_rest(hearth: Harness) -> None:
    await _write(hearth, "alice", "A very private sentence about my sister.")
    assert hearth.bot.db is not None
    stored = await hearth.bot.db.fetchall("SELECT body FROM journal_entries")
    assert len(stored) == 1 and stored[0]["body"].startswith("v1:")
    assert "sister" not in stored[0]["body"]
    raw = hearth.database_path.read_bytes()
    wal = hearth.database_path.with_name(hearth.database_path.name + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    assert b"sister" not in raw


async def test_writing_from_a_prompt(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    shown = await alice.slash("journal write", prompt=True)
    assert shown.ephemeral and shown.embed["title"] == "Something to write about"
    first_prompt = _desc(shown).splitlines()[0]
    assert first_prompt.startswith("> ")
    another = await alice.click(shown, label="Another prompt")
    assert _desc(another).splitlines()[0] != first_prompt
    opened = await alice.click(another, label="Write about this")
    assert opened.modal.title == "Write about the prompt"
    assert opened.modal.field("Your entry").placeholder == _desc(another).splitlines()[0][2:]
    await (await opened.submit({"Your entry": "Mostly my partner, and it was fine in the end."})).reply()
    read = await (await alice.slash("journal entries")).reply()
    entry = await alice.select(read, [read.selects[0]["options"][0]["value"]])
    assert _desc(entry).startswith(_desc(another).splitlines()[0] + "\n\nMostly my partner")


async def test_an_empty_journal_says_how_to_begin(hearth: Harness) -> None:
    listed = await (await hearth.actor("carol").slash("journal entries")).reply()
    assert "Your journal is empty" in listed.embeds[0]["description"]
    exported = await (await hearth.actor("carol").slash("journal export")).reply()
    assert exported.content == "Your journal is empty, so there's nothing to export yet."


async def test_worrying_words_in_the_journal_reach_only_the_writer(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("setup", alerts_channel=hearth.channels["alerts"])).reply()
    saved = await _write(hearth, "alice", "Some nights I want to die. Writing it down helps a little.")
    care = await saved.wait_followups(1)
    assert care[0].ephemeral
    assert care[0].embeds[0]["title"] == "You're not alone"
    assert "Nobody has been told about this." in care[0].text
    assert hearth.fake.messages(hearth.channels["alerts"]) == []
    # The entry is still saved, as written.
    listed = await (await hearth.actor("alice").slash("journal entries")).reply()
    assert "Some nights I want to die" in listed.text


async def test_worrying_words_get_care_even_when_the_entry_could_not_be_saved(hearth: Harness) -> None:
    await (await hearth.actor("mod").slash("setup", alerts_channel=hearth.channels["alerts"])).reply()
    words = "I want to die. I couldn't tell anyone today."
    opened = await hearth.actor("alice").slash("journal write")
    async with busy_database(hearth):
        submitted = await opened.submit({"Your entry": words})
        told = await submitted.reply()
        care = await submitted.wait_followups(1)
    # First the plain truth, with every word handed back ...
    assert told.ephemeral and "very busy" in told.text and words in told.text
    # ... then the helplines, to the writer alone.
    assert care[0].ephemeral and care[0].embeds[0]["title"] == "You're not alone"
    assert "carrying something really heavy" in care[0].text
    assert "Reach someone now" in care[0].text and "Nobody has been told about this." in care[0].text
    assert hearth.fake.messages(hearth.channels["alerts"]) == []
    assert hearth.bot.db is not None
    assert await hearth.bot.db.fetchval("SELECT COUNT(*) FROM journal_entries") == 0


async def test_everyday_words_that_could_not_be_saved_get_no_care_message(hearth: Harness) -> None:
    opened = await hearth.actor("alice").slash("journal write")
    async with busy_database(hearth):
        submitted = await opened.submit({"Your entry": "A calm walk by the river after work."})
        told = await submitted.reply()
    assert "very busy" in told.text
    await asyncio.sleep(0.3)
    assert submitted.followups == []


async def test_deleting_an_entry_is_acknowledged_in_time_when_the_delete_is_slow(
    hearth: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = hearth.bot.get_cog("Journal").service.store  # type: ignore[union-attr]
    alice = hearth.actor("alice")
    await _write(hearth, "alice", "A quiet evening, and I let myself rest.")
    listed = await (await alice.slash("journal entries")).reply()
    read = await alice.select(listed, [listed.selects[0]["options"][0]["value"]])
    confirm = await alice.click(read, label="Delete")
    slow_down_write(monkeypatch, store, "delete")
    clicked = await alice.click(confirm, label="Delete for good")
    assert clicked.type == 6 and clicked.latency < 3
    await clicked.reply(timeout=8)
    assert "Deleted. That entry is gone from Hearth for good." in _desc(clicked)
    assert hearth.bot.db is not None
    assert await hearth.bot.db.fetchval("SELECT COUNT(*) FROM journal_entries") == 0
