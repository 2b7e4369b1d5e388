"""The anonymity leak scan: no payload others can see, and no log line, names a member.

Tests that exercise anonymous sharing run under ``@pytest.mark.leak_scan`` (see conftest.py):
the members get distinctive names before the bot connects, every log record is kept, and
after the test every REST payload the bot sent and every log line is scanned for the members'
ids, usernames, global names and nicknames.

Where a member may be named:

- to themselves: an ephemeral interaction response or follow-up, or their own DMs;
- a moderator, by mention (``<@id>``), to moderators (the review and alerts channels, or a
  moderator privately), only in a request caused by that moderator's own action, such as
  "Approved by <@id>" on a review item edited while their click was being handled; never in a
  request caused by something they wrote (a share, a reply), where they are an author like any
  other. The sharing audit log is the one view that lists other moderators' own actions.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakediscord.harness import Harness, StandardWorld
from tests.fakediscord.world import World

EPHEMERAL = 1 << 6
MODERATOR_NAMES = ("mod", "mod2", "owner")
MODERATOR_CHANNELS = ("review", "alerts")
# Interaction types (Discord's numbers).
APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT = 2, 3, 5
# Forms whose submission is a member writing something: a share, a reply, a report, a ladder
# milestone, a check-in note. Whoever submits one is never to be named for it, moderators too.
AUTHORING_FORM = re.compile(
    r"^hearth:(?:share:(?:form|reply-form|report-form)|ladder:post|checkin:notemodal)\b"
)

# Distinctive names for the standard members: short test usernames ("mod", "owner") would
# otherwise match ordinary words in log lines.
DISTINCTIVE_NAMES = (
    ("alice", "alice", "Alice Marchbanks"),
    ("bob", "bob", "Bobby Tables"),
    ("carol", "carol", "Caro Lindqvist"),
    ("mod", "morgan_mod", "Morgan Reyes"),
    ("mod2", "rowan_mod", "Rowan Ekdahl"),
    ("owner", "quinn_owner", "Quinn Abernathy"),
)


def give_distinctive_names(world: World, standard: StandardWorld) -> None:
    """Give every standard member a distinctive username, global name and nickname."""
    for name, username, display in DISTINCTIVE_NAMES:
        member = standard.members[name]
        member.user.username = username
        member.user.global_name = display
        member.nick = display.split()[0] + "y"


@dataclass(eq=False)
class LogCapture(logging.Handler):
    """Keep every log record, to scan afterwards."""

    records: list[logging.LogRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class VerboseLogging:
    """Log as production does at its most verbose (Hearth at DEBUG, discord.py at INFO), captured."""

    def __init__(self) -> None:
        self.capture = LogCapture()
        self._loggers = (logging.getLogger("bot"), logging.getLogger("discord"))
        self._levels = tuple(logger.level for logger in self._loggers)

    def __enter__(self) -> LogCapture:
        logging.getLogger().addHandler(self.capture)
        self._loggers[0].setLevel(logging.DEBUG)
        self._loggers[1].setLevel(logging.INFO)
        return self.capture

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self.capture)
        for logger, level in zip(self._loggers, self._levels, strict=True):
            logger.setLevel(level)


def log_text(record: logging.LogRecord) -> str:
    """Return everything a log handler would write for a record: message, traceback and stack."""
    parts = [record.getMessage()]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def _identity_pattern(hearth: Harness) -> tuple[re.Pattern[str], dict[str, set[int]]]:
    """Return one pattern for every id and name of the server's members (moderators too), and whose."""
    owners: dict[str, set[int]] = {}
    for member in hearth.guild.members.values():
        if member.user.bot:
            continue
        for name in (str(member.user.id), member.user.username, member.user.global_name, member.nick):
            if name:
                owners.setdefault(name.casefold(), set()).add(member.user.id)
    alternatives = "|".join(re.escape(n) for n in sorted(owners, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.I)
    return pattern, owners


def _moderator_ids(hearth: Harness) -> set[int]:
    return {hearth.members[name].user.id for name in MODERATOR_NAMES}


class _Causes:
    """Find the interactions whose handling made a request: its own (a response or follow-up),
    or, for a request to a channel, every interaction the bot was handling at that moment
    (from its dispatch to the bot's last answer to it)."""

    def __init__(self, hearth: Harness, entries: Iterable[Any]) -> None:
        self.hearth = hearth
        self.by_token = {r.token: r for r in hearth.fake.interactions.values()}
        last: dict[int, float] = {}
        for entry in entries:
            record = self.own(entry)
            if record is not None:
                last[record.id] = max(last.get(record.id, entry.at), entry.at)
        self.windows = [
            (record, record.dispatched_at, last[record.id])
            for record in hearth.fake.interactions.values()
            if record.id in last
        ]

    def own(self, entry: Any) -> Any:
        """Return the interaction a response or follow-up answers, or None."""
        route = entry.route or ""
        if route.startswith("POST /interactions/"):
            return self.hearth.fake.interactions.get(int(entry.params["webhook_id"]))
        if route.startswith(("POST /webhooks/", "PATCH /webhooks/", "DELETE /webhooks/")):
            return self.by_token.get(entry.params.get("webhook_token"))
        return None

    def of(self, entry: Any) -> list[Any]:
        """Return the interactions that caused a request."""
        record = self.own(entry)
        if record is not None:
            return [record]
        return [record for record, start, end in self.windows if start <= entry.at <= end]


def _modal_id(record: Any) -> str:
    return str(record.data.get("custom_id") or "") if record.type == MODAL_SUBMIT else ""


def is_authoring(record: Any) -> bool:
    """Say whether an interaction is a member submitting their own words (a share, a reply, a report)."""
    return bool(AUTHORING_FORM.match(_modal_id(record)))


def _is_audit_view(record: Any) -> bool:
    """Say whether an interaction is `/sharemod audit`: the log of what each moderator did."""
    if record.type != APPLICATION_COMMAND or record.data.get("name") != "sharemod":
        return False
    return any(option.get("name") == "audit" for option in record.data.get("options") or [])


@dataclass
class _Scan:
    hearth: Harness
    causes: _Causes
    pattern: re.Pattern[str]
    owners: dict[str, set[int]]
    moderators: set[int]

    def named(self, text: str, audience: int | str | None, causes: list[Any]) -> str | None:
        """Return the first id or name in `text` that its audience may not see.

        `audience` is the one user a payload is private to, "moderators" for the moderators'
        channels, or None for everyone.
        """
        for found in self.pattern.finditer(text):
            others = self.owners[found.group(0).casefold()] - {audience}
            if not others:
                continue
            start, end = found.start(), found.end()
            as_mention = text[max(0, start - 2) : start] == "<@" and text[end : end + 1] == ">"
            for_moderators = audience == "moderators" or audience in self.moderators
            if as_mention and for_moderators and all(self.acted(user, causes) for user in others):
                continue
            return found.group(0)
        return None

    def acted(self, user_id: int, causes: list[Any]) -> bool:
        """Say whether a moderator's own action (never their writing) caused this request."""
        if user_id not in self.moderators:
            return False
        if any(is_authoring(record) and record.user.id == user_id for record in causes):
            return False
        return any(record.user.id == user_id or _is_audit_view(record) for record in causes)

    def private_to(self, entry: Any) -> int | None:
        """Return the one user a request speaks to privately, or None if others can see it."""
        fake = self.hearth.fake
        route = entry.route or ""
        if route == "POST /users/@me/channels":
            return int(entry.json["recipient_id"])
        if route.startswith("POST /channels/{channel_id}/messages") and route.count("/") == 3:
            channel = fake.world.channels.get(int(entry.params["channel_id"]))
            if channel is not None and channel.recipient_id is not None:
                return channel.recipient_id
            return None
        record = self.causes.own(entry)
        if record is None:
            return None
        body = entry.json or {}
        if route.startswith("POST /interactions/"):
            kind = body.get("type")
            if kind in (8, 9):  # autocomplete choices, a modal: only the member sees them
                return record.user.id
            flags = (body.get("data") or {}).get("flags") or 0
            return record.user.id if kind in (4, 5) and flags & EPHEMERAL else None
        message = self.created(entry)
        return record.user.id if message is not None and message.ephemeral else None

    def created(self, entry: Any) -> Any:
        """Return the message a request created or edited, as the fake holds it."""
        message_id = (entry.response or {}).get("id") if isinstance(entry.response, dict) else None
        return None if message_id is None else self.hearth.fake.world.messages.get(int(message_id))

    def audience(self, entry: Any) -> int | str | None:
        """Return who sees a request's payload: one user's id, "moderators", or None for everyone."""
        private = self.private_to(entry)
        if private is not None:
            return private
        moderator_channels = {self.hearth.channels[name].id for name in MODERATOR_CHANNELS}
        channel_id = entry.params.get("channel_id")
        if channel_id is not None and int(channel_id) in moderator_channels:
            return "moderators"
        return None

    def shows_who_used_it(self, entry: Any) -> bool:
        """Say whether a request is a public interaction response or follow-up.

        Discord labels those with the member who used the command or button, so in a sharing
        flow a public one tells everyone who was sharing, whatever it says.
        """
        route = entry.route or ""
        if entry.status is None or entry.status >= 400 or self.causes.own(entry) is None:
            return False
        if route.startswith("POST /interactions/"):
            body = entry.json or {}
            flags = (body.get("data") or {}).get("flags") or 0
            return body.get("type") in (4, 5) and not flags & EPHEMERAL
        if route == "POST /webhooks/{webhook_id}/{webhook_token}":
            message = self.created(entry)
            return message is not None and not message.ephemeral
        return False


def find_leaks(
    hearth: Harness, records: Iterable[logging.LogRecord], *, after: int = 0
) -> tuple[list[str], int]:
    """Return every leak found, and how many payloads were checked.

    `after` (a journal mark) limits the payloads to those sent since.
    """
    entries = list(hearth.fake.journal)
    pattern, owners = _identity_pattern(hearth)
    scan = _Scan(hearth, _Causes(hearth, entries), pattern, owners, _moderator_ids(hearth))
    leaks: list[str] = []
    checked = 0
    for entry in entries[after:]:
        if entry.json is None:
            continue
        checked += 1
        body = json.dumps(entry.json, ensure_ascii=False)
        if scan.shows_who_used_it(entry):
            leaks.append(f"{entry.method} {entry.path} is a public interaction answer: {body[:300]}")
        named = scan.named(body, scan.audience(entry), scan.causes.of(entry))
        if named:
            leaks.append(f"{entry.method} {entry.path} names {named!r}: {body[:300]}")
    for record in records:
        line = log_text(record)
        named = scan.named(line, None, [])
        if named:
            leaks.append(f"log line from {record.name} names {named!r}: {line[:300]}")
    return leaks, checked


def assert_no_leaks(hearth: Harness, logs: LogCapture, *, after: int = 0) -> int:
    """Fail if any payload others can see, or any log line, names a member; return payloads checked."""
    leaks, checked = find_leaks(hearth, logs.records, after=after)
    assert not leaks, "identity leaks:\n" + "\n".join(leaks)
    return checked
