"""Load and validate the FAQ (`content/faq/*.toml`) and topic cards (`content/topics/*.md`).

FAQ files hold `[[entry]]` tables. Topic cards are Markdown with `+++` TOML front
matter; pages are separated by a line holding only `---`, and a page may start
with a `## Heading`. Every problem names the file and the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.content import EMBED_DESCRIPTION_LIMIT, EMBED_TITLE_LIMIT, ContentReader, content_loader
from bot.services.faq import (
    ALIAS_LIMIT,
    ALIASES_PER_ENTRY,
    ENTRY_ID,
    KEYWORD_LIMIT,
    KEYWORDS_PER_ENTRY,
    QUESTION_LIMIT,
    RELATED_PER_ENTRY,
    FaqEntry,
    FaqLibrary,
    Topic,
    TopicPage,
    check_entry_text,
)

ENTRY_KEYS = {"id", "question", "answer", "aliases", "keywords", "section", "related", "care"}
TOPIC_KEYS = {"id", "title", "summary", "guide_section", "related", "parts"}
TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
PAGE_BREAK = re.compile(r"^---[ \t]*$", re.MULTILINE)
RELATED_PER_TOPIC = 10
SUMMARY_LIMIT = 200


def page_description(heading: str, body: str) -> str:
    """Return a topic page as /learn shows it in one embed description: the heading in bold, then the body."""
    return f"**{heading}**\n\n{body}" if heading else body


def _text_list(limit: int, most: int) -> Any:
    def check(values: list[Any]) -> str | None:
        if len(values) > most:
            return f"has {len(values)} items; the limit is {most}"
        for value in values:
            if not isinstance(value, str) or not value.strip():
                return "must be a list of non-empty text"
            if len(value) > limit:
                return f"has an item of {len(value)} characters ({value[:30]!r}…); the limit is {limit}"
        return None

    return check


def load_topics(reader: ContentReader, folder: Path) -> list[tuple[Topic, Path]]:
    """Read every topic card, recording problems."""
    topics: list[tuple[Topic, Path]] = []
    if not folder.is_dir():
        reader.problem(folder, "(folder)", "is missing")
        return topics
    seen: set[str] = set()
    for path in sorted(folder.glob("*.md")):
        parsed = reader.markdown(path)
        if parsed is None:
            continue
        meta, body = parsed
        reader.unknown_keys(meta, TOPIC_KEYS, path)
        topic_id = reader.get(meta, "id", str, path, check=lambda v: None if TOPIC_ID.match(v) else
                              "must be lower-case letters, digits and dashes")
        title = reader.get(meta, "title", str, path, max_length=EMBED_TITLE_LIMIT - 20)
        summary = reader.get(meta, "summary", str, path, max_length=SUMMARY_LIMIT)
        guide_section = reader.get(meta, "guide_section", str, path)
        related = reader.get(meta, "related", list, path, required=False, default=[],
                             check=_text_list(48, RELATED_PER_TOPIC))
        parts = reader.get(meta, "parts", dict, path, required=False, default={})
        for key, label in list(parts.items()):
            if not isinstance(label, str) or not label.strip():
                reader.problem(path, f"parts.{key}", "must be text")
                parts.pop(key)
        pages: list[TopicPage] = []
        for number, chunk in enumerate(PAGE_BREAK.split(body), start=1):
            chunk = chunk.strip()
            if not chunk:
                reader.problem(path, f"page {number}", "is empty (two --- lines in a row?)")
                continue
            heading, text = "", chunk
            first, _, rest = chunk.partition("\n")
            if first.startswith("## "):
                heading, text = first[3:].strip(), rest.strip()
            shown = len(page_description(heading, text))
            if shown > EMBED_DESCRIPTION_LIMIT:
                with_heading = " with its heading" if heading else ""
                reader.problem(path, f"page {number}",
                               f"is {shown} characters{with_heading}; the limit is {EMBED_DESCRIPTION_LIMIT}")
                continue
            if not text:
                reader.problem(path, f"page {number}", "has a heading but no text")
                continue
            pages.append(TopicPage(heading, text))
        if not pages and body.strip() == "":
            reader.problem(path, "(body)", "has no pages")
        if None in (topic_id, title, summary, guide_section) or not pages:
            continue
        if topic_id in seen:
            reader.problem(path, "id", f"{topic_id!r} is used by another topic")
            continue
        seen.add(topic_id)
        topic = Topic(topic_id, title.strip(), summary.strip(), guide_section.strip(), tuple(pages),
                      tuple(related), {k: v.strip() for k, v in parts.items()})
        topics.append((topic, path))
    if not topics and not reader.problems:
        reader.problem(folder, "(folder)", "has no topic cards (*.md)")
    return topics


def load_entries(
    reader: ContentReader, folder: Path, topics: list[Topic]
) -> list[tuple[FaqEntry, Path, int]]:
    """Read every FAQ entry, recording problems; cross-references are checked by the caller."""
    found: list[tuple[FaqEntry, Path, int]] = []
    if not folder.is_dir():
        reader.problem(folder, "(folder)", "is missing")
        return found
    sections = {t.id for t in topics} | {f"{t.id}/{part}" for t in topics for part in t.parts}
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        data = reader.toml(path)
        if data is None:
            continue
        reader.unknown_keys(data, {"entry"}, path)
        raw_entries = reader.get(data, "entry", list, path)
        if raw_entries is None:
            continue
        for n, raw in enumerate(raw_entries):
            entry = validate_entry(reader, path, f"entry[{n}]", raw, sections)
            if entry is None:
                continue
            if entry.id in seen:
                reader.problem(path, f"entry[{n}].id", f"{entry.id!r} is already used in {seen[entry.id]}")
                continue
            seen[entry.id] = reader.rel(path)
            found.append((entry, path, n))
    return found


def validate_entry(
    reader: ContentReader, path: Path, where: str, raw: Any, sections: set[str]
) -> FaqEntry | None:
    """Check one [[entry]] table, recording every problem; return the entry if it is usable."""
    if not isinstance(raw, dict):
        reader.problem(path, where, "must be a table ([[entry]])")
        return None
    before = len(reader.problems)
    reader.unknown_keys(raw, ENTRY_KEYS, path, where)
    entry_id = reader.get(raw, "id", str, path, where, check=lambda v: None if ENTRY_ID.match(v) else
                          "must be lower-case letters, digits and dashes (at most 48)")
    question = reader.get(raw, "question", str, path, where, max_length=QUESTION_LIMIT)
    answer = reader.get(raw, "answer", str, path, where)
    aliases = reader.get(raw, "aliases", list, path, where, required=False, default=[],
                         check=_text_list(ALIAS_LIMIT, ALIASES_PER_ENTRY))
    keywords = reader.get(raw, "keywords", list, path, where, required=False, default=[],
                          check=_text_list(KEYWORD_LIMIT, KEYWORDS_PER_ENTRY))
    section = reader.get(raw, "section", str, path, where, check=lambda v: None if v in sections else
                         f"{v!r} is not a topic id or topic/part from content/topics "
                         f"(known: {', '.join(sorted(sections))})")
    related = reader.get(raw, "related", list, path, where, required=False, default=[],
                         check=_text_list(48, RELATED_PER_ENTRY))
    care = reader.get(raw, "care", bool, path, where, required=False, default=False)
    if isinstance(question, str) and isinstance(answer, str):
        for key, message in check_entry_text(question, answer.strip(), keywords or [], care=bool(care)):
            reader.problem(path, f"{where}.{key}", message)
    if len(reader.problems) > before or None in (entry_id, question, answer, section):
        return None
    return FaqEntry(
        id=entry_id,
        question=question.strip(),
        answer=answer.strip(),
        aliases=tuple(a.strip() for a in aliases),
        keywords=tuple(k.strip() for k in keywords),
        section=section,
        related=tuple(related),
        care=bool(care),
    )


def check_references(
    reader: ContentReader, entries: list[tuple[FaqEntry, Path, int]], topics: list[tuple[Topic, Path]]
) -> None:
    """Check that related entries exist, for entries and topic cards alike."""
    ids = {entry.id for entry, _, _ in entries}
    for entry, path, n in entries:
        for related in _listed_twice(entry.related):
            reader.problem(path, f"entry[{n}].related", f"lists {related!r} more than once")
        for related in entry.related:
            if related == entry.id:
                reader.problem(path, f"entry[{n}].related", "lists the entry itself")
            elif related not in ids:
                reader.problem(path, f"entry[{n}].related", f"{related!r} is not an FAQ entry id")
    for topic, path in topics:
        for related in _listed_twice(topic.related):
            reader.problem(path, "related", f"lists {related!r} more than once")
        for related in topic.related:
            if related not in ids:
                reader.problem(path, "related", f"{related!r} is not an FAQ entry id")


def _listed_twice(values: tuple[str, ...]) -> list[str]:
    # Each related id becomes a button whose custom id holds it; Discord refuses a message
    # with two components sharing a custom id.
    return sorted({v for v in values if values.count(v) > 1})


@content_loader
def load_faq(reader: ContentReader) -> tuple[str, FaqLibrary]:
    """Load content/faq and content/topics into a FaqLibrary."""
    topics = load_topics(reader, reader.root / "topics")
    entries = load_entries(reader, reader.root / "faq", [t for t, _ in topics])
    check_references(reader, entries, topics)
    if not entries and (reader.root / "faq").is_dir():
        reader.problem(reader.root / "faq", "(folder)", "has no FAQ entries")
    return "faq", FaqLibrary(tuple(e for e, _, _ in entries), tuple(t for t, _ in topics))
