"""Anonymous sharing: the checks, the pseudonyms, vetting, blocks and the queue of posts.

This module never learns anything it could leak by accident: it takes a user id
only to derive the ban key and pseudonym, stores neither the id nor anything
reversible (except, sealed, for a decision DM the member asked for), and returns
plain values for the cog to render.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import secrets
import time
import unicodedata
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.config import SharingSettings
from bot.errors import UserFacingError
from bot.services.identity import ban_key_for, pseudonym_for
from bot.services.pacing import AnswerWindow
from bot.services.paging import Page, load_page
from bot.storage.crypto import DecryptionError, Keyring
from bot.storage.sharing import (
    BODY_CONTEXT,
    LINK_POLICIES,
    NOTIFY_CONTEXT,
    PENDING,
    POSTED,
    POSTING,
    QUEUED,
    TITLE_CONTEXT,
    WARNING_CONTEXT,
    AuditEntry,
    Block,
    EventRule,
    NewPost,
    Post,
    SharingConfig,
    SharingStore,
    block_key_for,
)

log = logging.getLogger(__name__)

TEXT_LIMIT = 4000
WARNING_LIMIT = 100
TITLE_LIMIT = 100
REASON_LIMIT = 500
MAX_BLOCKED_TERMS = 200
TERM_LIMIT = 100
REPORTS_PER_HOUR = 10
REPLY_ORPHANED = "the share it answered was removed"
AUTHOR_BLOCKED = "you can't share anonymously in this server right now, so it was not posted"
REPLY_MIN_LENGTH = 2
# Retries after a failed post: soon, then less often, never giving up on a member's words.
RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))

ZWSP = "\u200b"
FLAG_CRISIS = "crisis language"
FLAG_SAFETY_DOWN = "safety check unavailable"

SOURCE_LABELS = {"share": None, "ladder": "a trust ladder milestone"}


class Assessment(Protocol):
    """What sharing needs from the safety service's answer (see bot.services.safety)."""

    @property
    def level(self) -> Any: ...

    @property
    def needs_care(self) -> bool: ...


# ----- text rules ------------------------------------------------------------------


_AT = re.compile("@(?!\u200b)")
_RUNS = re.compile(r"(.)\1{3,}", re.DOTALL)
_WORD = re.compile(r"\w+")

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt): characters a renderer
# draws as nothing. Together with every format character (category Cf) they are what could hide a
# blocked term or an invite from a filter while the reader still sees the word.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip
ZWJ = "\u200d"
_KEYCAP = "\u20e3"
_BLACK_FLAG = "\U0001f3f4"
# Full stops that URL hosts treat as "." (IDNA maps them), which NFKC alone does not.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def is_invisible(char: str) -> bool:
    """Say whether a character is drawn as nothing (a format or default-ignorable code point)."""
    code = ord(char)
    if code < 0xAD:
        return False
    return unicodedata.category(char) == "Cf" or any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def _is_tag(char: str) -> bool:
    return 0xE0020 <= ord(char) <= 0xE007F


def _part_of_emoji(text: str, index: int, kept: list[str]) -> bool:
    """Say whether an invisible character at `index` belongs to an emoji sequence (keep it for display)."""
    char = text[index]
    before = kept[-1] if kept else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if char == ZWJ:  # 👩‍👧: a joiner between two pictographs
        return bool(before) and not before.isascii() and bool(after) and not after.isascii()
    if 0xFE00 <= ord(char) <= 0xFE0F:  # ❤️ and keycaps (1️⃣): presentation selectors
        return bool(before) and (not before.isascii() or after == _KEYCAP)
    if _is_tag(char):  # subdivision flags: 🏴 followed by tag letters
        return before == _BLACK_FLAG or (bool(before) and _is_tag(before))
    return False


def clean_invisible(text: str) -> str:
    """Drop characters drawn as nothing, except the joiners and selectors that make up emoji."""
    if text.isascii():
        return text
    kept: list[str] = []
    for index, char in enumerate(text):
        if not is_invisible(char) or _part_of_emoji(text, index, kept):
            kept.append(char)
    return "".join(kept)


def fold(text: str) -> str:
    """Fold text for matching (blocked terms, repeated text, link hosts): one copy, never shown.

    Every invisible character goes (emoji joiners too), then compatibility forms (full-width
    letters), case and runs of whitespace are folded.
    """
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKC", text) if not is_invisible(c))
        text = text.translate(_DOTS)
    return " ".join(text.casefold().split())


def neutralise_mentions(text: str) -> str:
    """Make @everyone, @here and user or role mentions show as plain text (idempotent)."""
    return _AT.sub("@" + ZWSP, text)


def escape_spoiler(text: str) -> str:
    """Escape a member's text for the inside of a spoiler, so that nothing in it can close it.

    Discord ends a spoiler at the first `||` after it opens, escapes or not, so every bar is
    escaped (no two bars are ever adjacent), and backslashes too, so a trailing one cannot
    swallow the closing bars. A final escaped bar gets an invisible space after it, so it does
    not pair with the first closing bar.
    """
    escaped = text.replace("\\", "\\\\").replace("|", "\\|")
    return escaped + ZWSP if escaped.endswith("|") else escaped


