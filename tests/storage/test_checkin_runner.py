"""The runner against a real database and a recording poster: post once, resolve restarts, close, remind."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import CheckinSettings
from bot.content import ContentReader
from bot.content_areas.prompts import load_prompts
from bot.services.checkin_runner import CheckinRunner, DeliveryError, Failure, Pacer, run_pool
from bot.services.checkins import CheckinService, Tally
from bot.storage.checkins import CheckinStore, OccurrenceRow, ReminderRow
from bot.storage.crypto import Keyring
from bot.storage.db import Database
from tests.storage.checkin_helpers import claim_all

CONTENT = Path(__file__).resolve().parents[2] / "content"
GUILD = 111
CHANNEL = 222


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class RecordingPoster:
    """Stands in for Discord: keeps each channel's messages, and fails on request."""

    def __init__(self) -> None:
        self.channels: dict[int, list[tuple[int, int]]] = {}  # channel -> [(message id, occurrence id)]
        self.posts: list[int] = []
        self.closed: list[tuple[int, Tally]] = []
        self.group_reminders: list[tuple[int, int]] = []
        self.personal_reminders: list[int] = []
        self.fail_post: Failure | None = None
        self.dm_closed_users: set[int] = set()
        self.next_id = 900_000
        self.active = 0
        self.most_active = 0

    def _message(self, channel: int, occurrence_id: int) -> int:
        self.next_id += 1
        self.channels.setdefault(channel, []).append((self.next_id, occurrence_id))
        return self.next_id

    async def post_checkin(self, occurrence: OccurrenceRow, tally: Tally) -> int:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(0)
            if self.fail_post is not None:
                raise DeliveryError(self.fail_post, "test")
            self.posts.append(occurrence.id)
            return self._message(occurrence.channel_id, occurrence.id)
        finally:
            self.active -= 1

    async def post_exercise(self, occurrence: OccurrenceRow) -> int:
        self.posts.append(occurrence.id)
        return self._message(occurrence.channel_id, occurrence.id)

    async def find_posted(self, occurrence: OccurrenceRow) -> int | None:
        for message_id, occurrence_id in self.channels.get(occurrence.channel_id, []):
            if occurrence_id == occurrence.id:
                return message_id
        return None

    async def close_checkin(self, occurrence: OccurrenceRow, tally: Tally) -> None:
        self.closed.append((occurrence.id, tally))

    async def send_group_reminder(self, reminder: ReminderRow, occurrence: OccurrenceRow) -> int | None:
        if reminder.user_id in self.dm_closed_users:
            raise DeliveryError(Failure.DM_CLOSED, "50007")
        self.group_reminders.append((reminder.user_id, occurrence.id))
        return 70_000 + reminder.user_id

    async def send_personal_reminder(self, reminder: ReminderRow) -> int | None:
        if reminder.user_id in self.dm_closed_users:
            raise DeliveryError(Failure.DM_CLOSED, "50007")
        self.personal_reminders.append(reminder.user_id)
        return 70_000 + reminder.user_id


@pytest.fixture
def service(db: Database, keyring: Keyring) -> CheckinService:
    _, prompts = load_prompts(ContentReader(CONTENT))
    return CheckinService(
        CheckinStore(db, keyring), CheckinSettings(), prompts, exercise_ids=["box-breathing"]
    )


@pytest.fixture
def poster() -> RecordingPoster:
    return RecordingPoster()


def runner_for(service: CheckinService, poster: RecordingPoster, **kwargs) -> CheckinRunner:
    return CheckinRunner(service, poster, **kwargs)


async def schedule(service: CheckinService, channel: int = CHANNEL, **kwargs) -> int:
    saved = await service.create_schedule(
        GUILD,
        channel,
        time_text="09:00",
        days_text="daily",
        zone_text="UTC",
        now=utc(2026, 5, 1, 8),
        **kwargs,
    )
    return saved.schedule.id


