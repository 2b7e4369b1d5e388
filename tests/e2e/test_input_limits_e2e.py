"""Oversized and unknown input: Discord refuses what is too long before Hearth sees it, and what
Hearth builds from members' words stays inside Discord's limits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.checkin_helpers import MONDAY_8AM, add_schedule, cog, settle
from tests.fakediscord.harness import Harness


def string_options(command: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Return every text option of a command (through its subcommands) with its full name."""
    found = []
    for option in command.get("options", []):
        name = f"{path}{command['name']} {option['name']}" if not path else f"{path} {option['name']}"
        if option["type"] in (1, 2):  # a subcommand or a group
            found += string_options(option, path or command["name"])
        elif option["type"] == 3:
            found.append((name, option))
    return found


async def test_every_text_option_has_a_length_discord_enforces(hearth: Harness) -> None:
    commands = hearth.fake.commands() or hearth.fake.commands(hearth.guild)
    options = [pair for command in commands for pair in string_options(command)]
    assert len(options) > 20, "the commands were synced"
    unbounded = [name for name, option in options if "max_length" not in option and not option.get("choices")]
    assert unbounded == [], f"text options without a maximum length: {unbounded}"


async def test_an_oversized_value_is_refused_by_discord_before_hearth_sees_it(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    with pytest.raises(AssertionError, match="Discord would refuse"):
        await alice.slash("ladder add", step="x" * 101, difficulty=10)
    with pytest.raises(AssertionError, match="Discord would refuse"):
        await hearth.actor("mod").slash("safety phrases add", phrase="y" * 500, level="crisis")
    with pytest.raises(AssertionError, match="Discord would refuse"):
        await hearth.actor("mod").slash("schedule add", time="09:00", timezone="Z" * 200)


async def test_unknown_time_zones_get_a_kind_answer_with_suggestions(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    reminders = await (await alice.slash("reminders on", time="20:00", timezone="Berln")).reply()
    assert "I don't know the time zone `Berln`" in reminders.text and "Europe/Berlin" in reminders.text
    mood = await (await alice.slash("mood", timezone="Mars/Olympus")).reply()
    assert "I don't know the time zone" in mood.text and "Reference" not in mood.text


async def test_schedule_list_stays_inside_one_message_with_many_long_schedules(hearth: Harness) -> None:
    await settle(hearth)
    hearth.clock.set(MONDAY_8AM)
    long_name = "A long and careful check-in name, for the evening group " * 2
    for n in range(25):
        await add_schedule(hearth, name=f"{n:02d} {long_name}"[:80], days="mon,wed,fri")
    store = cog(hearth).service.store
    for schedule in await store.guild_schedules(hearth.guild.id):
        # Each paused by Hearth with its reason: the longest a schedule's line gets.
        await store.update_schedule(
            schedule.id, MONDAY_8AM, paused=True, last_error="I'm missing permission to post in that channel"
        )
    listed = await (await hearth.actor("mod").slash("schedule list")).reply()
    shown = listed.embeds[0]
    assert len(shown["fields"]) < 25 and "Showing" in shown["footer"]["text"]
    assert sum(len(f["name"]) + len(f["value"]) for f in shown["fields"]) < 6000


async def test_an_unknown_region_says_so_and_still_shows_help(hearth: Harness) -> None:
    shown = await hearth.actor("alice").slash("resources", region="Atlantis")
    assert "I don't have a list for `ATLANTIS`" in shown.text
    assert shown.embed["title"] == "Help and resources"
