"""FAQ and learning: entries, topic cards, search, guild curation and the gap queue (no Discord here).

Search ranks entries by how much of a member's question their question, aliases
and keywords cover (terms weighted by rarity, after the normalisation in
`bot.services.faq_text`), blended with a fuzzy comparison of the wording. The
result is one of three verdicts: answer (confident), suggest ("Did you mean…")
or miss (nothing close; the query goes to the gap queue without any trace of who
asked).
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import json
import math
import re
import tomllib
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from bot.errors import UserFacingError
from bot.services.faq_text import (
    BROADER,
    SLANG,
    STOPWORDS,
    SYNONYMS,
    WEAK_TERMS,
    WEAK_WEIGHT,
    canonical,
    terms_of,
    words_of,
)

if TYPE_CHECKING:
    from bot.storage.faq import FaqStore

# ----- limits -------------------------------------------------------------------

ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
QUESTION_LIMIT = 200  # fits an embed title (256) and a modal text input
ANSWER_LIMIT = 4000  # fits a modal text input (4000) and an embed description (4096)
KEYWORD_LIMIT = 60
KEYWORDS_PER_ENTRY = 40
ALIAS_LIMIT = 200
ALIASES_PER_ENTRY = 30
RELATED_PER_ENTRY = 5
MISS_TEXT_LIMIT = 200
IMPORT_ENTRY_LIMIT = 500
IMPORT_BYTES_LIMIT = 512 * 1024

# ----- scoring ------------------------------------------------------------------

CONFIDENT_SCORE = 60
CONFIDENT_MARGIN = 10
CONFIDENT_COVERAGE = 0.5
CLEAR_WINNER_SCORE = 90
CLEAR_WINNER_MARGIN = 3
SUGGEST_SCORE = 30
SUGGEST_WINDOW = 30
MIN_COVERAGE = 0.4
# How much each place a term appears says that an entry is about it (summed, then saturated).
QUESTION_EVIDENCE = 1.0
ALIAS_EVIDENCE = 0.5
KEYWORD_EVIDENCE = 0.8
ANSWER_EVIDENCE = 0.3
ANSWER_REPEAT_EVIDENCE = 0.1
ANSWER_EVIDENCE_CAP = 0.5
SECTION_EVIDENCE = 0.15
SECTION_REPEAT_EVIDENCE = 0.05
SECTION_EVIDENCE_CAP = 0.25
STRENGTH_RATE = 1.2
MIN_STRENGTH = 0.05
# The parts of a score: information covered, closeness to one wording (by rarity), focus on the
# entry's own question, and the string similarity of the terms in order to the closest wording.
LEXICAL_SHARE = 0.4
CLOSENESS_SHARE = 0.25
FOCUS_SHARE = 0.05
SIMILARITY_SHARE = 0.3
CORRECTED_WEIGHT = 0.9
UNKNOWN_SHARE = 0.6
MIN_QUERY_INFORMATION = 1.6
CANDIDATES_FOR_FUZZY = 40
COMPLETIONS = 8
COVER_CACHE_SIZE = 64
TYPO_CUTOFF = 82
TYPO_MIN_LENGTH = 5

# Words that mean an entry is about crisis or self-harm; such entries must point to /resources.
CRISIS_MENTIONS = ("suicid", "self-harm", "self harm", "hurt yourself", "hurting yourself", "hurt myself",
                   "kill yourself", "kill myself", "harming yourself", "harm yourself")


class Origin(StrEnum):
    BUILT_IN = "built-in"
    OVERRIDE = "override"
    CUSTOM = "custom"


@dataclass(frozen=True)
class FaqEntry:
    """One question and its answer, with the other ways members might ask it."""

    id: str
    question: str
    answer: str
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    section: str = ""
    related: tuple[str, ...] = ()
    care: bool = False
    origin: Origin = Origin.BUILT_IN


@dataclass(frozen=True)
class TopicPage:
    heading: str
    body: str


@dataclass(frozen=True)
class Topic:
    """A learning card from one major section of the guide, in pages."""

    id: str
    title: str
    summary: str
    guide_section: str
    pages: tuple[TopicPage, ...]
    related: tuple[str, ...] = ()
    parts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FaqLibrary:
    """The shipped FAQ entries and topic cards."""

    entries: tuple[FaqEntry, ...]
    topics: tuple[Topic, ...]

    @cached_property
    def builtin_index(self) -> FaqIndex:
        """Return the search index over the shipped entries, built once per loaded content."""
        return FaqIndex(self.entries, self.section_texts())

    def entry(self, entry_id: str) -> FaqEntry | None:
        """Return a built-in entry by id."""
        return next((e for e in self.entries if e.id == entry_id), None)

    def topic(self, topic_id: str) -> Topic | None:
        """Return a topic card by id."""
        return next((t for t in self.topics if t.id == topic_id), None)

    def section_label(self, section: str) -> str:
        """Describe where in the guide an entry comes from, e.g. 'Where trust issues come from › …'."""
        topic_id, _, part = section.partition("/")
        topic = self.topic(topic_id)
        if topic is None:
            return ""
        return f"{topic.title} › {topic.parts[part]}" if part in topic.parts else topic.title

    def section_texts(self) -> dict[str, str]:
        """Return the topic-card text behind each section an entry can name ("topic" or "topic/part").

        A part is the page headed with its label, or else the page in the same position among the
        last pages; a whole topic is its title and summary.
        """
        texts: dict[str, str] = {}
        for topic in self.topics:
            texts[topic.id] = f"{topic.title}. {topic.summary}"
            offset = len(topic.pages) - len(topic.parts)
            for position, (part, label) in enumerate(topic.parts.items()):
                page = next((p for p in topic.pages if p.heading.lower() == label.lower()), None)
                if page is None and offset >= 0:
                    page = topic.pages[offset + position]
                if page is not None:
                    texts[f"{topic.id}/{part}"] = f"{label}. {page.heading}. {page.body}"
        return texts

    def find_topic(self, text: str) -> Topic | None:
        """Return the topic a member meant by an id, a title or something close to either."""
        wanted = text.strip().lower()
        for topic in self.topics:
            if wanted in (topic.id, topic.title.lower()):
                return topic
        if not wanted or not self.topics:
            return None
        names = {t.id: f"{t.id} {t.title} {t.summary}".lower() for t in self.topics}
        best = process.extractOne(wanted, names, scorer=fuzz.WRatio, score_cutoff=60)
        return self.topic(best[2]) if best else None


# ----- search -------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    entry: FaqEntry
    score: int  # 0-100
    coverage: float = 1.0  # how much of the question's meaning the entry's wording covers, 0-1


class Verdict(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    MISS = "miss"


@dataclass(frozen=True)
class Outcome:
    """What /faq does with a question: answer it, offer choices, or say kindly that nothing fits."""

    verdict: Verdict
    matches: tuple[Match, ...]

    @property
    def best(self) -> Match | None:
        """Return the top match, if any."""
        return self.matches[0] if self.matches else None


@dataclass(frozen=True)
class _Slot:
    """One word of a query: the terms it may stand for (with how sure we are) and its weight."""

    terms: dict[str, float]
    weight: float


@dataclass(frozen=True)
class _Wording:
    """One way an entry is asked (its question or an alias), as weighted terms."""

    terms: frozenset[str]
    information: float


def _strength(evidence: float) -> float:
    """Turn summed field evidence for a term into how strongly an entry is about it, 0-1."""
    return 1.0 - math.exp(-STRENGTH_RATE * evidence)


class FaqIndex:
    """Ranks a fixed set of entries against members' questions.

    Each entry is a bag of terms with a strength from 0 to 1: a term in the question or
    several aliases is strong, one in the answer or in the guide section the entry draws on
    is weak. A query scores an entry by how much of its information (terms weighted by
    rarity) the entry covers, how closely it matches one of the entry's wordings, and how
    much of the entry's own question it touches.
    """

    def __init__(self, entries: Sequence[FaqEntry], sections: Mapping[str, str] | None = None) -> None:
        self.entries = tuple(entries)
        self._by_id = {e.id: i for i, e in enumerate(self.entries)}
        sections = sections or {}
        core: list[dict[str, float]] = []
        full: list[dict[str, float]] = []
        wordings: list[list[frozenset[str]]] = []
        texts: list[tuple[str, ...]] = []
        question_terms: list[tuple[str, ...]] = []
        raw_words: dict[str, str | None] = {}
        for entry in self.entries:
            evidence: Counter[str] = Counter()
            extra: Counter[str] = Counter()
            mine: list[frozenset[str]] = []
            for text in (entry.question, *entry.aliases):
                terms = terms_of(text)
                if terms:
                    mine.append(frozenset(terms))
                for term in terms:
                    evidence[term] += QUESTION_EVIDENCE if text is entry.question else ALIAS_EVIDENCE
            keyword_terms: set[str] = set()
            for keyword in entry.keywords:
                keyword_terms.update(terms_of(keyword))
            for term in keyword_terms:
                evidence[term] += KEYWORD_EVIDENCE
            for text, first, more, cap in (
                (entry.answer, ANSWER_EVIDENCE, ANSWER_REPEAT_EVIDENCE, ANSWER_EVIDENCE_CAP),
                (sections.get(entry.section, ""), SECTION_EVIDENCE, SECTION_REPEAT_EVIDENCE,
                 SECTION_EVIDENCE_CAP),
            ):
                counts = Counter(terms_of(text, unique=False))
                for term, n in counts.items():
                    extra[term] += min(first + more * (n - 1), cap)
            for text in (entry.question, *entry.aliases, *entry.keywords, entry.answer):
                for word in words_of(text):
                    raw_words.setdefault(word, canonical(word))
            core.append({t: _strength(v) for t, v in evidence.items()})
            full.append({t: _strength(evidence.get(t, 0.0) + extra.get(t, 0.0))
                         for t in evidence.keys() | extra.keys()})
            wordings.append(mine)
            texts.append(tuple(" ".join(terms_of(t)) for t in (entry.question, *entry.aliases)))
            question_terms.append(tuple(terms_of(entry.question)))
        count = len(self.entries)
        spread: Counter[str] = Counter()
        for strengths in full:
            for term, value in strengths.items():
                spread[term] += value
        self._idf = {term: self._rarity(term, value, count) for term, value in spread.items()}
        # Postings: term -> [(entry, strength)]. Autocomplete uses the core postings only (question,
        # aliases, keywords) to stay within its budget; a full question uses everything.
        self._core_postings: dict[str, list[tuple[int, float]]] = {}
        self._full_postings: dict[str, list[tuple[int, float]]] = {}
        for i, strengths in enumerate(core):
            for term, value in strengths.items():
                self._core_postings.setdefault(term, []).append((i, value))
        for i, strengths in enumerate(full):
            for term, value in strengths.items():
                if value >= MIN_STRENGTH:
                    self._full_postings.setdefault(term, []).append((i, value))
        self._texts = texts
        self._wordings = [
            tuple(_Wording(terms, sum(self._idf.get(t, 0.0) for t in terms)) for terms in mine)
            for mine in wordings
        ]
        self._question_weights = [
            tuple((t, self._idf.get(t, 0.0)) for t in terms) for terms in question_terms
        ]
        self._question_totals = [sum(w for _, w in weighted) for weighted in self._question_weights]
        self._unknown_idf = max(self._idf.values(), default=1.0) * UNKNOWN_SHARE
        self._common = max(50, count // 4)
        # Words a typo may be corrected to: the entries' own words, every synonym and slang word whose
        # term the index knows, and stopwords (a misspelt "untill" is dropped, not matched to "still").
        for word, term in SYNONYMS.items():
            if term in self._idf:
                raw_words.setdefault(word, term)
        for word, expansion in SLANG.items():
            if " " not in expansion and canonical(expansion) in self._idf:
                raw_words.setdefault(word, canonical(expansion))
        for word in STOPWORDS:
            raw_words.setdefault(word, None)
        self._vocabulary = raw_words
        self._vocabulary_list = [w for w in raw_words if len(w) >= 3]
        self._sorted_words = sorted(w for w, t in raw_words.items() if t is not None)
        self._corrections: OrderedDict[str, str | None] = OrderedDict()
        self._covers: OrderedDict[tuple[Any, ...], dict[int, float]] = OrderedDict()

    @staticmethod
    def _rarity(term: str, spread: float, count: int) -> float:
        idf = math.log(1 + (count - spread + 0.5) / (spread + 0.5))
        return min(idf, WEAK_WEIGHT) if term in WEAK_TERMS else idf

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> FaqEntry | None:
        """Return an entry of this index by id."""
        i = self._by_id.get(entry_id)
        return None if i is None else self.entries[i]

    # ----- query analysis -----

    def _correct(self, word: str) -> str | None:
        """Return the term a misspelt word most likely meant, or None."""
        if word in self._corrections:
            self._corrections.move_to_end(word)
            return self._corrections[word]
        found = process.extractOne(
            word, self._vocabulary_list, scorer=DamerauLevenshtein.normalized_similarity,
            score_cutoff=TYPO_CUTOFF / 100,
        )
        term = self._vocabulary[found[0]] if found else None
        self._corrections[word] = term
        if len(self._corrections) > 4096:
            self._corrections.popitem(last=False)
        return term

    def _completions(self, prefix: str) -> dict[str, float]:
        """Return the terms a half-typed word may become: the shortest few, the likeliest."""
        start = bisect.bisect_left(self._sorted_words, prefix)
        words = []
        for word in self._sorted_words[start : start + 200]:
            if not word.startswith(prefix):
                break
            words.append(word)
        found: dict[str, float] = {}
        for word in sorted(words, key=len):
            term = self._vocabulary[word]
            if term is not None:
                found.setdefault(term, 1.0)
                if len(found) >= COMPLETIONS:
                    break
        return found

    def _broaden(self, terms: dict[str, float]) -> dict[str, float]:
        """Add the wider concepts a term also suggests ("cheat" also means betrayal), more weakly."""
        wider = dict(terms)
        for term, certainty in terms.items():
            for other, share in BROADER.get(term, ()):
                if other in self._idf and wider.get(other, 0.0) < certainty * share:
                    wider[other] = certainty * share
        return wider

    def _slots(self, query: str, *, partial: bool) -> list[_Slot]:
        words = words_of(query)
        if partial and words and query[-1:].isalnum():
            last = query.lower().split()[-1] if query.split() else ""
            # Only the last word can be unfinished, and only if it is still a bare word.
            if not last.isalnum() or words[-1] != last:
                last = ""
        else:
            last = ""
        slots: list[_Slot] = []
        seen: set[str] = set()
        for position, word in enumerate(words):
            term = canonical(word)
            unfinished = position == len(words) - 1 and last and word == last
            if term in self._idf:
                terms = {term: 1.0}
                if unfinished and len(word) >= 2:
                    terms.update({t: 0.95 for t in self._completions(word) if t != term})
            elif unfinished and len(word) >= 2 and (completions := self._completions(word)):
                terms = completions
            elif len(word) >= TYPO_MIN_LENGTH and (corrected := self._correct(word)) is not None:
                terms = {corrected: CORRECTED_WEIGHT}
            elif word in self._vocabulary:
                continue  # a misspelt or plain stopword
            else:
                terms = {}
            key = "|".join(sorted(terms)) or f"?{word}"
            if key in seen:
                continue
            seen.add(key)
            if terms:
                weight = max(self._idf.get(t, 0.0) for t in terms)
                if not partial:
                    terms = self._broaden(terms)
            else:
                weight = self._unknown_idf if len(word) > 2 else 0.0
            slots.append(_Slot(terms, weight))
        return slots

    # ----- ranking -----

    def rank(self, query: str, limit: int = 3, *, partial: bool = False) -> list[Match]:
        """Return the best entries for a query, best first, with scores from 0 to 100."""
        slots = self._slots(query, partial=partial)
        information = sum(s.weight for s in slots)
        if information <= 0:
            return []
        covered = self._cover(slots, partial=partial)
        if not covered:
            return []
        denominator = max(information, MIN_QUERY_INFORMATION)
        wanted = max(limit, CANDIDATES_FOR_FUZZY // 2) if partial else CANDIDATES_FOR_FUZZY
        shortlist = [(i, covered[i]) for i in heapq.nlargest(wanted, covered, key=covered.__getitem__)]
        query_terms: dict[str, float] = {}
        for slot in slots:
            for term, certainty in slot.terms.items():
                value = self._idf.get(term, 0.0) * certainty
                if value > query_terms.get(term, 0.0):
                    query_terms[term] = value
        scored: list[tuple[float, float, int]] = []
        # The query's likeliest reading, as terms in order, for comparing word order and extra words.
        query_text = " ".join(max(slot.terms, key=slot.terms.__getitem__) for slot in slots if slot.terms)
        # One call compares the query with every wording of every candidate.
        owners = [i for i, _ in shortlist for _ in self._texts[i]]
        similarities: dict[int, float] = {}
        for _, similarity, position in process.extract(
            query_text, [t for i, _ in shortlist for t in self._texts[i]], scorer=fuzz.token_sort_ratio,
            limit=None,
        ):
            owner = owners[position]
            if similarity > similarities.get(owner, 0.0):
                similarities[owner] = similarity
        for i, value in shortlist:
            lexical = min(value / denominator, 1.0)
            focus = self._focus(i, query_terms)
            similarity = similarities.get(i, 0.0) / 100
            if partial:
                # While typing, closeness to one wording is left out to stay within the time budget.
                parts = LEXICAL_SHARE * lexical + FOCUS_SHARE * focus + SIMILARITY_SHARE * similarity
                score = 100 * parts / (1 - CLOSENESS_SHARE)
            else:
                closeness = self._closeness(i, query_terms, denominator)
                score = 100 * (LEXICAL_SHARE * lexical + CLOSENESS_SHARE * closeness + FOCUS_SHARE * focus
                               + SIMILARITY_SHARE * similarity)
            scored.append((score, lexical, i))
        scored.sort(key=lambda item: (-item[0], item[2]))
        return [Match(self.entries[i], round(score), lexical) for score, lexical, i in scored[:limit]]

    def _cover(self, slots: Sequence[_Slot], *, partial: bool) -> dict[int, float]:
        """Return, per entry, how much of the slots' information it covers (unnormalised).

        While a member types, every keystroke repeats the words before the last one, so the sums
        for the last few queries' leading words are kept, and only the words after the longest
        kept beginning are looked up.
        """
        keys = [(partial, *(tuple(sorted(slot.terms.items())) for slot in slots[:n]))
                for n in range(len(slots) + 1)]
        known = len(slots)
        while known > 0 and keys[known] not in self._covers:
            known -= 1
        covered = dict(self._covers[keys[known]]) if known else {}
        if known:
            self._covers.move_to_end(keys[known])
        postings = self._core_postings if partial else self._full_postings
        for n in range(known, len(slots)):
            best_here: dict[int, float] = {}
            for term, certainty in slots[n].terms.items():
                hits = postings.get(term, ())
                if partial and len(hits) > self._common:
                    continue  # a word in most entries barely moves the ranking; skip it while typing
                value_per = self._idf.get(term, 0.0) * certainty
                for i, strength in hits:
                    value = value_per * strength
                    if value > best_here.get(i, 0.0):
                        best_here[i] = value
            for i, value in best_here.items():
                covered[i] = covered.get(i, 0.0) + value
            if n == len(slots) - 2 or n == len(slots) - 1:
                self._covers[keys[n + 1]] = dict(covered) if n == len(slots) - 2 else covered
                if len(self._covers) > COVER_CACHE_SIZE:
                    self._covers.popitem(last=False)
        return covered

    def _closeness(self, i: int, query_terms: dict[str, float], information: float) -> float:
        """Return how nearly one of the entry's wordings says what the query says (Dice, by rarity)."""
        best = 0.0
        wanted = query_terms.keys()
        for wording in self._wordings[i]:
            common = wording.terms & wanted
            if common:
                shared = sum(map(query_terms.__getitem__, common))
                best = max(best, 2 * shared / (information + wording.information))
        return min(best, 1.0)

    def _focus(self, i: int, query_terms: dict[str, float]) -> float:
        """Return how much of the entry's own question the query touches (weighted by rarity)."""
        total = self._question_totals[i]
        if total <= 0:
            return 0.0
        return sum(weight for term, weight in self._question_weights[i] if term in query_terms) / total

    def decide(self, query: str) -> Outcome:
        """Rank a full question and say whether to answer, offer choices or treat it as a miss."""
        matches = self.rank(query, limit=3)
        if not matches or matches[0].score < SUGGEST_SCORE or matches[0].coverage < MIN_COVERAGE:
            return Outcome(Verdict.MISS, ())
        top = matches[0].score
        if self.is_confident(matches, 0):
            return Outcome(Verdict.ANSWER, tuple(matches))
        close = tuple(m for m in matches if m.score >= max(SUGGEST_SCORE, top - SUGGEST_WINDOW))
        return Outcome(Verdict.SUGGEST, close)

    def is_confident(self, matches: Sequence[Match], position: int) -> bool:
        """Say whether the match at `position` of a ranking would be answered outright."""
        if position != 0 or not matches:
            return False
        top = matches[0].score
        margin = top - (matches[1].score if len(matches) > 1 else 0)
        if matches[0].coverage < CONFIDENT_COVERAGE:
            return False  # too much of the question is about something the entry does not cover
        if top >= CLEAR_WINNER_SCORE:
            return margin >= CLEAR_WINNER_MARGIN
        return top >= CONFIDENT_SCORE and margin >= CONFIDENT_MARGIN

    def suggest(self, typed: str, limit: int = 25) -> list[Match]:
        """Return autocomplete choices for what a member has typed so far."""
        if not typed.strip():
            return [Match(e, 0) for e in self.entries[:limit]]
        return self.rank(typed, limit=limit, partial=True)


