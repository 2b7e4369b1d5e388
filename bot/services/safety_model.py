"""A small linear model that reads crisis language alongside the rules in bot.services.safety.

The rules are precise and explainable but only know the wordings someone foresaw. This model
learns from every labelled message we have (the table test, the development sets and the
colleague sets in tests/unit) which words, word pairs and word pieces tend to come with crisis
or concern, so it also notices wordings no rule names. It is deliberately plain:

- two logistic regressions over the same features: `care` (concern or crisis, against none)
  and `crisis` (crisis, against concern or none);
- features of the normalised text (the rules' normaliser, so "dont", "wanna" and "kms" read the
  same): each distinct word, each pair of neighbouring words in a sentence, and the letter
  groups (3 to 5 letters) of each word, which carry typos ("suicdal", "overdoes") to the word;
- a message is read in overlapping windows of a few dozen words, and its score is that of its
  most worrying window, so one risk clause in a long friendly message is not diluted;
- the weights ship as a readable TOML file (content/safety_model.toml), written by
  `python bench/safety_train.py`; training is pure Python and deterministic.

Scoring needs no numpy: each word's weight (the word plus its letter groups) is summed once
and cached, so a 4,000-character message costs a few thousand dictionary look-ups.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

BOUNDARY = "."
HEADS = ("care", "crisis")
CHAR_SIZES = (3, 4, 5)
WINDOW = 24
STRIDE = 8
CHAR_SHARE = 4.0
_WORD_CACHE_LIMIT = 50_000


def _word_features(word: str) -> list[tuple[str, float]]:
    """A word's own features: the word, and its letter groups (marked with < > at the ends).

    The letter groups of one word share a total value of CHAR_SHARE, so a long word does not
    outweigh a short one.
    """
    if word.isdigit():
        return [("w:#num", 1.0)]
    feats = [("w:" + word, 1.0)]
    padded = f"<{word}>"
    grams = [padded[i:i + size] for size in CHAR_SIZES for i in range(len(padded) - size + 1)]
    if grams:
        value = CHAR_SHARE / len(grams) if CHAR_SHARE else 1.0
        feats.extend(("c:" + g, value) for g in grams)
    return feats


def windows(
    tokens: Sequence[str], size: int | None = None, stride: int | None = None
) -> list[tuple[int, int]]:
    """Overlapping token ranges [start, end) covering the text; one range for a short text."""
    size = size or WINDOW
    stride = stride or STRIDE
    if len(tokens) <= size:
        return [(0, len(tokens))]
    spans = [(start, start + size) for start in range(0, len(tokens) - size + 1, stride)]
    if spans[-1][1] < len(tokens):
        spans.append((len(tokens) - size, len(tokens)))
    return spans


def features(tokens: Sequence[str]) -> dict[str, float]:
    """The features of one window of normalised tokens (what training sees and scoring sums)."""
    values: dict[str, float] = {}
    seen: set[str] = set()
    for token in tokens:
        if token != BOUNDARY and token not in seen:
            seen.add(token)
            for name, value in _word_features(token):
                values[name] = values.get(name, 0.0) + value
    for a, b in pairwise(tokens):
        if a != BOUNDARY and b != BOUNDARY:
            values[f"b:{a} {b}"] = 1.0
    return values


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Head:
    """One logistic regression: a bias and a weight per feature (missing features weigh 0)."""

    bias: float
    weights: Mapping[str, float]


@dataclass(frozen=True)
class ModelReading:
    """What the model makes of a text: the two probabilities and the words that drove them."""

    care: float
    crisis: float
    care_terms: tuple[str, ...] = ()
    crisis_terms: tuple[str, ...] = ()


@dataclass
class SafetyModel:
    """The trained heads, the thresholds that turn their probabilities into levels, and notes."""

    heads: Mapping[str, Head]
    # care >= concern: concern; crisis >= crisis: crisis on its own; crisis >= crisis_with_rule:
    # crisis when the rules found at least concern.
    thresholds: Mapping[str, float]
    trained_on: str = ""
    _cache: dict[str, tuple[float, ...]] = field(default_factory=dict, repr=False, compare=False)

    def _word(self, word: str) -> tuple[float, ...]:
        cached = self._cache.get(word)
        if cached is None:
            feats = _word_features(word)
            cached = tuple(sum(self.heads[h].weights.get(f, 0.0) * v for f, v in feats) for h in HEADS)
            if len(self._cache) < _WORD_CACHE_LIMIT:
                self._cache[word] = cached
        return cached

    def _window(
        self, tokens: Sequence[str], start: int, end: int
    ) -> tuple[list[float], dict[str, list[float]]]:
        """The logit of each head over tokens[start:end], and each word's or pair's part in it."""
        logits = [self.heads[h].bias for h in HEADS]
        parts: dict[str, list[float]] = {}
        seen: set[str] = set()
        for index in range(start, end):
            token = tokens[index]
            if token == BOUNDARY or token in seen:
                continue
            seen.add(token)
            values = self._word(token)
            parts[token] = list(values)
            for h in range(len(HEADS)):
                logits[h] += values[h]
        pairs: set[str] = set()
        for index in range(start, end - 1):
            a, b = tokens[index], tokens[index + 1]
            if a == BOUNDARY or b == BOUNDARY:
                continue
            pair = f"{a} {b}"
            if pair in pairs:
                continue
            pairs.add(pair)
            key = "b:" + pair
            values = [self.heads[h].weights.get(key, 0.0) for h in HEADS]
            if any(values):
                parts[pair] = values
                for h in range(len(HEADS)):
                    logits[h] += values[h]
        return logits, parts

    @cached_property
    def _pairs(self) -> dict[str, tuple[float, ...]]:
        """Each word pair with a weight in any head, and its weight in each."""
        names = {k[2:] for h in HEADS for k in self.heads[h].weights if k.startswith("b:")}
        return {n: tuple(self.heads[h].weights.get("b:" + n, 0.0) for h in HEADS) for n in names}

    def read(self, tokens: Sequence[str], explain: int = 4) -> ModelReading:
        """Score normalised tokens: each head's probability in its most worrying window.

        Each word and pair is looked up once; a window then adds up the values of the words and
        pairs whose previous occurrence lies before it (so each counts once per window, as in
        training).
        """
        count = len(tokens)
        if not any(t != BOUNDARY for t in tokens):
            return ModelReading(0.0, 0.0)
        care = [0.0] * count
        crisis = [0.0] * count
        previous = [-1] * count
        last: dict[str, int] = {}
        for i, token in enumerate(tokens):
            if token == BOUNDARY:
                continue
            care[i], crisis[i] = self._word(token)
            previous[i] = last.get(token, -1)
            last[token] = i
        pairs = self._pairs
        pair_at: list[tuple[int, int, float, float]] = []  # position, previous occurrence, values
        last = {}
        for i in range(count - 1):
            a, b = tokens[i], tokens[i + 1]
            if a == BOUNDARY or b == BOUNDARY:
                continue
            name = f"{a} {b}"
            values = pairs.get(name)
            if values is not None:
                pair_at.append((i, last.get(name, -1), values[0], values[1]))
                last[name] = i
        biases = (self.heads["care"].bias, self.heads["crisis"].bias)
        best = [-math.inf, -math.inf]
        where = [(0, count), (0, count)]
        pair_positions = [p[0] for p in pair_at]
        for start, end in windows(tokens):
            z_care, z_crisis = biases
            for i in range(start, end):
                if previous[i] < start:
                    z_care += care[i]
                    z_crisis += crisis[i]
            low, high = bisect_left(pair_positions, start), bisect_left(pair_positions, end - 1)
            for _, before, v_care, v_crisis in pair_at[low:high]:
                if before < start:
                    z_care += v_care
                    z_crisis += v_crisis
            if z_care > best[0]:
                best[0], where[0] = z_care, (start, end)
            if z_crisis > best[1]:
                best[1], where[1] = z_crisis, (start, end)
        terms = []
        for h in range(len(HEADS)):
            _, parts = self._window(tokens, *where[h])
            ranked = sorted(((v[h], k) for k, v in parts.items() if v[h] > 0.05), reverse=True)
            terms.append(tuple(k for _, k in ranked[:explain]))
        return ModelReading(_sigmoid(best[0]), _sigmoid(best[1]), terms[0], terms[1])


# ----- training (pure Python, deterministic) --------------------------------------------


@dataclass(frozen=True)
class TrainOptions:
    """How a head is trained: epochs of AdaGrad over the examples, L2 strength, pruning."""

    epochs: int = 15
    learning_rate: float = 0.3
    l2: float = 1e-3
    min_count: int = 2  # a feature must appear in at least this many training texts
    prune: float = 0.005  # weights smaller than this are dropped from the shipped file
    seed: int = 7


def example_windows(tokens: Sequence[str]) -> list[dict[str, float]]:
    """The feature counts of each window of a training text."""
    return [features(tokens[start:end]) for start, end in windows(tokens)]


def train_head(
    examples: Sequence[tuple[Sequence[dict[str, float]], int]],
    options: TrainOptions = TrainOptions(),
) -> Head:
    """Fit one logistic regression.

    Each example is (the feature counts of its windows, label 0 or 1). A negative example
    contributes every window (the message is scored by its worst window, so every window must
    read as safe); a positive example contributes its whole text as one window when short, and
    otherwise the window the model currently scores highest (refreshed each epoch), since the
    risk in a long message usually sits in one clause.
    """
    doc_freq: Counter[str] = Counter()
    for wins, _ in examples:
        doc_freq.update(set().union(*[w.keys() for w in wins]) if wins else set())
    vocab = sorted(f for f, n in doc_freq.items() if n >= options.min_count)
    index = {f: i for i, f in enumerate(vocab)}

    def encode(counts: dict[str, float]) -> list[tuple[int, float]]:
        return [(index[f], v) for f, v in sorted(counts.items()) if f in index]

    instances: list[tuple[list[list[tuple[int, float]]], int]] = []
    for wins, label in examples:
        encoded = [encode(w) for w in wins]
        if label == 0:
            instances.extend(([e], 0) for e in encoded)
        else:
            instances.append((encoded, 1))
    positives = sum(1 for _, y in instances if y == 1)
    negatives = len(instances) - positives
    # Balance the classes: each side weighs as much as the other in total.
    weight = {1: len(instances) / (2 * max(1, positives)), 0: len(instances) / (2 * max(1, negatives))}
    w = [0.0] * len(vocab)
    g2 = [1e-8] * len(vocab)
    bias, bias_g2 = 0.0, 1e-8
    rng = random.Random(options.seed)
    order = list(range(len(instances)))
    rate, l2 = options.learning_rate, options.l2
    for _ in range(options.epochs):
        rng.shuffle(order)
        for n in order:
            choices, label = instances[n]
            if len(choices) == 1:
                x = choices[0]
                z = bias + sum(w[i] * v for i, v in x)
            else:
                scored = [(bias + sum(w[i] * v for i, v in c), c) for c in choices]
                z, x = max(scored, key=lambda s: s[0])
            grad = (_sigmoid(z) - label) * weight[label]
            for i, v in x:
                g = grad * v + l2 * w[i]
                g2[i] += g * g
                w[i] -= rate * g / math.sqrt(g2[i])
            bias_g2 += grad * grad
            bias -= rate * grad / math.sqrt(bias_g2)
    weights = {f: round(w[i], 4) for f, i in index.items() if abs(w[i]) >= options.prune}
    return Head(round(bias, 4), weights)


def train_model(
    texts: Iterable[tuple[Sequence[str], str]],
    thresholds: Mapping[str, float],
    options: TrainOptions = TrainOptions(),
    trained_on: str = "",
) -> SafetyModel:
    """Train both heads on (normalised tokens, level) pairs, level being none, concern or crisis."""
    data = [(example_windows(tokens), level) for tokens, level in texts]
    care = train_head([(wins, int(level != "none")) for wins, level in data], options)
    crisis = train_head([(wins, int(level == "crisis")) for wins, level in data], options)
    return SafetyModel({"care": care, "crisis": crisis}, dict(thresholds), trained_on)


# ----- the shipped file --------------------------------------------------------------------


def _toml_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump_model(model: SafetyModel, header: str = "") -> str:
    """The model as TOML: thresholds, then each head's bias and weights (largest first)."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += ["", "[model]", f"trained_on = {_toml_key(model.trained_on)}",
              f"window = {WINDOW}", f"stride = {STRIDE}",
              "char_sizes = [" + ", ".join(str(s) for s in CHAR_SIZES) + "]", f"char_share = {CHAR_SHARE}",
              "", "[thresholds]"]
    lines += [f"{name} = {value}" for name, value in model.thresholds.items()]
    for name in HEADS:
        head = model.heads[name]
        lines += ["", f"[{name}]", f"bias = {head.bias}", "", f"[{name}.weights]"]
        ranked = sorted(head.weights.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        lines += [f"{_toml_key(k)} = {v}" for k, v in ranked]
    return "\n".join(lines) + "\n"


class ModelFileError(ValueError):
    """A problem in the model file: `key` says where."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelFileError(key, "must be a number")
    return float(value)


def parse_model(data: Mapping[str, object]) -> SafetyModel:
    """Build a model from the parsed TOML file, checking every part (ModelFileError on a problem)."""
    unknown = set(data) - {"model", "thresholds", *HEADS}
    if unknown:
        raise ModelFileError(sorted(unknown)[0], "is not a known key")
    meta = data.get("model")
    if not isinstance(meta, dict):
        raise ModelFileError("model", "is missing (a table: trained_on, window, stride, char_sizes...)")
    expected = {"window": WINDOW, "stride": STRIDE, "char_sizes": list(CHAR_SIZES), "char_share": CHAR_SHARE}
    for key, value in expected.items():
        if meta.get(key) != value:
            raise ModelFileError(f"model.{key}", f"is {meta.get(key)!r} but the code reads text "
                                 f"with {value!r}: retrain with `python bench/safety_train.py`")
    thresholds = data.get("thresholds")
    if not isinstance(thresholds, dict):
        raise ModelFileError("thresholds", "is missing")
    checked: dict[str, float] = {}
    for key in ("concern", "crisis", "crisis_with_rule"):
        value = _number(thresholds.get(key), f"thresholds.{key}")
        if not 0 < value < 1:
            raise ModelFileError(f"thresholds.{key}", "must be between 0 and 1")
        checked[key] = value
    if set(thresholds) - set(checked):
        raise ModelFileError(f"thresholds.{sorted(set(thresholds) - set(checked))[0]}", "is not a known key")
    if not checked["crisis_with_rule"] <= checked["crisis"]:
        raise ModelFileError("thresholds.crisis_with_rule", "must not be above thresholds.crisis")
    heads: dict[str, Head] = {}
    for name in HEADS:
        table = data.get(name)
        if not isinstance(table, dict) or not isinstance(table.get("weights"), dict):
            raise ModelFileError(name, "is missing (a bias and a [weights] table)")
        weights: dict[str, float] = {}
        for key, value in table["weights"].items():
            if key[:2] not in ("w:", "b:", "c:") or len(key) < 3:
                raise ModelFileError(f"{name}.weights.{key}", "a feature starts with w:, b: or c:")
            weights[key] = _number(value, f"{name}.weights.{key}")
        heads[name] = Head(_number(table.get("bias"), f"{name}.bias"), weights)
    trained_on = meta.get("trained_on", "")
    return SafetyModel(heads, checked, trained_on if isinstance(trained_on, str) else "")
