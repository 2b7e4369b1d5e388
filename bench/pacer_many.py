"""Many breathing pacers at once against the fake Discord with rate-limit emulation on.

Starts N private pacers (N members, each with their own ephemeral message edited through
the interaction's webhook) and then N group pacers (one public message in each of N
channels, edited through the channel: these edits count toward the 50 requests/s global
limit). Every pacer runs the same exercise at real speed. For each edit the bench measures
how late it reached Discord compared with the pacer's plan, counted from when the pacer's
first message reached Discord (so every figure includes the one round trip before the
pacer's own clock starts: the "earliest" figure). It prints p50/p99/max lateness per edit
and overall, how many pacers finished, and the 429s and bucket/global violations the fake
counted.

Usage: PYTHONPATH=. python bench/pacer_many.py [--pacers 50] [--exercise box-breathing]
       [--cycles 2] [--only private|group]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.services.exercises import PacerPlan, plan_pacer
from tests.fakediscord.harness import Harness, running_hearth
from tests.fakediscord.journal import Entry

CALLBACK = "POST /interactions/{webhook_id}/{webhook_token}/callback"
WEBHOOK_EDIT = "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
CHANNEL_POST = "POST /channels/{channel_id}/messages"
CHANNEL_EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"


def percentile(values: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile (`share` from 0 to 1) of some values."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def plan_for(hearth: Harness, exercise_id: str, cycles: int) -> PacerPlan:
    """Plan a pacer exactly as the running cog does."""
    cog: Any = hearth.running_bot.get_cog("Exercises")
    exercise = cog.library()[exercise_id]
    timing = cog.pacer_timing
    return plan_pacer(
        exercise.breathing.phases_at(None),
        cycles,
        scale=timing.scale,
        min_interval=timing.min_edit_interval,
        lead_in=timing.lead_in,
    )


def lateness(starts: dict[str, Entry], edits: dict[str, list[Entry]], plan: PacerPlan) -> list[list[float]]:
    """Return, per planned edit, each pacer's lateness in seconds (edits after the plan are ignored)."""
    planned = plan.edit_times()
    per_edit: list[list[float]] = [[] for _ in planned]
    for key, first in starts.items():
        for number, (edit, due) in enumerate(zip(edits.get(key, []), planned, strict=False)):
            per_edit[number].append(edit.at - first.at - due)
    return per_edit


def length_errors(per_edit: list[list[float]]) -> list[list[float]]:
    """Return, per phase shown by edit k (until edit k+1), how much longer or shorter it lasted.

    This is the drift a member feels: a "Hold for 4" that stays 4.1 s is 100 ms long. It does
    not include the round trip before the pacer's clock starts, which the lateness does.
    """
    return [[after - before for before, after in zip(now, then, strict=False)]
            for now, then in itertools.pairwise(per_edit)]


async def wait_for_pacers(hearth: Harness, within: float) -> float:
    """Wait until no pacer is running; return how long that took."""
    cog: Any = hearth.running_bot.get_cog("Exercises")
    began = time.perf_counter()
    await hearth.fake.wait_until(lambda: not cog.runs, timeout=within, what="every pacer to finish")
    return time.perf_counter() - began


async def run_private(hearth: Harness, count: int, exercise: str, cycles: int) -> dict[str, Any]:
    """Start `count` private pacers at once, one per member, and collect their edits."""
    names = [f"breather{n}" for n in range(count)]
    for name in names:
        hearth.add_member(name)
    journal = hearth.fake.journal
    mark = journal.mark
    started = await asyncio.gather(
        *(hearth.actor(name).slash("exercise", name=exercise, cycles=cycles) for name in names)
    )
    assert all(result.ephemeral for result in started)
    plan = plan_for(hearth, exercise, cycles)
    took = await wait_for_pacers(hearth, plan.ends_at + 60)
    starts = {e.params["webhook_token"]: e for e in journal.select(CALLBACK, after=mark)}
    edits: dict[str, list[Entry]] = defaultdict(list)
    # A request answered 429 is sent again; the answered one is what the member sees.
    for entry in journal.select(WEBHOOK_EDIT, after=mark, ok=True):
        if entry.params["webhook_token"] in starts:
            edits[entry.params["webhook_token"]].append(entry)
    finished = sum(
        1 for result in started
        if hearth.fake.message(result.message.id).embeds[0]["description"].startswith("## Done")
    )
    return {"plan": plan, "starts": starts, "edits": edits, "finished": finished, "took": took,
            "after": mark}