# ----- guild curation -------------------------------------------------------------


@dataclass(frozen=True)
class GuildEntry:
    """A guild's own entry (custom) or its rewrite of a built-in (override), as stored."""

    entry_id: str
    kind: Origin
    question: str
    answer: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuildFaq:
    """Everything one guild changed: its entries, the built-ins it hid, and aliases added from misses."""

    entries: tuple[GuildEntry, ...] = ()
    hidden: frozenset[str] = frozenset()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """Say whether the guild uses the built-ins unchanged."""
        return not self.entries and not self.hidden and not self.aliases


def apply_guild(library: FaqLibrary, guild: GuildFaq) -> list[FaqEntry]:
    """Return the entries a guild sees: built-ins (hidden ones removed, overrides applied), then its own."""
    overrides = {e.entry_id: e for e in guild.entries if e.kind is Origin.OVERRIDE}
    result: list[FaqEntry] = []
    for entry in library.entries:
        if entry.id in guild.hidden:
            continue
        override = overrides.get(entry.id)
        if override is not None:
            entry = replace(entry, question=override.question, answer=override.answer,
                            keywords=override.keywords, origin=Origin.OVERRIDE)
        result.append(entry)
    for own in guild.entries:
        if own.kind is Origin.CUSTOM:
            result.append(FaqEntry(id=own.entry_id, question=own.question, answer=own.answer,
                                   keywords=own.keywords, origin=Origin.CUSTOM))
    visible = {e.id for e in result}
    with_aliases: list[FaqEntry] = []
    for entry in result:
        extra = tuple(a for a in guild.aliases.get(entry.id, ()) if a not in entry.aliases)
        related = tuple(r for r in entry.related if r in visible)
        if extra or related != entry.related:
            entry = replace(entry, aliases=entry.aliases + extra, related=related)
        with_aliases.append(entry)
    return with_aliases


