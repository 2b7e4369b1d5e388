"""/faqadmin end to end: add, edit, remove, restore, the gap queue, export and import."""

from __future__ import annotations

import tomllib

from tests.fakediscord import Upload
from tests.fakediscord.harness import Harness


async def _ask(hearth: Harness, **questions: str) -> None:
    """Ask /faq as each named member, waiting for each answer."""
    for member, question in questions.items():
        await (await hearth.actor(member).slash("faq", question=question)).reply()


async def test_faqadmin_is_hidden_from_members_by_default_faq_and_learn_are_not(hearth: Harness) -> None:
    synced = {c["name"]: c for c in hearth.fake.commands(hearth.guild)}
    # Discord shows /faqadmin only to members with Manage Server (1 << 5) unless a server changes it.
    assert synced["faqadmin"]["default_member_permissions"] == str(1 << 5)
    assert {o["name"] for o in synced["faqadmin"]["options"]} == {
        "add", "edit", "remove", "restore", "misses", "export", "import"}
    assert synced["faq"]["default_member_permissions"] is None
    assert synced["learn"]["default_member_permissions"] is None


async def test_members_cannot_use_faqadmin(hearth: Harness) -> None:
    result = await hearth.actor("alice").slash("faqadmin misses")
    assert result.ephemeral
    assert "moderators" in result.text


