"""The check-in runner: what happens when time passes, driven by `tick(now)`.

APScheduler calls `tick(bot.now())` at the earliest moment the database says
something is due; tests call `tick(now)` directly with the time they choose, so
no test ever waits for real minutes. A tick:

1. resolves occurrences claimed but never confirmed (killed mid-post, or a post
   whose answer was lost): the channel's messages since the claim are searched
   for the occurrence's marker (check-ins and group exercises both carry it in
   their footer); found means confirm, not found means post it now if it is
   still within grace, else record it as skipped; unable to search means
   `unknown` (never a second post), and moderators are told;
2. claims what is due in one transaction, then posts each claim through a bounded
   pool of workers; each post is confirmed with its message id;
3. closes check-ins whose window has ended;
4. sends the one reminder at 80% of a window to members who opted in and have
   not answered, and the personal reminders whose time has come.

Posting goes through a `CheckinPoster` that the cog implements with discord.py,
so this module stays free of Discord. The poster waits its turn at one shared `Pacer`
before every request it sends, however many a task needs (a reminder may fetch the
member and open a DM channel before it sends; a search may read up to twenty pages),
so a burst stays under Discord's global rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from bot.services.checkins import CheckinService, Tally, recurrence_of, start_of_local_day
from bot.services.pacing import AnswerWindow
from bot.storage.checkins import OccurrenceRow, ReminderRow, ScheduleRow

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long after its window a check-in's closing edit is retried through Discord trouble (5xx,
# timeouts) before it is left as it is (its buttons refuse late answers either way).
CLOSE_RETRY_LIMIT = timedelta(hours=24)


class Failure(StrEnum):
    """Why a request to Discord did not work, as far as the runner needs to know."""

    DM_CLOSED = "dm_closed"  # 50007: the member does not accept DMs
    FORBIDDEN = "forbidden"  # 403: missing permissions
    NOT_FOUND = "not_found"  # 404: the channel or message is gone
    REFUSED = "refused"  # any other 4xx (such as a 400): sending it again gets the same answer
    TRANSIENT = "transient"  # 5xx, 429, timeouts, lost connections: worth trying again later


@dataclass(frozen=True)
class Trouble:
    """Something about a schedule's posts that moderators should hear about (once)."""

    reason: str  # in words for moderators
    paused: bool  # the schedule was paused because of it
    unsure: bool = False  # Hearth could not tell whether a check-in went out


class DeliveryError(Exception):
    """A request the poster could not complete."""

    def __init__(self, failure: Failure, detail: str = "") -> None:
        super().__init__(f"{failure}: {detail}" if detail else str(failure))
        self.failure = failure
        self.detail = detail


class CheckinPoster(Protocol):
    """What the runner needs from Discord; the cog implements it.

    Every request a method sends waits its turn at the poster's pacer first.
    """

    async def post_checkin(self, occurrence: OccurrenceRow, tally: Tally) -> int:
        """Post a check-in's embed and buttons; return the message id."""

    async def post_exercise(self, occurrence: OccurrenceRow) -> int:
        """Post a group exercise; return the message id."""

    async def find_posted(self, occurrence: OccurrenceRow) -> int | None:
        """Search the channel's messages since the claim for the occurrence's marker; return its id."""

    async def close_checkin(self, occurrence: OccurrenceRow, tally: Tally) -> None:
        """Edit a check-in's message to say it has closed."""

    async def send_group_reminder(self, reminder: ReminderRow, occurrence: OccurrenceRow) -> int | None:
        """DM a member about an open check-in; return the DM channel id used, or None if not sent
        (the member left the server or can no longer see the channel)."""

    async def send_personal_reminder(self, reminder: ReminderRow) -> int | None:
        """DM a member their personal check-in reminder; return the DM channel id used."""


