"""Crisis-language detection: classify text as none, concern or crisis.

The classifier is a list of phrases (content/safety.toml plus each guild's own),
matched against normalised text. It is deliberately simple and explainable: a
moderator can see exactly which phrase matched, and a member's words never leave
the process. Negation just before a phrase lowers its level by one, and a phrase
inside a known idiom does not count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.errors import UserFacingError

if TYPE_CHECKING:
    from bot.storage.safety import GuildPhrase, SafetyStore


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
# Sentence and clause punctuation becomes a boundary token; it stops "..." gaps and negation.
_BOUNDARY_CHARS = re.compile(r"[.!?;:,\n\r\u2026\u2014\u2013()\[\]\"]+|\s-+\s")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|\.")
_REPEATS = re.compile(r"([a-z])\1{2,}")
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


def _expand(token: str) -> list[str]:
    if token in _NOT_CONTRACTIONS:
        return _NOT_CONTRACTIONS[token].split()
    if token.endswith("n't"):
        return [token[:-3], "not"]
    head, apostrophe, tail = token.partition("'")
    if apostrophe:
        suffix = "'" + tail
        if suffix in _SUFFIXES:
            return [head, _SUFFIXES[suffix]]
        if suffix == "'s":
            return [head, "is"] if head in _IS_PRONOUNS else [head]
        return [head + tail]
    return [token]


def normalise_tokens(text: str, spelling: Mapping[str, str] | None = None) -> list[str]:
    """Turn text into lower-case words and boundary tokens, expanding contractions and spellings."""
    spelling = spelling or {}
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _BOUNDARY_CHARS.sub(" . ", text)
    text = _REPEATS.sub(r"\1", text)
    tokens: list[str] = []
    raw = _TOKEN.findall(text)
    for index, word in enumerate(raw):
        if word == BOUNDARY:
            if tokens and tokens[-1] != BOUNDARY:
                tokens.append(BOUNDARY)
            continue
        for part in _expand(word):
            if part == "ill":
                following = raw[index + 1] if index + 1 < len(raw) else ""
                tokens.extend(["i", "will"] if following in _ILL_VERBS else ["ill"])
                continue
            replacement = _BARE.get(part) or spelling.get(part) or part
            tokens.extend(replacement.split())
    while tokens and tokens[-1] == BOUNDARY:
        tokens.pop()
    while tokens and tokens[0] == BOUNDARY:
        tokens.pop(0)
    return tokens


def squeeze(word: str) -> str:
    """Collapse every run of one letter to a single letter ("kill" -> "kil")."""
    return re.sub(r"(.)\1+", r"\1", word)


# ----- phrase patterns -----------------------------------------------------------

class PhraseError(ValueError):
    """A phrase that cannot be compiled; the message says why."""


_PATTERN_TOKEN = re.compile(r"\{|\}|\||\.\.\.|\$|~|[a-z0-9']+\*?|\S")
_SYNTAX = ("{", "}", "|", "...", "$", "~")
_GAP = r"(?:[a-z0-9]+ ){0,3}"
_WIDE_GAP = r"(?:(?:[a-z0-9]+|\.) ){0,6}"


def _word_regex(word: str) -> str:
    prefix = word.endswith("*")
    core = squeeze(word.rstrip("*"))
    letters = "".join(re.escape(c) + "+" for c in core)
    return letters + (r"[a-z0-9]*" if prefix else "") + " "


def _phrase_words(source: str, spelling: Mapping[str, str]) -> list[str]:
    """Normalise the words of a phrase the same way text is normalised, keeping syntax tokens."""
    out: list[str] = []
    for token in _PATTERN_TOKEN.findall(source.casefold().translate(_QUOTES)):
        if token in _SYNTAX or token.endswith("*"):
            out.append(token)
        elif re.fullmatch(r"[a-z0-9']+", token):
            out.extend(normalise_tokens(token, spelling))
        else:
            raise PhraseError(f"unexpected character {token!r}")
    return out


def _compile_sequence(tokens: list[str], pos: int, depth: int) -> tuple[str, int]:
    parts: list[str] = []
    while pos < len(tokens):
        token = tokens[pos]
        if token in ("|", "}"):
            if depth == 0:
                raise PhraseError(f"{token!r} outside a {{...}} group")
            break
        if token == "{":
            options: list[str] = []
            pos += 1
            while True:
                option, pos = _compile_sequence(tokens, pos, depth + 1)
                options.append(option)
                if pos >= len(tokens):
                    raise PhraseError("a { group is not closed")
                if tokens[pos] == "}":
                    pos += 1
                    break
                pos += 1  # the "|"
            parts.append("(?:" + "|".join(options) + ")")
            continue
        if token == "...":
            parts.append(_GAP)
        elif token == "~":
            parts.append(_WIDE_GAP)
        elif token == "$":
            parts.append(r"(?=\. |$)")
        else:
            parts.append(_word_regex(token))
        pos += 1
    return "".join(parts), pos


def compile_phrase(
    source: str, spelling: Mapping[str, str] | None = None, *, plain: bool = False
) -> re.Pattern[str]:
    """Compile one phrase into a regex over normalised text (" word word . word ")."""
    spelling = spelling or {}
    if plain:
        words = [w for w in normalise_tokens(source, spelling) if w != BOUNDARY]
        if not words:
            raise PhraseError("the phrase has no words")
        body = "".join(_word_regex(w) for w in words)
    else:
        tokens = _phrase_words(source, spelling)
        if not any(t not in _SYNTAX for t in tokens):
            raise PhraseError("the phrase has no words")
        body, pos = _compile_sequence(tokens, 0, 0)
        if pos != len(tokens):
            raise PhraseError("a } has no matching {")
    try:
        return re.compile(r"(?<= )" + body)
    except re.error as exc:  # pragma: no cover - the builder only emits valid regexes
        raise PhraseError(str(exc)) from exc


@dataclass(frozen=True)
class Phrase:
    """One compiled phrase and the level it signals ("ignore" marks an idiom)."""

    source: str
    level: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)


@dataclass(frozen=True)
class PhraseBook:
    """Everything the classifier matches: spellings, crisis and concern phrases, and idioms."""

    spelling: Mapping[str, str] = field(default_factory=dict)
    phrases: tuple[Phrase, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        spelling: Mapping[str, str],
        crisis: Iterable[str] = (),
        concern: Iterable[str] = (),
        idioms: Iterable[str] = (),
    ) -> PhraseBook:
        """Compile the built-in lists (raising PhraseError on the first bad phrase)."""
        compiled = [
            Phrase(source, level, compile_phrase(source, spelling))
            for level, sources in (("crisis", crisis), ("concern", concern), ("ignore", idioms))
            for source in sources
        ]
        return cls(dict(spelling), tuple(compiled))

    def with_guild(self, extra: Iterable[Phrase]) -> tuple[Phrase, ...]:
        """Return the built-in phrases followed by a guild's own."""
        return (*self.phrases, *extra)


