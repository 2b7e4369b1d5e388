"""Failures a member or moderator should hear about in plain words."""

from __future__ import annotations


class UserFacingError(Exception):
    """An expected failure whose message is kind and safe to show to the member."""

    def __init__(self, message: str, *, keep_text: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Text the member typed, handed back so a refusal never loses their words.
        self.keep_text = keep_text


class NotModeratorError(UserFacingError):
    """A moderator command used by someone without Manage Server or the moderator role."""

    def __init__(self) -> None:
        super().__init__(
            "This command is for this server's moderators. If you think you should have it, "
            "ask a moderator to give you the moderator role."
        )