def mentions_crisis(text: str) -> bool:
    """Say whether written content talks about crisis or self-harm (a content rule, not a classifier)."""
    lowered = text.lower()
    return any(word in lowered for word in CRISIS_MENTIONS)


def check_entry_text(
    question: str, answer: str, keywords: Sequence[str], *, care: bool = False
) -> list[tuple[str, str]]:
    """Return (field, problem) pairs for an entry's wording, in words a moderator understands."""
    problems: list[tuple[str, str]] = []
    if len(question.strip()) < 3:
        problems.append(("question", "needs at least a few words"))
    elif len(question) > QUESTION_LIMIT:
        problems.append(("question", f"is {len(question)} characters; the limit is {QUESTION_LIMIT}"))
    if not answer.strip():
        problems.append(("answer", "is empty"))
    elif len(answer) > ANSWER_LIMIT:
        problems.append(("answer", f"is {len(answer)} characters; the limit is {ANSWER_LIMIT}"))
    if len(keywords) > KEYWORDS_PER_ENTRY:
        problems.append(("keywords", f"has {len(keywords)} keywords; the limit is {KEYWORDS_PER_ENTRY}"))
    for keyword in keywords:
        if not keyword.strip() or len(keyword) > KEYWORD_LIMIT:
            problems.append(("keywords", f"each needs 1 to {KEYWORD_LIMIT} characters ({keyword[:20]!r})"))
            break
    about_crisis = care or mentions_crisis(question) or mentions_crisis(answer)
    if about_crisis and "/resources" not in answer:
        problems.append(("answer", "talks about crisis or self-harm, so it must point members to /resources"))
    return problems


