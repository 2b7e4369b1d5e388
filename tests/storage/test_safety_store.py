from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.content import load_content
from bot.errors import UserFacingError
from bot.services.safety import CrisisLevel, SafetyService, build_safety_service
from bot.storage.db import Database, StorageBusyError

CONTENT = Path(__file__).resolve().parents[2] / "content"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def service(db: Database) -> SafetyService:
    return build_safety_service(load_content(CONTENT), db)


async def test_a_guild_phrase_counts_only_in_its_guild(service: SafetyService) -> None:
    assert (await service.assess(1, "I am going to the blue bridge tonight")).level is CrisisLevel.NONE
    await service.add_phrase(1, "going to the blue bridge", "crisis", NOW)
    here = await service.assess(1, "I'm GOING to the bluuue bridge tonight")
    assert here.level is CrisisLevel.CRISIS
    assert here.matched == ("going to the blue bridge",)
    assert (await service.assess(2, "I am going to the blue bridge tonight")).level is CrisisLevel.NONE
    assert (await service.assess(None, "I am going to the blue bridge tonight")).level is CrisisLevel.NONE


async def test_words_about_to_be_saved_are_assessed_even_when_the_guild_phrases_cannot_be_read(
    service: SafetyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await service.add_phrase(1, "going to the blue bridge", "crisis", NOW)
    service.forget_guild(1)

    async def busy(guild_id: int) -> list[object]:
        raise StorageBusyError("database is locked")

    assert service.store is not None
    monkeypatch.setattr(service.store, "list_phrases", busy)
    with pytest.raises(StorageBusyError):
        await service.assess(1, "I want to kill myself")
    # The built-in phrases still decide; the guild's own can't be read just now.
    assert (await service.assess_for_care(1, "I want to kill myself")).level is CrisisLevel.CRISIS
    assert (await service.assess_for_care(1, "going to the blue bridge")).level is CrisisLevel.NONE


async def test_removing_a_phrase_stops_it_matching(service: SafetyService) -> None:
    await service.add_phrase(1, "Red Door", "concern", NOW)
    assert (await service.assess(1, "back at the red door")).level is CrisisLevel.CONCERN
    assert await service.remove_phrase(1, "red door")
    assert not await service.remove_phrase(1, "red door")
    assert (await service.assess(1, "back at the red door")).level is CrisisLevel.NONE


async def test_an_ignore_phrase_never_silences_built_in_crisis_detection(service: SafetyService) -> None:
    # An ignore phrase used to cancel every match it overlapped, so "want" or "myself" as ignore
    # switched off "I want to die". Now one-word ignore phrases are refused, and no ignore phrase
    # cancels a built-in crisis match.
    for word in ("want", "myself", "me", "  die  "):
        with pytest.raises(UserFacingError, match="at least 2 words"):
            await service.add_phrase(1, word, "ignore", NOW)
    for phrase in ("want to", "to die", "want to die", "i want to die every time"):
        await service.add_phrase(1, phrase, "ignore", NOW)
    assert (await service.assess(1, "I want to die")).level is CrisisLevel.CRISIS
    raid = await service.assess(1, "i want to die every time i see the raid boss")
    assert raid.level is CrisisLevel.CRISIS
    assert (await service.assess(1, "i want to kill myself")).level is CrisisLevel.CRISIS


async def test_an_ignore_phrase_cancels_only_matches_it_wholly_contains(service: SafetyService) -> None:
    text = "i feel alone in this dungeon"
    assert (await service.assess(1, text)).level is CrisisLevel.CONCERN
    await service.add_phrase(1, "alone in this dungeon", "ignore", NOW)  # covers part of "i feel alone"
    assert (await service.assess(1, text)).level is CrisisLevel.CONCERN
    await service.add_phrase(1, "i feel alone in this dungeon", "ignore", NOW)  # covers all of it
    assert (await service.assess(1, text)).level is CrisisLevel.NONE
    assert (await service.assess(2, text)).level is CrisisLevel.CONCERN
    # Anything outside the ignore phrase still counts.
    both = await service.assess(1, "i feel alone in this dungeon. i want to die")
    assert both.level is CrisisLevel.CRISIS


async def test_an_ignore_phrase_can_cancel_the_guilds_own_crisis_phrase(service: SafetyService) -> None:
    await service.add_phrase(1, "the quarry", "crisis", NOW)
    assert (await service.assess(1, "meet at the quarry car park")).level is CrisisLevel.CRISIS
    await service.add_phrase(1, "the quarry car park", "ignore", NOW)
    assert (await service.assess(1, "meet at the quarry car park")).level is CrisisLevel.NONE
    assert (await service.assess(1, "i am going to the quarry tonight")).level is CrisisLevel.CRISIS


async def test_adding_a_phrase_says_what_it_does_to_crisis_examples(service: SafetyService) -> None:
    assert service.book.examples, "content/safety.toml lists crisis examples"
    harmless = await service.check_phrase(1, "dying to see", "ignore")
    assert harmless.changed == () and harmless.shielded == ()
    covering = await service.check_phrase(1, "want to die", "ignore")
    assert covering.changed == ()  # nothing changes: built-in crisis cannot be ignored...
    assert "honestly i just want to die" in covering.shielded  # ...and the moderator is told so
    assert (await service.check_phrase(1, "going to the quarry", "crisis")).shielded == ()


async def test_adding_a_phrase_again_changes_its_level(service: SafetyService) -> None:
    await service.add_phrase(1, "grey cloud", "concern", NOW)
    await service.add_phrase(1, "grey cloud", "crisis", NOW)
    assert [(p.phrase, p.level) for p in await service.list_phrases(1)] == [("grey cloud", "crisis")]


async def test_bad_phrases_are_refused_kindly(service: SafetyService) -> None:
    with pytest.raises(UserFacingError):
        await service.add_phrase(1, "   ", "crisis", NOW)
    with pytest.raises(UserFacingError):
        await service.add_phrase(1, "!!!", "crisis", NOW)
    with pytest.raises(UserFacingError):
        await service.add_phrase(1, "x" * 101, "crisis", NOW)
    with pytest.raises(UserFacingError):
        await service.add_phrase(1, "fine", "panic", NOW)


async def test_concern_alerts_only_when_the_guild_chooses(service: SafetyService) -> None:
    concern = await service.assess(1, "I feel so alone")
    crisis = await service.assess(1, "I want to end my life")
    assert concern.level is CrisisLevel.CONCERN
    assert not await service.should_alert(1, concern)
    assert await service.should_alert(1, crisis)
    await service.set_alerts_on_concern(1, True, NOW)
    assert await service.should_alert(1, concern)
    assert not await service.should_alert(2, concern)
    assert not await service.should_alert(None, crisis)
