"""Concise logging that never writes request bodies or members' words."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Send logs to stderr in one short line each; keep discord.http at INFO or above.

    At DEBUG, discord.http writes request bodies, which hold anonymous posts and
    interaction tokens, so it never follows the bot's level below INFO.
    """
    root = logging.getLogger()
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric)
    if not any(getattr(h, "_hearth", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, "%Y-%m-%d %H:%M:%S"))
        handler._hearth = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("discord.http").setLevel(max(numeric, logging.INFO))
    logging.getLogger("discord.gateway").setLevel(max(numeric, logging.INFO))
    logging.getLogger("apscheduler").setLevel(max(numeric, logging.WARNING))
