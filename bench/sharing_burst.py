"""A burst of anonymous shares: how fast members are answered and the posts drain.

Runs the real bot against the fake Discord with rate-limit emulation on. N members each
open /share and submit the form at the same moment. Measured: how quickly each member's
interaction was acknowledged (Discord allows 3 s), how long until every share was posted
with its thread, and how many requests hit an exhausted rate-limit bucket.

Discord's buckets (5 messages per 5 s per channel, the same for threads) and Hearth's
per-channel pacer (`[sharing] channel_window_seconds`) are sped up by `--speedup` so the
run takes seconds; the drain time at Discord's real pace is one 5-second window per 5
shares plus what the answers took.

Usage: PYTHONPATH=. python bench/sharing_burst.py [--shares 200] [--speedup 100]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import time
from pathlib import Path

from tests.fakediscord.harness import running_hearth

TEXT = "Today I told my sister something I had kept to myself for years, and she simply listened."
FIELD = "What would you like to share?"
BUCKETED = (
    "POST /channels/{channel_id}/messages",
    "POST /channels/{channel_id}/messages/{message_id}/threads",
)


async def run(shares: int, speedup: float) -> None:
    config = {"sharing": {"channel_window_seconds": 5.0 / speedup}}
    async with running_hearth(Path(tempfile.mkdtemp()), config=config, rate_limits=True) as hearth:
        limits = hearth.fake.ratelimits
        limits.enable(global_limit=50, global_per=1.0 / speedup)
        for route in BUCKETED:
            limits.set_bucket(route, 5, 5.0 / speedup)
        channels = hearth.channels
        setup = await hearth.actor("mod").slash(
            "setup", sharing_channel=channels["sharing"], review_channel=channels["review"]
        )
        await setup.reply()
        members = [hearth.add_member(f"sharer{n:04d}") for n in range(shares)]
        opened = await asyncio.gather(*(hearth.actor(m).slash("share", timeout=60) for m in members))
        started = time.perf_counter()
        submitted = await asyncio.gather(
            *(o.submit({FIELD: f"{n}: {TEXT}"}, wait=True) for n, o in enumerate(opened))
        )
        acknowledged = time.perf_counter() - started
        await asyncio.gather(*(s.reply(timeout=600) for s in submitted))
        drained = time.perf_counter() - started
        posted = len(hearth.fake.messages(channels["sharing"]))
        threads = len(hearth.fake.world.threads_of(channels["sharing"]))
        latencies = sorted(s.latency or 0.0 for s in submitted)
        print(f"sharing burst: {shares} members submit /share at once (buckets {speedup:g}x faster)")
        print(
            f"  acknowledged: all within {acknowledged:.2f} s; latency median "
            f"{statistics.median(latencies) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms (limit 3000)"
        )
        # The pacer lets 5 messages (and 5 threads) into a channel per window, each window counted
        # from Discord's answers, so the drain is one window per 5 shares plus the answers' delays;
        # at Discord's pace only the window grows.
        windows = math.ceil(shares / 5)
        overhead = max(drained - windows * 5.0 / speedup, 0.0)
        print(
            f"  posted: {posted} shares and {threads} threads in {drained:.2f} s "
            f"(at Discord's real pace: about {windows * 5.0 + overhead:.0f} s, {windows} windows of 5 s)"
        )
        print(f"  rate-limit violations: {limits.violation_count} {dict(limits.violations_by_scope())}")
        print(f"  problems: {hearth.problems() or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", type=int, default=200)
    parser.add_argument("--speedup", type=float, default=100.0)
    args = parser.parse_args()
    asyncio.run(run(args.shares, args.speedup))


if __name__ == "__main__":
    main()
