"""How often /faq puts the right entry first (and in the top 3) for members' own wording.

Run from the repository root: `python bench/faq_quality.py [-v]`. For each set of questions it
prints top-1 and top-3 accuracy, how often a question is answered outright (confident), and how
many of those outright answers were the right entry (confident precision). `-v` lists the misses.
The sets, oldest first:
- tests/unit/faq_paraphrases.toml: the test set (the suite requires >= 90% top-1);
  the thesaurus and aliases were first written with it in view;
- tests/unit/faq_heldout.toml: written next, and used to choose general fixes;
- tests/unit/faq_unseen.toml: written after the first search was finished (45 questions);
- tests/unit/faq_dev_a.toml, faq_dev_b.toml: written before the second round of search work,
  measured before it, then used to choose general fixes (A more than B);
- tests/unit/faq_dev_c.toml: written with A and B, never used to choose a fix;
- tests/unit/faq_dev_d.toml: written after the first round of that work, measured once, then
  used to find general flaws in the second round;
- tests/unit/faq_dev_e.toml: written after the second round, measured once, then used to
  find general flaws in a third;
- tests/unit/faq_dev_f.toml: written after all of it, measured once before and once after,
  never used to choose a fix (`-v` lists neither C's nor F's misses);
- tests/unit/faq_independent_1.toml, faq_independent_2.toml: 70 questions each, written by
  someone who saw only each entry's id and question (never the other wordings, keywords or
  code), measured once before and once after the second round; never used to choose a fix.
Each file may also list `unrelated` questions: none of them should be answered outright.

The aliases were first written with the test set in view, so many test questions sit close to
one. `--near-aliases` lists the test questions within one term of a shipped alias (same
concepts after normalisation, give or take one) and measures the test set again with those
aliases removed, to show how much of its figure they carry.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.services.faq import FaqEntry, FaqIndex, FaqLibrary, Verdict  # noqa: E402
from bot.services.faq_text import terms_of  # noqa: E402

SETS = (
    ("test set", "faq_paraphrases.toml"),
    ("held-out", "faq_heldout.toml"),
    ("unseen", "faq_unseen.toml"),
    ("dev A", "faq_dev_a.toml"),
    ("dev B", "faq_dev_b.toml"),
    ("dev C", "faq_dev_c.toml"),
    ("dev D", "faq_dev_d.toml"),
    ("dev E", "faq_dev_e.toml"),
    ("dev F", "faq_dev_f.toml"),
    ("indep. 1", "faq_independent_1.toml"),
    ("indep. 2", "faq_independent_2.toml"),
)
# Sets whose misses -v never lists, so they stay a fair check on fixes chosen elsewhere.
QUIET = {"dev C", "dev F", "indep. 1", "indep. 2"}


def measure(index: FaqIndex, cases: list[list[str]]) -> dict[str, object]:
    """Return the figures for one set of (question, wanted id) cases."""
    top1 = top3 = confident = confident_right = 0
    misses: list[str] = []
    for question, wanted in cases:
        ranked = [m.entry.id for m in index.rank(question, 3)]
        top1 += bool(ranked) and ranked[0] == wanted
        top3 += wanted in ranked
        outcome = index.decide(question)
        answered = outcome.verdict is Verdict.ANSWER
        right = outcome.best is not None and outcome.best.entry.id == wanted
        if answered:
            confident += 1
            confident_right += right
        if not ranked or ranked[0] != wanted or (answered and not right):
            flag = "WRONG ANSWER" if answered and not right else outcome.verdict.value
            misses.append(f"    [{flag}] {question!r}: want {wanted}, got {ranked}")
    return {"n": len(cases), "top1": top1, "top3": top3, "confident": confident,
            "confident_right": confident_right, "misses": misses}


def main() -> None:
    verbose = "-v" in sys.argv[1:]
    library = load_content(ROOT / "content").parts["faq"]
    index = FaqIndex(library.entries, library.section_texts())
    print(f"{'set':9} {'n':>3}  {'top-1':>6}  {'top-3':>6}  {'confident':>9}  {'conf. precision':>15}"
          f"  {'unrelated answered':>18}")
    for name, file in SETS:
        path = ROOT / "tests/unit" / file
        if not path.exists():
            continue
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        f = measure(index, data["cases"])
        n, confident = f["n"], f["confident"]
        right = f["confident_right"]
        precision = f"{right / confident:6.1%} ({right}/{confident})" if confident else "-"
        unrelated = data.get("unrelated", [])
        answered = sum(index.decide(q).verdict is Verdict.ANSWER for q in unrelated)
        print(f"{name:9} {n:3}  {f['top1'] / n:6.1%}  {f['top3'] / n:6.1%}  {confident / n:9.1%}  "
              f"{precision:>15}  {f'{answered}/{len(unrelated)}' if unrelated else '-':>18}")
        if verbose and name not in QUIET:
            print("\n".join(f["misses"]))


def near_aliases(library: FaqLibrary, cases: list[list[str]]) -> dict[str, list[tuple[str, str]]]:
    """Return, per test question, the (entry id, alias) pairs within one term of it."""
    near: dict[str, list[tuple[str, str]]] = {}
    for question, _ in cases:
        asked = set(terms_of(question))
        for entry in library.entries:
            for alias in entry.aliases:
                terms = set(terms_of(alias))
                if terms and len(asked ^ terms) <= 1:
                    near.setdefault(question, []).append((entry.id, alias))
    return near


def without_near_aliases() -> None:
    """Measure the test set with the aliases that sit within one term of its questions removed."""
    library = load_content(ROOT / "content").parts["faq"]
    cases = tomllib.loads((ROOT / "tests/unit" / SETS[0][1]).read_text(encoding="utf-8"))["cases"]
    near = near_aliases(library, cases)
    dropped = {pair for pairs in near.values() for pair in pairs}
    for question, pairs in near.items():
        print(f"  {question!r} ~ " + "; ".join(f"{entry}: {alias!r}" for entry, alias in pairs))
    entries: list[FaqEntry] = [
        replace(e, aliases=tuple(a for a in e.aliases if (e.id, a) not in dropped)) for e in library.entries
    ]
    for name, index in (("as shipped", FaqIndex(library.entries, library.section_texts())),
                        ("without", FaqIndex(entries, library.section_texts()))):
        f = measure(index, cases)
        n = f["n"]
        print(f"{name:10} top-1 {f['top1'] / n:6.1%}  top-3 {f['top3'] / n:6.1%}  "
              f"confident {f['confident'] / n:6.1%} ({f['confident_right']}/{f['confident']} right)")
    print(f"{len(near)} of {len(cases)} test questions are within one term of {len(dropped)} aliases")


if __name__ == "__main__":
    if "--near-aliases" in sys.argv[1:]:
        without_near_aliases()
    else:
        main()
