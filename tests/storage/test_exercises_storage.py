"""Exercise sessions, the journal and the trust ladder against a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.content import ContentReader
from bot.content_areas.exercises import ExerciseLibrary, load_exercises, load_journal_prompts
from bot.errors import UserFacingError
from bot.services.exercises import (
    Actor,
    ExerciseService,
    GroupLeaderOnlyError,
    NotYourSessionError,
    SessionGoneError,
    StepAction,
)
from bot.services.journal import EntryNotFoundError, JournalService
from bot.services.ladder import LadderService, StepNotFoundError
from bot.storage.crypto import Keyring
from bot.storage.db import Database
from bot.storage.exercises import ExerciseSessionStore
from bot.storage.journal import JournalStore
from bot.storage.ladder import LadderStore
from bot.storage.personal import REGISTRY, MemberRef

CONTENT = Path(__file__).resolve().parents[2] / "content"
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
GUILD, ALICE, BOB = 100, 1001, 1002


@pytest.fixture
def library() -> ExerciseLibrary:
    reader = ContentReader(CONTENT)
    _, exercises = load_exercises(reader)
    assert not reader.problems
    return exercises


@pytest.fixture
def service(db: Database, keyring: Keyring, library: ExerciseLibrary) -> ExerciseService:
    return ExerciseService(ExerciseSessionStore(db, keyring), JournalStore(db, keyring), lambda: library)


async def test_a_step_session_moves_forward_and_back_and_finishes(service: ExerciseService) -> None:
    state = await service.start(guild_id=GUILD, user_id=ALICE, exercise_id="grounding-5-4-3-2-1", now=NOW)
    assert (state.number, state.total, state.step.title) == (1, 5, "Five things you can see")
    alice = Actor(ALICE)
    state = await service.act(state.session.id, StepAction.BACK, alice, NOW)
    assert state.number == 1
    for expected in (2, 3, 4, 5):
        state = await service.act(state.session.id, StepAction.NEXT, alice, NOW)
        assert state.number == expected
    state = await service.act(state.session.id, StepAction.BACK, alice, NOW)
    assert state.step.title == "Two things you can smell"
    state = await service.act(state.session.id, StepAction.NEXT, alice, NOW)
    state = await service.act(state.session.id, StepAction.NEXT, alice, NOW)
    assert state.ended == "finished"
    # A click on an ended session changes nothing.
    again = await service.act(state.session.id, StepAction.BACK, alice, NOW)
    assert again.ended == "finished" and again.number == 5


async def test_only_the_owner_moves_a_private_session(service: ExerciseService) -> None:
    state = await service.start(guild_id=GUILD, user_id=ALICE, exercise_id="self-soothing", now=NOW)
    with pytest.raises(NotYourSessionError):
        await service.act(state.session.id, StepAction.NEXT, Actor(BOB, is_moderator=True), NOW)
    assert (await service.state(state.session.id, Actor(ALICE))).number == 1


async def test_only_moderators_lead_a_group_session(service: ExerciseService) -> None:
    state = await service.start(guild_id=GUILD, user_id=None, exercise_id="muscle-relaxation", now=NOW,
                                channel_id=55)
    assert state.session.is_group and state.session.user_id is None
    with pytest.raises(GroupLeaderOnlyError):
        await service.act(state.session.id, StepAction.NEXT, Actor(BOB), NOW)
    moved = await service.act(state.session.id, StepAction.NEXT, Actor(ALICE, is_moderator=True), NOW)
    assert moved.number == 2
    stopped = await service.act(state.session.id, StepAction.STOP, Actor(ALICE, is_moderator=True), NOW)
    assert stopped.ended == "stopped"


async def test_starting_a_new_private_exercise_ends_the_one_before(service: ExerciseService) -> None:
    first = await service.start(guild_id=GUILD, user_id=ALICE, exercise_id="self-soothing", now=NOW)
    await service.start(guild_id=GUILD, user_id=ALICE, exercise_id="name-the-feeling", now=NOW)
    assert (await service.state(first.session.id, Actor(ALICE))).ended == "stopped"


async def test_an_unknown_or_erased_session_says_so_kindly(service: ExerciseService) -> None:
    with pytest.raises(SessionGoneError):
        await service.act(999, StepAction.NEXT, Actor(ALICE), NOW)
    with pytest.raises(UserFacingError, match="I don't know an exercise called `nope`"):
        service.exercise("nope")


async def test_a_thought_record_keeps_answers_sealed_and_lands_in_the_journal(
    service: ExerciseService, db: Database, keyring: Keyring
) -> None:
    state = await service.start(guild_id=GUILD, user_id=ALICE, exercise_id="thought-record", now=NOW)
    sid = state.session.id
    alice = Actor(ALICE)
    result = await service.answer(sid, 0, {"situation": "She cancelled our plans again"}, alice, NOW)
    assert result.state.number == 2
    raw = await db.fetchval("SELECT answers FROM exercise_sessions WHERE id = ?", (sid,))
    assert raw.startswith("v1:") and "cancelled" not in raw
    await service.answer(sid, 1, {"automatic_thought": "She doesn't care about me"}, alice, NOW)
    bad = await service.answer(sid, 2, {"emotion": "hurt", "intensity": "a lot"}, alice, NOW)
    assert bad.problems and bad.state.number == 3 and bad.kept["emotion"] == "hurt"
    assert (await service.state(sid, alice)).session.answers["emotion"] == "hurt"
    await service.answer(sid, 2, {"emotion": "hurt", "intensity": "75"}, alice, NOW)
    await service.answer(sid, 3, {"evidence_for": "It is the second time", "evidence_against": "She was ill"},
                         alice, NOW)
    done = await service.answer(sid, 4, {"balanced_thought": "She was unwell", "rerating": "40"}, alice, NOW)
    assert done.state.ended == "finished" and done.journal_entry_id is not None
    assert done.record_text is not None and "**Intensity afterwards:** 40/100 (down 35)" in done.record_text
    assert await db.fetchval("SELECT answers FROM exercise_sessions WHERE id = ?", (sid,)) is None
    journal = JournalService(JournalStore(db, keyring))
    entry = await journal.read(done.journal_entry_id, ALICE)
    assert entry.kind == "thought_record" and "She cancelled our plans again" in entry.body
    raw_body = await db.fetchval("SELECT body FROM journal_entries WHERE id = ?", (entry.id,))
    assert "cancelled" not in raw_body


async def test_journal_write_page_read_delete_and_export(db: Database, keyring: Keyring) -> None:
    journal = JournalService(JournalStore(db, keyring))
    _, prompts = load_journal_prompts(ContentReader(CONTENT))
    ids = []
    for n in range(7):
        entry = await journal.write(guild_id=GUILD, user_id=ALICE, text=f"Day {n}: a quiet walk helped",
                                    now=NOW + timedelta(days=n), prompt_id="what-helped" if n == 0 else None)
        ids.append(entry.id)
    await journal.write(guild_id=GUILD, user_id=BOB, text="Bob's own words", now=NOW)
    first = await journal.page(GUILD, ALICE, 0)
    assert (first.total, first.pages, first.has_next, first.has_previous) == (7, 2, True, False)
    assert first.items[0].body == "Day 6: a quiet walk helped"
    last = await journal.page(GUILD, ALICE, 9)
    assert last.page == 1 and len(last.items) == 2
    assert await journal.page_of(await journal.read(ids[0], ALICE)) == 1
    with pytest.raises(EntryNotFoundError):
        await journal.read(ids[0], BOB)
    with pytest.raises(EntryNotFoundError):
        await journal.delete(ids[0], BOB)
    await journal.delete(ids[3], ALICE)
    with pytest.raises(EntryNotFoundError):
        await journal.read(ids[3], ALICE)
    markdown, count = await journal.export_markdown(GUILD, ALICE, server_name="Hearth Test", now=NOW,
                                                    prompts=prompts)
    assert count == 6
    assert markdown.startswith("# My Hearth journal (Hearth Test)")
    assert "> Prompt: What helped you calm down" in markdown
    assert "Day 3" not in markdown and "Bob" not in markdown


async def test_journal_refuses_empty_or_overlong_text_and_hands_it_back(
    db: Database, keyring: Keyring
) -> None:
    journal = JournalService(JournalStore(db, keyring))
    with pytest.raises(UserFacingError, match="empty"):
        await journal.write(guild_id=GUILD, user_id=ALICE, text="   ", now=NOW)
    with pytest.raises(UserFacingError) as caught:
        await journal.write(guild_id=GUILD, user_id=ALICE, text="x" * 4001, now=NOW)
    assert caught.value.keep_text == "x" * 4001


async def test_the_ladder_sorts_by_difficulty_and_logs_a_trend(db: Database, keyring: Keyring) -> None:
    ladder = LadderService(LadderStore(db, keyring))
    hard = await ladder.add(guild_id=GUILD, user_id=ALICE, title="Tell my sister how I feel", difficulty=80,
                            now=NOW)
    easy = await ladder.add(guild_id=GUILD, user_id=ALICE, title="Ask a colleague  for a pen", difficulty=10,
                            now=NOW)
    assert easy.title == "Ask a colleague for a pen"
    raw = await db.fetchval("SELECT title FROM ladder_steps WHERE id = ?", (hard.id,))
    assert "sister" not in raw
    first = await ladder.log(step_id=easy.id, user_id=ALICE, before=60, after=30, now=NOW)
    assert first.milestone is not None and first.progress.tries == 1
    second = await ladder.log(step_id=easy.id, user_id=ALICE, before=25, after=10, now=NOW)
    assert second.progress.manageable
    view = await ladder.ladder(GUILD, ALICE)
    assert [s.step.title for s in view.steps] == ["Ask a colleague for a pen", "Tell my sister how I feel"]
    assert view.manageable_count == 1 and view.next_step is not None and view.next_step.step.id == hard.id
    with pytest.raises(StepNotFoundError):
        await ladder.log(step_id=easy.id, user_id=BOB, before=1, after=1, now=NOW)
    with pytest.raises(UserFacingError):
        await ladder.log(step_id=easy.id, user_id=ALICE, before=101, after=1, now=NOW)
    await ladder.remove(easy.id, ALICE)
    assert await db.fetchval("SELECT COUNT(*) FROM ladder_logs") == 0


async def test_the_ladder_has_room_for_as_many_steps_as_autocomplete_shows(
    db: Database, keyring: Keyring
) -> None:
    ladder = LadderService(LadderStore(db, keyring))
    for n in range(25):
        await ladder.add(guild_id=GUILD, user_id=ALICE, title=f"Step {n}", difficulty=n, now=NOW)
    with pytest.raises(UserFacingError, match="already has 25 steps") as caught:
        await ladder.add(guild_id=GUILD, user_id=ALICE, title="One more", difficulty=1, now=NOW)
    assert caught.value.keep_text == "One more"


async def test_mydata_exports_and_erases_every_exercise_table(
    service: ExerciseService, db: Database, keyring: Keyring
) -> None:
    areas = {entry.area: entry for entry in REGISTRY}
    assert {"exercise_sessions", "journal", "trust_ladder"} <= set(areas)
    await service.start(guild_id=GUILD, user_id=ALICE, exercise_id="thought-record", now=NOW)
    state = await service.start(guild_id=GUILD, user_id=ALICE, exercise_id="thought-record", now=NOW)
    await service.answer(state.session.id, 0, {"situation": "A missed call"}, Actor(ALICE), NOW)
    await service.start(guild_id=GUILD, user_id=None, exercise_id="self-soothing", now=NOW)
    await JournalService(JournalStore(db, keyring)).write(guild_id=GUILD, user_id=ALICE, text="Mine", now=NOW)
    await JournalService(JournalStore(db, keyring)).write(guild_id=GUILD, user_id=BOB, text="Bob's", now=NOW)
    ladder = LadderService(LadderStore(db, keyring))
    step = await ladder.add(guild_id=GUILD, user_id=ALICE, title="Say hello first", difficulty=20, now=NOW)
    await ladder.log(step_id=step.id, user_id=ALICE, before=50, after=20, now=NOW)
    alice = MemberRef(ALICE, {})
    sessions = await areas["exercise_sessions"].export(db, keyring, alice)
    assert [s["status"] for s in sessions] == ["stopped", "active"]
    assert sessions[1]["answers_so_far"] == {"situation": "A missed call"}
    assert [e["text"] for e in await areas["journal"].export(db, keyring, alice)] == ["Mine"]
    exported_ladder = await areas["trust_ladder"].export(db, keyring, alice)
    assert exported_ladder[0]["step"] == "Say hello first"
    assert exported_ladder[0]["practice"][0]["discomfort_before"] == 50
    async with db.transaction() as tx:
        for name in ("exercise_sessions", "journal", "trust_ladder"):
            await areas[name].erase(tx, alice)
    for table in ("exercise_sessions", "journal_entries", "ladder_steps", "ladder_logs"):
        assert await db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (ALICE,)) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM journal_entries WHERE user_id = ?", (BOB,)) == 1
    assert await db.fetchval("SELECT COUNT(*) FROM exercise_sessions WHERE user_id IS NULL") == 1


async def test_retention_ages_out_unfinished_exercises_and_keeps_the_journal_by_default(
    service: ExerciseService, db: Database, keyring: Keyring
) -> None:
    from bot.config import RetentionSettings
    from bot.services.privacy import PrivacyService

    old = await service.start(guild_id=GUILD, user_id=ALICE, exercise_id="thought-record", now=NOW)
    await service.answer(old.session.id, 0, {"situation": "An old worry"}, Actor(ALICE), NOW)
    later = NOW + timedelta(days=31)
    fresh = await service.start(guild_id=GUILD, user_id=BOB, exercise_id="self-soothing", now=later)
    # Started as long ago as the old one, but moved on yesterday: age counts from the last move.
    touched = await service.start(guild_id=GUILD, user_id=None, exercise_id="self-soothing", now=NOW)
    await service.act(touched.session.id, StepAction.NEXT, Actor(BOB, is_moderator=True),
                      later - timedelta(days=1))
    journal = JournalService(JournalStore(db, keyring))
    await journal.write(guild_id=GUILD, user_id=ALICE, text="Old entry", now=NOW)
    await journal.write(guild_id=GUILD, user_id=ALICE, text="New entry", now=later - timedelta(days=1))
    privacy = PrivacyService(db, keyring, RetentionSettings())
    report = await privacy.run_retention(later)
    assert report.rows_by_kind.get("exercise_state") == 1
    assert await service.sessions.get(old.session.id) is None
    assert await service.sessions.get(fresh.session.id) is not None
    assert await service.sessions.get(touched.session.id) is not None
    assert await db.fetchval("SELECT COUNT(*) FROM journal_entries") == 2, "journal_days = 0 keeps entries"
    short = PrivacyService(db, keyring, RetentionSettings(journal_days=30))
    assert (await short.run_retention(later)).rows_by_kind.get("journal") == 1
    kept = await JournalStore(db, keyring).all_for(GUILD, ALICE)
    assert [entry.body for entry in kept] == ["New entry"]


async def test_retention_keeps_ladder_logs_by_default_and_ages_them_out_when_set(
    db: Database, keyring: Keyring
) -> None:
    from bot.config import RetentionSettings
    from bot.services.privacy import PrivacyService

    ladder = LadderService(LadderStore(db, keyring))
    step = await ladder.add(guild_id=GUILD, user_id=ALICE, title="Say hello first", difficulty=20, now=NOW)
    await ladder.log(step_id=step.id, user_id=ALICE, before=70, after=50, now=NOW)
    later = NOW + timedelta(days=100)
    await ladder.log(step_id=step.id, user_id=ALICE, before=40, after=20, now=later - timedelta(days=5))
    by_default = await PrivacyService(db, keyring, RetentionSettings()).run_retention(later)
    assert "ladder" not in by_default.rows_by_kind
    assert len((await ladder.own_step(step.id, ALICE)).logs) == 2
    short = PrivacyService(db, keyring, RetentionSettings(ladder_days=30))
    assert (await short.run_retention(later)).rows_by_kind.get("ladder") == 1
    kept = await ladder.own_step(step.id, ALICE)
    assert [(log.before, log.after) for log in kept.logs] == [(40, 20)], "the recent practice stays"
    assert kept.title == "Say hello first", "the step itself stays"


async def test_key_rotation_reseals_every_exercise_column(
    service: ExerciseService, db: Database, keyring: Keyring
) -> None:
    from bot.services.privacy import reseal_all

    state = await service.start(guild_id=GUILD, user_id=ALICE, exercise_id="thought-record", now=NOW)
    await service.answer(state.session.id, 0, {"situation": "Sealed words"}, Actor(ALICE), NOW)
    journal = JournalService(JournalStore(db, keyring))
    await journal.write(guild_id=GUILD, user_id=ALICE, text="Entry", now=NOW)
    await LadderService(LadderStore(db, keyring)).add(guild_id=GUILD, user_id=ALICE, title="Step",
                                                      difficulty=5, now=NOW)
    rotated = Keyring({**keyring.masters, 2: b"\x01" * 32})
    report = await reseal_all(db, rotated)
    assert report.unregistered == []
    assert report.resealed["exercise_sessions.answers"] == 1
    assert report.resealed["journal_entries.body"] == 1
    assert report.resealed["ladder_steps.title"] == 1
    assert (await JournalStore(db, rotated).page(GUILD, ALICE, offset=0, limit=5))[0].body == "Entry"
    assert (await ExerciseSessionStore(db, rotated).get(state.session.id)).answers == {  # type: ignore[union-attr]
        "situation": "Sealed words"
    }