async def test_a_due_check_in_is_posted_once_however_often_it_ticks(service, poster) -> None:
    schedule_id = await schedule(service)
    runner = runner_for(service, poster)
    assert (await runner.tick(utc(2026, 5, 1, 8, 59))).posted == []
    report = await runner.tick(utc(2026, 5, 1, 9))
    await asyncio.gather(*(runner.tick(utc(2026, 5, 1, 9, 0, s)) for s in range(1, 6)))
    assert len(report.posted) == 1 and poster.posts == report.posted
    [occurrence] = await service.store.schedule_occurrences(schedule_id)
    assert occurrence.state == "posted" and occurrence.message_id is not None


async def test_killed_after_posting_is_confirmed_not_posted_again(service, poster) -> None:
    await schedule(service)
    # The first process claimed and posted, then died before recording the message id.
    [claimed] = (await claim_all(service, utc(2026, 5, 1, 9))).claimed
    message_id = poster._message(CHANNEL, claimed.id)
    restarted = runner_for(service, poster)
    report = await restarted.tick(utc(2026, 5, 1, 9, 5))
    assert report.confirmed_after_restart == [claimed.id]
    assert poster.posts == []
    occurrence = await service.store.get_occurrence(claimed.id)
    assert occurrence is not None and occurrence.state == "posted" and occurrence.message_id == message_id


async def test_killed_before_posting_is_posted_once_within_grace(service, poster) -> None:
    await schedule(service)
    [claimed] = (await claim_all(service, utc(2026, 5, 1, 9))).claimed
    restarted = runner_for(service, poster)
    report = await restarted.tick(utc(2026, 5, 1, 10))
    assert report.posted == [claimed.id] and poster.posts == [claimed.id]
    await restarted.tick(utc(2026, 5, 1, 10, 1))
    assert poster.posts == [claimed.id]


async def test_killed_before_posting_and_back_after_grace_is_skipped(service, poster) -> None:
    await schedule(service)
    [claimed] = (await claim_all(service, utc(2026, 5, 1, 9))).claimed
    report = await runner_for(service, poster).tick(utc(2026, 5, 1, 11, 30))
    assert report.skipped == [claimed.id] and poster.posts == []
    occurrence = await service.store.get_occurrence(claimed.id)
    assert occurrence is not None and occurrence.state == "skipped"


async def test_a_group_exercise_posted_before_a_crash_is_confirmed_and_never_closed(service, poster) -> None:
    await schedule(service, exercise_id="box-breathing")
    [claimed] = (await claim_all(service, utc(2026, 5, 1, 9))).claimed
    message_id = poster._message(CHANNEL, claimed.id)
    runner = runner_for(service, poster)
    report = await runner.tick(utc(2026, 5, 1, 9, 1))
    assert report.confirmed_after_restart == [claimed.id] and poster.posts == []
    occurrence = await service.store.get_occurrence(claimed.id)
    assert occurrence is not None and occurrence.state == "posted" and occurrence.message_id == message_id
    # An exercise has no window: its message is never edited into a closed check-in.
    await runner.tick(utc(2026, 5, 2, 8))
    assert poster.closed == []


async def test_a_group_exercise_claimed_but_never_sent_is_posted_once_within_grace(service, poster) -> None:
    await schedule(service, exercise_id="box-breathing")
    [claimed] = (await claim_all(service, utc(2026, 5, 1, 9))).claimed
    runner = runner_for(service, poster)
    report = await runner.tick(utc(2026, 5, 1, 9, 30))
    assert report.posted == [claimed.id] and poster.posts == [claimed.id]
    await runner.tick(utc(2026, 5, 1, 9, 31))
    assert poster.posts == [claimed.id]


async def test_a_transient_failure_is_retried_on_the_next_tick(service, poster) -> None:
    await schedule(service)
    runner = runner_for(service, poster)
    poster.fail_post = Failure.TRANSIENT
    first = await runner.tick(utc(2026, 5, 1, 9))
    assert first.posted == []
    poster.fail_post = None
    second = await runner.tick(utc(2026, 5, 1, 9, 1))
    assert len(second.posted) == 1 and len(poster.posts) == 1


