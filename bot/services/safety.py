"""Crisis-language detection: classify text as none, concern or crisis.

The classifier is a list of phrases (content/safety.toml plus each guild's own),
matched against normalised text. It is deliberately simple and explainable: a
moderator can see exactly which phrase matched, and a member's words never leave
the process. Negation just before a phrase lowers its level by one, and a phrase
inside a known idiom does not count.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from bot.errors import UserFacingError

if TYPE_CHECKING:
    from bot.storage.safety import GuildPhrase, SafetyStore

log = logging.getLogger(__name__)


class CrisisLevel(StrEnum):
    """How worried Hearth is about a piece of text."""

    NONE = "none"
    CONCERN = "concern"
    CRISIS = "crisis"

    @property
    def rank(self) -> int:
        """Return 0, 1 or 2 so levels can be compared."""
        return _RANKS[self]

    def lowered(self) -> CrisisLevel:
        """Return the level one step down (crisis -> concern -> none)."""
        return _ORDER[max(0, self.rank - 1)]


_ORDER = (CrisisLevel.NONE, CrisisLevel.CONCERN, CrisisLevel.CRISIS)
_RANKS = {level: index for index, level in enumerate(_ORDER)}


@dataclass(frozen=True)
class Assessment:
    """The level of a text and the phrases that led to it (normalised, in order of appearance)."""

    level: CrisisLevel
    matched: tuple[str, ...] = ()

    @property
    def needs_care(self) -> bool:
        """Say whether the writer should be offered resources (concern or crisis)."""
        return self.level is not CrisisLevel.NONE

    def to_json(self) -> dict[str, object]:
        """Return the form the command line prints with --json."""
        return {"level": self.level.value, "matched": list(self.matched)}


NO_CONCERN = Assessment(CrisisLevel.NONE)

# ----- normalisation -----------------------------------------------------------

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u0060": "'", "\u00b4": "'",
                         "\u2032": "'", "\u201c": '"', "\u201d": '"', "\uff07": "'"})
_QUOTE_CHARS = re.compile("[" + "".join(chr(c) for c in _QUOTES) + "]")


def _straighten(text: str) -> str:
    """Make curly quotes and backticks straight (a regex: str.translate is slow on long text)."""
    return _QUOTE_CHARS.sub(lambda m: _QUOTES[ord(m.group())], text)  # type: ignore[return-value]
# Sentence and clause punctuation becomes a boundary token; it stops "..." gaps and negation.
_BOUNDARY_CHARS = re.compile(r"[.!?;:,\n\r\u2026\u2014\u2013()\[\]\"]+|\s-+\s")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|\.")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SLASHED = re.compile(r"\bw/o\b|\bw/(?=\s|[a-z])")
BOUNDARY = "."

_NOT_CONTRACTIONS = {"can't": "can not", "won't": "will not", "shan't": "shall not", "ain't": "is not"}
_SUFFIXES = {"'m": "am", "'re": "are", "'ve": "have", "'ll": "will", "'d": "would"}
_IS_PRONOUNS = {"it", "that", "he", "she", "there", "what", "everything", "nothing", "life", "who", "this"}
# Contractions typed without the apostrophe.
_BARE = {
    "im": "i am", "ive": "i have", "dont": "do not", "cant": "can not", "cannot": "can not",
    "wont": "will not", "didnt": "did not", "doesnt": "does not", "isnt": "is not", "wasnt": "was not",
    "arent": "are not", "werent": "were not", "couldnt": "could not", "wouldnt": "would not",
    "shouldnt": "should not", "havent": "have not", "hasnt": "has not", "hadnt": "had not",
    "aint": "is not", "thats": "that is", "youre": "you are", "theyre": "they are", "shes": "she is",
    "whos": "who is", "id": "i would", "itll": "it will", "ill": "ill",
}
# "ill" means "i will" when a verb follows, and "unwell" otherwise.
_ILL_VERBS = {"kill", "end", "do", "hurt", "jump", "take", "just", "never", "be", "go", "die", "cut",
              "probably", "finally", "not", "make", "try", "disappear", "leave", "overdose"}


@lru_cache(maxsize=8192)
def _expand(token: str) -> tuple[str, ...]:
    if token in _NOT_CONTRACTIONS:
        return tuple(_NOT_CONTRACTIONS[token].split())
    if token.endswith("n't"):
        return (token[:-3], "not")
    head, apostrophe, tail = token.partition("'")
    if apostrophe:
        suffix = "'" + tail
        if suffix in _SUFFIXES:
            return (head, _SUFFIXES[suffix])
        if suffix == "'s":
            return (head, "is") if head in _IS_PRONOUNS else (head,)
        return (head + tail,)
    return (token,)


_WORD_CACHE_SIZE = 20_000
_word_caches: dict[int, tuple[Mapping[str, str], dict[str, tuple[str, ...]]]] = {}


def _word_cache(spelling: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """A cache of normalised words for one spelling table (kept while the table lives)."""
    entry = _word_caches.get(id(spelling))
    if entry is None or entry[0] is not spelling:
        if len(_word_caches) > 8:
            _word_caches.clear()
        entry = (spelling, {})
        _word_caches[id(spelling)] = entry
    return entry[1]


def _normalise_word(word: str, spelling: Mapping[str, str]) -> tuple[str, ...]:
    out: list[str] = []
    for part in _expand(word):
        replacement = _BARE.get(part)
        if replacement is None:
            replacement = spelling.get(part, part)  # "" drops a filler word
        out.extend(replacement.split())
    return tuple(out)


def normalise_tokens(text: str, spelling: Mapping[str, str] | None = None) -> list[str]:
    """Turn text into lower-case words and boundary tokens, expanding contractions and spellings."""
    spelling = spelling or {}
    text = _straighten(unicodedata.normalize("NFKC", text)).casefold()
    if not text.isascii():
        for symbol, word in spelling.items():
            if not symbol.isascii() and symbol in text:
                text = text.replace(symbol, f" {word} ")
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    if "/" in text:
        text = _SLASHED.sub(lambda m: " without " if m.group(0) == "w/o" else " with ", text)
    text = _BOUNDARY_CHARS.sub(" . ", text)
    text = _REPEATS.sub(r"\1", text)
    tokens: list[str] = []
    raw = _TOKEN.findall(text)
    cache = _word_cache(spelling)
    for index, word in enumerate(raw):
        if word == BOUNDARY:
            if tokens and tokens[-1] != BOUNDARY:
                tokens.append(BOUNDARY)
            continue
        if word == "ill":
            following = raw[index + 1] if index + 1 < len(raw) else ""
            tokens.extend(("i", "will") if following in _ILL_VERBS else ("ill",))
            continue
        words = cache.get(word)
        if words is None:
            words = _normalise_word(word, spelling)
            if len(cache) < _WORD_CACHE_SIZE:
                cache[word] = words
        tokens.extend(words)
    while tokens and tokens[-1] == BOUNDARY:
        tokens.pop()
    while tokens and tokens[0] == BOUNDARY:
        tokens.pop(0)
    return tokens


@lru_cache(maxsize=8192)
def squeeze(word: str) -> str:
    """Collapse every run of one letter to a single letter ("kill" -> "kil")."""
    return re.sub(r"(.)\1+", r"\1", word)



# ----- phrase patterns -----------------------------------------------------------

class PhraseError(ValueError):
    """A phrase that cannot be compiled; the message says why."""


_PATTERN_TOKEN = re.compile(r"\{|\}|\||\.\.\.|\$|~|&|@[a-z0-9_]+|[a-z0-9']+\*?|\S")
_SYNTAX = ("{", "}", "|", "...", "$", "~", "&")
_CONCEPT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# A gap never swallows a negation: "I will not hurt myself" must not match "will ... hurt myself"
# (the negation is judged separately, and lowers the match instead).
# A short gap does not cross to someone else either: "I want him dead" is not about the writer.
_GAP_WORD = r"(?!(?:not|never|no|nor) )[a-z0-9]+ "
_GAP = r"(?:(?!(?:he|she|they|him|her|them|you) )" + _GAP_WORD + r"){0,3}"
_WIDE_GAP = r"(?:" + _GAP_WORD + r"|\. ){0,6}"


def _word_regex(word: str) -> str:
    prefix = word.endswith("*")
    core = squeeze(word.rstrip("*"))
    letters = "".join(re.escape(c) + "+" for c in core)
    return letters + (r"[a-z0-9]*" if prefix else "") + " "


# A parsed phrase is a sequence of nodes: a word, a gap, a sentence end, or a choice of sequences.
@dataclass(frozen=True)
class _Word:
    text: str  # normalised; ends with "*" for a prefix

    @property
    def key(self) -> str | None:
        """The squeezed word the text must contain, or None for a prefix."""
        return None if self.text.endswith("*") else squeeze(self.text)


@dataclass(frozen=True)
class _Gap:
    wide: bool


@dataclass(frozen=True)
class _End:
    pass


@dataclass(frozen=True)
class _Choice:
    options: tuple[tuple[object, ...], ...]


_Seq = tuple[object, ...]


def _phrase_words(source: str, spelling: Mapping[str, str]) -> list[str]:
    """Normalise the words of a phrase the same way text is normalised, keeping syntax tokens."""
    out: list[str] = []
    for token in _PATTERN_TOKEN.findall(_straighten(source.casefold())):
        if token in _SYNTAX or token.endswith("*") or token.startswith("@"):
            out.append(token)
        elif re.fullmatch(r"[a-z0-9']+", token):
            out.extend(w for w in normalise_tokens(token, spelling) if w != BOUNDARY)
        else:
            raise PhraseError(f"unexpected character {token!r}")
    return out


def _parse_sequence(
    tokens: list[str], pos: int, depth: int, concepts: Mapping[str, _Choice]
) -> tuple[_Seq, int]:
    nodes: list[object] = []
    while pos < len(tokens):
        token = tokens[pos]
        if token in ("|", "}", "&"):
            if token == "&" and depth == 0:
                break
            if depth == 0 or token == "&":
                raise PhraseError(f"{token!r} outside a {{...}} group" if token != "&"
                                  else "'&' inside a {...} group")
            break
        if token == "{":
            options: list[_Seq] = []
            pos += 1
            while True:
                option, pos = _parse_sequence(tokens, pos, depth + 1, concepts)
                options.append(option)
                if pos >= len(tokens):
                    raise PhraseError("a { group is not closed")
                if tokens[pos] == "}":
                    pos += 1
                    break
                pos += 1  # the "|"
            nodes.append(_Choice(tuple(options)))
            continue
        if token.startswith("@"):
            name = token[1:]
            if name not in concepts:
                raise PhraseError(f"unknown concept @{name}")
            nodes.append(concepts[name])
        elif token == "...":
            nodes.append(_Gap(wide=False))
        elif token == "~":
            nodes.append(_Gap(wide=True))
        elif token == "$":
            nodes.append(_End())
        else:
            nodes.append(_Word(token))
        pos += 1
    return tuple(nodes), pos


def parse_phrase(
    source: str, spelling: Mapping[str, str] | None = None, concepts: Mapping[str, _Choice] | None = None
) -> list[_Seq]:
    """Parse a phrase into its parts (more than one when joined with "&")."""
    tokens = _phrase_words(source, spelling or {})
    parts: list[_Seq] = []
    pos = 0
    while True:
        seq, pos = _parse_sequence(tokens, pos, 0, concepts or {})
        if pos < len(tokens) and tokens[pos] == "}":
            raise PhraseError("a } has no matching {")
        if not _has_word(seq):
            raise PhraseError("the phrase has no words" if not parts and pos >= len(tokens)
                              else "each side of '&' needs words")
        parts.append(seq)
        if pos >= len(tokens):
            return parts
        pos += 1  # the "&"


def _has_word(seq: _Seq) -> bool:
    for node in seq:
        if isinstance(node, _Word):
            return True
        if isinstance(node, _Choice) and any(_has_word(option) for option in node.options):
            return True
    return False


def _atoms(seq: _Seq) -> list[str]:
    """A sequence as regex pieces: one per letter of each word, so choices can share prefixes."""
    atoms: list[str] = []
    for node in seq:
        if isinstance(node, _Word):
            prefix = node.text.endswith("*")
            atoms.extend(re.escape(c) + "+" for c in squeeze(node.text.rstrip("*")))
            if prefix:
                atoms.append(r"[a-z0-9]*")
            atoms.append(" ")
        elif isinstance(node, _Gap):
            atoms.append(_WIDE_GAP if node.wide else _GAP)
        elif isinstance(node, _End):
            atoms.append(r"(?=\. |$)")
        else:
            assert isinstance(node, _Choice)
            atoms.append(_choice_regex([_atoms(option) for option in node.options]))
    return atoms


def _choice_regex(options: list[list[str]]) -> str:
    """One regex for a choice, its options merged into a tree on shared leading pieces.

    Python's regex engine tries the options of a choice one by one; with a hundred options
    ("@die") that is slow, while a tree tries one letter and moves on.
    """
    groups: dict[str, list[list[str]]] = {}
    empty = False
    for option in options:
        if not option:
            empty = True
        else:
            groups.setdefault(option[0], []).append(option[1:])
    branches = [head + _choice_regex(rests) for head, rests in groups.items()]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if empty else body


def _regex(seq: _Seq) -> str:
    return "".join(_atoms(seq))


def _nullable(node: object) -> bool:
    if isinstance(node, _Word):
        return False
    if isinstance(node, _Choice):
        return any(all(_nullable(n) for n in option) for option in node.options)
    return True


# Words so common that anchoring a search on them saves nothing (a performance detail only).
_COMMON_WORDS = """
a about all am an and any are as at back be been being but by can could day do does down even
every feel felt for from get go going got had has have he her him his how i if in is it just keep
know like make may me might more much my need never no not now of off on one or out over really
she should so some still stop take than that the their them then there they think this time to too
up us very want was we were what when will with would you your right today around away here
"""


_COMMON = frozenset(squeeze(word) for word in _COMMON_WORDS.split())


def _cost(words: frozenset[str]) -> int:
    """How often a word set is likely to occur: a common word costs as much as a thousand rare ones."""
    return sum(1000 if word in _COMMON or word.endswith("*") else 1 for word in words)


def _starts(seq: _Seq) -> tuple[frozenset[str], bool] | None:
    """The words (prefixes end in "*") a match can start with, and whether it can be empty.

    None means it can start with any word (it starts with a gap).
    """
    found: set[str] = set()
    for node in seq:
        if isinstance(node, _Gap):
            return None
        if isinstance(node, _End):
            continue
        if isinstance(node, _Word):
            found.add(node.key or squeeze(node.text.rstrip("*")) + "*")
            return frozenset(found), False
        assert isinstance(node, _Choice)
        empty = False
        for option in node.options:
            inner = _starts(option)
            if inner is None:
                return None
            found |= inner[0]
            empty |= inner[1]
        if not empty:
            return frozenset(found), False
    return frozenset(found), True


def _anchor(seq: _Seq) -> frozenset[str] | None:
    """The cheapest set of words one of which every match contains, or None if there is none."""
    best: frozenset[str] | None = None
    for node in seq:
        candidate: frozenset[str] | None = None
        if isinstance(node, _Word):
            candidate = frozenset({node.key or squeeze(node.text.rstrip("*")) + "*"})
        elif isinstance(node, _Choice) and not _nullable(node):
            options = [_anchor(option) for option in node.options]
            if all(option is not None for option in options):
                candidate = frozenset().union(*options)  # type: ignore[arg-type]
        if candidate is not None and (best is None or _cost(candidate) < _cost(best)):
            best = candidate
    return best


def _longest(seq: _Seq) -> int:
    """The most tokens a match can span."""
    total = 0
    for node in seq:
        if isinstance(node, _Word):
            total += 1
        elif isinstance(node, _Gap):
            total += 6 if node.wide else 3
        elif isinstance(node, _Choice):
            total += max(_longest(option) for option in node.options)
    return total


def _required(seq: _Seq) -> tuple[frozenset[str], ...]:
    """Word sets the text must meet (one word of each) for `seq` to have any chance to match."""
    needs: list[frozenset[str]] = []
    for node in seq:
        if isinstance(node, _Word) and node.key is not None:
            needs.append(frozenset({node.key}))
        elif isinstance(node, _Choice) and not _nullable(node):
            starts = _starts((node,))
            if starts is not None and not any(word.endswith("*") for word in starts[0]):
                needs.append(starts[0])
    return tuple(needs)


@dataclass(frozen=True)
class Part:
    """One compiled side of a phrase, with what the matcher needs to find it quickly.

    `first`: the words a match starts with (None: anywhere); `anchor`: words one of which every
    match contains, at most `longest` tokens from its start; `required`: word sets the text must
    meet.
    """

    pattern: re.Pattern[str]
    first: frozenset[str] | None
    anchor: frozenset[str] | None
    longest: int
    required: tuple[frozenset[str], ...]


def _compile_part(seq: _Seq) -> Part:
    try:
        pattern = re.compile(r"(?<= )" + _regex(seq))
    except re.error as exc:  # pragma: no cover - the builder only emits valid regexes
        raise PhraseError(str(exc)) from exc
    starts = _starts(seq)
    first = None if starts is None or starts[1] else starts[0]
    return Part(pattern, first, _anchor(seq), _longest(seq), _required(seq))



def compile_parts(
    source: str,
    spelling: Mapping[str, str] | None = None,
    concepts: Mapping[str, _Choice] | None = None,
    *,
    plain: bool = False,
) -> tuple[Part, ...]:
    """Compile a phrase into its parts; a plain phrase (a moderator's) is just words."""
    if plain:
        words = [w for w in normalise_tokens(source, spelling or {}) if w != BOUNDARY]
        if not words:
            raise PhraseError("the phrase has no words")
        return (_compile_part(tuple(_Word(w) for w in words)),)
    return tuple(_compile_part(seq) for seq in parse_phrase(source, spelling, concepts))


def compile_phrase(
    source: str,
    spelling: Mapping[str, str] | None = None,
    *,
    plain: bool = False,
    concepts: Mapping[str, _Choice] | None = None,
) -> re.Pattern[str]:
    """Compile a one-part phrase into a regex over normalised text (" word word . word ")."""
    parts = compile_parts(source, spelling, concepts, plain=plain)
    if len(parts) != 1:
        raise PhraseError("'&' is not allowed here")
    return parts[0].pattern


def build_concepts(
    definitions: Mapping[str, Iterable[str]],
    spelling: Mapping[str, str] | None = None,
    known: Mapping[str, _Choice] | None = None,
) -> dict[str, _Choice]:
    """Compile named word classes in order; each may use `known` ones and the ones defined before it."""
    concepts: dict[str, _Choice] = dict(known or {})
    for name, sources in definitions.items():
        if not _CONCEPT_NAME.match(name):
            raise PhraseError(f"a concept name is lower-case letters, digits and _, not {name!r}")
        options: list[_Seq] = []
        for source in sources:
            parts = parse_phrase(source, spelling, concepts)
            if len(parts) != 1:
                raise PhraseError(f"'&' is not allowed in a concept ({source!r})")
            options.append(parts[0])
        if not options:
            raise PhraseError(f"the concept @{name} is empty")
        concepts[name] = _Choice(tuple(options))
    return {name: concepts[name] for name in definitions}


LEVELS = ("crisis", "concern", "ignore", "soften")


@dataclass(frozen=True)
class Phrase:
    """One compiled phrase and what it does.

    "crisis" and "concern" raise the level; "ignore" marks an idiom (a match inside it does not
    count); "soften" marks words that make a nearby match count one level lower ("lol", "used to").
    """

    source: str
    level: str
    parts: tuple[Part, ...] = field(compare=False, repr=False)

    @cached_property
    def order(self) -> tuple[int, ...]:
        """The parts, rarest anchor words first (the order to look for them in)."""
        costs = [_cost(p.anchor) if p.anchor is not None else 10**9 for p in self.parts]
        return tuple(sorted(range(len(self.parts)), key=costs.__getitem__))

    @property
    def pattern(self) -> re.Pattern[str]:
        """The regex of the first part."""
        return self.parts[0].pattern


@dataclass(frozen=True)
class Grammar:
    """The small word lists the classifier's rules use (content/safety.toml [grammar])."""

    negators: frozenset[str] = frozenset({"not", "never", "no", "nor", "without"})
    # A negation followed by one of these does not negate what comes after
    # ("I can't stop thinking about ...", "no one would ...").
    negation_breakers: frozenset[str] = frozenset({
        "stop", "help", "wait", "bear", "shake", "get", "tell", "one", "seem", "anyone", "even",
        "understand", "believe", "know", "sure", "care"})
    clause_words: frozenset[str] = frozenset({
        "but", "and", "so", "because", "though", "although", "yet", "cause", "then"})
    # A new subject after a negation ends its reach ("nobody knows I want to die").
    subjects: frozenset[str] = frozenset({"i", "he", "she", "they", "we", "you", "it", "everyone", "nobody"})
    # Words about the writer: a match containing one is about the writer, whoever else is named.
    first_person: frozenset[str] = frozenset({"i", "me", "my", "myself", "mine"})
    # When the nearest subject before a match is one of these, the match is about someone else.
    third_person: frozenset[str] = frozenset({"he", "she", "they", "him", "her", "them", "his", "their"})


DEFAULT_GRAMMAR = Grammar()
NEGATION_WINDOW = 4
SUBJECT_WINDOW = 8
SOFTEN_REACH = 10
# Two different softeners ("makes me want to" and "lol") lower a match two levels; no more.
MAX_SOFTENING = 2
COMBINE_WINDOW = 20
COMBINE_SENTENCES = 1
MAX_REPORTED = 12
# A very long message repeats itself; the first matches of each phrase are enough to judge it.
MAX_MATCHES_PER_PART = 12


@dataclass(frozen=True)
class PhraseBook:
    """Everything the classifier matches: spellings, concepts, phrases by level, and grammar words."""

    spelling: Mapping[str, str] = field(default_factory=dict)
    phrases: tuple[Phrase, ...] = ()
    grammar: Grammar = DEFAULT_GRAMMAR
    concepts: Mapping[str, _Choice] = field(default_factory=dict, compare=False, repr=False)
    # Crisis messages every server's settings must leave crisis (content/safety.toml [examples]).
    examples: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        spelling: Mapping[str, str],
        crisis: Iterable[str] = (),
        concern: Iterable[str] = (),
        idioms: Iterable[str] = (),
        softeners: Iterable[str] = (),
        concepts: Mapping[str, Iterable[str]] | None = None,
        grammar: Grammar = DEFAULT_GRAMMAR,
    ) -> PhraseBook:
        """Compile the built-in lists (raising PhraseError on the first bad phrase)."""
        compiled_concepts = build_concepts(concepts or {}, spelling)
        compiled = [
            Phrase(source, level, compile_parts(source, spelling, compiled_concepts))
            for level, sources in (("crisis", crisis), ("concern", concern), ("ignore", idioms),
                                   ("soften", softeners))
            for source in sources
        ]
        return cls(dict(spelling), tuple(compiled), grammar, compiled_concepts)

    def with_guild(self, extra: Iterable[Phrase]) -> tuple[Phrase, ...]:
        """Return the built-in phrases followed by a guild's own."""
        return (*self.phrases, *extra)

    def classify(self, text: str, extra: Iterable[Phrase] = ()) -> Assessment:
        """Classify text with the built-in phrases and any extra (a guild's own)."""
        return classify(text, self.phrases, self.spelling, self.grammar, tuple(extra))

    def classify_rules(self, text: str, extra: Iterable[Phrase] = ()) -> _RuleResult:
        """The rules' reading, with what the guild phrase check needs."""
        tokens = normalise_tokens(text, self.spelling)
        return _classify_rules(tokens, self.phrases, self.grammar, tuple(extra))


