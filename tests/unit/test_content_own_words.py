"""Every text Hearth ships in content/ is in our own words, never a run copied from the guide.

The guide is not in the repository, so its wording is checked through fingerprints
(`guide_shingles.txt`, made by `guide_shingles.py`): no run of seven words in a row in any text
field, comment or topic card may match a run in the guide. This never skips.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.guide_shingles import DATA, RUN_LENGTH, fingerprint, load, render, runs_of, words_of

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content"
# shared/ sits beside the repository (in a worktree, beside the folder of worktrees).
GUIDE = next(
    (p / "shared" / "seed" / "trust-issues-guide.txt" for p in Path(__file__).resolve().parents
     if (p / "shared" / "seed" / "trust-issues-guide.txt").exists()),
    None,
)


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield from _strings(inner, f"{where}[{n}]")


def _comments(text: str) -> Iterator[tuple[str, str]]:
    """Yield each block of consecutive `#` comment lines with the line it starts on."""
    block: list[str] = []
    start = 0
    for number, line in enumerate([*text.splitlines(), ""], start=1):
        if line.lstrip().startswith("#"):
            if not block:
                start = number
            block.append(line.lstrip().lstrip("#"))
        elif block:
            yield f"(comment at line {start})", " ".join(block)
            block = []


def texts_of(path: Path) -> Iterator[tuple[str, str]]:
    """Yield (where, text) for every piece of text a content file holds, comments included."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        yield from _strings(tomllib.loads(raw), "")
        yield from _comments(raw)
    elif path.suffix == ".md":
        assert raw.startswith("+++\n"), f"{path}: expected +++ front matter"
        head, _, body = raw[4:].partition("\n+++\n")
        yield from _strings(tomllib.loads(head), "")
        yield from _comments(head)
        yield "(body)", body
    else:
        raise AssertionError(f"{path}: this test does not know how to read a {path.suffix!r} file; teach it")


def copied_runs(guide: set[str], text: str) -> list[str]:
    """Return the runs of words in a text that the guide also has, longest stretches joined."""
    words = words_of(text)
    hits = [start for start, run in runs_of(words) if fingerprint(run) in guide]
    stretches: list[tuple[int, int]] = []
    for start in hits:
        if stretches and start <= stretches[-1][1]:
            stretches[-1] = (stretches[-1][0], start + RUN_LENGTH)
        else:
            stretches.append((start, start + RUN_LENGTH))
    return [" ".join(words[a:b]) for a, b in stretches]


@pytest.fixture(scope="module")
def guide() -> set[str]:
    return load()


def content_files() -> list[Path]:
    return sorted(p for p in CONTENT.rglob("*") if p.is_file())


def test_every_area_of_content_is_covered() -> None:
    names = {p.relative_to(CONTENT).parts[0] for p in content_files()}
    assert {"faq", "topics", "exercises", "prompts.toml", "journal_prompts.toml", "safety.toml",
            "resources.toml"} <= names


def test_no_content_copies_seven_words_in_a_row_from_the_guide(guide: set[str]) -> None:
    copied = [
        f"{path.relative_to(ROOT)}: {where}: {run!r}"
        for path in content_files()
        for where, text in texts_of(path)
        for run in copied_runs(guide, text)
    ]
    assert copied == [], "written too close to the guide:\n" + "\n".join(copied)


def test_the_fingerprints_catch_the_guides_wording_however_it_is_typed(guide: set[str]) -> None:
    assert len(guide) > 4000
    # A phrase from the guide, retyped with other case, punctuation and apostrophes.
    assert copied_runs(guide, "You might be CONSTANTLY scanning... for signs of rejection, or betrayal!") == [
        "constantly scanning for signs of rejection or betrayal"
    ]
    assert copied_runs(guide, "constantly scanning for signs of a rejection or betrayal") == []


@pytest.mark.skipif(GUIDE is None, reason="the seed guide is not beside the repository to compare with")
def test_the_fingerprints_are_those_of_the_current_guide() -> None:
    assert GUIDE is not None
    expected = render(GUIDE.read_text(encoding="utf-8"), GUIDE.name)
    assert DATA.read_text(encoding="utf-8") == expected, "run tests/unit/guide_shingles.py on the new guide"
