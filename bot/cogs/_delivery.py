"""Posting to the channels moderators configured, and telling moderators when that fails.

Every area posts to a configured channel (check-ins, anonymous shares, review items, alerts)
through `post_in_channel`. A 403 (Hearth lost a permission, or its access) or a 404 (the channel
was deleted) is lasting trouble: moderators are told once, by the first route that works (the
alerts channel, then the review channel), and otherwise the notice waits in the database for
/setup and the next route that works (`deliver_waiting` runs every few minutes). The trouble is
forgotten once a post there works again, or a moderator changes the setting, so it can be told
again if it comes back. Anything else (5xx, timeouts) is passing trouble: the caller retries.

Log lines carry guild and channel ids and HTTP statuses, never member text or ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.cogs._ui import clip
from bot.storage.db import StorageBusyError

if TYPE_CHECKING:
    from bot.app import Hearth
    from bot.storage.notices import Notice

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
TROUBLE_COLOUR = discord.Colour(0xF4A261)
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
DM_CLOSED = 50007
# Waiting notices a moderator's /setup reply can carry besides the settings (10 embeds at most).
WAITING_EMBEDS_SHOWN = 9

# What Hearth needs in a channel to post there, by what it posts.
POST_NEEDS = ("view_channel", "send_messages", "embed_links")
PERMISSION_WORDS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "create_public_threads": "Create Public Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "read_message_history": "Read Message History",
}


class ChannelUnavailable(Exception):
    """A post to a channel failed; `lasting` for 403 and 404, which retrying will not fix."""

    def __init__(self, channel_id: int, reason: str, *, lasting: bool, status: int | None) -> None:
        super().__init__(f"channel {channel_id}: {reason}")
        self.channel_id = channel_id
        self.reason = reason
        self.lasting = lasting
        self.status = status


@dataclass(frozen=True)
class Failure:
    """Why a request failed, in words for moderators, and whether retrying could help."""

    reason: str
    lasting: bool
    status: int | None


def why_not(exc: BaseException) -> Failure:
    """Describe a failed request to a channel for moderators."""
    if isinstance(exc, discord.Forbidden):
        if exc.code == MISSING_ACCESS:
            reason = "I can't see that channel any more (my role lost View Channel there, or its access)"
        elif exc.code == MISSING_PERMISSIONS:
            reason = "I'm missing a permission there (Send Messages, Embed Links or Create Public Threads)"
        else:
            reason = f"Discord refused me there (403, code {exc.code})"
        return Failure(reason, True, 403)
    if isinstance(exc, discord.NotFound):
        return Failure("the channel no longer exists (it may have been deleted)", True, 404)
    if isinstance(exc, discord.HTTPException):
        return Failure(f"Discord had trouble ({exc.status})", False, exc.status)
    return Failure(f"I couldn't reach Discord ({type(exc).__name__})", False, None)


def missing_permissions(channel: discord.abc.GuildChannel, needs: Iterable[str] = POST_NEEDS) -> list[str]:
    """Return the names of the permissions Hearth lacks in a channel (empty if it has them all)."""
    me = channel.guild.me
    if me is None:
        return []
    permissions = channel.permissions_for(me)
    return [PERMISSION_WORDS.get(need, need) for need in needs if not getattr(permissions, need)]


def trouble_embed(channel_id: int, what: str, reason: str, consequence: str = "") -> discord.Embed:
    """Render a notice about a channel Hearth cannot post in."""
    lines = [f"I couldn't post {what} in <#{channel_id}>: {reason}."]
    if consequence:
        lines.append(consequence)
    lines.append(
        "A moderator can give my role View Channel, Send Messages, Embed Links and Create Public "
        "Threads there, or choose another channel with `/setup`. I'll say it again only if it "
        "happens again after it works."
    )
    embed = discord.Embed(
        title="Hearth can't post in a channel", description="\n".join(lines), colour=TROUBLE_COLOUR
    )
    embed.set_footer(text="/setup shows anything that still needs attention.")
    return embed


# ----- posting to a configured channel ------------------------------------------------------


async def post_in_channel(
    bot: Hearth,
    guild_id: int,
    channel_id: int,
    *,
    what: str,
    consequence: str = "",
    **send: Any,
) -> discord.Message:
    """Post to a configured channel; on 403/404 tell moderators once, then raise ChannelUnavailable.

    `what` names what was posted, for moderators ("anonymous shares", "review items");
    `consequence` says what Hearth does meanwhile ("Shares wait safely until …").
    """
    send.setdefault("allowed_mentions", NO_MENTIONS)
    channel = bot.get_partial_messageable(channel_id, guild_id=guild_id)
    try:
        message = await channel.send(**send)
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
        failure = why_not(exc)
        known = await _is_troubled(bot, guild_id, channel_id)
        level = logging.INFO if known else logging.WARNING
        log.log(level, "could not post %s in channel %s of guild %s: %s", what, channel_id, guild_id,
                failure.reason)
        if failure.lasting and not known:
            await note_trouble(
                bot, guild_id, channel_id, trouble_embed(channel_id, what, failure.reason, consequence)
            )
        raise ChannelUnavailable(
            channel_id, failure.reason, lasting=failure.lasting, status=failure.status
        ) from exc
    await channel_works(bot, guild_id, channel_id)
    return message


async def _is_troubled(bot: Hearth, guild_id: int, channel_id: int) -> bool:
    try:
        return await bot.notices.is_troubled(guild_id, channel_id)
    except StorageBusyError:
        return False


async def channel_works(bot: Hearth, guild_id: int, channel_id: int) -> None:
    """A post to a channel worked: forget its troubles, so a new one is told again."""
    try:
        if await bot.notices.channel_works(guild_id, channel_id):
            log.info("channel %s of guild %s works again", channel_id, guild_id)
    except StorageBusyError:
        log.info("database busy; channel %s is still marked as troubled", channel_id)


async def note_trouble(
    bot: Hearth, guild_id: int, channel_id: int, embed: discord.Embed, *, topic: str | None = None
) -> bool:
    """Tell moderators once about trouble with a channel (topic `channel:<id>` unless given)."""
    return await tell_moderators(
        bot, guild_id, embed, topic=topic or f"channel:{channel_id}", channel_id=channel_id
    )


# ----- telling moderators ---------------------------------------------------------------------


async def moderator_routes(
    bot: Hearth, guild_id: int, *, prefer: str = "alerts", avoid: Iterable[int | None] = ()
) -> list[int]:
    """Return the channels moderators read, in the order to try: the preferred one first, and
    channels Hearth had trouble posting in last (a post that works there clears the trouble)."""
    assert bot.guild_settings is not None
    settings = await bot.guild_settings.get(guild_id)
    pair = [settings.alerts_channel_id, settings.review_channel_id]
    if prefer == "review":
        pair.reverse()
    skip = set(avoid)
    routes = [c for c in dict.fromkeys(pair) if c is not None and c not in skip]
    healthy = [c for c in routes if not await _is_troubled(bot, guild_id, c)]
    return healthy + [c for c in routes if c not in healthy]


async def post_to_moderators(
    bot: Hearth,
    guild_id: int,
    *,
    what: str,
    consequence: str = "",
    prefer: str = "alerts",
    avoid: Iterable[int | None] = (),
    **send: Any,
) -> discord.Message | None:
    """Post to the first moderators' channel that takes it (alerts or review); None if none did."""
    for channel_id in await moderator_routes(bot, guild_id, prefer=prefer, avoid=avoid):
        try:
            return await post_in_channel(
                bot, guild_id, channel_id, what=what, consequence=consequence, **send
            )
        except ChannelUnavailable:
            continue
    return None


