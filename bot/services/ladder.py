"""The trust ladder: small steps of trust, ordered by difficulty, practised and rated over time.

The guidance follows the guide's gradual trust-building: start with the easiest step, repeat a
step until it feels manageable before climbing, and notice every small win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.errors import UserFacingError
from bot.storage.ladder import LadderLog, LadderStep, LadderStore

# Autocomplete shows at most 25 choices, so a ladder never has more steps than that.
MAX_STEPS = 25
TITLE_LIMIT = 100
# A step feels manageable once it has been practised this often and the latest discomfort
# before trying it is at or below this.
MANAGEABLE_AFTER_TRIES = 2
MANAGEABLE_DISCOMFORT = 30
NOTABLE_DROP = 20
REPEAT_MILESTONES = (3, 5, 10, 20)

GUIDANCE = (
    "**Start small.** Begin with the easiest step, even if it seems too small to matter.\n"
    "**Repeat a step.** Practise the same step a few times; discomfort usually falls with repetition. "
    "Move up when a step feels manageable.\n"
    "**Celebrate small wins.** Each try counts, including the ones that felt hard. "
    "A setback is information, not failure."
)


class StepNotFoundError(UserFacingError):
    """The step is gone or belongs to someone else."""

    def __init__(self) -> None:
        super().__init__("I can't find that step on your ladder. Pick one from the list as you type.")


@dataclass(frozen=True)
class Trend:
    """How the discomfort before a step has moved across tries."""

    befores: tuple[int, ...]
    afters: tuple[int, ...]

    @property
    def change(self) -> int:
        """Return the change in discomfort before, from the first try to the latest."""
        return self.befores[-1] - self.befores[0] if self.befores else 0

    def describe(self) -> str:
        """Say the trend in a sentence a member can take in at a glance."""
        if not self.befores:
            return "Not practised yet."
        series = " → ".join(str(v) for v in self.befores[-6:])
        if len(self.befores) == 1:
            eased = self.befores[0] - self.afters[0]
            during = (
                f"It eased by {eased} points by the end." if eased > 0
                else "It stayed about the same by the end; that's common at first." if eased == 0
                else "It felt harder by the end; that happens, and it's still a try that counts."
            )
            return f"First try: discomfort {self.befores[0]} before, {self.afters[0]} after. {during}"
        if self.change < 0:
            direction = f"down {-self.change} since your first try. It's getting easier."
        elif self.change > 0:
            direction = (
                f"up {self.change} since your first try. Harder days happen; "
                "an easier step for a while is a fine choice."
            )
        else:
            direction = "about the same as your first try. Repetition often takes a while to show."
        return f"Discomfort before, try by try: {series}, {direction}"


@dataclass(frozen=True)
class StepProgress:
    """One step with its practice summary."""

    step: LadderStep
    trend: Trend

    @property
    def tries(self) -> int:
        """Return how often the step was practised."""
        return len(self.step.logs)

    @property
    def manageable(self) -> bool:
        """Say whether the step now feels manageable."""
        return self.tries >= MANAGEABLE_AFTER_TRIES and self.step.logs[-1].before <= MANAGEABLE_DISCOMFORT


@dataclass(frozen=True)
class Ladder:
    """A member's whole ladder, easiest first."""

    steps: tuple[StepProgress, ...]

    @property
    def manageable_count(self) -> int:
        """Return how many steps feel manageable."""
        return sum(1 for s in self.steps if s.manageable)

    @property
    def next_step(self) -> StepProgress | None:
        """Return the easiest step that does not feel manageable yet."""
        return next((s for s in self.steps if not s.manageable), None)


@dataclass(frozen=True)
class LogResult:
    """The step after logging, its trend and a milestone worth celebrating, if any."""

    progress: StepProgress
    milestone: Milestone | None


def trend_of(logs: tuple[LadderLog, ...]) -> Trend:
    """Return the trend of a step's logs."""
    return Trend(tuple(log.before for log in logs), tuple(log.after for log in logs))


@dataclass(frozen=True)
class Milestone:
    """A small win: how it is told to the member, and suggested words for an anonymous post."""

    message: str
    share_text: str


