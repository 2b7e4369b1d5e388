"""/learn end to end: paged topic cards that page forward and back, even after a restart."""

from __future__ import annotations

from tests.fakediscord.harness import Harness


async def test_learn_offers_every_topic_as_the_member_types(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    everything = await alice.autocomplete("learn", "topic", "")
    assert len(everything) == 9
    assert [c["value"] for c in await alice.autocomplete("learn", "topic", "heal")] == ["healing"]


async def test_learn_pages_forward_and_back(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    card = await alice.slash("learn", topic="causes")
    assert card.ephemeral
    assert card.embed["title"] == "Where trust issues come from"
    assert card.embed["footer"]["text"].startswith("Page 1 of 4")
    previous = card.message.find_component(label="Previous")
    assert previous is not None and previous.get("disabled")
    nxt = await card.click(label="Next")
    assert nxt.message.id == card.message.id  # the card turns its page in place
    assert nxt.embed["footer"]["text"].startswith("Page 2 of 4")
    assert "Childhood hurt" in nxt.embed["description"]
    back = await nxt.click(label="Previous")
    assert back.embed["footer"]["text"].startswith("Page 1 of 4")
    assert "Why the roots matter" in back.embed["description"]


async def test_learn_still_pages_after_a_restart(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    card = await alice.slash("learn", topic="signs")
    second = await card.click(label="Next")
    assert second.embed["footer"]["text"].startswith("Page 2 of 5")
    await hearth.restart()
    third = await hearth.actor("alice").click(second.message, label="Next")
    assert third.embed["footer"]["text"].startswith("Page 3 of 5")
    assert "Jealousy and suspicion" in third.embed["description"]
    back = await third.click(label="Previous")
    assert back.embed["footer"]["text"].startswith("Page 2 of 5")


async def test_a_topic_card_links_to_related_faq_entries(hearth: Harness) -> None:
    card = await hearth.actor("alice").slash("learn", topic="therapy")
    answer = await card.click(label="What is CBT and how can it help with trust?")
    assert answer.ephemeral
    assert answer.embed["title"] == "What is CBT and how can it help with trust?"
    assert answer.message.id != card.message.id


async def test_an_unknown_topic_lists_the_real_ones(hearth: Harness) -> None:
    result = await hearth.actor("alice").slash("learn", topic="astrology")
    assert result.ephemeral
    assert "`healing`" in result.text and "`causes`" in result.text


async def test_a_hidden_entry_is_not_linked_from_a_topic_card(hearth: Harness) -> None:
    await hearth.actor("mod").slash("faqadmin remove", entry="cbt")
    card = await hearth.actor("alice").slash("learn", topic="therapy")
    assert card.message.find_component(label="What is CBT and how can it help with trust?") is None
