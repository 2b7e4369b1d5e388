"""/faq end to end: suggestions as members type, answers, "Did you mean", misses and crisis care."""

from __future__ import annotations

from tests.fakediscord.harness import Harness


async def _misses(hearth: Harness) -> list[tuple]:
    assert hearth.bot.db is not None
    return [tuple(r) for r in await hearth.bot.db.fetchall("SELECT * FROM faq_misses")]


async def test_autocomplete_suggests_entries_as_a_member_types(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    choices = await alice.autocomplete("faq", "question", "how long til i can trust agin")
    assert 1 <= len(choices) <= 25
    assert choices[0]["name"] == "How long does it take to get past trust issues?"
    assert choices[0]["value"] == "faq:how-long-healing-takes"
    everything = await alice.autocomplete("faq", "question", "")
    assert len(everything) == 25
    assert all(len(c["name"]) <= 100 for c in everything)


async def test_a_picked_suggestion_answers_privately_with_a_post_button(hearth: Harness) -> None:
    result = await hearth.actor("alice").slash("faq", question="faq:how-long-healing-takes")
    assert result.ephemeral
    assert result.embed["title"] == "How long does it take to get past trust issues?"
    assert "There is no fixed timetable" in result.embed["description"]
    assert "From the guide" in result.embed["footer"]["text"]
    assert hearth.fake.messages(hearth.channels["general"]) == []


async def test_a_confident_question_is_answered_and_can_be_posted_to_the_group(hearth: Harness) -> None:
    alice = hearth.actor("alice", "general")
    result = await alice.slash("faq", question="my husband cheated on me and now i cant trust anyone")
    assert result.ephemeral
    assert result.embed["title"] == "Can being betrayed as an adult cause trust issues?"
    posted = await result.click(label="Post in channel")
    assert not posted.ephemeral
    assert posted.embed["title"] == "Can being betrayed as an adult cause trust issues?"
    assert posted.embed["footer"]["text"].startswith("Shared from /faq")
    public = hearth.fake.messages(hearth.channels["general"])
    assert [m.embed["title"] for m in public] == ["Can being betrayed as an adult cause trust issues?"]
    # Nothing the member typed reached the channel.
    assert "husband" not in public[0].text


async def test_a_related_entry_opens_from_an_answer(hearth: Harness) -> None:
    result = await hearth.actor("alice").slash("faq", question="faq:jealousy")
    related = await result.click(label="What is fear of abandonment?")
    assert related.ephemeral
    assert related.embed["title"] == "What is fear of abandonment?"


async def test_an_unclear_question_offers_did_you_mean_buttons_that_work(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    result = await alice.slash("faq", question="therapy")
    assert result.ephemeral
    assert result.embed["title"] == "Did you mean…"
    buttons = [b["label"] for b in result.message.buttons]
    assert 2 <= len(buttons) <= 3
    chosen = await result.click(label=buttons[1])
    assert chosen.ephemeral
    assert chosen.embed["title"] == buttons[1]
    assert chosen.message.find_component(label="Post in channel") is not None
    # The answer replaced the question in place.
    assert chosen.message.id == result.message.id
    assert await _misses(hearth) == []


async def test_a_miss_is_kind_and_lands_in_the_gap_queue_without_who_asked(hearth: Harness) -> None:
    alice = hearth.members["alice"]
    result = await hearth.actor("alice", "general").slash("faq", question="how do i bake sourdough bread")
    assert result.ephemeral
    assert "/learn" in result.content and "/resources" in result.content
    assert "doesn't say who asked" in result.content
    rows = await _misses(hearth)
    assert len(rows) == 1
    _, guild_id, sealed, asked_on = rows[0]
    assert guild_id == hearth.guild.id
    assert "sourdough" not in sealed
    assert asked_on.endswith("T00:00:00+00:00")
    for value in rows[0]:
        assert str(alice.user.id) not in str(value)
        assert str(hearth.channels["general"].id) not in str(value)


async def test_crisis_wording_gets_care_and_is_never_queued(hearth: Harness) -> None:
    result = await hearth.actor("alice").slash("faq", question="i want to kill myself, nobody would miss me")
    assert result.ephemeral
    assert "findahelpline.com" in result.text or "Reach someone now" in result.text
    assert await _misses(hearth) == []


async def test_a_struggling_member_gets_care_and_still_gets_the_answer(hearth: Harness) -> None:
    result = await hearth.actor("alice").slash(
        "faq", question="i feel worthless, can trust issues affect my mental health"
    )
    assert result.ephemeral
    assert "Reach someone now" in result.text or "/resources" in result.text
    followups = await result.wait_followups(1)
    assert followups[0].ephemeral
    assert followups[0].embed["title"] == "Can trust issues affect my mental health?"
    assert await _misses(hearth) == []
