"""Fingerprints of the guide's wording, so a test can tell whether content copies it.

The seed guide is not part of the repository, so the test cannot read it in a fresh clone.
Instead it reads `guide_shingles.txt`: the SHA-256 (truncated) of every run of
`RUN_LENGTH` words in the guide, after the same normalisation the test applies to our
content. Regenerate it when the guide changes:

    python tests/unit/guide_shingles.py /work/shared/seed/trust-issues-guide.txt
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

RUN_LENGTH = 7
HASH_DIGITS = 16
DATA = Path(__file__).with_name("guide_shingles.txt")
WORD = re.compile(r"[a-z']+")


def words_of(text: str) -> list[str]:
    """Lower-case words, with curly apostrophes straightened and digits and punctuation dropped."""
    found = (w.strip("'") for w in WORD.findall(text.lower().replace("’", "'").replace("‘", "'")))
    return [w for w in found if w]


def runs_of(words: Sequence[str], length: int = RUN_LENGTH) -> Iterator[tuple[int, str]]:
    """Yield (position, words joined by spaces) for every run of `length` words in a row."""
    for start in range(len(words) - length + 1):
        yield start, " ".join(words[start : start + length])


def fingerprint(run: str) -> str:
    """Return the truncated SHA-256 of one normalised run of words."""
    return hashlib.sha256(run.encode("utf-8")).hexdigest()[:HASH_DIGITS]


def fingerprints_of(text: str) -> set[str]:
    """Return the fingerprint of every run of words in a text."""
    return {fingerprint(run) for _, run in runs_of(words_of(text))}


def render(guide: str, source_name: str) -> str:
    """Return the data file for a guide's text."""
    digest = hashlib.sha256(guide.encode("utf-8")).hexdigest()
    header = [
        f"# sha256 of every run of {RUN_LENGTH} words in {source_name}, first {HASH_DIGITS} hex digits,",
        "# normalised by tests/unit/guide_shingles.py (which regenerates this file).",
        f"# guide sha256: {digest}",
    ]
    return "\n".join([*header, *sorted(fingerprints_of(guide))]) + "\n"


def load(path: Path = DATA) -> set[str]:
    """Read the committed fingerprints."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def main(argv: Sequence[str] | None = None) -> None:
    """Write the fingerprints of the guide named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", type=Path, help="the seed guide (trust-issues-guide.txt)")
    parser.add_argument("--out", type=Path, default=DATA, help=f"where to write them (default {DATA.name})")
    args = parser.parse_args(argv)
    args.out.write_text(render(args.guide.read_text(encoding="utf-8"), args.guide.name), encoding="utf-8")


if __name__ == "__main__":
    main()