async def test_a_missing_permission_is_recorded_on_the_schedule(service, poster) -> None:
    schedule_id = await schedule(service)
    poster.fail_post = Failure.FORBIDDEN
    report = await runner_for(service, poster).tick(utc(2026, 5, 1, 9))
    assert len(report.failed) == 1
    saved = await service.store.get_schedule(schedule_id)
    assert saved is not None and "permission" in (saved.last_error or "")


async def test_windows_close_once_with_the_count(service, poster) -> None:
    await schedule(service)
    runner = runner_for(service, poster)
    [occurrence_id] = (await runner.tick(utc(2026, 5, 1, 9))).posted
    await service.record_mood(occurrence_id, 1, 3, utc(2026, 5, 1, 10))
    await service.record_pass(occurrence_id, 2, utc(2026, 5, 1, 10))
    assert (await runner.tick(utc(2026, 5, 1, 20, 59))).closed == []
    assert (await runner.tick(utc(2026, 5, 1, 21))).closed == [occurrence_id]
    assert (await runner.tick(utc(2026, 5, 1, 21, 5))).closed == []
    assert poster.closed == [(occurrence_id, Tally(2, None))]


async def test_one_group_reminder_at_eighty_percent_to_those_who_opted_in(service, poster) -> None:
    await schedule(service)
    runner = runner_for(service, poster)
    now = utc(2026, 5, 1, 8)
    for user in (1, 2, 3):
        await service.reminders_on(user, GUILD, "22:00", "UTC", None, now)
    poster.dm_closed_users.add(3)
    [occurrence_id] = (await runner.tick(utc(2026, 5, 1, 9))).posted
    await service.record_mood(occurrence_id, 2, 4, utc(2026, 5, 1, 10))
    await service.record_mood(occurrence_id, 5, 4, utc(2026, 5, 1, 10))  # answered, never opted in
    assert (await runner.tick(utc(2026, 5, 1, 18, 35))).reminded == []  # 80% of 12 h is 18:36
    report = await runner.tick(utc(2026, 5, 1, 18, 36))
    assert report.reminded == [1] and report.dm_closed == [3]
    await runner.tick(utc(2026, 5, 1, 18, 40))
    assert poster.group_reminders == [(1, occurrence_id)]
    assert await service.store.get_reminder(3, GUILD) is not None
    assert not (await service.store.get_reminder(3, GUILD)).enabled  # type: ignore[union-attr]
    assert await service.store.take_dm_closed_notice(3) == (True, CHANNEL)


async def test_personal_reminders_skip_paused_and_already_checked_in(service, poster) -> None:
    runner = runner_for(service, poster)
    now = utc(2026, 5, 1, 8)
    for user in (1, 2, 3):
        await service.reminders_on(user, None, "20:00", "UTC", "daily", now)
    await service.pause(2, 2, now)
    await service.personal_checkin(3, None, 4, None, utc(2026, 5, 1, 12))
    report = await runner.tick(utc(2026, 5, 1, 20))
    assert report.personal_reminded == [1]
    assert (await runner.tick(utc(2026, 5, 1, 20, 1))).personal_reminded == []
    # The next day Cara has not checked in yet, so she hears from us; Bob is still paused.
    assert sorted((await runner.tick(utc(2026, 5, 2, 20))).personal_reminded) == [1, 3]


async def test_personal_reminders_missed_past_grace_are_skipped(service, poster) -> None:
    runner = runner_for(service, poster)
    await service.reminders_on(1, None, "20:00", "UTC", "daily", utc(2026, 5, 1, 8))
    assert (await runner.tick(utc(2026, 5, 1, 23))).personal_reminded == []
    reminder = await service.store.get_reminder(1, 0)
    assert reminder is not None and reminder.next_run_at == utc(2026, 5, 2, 20)


