"""The crisis classifier on the development sets (tests/unit/safety_dev*.toml).

Each set was written before the classifier was tuned on it, and its header records what the
classifier scored on it at that point: that is the honest estimate for wording it had never seen.
Once tuned on, a set is only a regression check: these tests print the figures now and hold each
set to the floor in its [after_tuning] table (crisis caught as crisis, crisis flagged at all, false
positives on everyday speech), so a change that makes any set worse fails.

Run with `pytest tests/unit/test_safety_classifier_devsets.py -s` to see the figures and misses.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.content import load_content
from bot.services.safety import CrisisLevel, PhraseBook

HERE = Path(__file__).resolve().parent
CONTENT = HERE.parents[1] / "content"
SETS = sorted(HERE.glob("safety_dev*.toml"))


@pytest.fixture(scope="module")
def book() -> PhraseBook:
    return load_content(CONTENT).parts["safety"]


def test_the_sets_are_big_and_distinct() -> None:
    seen: set[str] = set()
    for path in SETS:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert len(data["crisis"]) >= 40 and len(data["everyday"]) >= 40 and len(data["concern"]) >= 15
        texts = data["crisis"] + data["concern"] + data["everyday"]
        assert len(set(texts)) == len(texts), path.name
        assert not seen & set(texts), f"{path.name} repeats another set"
        seen |= set(texts)
    assert len(SETS) >= 5


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.stem)
def test_dev_set_figures(book: PhraseBook, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))

    def level(text: str) -> CrisisLevel:
        return book.classify(text).level

    crisis = data["crisis"]
    crisis_hits = [t for t in crisis if level(t) is CrisisLevel.CRISIS]
    crisis_flagged = [t for t in crisis if level(t) is not CrisisLevel.NONE]
    concern_flagged = [t for t in data["concern"] if level(t) is not CrisisLevel.NONE]
    false_positives = [t for t in data["everyday"] if level(t) is not CrisisLevel.NONE]
    false_alerts = [t for t in data["everyday"] if level(t) is CrisisLevel.CRISIS]
    recall = len(crisis_hits) / len(crisis)
    flagged = len(crisis_flagged) / len(crisis)
    fp_rate = len(false_positives) / len(data["everyday"])
    with capsys.disabled():
        print(
            f"\n{path.stem}: crisis recall {len(crisis_hits)}/{len(crisis)} = {recall:.0%}; "
            f"crisis flagged at all {len(crisis_flagged)}/{len(crisis)} = {flagged:.0%}; "
            f"concern flagged {len(concern_flagged)}/{len(data['concern'])}; "
            f"false positives {len(false_positives)}/{len(data['everyday'])} = {fp_rate:.1%} "
            f"(crisis: {len(false_alerts)})"
        )
        for text in crisis:
            if text not in crisis_hits:
                print(f"  crisis read as {level(text).value}: {text}")
        for text in false_positives:
            print(f"  false positive ({level(text).value}): {text}")
    floor = data["after_tuning"]
    assert len(crisis_hits) >= floor["crisis"], "fewer crisis messages caught as crisis"
    assert len(crisis_flagged) >= floor["flagged"], "fewer crisis messages flagged at all"
    assert len(false_positives) <= floor["false_positives"], "more everyday messages flagged"


# The unseen sets (tests/unit/safety_unseen*.toml) have never been tuned on: their figures are the
# honest estimate for new wording. The floors are what the rules score today (crisis caught as
# crisis, crisis flagged at all, everyday messages flagged), so a change that makes them worse fails.
UNSEEN_FLOORS = {
    "safety_unseen1": (20, 27, 0),
    "safety_unseen2": (25, 27, 1),
    "safety_unseen3": (18, 22, 1),
}


@pytest.mark.parametrize("name", sorted(UNSEEN_FLOORS))
def test_unseen_set_figures(book: PhraseBook, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tomllib.loads((HERE / f"{name}.toml").read_text(encoding="utf-8"))["case"]
    levels = [(case["expected"], book.classify(case["text"]).level) for case in cases]
    crisis = [level for expected, level in levels if expected == "crisis"]
    everyday = [level for expected, level in levels if expected == "none"]
    caught = sum(level is CrisisLevel.CRISIS for level in crisis)
    flagged = sum(level is not CrisisLevel.NONE for level in crisis)
    false_positives = sum(level is not CrisisLevel.NONE for level in everyday)
    with capsys.disabled():
        print(f"\n{name}: crisis recall {caught}/{len(crisis)}; crisis flagged at all "
              f"{flagged}/{len(crisis)}; false positives {false_positives}/{len(everyday)}")
    least_caught, least_flagged, most_false = UNSEEN_FLOORS[name]
    assert caught >= least_caught, "fewer crisis messages caught as crisis"
    assert flagged >= least_flagged, "fewer crisis messages flagged at all"
    assert false_positives <= most_false, "more everyday messages flagged"
