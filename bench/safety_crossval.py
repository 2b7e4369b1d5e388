"""Cross-author evaluation of the crisis classifier: `python bench/safety_crossval.py [-v]`.

The question is how the classifier does on wording written by someone whose messages it never
learned from. The colleague sets (tests/unit/safety_colleague*.toml) were written by one person
who never saw the code, in a style unlike our own development sets, so:

- **own -> colleague**: train only on our own texts (the table test, safety_dev*, safety_more*)
  and test on each colleague set: a different author entirely;
- **leave one colleague set out**: train on our own texts and the other two colleague sets,
  test on the third (the author is known, the messages are not); rotated over the three.

Each fold picks its thresholds from out-of-fold readings of its own training data only, exactly
as bench/safety_train.py does for the shipped model, so nothing about the test set leaks in.
The rules are the same in every fold (they were never tuned on the colleague sets before the
model was added). Prints crisis recall, crisis flagged at all, concern flagged and false
positives for the rules alone and for rules + model.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from safety_train import (  # noqa: E402
    Example,
    build,
    combine,
    load_book,
    load_corpus,
    rules_level,
    tokens_of,
)

from bot.services.safety import CrisisLevel  # noqa: E402
from bot.services.safety_model import TrainOptions  # noqa: E402


def score(pairs: Sequence[tuple[str, CrisisLevel]]) -> dict[str, tuple[int, int]]:
    """(hits, total) for crisis as crisis, crisis flagged, concern flagged, everyday flagged."""
    def count(truth: str, test) -> tuple[int, int]:
        chosen = [level for t, level in pairs if t == truth]
        return sum(1 for level in chosen if test(level)), len(chosen)

    return {
        "crisis recall": count("crisis", lambda lv: lv is CrisisLevel.CRISIS),
        "crisis flagged": count("crisis", lambda lv: lv is not CrisisLevel.NONE),
        "concern flagged": count("concern", lambda lv: lv is not CrisisLevel.NONE),
        "false positives": count("none", lambda lv: lv is not CrisisLevel.NONE),
        "false alerts": count("none", lambda lv: lv is CrisisLevel.CRISIS),
    }


def line(name: str, figures: dict[str, tuple[int, int]]) -> str:
    cells = [f"{k} {h}/{n}={h / max(1, n):.0%}" for k, (h, n) in figures.items()]
    return f"  {name:34} " + "; ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", action="store_true", help="list the misses and false positives")
    args = parser.parse_args()
    book = load_book()
    corpus = load_corpus()
    colleague = sorted({e.group for e in corpus if e.group.startswith("colleague")})
    own = [e for e in corpus if not e.group.startswith("colleague")]
    options = TrainOptions()
    totals: dict[str, list[tuple[str, CrisisLevel]]] = {}

    def run(scheme: str, train: list[Example], test: list[Example], name: str) -> None:
        model = build(book, train, options)
        rules, hybrid = [], []
        for e in test:
            rule = rules_level(book, e.text)
            reading = model.read(tokens_of(book, e.text))
            level = combine(rule, reading.care, reading.crisis, model.thresholds)
            rules.append((e.level, rule[0]))
            hybrid.append((e.level, level))
            if args.v and (level is not CrisisLevel.CRISIS if e.level == "crisis" else
                           (level is CrisisLevel.NONE) if e.level == "concern" else
                           level is not CrisisLevel.NONE):
                print(f"    {e.level}->{level.value} care {reading.care:.2f} crisis {reading.crisis:.2f}: "
                      f"{e.text[:150]}")
        print(f"{scheme}, test {name} (thresholds {dict(model.thresholds)})")
        print(line("rules alone", score(rules)))
        print(line("rules + model", score(hybrid)))
        totals.setdefault(f"{scheme}: rules alone", []).extend(rules)
        totals.setdefault(f"{scheme}: rules + model", []).extend(hybrid)

    for name in colleague:
        run("own -> colleague", own, [e for e in corpus if e.group == name], name)
    for name in colleague:
        train = [e for e in corpus if e.group != name]
        run("leave one colleague set out", train, [e for e in corpus if e.group == name], name)
    print("\nall three colleague sets together:")
    for name, pairs in totals.items():
        print(line(name, score(pairs)))


if __name__ == "__main__":
    main()