async def run_group(hearth: Harness, count: int, exercise: str, cycles: int) -> dict[str, Any]:
    """Start `count` group pacers at once, one per channel, and collect their edits."""
    channels = [await hearth.add_channel(f"breathe-{n}") for n in range(count)]
    journal = hearth.fake.journal
    mark = journal.mark
    answers = await asyncio.gather(
        *(hearth.actor("mod", channel).slash("exercise", name=exercise, group=True, cycles=cycles)
          for channel in channels)
    )
    await asyncio.gather(*(answer.reply() for answer in answers))
    plan = plan_for(hearth, exercise, cycles)
    took = await wait_for_pacers(hearth, plan.ends_at + 60)
    ids = {str(channel.id) for channel in channels}
    starts = {e.params["channel_id"]: e for e in journal.select(CHANNEL_POST, after=mark, ok=True)
              if e.params["channel_id"] in ids}
    edits: dict[str, list[Entry]] = defaultdict(list)
    for entry in journal.select(CHANNEL_EDIT, after=mark, ok=True):
        if entry.params["channel_id"] in ids:
            edits[entry.params["channel_id"]].append(entry)
    finished = 0
    for channel in channels:
        posted = hearth.fake.last_message(channel)
        if posted is not None and posted.embeds[0]["description"].startswith("## Done"):
            finished += 1
    return {"plan": plan, "starts": starts, "edits": edits, "finished": finished, "took": took,
            "after": mark}


def report(kind: str, count: int, outcome: dict[str, Any], hearth: Harness) -> None:
    """Print one scenario's figures."""
    plan: PacerPlan = outcome["plan"]
    per_edit = lateness(outcome["starts"], outcome["edits"], plan)
    every = [value for values in per_edit for value in values]
    lengths = length_errors(per_edit)
    every_length = [abs(value) for values in lengths for value in values]
    after = outcome["after"]
    entries = hearth.fake.journal.select(after=after)
    limited = sum(1 for e in entries if e.status == 429)
    failed = sum(1 for e in entries if e.status >= 400 and e.status != 429)
    print(f"\n{kind}: {count} pacers, {plan.cycles} rounds, {len(plan.edit_times())} edits each, "
          f"{outcome['finished']}/{count} finished ('Done') in {outcome['took']:.1f} s")
    print("  edit  due (s)  late p50/p99/max (ms)  phase length error p50/p99 (ms)  samples")
    for number, (due, values) in enumerate(zip(plan.edit_times(), per_edit, strict=True), start=1):
        if not values:
            continue
        late = "/".join(f"{v * 1000:.0f}" for v in (percentile(values, 0.5), percentile(values, 0.99),
                                                    max(values)))
        length = ""
        if number <= len(lengths) and lengths[number - 1]:
            errors = lengths[number - 1]
            length = f"{percentile(errors, 0.5) * 1000:+.0f}/{percentile(errors, 0.99) * 1000:+.0f}"
        print(f"  {number:>4}  {due:>7.1f}  {late:>21}  {length:>31}  {len(values):>7}")
    if every:
        p50, p99 = percentile(every, 0.5) * 1000, percentile(every, 0.99) * 1000
        print(f"  all edits: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(every) * 1000:.0f} ms late, "
              f"earliest {min(every) * 1000:.0f} ms")
    if every_length:
        print(f"  phase lengths: off by p50 {percentile(every_length, 0.5) * 1000:.0f} ms, "
              f"p99 {percentile(every_length, 0.99) * 1000:.0f} ms, max {max(every_length) * 1000:.0f} ms")
    print(f"  requests answered 429: {limited}; other errors: {failed}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pacers", type=int, default=50)
    parser.add_argument("--exercise", default="box-breathing")
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--only", choices=("private", "group"), default=None)
    args = parser.parse_args()

    async with running_hearth(Path(tempfile.mkdtemp()), rate_limits=True) as hearth:
        limiter = hearth.fake.ratelimits
        print(f"{args.pacers} pacers of {args.exercise} at real speed; rate-limit emulation on "
              "(5 edits per 5 s per message webhook or channel, 50 requests/s globally)")
        if args.only in (None, "private"):
            before = limiter.violation_count
            outcome = await run_private(hearth, args.pacers, args.exercise, args.cycles)
            report("private (ephemeral, webhook edits)", args.pacers, outcome, hearth)
            print(f"  violations: {limiter.violation_count - before}")
        if args.only in (None, "group"):
            before = limiter.violation_count
            outcome = await run_group(hearth, args.pacers, args.exercise, args.cycles)
            report("group (public, channel edits)", args.pacers, outcome, hearth)
            print(f"  violations: {limiter.violation_count - before}")
        print(f"\nviolations by scope, whole run: {limiter.violations_by_scope() or 'none'}")
        print(f"problems: {hearth.problems() or 'none'}")


if __name__ == "__main__":
    asyncio.run(main())