async def test_a_burst_posts_every_check_in_exactly_once_with_bounded_workers(service, poster) -> None:
    for channel in range(300):
        await service.create_schedule(
            channel, channel, time_text="09:00", days_text="daily", zone_text="UTC", now=utc(2026, 5, 1, 8)
        )
    runner = runner_for(service, poster, workers=8)
    report = await runner.tick(utc(2026, 5, 1, 9))
    assert len(report.posted) == 300
    assert sorted(poster.posts) == sorted(set(poster.posts)) and len(poster.posts) == 300
    assert poster.most_active <= 8
    assert await service.store.next_wakeup() == utc(2026, 5, 1, 18, 36)  # the first reminder pass


async def test_the_wakeup_is_the_earliest_thing_due(service, poster) -> None:
    assert await service.store.next_wakeup() is None
    await schedule(service)
    assert await service.store.next_wakeup() == utc(2026, 5, 1, 9)
    seen: list[datetime | None] = []
    runner = runner_for(service, poster, on_idle=seen.append)
    await runner.tick(utc(2026, 5, 1, 9))
    assert seen == [utc(2026, 5, 1, 18, 36)]


async def answered_at_once(pacer: Pacer) -> None:
    """Send one request through the pacer whose answer is back the moment it leaves."""
    async with pacer.slot():
        pass


async def test_the_pacer_spaces_requests_evenly() -> None:
    clock = [0.0]
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    pacer = Pacer(50, clock=lambda: clock[0], sleep=fake_sleep)
    for _ in range(101):
        await answered_at_once(pacer)
    assert clock[0] == pytest.approx(2.0)  # 100 gaps of 20 ms
    assert all(s == pytest.approx(0.02) for s in sleeps)


def busiest_second(sent: list[float]) -> int:
    return max(sum(1 for t in sent[index:] if t < start + 1.0) for index, start in enumerate(sent))


async def test_the_pacer_makes_up_small_delays_without_bunching() -> None:
    clock = [0.0]
    sent: list[float] = []

    async def oversleeping(seconds: float) -> None:
        clock[0] += seconds * 1.3  # a busy event loop wakes us late

    pacer = Pacer(48, clock=lambda: clock[0], sleep=oversleeping)
    for _ in range(480):
        await answered_at_once(pacer)
        sent.append(clock[0])
    assert sent[-1] == pytest.approx(480 / 48, rel=0.03)  # the average rate holds
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 0.75 / 48 - 1e-9
    assert busiest_second(sent) <= 48


