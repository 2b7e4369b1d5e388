"""/learn end to end: paged topic cards that page forward and back, even after a restart."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakediscord.harness import Harness

REPO = Path(__file__).resolve().parents[2]


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


def _topics_with_a_first_page_of(tmp_path: Path, shown_length: int) -> Path:
    """Copy the shipped content, giving the first page of `understanding` a heading and a body that
    /learn shows in exactly `shown_length` characters."""
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    card = content / "topics" / "01-understanding.md"
    _, front, body = card.read_text(encoding="utf-8").split("+++\n", 2)
    rest = body.split("\n---\n", 1)[1]
    heading = "A long first page"
    room = shown_length - len(f"**{heading}**\n\n")
    filler = ("Trust grows back slowly, one kept promise at a time. " * 100)[:room - 1] + "."
    card.write_text(f"+++\n{front}+++\n## {heading}\n\n{filler}\n\n---\n{rest}", encoding="utf-8")
    return content


@pytest.mark.hearth_options(start=False)
async def test_a_topic_page_at_the_limit_shows_whole_with_its_heading(
    hearth: Harness, tmp_path: Path
) -> None:
    hearth.reconfigure(bot={"content_dir": str(_topics_with_a_first_page_of(tmp_path, 4096))})
    await hearth.start()
    card = await hearth.actor("alice").slash("learn", topic="understanding")
    description = card.embed["description"]
    assert len(description) == 4096
    assert description.startswith("**A long first page**\n\nTrust grows back slowly")
    assert description.endswith(".")


def test_check_config_names_a_topic_page_that_only_its_heading_takes_past_the_limit(tmp_path: Path) -> None:
    content = _topics_with_a_first_page_of(tmp_path, 4097)
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ncontent_dir = "{content}"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "check-config"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "content/topics/01-understanding.md: page 1: is 4097 characters with its heading; the limit is 4096"
    ]
