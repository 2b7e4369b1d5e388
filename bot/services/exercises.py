"""Guided exercises: the breathing pacer's plan, step sessions and the thought record.

No Discord here: the cog renders what these return.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from rapidfuzz import fuzz

from bot.content_areas.exercises import THOUGHT_RECORD_KEYS, Exercise, Field, Phase, Step
from bot.errors import UserFacingError
from bot.storage.exercises import ExerciseSession, ExerciseSessionStore
from bot.storage.journal import JournalStore

# ----- the breathing pacer ---------------------------------------------------------

# Discord allows an interaction's message about five edits in five seconds. Two seconds
# between edits keeps a pacer to at most three edits in any five-second window.
MIN_EDIT_INTERVAL = 2.0
LEAD_IN_SECONDS = 3.0


@dataclass(frozen=True)
class PacerFrame:
    """One state of the pacer message: shown `at` seconds after the start, until the next frame.

    Phases shorter than the gap allowed between edits are merged into the frame before them,
    so one frame can hold several phases.
    """

    at: float
    cycle: int
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class PacerPlan:
    """Every frame of a pacer run and when it ends (all in real seconds from the start)."""

    frames: tuple[PacerFrame, ...]
    ends_at: float
    cycles: int

    def edit_times(self) -> list[float]:
        """Return when each edit after the first message happens, the closing edit included."""
        return [frame.at for frame in self.frames[1:]] + [self.ends_at]


def plan_pacer(
    phases: tuple[Phase, ...],
    cycles: int,
    *,
    scale: float = 1.0,
    min_interval: float = MIN_EDIT_INTERVAL,
    lead_in: float = LEAD_IN_SECONDS,
) -> PacerPlan:
    """Plan a pacer: the first frame is the lead-in, then one frame per phase, merged when too close.

    `scale` multiplies every duration (tests pass a small one); `min_interval` is the least
    real time between two requests on the message and is never scaled.
    """
    if cycles < 1 or not phases:
        raise ValueError("a pacer needs at least one phase and one cycle")
    frames: list[PacerFrame] = []
    moment = 0.0
    if lead_in > 0:
        frames.append(PacerFrame(0.0, 0, ()))
        moment = max(lead_in * scale, min_interval)
    for cycle in range(1, cycles + 1):
        for phase in phases:
            if not frames or moment - frames[-1].at >= min_interval - 1e-9:
                frames.append(PacerFrame(round(moment, 6), cycle, (phase,)))
            else:
                last = frames[-1]
                frames[-1] = PacerFrame(last.at, last.cycle, (*last.phases, phase))
            moment += phase.seconds * scale
    ends_at = max(moment, frames[-1].at + min_interval)
    return PacerPlan(tuple(frames), round(ends_at, 6), cycles)


def seconds_text(seconds: float) -> str:
    """Say a phase length as a member counts it: "4", or "about 5" for 4.8."""
    rounded = round(seconds)
    return str(rounded) if abs(seconds - rounded) < 0.05 else f"about {rounded}"


def frame_text(frame: PacerFrame) -> str:
    """Say what to do during a frame: "Breathe in for 4", or "Hold for 1, then breathe out for 4"."""
    parts = [f"{p.label} for {seconds_text(p.seconds)}" for p in frame.phases]
    if len(parts) <= 1:
        return "".join(parts)
    rest = [part[0].lower() + part[1:] for part in parts[1:]]
    return ", then ".join([parts[0], *rest])


def choose_cycles(exercise: Exercise, cycles: int | None, rate: float | None) -> int:
    """Return the rounds to run: the member's choice within the exercise's limits, or its default."""
    assert exercise.breathing is not None
    most = exercise.breathing.most_cycles(rate)
    if cycles is None:
        return min(exercise.breathing.cycles, most)
    return max(1, min(cycles, most))


def options_note(exercise: Exercise, *, rate: int | None, cycles: int | None) -> str:
    """Say kindly which of the member's `rate`/`cycles` choices this exercise doesn't use or had to
    adjust, so nothing is ignored or changed silently; "" when every choice is used as given."""
    breathing = exercise.breathing
    if breathing is None:
        given = [f"`{name}`" for name, value in (("rate", rate), ("cycles", cycles)) if value is not None]
        if not given:
            return ""
        verb = "isn't" if len(given) == 1 else "aren't"
        return f"{exercise.title} goes at your own pace, so {' and '.join(given)} {verb} used here."
    notes: list[str] = []
    if rate is not None:
        if not breathing.paced:
            notes.append(
                f"{exercise.title} keeps its own rhythm, so `rate` isn't used here "
                "(it's for paced breathing)."
            )
        elif not breathing.min_rate <= rate <= breathing.max_rate:
            used = min(max(rate, breathing.min_rate), breathing.max_rate)
            notes.append(
                f"This one runs at {breathing.min_rate:g} to {breathing.max_rate:g} breaths a minute, "
                f"so it uses {used:g}."
            )
    if cycles is not None:
        rounds = choose_cycles(exercise, cycles, rate)
        if rounds != cycles:
            notes.append(f"One session holds up to {rounds} rounds at this pace, so this one has {rounds}.")
    return " ".join(notes)


# ----- step sessions ---------------------------------------------------------------


class StepAction(StrEnum):
    NEXT = "next"
    BACK = "back"
    STOP = "stop"


class SessionGoneError(UserFacingError):
    """The session was removed (erased, or cleaned up after a long time)."""

    def __init__(self) -> None:
        super().__init__(
            "This exercise isn't available any more. You can start it again with /exercise whenever you like."
        )


class NotYourSessionError(UserFacingError):
    """Someone clicked another member's private exercise."""

    def __init__(self) -> None:
        super().__init__("This exercise belongs to someone else. You can start your own with /exercise.")


