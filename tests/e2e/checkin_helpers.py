"""Shared helpers for the check-in end-to-end tests: drive time with the runner, add schedules, read posts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tests.fakediscord.harness import Harness

if TYPE_CHECKING:
    from bot.cogs.checkins import Checkins
    from bot.services.checkin_runner import TickReport

# A Monday, well away from any clock change in the zones the tests use.
MONDAY_8AM = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def cog(hearth: Harness) -> Checkins:
    """Return the running bot's check-ins cog."""
    found = hearth.running_bot.get_cog("Checkins")
    assert found is not None, "the check-ins cog is not loaded"
    return found  # type: ignore[return-value]


async def settle(hearth: Harness) -> None:
    """Wait for the tick the cog runs after (re)start, so a test's own ticks do not race it."""
    task = cog(hearth).startup_task
    if task is not None:
        await task


async def tick(hearth: Harness, at: datetime | None = None) -> TickReport:
    """Move the clock (if given) and let the check-ins runner do what is due, as the scheduler would."""
    if at is not None:
        hearth.clock.set(at)
    return await cog(hearth).runner.tick(hearth.clock())


async def add_schedule(hearth: Harness, channel: str = "checkins", **options: Any) -> int:
    """Add a schedule as the moderator and return its number."""
    options.setdefault("time", "09:00")
    options.setdefault("timezone", "UTC")
    result = await hearth.actor("mod", channel).slash(
        "schedule add", channel=hearth.channels[channel], **options
    )
    reply = await result.reply()
    assert reply.ephemeral, reply.text
    assert "Schedule added" in reply.text, reply.text
    schedules = await cog(hearth).service.store.guild_schedules(hearth.guild.id)
    return schedules[-1].id


def checkin_posts(hearth: Harness, channel: str = "checkins") -> list[Any]:
    """Return the check-in messages the bot posted in a channel, oldest first."""
    return [m for m in hearth.fake.messages(hearth.channels[channel]) if "Hearth check-in #" in m.text]


def occurrence_id_of(message: Any) -> int:
    """Return the check-in number in a check-in message's footer."""
    footer = message.embed["footer"]["text"]
    return int(footer.split("#", 1)[1].split()[0])


def count_field(message: Any) -> str:
    """Return the public "Checked in" field of a check-in message."""
    for field in message.embed.get("fields", []):
        if field["name"] == "Checked in":
            return field["value"]
    raise AssertionError(f"no count on {message.text}")