class Pacer:
    """Spaces requests to `rate` a second, first come first served, never more than Discord allows.

    discord.py handles each route's own limits and retries a 429, but nothing in it keeps a
    burst under the global limit; this does, for every request the poster sends. A request
    holds a slot (`async with pacer.slot(): ...`) from when it may go until its answer is back.
    Three rules decide when the next one may go:

    - its theoretical time, one interval after the previous one's (the generic cell rate
      algorithm with no burst), so the average rate holds;
    - at least `min_gap` of an interval after the request sent before it, so the requests after
      a late one (the event loop was busy) follow a little sooner, never at once: up to
      `catch_up` seconds of lost time are made up that way, anything older is lost;
    - a place in an `AnswerWindow` of `per_window` requests (the rate, rounded down, unless
      given) in `window` seconds, held until `window` after the answer.

    The last rule is what keeps Discord's count: Discord never counts more than `per_window` in
    a window. Only a request discord.py sends again by itself within a window (a 429 it was told
    to retry sooner) could add one; check-in routes are not retried that fast.
    """

    def __init__(
        self,
        rate: float,
        *,
        min_gap: float = 0.75,
        window: float = 1.0,
        per_window: int | None = None,
        catch_up: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or not 0 < min_gap <= 1 or (per_window is not None and per_window < 1):
            raise ValueError("a pacer needs a positive rate, a window of at least 1 and a gap of at most 1")
        self.interval = 1.0 / rate
        limit = per_window if per_window is not None else max(1, math.floor(rate * window + 1e-9))
        self._window = AnswerWindow(limit, window, clock=clock, sleep=sleep)
        self._min_gap = min_gap * self.interval
        self._catch_up = catch_up
        self._clock = clock
        self._sleep = sleep
        self._due = -math.inf  # the theoretical time of the next request
        self._last_sent = -math.inf
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for one request: enter when it may be sent, leave once its answer is back."""
        await self._take()
        try:
            yield
        finally:
            self._window.give_back()

    async def _take(self) -> None:
        asked = self._clock()
        async with self._lock:
            now = self._clock()
            # A request that came after its theoretical time found the pacer idle: nothing was
            # lost, so nothing is made up. One that queued was held up by a late predecessor.
            due = asked if asked > self._due else max(self._due, now - self._catch_up)
            allowed_at = max(due, now, self._last_sent + self._min_gap)
            if allowed_at > now:
                await self._sleep(allowed_at - now)
            self._last_sent = max(await self._window.take(), allowed_at)
            self._due = due + self.interval


_DONE = object()


async def run_pool(
    items: Iterable[T] | AsyncIterator[Iterable[T]],
    work: Callable[[T], Awaitable[None]],
    workers: int,
) -> None:
    """Run `work` on every item with at most `workers` at once.

    Items may also arrive in batches from an async iterator while the workers are already busy.
    A failing item is logged and the others go on.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def produce() -> None:
        try:
            if isinstance(items, AsyncIterator):
                async for batch in items:
                    for item in batch:
                        queue.put_nowait(item)
            else:
                for item in items:
                    queue.put_nowait(item)
        finally:
            for _ in range(workers):
                queue.put_nowait(_DONE)

    async def worker() -> None:
        while True:
            item = await queue.get()
            if item is _DONE:
                return
            try:
                await work(item)
            except Exception:
                log.exception("a check-in task failed")

    results = await asyncio.gather(produce(), *(worker() for _ in range(workers)), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


@dataclass
class TickReport:
    """What one tick did, for logs and tests."""

    now: datetime
    posted: list[int] = field(default_factory=list)
    confirmed_after_restart: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # occurrence ids recorded as skipped
    missed: int = 0
    unknown: list[int] = field(default_factory=list)  # could not tell whether they went out
    closed: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)  # user ids that got a group reminder
    personal_reminded: list[int] = field(default_factory=list)
    dm_closed: list[int] = field(default_factory=list)


class CheckinRunner:
    """Posts, closes and reminds when the database says it is time; safe to tick as often as you like."""

    def __init__(
        self,
        service: CheckinService,
        poster: CheckinPoster,
        *,
        workers: int = 16,
        on_idle: Callable[[datetime | None], Awaitable[None] | None] | None = None,
        on_trouble: Callable[[OccurrenceRow, Trouble], Awaitable[None]] | None = None,
        checkin_channel_of: Callable[[int], Awaitable[int | None]] | None = None,
    ) -> None:
        self.service = service
        self.store = service.store
        self.poster = poster
        self.workers = workers
        self.on_idle = on_idle
        # Told when a post fails for good (the schedule may be paused) or its fate is unknown.
        self.on_trouble = on_trouble
        # Where a server's group check-ins are, for the note to a member whose DMs are closed.
        self.checkin_channel_of = checkin_channel_of
        self._tick_lock = asyncio.Lock()
        self._claim_lock = asyncio.Lock()
        # Occurrences this process is posting right now; a tick never treats them as orphans.
        self._in_flight: set[int] = set()

    async def tick(self, now: datetime) -> TickReport:
        """Do everything that is due at `now`; return what was done."""
        report = TickReport(now)
        async with self._tick_lock:
            reposts = await self._resolve_unconfirmed(now, report)

            async def claims() -> AsyncIterator[list[OccurrenceRow]]:
                yield reposts
                # Claimed in batches, so posting starts while later schedules are still claimed.
                async for batch in self.service.claim_due_batches(now):
                    report.missed += len(batch.missed)
                    report.skipped.extend(batch.skipped_ids)
                    yield batch.claimed

            await run_pool(claims(), lambda o: self._post(o, report), self.workers)
            await self._close_due(now, report)
            await self._remind_due(now, report)
            await self._personal_reminders(now, report)
        await self._notify_idle()
        return report

    async def post_test(self, schedule: ScheduleRow, now: datetime) -> tuple[OccurrenceRow, TickReport]:
        """Claim and post one check-in of a schedule at once (for /schedule test)."""
        async with self._claim_lock:
            # Marked in flight before any tick can list it, so it is never taken for an orphan.
            occurrence = await self.service.claim_test(schedule, now)
            self._in_flight.add(occurrence.id)
        report = TickReport(now)
        try:
            await self._post(occurrence, report)
        finally:
            self._in_flight.discard(occurrence.id)
        await self._notify_idle()
        return occurrence, report

    async def _notify_idle(self) -> None:
        if self.on_idle is None:
            return
        result = self.on_idle(await self.store.next_wakeup())
        if result is not None:
            await result

    # ----- posting ----------------------------------------------------------------------

    async def _post(self, occurrence: OccurrenceRow, report: TickReport) -> None:
        self._in_flight.add(occurrence.id)
        try:
            if occurrence.kind == "exercise":
                message_id = await self.poster.post_exercise(occurrence)
            else:
                message_id = await self.poster.post_checkin(occurrence, Tally(0, None))
        except DeliveryError as exc:
            if exc.failure is Failure.TRANSIENT:
                # Left claimed: the next tick looks for it in the channel and posts it if it is
                # missing and still within grace.
                log.warning("posting check-in %s failed for now (%s); will check again", occurrence.id, exc)
                return
            await self._record_failure(occurrence, exc, report.now)
            report.failed.append(occurrence.id)
            return
        except LookupError as exc:  # the exercises area is not loaded
            await self._record_failure(occurrence, DeliveryError(Failure.NOT_FOUND, str(exc)), report.now)
            report.failed.append(occurrence.id)
            return
        finally:
            self._in_flight.discard(occurrence.id)
        await self._confirm(occurrence, message_id, report.now)
        report.posted.append(occurrence.id)

    async def _confirm(self, occurrence: OccurrenceRow, message_id: int, now: datetime) -> None:
        await self.store.confirm_posted(occurrence.id, message_id, now)
        if occurrence.schedule_id is not None:
            await self.store.clear_last_error(occurrence.schedule_id, now)
        if occurrence.kind == "exercise":
            # A group exercise has no window: closing would turn it into a check-in's message.
            await self.store.mark_closed([occurrence.id])

    async def _record_failure(self, occurrence: OccurrenceRow, exc: DeliveryError, now: datetime) -> None:
        """Record a post that cannot work as things are, and tell moderators once.

        A missing permission or a deleted channel fails every later post too, so the schedule
        is paused (with the reason, shown in /schedule list) instead of failing day after day;
        `/schedule resume` starts it again. A post Discord refused for another reason (a 400)
        is not sent again; the schedule goes on and its next post may well work.
        """
        reason = {
            Failure.FORBIDDEN: "I'm missing permission to post in that channel",
            Failure.NOT_FOUND: "the channel no longer exists or the exercise is unavailable",
        }.get(exc.failure, f"Discord refused the post ({exc.detail or exc.failure})")
        log.warning(
            "check-in %s of schedule %s could not be posted: %s", occurrence.id, occurrence.schedule_id, exc
        )
        await self.store.set_state(occurrence.id, "failed", str(exc.failure))
        if occurrence.schedule_id is None:
            return
        lasting = exc.failure in (Failure.FORBIDDEN, Failure.NOT_FOUND)
        if lasting:
            await self.store.update_schedule(
                occurrence.schedule_id, now, paused=True, next_run_at=None, last_error=reason
            )
            log.warning("paused schedule %s: %s", occurrence.schedule_id, exc.failure)
        else:
            await self.store.update_schedule(occurrence.schedule_id, now, last_error=reason)
        await self._tell(occurrence, Trouble(reason, paused=lasting))

    async def _record_unknown(self, occurrence: OccurrenceRow, exc: DeliveryError, now: datetime) -> None:
        """Record a claimed check-in whose channel can't be searched: never post it a second time.

        It is looked for once more when its window ends (to close it if it did go out), and
        moderators are told once, with what to fix.
        """
        if exc.failure is Failure.FORBIDDEN:
            reason = (
                "I can't read that channel's message history (Read Message History), so I couldn't "
                "check whether an interrupted check-in had gone out"
            )
        else:
            why = exc.detail or exc.failure
            reason = f"I couldn't check whether an interrupted check-in had gone out ({why})"
        log.warning("check-in %s: couldn't search its channel (%s); not posting it again", occurrence.id, exc)
        await self.store.set_state(occurrence.id, "unknown", str(exc.failure))
        if occurrence.schedule_id is not None:
            await self.store.update_schedule(occurrence.schedule_id, now, last_error=reason)
            await self._tell(occurrence, Trouble(reason, paused=False, unsure=True))

    async def _tell(self, occurrence: OccurrenceRow, trouble: Trouble) -> None:
        if self.on_trouble is None or occurrence.schedule_id is None:
            return
        try:
            await self.on_trouble(occurrence, trouble)
        except Exception:
            log.exception("could not tell moderators about schedule %s", occurrence.schedule_id)

    async def _resolve_unconfirmed(self, now: datetime, report: TickReport) -> list[OccurrenceRow]:
        """Settle claims no one in this process is posting: confirm, repost within grace, or skip."""
        reposts: list[OccurrenceRow] = []
        async with self._claim_lock:
            orphans = [o for o in await self.store.claimed_occurrences() if o.id not in self._in_flight]
        for occurrence in orphans:
            try:
                found = await self.poster.find_posted(occurrence)
            except DeliveryError as exc:
                if exc.failure is Failure.TRANSIENT:
                    continue
                if exc.failure is Failure.NOT_FOUND:
                    await self._record_failure(occurrence, exc, now)
                    report.failed.append(occurrence.id)
                else:
                    await self._record_unknown(occurrence, exc, now)
                    report.unknown.append(occurrence.id)
                continue
            if found is not None:
                await self._confirm(occurrence, found, now)
                report.confirmed_after_restart.append(occurrence.id)
                log.info("check-in %s was posted before a restart; confirmed it", occurrence.id)
            elif occurrence.kind != "test" and now - occurrence.scheduled_for <= self.service.grace:
                reposts.append(occurrence)
            else:
                await self.store.set_state(occurrence.id, "skipped", "interrupted and past grace")
                report.skipped.append(occurrence.id)
                log.warning("check-in %s was interrupted and is past grace; skipped", occurrence.id)
        return reposts

    # ----- closing and reminding ----------------------------------------------------------

    async def _close_due(self, now: datetime, report: TickReport) -> None:
        due = await self.store.occurrences_to_close(now)

        async def close(occurrence: OccurrenceRow) -> None:
            if occurrence.state == "unknown":
                occurrence = await self._look_again(occurrence, now)
            try:
                if occurrence.message_id is not None:
                    tally = await self.service.tally(occurrence, closed=True)
                    await self.poster.close_checkin(occurrence, tally)
            except DeliveryError as exc:
                if exc.failure is Failure.TRANSIENT and now - occurrence.closes_at < CLOSE_RETRY_LIMIT:
                    return  # the next tick tries again; the buttons already refuse late answers
                log.info("could not edit closed check-in %s (%s); leaving it", occurrence.id, exc.failure)
            await self.store.mark_closed([occurrence.id])
            report.closed.append(occurrence.id)

        await run_pool(due, close, self.workers)

    async def _look_again(self, occurrence: OccurrenceRow, now: datetime) -> OccurrenceRow:
        """At the close of a check-in whose fate was unknown, search once more, to close it if it went out."""
        try:
            found = await self.poster.find_posted(occurrence)
        except DeliveryError:
            found = None
        if found is None:
            return occurrence
        await self._confirm(occurrence, found, now)
        log.info("check-in %s turned out to have been posted; closing it", occurrence.id)
        confirmed = await self.store.get_occurrence(occurrence.id)
        return confirmed or occurrence

    async def _remind_due(self, now: datetime, report: TickReport) -> None:
        await self.store.skip_stale_reminders(now)
        pairs: list[tuple[ReminderRow, OccurrenceRow]] = []
        for occurrence in await self.store.claim_reminder_pass(now):
            for reminder in await self.service.reminder_recipients(occurrence, now):
                pairs.append((reminder, occurrence))

        async def remind(pair: tuple[ReminderRow, OccurrenceRow]) -> None:
            reminder, occurrence = pair
            try:
                channel = await self.poster.send_group_reminder(reminder, occurrence)
            except DeliveryError as exc:
                await self._reminder_failed(reminder, exc, occurrence.channel_id, report)
                return
            if channel is None:
                return
            if channel != reminder.dm_channel_id:
                await self.store.set_dm_channel(reminder.user_id, channel)
            report.reminded.append(reminder.user_id)

        await run_pool(pairs, remind, self.workers)

    async def _personal_reminders(self, now: datetime, report: TickReport) -> None:
        sendable: list[ReminderRow] = []
        for reminder in await self.store.due_reminders(now):
            assert reminder.next_run_at is not None
            recurrence = recurrence_of(reminder)
            # Move on first: a reminder is sent at most once, even if the process dies mid-send.
            await self.store.set_reminder_next_run(
                reminder.user_id, reminder.guild_id, recurrence.next_after(now)
            )
            if now - reminder.next_run_at > self.service.grace:
                log.info(
                    "skipped a personal reminder that was %s minutes late",
                    int((now - reminder.next_run_at).total_seconds() // 60),
                )
                continue
            if await self.service.is_paused(reminder.user_id, now):
                continue
            if await self.service.checked_in_since(
                reminder.user_id, start_of_local_day(now, recurrence.zone)
            ):
                continue
            sendable.append(reminder)
        # One member with reminders on in two servers at the same time gets one DM.
        unique = list({r.user_id: r for r in sendable}.values())

        async def send(reminder: ReminderRow) -> None:
            try:
                channel = await self.poster.send_personal_reminder(reminder)
            except DeliveryError as exc:
                await self._reminder_failed(reminder, exc, await self._checkin_channel(reminder), report)
                return
            if channel is not None and channel != reminder.dm_channel_id:
                await self.store.set_dm_channel(reminder.user_id, channel)
            report.personal_reminded.append(reminder.user_id)

        await run_pool(unique, send, self.workers)

    async def _checkin_channel(self, reminder: ReminderRow) -> int | None:
        if self.checkin_channel_of is None or not reminder.guild_id:
            return None
        try:
            return await self.checkin_channel_of(reminder.guild_id)
        except Exception:
            log.exception("could not look up a server's check-in channel")
            return None

    async def _reminder_failed(
        self, reminder: ReminderRow, exc: DeliveryError, channel_id: int | None, report: TickReport
    ) -> None:
        if exc.failure in (Failure.DM_CLOSED, Failure.FORBIDDEN):
            # No retry loop: reminders go off, and the member is told once, next time they are here.
            await self.service.dm_closed(reminder.user_id, channel_id, report.now)
            report.dm_closed.append(reminder.user_id)
            log.info("a member's DMs are closed; turned their reminders off")
        else:
            log.warning("a reminder could not be delivered (%s)", exc.failure)