class GroupLeaderOnlyError(UserFacingError):
    """A member tried to move a group exercise; only moderators lead it."""

    def __init__(self) -> None:
        super().__init__(
            "A moderator leads this group exercise, so only they can move it on. "
            "Press **Do it on my own** to go through it privately at your own pace."
        )


@dataclass(frozen=True)
class Actor:
    """Who clicked: their id and whether they moderate this server."""

    user_id: int
    is_moderator: bool = False


@dataclass(frozen=True)
class StepState:
    """What a step message should show now."""

    session: ExerciseSession
    exercise: Exercise
    # Set by `start`: the member's unfinished thought record was picked up where they left it
    # (`resumed`), or was kept with its answers while this exercise started (`kept`).
    resumed: bool = False
    kept: Exercise | None = None

    @property
    def index(self) -> int:
        """Return the current step, counted from 0."""
        return min(self.session.step, len(self.exercise.steps) - 1)

    @property
    def step(self) -> Step:
        """Return the current step."""
        return self.exercise.steps[self.index]

    @property
    def number(self) -> int:
        """Return the current step, counted from 1."""
        return self.index + 1

    @property
    def total(self) -> int:
        """Return how many steps the exercise has."""
        return len(self.exercise.steps)

    @property
    def is_last(self) -> bool:
        """Say whether this is the final step."""
        return self.number == self.total

    @property
    def ended(self) -> str | None:
        """Return 'finished' or 'stopped' once the session has ended, else None."""
        return None if self.session.is_active else self.session.status


@dataclass(frozen=True)
class AnswerResult:
    """What a thought-record answer did: moved on, or needs fixing, or saved the whole record."""

    state: StepState
    problems: tuple[str, ...] = ()
    kept: dict[str, str] = field(default_factory=dict)
    journal_entry_id: int | None = None
    record_text: str | None = None


_RATING = re.compile(r"^\s*(\d{1,3})\s*%?\s*$")


def parse_rating(text: str) -> int | None:
    """Read a 0-100 rating typed by a member ("45", "45%", " 45 "), or None."""
    match = _RATING.match(text or "")
    if not match:
        return None
    value = int(match.group(1))
    return value if 0 <= value <= 100 else None


RECORD_HEADINGS = {
    "situation": "Situation",
    "automatic_thought": "Automatic thought",
    "emotion": "Emotion",
    "intensity": "Intensity",
    "evidence_for": "Evidence for the thought",
    "evidence_against": "Evidence against the thought",
    "balanced_thought": "Balanced thought",
    "rerating": "Intensity afterwards",
}


