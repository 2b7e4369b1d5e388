"""The end-to-end harness: a fake Discord and the real bot, fresh for every test.

Use the `hearth` fixture (a `tests.fakediscord.harness.Harness`); see
tests/fakediscord/README.md. Markers that relax the end-of-test checks:

- ``@pytest.mark.expect_errors``: errors logged by discord.py or the bot do not fail the test;
- ``@pytest.mark.allow_unknown_routes``: calls to routes the fake does not know do not fail it;
- ``@pytest.mark.allow_rejected_payloads``: payloads the fake refused (Discord's 400s) do not fail it;
- ``@pytest.mark.hearth_config(section={...})``: config overrides for the test's bot;
- ``@pytest.mark.hearth_options(start=False, rate_limits=True, heartbeat_timeout=1.0)``: harness options.

And one that adds a check:

- ``@pytest.mark.leak_scan``: the test exercises anonymous sharing, so afterwards every payload the bot
  sent and every log line is scanned for members' ids and names (see leak_scan.py);
  ``leak_scan(False)`` turns it off for one test of a module that has it on.

Markers on the module (``pytestmark``), the class and the function combine; for the same key
the closest one wins.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.leak_scan import VerboseLogging, find_leaks, give_distinctive_names
from tests.fakediscord.harness import TEST_SECRET_KEY, Harness, StandardWorld, running_hearth
from tests.fakediscord.world import World


def pytest_configure(config: pytest.Config) -> None:
    # Every test's bot loads its cogs afresh (discord.py re-imports an extension on load).
    # Where PYTHONDONTWRITEBYTECODE is set, that meant compiling them again for every test.
    sys.dont_write_bytecode = False
    for line in (
        "expect_errors: logged errors from discord.py or the bot do not fail this test",
        "allow_unknown_routes: calls to routes the fake Discord does not know do not fail this test",
        "allow_rejected_payloads: payloads the fake Discord refused with a 400 do not fail this test",
        "hearth_config(**sections): config.toml overrides for this test's bot",
        "hearth_options(**options): options for running_hearth (start, rate_limits, heartbeat_timeout, ...)",
        "leak_scan(enabled=True): scan every payload and log line for members' ids and names afterwards",
    ):
        config.addinivalue_line("markers", line)


def _merged_config(node: pytest.Item) -> dict[str, dict[str, Any]] | None:
    """Combine every hearth_config marker on a test, section by section (closest wins)."""
    config: dict[str, dict[str, Any]] = {}
    for marker in reversed(list(node.iter_markers("hearth_config"))):
        for section, values in marker.kwargs.items():
            config.setdefault(section, {}).update(values)
    return config or None


def _leak_scan_on(node: pytest.Item) -> bool:
    marker = node.get_closest_marker("leak_scan")
    if marker is None:
        return False
    return bool(marker.args[0] if marker.args else marker.kwargs.get("enabled", True))


def _with_distinctive_names(
    setup_world: Callable[[World, StandardWorld], Any] | None,
) -> Callable[[World, StandardWorld], Any]:
    def setup(world: World, standard: StandardWorld) -> None:
        give_distinctive_names(world, standard)
        if setup_world is not None:
            setup_world(world, standard)

    return setup


@pytest.fixture
async def hearth(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    """Start the fake Discord and the real bot on a fresh database; check for trouble afterwards."""
    monkeypatch.setenv("HEARTH_SECRET_KEY", TEST_SECRET_KEY)
    # What earlier tests left alive is set aside from the garbage collector, so a collection's
    # pause (charged to the bot's 3-second answers) does not grow with how many tests ran first.
    gc.collect()
    gc.freeze()
    config = _merged_config(request.node)
    options: dict[str, Any] = {}
    # Module, class and function markers combine; the closest one wins on a clash.
    for marker in reversed(list(request.node.iter_markers("hearth_options"))):
        options.update(marker.kwargs)
    scanning = _leak_scan_on(request.node)
    if scanning:
        options["setup_world"] = _with_distinctive_names(options.get("setup_world"))
    with VerboseLogging() if scanning else nullcontext() as logs:
        async with running_hearth(tmp_path, config=config, **options) as harness:
            yield harness
            # Stop inside the context so the bot's own errors surface here, then check the rest.
            await harness.stop()
            problems = _problems(request, harness)
            if logs is not None:
                leaks, checked = find_leaks(harness, logs.records)
                if leaks:
                    problems.append("identity leaks:\n" + "\n".join(leaks))
                elif checked == 0:
                    problems.append("the leak scan saw no payloads: the test sent nothing to scan")
            if problems:
                pytest.fail("\n\n".join(problems), pytrace=False)


def _problems(request: pytest.FixtureRequest, harness: Harness) -> list[str]:
    """Return the end-of-test problems the test's markers do not excuse."""
    excused = (
        ("logged error", "expect_errors"),
        ("the bot called a route", "allow_unknown_routes"),
        ("Discord would refuse", "allow_rejected_payloads"),
    )
    return [
        text
        for text in harness.problems()
        if not any(
            text.startswith(start) and request.node.get_closest_marker(name)
            for start, name in excused
        )
    ]
