"""How often /faq puts the right entry first (and in the top 3) for members' own wording.

Run from the repository root: `python bench/faq_quality.py`. Three sets of questions:
- tests/unit/faq_paraphrases.toml: the test set (the suite requires >= 90% top-1);
  the thesaurus and aliases were written with it in view;
- tests/unit/faq_heldout.toml: written next, and used only to choose general fixes;
- tests/unit/faq_unseen.toml: written last and never used to tune anything.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.services.faq import FaqIndex, Verdict  # noqa: E402

SETS = (("test set", "faq_paraphrases.toml"), ("held-out", "faq_heldout.toml"), ("unseen", "faq_unseen.toml"))


def main() -> None:
    index = FaqIndex(load_content(ROOT / "content").parts["faq"].entries)
    for name, file in SETS:
        cases = tomllib.loads((ROOT / "tests/unit" / file).read_text(encoding="utf-8"))["cases"]
        top1 = top3 = confident = confident_wrong = 0
        for question, wanted in cases:
            ranked = [m.entry.id for m in index.rank(question, 3)]
            top1 += bool(ranked) and ranked[0] == wanted
            top3 += wanted in ranked
            outcome = index.decide(question)
            if outcome.verdict is Verdict.ANSWER:
                confident += 1
                confident_wrong += outcome.best is not None and outcome.best.entry.id != wanted
        n = len(cases)
        print(f"{name:9} {n:3} questions  top-1 {top1 / n:5.1%}  top-3 {top3 / n:5.1%}  "
              f"answered outright {confident / n:5.1%} (wrong {confident_wrong})")


if __name__ == "__main__":
    main()