def split_keywords(text: str) -> tuple[str, ...]:
    """Turn 'a, b; c' or one keyword per line into a clean tuple."""
    parts = re.split(r"[,;\n]", text)
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def slug_for(question: str, taken: Iterable[str]) -> str:
    """Make a short, readable, unused id from a question."""
    words = [w for w in re.findall(r"[a-z0-9]+", question.lower()) if w not in STOPWORDS] or ["entry"]
    base = ""
    for word in words:
        candidate = f"{base}-{word}" if base else word
        if len(candidate) > 40:
            break
        base = candidate
    base = base or words[0][:40]
    taken_set = set(taken)
    slug, n = base, 2
    while slug in taken_set:
        slug = f"{base}-{n}"
        n += 1
    return slug


# ----- gap queue ---------------------------------------------------------------------


@dataclass(frozen=True)
class Miss:
    id: int
    text: str
    asked_on: datetime


@dataclass(frozen=True)
class MissGroup:
    """Questions in the gap queue that say much the same thing."""

    wording: str
    count: int
    miss_ids: tuple[int, ...]
    examples: tuple[str, ...]  # other ways the group was worded, most asked first
    suggestion: Match | None = None

    @property
    def first_miss(self) -> int:
        """Return the id of the group's oldest miss, which names the group while it stays queued."""
        return self.miss_ids[0]