# Backwards-compatible names for the default word lists.
NEGATORS = DEFAULT_GRAMMAR.negators
NEGATION_BREAKERS = DEFAULT_GRAMMAR.negation_breakers
CLAUSE_WORDS = DEFAULT_GRAMMAR.clause_words
SUBJECTS = DEFAULT_GRAMMAR.subjects


def _is_negated(tokens: Sequence[str], start: int, grammar: Grammar = DEFAULT_GRAMMAR) -> bool:
    """Say whether a negation governs the phrase starting at token `start`."""
    window: list[str] = []
    for index in range(start - 1, -1, -1):
        token = tokens[index]
        if token == BOUNDARY or token in grammar.clause_words or len(window) >= NEGATION_WINDOW:
            break
        window.insert(0, token)
    for offset, token in enumerate(window):
        if token not in grammar.negators:
            continue
        after = window[offset + 1:]
        if after and after[0] in grammar.negation_breakers:
            continue
        if any(word in grammar.subjects for word in after):
            continue
        return True
    return False


def _about_someone_else(tokens: Sequence[str], start: int, end: int, grammar: Grammar) -> bool:
    """Say whether a match that names nobody has someone else as its subject.

    A match that names the writer ("kill myself") is about the writer; one that names someone
    else ("he has a knife") was written to be about them, so neither is lowered.
    """
    if any(token in grammar.first_person or token in grammar.third_person for token in tokens[start:end]):
        return False
    for index in range(start - 1, max(-1, start - 1 - SUBJECT_WINDOW), -1):
        token = tokens[index]
        if token == BOUNDARY or token in grammar.first_person:
            return False
        if token in grammar.third_person:
            return True
    return False


