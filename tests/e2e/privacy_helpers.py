"""Fill every area with members' data through real commands, and scan the database for them.

The privacy tests (export, erase, retention, key rotation) run on what `populated` leaves per
member: check-in moods and notes at every visibility (private, under their name, anonymous),
reminders, a pause, a journal entry, a trust-ladder step with a practice log, a thought record in
progress, a posted share, a posted reply, a share waiting for review with its title, content
warning and "DM me" request, a question the FAQ could not answer, and a care alert that could not
reach the moderators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.services.identity import ban_key_for
from bot.services.privacy import sensitive_columns
from bot.storage import privacy as privacy_store
from bot.storage.crypto import Keyring
from bot.storage.db import Database
from tests.e2e.checkin_helpers import add_schedule, checkin_posts, settle, tick
from tests.fakediscord.harness import Harness
from tests.fakediscord.world import Overwrite, Perm

SHARE_FIELD = "What would you like to share?"
TITLE_FIELD = "Title (optional)"
WARNING_FIELD = "Content warning (optional)"
REPLY_FIELD = "Your reply"
CRISIS_QUESTION = "I want to kill myself tonight and I have a plan"


@dataclass
class Footprint:
    """What `populate` left in Discord and wrote for one member."""

    member: str
    share: Any = None  # their posted share (a fake Message)
    anonymous_posts: list[int] = field(default_factory=list)  # shares, replies, anonymous notes
    named_notes: list[int] = field(default_factory=list)  # check-in notes under their name
    kept: list[str] = field(default_factory=list)  # what they wrote that Hearth keeps (encrypted)
    written: list[str] = field(default_factory=list)  # everything they wrote


async def set_up_guild(hearth: Harness) -> None:
    """Point Hearth at the test server's channels (no vetting) and add a daily check-in at 09:00."""
    channels = hearth.channels
    done = await hearth.actor("mod").slash(
        "setup", sharing_channel=channels["sharing"], review_channel=channels["review"],
        alerts_channel=channels["alerts"], checkin_channel=channels["checkins"], vetting=False,
    )
    await done.reply()
    await settle(hearth)
    await add_schedule(hearth, time="09:00")


async def set_vetting(hearth: Harness, on: bool) -> None:
    """Turn review before posting on or off."""
    await (await hearth.actor("mod").slash("setup", vetting=on)).reply()


async def share(hearth: Harness, name: str, text: str, **extra: str) -> Any:
    """Share anonymously as a member; return what they were told."""
    opened = await hearth.actor(name).slash("share")
    submitted = await opened.submit({SHARE_FIELD: text, **extra})
    return await submitted.reply()


async def _note(hearth: Harness, name: str, post: Any, visibility: str, text: str) -> None:
    actor = hearth.actor(name, "checkins")
    chooser = await actor.click(post, label="Add a few words")
    opened = await actor.click(chooser, label=visibility)
    await (await actor.submit(opened, {"Your words": text})).reply()


def _thread_messages(hearth: Harness, channel: str) -> list[Any]:
    found = []
    for thread in hearth.fake.world.threads_of(hearth.channels[channel]):
        found.extend(hearth.fake.world.channel_messages(thread))
    return found


async def group_checkin(hearth: Harness, at: datetime) -> Any:
    """Let the check-in runner post the day's group check-in at `at`; return its message."""
    before = {m.id for m in checkin_posts(hearth)}
    await tick(hearth, at)
    [post] = [m for m in checkin_posts(hearth) if m.id not in before]
    return post


async def populate(hearth: Harness, name: str, tag: str, *, checkin: Any) -> Footprint:
    """Use every feature that keeps data, as member `name`; `tag` makes their words unique.

    `checkin` is a posted group check-in: the member adds a note under their name to it.
    """
    found = Footprint(name)
    actor = hearth.actor(name)

    def words(text: str, *, kept: bool = True) -> str:
        found.written.append(text)
        if kept:
            found.kept.append(text)
        return text

    # Check-ins: a personal one with a private note, a note under their name, reminders, a pause.
    await (await actor.slash("checkin", mood=4, note=words(f"{tag} private note"))).reply()
    await _note(hearth, name, checkin, "The group, under my name", words(f"{tag} named note"))
    found.named_notes.extend(
        m.id for m in _thread_messages(hearth, "checkins") if f"{tag} named note" in m.text
    )
    await (await actor.slash("reminders on", time="20:00", timezone="Europe/Berlin")).reply()
    await (await actor.slash("pause", days=3)).reply()

    # Exercises, journal, ladder.
    await (await (await actor.slash("journal write")).submit({"Your entry": words(f"{tag} journal")})).reply()
    await (await actor.slash("ladder add", step=words(f"{tag} ladder step"), difficulty=20)).reply()
    choices = await actor.autocomplete("ladder log", "step", "")
    await (await actor.slash("ladder log", step=str(choices[0]["value"]), before=50, after=30)).reply()
    current = await actor.slash("exercise", name="thought-record")
    await (await actor.click(current, label="Answer")).submit({"What happened?": words(f"{tag} situation")})

    # Sharing: a posted share (its text is dropped once posted), and one held for review with a
    # title, a content warning and a request for a DM about the decision.
    await share(hearth, name, words(f"{tag} posted share, long enough to pass the minimum", kept=False))
    found.share = hearth.fake.last_message(hearth.channels["sharing"])
    assert found.share is not None and f"{tag} posted share" in found.share.text
    found.anonymous_posts.append(found.share.id)
    await set_vetting(hearth, True)
    held = await share(hearth, name, words(f"{tag} held share, long enough to pass the minimum"),
                       **{TITLE_FIELD: words(f"{tag} title"), WARNING_FIELD: words(f"{tag} warning")})
    await hearth.actor(name).click(held, label="DM me when it's decided")
    await set_vetting(hearth, False)

    # FAQ: a question nothing answers (kept without the member).
    await (await actor.slash("faq", question=words(f"zzqx {tag} unanswerable wibble", kept=False))).reply()
    return found


