"""The check-in runner: what happens when time passes, driven by `tick(now)`.

APScheduler calls `tick(bot.now())` at the earliest moment the database says
something is due; tests call `tick(now)` directly with the time they choose, so
no test ever waits for real minutes. A tick:

1. resolves occurrences claimed by an earlier process but never confirmed
   (killed mid-post): the channel's recent messages are searched for the
   occurrence's marker (check-ins and group exercises both carry it in their
   footer); found means confirm, not found means post it now if it is still
   within grace, else record it as skipped;
2. claims what is due in one transaction, then posts each claim through a bounded
   pool of workers that share one pacer, so a burst of check-ins stays under
   Discord's global rate limit; each post is confirmed with its message id;
3. closes check-ins whose window has ended;
4. sends the one reminder at 80% of a window to members who opted in and have
   not answered, and the personal reminders whose time has come.

Posting goes through a `CheckinPoster` that the cog implements with discord.py,
so this module stays free of Discord.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from bot.services.checkins import CheckinService, Tally, recurrence_of, start_of_local_day
from bot.storage.checkins import OccurrenceRow, ReminderRow, ScheduleRow

log = logging.getLogger(__name__)

T = TypeVar("T")


class Failure(StrEnum):
    """Why a request to Discord did not work, as far as the runner needs to know."""

    DM_CLOSED = "dm_closed"  # 50007: the member does not accept DMs
    FORBIDDEN = "forbidden"  # 403: missing permissions
    NOT_FOUND = "not_found"  # 404: the channel or message is gone
    TRANSIENT = "transient"  # 5xx, timeouts: worth trying again later


class DeliveryError(Exception):
    """A request the poster could not complete."""

    def __init__(self, failure: Failure, detail: str = "") -> None:
        super().__init__(f"{failure}: {detail}" if detail else str(failure))
        self.failure = failure
        self.detail = detail


class CheckinPoster(Protocol):
    """What the runner needs from Discord; the cog implements it."""

    async def post_checkin(self, occurrence: OccurrenceRow, tally: Tally) -> int:
        """Post a check-in's embed and buttons; return the message id."""

    async def post_exercise(self, occurrence: OccurrenceRow) -> int:
        """Post a group exercise; return the message id."""

    async def find_posted(self, occurrence: OccurrenceRow) -> int | None:
        """Search the channel's recent messages for the occurrence's marker; return the message id."""

    async def close_checkin(self, occurrence: OccurrenceRow, tally: Tally) -> None:
        """Edit a check-in's message to say it has closed."""

    async def send_group_reminder(self, reminder: ReminderRow, occurrence: OccurrenceRow) -> int | None:
        """DM a member about an open check-in; return the DM channel id used."""

    async def send_personal_reminder(self, reminder: ReminderRow) -> int | None:
        """DM a member their personal check-in reminder; return the DM channel id used."""


class Pacer:
    """Spaces requests at `rate` per second, first come first served, with a burst of at most `burst`.

    discord.py handles each route's own limits and retries a 429, but nothing in it
    keeps a burst under the global limit; this does, for every request the runner makes.
    It is the generic cell rate algorithm: each request is due one interval after the
    one before, and a request that is late (the event loop was busy) may be followed
    sooner, so lost time is caught up without ever sending more than
    ``1 + (T + (burst - 1) / rate) * rate`` requests in any T seconds.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a pacer needs a positive rate and a burst of at least 1")
        self.interval = 1.0 / rate
        self._tolerance = (burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._due = 0.0  # the theoretical time of the next request
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next request may be sent."""
        async with self._lock:
            now = self._clock()
            due = max(self._due, now)
            allowed_at = due - self._tolerance
            if allowed_at > now:
                await self._sleep(allowed_at - now)
            self._due = due + self.interval


_DONE = object()