GROUP_SIMILARITY = 72
MISS_EXAMPLES = 2


def group_misses(misses: Sequence[Miss], index: FaqIndex | None = None) -> list[MissGroup]:
    """Group misses by similar wording, most asked first, each with the entry it is closest to."""
    groups: list[tuple[str, list[Miss]]] = []
    for miss in sorted(misses, key=lambda m: m.id):
        key = " ".join(sorted(terms_of(miss.text))) or miss.text.lower().strip()
        best_at, best_score = -1, 0.0
        for position, (group_key, _) in enumerate(groups):
            score = fuzz.token_set_ratio(key, group_key)
            if score > best_score:
                best_at, best_score = position, score
        if best_at >= 0 and best_score >= GROUP_SIMILARITY:
            groups[best_at][1].append(miss)
        else:
            groups.append((key, [miss]))
    result: list[MissGroup] = []
    for _, members in groups:
        texts = Counter(" ".join(m.text.split()) for m in members)
        wording = min(texts, key=lambda t: (-texts[t], len(t), t))
        suggestion = None
        if index is not None:
            ranked = index.rank(wording, limit=1)
            suggestion = ranked[0] if ranked else None
        result.append(MissGroup(
            wording=wording,
            count=len(members),
            miss_ids=tuple(m.id for m in members),
            examples=tuple(t for t, _ in texts.most_common() if t != wording)[:MISS_EXAMPLES],
            suggestion=suggestion,
        ))
    result.sort(key=lambda g: (-g.count, g.wording))
    return result


# ----- export and import ------------------------------------------------------------------


def _toml_string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes, except that TOML also forbids DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def export_toml(guild: GuildFaq, *, guild_name: str = "") -> str:
    """Write a guild's FAQ changes as TOML that `parse_import` reads back unchanged."""
    lines = [
        "# Hearth FAQ changes" + (f" for {guild_name}" if guild_name else ""),
        "# Import this file with /faqadmin import. Entries with kind = \"override\" rewrite a built-in",
        "# entry of the same id; kind = \"custom\" entries are this server's own.",
        "",
        f"hidden = {_toml_list(sorted(guild.hidden))}",
        "",
    ]
    for entry in guild.entries:
        lines += [
            "[[entry]]",
            f"id = {_toml_string(entry.entry_id)}",
            f"kind = {_toml_string(entry.kind.value)}",
            f"question = {_toml_string(entry.question)}",
            f"answer = {_toml_string(entry.answer)}",
            f"keywords = {_toml_list(entry.keywords)}",
            "",
        ]
    if guild.aliases:
        lines.append("[aliases]")
        for entry_id in sorted(guild.aliases):
            lines.append(f"{_toml_string(entry_id)} = {_toml_list(guild.aliases[entry_id])}")
        lines.append("")
    return "\n".join(lines)


