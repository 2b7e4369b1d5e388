from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import QUIET_BELOW_INFO, configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    levels = {n: logging.getLogger(n).level for n in (*QUIET_BELOW_INFO, "aiosqlite")}
    saved = (root.level, list(root.handlers), levels)
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def test_debug_never_reaches_the_loggers_that_write_payloads_and_tokens(restore_logging: None) -> None:
    configure_logging("DEBUG")
    assert logging.getLogger("bot").isEnabledFor(logging.DEBUG)
    for name in ("discord.http", "discord.gateway", "discord.webhook.async_", "discord.state", "aiosqlite"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
        assert logging.getLogger(name).isEnabledFor(logging.INFO), name


def test_configuring_twice_adds_one_handler(restore_logging: None) -> None:
    configure_logging("INFO")
    configure_logging("WARNING")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_hearth", False)]
    assert len(ours) == 1
    assert logging.getLogger("discord.http").level == logging.WARNING