@dataclass
class _Text:
    """Normalised text and the indexes the matcher needs."""

    tokens: list[str]
    joined: str
    offsets: list[int]  # character offset of each token in `joined`
    words: dict[str, list[int]]  # squeezed word -> token indexes
    sentence: list[int]  # sentence number of each token
    keys_at: list[str]  # squeezed word of each token ("." for a boundary)
    keyset: frozenset[str] = frozenset()
    memo: dict[frozenset[str], list[int]] = field(default_factory=dict)
    sorted_keys: list[str] | None = None

    @classmethod
    def of(cls, tokens: list[str]) -> _Text:
        offsets: list[int] = []
        words: dict[str, list[int]] = {}
        sentence: list[int] = []
        keys_at: list[str] = []
        offset, number = 1, 0
        add_offset, add_sentence, add_key = offsets.append, sentence.append, keys_at.append
        for index, token in enumerate(tokens):
            add_offset(offset)
            offset += len(token) + 1
            if token == BOUNDARY:
                number += 1
                add_key(BOUNDARY)
            else:
                key = squeeze(token)
                add_key(key)
                if key in words:
                    words[key].append(index)
                else:
                    words[key] = [index]
            add_sentence(number)
        return cls(tokens, " " + " ".join(tokens) + " ", offsets, words, sentence, keys_at, frozenset(words))

    def token_at(self, char: int) -> int:
        """The index of the token starting at (or containing) a character offset."""
        return bisect_right(self.offsets, char) - 1

    def positions(self, words: frozenset[str]) -> list[int]:
        """Sorted token indexes of any of `words` (a word ending in "*" is a prefix); memoised."""
        cached = self.memo.get(words)
        if cached is not None:
            return cached
        index = self.words
        present = words.intersection(self.keyset)  # in C, over the smaller set
        prefixes = _prefixes_of(words)
        if len(present) == 1 and not prefixes:
            result = index[next(iter(present))]
        else:
            found: list[int] = []
            for word in present:
                found.extend(index[word])
            if prefixes:
                if self.sorted_keys is None:
                    self.sorted_keys = sorted(index)
                keys = self.sorted_keys
                for prefix in prefixes:
                    for key in keys[bisect_left(keys, prefix):bisect_left(keys, prefix + "\x7f")]:
                        found.extend(index[key])
            result = sorted(set(found))
        self.memo[words] = result
        return result

    def matches(self, part: Part, near: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
        """Token spans [start, end) where a part matches, at most one per start.

        With `near` (sorted token ranges), only matches whose anchor word lies in one are found.
        """
        keys = self.words.keys()
        if any(keys.isdisjoint(need) for need in part.required):
            return []
        found: Iterable[re.Match[str] | None]
        if part.first is None:
            found = part.pattern.finditer(self.joined)
        elif part.anchor is not None:
            # Try the starts a few words before each anchor word: anchors are rare, starts are not.
            anchors = self.positions(part.anchor)
            if near is not None:
                anchors = _within(anchors, near)
            if not anchors:
                return []
            firsts = self.positions(part.first)
            if not firsts:
                return []
            reach = part.longest
            if len(anchors) == 1:
                chosen = firsts[bisect_left(firsts, anchors[0] - reach):bisect_right(firsts, anchors[0])]
            else:
                starts: set[int] = set()
                for anchor in anchors:
                    starts.update(firsts[bisect_left(firsts, anchor - reach):bisect_right(firsts, anchor)])
                chosen = sorted(starts)
            found = (part.pattern.match(self.joined, self.offsets[i]) for i in chosen)
        else:
            found = (part.pattern.match(self.joined, self.offsets[i]) for i in self.positions(part.first))
        spans: list[tuple[int, int]] = []
        for match in found:
            if match is None or match.end() <= match.start():
                continue
            if len(spans) >= MAX_MATCHES_PER_PART:
                break
            start = self.token_at(match.start())
            end = self.token_at(match.end() - 1) + 1
            spans.append((start, end))
        return spans


@dataclass
class _Hit:
    spans: list[tuple[int, int]]
    level: CrisisLevel
    notes: str  # " (negated)" and the like
    start: int
    end: int


def _phrase_hits(text: _Text, phrase: Phrase) -> list[list[tuple[int, int]]]:
    """Every way a phrase matches: one span per part, all within COMBINE_WINDOW tokens and
    COMBINE_SENTENCES sentences of the first part."""
    parts = phrase.parts
    if len(parts) == 1:
        return [[span] for span in text.matches(parts[0])]
    # Find the rarest part first; look for the others only near it.
    order = phrase.order
    per_part: list[list[tuple[int, int]]] = [[] for _ in parts]
    near: list[tuple[int, int]] | None = None
    for i in order:
        spans = text.matches(parts[i], near)
        if not spans:
            return []
        per_part[i] = spans
        if near is None:
            near = _merge_ranges([(s - COMBINE_WINDOW, s + COMBINE_WINDOW) for s, _ in spans])
    combos: list[list[tuple[int, int]]] = []
    for anchor in per_part[0]:
        chosen = [anchor]
        for spans in per_part[1:]:
            close = [s for s in spans if abs(s[0] - anchor[0]) <= COMBINE_WINDOW and s[0] != anchor[0]
                     and abs(text.sentence[s[0]] - text.sentence[anchor[0]]) <= COMBINE_SENTENCES]
            if not close:
                break
            chosen.append(min(close, key=lambda s: abs(s[0] - anchor[0])))
        else:
            combos.append(chosen)
    return combos


_PREFIX_CACHE: dict[frozenset[str], tuple[str, ...]] = {}


def _prefixes_of(words: frozenset[str]) -> tuple[str, ...]:
    """The prefixes (without their "*") in a word set; cached, as the sets come from the phrases."""
    prefixes = _PREFIX_CACHE.get(words)
    if prefixes is None:
        prefixes = tuple(word[:-1] for word in words if word.endswith("*"))
        if len(_PREFIX_CACHE) < 50_000:
            _PREFIX_CACHE[words] = prefixes
    return prefixes


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping token ranges [low, high] covering the given ones."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _within(positions: list[int], ranges: list[tuple[int, int]]) -> list[int]:
    """The positions that fall inside the ranges (both sorted)."""
    kept: list[int] = []
    for low, high in ranges:
        kept.extend(positions[bisect_left(positions, low):bisect_right(positions, high)])
    return kept


class _PhraseIndex:
    """Which phrases can match a text, found from the words it contains.

    Each phrase is filed under the anchor words of its parts (words one of which every match of
    that part contains); a text is only tried against phrases all of whose parts have an anchor
    word in it. Phrases without an anchor are always tried.
    """

    def __init__(self, phrases: Sequence[Phrase]) -> None:
        self.phrases = tuple(phrases)
        self.always: list[int] = []
        self.by_word: dict[str, list[int]] = {}
        self.needs: list[tuple[frozenset[str], ...]] = []
        for number, phrase in enumerate(self.phrases):
            anchors = [part.anchor for part in phrase.parts]
            usable = [a for a in anchors if a is not None and not any(w.endswith("*") for w in a)]
            self.needs.append(tuple(usable))
            if not usable:
                self.always.append(number)
                continue
            for word in min(usable, key=_cost):
                self.by_word.setdefault(word, []).append(number)

    def candidates(self, words: Mapping[str, object]) -> list[Phrase]:
        """The phrases worth trying on a text with these (squeezed) words, in their original order."""
        chosen = set(self.always)
        for word in words:
            numbers = self.by_word.get(word)
            if numbers:
                chosen.update(numbers)
        keys = words.keys()
        return [self.phrases[n] for n in sorted(chosen)
                if all(not keys.isdisjoint(need) for need in self.needs[n])]


_INDEXES: dict[int, _PhraseIndex] = {}


def _index_for(phrases: Sequence[Phrase]) -> _PhraseIndex:
    """The index of a phrase list, kept while the same list object is used (the built-in phrases)."""
    index = _INDEXES.get(id(phrases))
    if index is None or (index.phrases is not phrases and index.phrases != tuple(phrases)):
        if len(_INDEXES) > 16:
            _INDEXES.clear()
        index = _PhraseIndex(phrases)
        _INDEXES[id(phrases)] = index
    return index


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _words(text: _Text, span: tuple[int, int]) -> str:
    return " ".join(t for t in text.tokens[span[0]:span[1]] if t != BOUNDARY)


@dataclass(frozen=True)
class _RuleResult:
    """What the rules found: the assessment, and what the guild phrase check needs."""

    assessment: Assessment
    # Whether a guild ignore phrase covered a built-in crisis match (which it cannot cancel).
    shielded: bool = False


def classify(
    text: str,
    phrases: Sequence[Phrase],
    spelling: Mapping[str, str],
    grammar: Grammar = DEFAULT_GRAMMAR,
    extra: Sequence[Phrase] = (),
) -> Assessment:
    """Classify text: the highest level of any match that counts, after idioms and softening.

    A match counts one level lower for each of: a negation just before it ("I'm not going to ..."),
    a softener nearby ("lol", "used to") and, for crisis, being about someone else ("my friend
    keeps wanting to die" is worry, not the writer's own crisis). A match that overlaps a built-in
    idiom does not count at all. `extra` are a guild's own phrases: its ignore phrases cancel only
    matches they wholly contain, and never a built-in crisis match.
    """
    return _classify_rules(normalise_tokens(text, spelling), phrases, grammar, extra).assessment


def _classify_rules(
    tokens: list[str],
    phrases: Sequence[Phrase],
    grammar: Grammar = DEFAULT_GRAMMAR,
    extra: Sequence[Phrase] = (),
) -> _RuleResult:
    """The rules' reading of normalised tokens (see `classify`)."""
    if not tokens:
        return _RuleResult(NO_CONCERN)
    doc = _Text.of(tokens)
    in_idiom = bytearray(len(tokens) + 1)
    softeners: list[tuple[int, int, int]] = []  # start, end, which softener phrase
    if isinstance(phrases, tuple) and len(phrases) > 20:
        candidates = _index_for(phrases).candidates(doc.words)
    else:
        candidates = list(phrases)
    builtin = len(candidates)
    candidates += extra
    guild_ignored: list[tuple[int, int]] = []
    # Idioms and softeners first: they decide how the other matches count.
    for number, phrase in enumerate(candidates):
        if phrase.level == "ignore":
            for spans in _phrase_hits(doc, phrase):
                if number >= builtin:  # a guild's own: it cancels only what it wholly contains
                    guild_ignored.extend(spans)
                    continue
                for first, last in spans:
                    in_idiom[first:last] = b"\x01" * (last - first)
        elif phrase.level == "soften":
            softeners.extend((first, last, number) for spans in _phrase_hits(doc, phrase)
                             for first, last in spans)
    softeners.sort()
    soft_starts = [soft[0] for soft in softeners]
    soft_sentences: dict[int, list[tuple[int, int, int]]] = {}
    for soft in softeners:
        soft_sentences.setdefault(doc.sentence[soft[0]], []).append(soft)

    def softeners_near(spans: list[tuple[int, int]]) -> int:
        """How many different softener phrases lie near a match (in its sentence or a few words off)."""
        kinds: set[int] = set()
        for first, last in spans:
            low = bisect_right(soft_starts, first - SOFTEN_REACH - 1)
            near = [soft for soft in softeners[low:bisect_right(soft_starts, last + SOFTEN_REACH)]
                    if soft[1] >= first - SOFTEN_REACH]
            for soft in [*soft_sentences.get(doc.sentence[first], ()), *near]:
                kinds.add(soft[2])
        return min(len(kinds), MAX_SOFTENING)

    shielded = False

    def count(spans: list[tuple[int, int]], level: CrisisLevel, protected: bool) -> CrisisLevel:
        """Judge one match (idioms, negation, someone else, softeners); keep it if it still counts."""
        nonlocal shielded
        if any(in_idiom.find(1, first, last) >= 0 for first, last in spans):
            return CrisisLevel.NONE
        notes: list[str] = []
        if any(_is_negated(tokens, first, grammar) for first, _ in spans):
            notes.append("negated")
        first = min(span[0] for span in spans)
        last = max(span[1] for span in spans)
        if level is CrisisLevel.CRISIS and _about_someone_else(tokens, first, last, grammar):
            notes.append("someone else")
        softening = softeners_near(spans) if softeners else 0
        if softening:
            notes.append("softened")
        for _ in range(len(notes) + softening - (1 if softening else 0)):
            level = level.lowered()
        if level is CrisisLevel.NONE:
            return level
        if guild_ignored:
            if protected:
                shielded |= any(_overlaps((first, last), span) for span in guild_ignored)
            elif any(low <= first and last <= high for low, high in guild_ignored):
                return CrisisLevel.NONE
        counted.append(_Hit(spans, level, "".join(f" ({note})" for note in notes), first, last))
        return level

    counted: list[_Hit] = []
    crises = 0
    for number, phrase in enumerate(candidates):
        if phrase.level in ("crisis", "concern"):
            level = CrisisLevel(phrase.level)
            # A built-in crisis phrase cannot be cancelled by a guild's ignore phrase.
            protected = number < builtin and level is CrisisLevel.CRISIS
            for spans in _phrase_hits(doc, phrase):
                if count(spans, level, protected) is CrisisLevel.CRISIS:
                    crises += 1
            # A message this full of crisis language is decided; more matches add nothing.
            if crises >= MAX_REPORTED:
                break
    if not counted:
        return _RuleResult(NO_CONCERN, shielded)
    best = max((hit.level for hit in counted), key=lambda level: level.rank)
    # What moderators see: a match that overlaps one of a higher level, or lies inside a longer
    # one of the same level, adds nothing.
    counted.sort(key=lambda h: (-h.level.rank, h.start - h.end, h.start))  # stable for ties
    kept: list[_Hit] = []
    for hit in counted:
        if any(
            other.start < hit.end and hit.start < other.end
            and (other.level.rank > hit.level.rank or (other.start <= hit.start and hit.end <= other.end))
            for other in kept
        ):
            continue
        kept.append(hit)
        if len(kept) >= MAX_REPORTED:
            break
    kept.sort(key=lambda h: h.start)
    seen: dict[str, None] = {}
    for hit in kept:
        words = " + ".join(_words(doc, span) for span in hit.spans) + hit.notes
        seen.setdefault(words, None)
    return _RuleResult(Assessment(best, tuple(seen)), shielded)


# ----- the service ---------------------------------------------------------------


GUILD_LEVELS = ("crisis", "concern", "ignore")
MAX_PHRASE_LENGTH = 100
MAX_GUILD_PHRASES = 200
MIN_IGNORE_WORDS = 2
_TYPED_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


@dataclass(frozen=True)
class PhraseCheck:
    """What adding a guild phrase would do to the built-in crisis examples.

    `changed`: examples whose level the phrase would change (with the new level); `shielded`:
    examples where an ignore phrase covers built-in crisis wording, which it cannot switch off.
    """

    changed: tuple[tuple[str, CrisisLevel], ...] = ()
    shielded: tuple[str, ...] = ()


class SafetyService:
    """Assesses text for crisis language, with each guild's own phrases, and keeps guild safety settings."""

    def __init__(self, book: PhraseBook, store: SafetyStore | None = None) -> None:
        self.book = book
        self.store = store
        self._guild_cache: dict[int, tuple[Phrase, ...]] = {}

    async def assess(self, guild_id: int | None, text: str) -> Assessment:
        """Classify a member's text; a guild's own phrases count alongside the built-in ones."""
        if guild_id is not None and self.store is not None:
            return self.book.classify(text, await self._guild_phrases(guild_id))
        return self.book.classify(text)

    def assess_builtin(self, text: str) -> Assessment:
        """Classify text with the built-in phrases only (no database)."""
        return self.book.classify(text)

    async def assess_for_care(self, guild_id: int | None, text: str) -> Assessment:
        """Classify words that are about to be saved, so that care never depends on the database.

        When the guild's own phrases can't be read (a busy or failing database), the built-in
        ones still decide.
        """
        try:
            return await self.assess(guild_id, text)
        except Exception as exc:
            log.warning("assessed words with the built-in phrases only (%s)", type(exc).__name__)
            return self.assess_builtin(text)

    async def _guild_phrases(self, guild_id: int) -> tuple[Phrase, ...]:
        cached = self._guild_cache.get(guild_id)
        if cached is not None:
            return cached
        assert self.store is not None
        rows = await self.store.list_phrases(guild_id)
        compiled = tuple(self.compile_guild_phrase(row) for row in rows)
        self._guild_cache[guild_id] = compiled
        return compiled

    def compile_guild_phrase(self, row: GuildPhrase) -> Phrase:
        """Compile a moderator's phrase: plain words, normalised like the text."""
        return Phrase(row.phrase, row.level, compile_parts(row.phrase, self.book.spelling, plain=True))

    def forget_guild(self, guild_id: int) -> None:
        """Drop a guild's cached phrases (after a change or a purge)."""
        self._guild_cache.pop(guild_id, None)

    # ----- guild phrases (moderators) -----

    async def list_phrases(self, guild_id: int) -> list[GuildPhrase]:
        """Return a guild's own phrases."""
        assert self.store is not None
        return await self.store.list_phrases(guild_id)

    async def add_phrase(self, guild_id: int, phrase: str, level: str, now: datetime) -> GuildPhrase:
        """Add (or change the level of) one of a guild's own phrases."""
        assert self.store is not None
        cleaned = " ".join(phrase.split())
        if level not in GUILD_LEVELS:
            raise UserFacingError(f"The level must be one of: {', '.join(GUILD_LEVELS)}.")
        if not cleaned:
            raise UserFacingError("Please give a phrase with at least one word.")
        if len(cleaned) > MAX_PHRASE_LENGTH:
            raise UserFacingError(f"A phrase can be at most {MAX_PHRASE_LENGTH} characters.")
        if level == "ignore" and len(_TYPED_WORD.findall(cleaned.casefold())) < MIN_IGNORE_WORDS:
            raise UserFacingError(
                f"An ignore phrase needs at least {MIN_IGNORE_WORDS} words (like \"dying to see\"), so it "
                "can't switch off a common word everywhere."
            )
        try:
            compile_phrase(cleaned, self.book.spelling, plain=True)
        except PhraseError:
            raise UserFacingError("Hearth can't match that phrase: use letters or numbers.") from None
        existing = await self.store.list_phrases(guild_id)
        if len(existing) >= MAX_GUILD_PHRASES and all(p.phrase != cleaned for p in existing):
            raise UserFacingError(
                f"This server already has {MAX_GUILD_PHRASES} phrases of its own. Remove one first."
            )
        row = await self.store.add_phrase(guild_id, cleaned, level, now)
        self.forget_guild(guild_id)
        return row

    async def check_phrase(self, guild_id: int, phrase: str, level: str) -> PhraseCheck:
        """Say how adding (or changing) a phrase would change the built-in crisis examples."""
        from bot.storage.safety import GuildPhrase

        cleaned = " ".join(phrase.split())
        current = await self._guild_phrases(guild_id) if self.store is not None else ()
        try:
            added = self.compile_guild_phrase(GuildPhrase(cleaned, level))
        except PhraseError:
            return PhraseCheck()
        after = (*(p for p in current if p.source.casefold() != cleaned.casefold()), added)
        changed: list[tuple[str, CrisisLevel]] = []
        shielded: list[str] = []
        for example in self.book.examples:
            before = self.book.classify(example, current).level
            now = self.book.classify(example, after).level
            if now is not before:
                changed.append((example, now))
            if level == "ignore" and self.book.classify_rules(example, (added,)).shielded:
                shielded.append(example)
        return PhraseCheck(tuple(changed), tuple(shielded))

    async def remove_phrase(self, guild_id: int, phrase: str) -> bool:
        """Remove one of a guild's phrases; say whether it was there."""
        assert self.store is not None
        removed = await self.store.remove_phrase(guild_id, " ".join(phrase.split()))
        self.forget_guild(guild_id)
        return removed

    # ----- alert settings -----

    async def alerts_on_concern(self, guild_id: int) -> bool:
        """Say whether this guild's moderators are alerted for concern as well as crisis."""
        if self.store is None:
            return False
        return await self.store.get_alert_on_concern(guild_id)

    async def set_alerts_on_concern(self, guild_id: int, value: bool, now: datetime) -> None:
        """Choose whether concern alerts moderators too (crisis always does)."""
        assert self.store is not None
        await self.store.set_alert_on_concern(guild_id, value, now)

    async def should_alert(self, guild_id: int | None, assessment: Assessment) -> bool:
        """Say whether an assessment calls for a moderator alert in this guild."""
        if guild_id is None or not assessment.needs_care:
            return False
        if assessment.level is CrisisLevel.CRISIS:
            return True
        return await self.alerts_on_concern(guild_id)


def build_safety_service(content: object, db: object | None) -> SafetyService:
    """Build the service from loaded content (its "safety" part) and the database, if any."""
    from bot.storage.db import Database
    from bot.storage.safety import SafetyStore

    parts = getattr(content, "parts", {}) or {}
    book = parts.get("safety")
    if not isinstance(book, PhraseBook):
        book = PhraseBook()
    store = SafetyStore(db) if isinstance(db, Database) else None
    return SafetyService(book, store)
