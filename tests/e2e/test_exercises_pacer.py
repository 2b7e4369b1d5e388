"""The breathing pacer through the fake Discord: the edit sequence, its timing, Stop and rate limits."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from bot.cogs.exercises import PacerTiming
from tests.fakediscord.actors import Actor, InteractionResult
from tests.fakediscord.harness import Harness

CALLBACK = "POST /interactions/{webhook_id}/{webhook_token}/callback"
WEBHOOK_EDIT = "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
CHANNEL_EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"


def _use_timing(hearth: Harness, timing: PacerTiming) -> None:
    # The bot loads its cogs as fresh modules, so the cog is found by name, not by class.
    cog: Any = hearth.bot.get_cog("Exercises")
    cog.pacer_timing = timing


def _heading(payload: dict[str, Any]) -> str:
    return payload["embeds"][0]["description"].split("\n")[0]


async def _wait_for_heading(hearth: Harness, message_id: int, heading: str, within: float = 5.0) -> None:
    def shows() -> bool:
        embeds = hearth.fake.message(message_id).embeds
        return bool(embeds) and embeds[0].get("description", "").startswith(heading)

    await hearth.fake.wait_until(shows, timeout=within, what=f"the pacer to show {heading!r}")


async def _first_breath(hearth: Harness, alice: Actor, name: str) -> InteractionResult:
    """Start a breathing exercise and wait until its pacer shows the first breath in."""
    started = await alice.slash("exercise", name=name)
    await _wait_for_heading(hearth, started.message.id, "## Breathe in for 4")
    return started


async def test_box_breathing_edits_one_private_message_at_each_phase_on_time(hearth: Harness) -> None:
    # Every duration is a tenth of real time: each 4-second phase lasts 0.4 s.
    _use_timing(hearth, PacerTiming(scale=0.1, min_edit_interval=0.1))
    journal = hearth.fake.journal
    mark = journal.mark
    started = await hearth.actor("alice").slash("exercise", name="box-breathing", cycles=2)

    assert started.ephemeral
    assert started.embed["title"] == "Box breathing"
    assert started.embed["description"].startswith("## Get comfortable")
    assert "2 rounds, about 32 s." in started.embed["description"]
    assert started.embed["footer"]["text"].startswith(
        "If you feel lightheaded or dizzy, stop and breathe normally"
    )
    assert [b["label"] for b in started.message.buttons] == ["Stop"]

    await _wait_for_heading(hearth, started.message.id, "## Done")
    edits = journal.select(WEBHOOK_EDIT, after=mark)
    assert [_heading(e.json) for e in edits] == [
        "## Breathe in for 4", "## Hold for 4", "## Breathe out for 4", "## Hold for 4",
        "## Breathe in for 4", "## Hold for 4", "## Breathe out for 4", "## Hold for 4",
        "## Done",
    ]
    rounds = [e.json["embeds"][0]["description"].split("\n")[2] for e in edits[:8]]
    assert rounds == ["Round 1 of 2  ●○"] * 4 + ["Round 2 of 2  ●●"] * 4
    # The message keeps its safety note throughout, and the finished pacer has no Stop button left.
    assert all("lightheaded" in e.json["embeds"][0]["footer"]["text"] for e in edits)
    assert edits[-1].json["components"] == []
    assert hearth.fake.message(started.message.id).buttons == []

    # Timing: a 3 s lead-in (0.3 s here), then a phase every 4 s (0.4 s), then the end. The
    # pacer keeps to absolute times, so a slow request never pushes the later ones back.
    callback = journal.select(CALLBACK, after=mark)[0]
    offsets = [e.at - callback.at for e in edits]
    expected = [0.3 + 0.4 * n for n in range(9)]
    for got, want in zip(offsets, expected, strict=True):
        assert want - 0.005 <= got <= want + 0.2, (offsets, expected)


async def test_stop_ends_the_pacer_at_once_and_nothing_is_edited_afterwards(hearth: Harness) -> None:
    _use_timing(hearth, PacerTiming(scale=0.1, min_edit_interval=0.1))
    journal = hearth.fake.journal
    alice = hearth.actor("alice")
    started = await _first_breath(hearth, alice, "breathing-4-7-8")

    stopped = await alice.click(started, label="Stop")
    assert stopped.type == 7
    assert stopped.embed["description"].startswith("## Stopped\nBreathe normally and take your time.")
    assert stopped.message.buttons == []
    after_stop = journal.mark
    await asyncio.sleep(1.2)  # longer than the next two phases (0.7 s and 0.8 s here)
    assert journal.select(WEBHOOK_EDIT, after=after_stop) == []
    assert hearth.fake.message(started.message.id).embeds[0]["description"].startswith("## Stopped")


async def test_stopped_stays_the_last_word_when_an_edit_on_its_way_is_slow(hearth: Harness) -> None:
    _use_timing(hearth, PacerTiming(scale=0.1, min_edit_interval=0.1))
    journal = hearth.fake.journal
    alice = hearth.actor("alice")
    started = await _first_breath(hearth, alice, "box-breathing")
    slow = hearth.fake.faults.delay(WEBHOOK_EDIT, seconds=0.8)
    await hearth.fake.wait_until(lambda: slow.hits == 1, timeout=2, what="a slow pacer edit")

    stopped = await alice.click(started, label="Stop")
    assert stopped.type == 7 and stopped.latency < 0.5
    assert stopped.embed["description"].startswith("## Stopped")
    # The slow edit lands over "Stopped"; "Stopped" comes back right after it.
    landed = await journal.wait_for(lambda e: e.fault == slow.name, timeout=3)
    assert _heading(landed.json) == "## Hold for 4"
    await _wait_for_heading(hearth, started.message.id, "## Stopped", within=2)
    await asyncio.sleep(0.5)  # longer than a phase: nothing else is edited
    last = journal.select(WEBHOOK_EDIT)[-1]
    assert last.seq > landed.seq and _heading(last.json).startswith("## Stopped")
    shown = hearth.fake.message(started.message.id)
    assert shown.embeds[0]["description"].startswith("## Stopped") and shown.buttons == []


async def test_stop_answers_at_once_even_while_a_slow_edit_is_on_its_way(hearth: Harness) -> None:
    # Real pacing between edits; only the phases are shortened. The edit on its way takes 2.5 s,
    # longer than a member should wait to see their click do something.
    _use_timing(hearth, PacerTiming(scale=0.1))
    alice = hearth.actor("alice")
    started = await alice.slash("exercise", name="box-breathing")
    slow = hearth.fake.faults.delay(WEBHOOK_EDIT, seconds=2.5)
    await hearth.fake.wait_until(lambda: slow.hits == 1, timeout=4, what="a slow pacer edit")

    stopped = await alice.click(started, label="Stop")
    assert stopped.type == 7 and stopped.latency < 0.5, stopped.latency
    assert stopped.embed["description"].startswith("## Stopped")
    assert stopped.message.buttons == []
    # The late edit lands, and "Stopped" is put back over it.
    landed = await hearth.fake.journal.wait_for(lambda e: e.fault == slow.name, timeout=4)
    await _wait_for_heading(hearth, started.message.id, "## Stopped", within=2)
    assert hearth.fake.journal.select(WEBHOOK_EDIT)[-1].seq > landed.seq


async def test_the_rate_option_offers_exactly_the_rates_paced_breathing_uses(hearth: Harness) -> None:
    command = next(c for c in hearth.fake.commands(hearth.guild) if c["name"] == "exercise")
    rate = next(o for o in command["options"] if o["name"] == "rate")
    paced = hearth.bot.content.parts["exercises"]["paced-breathing"].breathing
    assert (rate["min_value"], rate["max_value"]) == (paced.min_rate, paced.max_rate) == (4, 12)
    assert "4 to 12" in rate["description"]


async def test_breathing_says_which_options_it_did_not_use_as_given(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    box = await alice.slash("exercise", name="box-breathing", rate=6)
    assert "Box breathing keeps its own rhythm, so `rate` isn't used here" in box.embed["description"]
    assert "4 rounds, about 1 min 4 s." in box.embed["description"]
    many = await alice.slash("exercise", name="breathing-4-7-8", cycles=30)
    assert "One session holds up to 8 rounds at this pace, so this one has 8." in many.embed["description"]
    assert "8 rounds" in many.embed["description"]
    paced = await alice.slash("exercise", name="paced-breathing", rate=6, cycles=3)
    assert "used here" not in paced.embed["description"] and "holds up to" not in paced.embed["description"]


async def test_paced_breathing_follows_the_chosen_rate(hearth: Harness) -> None:
    _use_timing(hearth, PacerTiming(scale=0.05, min_edit_interval=0.1))
    started = await hearth.actor("bob").slash("exercise", name="paced-breathing", rate=10, cycles=1)
    assert "1 round, about 6 s." in started.embed["description"]
    await _wait_for_heading(hearth, started.message.id, "## Done")
    edits = hearth.fake.edits_of(started.message.id)
    headings = [_heading(e) for e in edits if e.get("embeds")]
    assert "## Breathe in for about 2" in headings and "## Breathe out for about 4" in headings


def _ten_times_faster(hearth: Harness, edit_route: str) -> int:
    # Discord's 5 edits per 5 s becomes 5 per 0.5 s, and the pacer's 2 s gap 0.2 s.
    hearth.fake.ratelimits.set_bucket(edit_route, 5, 0.5)
    _use_timing(hearth, PacerTiming(scale=0.02, min_edit_interval=0.2, lead_in=3.0))
    return hearth.fake.journal.mark


def _assert_paced(times: list[float]) -> None:
    # Arrival times carry the loopback's jitter, so allow a little slack: the pacer sends its
    # requests at least 0.2 s apart, and never more than 3 in any 0.5 s (the limit is 5).
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.2 - 0.05, gaps
    busiest = max(sum(1 for t in times if start <= t < start + 0.45) for start in times)
    assert busiest <= 3, times


@pytest.mark.hearth_options(rate_limits=True)
async def test_short_phases_are_merged_so_edits_stay_well_inside_the_rate_limit(hearth: Harness) -> None:
    # Discord allows 5 edits per 5 s on an interaction's message. This test runs ten times
    # faster than real life: 5 edits per 0.5 s, and the pacer's 2 s gap between edits becomes
    # 0.2 s. Paced breathing at 12 a minute has phases of 2 and 3 s (0.04 and 0.06 s here),
    # far shorter than the gap, so they must be merged.
    mark = _ten_times_faster(hearth, WEBHOOK_EDIT)
    journal = hearth.fake.journal
    started = await hearth.actor("alice").slash("exercise", name="paced-breathing", rate=12, cycles=20)
    await _wait_for_heading(hearth, started.message.id, "## Done", within=10)

    edits = journal.select(WEBHOOK_EDIT, after=mark)
    assert all(e.status == 200 for e in edits)
    assert hearth.fake.ratelimits.violation_count == 0
    _assert_paced([journal.select(CALLBACK, after=mark)[0].at, *(e.at for e in edits)])
    # 40 phases in 2 s, shown in about ten messages, each naming the phases it covers.
    assert 8 <= len(edits) <= 12
    assert _heading(edits[0].json).startswith(
        "## Breathe in for 2, then breathe out for 3, then breathe in for 2"
    )


@pytest.mark.hearth_options(rate_limits=True)
async def test_a_group_pacer_keeps_inside_the_channel_edit_limit(hearth: Harness) -> None:
    # A group pacer edits a public channel message: Discord allows 5 edits per 5 s per channel.
    # Ten times faster here, as above: 5 per 0.5 s, and the pacer's 2 s gap becomes 0.2 s.
    mark = _ten_times_faster(hearth, CHANNEL_EDIT)
    journal = hearth.fake.journal
    general = hearth.channels["general"]
    answer = await hearth.actor("mod").slash(
        "exercise", name="paced-breathing", group=True, rate=12, cycles=20
    )
    await answer.reply()
    posted = hearth.fake.last_message(general)
    assert posted is not None and not posted.ephemeral
    await _wait_for_heading(hearth, posted.id, "## Done", within=10)

    edits = journal.select(CHANNEL_EDIT, after=mark, message_id=posted.id)
    assert 8 <= len(edits) <= 12 and all(e.status == 200 for e in edits)
    assert [e for e in journal.select(after=mark) if e.status == 429] == []
    assert hearth.fake.ratelimits.violation_count == 0
    sent = journal.select("POST /channels/{channel_id}/messages", after=mark, channel_id=general.id)
    _assert_paced([sent[0].at, *(e.at for e in edits)])


async def test_a_restart_tells_the_member_their_pacer_stopped(hearth: Harness) -> None:
    _use_timing(hearth, PacerTiming(scale=0.2, min_edit_interval=0.1))
    alice = hearth.actor("alice")
    started = await _first_breath(hearth, alice, "box-breathing")
    await hearth.restart()
    shown = hearth.fake.message(started.message.id)
    assert shown.embeds[0]["description"].startswith(
        "## Stopped\nHearth is restarting, so this session stopped."
    )
    assert shown.buttons == []


async def test_a_second_pacer_replaces_the_first(hearth: Harness) -> None:
    _use_timing(hearth, PacerTiming(scale=0.2, min_edit_interval=0.1))
    alice = hearth.actor("alice")
    first = await alice.slash("exercise", name="box-breathing")
    second = await alice.slash("exercise", name="breathing-4-7-8")
    await _wait_for_heading(hearth, first.message.id, "## Stopped\nA new breathing session started")
    await _wait_for_heading(hearth, second.message.id, "## Breathe in for 4")
    stale = await hearth.actor("alice").click(hearth.fake.message(second.message.id), label="Stop")
    assert stale.embed["description"].startswith("## Stopped")


async def test_stop_after_a_restart_tidies_up_a_group_pacer(hearth: Harness) -> None:
    _use_timing(hearth, PacerTiming(scale=0.2, min_edit_interval=0.1))
    await (await hearth.actor("mod").slash("exercise", name="box-breathing", group=True)).reply()
    posted = hearth.fake.last_message(hearth.channels["general"])
    assert posted is not None
    await hearth.restart(hard=True)
    clicked = await hearth.actor("bob").click(hearth.fake.message(posted.id), label="Stop")
    assert clicked.embed["description"].startswith("## This breathing session has ended")
    assert [b["label"] for b in clicked.message.buttons] == ["Do it on my own"]
