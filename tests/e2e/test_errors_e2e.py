"""Something unexpected goes wrong: the member gets a short, kind message with a reference, never a
traceback, and the log keeps the trace under the same reference. One test per way in: a command,
a persistent button, a form (both kinds), and a scheduled job, which has no member to tell."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.e2e.checkin_helpers import cog as checkins_cog
from tests.e2e.checkin_helpers import settle
from tests.fakediscord.harness import Harness

REFERENCE = re.compile(r"Reference: (E-[0-9A-F]{6})")


def broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("an unexpected failure inside Hearth")


def reference_in(text: str) -> str:
    found = REFERENCE.search(text)
    assert found, f"no reference in {text!r}"
    assert "Traceback" not in text and "RuntimeError" not in text, "no trace reaches the member"
    return found.group(1)


def logged_with(hearth: Harness, reference: str) -> logging.LogRecord:
    """Return the one logged error carrying this reference, with its trace; forget the others."""
    records = [r for r in hearth.expect_errors() if reference in r.getMessage()]
    assert len(records) == 1, f"expected one log line for {reference}"
    assert records[0].exc_info is not None, "the trace is in the log"
    return records[0]


async def test_a_command(hearth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hearth.bot.get_cog("Ladder").service, "ladder", broken)  # type: ignore[union-attr]
    result = await hearth.actor("alice").slash("ladder view")
    assert result.ephemeral and "Something went wrong on my side" in result.text
    record = logged_with(hearth, reference_in(result.text))
    assert "ladder view" in record.getMessage()


async def test_a_persistent_button(hearth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = hearth.actor("alice")
    started = await alice.slash("exercise", name="muscle-relaxation")
    monkeypatch.setattr(hearth.bot.get_cog("Exercises").service, "act", broken)  # type: ignore[union-attr]
    clicked = await alice.click(started, label="Next")
    assert clicked.ephemeral and "Something went wrong on my side" in clicked.text
    record = logged_with(hearth, reference_in(clicked.text))
    assert "hearth:exercise:step" in record.getMessage(), "the log names the button, not the member"


async def test_a_form(hearth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await (await hearth.actor("mod").slash("setup", sharing_channel=hearth.channels["sharing"])).reply()
    monkeypatch.setattr(hearth.bot.get_cog("Sharing"), "share_text", broken)
    opened = await hearth.actor("alice").slash("share")
    words = "Something I have wanted to say here for a long time, finally written down."
    result = await opened.submit({"What would you like to share?": words})
    assert result.ephemeral and "Something went wrong on my side" in result.text
    assert words in result.text, "the member's words come back"
    logged_with(hearth, reference_in(result.text))


async def test_a_form_routed_by_custom_id(hearth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hearth.bot.get_cog("Journal").service, "write", broken)  # type: ignore[union-attr]
    opened = await hearth.actor("alice").slash("journal write")
    entry = "The part of today I want to remember: I asked for help and got it."
    result = await opened.submit({"Your entry": entry})
    reply = await result.reply()
    assert reply.ephemeral and "Something went wrong on my side" in reply.text and entry in reply.text
    logged_with(hearth, reference_in(reply.text))


async def test_a_scheduled_job(hearth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await settle(hearth)
    scheduler = hearth.bot.scheduler
    assert scheduler is not None
    runner = checkins_cog(hearth).runner
    monkeypatch.setattr(runner, "tick", broken)
    await scheduler.get_job("checkin:sweep").func()  # what APScheduler runs every minute
    [record] = hearth.expect_errors()
    assert re.search(r"error E-[0-9A-F]{6} in scheduled job checkin:tick", record.getMessage())
    assert record.exc_info is not None
    monkeypatch.undo()
    await scheduler.get_job("checkin:sweep").func()
    assert hearth.expect_errors() == [], "the next run works as before"

    monkeypatch.setattr(hearth.bot.sharing, "due", broken)
    await scheduler.get_job("sharing:queue").func()
    [record] = hearth.expect_errors()
    assert "in scheduled job sharing:queue" in record.getMessage()


async def test_an_event_listener(hearth: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cogs.privacy import privacy_service

    monkeypatch.setattr(privacy_service(hearth.bot), "guild_left", broken)
    await hearth.remove_bot()
    await hearth.fake.wait_until(lambda: hearth.errors.records, timeout=2, what="the logged error")
    [record] = hearth.expect_errors()
    assert re.search(r"error E-[0-9A-F]{6} in event on_guild_remove", record.getMessage())
    assert record.exc_info is not None
