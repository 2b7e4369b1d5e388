"""2,000 guilds' check-ins due in the same minute, posted against the fake Discord's 50 requests/s limit.

Each guild has one channel and one schedule at 09:00 UTC. The bench moves the bot's clock
to 09:00, runs one tick (what the scheduler's wake-up job does) and measures how long it
takes until every check-in is posted and confirmed. It checks that every check-in is posted
exactly once, counts the 429s the fake had to give, and finds the busiest second on arrival
at the fake (a sliding window over the requests' arrival times). The global limit is 50
requests a second, so 2,000 posts cannot take less than 40 seconds.

It exits with status 1 if a check-in is missing or doubled, if any second held more than 50
requests, if the fake saw a rate-limit violation or answered 429, or if the burst took more
than 10% over 40 seconds. The load on the machine is printed with the figures.

Usage: PYTHONPATH=. python bench/checkin_burst.py [--guilds 2000] [--rate 48] [--workers 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from tests.fakediscord.harness import running_hearth

NINE = datetime(2026, 6, 1, 9, tzinfo=UTC)
GLOBAL_LIMIT = 50
ALLOWED_OVER_BOUND = 0.10


def busiest_second(arrivals: list[float]) -> int:
    """Return the most requests that arrived within any one second (a sliding window)."""
    ordered = sorted(arrivals)
    most = 0
    end = 0
    for start_index, start in enumerate(ordered):
        while end < len(ordered) and ordered[end] < start + 1.0:
            end += 1
        most = max(most, end - start_index)
    return most


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=None, help="posts_per_second (default: the config's)")
    parser.add_argument("--workers", type=int, default=None, help="post_workers (default: the config's)")
    args = parser.parse_args()
    overrides: dict[str, object] = {}
    if args.rate is not None:
        overrides["posts_per_second"] = args.rate
    if args.workers is not None:
        overrides["post_workers"] = args.workers
    config = {"checkins": overrides} if overrides else None

    async with running_hearth(Path(tempfile.mkdtemp()), rate_limits=True, config=config) as hearth:
        bot = hearth.running_bot
        cog = bot.get_cog("Checkins")
        assert cog is not None
        if cog.startup_task is not None:  # type: ignore[attr-defined]
            await cog.startup_task  # type: ignore[attr-defined]
        hearth.clock.set(datetime(2026, 6, 1, 8, tzinfo=UTC))
        world = hearth.fake.world
        channel_ids = []
        for index in range(args.guilds):
            guild = world.add_guild(f"Bench guild {index}")
            channel_ids.append(world.add_text_channel(guild, "checkins").id)
        service = cog.service  # type: ignore[attr-defined]
        for channel_id in channel_ids:
            guild_id = world.channels[channel_id].guild_id
            await service.create_schedule(
                guild_id, channel_id, time_text="09:00", days_text="daily", zone_text="UTC",
                now=hearth.clock(),
            )
        settings = bot.config.checkins
        load = os.getloadavg()[0]
        print(
            f"{args.guilds} check-ins due at 09:00; pacing at {settings.posts_per_second:g} requests/s "
            f"with {settings.post_workers} workers; the fake allows {GLOBAL_LIMIT} requests/s; "
            f"load average {load:.1f} on {os.cpu_count()} cores"
        )

        mark = hearth.fake.journal.mark
        hearth.clock.set(NINE)
        started = time.perf_counter()
        started_monotonic = time.monotonic()
        report = await cog.runner.tick(NINE)  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - started

        sends = hearth.fake.journal.select("POST /channels/{channel_id}/messages", after=mark)
        ok = [e for e in sends if e.status == 200]
        per_channel = Counter(int(e.params["channel_id"]) for e in ok)
        exactly_once = all(per_channel.get(c) == 1 for c in channel_ids) and len(ok) == len(channel_ids)
        limited = sum(1 for e in sends if e.status == 429)
        rows = await bot.db.fetchall(  # type: ignore[union-attr]
            "SELECT state, COUNT(*) FROM checkin_occurrences GROUP BY state"
        )
        bound = args.guilds / GLOBAL_LIMIT
        arrivals = [e.at for e in sends]
        busiest = busiest_second(arrivals)
        span = max(arrivals) - min(arrivals) if len(arrivals) > 1 else 0.0
        over = elapsed / bound - 1
        violations = dict(hearth.fake.ratelimits.violations_by_scope())
        print(f"posted {len(report.posted)} check-ins in {elapsed:.1f} s (lower bound {bound:.0f} s at "
              f"{GLOBAL_LIMIT}/s; {over * 100:+.1f}% over it)")
        print(f"every channel got exactly one check-in: {exactly_once} "
              f"({len(per_channel)} channels, {len(ok)} successful posts, {len(sends)} requests)")
        achieved = (len(arrivals) - 1) / span if span else 0.0
        first = (min(arrivals) - started_monotonic) * 1000 if arrivals else 0.0
        print(f"first request after {first:.0f} ms; first to last request: {span:.1f} s "
              f"({achieved:.1f} requests/s); the busiest second on arrival held {busiest} requests")
        print(f"requests answered 429: {limited}; fake's rate-limit violations: {violations or 'none'}")
        print(f"occurrence states: {dict((r[0], r[1]) for r in rows)}")
        problems = list(hearth.problems())
        if problems:
            print("problems:", *problems[:5], sep="\n  ")
        failures = []
        if not exactly_once:
            failures.append("not every check-in was posted exactly once")
        if busiest > GLOBAL_LIMIT:
            failures.append(f"a second held {busiest} requests (more than {GLOBAL_LIMIT})")
        if limited or violations:
            failures.append("the fake had to refuse requests")
        if over > ALLOWED_OVER_BOUND:
            failures.append(f"{over * 100:.1f}% over the bound (more than {ALLOWED_OVER_BOUND * 100:.0f}%)")
        if problems:
            failures.append("the harness saw problems")
        for failure in failures:
            print(f"FAILED: {failure}")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
