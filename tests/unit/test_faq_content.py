"""The shipped FAQ and topic cards: complete, within Discord's limits, and validated with file + key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import ContentReader, check_content
from bot.content_areas.faq import load_faq, page_description, validate_entry
from bot.services.faq import FaqLibrary

CONTENT = Path(__file__).resolve().parents[2] / "content"


@pytest.fixture(scope="module")
def library() -> FaqLibrary:
    content, problems = check_content(CONTENT)
    assert [str(p) for p in problems if "faq" in p.file or "topics" in p.file] == []
    return content.parts["faq"]


def test_there_are_at_least_25_entries_with_every_field(library: FaqLibrary) -> None:
    assert len(library.entries) >= 25
    for entry in library.entries:
        assert entry.question and entry.answer and entry.section
        assert entry.aliases or entry.keywords, entry.id
        assert entry.related, f"{entry.id} links to no related entry"


# Each of the guide's eight FAQ questions: the entry, words its question must use, and words
# its answer must use to give the guide's answer.
GUIDE_FAQ = {
    "can-trust-issues-heal": (("heal",), ("yes", "healing is possible")),
    "how-long-healing-takes": (("how long",), ("no fixed timetable", "months", "years")),
    "always-from-childhood": (("always", "childhood"), ("no.", "adult")),
    "healthy-relationships-possible": (("healthy relationship", "trust"), ("yes.", "small steps")),
    "trust-issues-vs-caution": (("trust issues", "careful"), ("caution", "evidence")),
    "stay-with-partner": (("stay", "partner", "trust issues"), ("only you can decide", "therapy")),
    "develop-later-in-life": (("first time", "adult"), ("yes.", "any age", "betrayal")),
    "trust-too-much": (("too trusting",), ("yes.", "boundaries")),
}


def test_all_eight_guide_faq_questions_have_an_entry(library: FaqLibrary) -> None:
    for entry_id, (question_terms, answer_terms) in GUIDE_FAQ.items():
        entry = library.entry(entry_id)
        assert entry is not None, entry_id
        question, answer = entry.question.lower(), entry.answer.lower()
        for term in question_terms:
            assert term in question, (entry_id, term, entry.question)
        for term in answer_terms:
            assert term in answer, (entry_id, term)


def test_the_other_questions_the_issue_lists_have_entries(library: FaqLibrary) -> None:
    ids = {e.id for e in library.entries}
    assert {
        "what-are-trust-issues", "healthy-skepticism", "signs-overview", "childhood-causes",
        "adult-betrayal", "repeated-disappointment", "romantic-relationships", "friendships", "family",
        "work", "impact-overview",
        "first-steps", "self-awareness", "emotional-regulation", "gradual-trust-building", "cbt",
        "trauma-therapy-emdr", "couples-family-group-therapy", "supporting-someone", "when-to-seek-help",
    } <= ids


def test_answers_fit_an_embed_with_room_to_spare(library: FaqLibrary) -> None:
    for entry in library.entries:
        assert len(entry.question) <= 200
        assert len(entry.answer) <= 4000
        assert len(entry.question) + len(entry.answer) + 300 < 6000


def test_entries_about_crisis_or_self_harm_point_to_resources(library: FaqLibrary) -> None:
    care = [e for e in library.entries if e.care]
    assert care, "there must be an entry for members in crisis"
    for entry in care:
        assert "/resources" in entry.answer
    crisis = library.entry("crisis-help-now")
    assert crisis is not None and crisis.care


def test_every_major_section_of_the_guide_has_a_topic_card(library: FaqLibrary) -> None:
    sections = {t.guide_section for t in library.topics}
    for heading in ("What Are Trust Issues?", "Common Signs of Trust Issues",
                    "Trust Issues in Different Relationships", "Causes of Trust Issues",
                    "The Impact of Trust Issues", "Healing from Trust Issues",
                    "Professional Treatment Options", "Supporting Someone with Trust Issues", "FAQ"):
        assert heading in sections
    for topic in library.topics:
        # As /learn shows it: the heading in bold above the body, in one embed description.
        assert all(len(page_description(p.heading, p.body)) <= 4096 for p in topic.pages)
        assert topic.related
    assert any(len(t.pages) > 1 for t in library.topics), "long topics are paged"


def test_related_entries_and_sections_resolve(library: FaqLibrary) -> None:
    ids = {e.id for e in library.entries}
    for entry in library.entries:
        assert set(entry.related) <= ids
        assert library.section_label(entry.section)
    for topic in library.topics:
        assert set(topic.related) <= ids


def test_a_broken_entry_is_reported_with_its_file_and_key() -> None:
    reader = ContentReader(Path("content"))
    path = Path("content/faq/broken.toml")
    entry = validate_entry(reader, path, "entry[3]", {
        "id": "Bad Id", "question": "x" * 300, "answer": "If you want to hurt yourself, call someone.",
        "section": "nowhere", "keywords": "not a list", "colour": "red",
    }, {"causes"})
    assert entry is None
    shown = [str(p) for p in reader.problems]
    assert any(s.startswith("content/faq/broken.toml: entry[3].id:") for s in shown)
    assert any("entry[3].question" in s and "limit is 200" in s for s in shown)
    assert any("entry[3].section" in s for s in shown)
    assert any("entry[3].keywords" in s and "must be a list" in s for s in shown)
    assert any("entry[3].colour" in s and "not a known key" in s for s in shown)


def test_an_answer_about_self_harm_without_resources_is_refused() -> None:
    reader = ContentReader(Path("content"))
    validate_entry(reader, Path("content/faq/x.toml"), "entry[0]", {
        "id": "ok-id", "question": "What if I want to hurt myself?", "answer": "Talk to a friend.",
        "section": "causes",
    }, {"causes"})
    assert any("entry[0].answer" in str(p) and "/resources" in str(p) for p in reader.problems)


def test_a_related_entry_listed_twice_is_reported_with_its_file_and_key(tmp_path: Path) -> None:
    for area in ("faq", "topics"):
        shutil.copytree(CONTENT / area, tmp_path / area)
    card = tmp_path / "topics" / "07-therapy.md"
    listed = card.read_text(encoding="utf-8")
    card.write_text(listed.replace('related = ["', 'related = ["cbt", "', 1), encoding="utf-8")
    answers = tmp_path / "faq" / "therapy.toml"
    text = answers.read_text(encoding="utf-8")
    first = text.index("related = [")
    answers.write_text(text[:first] + 'related = ["when-to-seek-help", "when-to-seek-help"]\n'
                       + text[text.index("\n", first) + 1:], encoding="utf-8")
    reader = ContentReader(tmp_path)
    load_faq(reader)
    shown = [str(p) for p in reader.problems]
    assert any(s.endswith("topics/07-therapy.md: related: lists 'cbt' more than once") for s in shown), shown
    assert any(s.endswith("faq/therapy.toml: entry[0].related: lists 'when-to-seek-help' more than once")
               for s in shown), shown


def test_a_topic_page_is_measured_with_its_heading(tmp_path: Path) -> None:
    for area in ("faq", "topics"):
        shutil.copytree(CONTENT / area, tmp_path / area)
    card = tmp_path / "topics" / "02-signs.md"
    _, front, body = card.read_text(encoding="utf-8").split("+++\n", 2)
    rest = body.split("\n---\n", 1)[1]
    heading = "What the signs can look like day to day"
    # The body alone fits in 4,096 characters; with its heading in bold it is 4,097.
    text = "x" * (4097 - len(f"**{heading}**\n\n"))
    card.write_text(f"+++\n{front}+++\n## {heading}\n\n{text}\n\n---\n{rest}", encoding="utf-8")
    reader = ContentReader(tmp_path)
    load_faq(reader)
    assert [str(p).split("topics/", 1)[1] for p in reader.problems] == [
        "02-signs.md: page 1: is 4097 characters with its heading; the limit is 4096"
    ]

    card.write_text(f"+++\n{front}+++\n## {heading}\n\n{text[1:]}\n\n---\n{rest}", encoding="utf-8")
    reader = ContentReader(tmp_path)
    load_faq(reader)
    assert reader.problems == []