async def tell_moderators(
    bot: Hearth,
    guild_id: int,
    embed: discord.Embed,
    *,
    topic: str | None = None,
    channel_id: int | None = None,
    user_id: int | None = None,
) -> bool:
    """Make sure moderators hear this: post it now if a route works, else keep it until one does.

    A notice with a `topic` is told once while its trouble lasts. `user_id` is the member a care
    alert names (kept only until delivery, and erased by /mydata erase). Return whether it was
    delivered now.
    """
    try:
        notice = await bot.notices.remember(
            guild_id, embed.to_dict(), bot.now(), topic=topic, channel_id=channel_id, user_id=user_id
        )
    except StorageBusyError:
        # It cannot wait in the database, so it gets one direct try.
        log.warning("database busy; a notice for the moderators of guild %s gets one direct try", guild_id)
        sent = await post_to_moderators(bot, guild_id, what="a notice for moderators", avoid=[channel_id],
                                        embed=embed)
        if sent is None:
            log.warning("a notice for the moderators of guild %s could not be delivered or kept", guild_id)
        return sent is not None
    if notice is None:
        return False
    delivered = await deliver_waiting(bot, guild_id)
    return notice.id in delivered


async def deliver_waiting(bot: Hearth, guild_id: int | None = None) -> set[int]:
    """Post waiting notices through the first route that works; return the ids delivered."""
    delivered: set[int] = set()
    try:
        waiting = await bot.notices.waiting(guild_id)
    except StorageBusyError:
        log.info("database busy; waiting notices for moderators go out next time")
        return delivered
    by_guild: dict[int, list[Notice]] = {}
    for notice in waiting:
        by_guild.setdefault(notice.guild_id, []).append(notice)
    for guild, notices in by_guild.items():
        delivered |= await _deliver_in_guild(bot, guild, notices)
    return delivered