def escape_markdown_fully(text: str) -> str:
    """Escape every ASCII punctuation mark, so short text (a content warning) is shown literally."""
    return "".join("\\" + c if c.isascii() and not c.isalnum() and not c.isspace() else c for c in text)


def find_blocked_terms(text: str, terms: Iterable[str]) -> list[str]:
    """Return the blocked terms that appear in the text as whole words or phrases."""
    folded = fold(text)
    found = []
    for term in terms:
        pattern = r"\s+".join(re.escape(part) for part in fold(term).split())
        if pattern and re.search(rf"(?<!\w){pattern}(?!\w)", folded):
            found.append(term)
    return found


# ----- links -----------------------------------------------------------------------------

# A link-shaped run of text, split into what a browser would read as its parts. Only http(s)
# schemes are linked by Discord; a host without one still opens when pasted. Slashes may be
# backslashes (browsers read them as slashes), and the host may carry userinfo and a port.
_LINKISH = re.compile(
    r"(?P<scheme>https?:)?(?P<slashes>[/\\]*)"
    r"(?:[^\s/\\@<>()\[\]{}\"'`|]*@)?"
    r"(?P<host>[^\s/\\:?#@<>()\[\]{}\"'`|*]+)"
    r"(?::[^\s/\\?#<>()\[\]{}\"'`|]*)?"
    r"(?P<path>[/\\?#][^\s<>()\[\]{}\"'`|]*)?",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?*_~"
# Hosts whose every path is a server invite, and hosts where `/invite/<code>` is one.
INVITE_HOSTS = ("discord.gg", "discord.me", "discord.io", "dsc.gg", "invite.gg")
INVITE_PATH_HOSTS = ("discord.com", "discordapp.com")
_INVITE_CODE = re.compile(r"/+[a-z0-9-]+")
_INVITE_PATH = re.compile(r"/+invite/+[a-z0-9-]+")

INVITE_REMOVED = "[invite link removed]"
LINK_REMOVED = "[link removed]"


def link_host(raw_host: str) -> str:
    """Normalise a host as a browser would: percent-escapes, full-width forms, case, trailing dots."""
    return fold(urllib.parse.unquote(raw_host)).rstrip(".")


def _on_host(host: str, bases: tuple[str, ...]) -> bool:
    return any(host == base or host.endswith("." + base) for base in bases)


def is_invite(host: str, path: str) -> bool:
    """Say whether a normalised host and a raw path make a Discord server invite."""
    path = fold(urllib.parse.unquote(path.replace("\\", "/")))
    if _on_host(host, INVITE_HOSTS):
        return bool(_INVITE_CODE.match(path))
    return _on_host(host, INVITE_PATH_HOSTS) and bool(_INVITE_PATH.match(path))


@dataclass(frozen=True)
class FoundLink:
    """A link in a member's text: where it is, and whether it is an invite."""

    start: int
    end: int
    invite: bool


def find_links(text: str) -> list[FoundLink]:
    """Find invites (however written) and ordinary http(s) or www. links in text."""
    found = []
    for match in _LINKISH.finditer(text):
        host_start = match.start("host")
        end = match.end()
        while end > host_start + 1 and text[end - 1] in _TRAILING_PUNCTUATION:
            end -= 1
        host = link_host(text[host_start : min(end, match.end("host"))])
        path_start = match.start("path") if match["path"] else end
        path = text[path_start:end] if path_start < end else ""
        if is_invite(host, path):
            found.append(FoundLink(match.start(), end, invite=True))
        elif (match["scheme"] and match["slashes"]) or host.startswith("www."):
            found.append(FoundLink(match.start(), end, invite=False))
    return found


@dataclass(frozen=True)
class LinkCheck:
    text: str
    invites_removed: int = 0
    links_removed: int = 0
    refused: bool = False


def apply_link_policy(text: str, policy: str) -> LinkCheck:
    """Strip or refuse links according to a guild's policy (invites are stripped by default)."""
    if policy == "allow":
        return LinkCheck(text)
    links = find_links(text)
    if policy == "refuse":
        return LinkCheck(text, refused=bool(links))
    pieces: list[str] = []
    invites = others = last = 0
    for link in links:
        if not link.invite and policy != "strip_all":
            continue
        pieces.append(text[last : link.start])
        pieces.append(INVITE_REMOVED if link.invite else LINK_REMOVED)
        invites += link.invite
        others += not link.invite
        last = link.end
    pieces.append(text[last:])
    return LinkCheck("".join(pieces), invites_removed=invites, links_removed=others)


def meaningful_length(text: str) -> int:
    """Count characters once long runs of one character and extra whitespace are squeezed."""
    return len(" ".join(_RUNS.sub(r"\1\1\1", text).split()))


def looks_repetitive(text: str) -> bool:
    """Say whether text is mostly the same few words over and over."""
    words = _WORD.findall(text.casefold())
    return len(words) >= 12 and len(set(words)) * 5 <= len(words)


def _minutes_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds() / 60))


