"""Hearth: a Discord bot for moderated peer-support groups."""

from __future__ import annotations

__version__ = "0.1.0"