def milestone_for(progress: StepProgress) -> Milestone | None:
    """Name the small win in the latest try, if there is one worth celebrating.

    The suggested post never names the step (a member's own words could identify them) and
    carries no numbers: the ratings and counts are stored with the member's id, so a post
    quoting them would tell anyone with the database who wrote it.
    """
    tries = progress.tries
    if tries == 0:
        return None
    if tries == 1:
        return Milestone(
            "You tried a step on your trust ladder for the first time.",
            "A small win: I tried a new step on my trust ladder today. Small steps count.",
        )
    if progress.manageable and not _was_manageable_before(progress):
        return Milestone(
            "This step now feels manageable.",
            "A small win: a step on my trust ladder that used to feel hard now feels manageable.",
        )
    first, latest = progress.step.logs[0].before, progress.step.logs[-1].before
    previous_best = min(log.before for log in progress.step.logs[:-1])
    if first - latest >= NOTABLE_DROP and latest < previous_best:
        return Milestone(
            f"Your discomfort before this step has come down {first - latest} points since your first try.",
            "A small win: a step on my trust ladder that used to feel big feels smaller now.",
        )
    if tries in REPEAT_MILESTONES:
        return Milestone(
            f"You have practised this step {tries} times.",
            "A small win: I keep coming back to the same step on my trust ladder. Practice counts.",
        )
    return None


def _was_manageable_before(progress: StepProgress) -> bool:
    earlier = progress.step.logs[:-1]
    return len(earlier) >= MANAGEABLE_AFTER_TRIES and earlier[-1].before <= MANAGEABLE_DISCOMFORT


class LadderService:
    """Adds, lists, logs and removes trust-ladder steps for a member."""

    def __init__(self, store: LadderStore) -> None:
        self.store = store

    async def add(
        self, *, guild_id: int, user_id: int, title: str, difficulty: int, now: datetime
    ) -> LadderStep:
        """Add a step, keeping the ladder to a size autocomplete can show."""
        text = " ".join(title.split())
        if not text:
            raise UserFacingError("A step needs a few words describing it.")
        if len(text) > TITLE_LIMIT:
            raise UserFacingError(
                f"Please keep a step under {TITLE_LIMIT} characters; short steps are easier to practise.",
                keep_text=text,
            )
        if not 0 <= difficulty <= 100:
            raise UserFacingError(
                "Difficulty is a number from 0 (easy) to 100 (the hardest you can imagine)."
            )
        if await self.store.count_steps(guild_id, user_id) >= MAX_STEPS:
            raise UserFacingError(
                f"Your ladder already has {MAX_STEPS} steps. Remove one with /ladder remove to add another.",
                keep_text=text,
            )
        step_id = await self.store.add_step(guild_id=guild_id, user_id=user_id, title=text,
                                            difficulty=difficulty, now=now)
        step = await self.store.step(step_id)
        assert step is not None
        return step

    async def ladder(self, guild_id: int, user_id: int) -> Ladder:
        """Return the member's ladder, easiest first."""
        steps = await self.store.steps(guild_id, user_id)
        return Ladder(tuple(StepProgress(step, trend_of(step.logs)) for step in steps))

    async def own_step(self, step_id: int, user_id: int) -> LadderStep:
        """Return one of the member's own steps."""
        step = await self.store.step(step_id)
        if step is None or step.user_id != user_id:
            raise StepNotFoundError()
        return step

    async def log(self, *, step_id: int, user_id: int, before: int, after: int, now: datetime) -> LogResult:
        """Record a practice of a step and return the trend and any milestone."""
        for name, value in (("before", before), ("after", after)):
            if not 0 <= value <= 100:
                raise UserFacingError(f"Discomfort {name} is a number from 0 (none) to 100 (the most).")
        step = await self.own_step(step_id, user_id)
        await self.store.add_log(step, before=before, after=after, now=now)
        updated = await self.own_step(step_id, user_id)
        progress = StepProgress(updated, trend_of(updated.logs))
        return LogResult(progress, milestone_for(progress))

    async def remove(self, step_id: int, user_id: int) -> None:
        """Remove one of the member's steps and its history."""
        if not await self.store.remove_step(step_id, user_id):
            raise StepNotFoundError()