def pseudonym_scope(share_id: int, epoch: int) -> str:
    """Return the scope a share's thread names come from; rotation adds the epoch."""
    return f"share:{share_id}" if epoch == 0 else f"share:{share_id}:{epoch}"


# ----- pacing ---------------------------------------------------------------------


@dataclass
class _Lane:
    window: AnswerWindow
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


MAX_IDLE_LANES = 1000


class ChannelPacer:
    """At most `limit` requests per key (a channel and a kind of request) in any `window` seconds.

    Discord allows 5 new messages, and 5 new threads, per channel in 5 seconds. discord.py
    learns a bucket only from the answer to its first request, so a burst of shares sent at
    once overruns it. Here each key has its own `AnswerWindow`: a request holds its place until
    `window` seconds after its answer. Waiters are served in order.
    """

    def __init__(
        self,
        limit: int = 5,
        window: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if limit < 1 or window < 0:
            raise ValueError("a pacer needs a limit of at least 1 and a window of at least 0 seconds")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[Hashable, _Lane] = {}

    @asynccontextmanager
    async def slot(self, key: Hashable) -> AsyncIterator[None]:
        """Wait for a free slot for `key`, hold it while the request runs, then let it age out."""
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(
                AnswerWindow(self.limit, self.window, clock=self._clock, sleep=self._sleep)
            )
        async with lane.lock:
            await lane.window.take()
        try:
            yield
        finally:
            lane.window.give_back()
            self._forget_idle()

    def _forget_idle(self) -> None:
        # Every reply thread is a key of its own: drop lanes nobody holds once their slots aged out.
        if len(self._lanes) <= MAX_IDLE_LANES:
            return
        cutoff = self._clock() - self.window
        for key, lane in list(self._lanes.items()):
            if not lane.lock.locked() and lane.window.idle_since(cutoff):
                del self._lanes[key]


# ----- results ---------------------------------------------------------------------


class Outcome(StrEnum):
    REFUSED = "refused"
    HELD = "held"
    QUEUED = "queued"


@dataclass(frozen=True)
class Submission:
    """What became of a share or reply: refused (and why), held for a moderator, or queued to post."""

    outcome: Outcome
    reason: str = ""
    post: Post | None = None
    notes: tuple[str, ...] = ()
    held_for_care: bool = False
    delay_seconds: int = 0


@dataclass(frozen=True)
class AnonymousText:
    """Words to post anonymously outside /share, after the server's rules: the text, or why not."""

    text: str | None
    refusal: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenedPost:
    """A post with its sealed text opened, for the review item or the post itself."""

    post: Post
    text: str
    title: str | None
    content_warning: str | None


@dataclass(frozen=True)
class Decision:
    """A moderator's decision, with who (sealed id opened) should get a DM about it, if anyone."""

    post: Post
    notify_user_id: int | None = None
    block: Block | None = None


# ----- the service -----------------------------------------------------------------


class SharingService:
    """Rules for anonymous shares and replies; Discord-free."""

    def __init__(
        self,
        store: SharingStore,
        keyring: Keyring,
        settings: SharingSettings,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.settings = settings
        # An unpredictable source: a delay anyone could predict would blunt nothing.
        self.rng = rng or secrets.SystemRandom()

    # ----- identity ----------------------------------------------------

    def ban_key(self, guild_id: int, user_id: int) -> str:
        """Return the member's ban key in a guild."""
        return ban_key_for(self.keyring, guild_id, user_id)

    def pseudonym(self, guild_id: int, share_id: int, user_id: int, epoch: int) -> str:
        """Return the member's name within one share's thread."""
        return pseudonym_for(self.keyring, guild_id, pseudonym_scope(share_id, epoch), user_id)

    def _text_hash(self, guild_id: int, kind: str, scope: str, text: str) -> str:
        words = " ".join(_WORD.findall(fold(text)))
        return self.keyring.keyed_hash("sharing-text", guild_id, kind, scope, words)

    # ----- settings ----------------------------------------------------

    async def config(self, guild_id: int) -> SharingConfig:
        """Return a guild's sharing settings."""
        return await self.store.get_config(guild_id)

    def effective_delay(self, config: SharingConfig) -> int:
        """Return the guild's delay, capped by the bot's configured maximum."""
        return max(0, min(config.delay_seconds, self.settings.max_delay_seconds))

    def pick_delay(self, config: SharingConfig) -> int:
        """Pick a random whole number of seconds between 0 and the guild's delay."""
        limit = self.effective_delay(config)
        return self.rng.randint(0, limit) if limit > 0 else 0

    async def change_settings(
        self,
        guild_id: int,
        moderator_id: int,
        now: datetime,
        *,
        link_policy: str | None = None,
        delay_seconds: int | None = None,
        add_terms: str | None = None,
        remove_terms: str | None = None,
    ) -> SharingConfig:
        """Validate and apply a moderator's changes to the sharing settings."""
        current = await self.store.get_config(guild_id)
        if link_policy is not None and link_policy not in LINK_POLICIES:
            raise UserFacingError(f"I don't know the link policy `{link_policy[:30]}`.")
        if delay_seconds is not None:
            cap = self.settings.max_delay_seconds
            if delay_seconds < 0:
                raise UserFacingError("The delay can't be negative.")
            if delay_seconds > cap:
                if cap == 0:
                    raise UserFacingError(
                        "The posting delay is turned off for this bot (`[sharing] max_delay_seconds` is 0 in "
                        "its config). Whoever runs Hearth can raise it."
                    )
                raise UserFacingError(f"The delay can be at most {cap} seconds on this bot.")
        terms: list[str] | None = None
        if add_terms or remove_terms:
            terms = list(current.blocked_terms)
            folded = {fold(t) for t in terms}
            for term in _split_terms(add_terms):
                if len(term) > TERM_LIMIT:
                    raise UserFacingError(f"A blocked term can be at most {TERM_LIMIT} characters.")
                if fold(term) not in folded:
                    terms.append(term)
                    folded.add(fold(term))
            removing = {fold(t) for t in _split_terms(remove_terms)}
            terms = [t for t in terms if fold(t) not in removing]
            if len(terms) > MAX_BLOCKED_TERMS:
                raise UserFacingError(f"A server can block at most {MAX_BLOCKED_TERMS} terms.")
        updated = await self.store.update_config(
            guild_id, now, blocked_terms=terms, link_policy=link_policy, delay_seconds=delay_seconds
        )
        changes = []
        if link_policy is not None:
            changes.append(f"link policy {link_policy}")
        if delay_seconds is not None:
            changes.append(f"delay {delay_seconds}s")
        if terms is not None:
            changes.append("blocked terms")
        if changes:
            await self.store.audit(
                guild_id, now, action="settings", moderator_id=moderator_id, detail=", ".join(changes)
            )
        return updated

    async def rotate_names(self, guild_id: int, moderator_id: int, now: datetime) -> SharingConfig:
        """Start a new naming round for threads opened from now on; blocks, on ban keys, are untouched."""
        updated = await self.store.update_config(guild_id, now, bump_epoch=True)
        await self.store.audit(
            guild_id,
            now,
            action="rotate-names",
            moderator_id=moderator_id,
            detail=f"names epoch {updated.name_epoch}",
        )
        return updated

    # ----- shares and replies ------------------------------------------

    async def _active_block(self, guild_id: int, ban_key: str, now: datetime) -> Block | None:
        return await self.store.active_block(guild_id, block_key_for(self.keyring, guild_id, ban_key), now)

    async def _refuse_if_blocked(self, guild_id: int, ban_key: str, now: datetime) -> Submission | None:
        block = await self._active_block(guild_id, ban_key, now)
        if block is None:
            return None
        until = "" if block.expires_at is None else f" This lasts until {block.expires_at:%d %B %Y}."
        return Submission(
            Outcome.REFUSED,
            "You can't share anonymously in this server right now."
            + until
            + " If you think this is a mistake, you can talk to a moderator.",
        )

    def _check_text(
        self, text: str, config: SharingConfig, *, min_length: int, crisis: bool, extra: str = ""
    ) -> tuple[str | None, LinkCheck]:
        """Apply the length, repetition and link rules; return (refusal or None, link result).

        `extra` (a title and content warning) counts for the link policy too.
        """
        links = apply_link_policy(text, config.link_policy)
        if links.refused or (extra and apply_link_policy(extra, config.link_policy).refused):
            return (
                "This server doesn't allow links in anonymous posts. Please take the link out and try again.",
                links,
            )
        if not crisis:
            if meaningful_length(links.text) < min_length:
                return (
                    f"That's a little short to share: please write at least {min_length} characters.",
                    links,
                )
            if looks_repetitive(links.text):
                return ("That looks like the same words repeated. Please share it in your own words.", links)
        return None, links

    def _admission_refusal(
        self, limited_until: datetime | None, repeated: bool, now: datetime, what: str, limit: int
    ) -> Submission:
        if repeated:
            return Submission(
                Outcome.REFUSED,
                f"You posted this same text a little while ago, so I didn't post it again as a {what}.",
            )
        assert limited_until is not None
        minutes = _minutes_until(limited_until, now)
        plural = "" if limit == 1 else "s"
        return Submission(
            Outcome.REFUSED,
            f"You've reached this server's limit of {limit} {what}{plural} an hour. "
            f"You can post again in about {minutes} minute{'s' if minutes != 1 else ''}.",
        )

    async def _decision_dm_token(self, guild_id: int, ban_key: str, user_id: int, hold: bool) -> str | None:
        """Seal whom to tell about a held post's decision, if the member wants decision DMs."""
        if hold and await self.store.dm_decisions(guild_id, ban_key):
            return self.keyring.encrypt(str(user_id), context=NOTIFY_CONTEXT)
        return None

    async def _admit(
        self, new: NewPost, rule: EventRule, now: datetime, *, notes: tuple[str, ...], delay: int
    ) -> Submission:
        """Write a share or reply, unless its hourly limit or the same text posted lately refuses it."""
        admission = await self.store.admit(new, rule)
        if admission.post is None:
            return self._admission_refusal(
                admission.limited_until, admission.repeated, now, rule.kind, rule.limit
            )
        return Submission(
            Outcome.HELD if new.status == PENDING else Outcome.QUEUED,
            post=admission.post,
            notes=notes,
            held_for_care=new.held_for_care,
            delay_seconds=delay,
        )

    async def submit_share(
        self,
        guild_id: int,
        user_id: int,
        now: datetime,
        *,
        text: str,
        title: str | None = None,
        content_warning: str | None = None,
        source: str = "share",
        vetting: bool,
        assessment: Assessment | None,
    ) -> Submission:
        """Run a share through every check; create it held for review or queued to post."""
        text = clean_invisible(text).strip()
        title = (clean_invisible(title).strip()[:TITLE_LIMIT] or None) if title else None
        content_warning = (
            (clean_invisible(content_warning).strip()[:WARNING_LIMIT] or None) if content_warning else None
        )
        ban_key = self.ban_key(guild_id, user_id)
        blocked = await self._refuse_if_blocked(guild_id, ban_key, now)
        if blocked is not None:
            return blocked
        if len(text) > TEXT_LIMIT:
            return Submission(Outcome.REFUSED, f"A share can be at most {TEXT_LIMIT} characters.")
        config = await self.store.get_config(guild_id)
        crisis = assessment is not None and _is_crisis(assessment)
        # Without a safety answer the share is held, so nothing unassessed is posted.
        unassessed = assessment is None
        extra = "\n".join(p for p in (title, content_warning) if p)
        refusal, links = self._check_text(
            text, config, min_length=self.settings.min_length, crisis=crisis, extra=extra
        )
        if refusal:
            return Submission(Outcome.REFUSED, refusal)
        whole = "\n".join(p for p in (title, content_warning, text) if p)
        blocked_terms = find_blocked_terms(whole, config.blocked_terms)
        if blocked_terms and not (vetting or crisis or unassessed):
            return _blocked_terms_refusal("share", blocked_terms)
        notes = _link_notes(links)
        if title:
            title = apply_link_policy(title, config.link_policy).text
        if content_warning:
            content_warning = apply_link_policy(content_warning, config.link_policy).text

        flags = _flags(unassessed, crisis, blocked_terms)
        hold = vetting or crisis or unassessed or bool(blocked_terms)
        delay = 0 if hold else self.pick_delay(config)
        epoch = config.name_epoch
        notify = await self._decision_dm_token(guild_id, ban_key, user_id, hold)
        new = NewPost(
            guild_id=guild_id,
            kind="share",
            ban_key=ban_key,
            status=PENDING if hold else QUEUED,
            created_at=now,
            pseudonym=lambda post_id: self.pseudonym(guild_id, post_id, user_id, epoch),
            source=source,
            held_for_care=crisis,
            flags=flags,
            title_enc=self.keyring.encrypt_optional(_neutral(title), context=TITLE_CONTEXT),
            warning_enc=self.keyring.encrypt_optional(_neutral(content_warning), context=WARNING_CONTEXT),
            body_enc=self.keyring.encrypt(neutralise_mentions(links.text), context=BODY_CONTEXT),
            notify_enc=notify,
            post_at=None if hold else now + timedelta(seconds=delay),
            name_epoch=epoch,
            care_level=_care_to_defer(assessment, delay),
        )
        rule = EventRule(
            kind="share",
            text_hash=self._text_hash(guild_id, "share", "", text),
            limit=self.settings.shares_per_hour,
        )
        return await self._admit(new, rule, now, notes=notes, delay=delay)

    async def check_anonymous_text(
        self, guild_id: int, user_id: int, text: str, now: datetime
    ) -> AnonymousText:
        """Apply this server's rules for anonymous posting to words posted anonymously elsewhere.

        Check-in notes use it: a block on the author refuses them, the link policy strips or
        refuses links, blocked terms refuse them, and what is posted has invisible characters
        dropped and mentions neutralised. Nothing is stored, and no rate limit is counted here.
        """
        blocked = await self._refuse_if_blocked(guild_id, self.ban_key(guild_id, user_id), now)
        if blocked is not None:
            return AnonymousText(None, blocked.reason)
        text = clean_invisible(text).strip()
        config = await self.store.get_config(guild_id)
        links = apply_link_policy(text, config.link_policy)
        if links.refused:
            return AnonymousText(
                None,
                "This server doesn't allow links in anonymous posts. Please take the link out and try again.",
            )
        found = find_blocked_terms(links.text, config.blocked_terms)
        if found:
            shown = ", ".join(f"“{t}”" for t in found[:5])
            return AnonymousText(
                None,
                f"Your words use terms this server doesn't allow in anonymous posts ({shown}). "
                "Please rephrase and try again.",
            )
        return AnonymousText(neutralise_mentions(links.text), notes=_link_notes(links))

    async def refusal_if_blocked(self, guild_id: int, user_id: int, now: datetime) -> str | None:
        """Return why the member can't post right now (a block), or None."""
        refused = await self._refuse_if_blocked(guild_id, self.ban_key(guild_id, user_id), now)
        return None if refused is None else refused.reason

    async def discard(self, post_id: int) -> None:
        """Forget a held post that has nowhere to be reviewed."""
        await self.store.discard(post_id)

    async def abandon(self, post_id: int, now: datetime, reason: str = REPLY_ORPHANED) -> None:
        """Give up on a reply that has nowhere to go (its share, or the share's thread, was removed)."""
        await self.store.abandon(post_id, now, reason)

    async def pending(self, guild_id: int) -> list[Post]:
        """Return the items waiting for review."""
        return await self.store.pending_posts(guild_id)

    async def waiting_count(self, guild_id: int) -> int:
        """Count the items waiting for review (all of them, not only the listed ones)."""
        return (await self.store.count_by_status(guild_id)).get(PENDING, 0)

    async def share_for_reply(self, guild_id: int, post_id: int) -> Post:
        """Return the share a reply would go under: the post itself, or a reply's parent."""
        post = await self.store.get_post(post_id)
        if post is not None and not post.is_share and post.share_id is not None:
            post = await self.store.get_post(post.share_id)
        if post is None or post.guild_id != guild_id or post.status != POSTED or not post.is_share:
            raise UserFacingError("That share is no longer here, so it can't take replies.")
        return post

    async def submit_reply(
        self,
        guild_id: int,
        user_id: int,
        share_id: int,
        now: datetime,
        *,
        text: str,
        assessment: Assessment | None,
    ) -> Submission:
        """Run a reply through the checks; create it held (crisis) or queued for the share's thread."""
        text = clean_invisible(text).strip()
        ban_key = self.ban_key(guild_id, user_id)
        blocked = await self._refuse_if_blocked(guild_id, ban_key, now)
        if blocked is not None:
            return blocked
        share = await self.share_for_reply(guild_id, share_id)
        if len(text) > TEXT_LIMIT:
            return Submission(Outcome.REFUSED, f"A reply can be at most {TEXT_LIMIT} characters.")
        config = await self.store.get_config(guild_id)
        crisis = assessment is not None and _is_crisis(assessment)
        unassessed = assessment is None
        refusal, links = self._check_text(text, config, min_length=REPLY_MIN_LENGTH, crisis=crisis)
        if refusal:
            return Submission(Outcome.REFUSED, refusal)
        blocked_terms = find_blocked_terms(text, config.blocked_terms)
        if blocked_terms and not (crisis or unassessed):
            return _blocked_terms_refusal("reply", blocked_terms)
        flags = _flags(unassessed, crisis, blocked_terms)
        hold = crisis or unassessed
        delay = 0 if hold else self.pick_delay(config)
        # The thread keeps the naming round it started with, so a rotation never renames anyone in it.
        name = self.pseudonym(guild_id, share.id, user_id, share.name_epoch)
        notify = await self._decision_dm_token(guild_id, ban_key, user_id, hold)
        new = NewPost(
            guild_id=guild_id,
            kind="reply",
            share_id=share.id,
            ban_key=ban_key,
            is_op=ban_key == share.ban_key,
            status=PENDING if hold else QUEUED,
            created_at=now,
            pseudonym=lambda _post_id: name,
            held_for_care=crisis,
            flags=flags,
            body_enc=self.keyring.encrypt(neutralise_mentions(links.text), context=BODY_CONTEXT),
            notify_enc=notify,
            post_at=None if hold else now + timedelta(seconds=delay),
            care_level=_care_to_defer(assessment, delay),
        )
        rule = EventRule(
            kind="reply",
            text_hash=self._text_hash(guild_id, "reply", str(share.id), text),
            limit=self.settings.replies_per_hour,
        )
        return await self._admit(new, rule, now, notes=_link_notes(links), delay=delay)

    def open(self, post: Post) -> OpenedPost:
        """Open a post's sealed text (only pending and queued posts still have it)."""
        return OpenedPost(
            post=post,
            text=self.keyring.decrypt_optional(post.body_enc, context=BODY_CONTEXT) or "",
            title=self.keyring.decrypt_optional(post.title_enc, context=TITLE_CONTEXT),
            content_warning=self.keyring.decrypt_optional(post.warning_enc, context=WARNING_CONTEXT),
        )

    def _notify_id(self, post: Post) -> int | None:
        if post.notify_enc is None:
            return None
        try:
            return int(self.keyring.decrypt(post.notify_enc, context=NOTIFY_CONTEXT))
        except (DecryptionError, ValueError):
            log.warning("a sealed notification id could not be opened; skipping that DM")
            return None

    # ----- the queue ---------------------------------------------------

    async def due(self, now: datetime) -> list[int]:
        """Return the posts due to go up now."""
        return await self.store.due_posts(now)

    async def claim(self, post_id: int) -> OpenedPost | None:
        """Take a queued post for posting, with its text opened; None if someone else has it."""
        post = await self.store.claim(post_id)
        return None if post is None else self.open(post)

    async def withhold_if_blocked(self, post: Post, now: datetime) -> Decision | None:
        """Keep a claimed post from going up if its author was blocked while it waited.

        Posts a moderator approved go up: that decision came after the block. Others are
        marked not posted, with a reason only their author sees in /myshares; nothing tells
        moderators, who would otherwise learn that this post and a blocked one share an author.
        """
        if post.decided_at is not None or await self._active_block(post.guild_id, post.ban_key, now) is None:
            return None
        if not await self.store.abandon(post.id, now, AUTHOR_BLOCKED):
            return None
        return Decision(post=post, notify_user_id=self._notify_id(post))

    async def posted(
        self, post_id: int, now: datetime, *, channel_id: int, message_id: int, thread_id: int | None
    ) -> tuple[bool, int | None]:
        """Record a successful post (forgetting its text).

        Return whether the post still exists (its author may have deleted it while it was
        being sent, and then the message must go too) and the user to DM, if they asked.
        """
        before = await self.store.mark_posted(
            post_id, now, channel_id=channel_id, message_id=message_id, thread_id=thread_id
        )
        return (False, None) if before is None else (True, self._notify_id(before))

    async def defer_care(self, post_id: int, level: str) -> bool:
        """Alert moderators about care once a waiting post is up; False if it no longer waits."""
        return await self.store.set_care_level(post_id, level)

    async def post_failed(self, post_id: int, attempts: int, now: datetime) -> datetime:
        """Put a post back in the queue after a failure; return when it will be tried again."""
        retry_at = now + RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
        await self.store.release(post_id, retry_at)
        return retry_at

    async def retry_now(self, guild_id: int, now: datetime) -> int:
        """Bring a guild's waiting posts forward to now (its sharing channel was just fixed)."""
        return await self.store.retry_now(guild_id, now)

    # ----- moderators --------------------------------------------------

    async def pending_post(self, guild_id: int, post_id: int) -> Post:
        """Return a post waiting for review, or explain why it isn't."""
        post = await self.store.get_post(post_id)
        if post is None or post.guild_id != guild_id:
            raise UserFacingError("That item is gone: its author deleted it.")
        if post.status != PENDING:
            raise UserFacingError(f"That item was already decided (it is {post.status}).")
        return post

    async def approve(self, guild_id: int, post_id: int, moderator_id: int, now: datetime) -> Post:
        """Approve a pending share or reply: it joins the queue, due now."""
        await self.pending_post(guild_id, post_id)
        post = await self.store.approve(post_id, now, moderator_id)
        if post is None:
            raise UserFacingError("Another moderator decided that item a moment ago.")
        return post

    async def reject(
        self, guild_id: int, post_id: int, moderator_id: int, reason: str, now: datetime
    ) -> Decision:
        """Reject a pending item with a reason; its text is forgotten at once."""
        await self.pending_post(guild_id, post_id)
        reason = " ".join(reason.split())[:REASON_LIMIT]
        before = await self.store.reject(post_id, now, moderator_id, reason)
        if before is None:
            raise UserFacingError("Another moderator decided that item a moment ago.")
        return Decision(post=before, notify_user_id=self._notify_id(before))

    async def block_author(
        self,
        guild_id: int,
        post_id: int,
        moderator_id: int,
        now: datetime,
        *,
        days: int | None,
        reason: str,
    ) -> Decision:
        """Block the author of a post by ban key; a pending post of theirs is rejected with it."""
        post = await self.store.get_post(post_id)
        if post is None or post.guild_id != guild_id:
            raise UserFacingError("That post is gone, so there is no author to block.")
        if days is not None and days <= 0:
            raise UserFacingError("Block for at least one day, or leave the days empty to block for good.")
        reason = " ".join(reason.split())[:REASON_LIMIT]
        expires = None if days is None else now + timedelta(days=days)
        block = await self.store.add_block(
            guild_id,
            block_key_for(self.keyring, guild_id, post.ban_key),
            now,
            moderator_id=moderator_id,
            reason=reason,
            expires_at=expires,
            post_id=post.id,
        )
        notify = None
        if post.status == PENDING:
            before = await self.store.reject(post_id, now, moderator_id, "not posted", action="block")
            if before is not None:
                post = before
                notify = self._notify_id(before)
        return Decision(post=post, notify_user_id=notify, block=block)

    async def adopt_legacy_blocks(self) -> None:
        """Move blocks stored under raw ban keys by an older Hearth to their block keys (at start)."""
        moved = await self.store.adopt_legacy_blocks(self.keyring)
        if moved:
            log.info("moved %d sharing blocks to one-way block keys", moved)

    async def unblock(self, guild_id: int, block_id: int, moderator_id: int, now: datetime) -> Block:
        """Lift a block by its id."""
        block = await self.store.remove_block(guild_id, block_id, now, moderator_id)
        if block is None:
            raise UserFacingError(f"There is no block #{block_id} any more.")
        return block

    async def blocks(self, guild_id: int, now: datetime) -> list[Block]:
        """Return the blocks in force."""
        return await self.store.list_blocks(guild_id, now)

    async def audit_log(self, guild_id: int, limit: int = 20) -> list[AuditEntry]:
        """Return the latest moderator actions."""
        return await self.store.audit_log(guild_id, limit)

    async def remove_by_moderator(
        self, guild_id: int, post_id: int, moderator_id: int, now: datetime
    ) -> list[Post]:
        """Delete a post's row (and a share's replies) for a moderator; the cog removes the messages."""
        post = await self.store.get_post(post_id)
        if post is not None:
            _refuse_while_posting(post)
        gone = await self.store.delete_post(post_id, now, moderator_id=moderator_id, guild_id=guild_id)
        if not gone:
            raise UserFacingError("That post is already gone.")
        return gone

    async def post_for_message(self, guild_id: int, message_id: int) -> Post | None:
        """Return the anonymous share or reply a message shows, if it is one."""
        return await self.store.post_by_message(guild_id, message_id)

    async def check_report(self, guild_id: int, user_id: int, now: datetime) -> None:
        """Count a report against the reporter's limit (by ban key), refusing past it."""
        until = await self.store.record_event(
            guild_id, self.ban_key(guild_id, user_id), "report", now, REPORTS_PER_HOUR
        )
        if until is not None:
            minutes = _minutes_until(until, now)
            raise UserFacingError(
                f"You've sent a lot of reports this hour. Please try again in about {minutes} minutes, "
                "or talk to a moderator directly."
            )

    # ----- authors -----------------------------------------------------

    async def mine_page(self, guild_id: int, user_id: int, page: int, size: int) -> Page[Post]:
        """Return one page of a member's own shares and replies (found by ban key), newest first."""
        ban_key = self.ban_key(guild_id, user_id)
        return await load_page(
            page,
            size,
            lambda: self.store.count_by_author(guild_id, ban_key),
            lambda offset, limit: self.store.posts_by_author(guild_id, ban_key, limit, offset),
        )

    async def own_post(self, guild_id: int, user_id: int, post_id: int) -> Post:
        """Return one of the member's own posts, or refuse without saying whose it is."""
        post = await self.store.get_post(post_id)
        if post is None or post.guild_id != guild_id or post.ban_key != self.ban_key(guild_id, user_id):
            raise UserFacingError("I can't find that item among yours. It may already be deleted.")
        return post

    async def delete_own(self, guild_id: int, user_id: int, post_id: int, now: datetime) -> list[Post]:
        """Delete one of the member's own posts (a share takes its replies with it)."""
        post = await self.own_post(guild_id, user_id, post_id)
        _refuse_while_posting(post)
        gone = await self.store.delete_post(post_id, now, moderator_id=None, guild_id=guild_id)
        if not gone:
            raise UserFacingError("That item is already deleted.")
        return gone

    async def dm_decisions(self, guild_id: int, user_id: int) -> bool:
        """Say whether the member wants a DM about every decision."""
        return await self.store.dm_decisions(guild_id, self.ban_key(guild_id, user_id))

    async def set_dm_decisions(self, guild_id: int, user_id: int, enabled: bool) -> None:
        """Turn decision DMs on or off for the member."""
        await self.store.set_dm_decisions(guild_id, self.ban_key(guild_id, user_id), enabled)

    async def request_decision_dm(self, guild_id: int, user_id: int, post_id: int) -> bool:
        """Ask for one DM when this post is decided; False if it was decided already."""
        await self.own_post(guild_id, user_id, post_id)
        token = self.keyring.encrypt(str(user_id), context=NOTIFY_CONTEXT)
        return await self.store.set_notify(post_id, token)

    async def purge(self, now: datetime, *, audit_days: int) -> dict[str, int]:
        """Drop old rate events, expired blocks, old rejections and old audit rows."""
        return await self.store.purge(now, audit_days=audit_days)


def _refuse_while_posting(post: Post) -> None:
    if post.status == POSTING:
        raise UserFacingError("It is being posted this very moment. Please try again in a few seconds.")


def _care_to_defer(assessment: Assessment | None, delay: int) -> str | None:
    """Return the care level to alert moderators about once a delayed post is up (None: nothing to defer).

    Alerting when the post was written, with the post appearing later, would show moderators
    when it was written and undo the delay. Crisis language never waits: it is held for review.
    """
    if delay <= 0 or assessment is None or not assessment.needs_care:
        return None
    return str(assessment.level)


def _is_crisis(assessment: Assessment) -> bool:
    return str(getattr(assessment, "level", "")) == "crisis"


def _flags(unassessed: bool, crisis: bool, blocked_terms: list[str]) -> tuple[str, ...]:
    flags = [FLAG_SAFETY_DOWN] if unassessed else [FLAG_CRISIS] if crisis else []
    flags.extend(f"blocked term: {t}" for t in blocked_terms)
    return tuple(flags)


def _neutral(text: str | None) -> str | None:
    return None if text is None else neutralise_mentions(text)


def _split_terms(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [" ".join(t.split()) for t in re.split(r"[,\n]", raw) if t.strip()]


def _blocked_terms_refusal(what: str, blocked_terms: list[str]) -> Submission:
    shown = ", ".join(f"“{t}”" for t in blocked_terms[:5])
    return Submission(
        Outcome.REFUSED,
        f"Your {what} uses words this server doesn't allow here ({shown}). Please rephrase and try again.",
    )


def _link_notes(links: LinkCheck) -> tuple[str, ...]:
    notes = []
    if links.invites_removed:
        notes.append("I removed an invite link, as this server asks.")
    if links.links_removed:
        notes.append("I removed links, as this server asks.")
    return tuple(notes)