def compose_thought_record(answers: Mapping[str, str]) -> str:
    """Write a finished thought record as the Markdown that goes into the journal."""
    lines = ["**Thought record**", ""]
    for key in THOUGHT_RECORD_KEYS:
        value = (answers.get(key) or "").strip()
        if key in ("intensity", "rerating"):
            continue
        if key == "emotion":
            value = f"{value or '(not named)'}, {answers.get('intensity', '?')}/100"
        lines.append(f"**{RECORD_HEADINGS[key]}:** {value or '(left blank)'}")
    before, after = parse_rating(answers.get("intensity", "")), parse_rating(answers.get("rerating", ""))
    change = ""
    if before is not None and after is not None:
        if after < before:
            change = f" (down {before - after})"
        elif after > before:
            change = f" (up {after - before})"
        else:
            change = " (the same)"
    lines.append(f"**{RECORD_HEADINGS['rerating']}:** {answers.get('rerating', '?')}/100{change}")
    return "\n".join(lines)


def check_answers(fields: tuple[Field, ...], values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Clean the answers to one step; return them with a kind sentence for each that needs fixing."""
    cleaned: dict[str, str] = {}
    problems: list[str] = []
    for item in fields:
        value = (values.get(item.key) or "").strip()[: item.max_length]
        if item.rating:
            rating = parse_rating(value)
            if rating is None:
                if value or item.required:
                    problems.append(f"**{item.label}** needs a whole number from 0 to 100.")
                cleaned[item.key] = value
                continue
            value = str(rating)
        elif item.required and not value:
            problems.append(f"**{item.label}** is empty; a few words are enough.")
        cleaned[item.key] = value
    return cleaned, problems


# How close a typed name must be to an exercise's id or title to count as that exercise (0-100),
# and how far ahead of the next exercise it must be, so a vague name is never guessed.
NAME_MATCH_CUTOFF = 85
NAME_MATCH_MARGIN = 5
_NAME_NOISE = re.compile(r"[\s\-_]+")
_PARENTHESES = re.compile(r"\([^)]*\)")


def _plain_name(text: str) -> str:
    return _NAME_NOISE.sub(" ", text.casefold()).strip()


def _names_of(exercise: Exercise) -> set[str]:
    return {
        _plain_name(exercise.id),
        _plain_name(exercise.title),
        _plain_name(_PARENTHESES.sub(" ", exercise.title)),
    }


def match_exercise(library: Mapping[str, Exercise], typed: str) -> Exercise | None:
    """Find the exercise a member means: its id or title in any case, all the words of only one
    exercise's name, or a close misspelling of one; None when nothing (or more than one) fits."""
    if typed in library:
        return library[typed]
    wanted = _plain_name(typed)
    if not wanted:
        return None
    exercises = list(library.values())
    exact = [e for e in exercises if wanted in _names_of(e)]
    if len(exact) == 1:
        return exact[0]
    words = wanted.split()
    containing = [e for e in exercises if any(all(w in n.split() for w in words) for n in _names_of(e))]
    if len(containing) == 1:
        return containing[0]
    scored = sorted(
        ((max(fuzz.ratio(wanted, name) for name in _names_of(e)), e) for e in exercises),
        key=lambda pair: pair[0],
        reverse=True,
    )
    if not scored or scored[0][0] < NAME_MATCH_CUTOFF:
        return None
    if len(scored) > 1 and scored[1][0] > scored[0][0] - NAME_MATCH_MARGIN:
        return None
    return scored[0][1]


class ExerciseService:
    """Starts and moves step sessions, and saves finished thought records to the journal."""

    def __init__(
        self,
        sessions: ExerciseSessionStore,
        journal: JournalStore,
        exercises: Callable[[], Mapping[str, Exercise]],
    ) -> None:
        self.sessions = sessions
        self.journal = journal
        self._exercises = exercises

    def exercise(self, exercise_id: str) -> Exercise:
        """Return an exercise by id, or raise a kind error naming a few that exist."""
        library = self._exercises()
        found = library.get(exercise_id)
        if found is None:
            names = ", ".join(f"`{e}`" for e in list(library)[:6])
            raise UserFacingError(
                f"I don't know an exercise called `{exercise_id[:60]}`. Try one of: {names}, "
                "or start typing in the `name` box to see them all."
            )
        return found

    def find_exercise(self, typed: str) -> Exercise:
        """Return the exercise a member typed, by id or title (any case, small typos forgiven)."""
        found = match_exercise(self._exercises(), typed.strip())
        return found if found is not None else self.exercise(typed.strip())

    async def start(
        self, *, guild_id: int, user_id: int | None, exercise_id: str, now: datetime,
        channel_id: int | None = None,
    ) -> StepState:
        """Start a step exercise privately (with a user) or for a group (without one).

        One private exercise at a time, except that written answers are never thrown away by
        starting something else: a member's unfinished thought record is kept while another
        exercise starts, and starting a thought record again picks it up where they left it.
        """
        exercise = self.exercise(exercise_id)
        if not exercise.has_steps:
            raise ValueError(f"{exercise_id} is not a step exercise")
        unfinished: ExerciseSession | None = None
        if user_id is not None:
            active = await self.sessions.active_private(user_id, guild_id)
            unfinished = next((s for s in active if s.answers), None)
            if unfinished is not None and unfinished.exercise_id == exercise.id:
                await self.sessions.stop_active(user_id, guild_id, now, keep=unfinished.id)
                return StepState(unfinished, exercise, resumed=True)
            await self.sessions.stop_active(
                user_id, guild_id, now, keep=unfinished.id if unfinished else None
            )
        session = await self.sessions.create(
            guild_id=guild_id, user_id=user_id, exercise_id=exercise_id, now=now, channel_id=channel_id
        )
        kept = self._exercises().get(unfinished.exercise_id) if unfinished is not None else None
        return StepState(session, exercise, kept=kept)

    async def state(self, session_id: int, actor: Actor) -> StepState:
        """Return a session's state after checking that the actor may move it."""
        session = await self.sessions.get(session_id)
        if session is None:
            raise SessionGoneError()
        if session.is_group:
            if session.is_active and not actor.is_moderator:
                raise GroupLeaderOnlyError()
        elif session.user_id != actor.user_id:
            raise NotYourSessionError()
        library = self._exercises()
        exercise = library.get(session.exercise_id)
        if exercise is None or not exercise.steps:
            raise SessionGoneError()
        return StepState(session, exercise)

    async def act(self, session_id: int, action: StepAction, actor: Actor, now: datetime) -> StepState:
        """Move a session: next (finishing after the last step), back, or stop."""
        state = await self.state(session_id, actor)
        session = state.session
        if not session.is_active:
            return state
        if action is StepAction.STOP:
            await self.sessions.end(session.id, status="stopped", now=now)
        elif action is StepAction.NEXT and state.is_last:
            if state.exercise.kind == "thought_record":
                raise ValueError("a thought record finishes by answering its last step")
            await self.sessions.end(session.id, status="finished", now=now)
        else:
            target = state.index + 1 if action is StepAction.NEXT else max(0, state.index - 1)
            await self.sessions.move(session.id, from_step=session.step, to_step=target, now=now)
        return await self.state(session_id, actor)

    async def answer(
        self, session_id: int, step_index: int, values: Mapping[str, str], actor: Actor, now: datetime
    ) -> AnswerResult:
        """Take the answers to one thought-record step; the last one saves the record to the journal."""
        state = await self.state(session_id, actor)
        session = state.session
        if not session.is_active or state.exercise.kind != "thought_record" or session.is_group:
            return AnswerResult(state)
        index = max(0, min(step_index, state.total - 1))
        fields = state.exercise.steps[index].fields
        cleaned, problems = check_answers(fields, values)
        answers = {**session.answers, **cleaned}
        if problems:
            await self.sessions.move(
                session.id, from_step=session.step, to_step=index, now=now, answers=answers
            )
            return AnswerResult(await self.state(session_id, actor), tuple(problems), cleaned)
        if index + 1 < state.total:
            await self.sessions.move(session.id, from_step=session.step, to_step=index + 1, now=now,
                                     answers=answers)
            return AnswerResult(await self.state(session_id, actor))
        assert session.user_id is not None
        text = compose_thought_record(answers)
        # One transaction: a record is never saved twice, and never left half-saved (entry written
        # but the session still open) when the database is busy.
        async with self.sessions.db.transaction() as tx:
            if not await self.sessions.end(session.id, status="finished", now=now, conn=tx):
                return AnswerResult(await self.state(session_id, actor))
            entry_id = await self.journal.add(
                guild_id=session.guild_id, user_id=session.user_id, body=text, now=now, kind="thought_record",
                conn=tx,
            )
        return AnswerResult(await self.state(session_id, actor), journal_entry_id=entry_id, record_text=text)
