"""The private journal: write, list, read, delete and export a member's own entries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.content_areas.exercises import JournalPrompt
from bot.errors import UserFacingError
from bot.services.paging import Page, load_page
from bot.storage.journal import JournalEntry, JournalStore

ENTRY_LIMIT = 4000
PAGE_SIZE = 5
PREVIEW_LIMIT = 80


class EntryNotFoundError(UserFacingError):
    """The entry is gone, or belongs to someone else (we never say which)."""

    def __init__(self) -> None:
        super().__init__("I can't find that journal entry. It may have been deleted.")


# One page of a member's entries, newest first.
JournalPage = Page[JournalEntry]


def preview(entry: JournalEntry, limit: int = PREVIEW_LIMIT) -> str:
    """Return the start of an entry on one line, for lists."""
    text = " ".join(entry.body.replace("**", "").split())
    if entry.kind == "thought_record":
        text = text.removeprefix("Thought record").strip()
        situation = text.removeprefix("Situation:").strip()
        text = situation
    text = text or "(empty)"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def kind_label(entry: JournalEntry) -> str:
    """Name what kind of entry this is."""
    return "Thought record" if entry.kind == "thought_record" else "Entry"


def when_text(moment: datetime) -> str:
    """Say a date the same way in lists and exports (UTC)."""
    return moment.strftime("%d %b %Y, %H:%M UTC")


class JournalService:
    """A member's private journal; entries are sealed by the store."""

    def __init__(self, store: JournalStore) -> None:
        self.store = store

    async def write(
        self, *, guild_id: int, user_id: int, text: str, now: datetime, prompt_id: str | None = None
    ) -> JournalEntry:
        """Save an entry, refusing empty or over-long text (and handing the text back)."""
        body = text.strip()
        if not body:
            raise UserFacingError("That entry was empty, so I didn't save anything.")
        if len(body) > ENTRY_LIMIT:
            raise UserFacingError(
                f"That entry is {len(body)} characters; the limit is {ENTRY_LIMIT}. "
                "You could split it into two entries.",
                keep_text=body,
            )
        entry_id = await self.store.add(guild_id=guild_id, user_id=user_id, body=body, now=now,
                                        prompt_id=prompt_id)
        entry = await self.store.get(entry_id)
        assert entry is not None
        return entry

    async def page(self, guild_id: int, user_id: int, page: int) -> JournalPage:
        """Return one page of entries, newest first; a page past the end shows the last page."""
        return await load_page(
            page,
            PAGE_SIZE,
            lambda: self.store.count(guild_id, user_id),
            lambda offset, limit: self.store.page(guild_id, user_id, offset=offset, limit=limit),
        )

    async def read(self, entry_id: int, user_id: int) -> JournalEntry:
        """Return one of the member's own entries."""
        entry = await self.store.get(entry_id)
        if entry is None or entry.user_id != user_id:
            raise EntryNotFoundError()
        return entry

    async def page_of(self, entry: JournalEntry) -> int:
        """Return which page lists an entry."""
        return await self.store.position(entry) // PAGE_SIZE

    async def delete(self, entry_id: int, user_id: int) -> None:
        """Delete one of the member's own entries."""
        if not await self.store.delete(entry_id, user_id):
            raise EntryNotFoundError()

    async def export_markdown(
        self, guild_id: int, user_id: int, *, server_name: str, now: datetime,
        prompts: Mapping[str, JournalPrompt],
    ) -> tuple[str, int]:
        """Return the member's whole journal in this server as Markdown, with the number of entries."""
        entries = await self.store.all_for(guild_id, user_id)
        lines = [
            f"# My Hearth journal ({server_name})",
            "",
            f"Exported {when_text(now)}. "
            f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, oldest first.",
            "This file holds your private writing: keep it somewhere safe.",
        ]
        for entry in entries:
            lines += ["", "---", "", f"## {kind_label(entry)}, {when_text(entry.created_at)}", ""]
            prompt = prompts.get(entry.prompt_id) if entry.prompt_id else None
            if prompt is not None:
                lines += [f"> Prompt: {prompt.text}", ""]
            lines.append(entry.body)
        return "\n".join(lines) + "\n", len(entries)
