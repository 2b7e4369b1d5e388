"""Train the crisis model and write content/safety_model.toml: `python bench/safety_train.py`.

It trains on every labelled message in the repository:

- the table test and its two later rounds (tests/unit/test_safety_classifier.py);
- the development sets (tests/unit/safety_dev*.toml: crisis, concern, everyday);
- the colleague sets (tests/unit/safety_colleague*.toml: [[case]] text, expected);
- any further sets (tests/unit/safety_more*.toml, in the development-set form).

Thresholds are chosen from out-of-fold readings (each group of texts scored by a model trained
without it), so they reflect wording the model had not seen. The result is deterministic: the
same data gives the same file. `--check` trains and compares with the shipped file instead of
writing it. bench/safety_crossval.py measures how well this generalises across authors.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.services.safety import CrisisLevel, PhraseBook, combine_levels, normalise_tokens  # noqa: E402
from bot.services.safety_model import (  # noqa: E402
    SafetyModel,
    TrainOptions,
    dump_model,
    train_model,
)

UNIT = ROOT / "tests" / "unit"
MODEL_FILE = ROOT / "content" / "safety_model.toml"
LEVELS = {"crisis": "crisis", "concern": "concern", "everyday": "none", "none": "none"}

# What the thresholds aim for, on out-of-fold readings of everyday speech combined with the rules.
TARGET_FALSE_POSITIVES = 0.04  # everyday messages raised to concern or crisis
TARGET_FALSE_ALERTS = 0.01  # everyday messages raised to crisis


# (true level, (rules' level, rules' support), care score, crisis score)
Reading = tuple[str, tuple[CrisisLevel, CrisisLevel], float, float]


@dataclass(frozen=True)
class Example:
    """One labelled message and where it came from (its group for cross-validation)."""

    text: str
    level: str  # none, concern or crisis
    group: str  # table, dev1..dev8, colleague1..3, more1..


def _table_examples() -> list[Example]:
    spec = importlib.util.spec_from_file_location("_safety_table", UNIT / "test_safety_classifier.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out: list[Example] = []
    for prefix in ("", "SECOND_", "THIRD_"):
        for kind, level in (("CRISIS", "crisis"), ("CONCERN", "concern"), ("EVERYDAY", "none")):
            name = f"{prefix}{kind}" if prefix else f"{kind}_TEXTS"
            out.extend(Example(t, level, "table") for t in getattr(module, name))
    return out


def _list_set(path: Path, group: str) -> list[Example]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Example(t, LEVELS[key], group) for key in ("crisis", "concern", "everyday") for t in data[key]]


def _case_set(path: Path, group: str) -> list[Example]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Example(c["text"], LEVELS[c["expected"]], group) for c in data["case"]]


def load_corpus() -> list[Example]:
    """Every labelled message, each tagged with its group."""
    examples = _table_examples()
    for path in sorted(UNIT.glob("safety_dev*.toml")):
        examples += _list_set(path, path.stem.removeprefix("safety_"))
    for path in sorted(UNIT.glob("safety_more*.toml")):
        examples += _list_set(path, path.stem.removeprefix("safety_"))
    for path in sorted(UNIT.glob("safety_colleague*.toml")):
        examples += _case_set(path, path.stem.removeprefix("safety_"))
    return examples


def load_book() -> PhraseBook:
    from bot.content import load_content

    return load_content(ROOT / "content").parts["safety"]


def rules_level(book: PhraseBook, text: str) -> tuple[CrisisLevel, CrisisLevel]:
    """The rules' level and their support level (what the model's decision needs)."""
    result = book.classify_rules(text)
    return result.assessment.level, result.support


def combine(rule: tuple[CrisisLevel, CrisisLevel], care: float, crisis: float,
            thresholds: Mapping[str, float]) -> CrisisLevel:
    """The hybrid's decision: bot.services.safety.combine_levels."""
    return combine_levels(rule[0], rule[1], care, crisis, thresholds)


