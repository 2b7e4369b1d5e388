"""Concise logging that never writes request bodies or members' words."""

from __future__ import annotations

import logging
import sys

QUIET_BELOW_INFO = ("discord.http", "discord.gateway", "discord.webhook", "discord.state")
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Send logs to stderr in one short line each; keep discord.py's payload loggers at INFO or above."""
    root = logging.getLogger()
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric)
    if not any(getattr(h, "_hearth", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, "%Y-%m-%d %H:%M:%S"))
        handler._hearth = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # These loggers write request bodies, webhook URLs or gateway payloads at DEBUG, which
    # hold members' words and interaction tokens.
    for name in QUIET_BELOW_INFO:
        logging.getLogger(name).setLevel(max(numeric, logging.INFO))
    # aiosqlite logs every statement with its parameters at DEBUG: member ids beside their moods,
    # and the rows behind anonymous posts.
    logging.getLogger("aiosqlite").setLevel(max(numeric, logging.INFO))
    logging.getLogger("apscheduler").setLevel(max(numeric, logging.WARNING))
