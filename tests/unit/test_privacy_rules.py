"""What /privacy and the erase messages say, and that it always fits Discord's limits."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot.cogs.privacy import KIND_WORDS, area_field, batches, erase_outcome, privacy_embeds
from bot.config import RetentionSettings
from bot.services.privacy import AreaSummary, ErasureResult, count_items
from bot.storage.personal import DESCRIPTION_LIMIT, PersonalData, register_personal_data


async def _export(*_: Any) -> list[Any]:
    return []


async def _erase(*_: Any) -> None:
    return None


def test_an_area_description_too_long_for_privacy_is_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="longer than"):
        wordy = PersonalData("wordy", _export, _erase, description="x" * (DESCRIPTION_LIMIT + 1))
        register_personal_data(wordy)


def test_the_longest_area_field_fits_in_one_embed_field() -> None:
    for kind in KIND_WORDS:
        name, value = area_field(AreaSummary("some_area", "d" * DESCRIPTION_LIMIT, 10**6, kind, 99999))
        assert len(name) <= 256 and len(value) <= 1024
        assert value.startswith("d" * DESCRIPTION_LIMIT)
        assert f"Deleted after 99999 days: {KIND_WORDS[kind]}." in value


def test_an_area_with_no_retention_says_it_is_kept_until_erased() -> None:
    assert area_field(AreaSummary("journal", "Entries.", 1, "journal", 0)) == (
        "Journal: 1 item",
        "Entries.\n_No retention period: kept until you erase it, unless said otherwise above._",
    )


def test_privacy_is_split_into_messages_that_stay_within_6000_characters() -> None:
    bot = SimpleNamespace(config=SimpleNamespace(retention=RetentionSettings()))
    summaries = [AreaSummary(f"area_{i}", "d" * DESCRIPTION_LIMIT, 3, "moods", 365) for i in range(12)]
    embeds = privacy_embeds(summaries, bot)  # type: ignore[arg-type]
    groups = batches(embeds)
    assert len(groups) > 1
    assert [e for group in groups for e in group] == embeds
    for group in groups:
        assert sum(len(e) for e in group) <= 6000 and len(group) <= 10
        for embed in group:
            assert len(embed.fields) <= 25 and all(len(f.value or "") <= 1024 for f in embed.fields)


def test_the_erase_outcome_counts_named_and_anonymous_posts() -> None:
    result = ErasureResult(("checkins",), ((1, 2),), ((3, 4), (5, 6)), 30)
    deleting = erase_outcome(result, delete_posts=True)
    assert "Your 2 anonymous posts and 1 check-in note shown under your name will be deleted" in deleting
    assert "over the next 30 minutes" in deleting
    keeping = erase_outcome(ErasureResult(("checkins",), ((1, 2),), (), 0), delete_posts=False)
    assert "Your anonymous posts stay where they are" in keeping
    assert "Your 1 check-in note shown under your name will be deleted, each at a random moment within the " \
           "next minute." in keeping
    nothing = erase_outcome(ErasureResult(("checkins",), (), (), 30), delete_posts=True)
    assert "You had no posts in the channels." in nothing


def test_items_are_counted_in_lists_and_dicts_of_lists() -> None:
    assert count_items([1, 2]) == 2
    assert count_items({"a": [1], "b": [2, 3], "c": None}) == 3
    assert count_items({"timezone": "UTC"}) == 1
    assert count_items(None) == 0