async def _deliver_in_guild(bot: Hearth, guild_id: int, notices: list[Notice]) -> set[int]:
    delivered: set[int] = set()
    routes = await moderator_routes(bot, guild_id)
    for notice in notices:
        for channel_id in [c for c in routes if c != notice.channel_id]:
            channel = bot.get_partial_messageable(channel_id, guild_id=guild_id)
            try:
                await channel.send(embed=discord.Embed.from_dict(notice.body), allowed_mentions=NO_MENTIONS)
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
                failure = why_not(exc)
                log.warning("could not post a notice for moderators in channel %s of guild %s: %s",
                            channel_id, guild_id, failure.reason)
                if failure.lasting:
                    routes.remove(channel_id)
                    await _remember_route_trouble(bot, guild_id, channel_id, failure.reason)
                continue
            await bot.notices.delivered(notice, bot.now())
            await channel_works(bot, guild_id, channel_id)
            delivered.add(notice.id)
            break
        else:
            await bot.notices.attempted(notice)
            if notice.attempts == 0:
                log.warning(
                    "a notice for the moderators of guild %s is waiting: no alerts or review channel "
                    "took it; /setup shows it", guild_id,
                )
    return delivered


async def _remember_route_trouble(bot: Hearth, guild_id: int, channel_id: int, reason: str) -> None:
    embed = trouble_embed(
        channel_id, "notices for moderators", reason,
        "Alerts and notices go to the other moderators' channel meanwhile, or wait for `/setup`.",
    )
    await bot.notices.remember(
        guild_id, embed.to_dict(), bot.now(), topic=f"channel:{channel_id}", channel_id=channel_id
    )


async def standing_troubles(bot: Hearth, guild_id: int) -> list[str]:
    """Return one line per trouble that still holds in a guild, for /setup."""
    return [
        clip(str(n.body.get("description", "")).split("\n", 1)[0], 300)
        for n in await bot.notices.standing(guild_id)
    ]


async def hand_over_waiting(bot: Hearth, guild_id: int, room: int) -> list[discord.Embed]:
    """Return waiting notices for a moderator's /setup reply (within `room` characters); they
    count as delivered."""
    shown: list[discord.Embed] = []
    for notice in await bot.notices.waiting(guild_id, limit=WAITING_EMBEDS_SHOWN):
        embed = discord.Embed.from_dict(notice.body)
        if len(embed) > room:
            break
        room -= len(embed)
        shown.append(embed)
        await bot.notices.delivered(notice, bot.now())
    return shown
