"""The crisis model read alongside the rules: how it decides, explains, loads and trains."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from bot.content import load_content
from bot.services.safety import CrisisLevel, Phrase, PhraseBook, compile_parts, normalise_tokens
from bot.services.safety_model import (
    Head,
    ModelFileError,
    SafetyModel,
    TrainOptions,
    dump_model,
    parse_model,
    train_model,
)

CONTENT = Path(__file__).resolve().parents[2] / "content"
THRESHOLDS = {"concern": 0.6, "crisis": 0.9, "crisis_with_rule": 0.7}


@pytest.fixture(scope="module")
def book() -> PhraseBook:
    return load_content(CONTENT).parts["safety"]


def toy(care: dict[str, float], crisis: dict[str, float], bias: float = -3.0) -> SafetyModel:
    return SafetyModel({"care": Head(bias, care), "crisis": Head(bias, crisis)}, THRESHOLDS, "toy")


def guild(book: PhraseBook, text: str, level: str) -> Phrase:
    return Phrase(text, level, compile_parts(text, book.spelling, plain=True))


def test_the_shipped_model_loads_with_sane_thresholds(book: PhraseBook) -> None:
    model = book.model
    assert model is not None
    assert 0 < model.thresholds["crisis_with_rule"] <= model.thresholds["crisis"] < 1
    assert len(model.heads["care"].weights) > 1000 and "colleague1" in model.trained_on
    assert book.examples and all(book.classify(text).level is CrisisLevel.CRISIS for text in book.examples)


def test_the_model_never_lowers_what_the_rules_found(book: PhraseBook) -> None:
    hopeless = replace(book, model=toy({}, {}, bias=-50.0))
    assert hopeless.classify("I want to kill myself").level is CrisisLevel.CRISIS
    assert hopeless.classify("I feel so alone").level is CrisisLevel.CONCERN
    assert hopeless.classify("I feel so alone").matched == book.classify("I feel so alone").matched


def test_the_model_raises_a_level_and_says_which_words_did_it(book: PhraseBook) -> None:
    text = "the quokka is waiting for me at the pier"
    assert replace(book, model=None).classify(text).level is CrisisLevel.NONE
    concern = replace(book, model=toy({"w:quokka": 4.0}, {}))
    result = concern.classify(text)
    assert result.level is CrisisLevel.CONCERN
    assert len(result.matched) == 1 and result.matched[0].startswith("model: concern 0.7")
    assert "quokka" in result.matched[0]
    crisis = replace(book, model=toy({}, {"w:quokka": 2.5, "b:the pier": 3.0}))
    result = crisis.classify(text)
    assert result.level is CrisisLevel.CRISIS
    assert result.matched == ("model: crisis 0.92 from the pier, quokka",)


def test_a_lower_crisis_score_is_enough_only_next_to_a_rule_concern_that_is_not_negated(
    book: PhraseBook,
) -> None:
    model = replace(book, model=toy({}, {"w:awful": 4.0}))  # crisis score 0.73: not enough alone
    assert model.classify("everything is awful").level is CrisisLevel.CONCERN  # by the care threshold
    assert model.classify("I feel so alone and awful").level is CrisisLevel.CRISIS
    assert model.classify("I won't hurt myself, I just feel awful").level is CrisisLevel.CONCERN


def test_a_guild_ignore_phrase_hides_words_from_concern_but_never_from_crisis(book: PhraseBook) -> None:
    model = replace(book, model=toy({"w:quokka": 4.0}, {"w:pier": 6.0}))
    quiet = (guild(book, "the quokka club", "ignore"),)
    assert model.classify("off to the quokka club").level is CrisisLevel.CONCERN
    assert model.classify("off to the quokka club", quiet).level is CrisisLevel.NONE
    loud = (guild(book, "walking to the pier", "ignore"),)
    assert model.classify("walking to the pier", loud).level is CrisisLevel.CRISIS


def test_long_text_is_read_in_windows_so_one_risk_clause_is_not_diluted(book: PhraseBook) -> None:
    words = [f"word{n}x" for n in range(80)]  # 80 different everyday words, each slightly safe
    model = toy({}, {"w:quokka": 6.0, **{f"w:{w}": -0.1 for w in words}})
    half = " ".join(words[:40]) + ". "
    tokens = normalise_tokens(half + "the quokka. " + " ".join(words[40:]), book.spelling)
    whole_text, _ = model._window(tokens, 0, len(tokens))
    assert whole_text[1] < -4  # read as one piece, the safe words would drown the risk
    reading = model.read(tokens)
    assert reading.crisis > 0.5 and reading.crisis_terms == ("quokka",)
    assert model.read(normalise_tokens(half, book.spelling)).crisis < 0.01


CORPUS = [
    ("I want to die tonight", "crisis"), ("i have the pills ready", "crisis"),
    ("goodbye forever everyone", "crisis"), ("i feel so alone lately", "concern"),
    ("nobody cares about me", "concern"), ("pizza tonight with friends", "none"),
    ("dying to see the new film", "none"), ("my phone died again", "none"),
    ("the pills are for my headache", "none"), ("i want to die of embarrassment lol", "none"),
]


def test_training_is_deterministic_and_the_file_round_trips(book: PhraseBook) -> None:
    texts = [(normalise_tokens(t, book.spelling), level) for t, level in CORPUS]
    options = TrainOptions(epochs=5, min_count=1)
    first = train_model(texts, THRESHOLDS, options, "toy corpus")
    second = train_model(texts, THRESHOLDS, options, "toy corpus")
    dumped = dump_model(first, "a toy model")
    assert dumped == dump_model(second, "a toy model")
    loaded = parse_model(tomllib.loads(dumped))
    assert loaded.thresholds == THRESHOLDS and loaded.trained_on == "toy corpus"
    for tokens, _ in texts:
        assert loaded.read(tokens).crisis == pytest.approx(first.read(tokens).crisis, abs=1e-3)
    crisis = loaded.read(normalise_tokens("I want to die tonight", book.spelling))
    calm = loaded.read(normalise_tokens("pizza tonight with friends", book.spelling))
    assert crisis.crisis > calm.crisis and crisis.care > calm.care


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["thresholds"].update(concern=1.5), "thresholds.concern"),
        (lambda d: d["thresholds"].update(crisis_with_rule=0.99), "thresholds.crisis_with_rule"),
        (lambda d: d["model"].update(window=99), "model.window"),
        (lambda d: d["care"]["weights"].update({"x:odd": 1.0}), "care.weights.x:odd"),
        (lambda d: d["crisis"].update(bias="high"), "crisis.bias"),
        (lambda d: d.pop("care"), "care"),
    ],
)
def test_a_broken_model_file_names_the_key(book: PhraseBook, change, key: str) -> None:
    texts = [(normalise_tokens(t, book.spelling), level) for t, level in CORPUS]
    data = tomllib.loads(dump_model(train_model(texts, THRESHOLDS, TrainOptions(epochs=1, min_count=1))))
    change(data)
    with pytest.raises(ModelFileError) as caught:
        parse_model(data)
    assert caught.value.key == key
