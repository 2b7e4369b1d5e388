"""Crisis classifier latency: p50 and p99 for short and 4,000-character messages (target: well under 5 ms).

Run from the repository root: `python bench/safety_classifier.py`. The messages are built from the
development sets in tests/unit/safety_dev*.toml (seeded, so runs are comparable):

- short: each development message on its own (a few words to a few sentences);
- long everyday: 4,000 characters of everyday messages run together;
- long with one risk clause: the same, with one crisis message somewhere in the middle;
- long, all crisis: 4,000 characters of crisis messages (the worst case: everything matches).

Times are per call of the built-in classifier, after a warm-up: wall-clock, and the CPU time of
the calling thread (which a busy machine does not inflate).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402

LENGTH = 4000
ROUNDS = 300


def _sets() -> list[dict[str, list[str]]]:
    return [tomllib.loads(p.read_text(encoding="utf-8"))
            for p in sorted((ROOT / "tests" / "unit").glob("safety_dev*.toml"))]


def _run_together(rng: random.Random, texts: list[str], length: int = LENGTH) -> str:
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < length:
        parts.append(rng.choice(texts))
    return " ".join(parts)[:length]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    book = load_content(ROOT / "content").parts["safety"]
    sets = _sets()
    everyday = [t for s in sets for t in s["everyday"]]
    crisis = [t for s in sets for t in s["crisis"]]
    short = [t for s in sets for key in ("crisis", "concern", "everyday") for t in s[key]]
    rng = random.Random(7)
    with_clause = []
    for _ in range(20):
        text = _run_together(rng, everyday, LENGTH - 200)
        cut = rng.randrange(len(text) // 4, 3 * len(text) // 4)
        cut = text.rfind(" ", 0, cut) + 1
        with_clause.append((text[:cut] + rng.choice(crisis) + " " + text[cut:])[:LENGTH])
    cases = {
        "short (dev set messages)": short,
        "long everyday (4,000 chars)": [_run_together(rng, everyday) for _ in range(20)],
        "long with one risk clause (4,000 chars)": with_clause,
        "long, all crisis (4,000 chars)": [_run_together(rng, crisis) for _ in range(20)],
    }
    for text in short[:50]:  # warm-up (regex and word caches)
        book.classify(text)
    start = time.perf_counter()
    sum(range(10_000_000))
    reference = time.perf_counter() - start
    print(f"safety classifier: {len(book.phrases)} built-in phrases; {ROUNDS} calls per case "
          f"(machine speed check: sum(range(10**7)) took {reference:.2f} s; about 0.15 s when idle)")
    for name, texts in cases.items():
        wall, cpu = [], []
        for i in range(ROUNDS):
            text = texts[i % len(texts)]
            start, start_cpu = time.perf_counter(), time.thread_time()
            book.classify(text)
            cpu.append((time.thread_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
        p50, p99 = _percentiles(wall)
        c50, c99 = _percentiles(cpu)
        print(f"  {name:42} wall p50 {p50:5.2f} ms  p99 {p99:5.2f} ms   "
              f"cpu p50 {c50:5.2f} ms  p99 {c99:5.2f} ms")


if __name__ == "__main__":
    main()