NEGATORS = frozenset({"not", "never", "no", "nor", "without"})
# A negation followed by one of these words does not negate what comes after
# ("I can't stop thinking about ...", "no one would ...").
NEGATION_BREAKERS = frozenset({"stop", "help", "wait", "bear", "shake", "get", "tell", "one", "seem",
                               "anyone", "even", "understand", "believe", "know", "sure", "care"})
CLAUSE_WORDS = frozenset({"but", "and", "so", "because", "though", "although", "yet", "cause", "then"})
SUBJECTS = frozenset({"i", "he", "she", "they", "we", "you", "it", "everyone", "nobody"})
NEGATION_WINDOW = 4


def _is_negated(tokens: Sequence[str], start: int) -> bool:
    """Say whether a negation governs the phrase starting at token `start`."""
    window: list[str] = []
    for index in range(start - 1, -1, -1):
        token = tokens[index]
        if token == BOUNDARY or token in CLAUSE_WORDS or len(window) >= NEGATION_WINDOW:
            break
        window.insert(0, token)
    for offset, token in enumerate(window):
        if token not in NEGATORS:
            continue
        after = window[offset + 1:]
        if after and after[0] in NEGATION_BREAKERS:
            continue
        if any(word in SUBJECTS for word in after):
            continue
        return True
    return False


def classify(text: str, phrases: Sequence[Phrase], spelling: Mapping[str, str]) -> Assessment:
    """Classify text against compiled phrases: the highest level of any match that counts."""
    tokens = normalise_tokens(text, spelling)
    if not tokens:
        return NO_CONCERN
    joined = " " + " ".join(tokens) + " "
    # Token index of every character offset that starts a token.
    starts: dict[int, int] = {}
    offset = 1
    for index, token in enumerate(tokens):
        starts[offset] = index
        offset += len(token) + 1
    idiom_spans: list[tuple[int, int]] = []
    hits: list[tuple[int, int, CrisisLevel, str]] = []
    for phrase in phrases:
        for match in phrase.pattern.finditer(joined):
            start, end = match.start(), match.end()
            if end <= start:
                continue
            if phrase.level == "ignore":
                idiom_spans.append((start, end))
                continue
            words = match.group(0).strip()
            level = CrisisLevel(phrase.level)
            if _is_negated(tokens, starts.get(start, 0)):
                level = level.lowered()
                words += " (negated)"
            hits.append((start, end, level, words))
    best = CrisisLevel.NONE
    matched: list[tuple[int, str]] = []
    for start, end, level, words in hits:
        if any(start < i_end and i_start < end for i_start, i_end in idiom_spans):
            continue
        if level is CrisisLevel.NONE:
            continue
        if level.rank > best.rank:
            best = level
        matched.append((start, words))
    seen: dict[str, None] = {}
    for _, words in sorted(matched):
        seen.setdefault(words, None)
    return Assessment(best, tuple(seen))


# ----- the service ---------------------------------------------------------------


GUILD_LEVELS = ("crisis", "concern", "ignore")
MAX_PHRASE_LENGTH = 100
MAX_GUILD_PHRASES = 200


class SafetyService:
    """Assesses text for crisis language, with each guild's own phrases, and keeps guild safety settings."""

    def __init__(self, book: PhraseBook, store: SafetyStore | None = None) -> None:
        self.book = book
        self.store = store
        self._guild_cache: dict[int, tuple[Phrase, ...]] = {}

    async def assess(self, guild_id: int | None, text: str) -> Assessment:
        """Classify a member's text; a guild's own phrases count alongside the built-in ones."""
        phrases = self.book.phrases
        if guild_id is not None and self.store is not None:
            phrases = self.book.with_guild(await self._guild_phrases(guild_id))
        return classify(text, phrases, self.book.spelling)

    def assess_builtin(self, text: str) -> Assessment:
        """Classify text with the built-in phrases only (no database)."""
        return classify(text, self.book.phrases, self.book.spelling)

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
        return Phrase(row.phrase, row.level, compile_phrase(row.phrase, self.book.spelling, plain=True))

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