async def test_add_opens_a_modal_and_the_entry_answers_this_server_only(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    opened = await mod.slash("faqadmin add")
    assert opened.modal.title == "Add an FAQ entry"
    saved = await opened.submit({"Question": "When does the group meet?",
                                 "Answer": "Every Tuesday at 7pm in the voice channel.",
                                 "Keywords (comma separated)": "meeting, voice chat, schedule"})
    await saved.reply()
    assert saved.ephemeral
    assert "Added `when-group-meet`" in saved.content
    answer = await hearth.actor("alice").slash("faq", question="what time is the group meeting")
    await answer.reply()
    assert answer.embed["title"] == "When does the group meet?"
    assert answer.embed["footer"]["text"] == "Written by this server's moderators"
    choices = await hearth.actor("alice").autocomplete("faq", "question", "group meet")
    assert choices[0]["value"] == "faq:when-group-meet"


async def test_editing_a_built_in_creates_an_override_for_this_server(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    choices = await mod.autocomplete("faqadmin edit", "entry", "jealous")
    assert choices[0]["value"] == "jealousy"
    assert "built-in" in choices[0]["name"]
    opened = await mod.slash("faqadmin edit", entry="jealousy")
    assert opened.modal.title == "Edit an FAQ entry"
    assert opened.modal.field("Question").value == "Why do I get so jealous and suspicious of my partner?"
    saved = await opened.submit({"Answer": "Jealousy is often fear. Our group talks about it on Thursdays."})
    await saved.reply()
    assert "Saved `jealousy`" in saved.content and "other servers" in saved.content
    answer = await hearth.actor("bob").slash("faq", question="faq:jealousy")
    await answer.reply()
    assert answer.embed["description"] == "Jealousy is often fear. Our group talks about it on Thursdays."
    assert "adapted by this server's moderators" in answer.embed["footer"]["text"]
    again = await mod.autocomplete("faqadmin edit", "entry", "jealous")
    assert "changed here" in again[0]["name"]


async def test_an_edit_that_breaks_the_rules_keeps_the_moderators_text(hearth: Harness) -> None:
    opened = await hearth.actor("mod").slash("faqadmin edit", entry="crisis-help-now")
    refused = await opened.submit({"Answer": "Just talk to a friend about it."})
    await refused.reply()
    assert refused.ephemeral
    assert "/resources" in refused.text
    assert "Just talk to a friend about it." in refused.text  # handed back, not lost
    answer = await hearth.actor("bob").slash("faq", question="faq:crisis-help-now")
    await answer.reply()
    assert "/resources" in answer.embed["description"]


async def test_remove_hides_a_built_in_and_restore_brings_it_back(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    removed = await mod.slash("faqadmin remove", entry="work")
    assert "Hid `work`" in removed.content
    gone = await hearth.actor("alice").slash("faq", question="faq:work")
    await gone.reply()
    assert not gone.embeds and "isn't in this server's FAQ any more" in gone.content
    choices = await hearth.actor("alice").autocomplete("faq", "question", "coworkers boss career")
    assert all(c["value"] != "faq:work" for c in choices)
    hidden = await mod.autocomplete("faqadmin restore", "entry", "")
    assert [c["value"] for c in hidden] == ["work"]
    restored = await mod.slash("faqadmin restore", entry="work")
    assert "back" in restored.content
    back = await hearth.actor("alice").slash("faq", question="faq:work")
    await back.reply()
    assert back.embed["title"] == "How do trust issues affect work and my career?"


async def test_remove_deletes_a_custom_entry(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    opened = await mod.slash("faqadmin add")
    sent = await opened.submit({"Question": "Where are the group rules?", "Answer": "Pinned in #welcome."})
    await sent.reply()
    choices = await mod.autocomplete("faqadmin remove", "entry", "group rules")
    assert "this server's" in choices[0]["name"]
    removed = await mod.slash("faqadmin remove", entry=choices[0]["value"])
    assert "Deleted this server's entry" in removed.content
    assert await mod.autocomplete("faqadmin restore", "entry", "") == []


async def test_misses_are_grouped_and_become_aliases_or_are_dismissed(hearth: Harness) -> None:
    await _ask(hearth, alice="is my ex stonewalling me", bob="Is my ex stonewalling me?",
               carol="how do i bake sourdough bread")
    mod = hearth.actor("mod")
    queue = await mod.slash("faqadmin misses")
    shown = await queue.reply()
    assert shown.ephemeral
    description = shown.embeds[0]["description"]
    assert "is my ex stonewalling me" in description.lower() and "asked 2 times" in description
    assert "also asked as “Is my ex stonewalling me?”" in description  # the other wording, for the moderator
    assert "sourdough" in description and "asked 1 time" in description
    for name in ("alice", "bob", "carol"):
        assert str(hearth.members[name].user.id) not in shown.text

    opened = await queue.click(label="Add as alias…")
    wording = opened.modal.field("Wording (remove anything personal)").value
    assert wording.lower() == "is my ex stonewalling me"
    added = await opened.submit({"Entry id": "adult-betrayal"})
    await added.reply()
    assert "as a way of asking `adult-betrayal`" in added.content
    assert "stonewalling" not in added.embeds[0]["description"]
    answer = await hearth.actor("alice").slash("faq", question="is my ex stonewalling me")
    await answer.reply()
    assert answer.embed["title"] == "Can being betrayed as an adult cause trust issues?"

    dismissed = await added.click(label="Dismiss")
    await dismissed.reply()
    assert "Dismissed" in dismissed.content
    assert "gap queue is empty" in dismissed.embeds[0]["description"]


async def test_export_gives_a_toml_file_that_imports_back(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    opened = await mod.slash("faqadmin add")
    sent = await opened.submit({"Question": "When does the group meet?", "Answer": "Tuesdays at 7pm."})
    await sent.reply()
    await mod.slash("faqadmin remove", entry="work")
    exported = await mod.slash("faqadmin export")
    message = await exported.reply()
    assert message.ephemeral
    assert message.attachments and message.attachments[0].filename == "hearth-faq.toml"
    data = message.attachments[0].data
    parsed = tomllib.loads(data.decode())
    assert parsed["hidden"] == ["work"]
    assert parsed["entry"][0]["id"] == "when-group-meet"

    await mod.slash("faqadmin restore", entry="work")
    imported = await mod.slash("faqadmin import", file=Upload("hearth-faq.toml", data), replace=True)
    done = await imported.reply()
    assert "1 custom entry" in done.content and "1 hidden" in done.content
    gone = await hearth.actor("alice").autocomplete("faq", "question", "coworkers boss career")
    assert all(c["value"] != "faq:work" for c in gone)


async def test_a_malformed_import_changes_nothing_and_says_what_is_wrong(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    opened = await mod.slash("faqadmin add")
    sent = await opened.submit({"Question": "When does the group meet?", "Answer": "Tuesdays at 7pm."})
    await sent.reply()
    before = (await (await mod.slash("faqadmin export")).reply()).attachments[0].data
    bad = b'hidden = ["not-an-entry"]\n[[entry]]\nid = "when-group-meet"\nkind = "custom"\nquestion = "x"\n'
    result = await mod.slash("faqadmin import", file=Upload("faq.toml", bad), replace=True)
    told = await result.reply()
    assert told.ephemeral
    assert told.content.startswith("Nothing was changed")
    assert "not-an-entry" in told.content and "`answer` is required" in told.content
    broken = await mod.slash("faqadmin import", file=Upload("faq.toml", b"[[entry]\nid ="), replace=True)
    assert "not valid TOML" in (await broken.reply()).content
    after = (await (await mod.slash("faqadmin export")).reply()).attachments[0].data
    assert after == before
    still = await hearth.actor("alice").slash("faq", question="faq:when-group-meet")
    await still.reply()
    assert still.embed["description"] == "Tuesdays at 7pm."


async def test_a_long_answer_written_across_a_restart_is_still_saved(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    opened = await mod.slash("faqadmin add")
    answer = ("Our circle meets on Tuesdays. " * 140)[:4000].strip()
    await hearth.restart()  # the moderator is still typing
    saved = await opened.submit({"Question": "When does the circle meet?", "Answer": answer})
    reply = await saved.reply()
    assert reply.ephemeral
    assert "Added `when-circle-meet`" in reply.content
    shown = await hearth.actor("alice").slash("faq", question="faq:when-circle-meet")
    assert (await shown.reply()).embed["description"] == answer


async def test_an_edit_form_opened_before_a_restart_saves_after_it(hearth: Harness) -> None:
    opened = await hearth.actor("mod").slash("faqadmin edit", entry="jealousy")
    await hearth.restart(hard=True)
    rewritten = "Jealousy is often fear. We talk about it on Thursdays."
    saved = await opened.submit({"Answer": rewritten})
    assert "Saved `jealousy`" in (await saved.reply()).content
    answer = await hearth.actor("bob").slash("faq", question="faq:jealousy")
    assert (await answer.reply()).embed["description"] == rewritten


async def test_a_member_cannot_save_an_entry_through_a_moderators_form(hearth: Harness) -> None:
    opened = await hearth.actor("mod").slash("faqadmin add")
    # The same form, submitted by someone who is not a moderator (say, one whose role was taken away).
    forged = await hearth.actor("alice").submit(opened, {"Question": "Free crypto?", "Answer": "Click here."})
    refused = await forged.reply()
    assert refused.ephemeral and "moderators" in refused.text
    choices = await hearth.actor("alice").autocomplete("faq", "question", "free crypto")
    assert all(c["value"] != "faq:free-crypto" for c in choices)


async def test_the_gap_queue_still_works_after_a_restart(hearth: Harness) -> None:
    await _ask(hearth, alice="is my ex stonewalling me", bob="how do i bake sourdough bread",
               carol="how do i bake sourdough bread")
    mod = hearth.actor("mod")
    queue = await mod.slash("faqadmin misses")
    await queue.reply()
    await hearth.restart()
    shown = queue.message
    assert shown is not None
    options = shown.selects[0]["options"]
    stonewalling = next(o["value"] for o in options if "stonewalling" in o["label"])
    chosen = await mod.select(shown, [stonewalling], custom_id="hearth:faq:misses:pick")
    await chosen.reply()
    opened = await mod.click(shown, label="Add as alias…")
    assert opened.modal.field("Wording (remove anything personal)").value == "is my ex stonewalling me"
    await hearth.restart()
    added = await opened.submit({"Entry id": "adult-betrayal"})
    await added.reply()
    assert "as a way of asking `adult-betrayal`" in added.content
    assert "stonewalling" not in added.embeds[0]["description"]
    answer = await hearth.actor("alice").slash("faq", question="is my ex stonewalling me")
    assert (await answer.reply()).embed["title"] == "Can being betrayed as an adult cause trust issues?"
    dismissed = await mod.click(shown, label="Dismiss")
    await dismissed.reply()
    assert "Dismissed “how do i bake sourdough bread”" in dismissed.content
    assert "gap queue is empty" in dismissed.embeds[0]["description"]
