"""What the anonymous-sharing tests share: the form's fields, sample words, setting up and sharing."""

from __future__ import annotations

from typing import Any

from tests.fakediscord.harness import Harness

SHARE_FIELD = "What would you like to share?"
WARNING_FIELD = "Content warning (optional)"
TITLE_FIELD = "Title (optional)"
REPLY_FIELD = "Your reply"
TEXT = "Today I told my sister something I had kept to myself for years, and she simply listened."
OTHER_TEXT = "I noticed I checked my partner's phone again, then stopped myself and breathed instead."
CRISIS_TEXT = "I have decided to end my life this weekend and I have a plan."


async def set_up_sharing(hearth: Harness, **extra: Any) -> None:
    """Point Hearth at the sharing, review and alerts channels, with any other /setup options."""
    channels = hearth.channels
    done = await hearth.actor("mod").slash(
        "setup",
        sharing_channel=channels["sharing"],
        review_channel=channels["review"],
        alerts_channel=channels["alerts"],
        **extra,
    )
    await done.reply()


async def share(
    hearth: Harness, who: str, text: str = TEXT, *, title: str | None = None, warning: str | None = None
) -> Any:
    """Use /share and submit the modal; return the submission's result, once answered."""
    opened = await hearth.actor(who).slash("share")
    assert opened.modal.title == "Share anonymously"
    values = {SHARE_FIELD: text}
    if title:
        values[TITLE_FIELD] = title
    if warning:
        values[WARNING_FIELD] = warning
    submitted = await opened.submit(values)
    await submitted.reply()
    return submitted
