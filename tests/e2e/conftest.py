"""The end-to-end harness: a fake Discord and the real bot, fresh for every test.

Use the `hearth` fixture (a `tests.fakediscord.harness.Harness`); see
tests/fakediscord/README.md. Markers that relax the end-of-test checks:

- ``@pytest.mark.expect_errors``: errors logged by discord.py or the bot do not fail the test;
- ``@pytest.mark.allow_unknown_routes``: calls to routes the fake does not know do not fail it;
- ``@pytest.mark.allow_rejected_payloads``: payloads the fake refused (Discord's 400s) do not fail it;
- ``@pytest.mark.hearth_config(section={...})``: config overrides for the test's bot;
- ``@pytest.mark.hearth_options(start=False, rate_limits=True, heartbeat_timeout=1.0)``: harness options.

Markers on the module (``pytestmark``), the class and the function combine; for the same key
the closest one wins.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakediscord.harness import TEST_SECRET_KEY, Harness, running_hearth


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "expect_errors: logged errors from discord.py or the bot do not fail this test",
        "allow_unknown_routes: calls to routes the fake Discord does not know do not fail this test",
        "allow_rejected_payloads: payloads the fake Discord refused with a 400 do not fail this test",
        "hearth_config(**sections): config.toml overrides for this test's bot",
        "hearth_options(**options): options for running_hearth (start, rate_limits, heartbeat_timeout, ...)",
    ):
        config.addinivalue_line("markers", line)


def _merged_config(node: pytest.Item) -> dict[str, dict[str, Any]] | None:
    """Combine every hearth_config marker on a test, section by section (closest wins)."""
    config: dict[str, dict[str, Any]] = {}
    for marker in reversed(list(node.iter_markers("hearth_config"))):
        for section, values in marker.kwargs.items():
            config.setdefault(section, {}).update(values)
    return config or None


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
    async with running_hearth(tmp_path, config=config, **options) as harness:
        yield harness
        # Stop inside the context so the bot's own errors surface here, then check the rest.
        await harness.stop()
        problems = []
        for text in harness.problems():
            if text.startswith("logged error") and request.node.get_closest_marker("expect_errors"):
                continue
            if text.startswith("the bot called a route") and request.node.get_closest_marker(
                "allow_unknown_routes"
            ):
                continue
            if text.startswith("Discord would refuse") and request.node.get_closest_marker(
                "allow_rejected_payloads"
            ):
                continue
            problems.append(text)
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)
