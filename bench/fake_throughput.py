"""How fast the fake Discord and the harness go, so area benchmarks know what is the fake's cost.

Runs the real bot against the fake with rate-limit emulation on and measures:
- interactions: N `/about` commands from many members at once (callback round trips);
- channel sends: messages spread over channels, paced by the per-channel buckets and the
  global limit (violations are counted; discord.py does not pace the global limit itself).

Usage: PYTHONPATH=. python bench/fake_throughput.py [--interactions 2000] [--sends 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import discord

from tests.fakediscord.harness import Harness, running_hearth


async def bench_interactions(hearth: Harness, count: int, concurrency: int) -> None:
    for index in range(concurrency):
        hearth.add_member(f"member{index}")
    actors = [hearth.actor(f"member{i}") for i in range(concurrency)]
    latencies: list[float] = []
    started = time.perf_counter()
    done = 0
    while done < count:
        batch = min(concurrency, count - done)
        results = await asyncio.gather(*(actors[i].slash("about", timeout=30) for i in range(batch)))
        latencies.extend(r.latency or 0.0 for r in results)
        done += batch
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(
        f"interactions: {count} /about in {elapsed:.2f} s = {count / elapsed:.0f}/s "
        f"(concurrency {concurrency})"
    )
    print(
        f"  initial response latency: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


async def bench_sends(hearth: Harness, count: int) -> None:
    bot = hearth.running_bot
    names = list(hearth.channels)
    extra = [await hearth.add_channel(f"bench-{i}") for i in range(20)]
    targets = [bot.get_channel(hearth.channels[n].id) for n in names] + [bot.get_channel(c.id) for c in extra]
    mark = hearth.fake.journal.mark
    started = time.perf_counter()

    async def send(index: int) -> None:
        channel = targets[index % len(targets)]
        assert isinstance(channel, discord.TextChannel)
        await channel.send(f"bench message {index}")

    await asyncio.gather(*(send(i) for i in range(count)))
    elapsed = time.perf_counter() - started
    sent = hearth.fake.journal.select("POST /channels/{channel_id}/messages", after=mark)
    limited = sum(1 for e in sent if e.status == 429)
    print(
        f"channel sends: {count} messages over {len(targets)} channels in {elapsed:.2f} s "
        f"({len(sent)} requests, {limited} answered 429)"
    )
    print(f"  rate-limit violations: {dict(hearth.fake.ratelimits.violations_by_scope()) or 'none'}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--sends", type=int, default=200)
    args = parser.parse_args()
    started = time.perf_counter()
    async with running_hearth(Path(tempfile.mkdtemp()), rate_limits=True) as hearth:
        print(f"start-up (fake + bot ready): {time.perf_counter() - started:.2f} s")
        await bench_interactions(hearth, args.interactions, args.concurrency)
        await bench_sends(hearth, args.sends)
        problems = [p for p in hearth.problems() if "rate limited" not in p]
        print(f"journal entries: {len(hearth.fake.journal)}; problems: {problems or 'none'}")


if __name__ == "__main__":
    asyncio.run(main())