async def run_stream(
    batches: AsyncIterator[Iterable[T]],
    work: Callable[[T], Awaitable[None]],
    workers: int,
    pacer: Pacer | None,
) -> None:
    """Like `run_pool`, but items arrive in batches while the workers are already busy."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def produce() -> None:
        try:
            async for batch in batches:
                for item in batch:
                    queue.put_nowait(item)
        finally:
            for _ in range(workers):
                queue.put_nowait(_DONE)

    async def worker() -> None:
        while True:
            item = await queue.get()
            if item is _DONE:
                return
            if pacer is not None:
                await pacer.wait()
            try:
                await work(item)
            except Exception:
                log.exception("a check-in task failed")

    results = await asyncio.gather(produce(), *(worker() for _ in range(workers)), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def run_pool(
    items: Iterable[T], work: Callable[[T], Awaitable[None]], workers: int, pacer: Pacer | None
) -> None:
    """Run `work` on every item with at most `workers` at once, each waiting its turn at the pacer."""
    queue: asyncio.Queue[T] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    if queue.empty():
        return

    async def worker() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if pacer is not None:
                await pacer.wait()
            try:
                await work(item)
            except Exception:
                log.exception("a check-in task failed")

    await asyncio.gather(*(worker() for _ in range(min(workers, queue.qsize()))))


@dataclass
class TickReport:
    """What one tick did, for logs and tests."""

    now: datetime
    posted: list[int] = field(default_factory=list)
    confirmed_after_restart: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # occurrence ids recorded as skipped
    missed: int = 0
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
        pacer: Pacer,
        workers: int = 16,
        on_idle: Callable[[datetime | None], Awaitable[None] | None] | None = None,
        on_paused: Callable[[OccurrenceRow, str], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.store = service.store
        self.poster = poster
        self.pacer = pacer
        self.workers = workers
        self.on_idle = on_idle
        # Told when a schedule is paused because its channel refused a post (403) or is gone (404).
        self.on_paused = on_paused
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

            await run_stream(claims(), lambda o: self._post(o, report), self.workers, self.pacer)
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
            await self.pacer.wait()
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
        if occurrence.kind == "exercise":
            # A group exercise has no window: closing would turn it into a check-in's message.
            await self.store.mark_closed([occurrence.id])

    async def _record_failure(self, occurrence: OccurrenceRow, exc: DeliveryError, now: datetime) -> None:
        """Record a post that cannot work as things are, and pause its schedule.

        A missing permission or a deleted channel fails every later post too, so the schedule
        is paused (with the reason, shown in /schedule list) instead of failing day after day,
        and moderators are told once; `/schedule resume` starts it again.
        """
        reason = {
            Failure.FORBIDDEN: "I'm missing permission to post in that channel",
            Failure.NOT_FOUND: "the channel no longer exists or the exercise is unavailable",
        }.get(exc.failure, "Discord refused the post")
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
        if lasting and self.on_paused is not None:
            try:
                await self.on_paused(occurrence, reason)
            except Exception:
                log.exception("could not tell moderators that schedule %s was paused", occurrence.schedule_id)

    async def _resolve_unconfirmed(self, now: datetime, report: TickReport) -> list[OccurrenceRow]:
        """Settle claims no one in this process is posting: confirm, repost within grace, or skip."""
        reposts: list[OccurrenceRow] = []
        async with self._claim_lock:
            orphans = [o for o in await self.store.claimed_occurrences() if o.id not in self._in_flight]
        for occurrence in orphans:
            await self.pacer.wait()
            try:
                found = await self.poster.find_posted(occurrence)
            except DeliveryError as exc:
                if exc.failure is Failure.TRANSIENT:
                    continue
                if exc.failure is Failure.NOT_FOUND:
                    await self._record_failure(occurrence, exc, now)
                    report.failed.append(occurrence.id)
                else:
                    # Unable to read the channel: never risk a second post.
                    await self.store.set_state(occurrence.id, "unknown", "could not read the channel")
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
            try:
                await self.poster.close_checkin(occurrence, await self.service.tally(occurrence, closed=True))
            except DeliveryError as exc:
                if exc.failure is Failure.TRANSIENT:
                    return  # the next tick tries again; the buttons already refuse late answers
                log.info("could not edit closed check-in %s (%s)", occurrence.id, exc.failure)
            await self.store.mark_closed([occurrence.id])
            report.closed.append(occurrence.id)

        await run_pool(due, close, self.workers, self.pacer)

    async def _remind_due(self, now: datetime, report: TickReport) -> None:
        await self.store.skip_stale_reminders(now)
        pairs: list[tuple[ReminderRow, OccurrenceRow]] = []
        for occurrence in await self.store.claim_reminder_pass(now):
            for reminder in await self.store.reminder_recipients(occurrence.id, occurrence.guild_id, now):
                pairs.append((reminder, occurrence))

        async def remind(pair: tuple[ReminderRow, OccurrenceRow]) -> None:
            reminder, occurrence = pair
            try:
                channel = await self.poster.send_group_reminder(reminder, occurrence)
            except DeliveryError as exc:
                await self._reminder_failed(reminder, exc, occurrence.channel_id, report)
                return
            if channel is not None and channel != reminder.dm_channel_id:
                await self.store.set_dm_channel(reminder.user_id, channel)
            report.reminded.append(reminder.user_id)

        await run_pool(pairs, remind, self.workers, self.pacer)

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
                await self._reminder_failed(reminder, exc, None, report)
                return
            if channel is not None and channel != reminder.dm_channel_id:
                await self.store.set_dm_channel(reminder.user_id, channel)
            report.personal_reminded.append(reminder.user_id)

        await run_pool(unique, send, self.workers, self.pacer)

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