def close_moderator_channels(hearth: Harness) -> None:
    """Take Send Messages away from Hearth in the alerts and review channels (Discord answers 403)."""
    for name in ("alerts", "review"):
        hearth.channels[name].overwrites.append(Overwrite(hearth.roles["bot"].id, 0, deny=Perm.SEND_MESSAGES))


async def care_alert(hearth: Harness, name: str) -> None:
    """Ask /faq in crisis words; with the moderators' channels closed, the alert waits in the database."""
    await (await hearth.actor(name).slash("faq", question=CRISIS_QUESTION)).reply()


async def reply_to(hearth: Harness, name: str, posted: Any, text: str, footprint: Footprint) -> None:
    """Reply anonymously to a posted share and record where the reply appeared."""
    sharer = hearth.actor(name, "sharing")
    opened = await sharer.click(hearth.fake.message(posted.id), label="Reply anonymously")
    await (await opened.submit({REPLY_FIELD: text})).reply()
    footprint.written.append(text)
    footprint.anonymous_posts.extend(m.id for m in _thread_messages(hearth, "sharing") if text in m.text)


async def anonymous_note(hearth: Harness, name: str, post: Any, text: str, footprint: Footprint) -> None:
    """Write an anonymous note on a group check-in and record where it appeared."""
    await _note(hearth, name, post, "The group, anonymously", text)
    footprint.written.append(text)
    footprint.kept.append(text)
    footprint.anonymous_posts.extend(m.id for m in _thread_messages(hearth, "checkins") if text in m.text)


async def populated(hearth: Harness, start: datetime, *names: str) -> dict[str, Footprint]:
    """Set the server up at `start` and have each member use everything, replying to each other's
    shares, writing anonymous notes on a second day's check-in and (with the moderators' channels
    closed to Hearth from then on) asking /faq in words that raise a care alert."""
    hearth.clock.set(start)
    await set_up_guild(hearth)
    first = await group_checkin(hearth, start.replace(hour=9, minute=0))
    footprints = {name: await populate(hearth, name, name, checkin=first) for name in names}
    for name, other in zip(names, names[1:] + names[:1], strict=True):
        if other != name:
            await reply_to(hearth, name, footprints[other].share, f"{name} reply, kind and long enough",
                           footprints[name])
    second = await group_checkin(hearth, start.replace(hour=9, minute=0) + timedelta(days=1))
    close_moderator_channels(hearth)
    for name in names:
        await anonymous_note(hearth, name, second, f"{name} anonymous note", footprints[name])
        await care_alert(hearth, name)
    return footprints


async def approved_share(hearth: Harness, name: str, text: str) -> None:
    """Turn vetting on; `name` shares, and the moderator approves it (a row in the audit trail)."""
    await (await hearth.actor("mod").slash(
        "setup", sharing_channel=hearth.channels["sharing"], review_channel=hearth.channels["review"],
        vetting=True,
    )).reply()
    await share(hearth, name, text)
    item = hearth.fake.last_message(hearth.channels["review"])
    await (await hearth.actor("mod", "review").click(item, label="Approve")).reply()


def needles(hearth: Harness, name: str) -> list[str]:
    """Return what points at a member: their id and their ban key in the test server."""
    user_id = hearth.members[name].id
    return [str(user_id), ban_key_for(hearth.running_bot.keyring, hearth.guild.id, user_id)]


async def rows_mentioning(db: Database, values: list[str],
                          keyring: Keyring | None = None) -> list[tuple[str, str]]:
    """Scan every column of every table (from sqlite_master) for any value, inside text too; with
    the keyring, look inside every registered encrypted column as well."""
    found = []
    for table in await privacy_store.user_tables(db):
        for column in await privacy_store.table_columns(db, table):
            for value in values:
                hits = await db.fetchval(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE ?', (f"%{value}%",)
                )
                if hits:
                    found.append((table, column))
    if keyring is not None:
        columns, _ = await sensitive_columns(db)
        for sealed in columns:
            rows = await db.fetchall(
                f"SELECT {sealed.column} FROM {sealed.table} WHERE {sealed.column} IS NOT NULL"
            )
            opened = [keyring.decrypt(row[0], context=sealed.context) for row in rows]
            if any(value in text for text in opened for value in values):
                found.append((sealed.table, sealed.column))
    return found


async def exported(hearth: Harness, name: str) -> dict[str, Any]:
    """Run /mydata export as a member and return the areas of the file."""
    result = await (await hearth.actor(name).slash("mydata export")).reply()
    [attachment] = result.attachments
    return json.loads(attachment.data)["areas"]
