"""Start-up with 10,000 check-in schedules in the database: how long until the bot is ready to serve.

The bench fills a database with N schedules (one per guild, at spread-out times in several
zones), then starts the real bot against the fake Discord and measures:

- the check-ins cog's own start-up (`cog_load`: registering the persistent buttons, giving any
  schedule without a next run one, and pointing the one wake-up job at the earliest due time);
- the whole start, from `start()` to ready, next to the same start with an empty database;
- one tick with nothing due, timed on its own after start-up has settled (it only looks).

Usage: PYTHONPATH=. python bench/checkin_startup.py [--schedules 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakediscord.harness import running_hearth

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
NOW = datetime(2026, 6, 1, 8, tzinfo=UTC)


async def fill(database: Path, count: int) -> None:
    """Write `count` schedules straight into a migrated database, as if made over months."""
    from bot.services.schedules import Recurrence, parse_time_of_day
    from bot.storage.db import Database, to_db_time

    db = await Database.open(database)
    await db.migrate()
    rows = []
    for index in range(count):
        zone = ZONES[index % len(ZONES)]
        at = f"{index % 24:02d}:{(index * 7) % 60:02d}"
        recurrence = Recurrence(parse_time_of_day(at), frozenset(range(7)), ZoneInfo(zone))
        rows.append((
            10_000_000 + index, 20_000_000 + index, f"Check-in {index}", at, "0123456", zone, 720,
            to_db_time(recurrence.next_after(NOW)), to_db_time(NOW - timedelta(days=30)), to_db_time(NOW),
        ))
    await db.executemany(
        "INSERT INTO checkin_schedules (guild_id, channel_id, name, local_time, weekdays, timezone, "
        "window_minutes, next_run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    await db.close()


async def one_start(count: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    async with running_hearth(Path(tempfile.mkdtemp()), start=False) as hearth:
        hearth.clock.set(NOW)
        if count:
            await fill(hearth.database_path, count)
        started = time.perf_counter()
        bot = await hearth.start()
        timings["ready"] = time.perf_counter() - started
        cog: Any = bot.get_cog("Checkins")
        timings["cog_load"] = cog.load_seconds
        await cog.startup_task  # the tick it runs after ready (often done before we get here)
        started = time.perf_counter()
        await cog.runner.tick(NOW)
        timings["idle_tick"] = time.perf_counter() - started
        job = bot.scheduler.get_job("checkin:wakeup") if bot.scheduler else None
        timings["jobs"] = len(bot.scheduler.get_jobs()) if bot.scheduler else 0
        timings["wakeup_in_s"] = (
            (job.next_run_time - datetime.now(UTC)).total_seconds() if job and job.next_run_time else -1
        )
        assert bot.db is not None
        timings["schedules"] = await bot.db.fetchval("SELECT COUNT(*) FROM checkin_schedules")
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for count in (0, args.schedules):
        results = [await one_start(count) for _ in range(args.runs)]
        best = min(results, key=lambda r: r["ready"])
        print(
            f"{int(best['schedules']):>6} schedules: ready in {best['ready'] * 1000:.0f} ms "
            f"(best of {args.runs}; check-ins cog_load {best['cog_load'] * 1000:.1f} ms, "
            f"a tick with nothing due {best['idle_tick'] * 1000:.1f} ms, "
            f"{int(best['jobs'])} scheduler jobs in all, check-ins' wake-up "
            + (f"in {best['wakeup_in_s'] / 60:.0f} min)" if best["wakeup_in_s"] >= 0 else "not needed)")
        )


if __name__ == "__main__":
    asyncio.run(main())