class ImportProblems(UserFacingError):
    """An import file with problems; nothing was changed."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:12]
        more = f"\n…and {len(problems) - len(shown)} more." if len(problems) > len(shown) else ""
        message = (
            "Nothing was changed: the file has "
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''}.\n"
            + "\n".join(f"• {p}" for p in shown)
            + more
        )
        super().__init__(message[:1900])
        self.problems = problems


def parse_import(data: bytes, builtin_ids: set[str]) -> GuildFaq:
    """Read and validate a whole import file, raising ImportProblems naming every fault."""
    if len(data) > IMPORT_BYTES_LIMIT:
        size, limit = len(data) // 1024, IMPORT_BYTES_LIMIT // 1024
        raise ImportProblems([f"the file is {size} KB; the limit is {limit} KB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportProblems(
            ["the file is not UTF-8 text (export a file with /faqadmin export to see the format)"]
        ) from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ImportProblems([f"the file is not valid TOML: {exc}"]) from None
    problems: list[str] = []
    for key in table:
        if key not in ("hidden", "entry", "aliases"):
            problems.append(f"`{key}` is not a known key (known: hidden, entry, aliases)")

    hidden_raw = table.get("hidden", [])
    hidden: set[str] = set()
    if not isinstance(hidden_raw, list) or not all(isinstance(h, str) for h in hidden_raw):
        problems.append("`hidden` must be a list of entry ids")
    else:
        for entry_id in hidden_raw:
            if entry_id not in builtin_ids:
                problems.append(f"hidden: `{entry_id[:48]}` is not a built-in entry")
            hidden.add(entry_id)

    entries: list[GuildEntry] = []
    raw_entries = table.get("entry", [])
    if not isinstance(raw_entries, list):
        problems.append("`entry` must be a list of [[entry]] tables")
        raw_entries = []
    if len(raw_entries) > IMPORT_ENTRY_LIMIT:
        problems.append(f"the file has {len(raw_entries)} entries; the limit is {IMPORT_ENTRY_LIMIT}")
        raw_entries = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_entries, start=1):
        where = f"entry {n}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a table")
            continue
        entry = _import_entry(raw, where, builtin_ids, problems)
        if entry is None:
            continue
        if entry.entry_id in seen:
            problems.append(f"{where}: id `{entry.entry_id}` appears twice")
        seen.add(entry.entry_id)
        entries.append(entry)

    aliases: dict[str, tuple[str, ...]] = {}
    raw_aliases = table.get("aliases", {})
    if not isinstance(raw_aliases, dict):
        problems.append("`aliases` must be a table of entry id = [\"wording\", ...]")
        raw_aliases = {}
    known = builtin_ids | seen
    for entry_id, values in raw_aliases.items():
        if entry_id not in known:
            problems.append(f"aliases.{entry_id[:48]}: there is no entry with that id")
        if not isinstance(values, list) or not all(isinstance(v, str) and 0 < len(v.strip()) <= ALIAS_LIMIT
                                                   for v in values):
            problems.append(f"aliases.{entry_id[:48]}: must be a list of wordings of 1 to {ALIAS_LIMIT} "
                            "characters")
            continue
        if len(values) > ALIASES_PER_ENTRY:
            problems.append(f"aliases.{entry_id[:48]}: has {len(values)} aliases; "
                            f"the limit is {ALIASES_PER_ENTRY}")
            continue
        aliases[entry_id] = tuple(dict.fromkeys(v.strip() for v in values))
    if problems:
        raise ImportProblems(problems)
    return GuildFaq(entries=tuple(entries), hidden=frozenset(hidden), aliases=aliases)


def _import_entry(
    raw: dict[str, Any], where: str, builtin_ids: set[str], problems: list[str]
) -> GuildEntry | None:
    allowed = {"id", "kind", "question", "answer", "keywords"}
    for key in raw:
        if key not in allowed:
            problems.append(f"{where}: `{key}` is not a known key (known: {', '.join(sorted(allowed))})")
    missing = [k for k in ("id", "kind", "question", "answer") if k not in raw]
    if missing:
        names = ", ".join(f"`{k}`" for k in missing)
        problems.append(f"{where}: {names} {'is' if len(missing) == 1 else 'are'} required")
        return None
    entry_id, kind, question, answer = raw["id"], raw["kind"], raw["question"], raw["answer"]
    keywords = raw.get("keywords", [])
    bad_types = [k for k, v in (("id", entry_id), ("kind", kind), ("question", question), ("answer", answer))
                 if not isinstance(v, str)]
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        bad_types.append("keywords")
    if bad_types:
        names = ", ".join(f"`{k}`" for k in bad_types)
        problems.append(f"{where}: {names} must be text (keywords: a list of text)")
        return None
    where = f"entry {entry_id[:48]!r}" if entry_id else where
    ok = True
    if not ENTRY_ID.match(entry_id):
        problems.append(f"{where}: id must be lower-case letters, digits and dashes (at most 48)")
        ok = False
    if kind not in (Origin.CUSTOM.value, Origin.OVERRIDE.value):
        problems.append(f"{where}: kind must be \"custom\" or \"override\", not {kind[:20]!r}")
        ok = False
    elif kind == Origin.OVERRIDE.value and entry_id not in builtin_ids:
        problems.append(f"{where}: is an override but there is no built-in entry with that id")
        ok = False
    elif kind == Origin.CUSTOM.value and entry_id in builtin_ids:
        problems.append(f"{where}: a custom entry cannot use a built-in id (use kind = \"override\")")
        ok = False
    for key, message in check_entry_text(question, answer, keywords):
        problems.append(f"{where}: {key} {message}")
        ok = False
    if not ok:
        return None
    return GuildEntry(entry_id, Origin(kind), question.strip(), answer.strip(),
                      tuple(dict.fromkeys(k.strip() for k in keywords)))


# ----- the use cases -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    custom: int
    overrides: int
    hidden: int
    aliases: int
    replaced: bool


class FaqService:
    """The FAQ as each guild sees it: built-ins plus that guild's changes, searched and curated."""

    GUILD_CACHE_SIZE = 256

    def __init__(self, library: FaqLibrary, store: FaqStore | None = None, *, misses_days: int = 90) -> None:
        self.library = library
        self.store = store
        self.misses_days = misses_days
        self.sections = library.section_texts()
        self._guild_indexes: OrderedDict[int, FaqIndex] = OrderedDict()
        # One build at a time per guild, shared by everyone who asks meanwhile; a change made
        # during a build bumps the guild's generation, so the stale result is not cached.
        self._builds: dict[int, asyncio.Task[FaqIndex]] = {}
        self._generations: Counter[int] = Counter()
        self.builtin_ids = {e.id for e in library.entries}

    @property
    def builtin_index(self) -> FaqIndex:
        """Return the index over the shipped entries (shared by every guild without changes)."""
        return self.library.builtin_index

    async def warm(self) -> None:
        """Build the shipped entries' index off the event loop, so start-up need not wait for it."""
        await asyncio.to_thread(lambda: self.library.builtin_index)

    # ----- views -----

    async def guild_faq(self, guild_id: int | None) -> GuildFaq:
        """Return a guild's changes (none outside a guild or without storage)."""
        if guild_id is None or self.store is None:
            return GuildFaq()
        return await self.store.guild_faq(guild_id)

    async def index_for(self, guild_id: int | None) -> FaqIndex:
        """Return the search index for what a guild sees, building and caching it on first use."""
        if guild_id is None or self.store is None:
            return self.builtin_index
        cached = self._guild_indexes.get(guild_id)
        if cached is not None:
            self._guild_indexes.move_to_end(guild_id)
            return cached
        # Shielded: one caller giving up (an autocomplete out of time) must not stop the build
        # the others are waiting for.
        return await asyncio.shield(self._build_for(guild_id))

    async def ready_index(self, guild_id: int | None, within: float) -> FaqIndex | None:
        """Return the guild's index, waiting at most `within` seconds for it to be built (else None).

        The build carries on, so a later request finds the index ready.
        """
        try:
            return await asyncio.wait_for(self.index_for(guild_id), within)
        except TimeoutError:
            return None

    def _build_for(self, guild_id: int) -> asyncio.Task[FaqIndex]:
        building = self._builds.get(guild_id)
        if building is None:
            building = asyncio.create_task(self._build(guild_id), name=f"faq-index-build:{guild_id}")
            self._builds[guild_id] = building
            building.add_done_callback(lambda task: self._build_done(guild_id, task))
        return building

    def _build_done(self, guild_id: int, task: asyncio.Task[FaqIndex]) -> None:
        if self._builds.get(guild_id) is task:
            del self._builds[guild_id]
        if not task.cancelled():
            task.exception()  # a failed background build is retried by the next request

    async def _build(self, guild_id: int) -> FaqIndex:
        assert self.store is not None
        generation = self._generations[guild_id]
        guild = await self.store.guild_faq(guild_id)
        if guild.is_empty:
            index = self.builtin_index
        else:
            # Building a large guild's index takes a moment; keep the event loop free meanwhile.
            index = await asyncio.to_thread(FaqIndex, apply_guild(self.library, guild), self.sections)
        if self._generations[guild_id] == generation:
            self._guild_indexes[guild_id] = index
            if len(self._guild_indexes) > self.GUILD_CACHE_SIZE:
                self._guild_indexes.popitem(last=False)
        return index

    def forget(self, guild_id: int) -> None:
        """Drop a guild's index after its entries changed, and start building the new one.

        A build already running finishes for whoever waits on it, but is not kept.
        """
        self._guild_indexes.pop(guild_id, None)
        self._generations[guild_id] += 1
        self._builds.pop(guild_id, None)
        if self.store is not None:
            self._build_for(guild_id)

    def cancel_builds(self) -> None:
        """Stop index builds in progress (the bot is closing or the cog unloading)."""
        for task in list(self._builds.values()):
            task.cancel()
        self._builds.clear()

    async def entries(self, guild_id: int | None, entry_ids: Iterable[str]) -> list[FaqEntry]:
        """Return the entries with these ids as the guild sees them, in order (hidden and unknown left out).

        A built index answers at once; otherwise the guild's changes are applied without building
        one, so a button or a moderator's form never waits for a large server's index.
        """
        wanted = list(entry_ids)
        index = (self._guild_indexes.get(guild_id) if guild_id is not None and self.store is not None
                 else self.builtin_index)
        if index is not None:
            found = [index.get(entry_id) for entry_id in wanted]
        else:
            assert guild_id is not None
            seen = {e.id: e for e in apply_guild(self.library, await self.guild_faq(guild_id))}
            found = [seen.get(entry_id) for entry_id in wanted]
        return [entry for entry in found if entry is not None]

    async def entry(self, guild_id: int | None, entry_id: str) -> FaqEntry | None:
        """Return an entry as the guild sees it (None if hidden or unknown)."""
        found = await self.entries(guild_id, [entry_id])
        return found[0] if found else None

    def section_label(self, entry: FaqEntry) -> str:
        """Describe where in the guide an entry comes from."""
        return self.library.section_label(entry.section) if entry.section else ""

    # ----- asking -----

    async def suggest(self, guild_id: int | None, typed: str, limit: int = 25, *,
                      within: float | None = None) -> list[Match]:
        """Return autocomplete choices for what has been typed so far.

        With `within`, give up (returning nothing) if the guild's index is not ready in time.
        """
        index = await (self.index_for(guild_id) if within is None else self.ready_index(guild_id, within))
        return index.suggest(typed, limit) if index is not None else []

    async def ask(self, guild_id: int | None, question: str) -> Outcome:
        """Decide what to do with a member's question (nothing is stored here)."""
        return (await self.index_for(guild_id)).decide(question)

    async def search(self, guild_id: int | None, query: str, limit: int = 3) -> list[tuple[Match, bool]]:
        """Return the top matches with whether each would be answered outright (for the CLI)."""
        index = await self.index_for(guild_id)
        matches = index.rank(query, limit=max(limit, 2))
        return [(m, index.is_confident(matches, i)) for i, m in enumerate(matches)][:limit]

    async def record_miss(self, guild_id: int, question: str, now: datetime) -> None:
        """Add a question nothing answered to the guild's gap queue; who asked is never stored."""
        if self.store is None:
            return
        text = " ".join(question.split())[:MISS_TEXT_LIMIT]
        if text:
            await self.store.add_miss(guild_id, text, now)

    # ----- curation -----

    async def add_custom(self, guild_id: int, question: str, answer: str, keywords: Sequence[str],
                         now: datetime) -> FaqEntry:
        """Add a guild's own entry, returning it as members will see it."""
        store = self._require_store()
        self._check(question, answer, keywords)
        taken = self.builtin_ids | {e.entry_id for e in (await store.guild_faq(guild_id)).entries}
        entry_id = slug_for(question, taken)
        own = GuildEntry(entry_id, Origin.CUSTOM, question.strip(), answer.strip(), tuple(keywords))
        await store.upsert_entry(guild_id, own, now)
        self.forget(guild_id)
        entry = await self.entry(guild_id, entry_id)
        assert entry is not None
        return entry

    async def edit(self, guild_id: int, entry_id: str, question: str, answer: str, keywords: Sequence[str],
                   now: datetime) -> FaqEntry:
        """Change an entry for this guild: a built-in gets a guild override, a custom entry is updated."""
        store = self._require_store()
        current = await self.editable(guild_id, entry_id)
        self._check(question, answer, keywords, care=current.care)
        kind = Origin.CUSTOM if current.origin is Origin.CUSTOM else Origin.OVERRIDE
        await store.upsert_entry(guild_id, GuildEntry(entry_id, kind, question.strip(), answer.strip(),
                                                      tuple(keywords)), now)
        self.forget(guild_id)
        entry = await self.entry(guild_id, entry_id)
        assert entry is not None
        return entry

    async def editable(self, guild_id: int, entry_id: str) -> FaqEntry:
        """Return the entry a moderator asked to change, or explain why it cannot be found."""
        entry = await self.entry(guild_id, entry_id)
        if entry is None:
            if entry_id in self.builtin_ids:
                raise UserFacingError(
                    f"`{entry_id}` is hidden on this server. Use `/faqadmin restore` to bring it back first."
                )
            raise UserFacingError(
                f"There is no FAQ entry `{entry_id[:48]}` here. Pick one from the list as you type."
            )
        return entry

    async def remove(self, guild_id: int, entry_id: str, now: datetime) -> FaqEntry:
        """Hide a built-in for this guild, or delete a custom entry; return what was removed."""
        store = self._require_store()
        entry = await self.editable(guild_id, entry_id)
        if entry.origin is Origin.CUSTOM:
            await store.delete_entry(guild_id, entry_id)
        else:
            await store.hide(guild_id, entry_id, now)
        self.forget(guild_id)
        return entry

    async def restore(self, guild_id: int, entry_id: str) -> FaqEntry:
        """Show a hidden built-in again (with its guild override, if any)."""
        store = self._require_store()
        if entry_id not in self.builtin_ids or not await store.unhide(guild_id, entry_id):
            raise UserFacingError(f"`{entry_id[:48]}` is not a hidden built-in entry on this server.")
        self.forget(guild_id)
        entry = await self.entry(guild_id, entry_id)
        assert entry is not None
        return entry

    async def hidden(self, guild_id: int) -> list[FaqEntry]:
        """Return the built-ins this guild has hidden."""
        guild = await self.guild_faq(guild_id)
        return [e for e in self.library.entries if e.id in guild.hidden]

    # ----- gap queue -----

    async def misses(self, guild_id: int, now: datetime, *,
                     suggest_within: float | None = None) -> list[MissGroup]:
        """Return the guild's gap queue grouped by similar wording (old misses are dropped first).

        With `suggest_within`, the closest entries are suggested only if the guild's index is
        ready within that many seconds.
        """
        store = self._require_store()
        await store.purge_misses(now, self.misses_days, guild_id=guild_id)
        index = await (self.index_for(guild_id) if suggest_within is None
                       else self.ready_index(guild_id, suggest_within))
        return group_misses(await store.misses(guild_id), index)

    async def miss_group(self, guild_id: int, miss_id: int, now: datetime, *,
                         suggest_within: float | None = None) -> MissGroup | None:
        """Return the gap queue's group holding a miss (None once it left: answered, dismissed or expired)."""
        groups = await self.misses(guild_id, now, suggest_within=suggest_within)
        return next((g for g in groups if miss_id in g.miss_ids), None)

    async def add_alias(self, guild_id: int, entry_id: str, wording: str, miss_ids: Sequence[int],
                        now: datetime) -> FaqEntry:
        """Teach an entry another way of asking, and clear the misses it answers."""
        store = self._require_store()
        entry = await self.editable(guild_id, entry_id)
        alias = " ".join(wording.split())
        if not alias or len(alias) > ALIAS_LIMIT:
            raise UserFacingError(f"The wording needs 1 to {ALIAS_LIMIT} characters.", keep_text=wording)
        await store.add_alias(guild_id, entry.id, alias, now, clear_misses=miss_ids)
        self.forget(guild_id)
        updated = await self.entry(guild_id, entry.id)
        assert updated is not None
        return updated

    async def dismiss(self, guild_id: int, miss_ids: Sequence[int]) -> int:
        """Remove misses from the gap queue without changing any entry."""
        return await self._require_store().delete_misses(guild_id, miss_ids)

    # ----- export and import -----

    async def export(self, guild_id: int, guild_name: str = "") -> str:
        """Return the guild's FAQ changes as TOML."""
        return export_toml(await self.guild_faq(guild_id), guild_name=guild_name)

    async def import_(self, guild_id: int, data: bytes, now: datetime, *, replace_all: bool) -> ImportSummary:
        """Validate a whole file, then apply it in one transaction; a bad file changes nothing."""
        store = self._require_store()
        incoming = parse_import(data, self.builtin_ids)
        await store.apply_import(guild_id, incoming, now, replace_all=replace_all)
        self.forget(guild_id)
        return ImportSummary(
            custom=sum(1 for e in incoming.entries if e.kind is Origin.CUSTOM),
            overrides=sum(1 for e in incoming.entries if e.kind is Origin.OVERRIDE),
            hidden=len(incoming.hidden),
            aliases=sum(len(v) for v in incoming.aliases.values()),
            replaced=replace_all,
        )

    # ----- helpers -----

    def _require_store(self) -> FaqStore:
        if self.store is None:
            raise RuntimeError("this FAQ service has no storage")
        return self.store

    @staticmethod
    def _check(question: str, answer: str, keywords: Sequence[str], *, care: bool = False) -> None:
        problems = check_entry_text(question, answer, keywords, care=care)
        if problems:
            details = "\n".join(f"• {key}: {message}" for key, message in problems)
            raise UserFacingError(f"That entry can't be saved yet:\n{details}", keep_text=answer)