def choose_thresholds(readings: Sequence[Reading]) -> dict[str, float]:
    """Lowest thresholds whose false positives on everyday speech stay within the targets.

    `readings` are (true level, rules' level, care, crisis), read out of fold. Each threshold is
    tried at the values the everyday readings take (just above each), from low to high.
    """
    everyday = [r for r in readings if r[0] == "none"]
    ceiling = 0.999

    def false_rate(thresholds: dict[str, float], alerts: bool) -> float:
        bad = 0
        for _, rule, care, crisis in everyday:
            level = combine(rule, care, crisis, thresholds)
            bad += level is CrisisLevel.CRISIS if alerts else level is not CrisisLevel.NONE
        return bad / max(1, len(everyday))

    def lowest(key: str, values: list[float], alerts: bool, target: float, cap: float) -> float:
        candidates = sorted({round(min(cap, v + 0.0005), 4) for v in values} | {cap})
        for t in candidates:
            if false_rate({**chosen, key: t}, alerts) <= target:
                return t
        return cap

    chosen = {"concern": ceiling, "crisis": ceiling, "crisis_with_rule": ceiling}
    crisis_values = [r[3] for r in everyday]
    chosen["crisis"] = lowest("crisis", crisis_values, True, TARGET_FALSE_ALERTS, ceiling)
    chosen["crisis_with_rule"] = lowest("crisis_with_rule", crisis_values, True, TARGET_FALSE_ALERTS,
                                        chosen["crisis"])
    chosen["concern"] = lowest("concern", crisis_values + [r[2] for r in everyday], False,
                               TARGET_FALSE_POSITIVES, ceiling)
    return chosen


def tokens_of(book: PhraseBook, text: str) -> list[str]:
    return normalise_tokens(text, book.spelling)


def out_of_fold(
    book: PhraseBook, examples: Sequence[Example], options: TrainOptions, folds: int = 5
) -> list[Reading]:
    """Read every example with a model trained without its group (groups dealt into `folds`)."""
    groups = sorted({e.group for e in examples})
    readings: list[Reading] = []
    for k in range(folds):
        held = set(groups[k::folds])
        train = [(tokens_of(book, e.text), e.level) for e in examples if e.group not in held]
        model = train_model(train, {}, options)
        for e in examples:
            if e.group in held:
                reading = model.read(tokens_of(book, e.text))
                readings.append((e.level, rules_level(book, e.text), reading.care, reading.crisis))
    return readings


def build(book: PhraseBook, examples: Sequence[Example], options: TrainOptions) -> SafetyModel:
    """Thresholds from out-of-fold readings, then the model trained on everything."""
    thresholds = choose_thresholds(out_of_fold(book, examples, options))
    groups = sorted({e.group for e in examples})
    trained_on = f"{len(examples)} messages: " + ", ".join(groups)
    texts = [(tokens_of(book, e.text), e.level) for e in examples]
    return train_model(texts, thresholds, options, trained_on)


HEADER = """The crisis model's weights: written by `python bench/safety_train.py`; do not edit by hand.
Two logistic regressions (care: concern or crisis against none; crisis: crisis against the rest)
over the normalised text's words (w:), neighbouring word pairs (b:) and letter groups (c:, with
< > marking the ends of a word). A message's score is that of its most worrying window of words.
How levels are decided (bot/services/safety.py): the rules' crisis always stands; the model
raises a message to crisis when crisis >= thresholds.crisis, or >= thresholds.crisis_with_rule
when the rules found concern; to concern when care or crisis >= thresholds.concern.
Thresholds were chosen on out-of-fold readings so that at most 4% of everyday messages are
raised to concern and at most 1% to crisis."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped file; write nothing")
    args = parser.parse_args()
    book = load_book()
    examples = load_corpus()
    model = build(book, examples, TrainOptions())
    text = dump_model(model, HEADER)
    counts = {h: len(model.heads[h].weights) for h in model.heads}
    print(f"trained on {model.trained_on}")
    print(f"thresholds {dict(model.thresholds)}; weights {counts}")
    if args.check:
        same = MODEL_FILE.exists() and MODEL_FILE.read_text(encoding="utf-8") == text
        print("the shipped file matches" if same else "the shipped file DIFFERS from a fresh training")
        sys.exit(0 if same else 1)
    MODEL_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {MODEL_FILE.relative_to(ROOT)} ({len(text) // 1024} KiB)")


if __name__ == "__main__":
    main()
