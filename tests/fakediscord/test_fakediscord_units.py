"""Unit tests of the fake's own rules: Discord's limits, rate-limit windows, faults, the journal."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakediscord import validation
from tests.fakediscord.faults import FaultPlan
from tests.fakediscord.journal import Entry, Journal
from tests.fakediscord.ratelimit import RateLimiter
from tests.fakediscord.world import Overwrite, Perm, World


def _errors(check: object, *args: object, **kwargs: object) -> validation.FormErrors:
    errors = validation.FormErrors()
    check(*args, errors, **kwargs)  # type: ignore[operator]
    return errors


def _entry(route: str, seq: int = 0, **params: str) -> Entry:
    method, path = route.split(" ", 1)
    return Entry(seq=seq, at=0.0, method=method, path=path, route=route, params=params, query={}, json=None)


def test_message_limits() -> None:
    assert not _errors(validation.check_message, {"content": "x" * 2000})
    errors = _errors(validation.check_message, {"content": "x" * 2001})
    assert errors.body()["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"

    embed = {"title": "t", "description": "d" * 4097, "fields": [{"name": "n", "value": ""}]}
    problems = {path for path, _, _ in _errors(validation.check_message, {"embeds": [embed]}).problems}
    assert problems == {"embeds.0.description", "embeds.0.fields.0.value"}

    big = [{"description": "d" * 4000}, {"description": "d" * 2001}]
    assert "embeds" in {p for p, _, _ in _errors(validation.check_message, {"embeds": big}).problems}

    assert not _errors(validation.check_message, {"content": "x", "nonce": "n" * 25})
    long_nonce = _errors(validation.check_message, {"content": "x", "nonce": "n" * 26})
    assert {p for p, _, _ in long_nonce.problems} == {"nonce"}


def test_component_limits() -> None:
    button = {"type": 2, "style": 1, "label": "ok", "custom_id": "a"}
    select = {"type": 3, "custom_id": "s", "options": [{"label": "x", "value": "x"}]}
    buttons = [{**button, "custom_id": str(n)} for n in range(6)]
    assert not _errors(validation.check_message, {"components": [{"type": 1, "components": buttons[:5]}]})
    assert _errors(validation.check_message, {"components": [{"type": 1, "components": buttons}]})
    assert _errors(validation.check_message, {"components": [{"type": 1, "components": [select, button]}]})
    assert _errors(validation.check_message, {"components": [{"type": 1, "components": [button]}] * 6})
    long_id = {**button, "custom_id": "x" * 101}
    assert _errors(validation.check_message, {"components": [{"type": 1, "components": [long_id]}]})
    link = {"type": 2, "style": 5, "label": "site", "url": "https://example.org"}
    assert not _errors(validation.check_message, {"components": [{"type": 1, "components": [link]}]})
    # Discord refuses two components with the same custom id anywhere in one message.
    twice = {"components": [{"type": 1, "components": buttons[:2]}, {"type": 1, "components": [buttons[1]]}]}
    problems = _errors(validation.check_message, twice).problems
    assert problems == [("components.1.components.0.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED",
                         "Component custom id cannot be duplicated")]


def test_modal_and_choice_limits() -> None:
    text = {"type": 4, "custom_id": "f", "label": "Feeling", "style": 1}
    modal = {"title": "t" * 45, "custom_id": "m", "components": [{"type": 1, "components": [text]}]}
    assert not _errors(validation.check_modal, modal)
    assert _errors(validation.check_modal, {**modal, "title": "t" * 46})
    assert _errors(validation.check_modal, {**modal, "components": [{"type": 1, "components": [text]}] * 6})
    labelled = {"type": 18, "label": "Feeling", "component": {"type": 4, "custom_id": "f", "style": 1}}
    assert not _errors(validation.check_modal, {**modal, "components": [labelled]})
    choices = [{"name": str(i), "value": str(i)} for i in range(26)]
    assert _errors(validation.check_choices, choices)
    assert not _errors(validation.check_choices, choices[:25])


def test_command_definitions() -> None:
    good = {"name": "setup", "description": "d", "options": [{"type": 3, "name": "a", "description": "d"}]}
    assert not _errors(validation.check_commands, [good])
    assert _errors(validation.check_commands, [{**good, "name": "Setup"}])
    assert _errors(validation.check_commands, [good, good])
    required_late = [
        {"type": 3, "name": "a", "description": "d"},
        {"type": 3, "name": "b", "description": "d", "required": True},
    ]
    assert _errors(validation.check_commands, [{**good, "options": required_late}])
    assert not _errors(validation.check_commands, [{"type": 3, "name": "Report message"}])


def test_bucket_windows_and_violations(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("tests.fakediscord.ratelimit.time.monotonic", lambda: now[0])
    limiter = RateLimiter()
    limiter.enable(global_limit=1000)
    limiter.set_bucket("POST /channels/{channel_id}/messages", 2, 1.0)
    route = "POST /channels/{channel_id}/messages"
    first = limiter.check(_entry(route, channel_id="1"))
    assert first.allowed and first.headers["X-RateLimit-Remaining"] == "1"
    assert first.headers["X-RateLimit-Reset-After"] == "1.000"
    assert limiter.check(_entry(route, channel_id="1")).allowed
    assert limiter.check(_entry(route, channel_id="2")).allowed  # another channel, another bucket
    now[0] += 0.4
    refused = limiter.check(_entry(route, 7, channel_id="1"))
    assert not refused.allowed and refused.body is not None
    assert refused.body["retry_after"] == pytest.approx(0.6) and refused.headers["Via"]
    assert [(v.seq, v.scope) for v in limiter.violations] == [(7, "bucket")]
    now[0] += 0.6
    assert limiter.check(_entry(route, channel_id="1")).allowed


def test_global_limit_exempts_interaction_responses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.fakediscord.ratelimit.time.monotonic", lambda: 5.0)
    limiter = RateLimiter()
    limiter.enable(global_limit=1)
    assert limiter.check(_entry("GET /users/@me")).allowed
    assert limiter.check(_entry("POST /interactions/{webhook_id}/{webhook_token}/callback")).allowed
    refused = limiter.check(_entry("GET /users/@me"))
    assert not refused.allowed and refused.scope == "global" and refused.headers["X-RateLimit-Global"]


def test_faults_match_route_and_params_and_run_out() -> None:
    plan = FaultPlan()
    plan.server_error("POST /channels/{channel_id}/messages", status=502, count=2, channel_id=5)
    assert plan.take(_entry("POST /channels/{channel_id}/messages", channel_id="6")) is None
    assert plan.take(_entry("GET /channels/{channel_id}", channel_id="5")) is None
    assert plan.take(_entry("POST /channels/{channel_id}/messages", channel_id="5")).status == 502  # type: ignore[union-attr]
    assert plan.take(_entry("POST /channels/{channel_id}/messages", channel_id="5")) is not None
    assert plan.take(_entry("POST /channels/{channel_id}/messages", channel_id="5")) is None
    assert plan.pending == []


def test_a_fault_after_the_effect_is_marked_and_named() -> None:
    plan = FaultPlan()
    before = plan.server_error("POST /channels/{channel_id}/messages", status=503)
    after = plan.server_error("POST /channels/{channel_id}/messages", status=503, after_effect=True)
    assert not before.after_effect and after.after_effect
    assert after.name == "injected 503 after the request took effect"


def test_a_delay_fault_holds_requests_without_replacing_the_answer() -> None:
    plan = FaultPlan()
    plan.delay("PATCH /channels/{channel_id}/messages/{message_id}", seconds=0.5, message_id=7)
    assert plan.take(_entry("PATCH /channels/{channel_id}/messages/{message_id}", message_id="8")) is None
    fault = plan.take(_entry("PATCH /channels/{channel_id}/messages/{message_id}", message_id="7"))
    assert fault is not None and fault.delay == 0.5 and fault.status is None
    assert fault.name == "delayed 0.5 s"
    assert plan.pending == []


async def test_journal_wait_for_sees_past_and_future_entries() -> None:
    journal = Journal()
    journal.append(_entry("GET /users/@me", 0))
    assert (await journal.wait_for("GET /users/@me", timeout=0.1)).seq == 0
    mark = journal.mark
    waiter = asyncio.ensure_future(journal.wait_for("GET /users/@me", timeout=1, after=mark))
    await asyncio.sleep(0)
    journal.append(_entry("GET /users/@me", 1))
    assert (await waiter).seq == 1
    with pytest.raises(TimeoutError, match="GET /users/@me"):
        await journal.wait_for(lambda e: e.method == "DELETE", timeout=0.05)


def test_permissions_apply_overwrites_like_discord() -> None:
    world = World()
    guild = world.add_guild("G")
    mods = world.add_role(guild, "Moderator")
    admins = world.add_role(guild, "Admins", permissions=Perm.MANAGE_GUILD)
    secret = world.add_text_channel(
        guild,
        "secret",
        overwrites=[
            Overwrite(guild.id, 0, deny=Perm.VIEW_CHANNEL),
            Overwrite(mods.id, 0, allow=Perm.VIEW_CHANNEL),
        ],
    )
    alice = world.add_member(guild, "alice")
    mod = world.add_member(guild, "mod", roles=[mods])
    admin = world.add_member(guild, "admin", roles=[admins])
    assert guild.permissions_in(alice, secret, world) == 0
    assert guild.permissions_in(mod, secret, world) & Perm.SEND_MESSAGES
    assert not guild.permissions_in(mod, secret, world) & Perm.MANAGE_GUILD
    assert guild.base_permissions(admin) & Perm.MANAGE_GUILD
    assert guild.permissions_in(guild.members[guild.owner_id], secret, world) == Perm.ALL