async def test_the_pacer_makes_up_a_stall_within_the_window_never_past_it() -> None:
    clock = [0.0]
    sent: list[float] = []
    sleeps = itertools.count()

    async def stalling(seconds: float) -> None:
        clock[0] += seconds + (0.1 if next(sleeps) % 50 == 49 else 0.0)  # now and then, a stall
        await asyncio.sleep(0)  # the other workers queue meanwhile

    pacer = Pacer(48, clock=lambda: clock[0], sleep=stalling)

    async def worker() -> None:  # as in the runner: many workers queue at the pacer
        for _ in range(30):
            await answered_at_once(pacer)
            sent.append(clock[0])
            await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(16)))
    assert len(sent) == 480
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 0.75 / 48 - 1e-9
    assert busiest_second(sent) <= 48
    stalled = 0.1 * (next(sleeps) // 50)
    # Part of the stalled time is made up, with the places the stalls left empty.
    assert 0 < sent[-1] - 480 / 48 < 0.8 * stalled


async def test_an_idle_pacer_banks_nothing() -> None:
    clock = [0.0]
    sent: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    pacer = Pacer(48, clock=lambda: clock[0], sleep=fake_sleep)
    await answered_at_once(pacer)
    clock[0] = 60.0  # a quiet minute
    for _ in range(10):
        await answered_at_once(pacer)
        sent.append(clock[0])
    assert [round(b - a, 6) for a, b in itertools.pairwise(sent)] == [round(1 / 48, 6)] * 9


async def test_a_request_holds_its_place_in_the_window_until_a_window_after_its_answer() -> None:
    clock = [0.0]

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds
        await asyncio.sleep(0)

    pacer = Pacer(100, per_window=2, clock=lambda: clock[0], sleep=fake_sleep)
    answered = asyncio.Event()
    third_sent: list[float] = []

    async def slow() -> None:
        async with pacer.slot():
            await answered.wait()

    async def third() -> None:
        async with pacer.slot():
            third_sent.append(clock[0])

    slow_ones = [asyncio.create_task(slow()) for _ in range(2)]
    waiting = asyncio.create_task(third())
    for _ in range(10):
        await asyncio.sleep(0)
    assert third_sent == []  # both places are taken by requests still waiting for an answer
    clock[0] = 5.0
    answered.set()
    await asyncio.gather(*slow_ones, waiting)
    assert third_sent == [pytest.approx(6.0)]  # one window after those answers


async def test_late_and_slow_requests_never_put_more_than_the_limit_in_any_window_on_arrival() -> None:
    # Real time, scaled down: 50 requests per 0.1 s. Each request reaches "Discord" after a random
    # delay and is answered a little later, as when the event loop or the network is slow; counted
    # on arrival, no window ever holds more than 50, however the delays fall.
    rng = random.Random(7)
    loop = asyncio.get_running_loop()
    pacer = Pacer(600, per_window=50, window=0.1, clock=loop.time)
    arrivals: list[float] = []

    async def request() -> None:
        async with pacer.slot():
            await asyncio.sleep(rng.uniform(0, 0.03))
            arrivals.append(loop.time())
            await asyncio.sleep(rng.uniform(0, 0.01))

    await asyncio.gather(*(request() for _ in range(400)))
    arrivals.sort()
    busiest = max(
        sum(1 for t in arrivals[index:] if t < start + 0.1) for index, start in enumerate(arrivals)
    )
    assert len(arrivals) == 400 and busiest <= 50


async def test_run_pool_takes_items_in_batches_while_working() -> None:
    done: list[int] = []

    async def batches():
        for start in (0, 3, 6):
            await asyncio.sleep(0)
            yield range(start, start + 3)

    async def work(item: int) -> None:
        done.append(item)

    await run_pool(batches(), work, 2)
    assert sorted(done) == list(range(9))


async def test_run_pool_survives_a_failing_item() -> None:
    done: list[int] = []

    async def work(item: int) -> None:
        if item == 3:
            raise RuntimeError("boom")
        done.append(item)

    await run_pool(range(6), work, 2)
    assert sorted(done) == [0, 1, 2, 4, 5]


async def test_a_tick_during_a_test_post_leaves_it_alone(service, poster) -> None:
    schedule_id = await schedule(service)
    row = await service.store.get_schedule(schedule_id)
    assert row is not None
    release = asyncio.Event()
    original = poster.post_checkin

    async def slow_post(occurrence: OccurrenceRow, tally: Tally) -> int:
        await release.wait()
        return await original(occurrence, tally)

    poster.post_checkin = slow_post  # type: ignore[method-assign]
    runner = runner_for(service, poster)
    testing = asyncio.create_task(runner.post_test(row, utc(2026, 5, 1, 8, 30)))
    await asyncio.sleep(0.05)
    report = await runner.tick(utc(2026, 5, 1, 8, 31))  # sees the claim, must not settle it
    assert report.skipped == [] and report.posted == []
    release.set()
    occurrence, test_report = await testing
    assert test_report.posted == [occurrence.id]
    stored = await service.store.get_occurrence(occurrence.id)
    assert stored is not None and stored.state == "posted" and poster.posts == [occurrence.id]


# Each case: a daily schedule's wall-clock time, and the instant it must go out on five local days
# in a row, the clock change on the middle one. In a gap (spring-forward) the time moves on by the
# length of the gap; in a repeated hour (fall-back) it goes out once, the first time.
DST_CASES = {
    "New York springs forward (02:30 is skipped)": (
        "America/New_York",
        "02:30",
        ["2026-03-06T02:30-05:00", "2026-03-07T02:30-05:00", "2026-03-08T03:30-04:00",
         "2026-03-09T02:30-04:00", "2026-03-10T02:30-04:00"],
    ),
    "New York falls back (01:30 happens twice)": (
        "America/New_York",
        "01:30",
        ["2026-10-30T01:30-04:00", "2026-10-31T01:30-04:00", "2026-11-01T01:30-04:00",
         "2026-11-02T01:30-05:00", "2026-11-03T01:30-05:00"],
    ),
    "Berlin springs forward (02:30 is skipped)": (
        "Europe/Berlin",
        "02:30",
        ["2026-03-27T02:30+01:00", "2026-03-28T02:30+01:00", "2026-03-29T03:30+02:00",
         "2026-03-30T02:30+02:00", "2026-03-31T02:30+02:00"],
    ),
    "Berlin falls back (02:30 happens twice)": (
        "Europe/Berlin",
        "02:30",
        ["2026-10-23T02:30+02:00", "2026-10-24T02:30+02:00", "2026-10-25T02:30+02:00",
         "2026-10-26T02:30+01:00", "2026-10-27T02:30+01:00"],
    ),
    "Lord Howe springs forward 30 minutes (02:15 is skipped)": (
        "Australia/Lord_Howe",
        "02:15",
        ["2026-10-02T02:15+10:30", "2026-10-03T02:15+10:30", "2026-10-04T02:45+11:00",
         "2026-10-05T02:15+11:00", "2026-10-06T02:15+11:00"],
    ),
    "Lord Howe falls back 30 minutes (01:45 happens twice)": (
        "Australia/Lord_Howe",
        "01:45",
        ["2026-04-03T01:45+11:00", "2026-04-04T01:45+11:00", "2026-04-05T01:45+11:00",
         "2026-04-06T01:45+10:30", "2026-04-07T01:45+10:30"],
    ),
    "Lord Howe at the very start of its gap": (
        "Australia/Lord_Howe",
        "02:00",
        ["2026-10-02T02:00+10:30", "2026-10-03T02:00+10:30", "2026-10-04T02:30+11:00",
         "2026-10-05T02:00+11:00", "2026-10-06T02:00+11:00"],
    ),
}


@pytest.mark.parametrize("case", list(DST_CASES))
async def test_across_a_clock_change_a_daily_check_in_goes_out_once_a_day_at_the_right_instant(
    service, poster, case: str
) -> None:
    zone_name, at, expected_text = DST_CASES[case]
    zone = ZoneInfo(zone_name)
    expected = [datetime.fromisoformat(text).astimezone(UTC) for text in expected_text]
    first_day = expected[0].astimezone(zone).date()
    start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)
    end = start + timedelta(days=5)
    saved = await service.create_schedule(
        GUILD, CHANNEL, time_text=at, days_text="daily", zone_text=zone_name, now=start
    )
    runner = runner_for(service, poster)
    # The runner ticks every 15 minutes (the UTC clock runs straight through the local jump and
    # through the repeated hour twice), and once more a second before each expected instant.
    moments = {start + timedelta(minutes=15 * step) for step in range(5 * 24 * 4)}
    moments |= {instant - timedelta(seconds=1) for instant in expected}
    posted_at: dict[int, datetime] = {}
    for now in sorted(moments):
        for occurrence_id in (await runner.tick(now)).posted:
            posted_at[occurrence_id] = now
    assert end > expected[-1]
    occurrences = await service.store.schedule_occurrences(saved.schedule.id)
    assert all(o.state == "posted" for o in occurrences)
    assert sorted(o.scheduled_for for o in occurrences) == expected
    assert sorted(posted_at.values()) == expected  # each went out at its instant, not a tick late
    local_days = [instant.astimezone(zone).date() for instant in sorted(posted_at.values())]
    assert local_days == [first_day + timedelta(days=n) for n in range(5)]  # one per local day
    assert len(poster.posts) == 5
