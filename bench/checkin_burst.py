"""2,000 guilds' check-ins due in the same minute, posted against the fake Discord's 50 requests/s limit.

Each guild has one channel and one schedule at 09:00 UTC. The bench moves the bot's clock
to 09:00, runs one tick (what the scheduler's wake-up job does) and measures how long it
takes until every check-in is posted and confirmed. It checks that every check-in is posted
exactly once and counts the 429s the fake had to give (the global limit is 50 requests a
second, so 2,000 posts cannot take less than 40 seconds).

Usage: PYTHONPATH=. python bench/checkin_burst.py [--guilds 2000] [--rate 48]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from tests.fakediscord.harness import running_hearth

NINE = datetime(2026, 6, 1, 9, tzinfo=UTC)


async def main() -> None:
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
        print(
            f"{args.guilds} check-ins due at 09:00; pacing at {settings.posts_per_second:g} requests/s "
            f"with {settings.post_workers} workers; the fake allows 50 requests/s"
        )

        mark = hearth.fake.journal.mark
        hearth.clock.set(NINE)
        started = time.perf_counter()
        report = await cog.runner.tick(NINE)  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - started

        sends = hearth.fake.journal.select("POST /channels/{channel_id}/messages", after=mark)
        ok = [e for e in sends if e.status == 200]
        per_channel = Counter(int(e.params["channel_id"]) for e in ok)
        exactly_once = all(per_channel.get(c) == 1 for c in channel_ids)
        limited = sum(1 for e in sends if e.status == 429)
        rows = await bot.db.fetchall(  # type: ignore[union-attr]
            "SELECT state, COUNT(*) FROM checkin_occurrences GROUP BY state"
        )
        bound = args.guilds / 50
        arrivals = sorted(e.at for e in sends)
        busiest = max(
            (sum(1 for t in arrivals[i : i + 60] if t < start + 1.0) for i, start in enumerate(arrivals)),
            default=0,
        )
        span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
        print(f"posted {len(report.posted)} check-ins in {elapsed:.1f} s (lower bound {bound:.0f} s at 50/s; "
              f"{(elapsed / bound - 1) * 100:+.1f}% over it)")
        print(f"every channel got exactly one check-in: {exactly_once} "
              f"({len(per_channel)} channels, {len(ok)} successful posts, {len(sends)} requests)")
        achieved = (len(arrivals) - 1) / span if span else 0.0
        print(f"first to last request: {span:.1f} s ({achieved:.1f} requests/s); "
              f"the busiest second held {busiest} requests")
        print(f"requests answered 429: {limited}; fake's rate-limit violations: "
              f"{dict(hearth.fake.ratelimits.violations_by_scope()) or 'none'}")
        print(f"occurrence states: {dict((r[0], r[1]) for r in rows)}")
        problems = hearth.problems()
        if problems:
            print("problems:", *problems[:5], sep="\n  ")


if __name__ == "__main__":
    asyncio.run(main())
