"""How a Discord client splits an embed description into spoilers and plain text.

A small model of the rules Discord's markdown (simple-markdown) applies, enough to tell
whether text stays hidden: at each position the first rule that matches wins, in this order:

- escape: a backslash before any character that is not a letter, digit or space shows that
  character literally;
- spoiler: `||` opens, and the spoiler ends at the first `||` after at least one character,
  found in the raw text (escapes do not stop the search); its inside is parsed again;
- bold: `**`, ending at the next `**`, parsed again inside;
- inline code: backticks, ending at the same run of backticks, shown literally;
- anything else is plain text.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")
_SPOILER = re.compile(r"\|\|([\s\S]+?)\|\|")
_BOLD = re.compile(r"\*\*([\s\S]+?)\*\*(?!\*)")
_CODE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")


def parse(source: str) -> list[tuple[str, str]]:
    """Return (kind, shown text) pieces: kind is "text" or "spoiler" (nested spoilers flatten)."""
    pieces: list[tuple[str, str]] = []
    index = 0
    plain: list[str] = []

    def flush() -> None:
        if plain:
            pieces.append(("text", "".join(plain)))
            plain.clear()

    while index < len(source):
        rest = source[index:]
        if match := _ESCAPE.match(rest):
            plain.append(match.group(1))
        elif match := _SPOILER.match(rest):
            flush()
            inside = "".join(shown for _, shown in parse(match.group(1)))
            pieces.append(("spoiler", inside))
        elif match := _BOLD.match(rest):
            flush()
            pieces.extend(parse(match.group(1)))
        elif match := _CODE.match(rest):
            plain.append(match.group(2))
        else:
            plain.append(rest[0])
            index += 1
            continue
        index += match.end()
    flush()
    return pieces


def hidden_and_shown(source: str) -> tuple[list[str], str]:
    """Return the spoilers' texts and all the text shown outside any spoiler (invisible spaces dropped)."""
    pieces = [(kind, shown.replace("\u200b", "")) for kind, shown in parse(source)]
    spoilers = [shown for kind, shown in pieces if kind == "spoiler"]
    outside = "".join(shown for kind, shown in pieces if kind == "text")
    return spoilers, outside
