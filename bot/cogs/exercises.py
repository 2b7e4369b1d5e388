"""/exercise: breathing with a live pacer, step-by-step exercises, the thought record and group mode.

Other areas use two things from here: `Exercises.post_group_exercise(channel, exercise_id, marker=...)`
for check-in schedules of kind "exercise" (the marker lets the check-ins find an interrupted post
again after a restart), and the persistent `hearth:exercise:start:<id>` buttons
(`StartButton`) that let anyone start an exercise privately.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._ui import (
    CHOICE_NAME_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    HearthDynamicItem,
    ShortText,
    clip,
    defer_private,
    hearth,
    is_moderator,
    loaded_cog,
    modal_custom_id,
    report,
    routed_modal,
    submitted_values,
)
from bot.cogs.journal import (
    answer_update,
    journal_service,
    member_ids,
    offer_private_care,
    pick_prompt,
    prompt_message,
    prompt_pool,
    report_then_care,
    within_window,
)
from bot.content_areas.exercises import PACED_RATES, Exercise, Phase
from bot.errors import NotModeratorError, UserFacingError
from bot.services.exercises import (
    LEAD_IN_SECONDS,
    MIN_EDIT_INTERVAL,
    Actor,
    ExerciseService,
    NotYourSessionError,
    PacerFrame,
    PacerPlan,
    StepAction,
    StepState,
    choose_cycles,
    frame_text,
    options_note,
    plan_pacer,
)
from bot.services.safety import CrisisLevel
from bot.storage.exercises import ExerciseSessionStore

if TYPE_CHECKING:
    from bot.app import Hearth

log = logging.getLogger(__name__)

EXERCISE_COLOUR = discord.Colour(0x81B29A)
ANSWER_MODAL = re.compile(r"^hearth:exercise:answer:(?P<session>\d{1,20}):(?P<step>\d{1,2})$")
STOPPED_TEXT = (
    "Breathe normally and take your time. You can start again with **/exercise** whenever you like."
)
RESTART_NOTE = (
    "Hearth is restarting, so this session stopped. Breathe normally; you can start again with "
    "**/exercise** in a minute."
)
REPLACED_NOTE = "A new breathing session started, so this one stopped."
STEPS_STOPPED_TEXT = "That's fine: you can start it again from the beginning any time with **/exercise**."
# Stopping a thought record deletes its answers (see ExerciseSessionStore.end): say so plainly.
RECORD_STOPPED_TEXT = (
    "Your answers to this thought record have been deleted, and nothing was saved to your journal. "
    "You can start a new one any time with **/exercise**."
)
RECORD_RESUMED_NOTE = (
    "You were part-way through a thought record, so it carries on where you left off. Your answers so far "
    "are kept privately until you finish it; **Stop** deletes them."
)
# How a step message's own footer begins; a scheduled post's marker goes before it.
STEP_FOOTER_START = "Step "
GROUP_NOTE = "Follow along together. Anyone can stop following at any time and breathe normally."
# What `/exercise rate:` offers: exactly the rates paced breathing can use.
LOWEST_RATE, HIGHEST_RATE = PACED_RATES
# How long replacing a group pacer, or shutting down, waits for an edit already on its way.
# (A Stop click never waits: it answers at once and says "Stopped" again after a late edit.)
STOP_WAIT_SECONDS = 2.0


@dataclass
class PacerTiming:
    """How fast the pacer runs: `scale` multiplies every phase (tests make it small);
    `min_edit_interval` is the least real time between two edits of one message; `stop_wait`
    is how long replacing a pacer or shutting down waits for an edit already on its way."""

    scale: float = 1.0
    min_edit_interval: float = MIN_EDIT_INTERVAL
    lead_in: float = LEAD_IN_SECONDS
    stop_wait: float = STOP_WAIT_SECONDS


@dataclass(eq=False)
class PacerRun:
    """One live pacer: its plan, who may stop it, and the task that edits its message."""

    token: str
    exercise: Exercise
    phases: tuple[Phase, ...]
    plan: PacerPlan
    owner_id: int | None
    channel_id: int | None = None
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    finished: bool = False
    # Set when something other than the Stop button ends the run; the pacer then says why itself.
    stop_note: str | None = None
    # A scheduled post's marker, kept in the footer of every edit (see `marked`).
    marker: str | None = None
    # Which of the member's options were not used as given (see `options_note`), shown with the lead-in.
    note: str = ""
    # How many of the pacer's edits have landed; Stop compares it to know whether one landed after it.
    edits_landed: int = 0

    @property
    def is_group(self) -> bool:
        """Say whether a whole channel follows this pacer."""
        return self.owner_id is None

    async def wait_until(self, deadline: float) -> bool:
        """Sleep until `deadline` (loop time); return True at once if the pacer is stopped."""
        if self.stopped.is_set():
            return True
        delay = deadline - asyncio.get_running_loop().time()
        if delay <= 0:
            return False
        try:
            await asyncio.wait_for(self.stopped.wait(), delay)
        except TimeoutError:
            return False
        return True


Editor = Callable[..., Awaitable[Any]]


# ----- rendering -------------------------------------------------------------------------


def _title(exercise: Exercise, group: bool) -> str:
    return f"{exercise.title} · together" if group else exercise.title


def record_kept_note(title: str) -> str:
    """Tell a member their unfinished thought record was kept while another exercise started."""
    return (
        f"Your unfinished {title.lower()} is kept with its answers: start **{title}** again with "
        "**/exercise** to carry on where you left off."
    )


def marked(embed: discord.Embed, marker: str | None) -> discord.Embed:
    """Put a scheduled post's marker first in its footer, where the check-ins look after a restart."""
    if marker:
        rest = embed.footer.text
        embed.set_footer(text=f"{marker} · {rest}" if rest else marker)
    return embed


def posted_marker(message: discord.Message | None) -> str | None:
    """Return the scheduled post's marker a step message carries in its footer, if any."""
    footer = message.embeds[0].footer.text if message and message.embeds else None
    if not footer or footer.startswith(STEP_FOOTER_START):
        return None
    head, found, _ = footer.partition(f" · {STEP_FOOTER_START}")
    return head if found else footer


def _dots(done: int, total: int) -> str:
    return "●" * done + "○" * max(0, total - done)


def pacer_embed(run: PacerRun, frame: PacerFrame | None) -> discord.Embed:
    """Render the pacer at one frame; frame None (or the lead-in frame) is the lead-in."""
    exercise = run.exercise
    if frame is None or not frame.phases:
        lines = ["## Get comfortable", "The first breath begins in a moment."]
        if exercise.intro:
            lines.append(exercise.intro)
        rounds = f"{run.plan.cycles} round{'s' if run.plan.cycles != 1 else ''}"
        lines.append(f"{rounds}, about {_run_length(run)}.")
        if run.note:
            lines.append(f"_{run.note}_")
    else:
        lines = [
            f"## {frame_text(frame)}",
            f"Round {frame.cycle} of {run.plan.cycles}  {_dots(frame.cycle, run.plan.cycles)}",
        ]
    if run.is_group:
        lines.append(f"_{GROUP_NOTE}_")
    embed = discord.Embed(
        title=_title(exercise, run.is_group), description="\n\n".join(lines), colour=EXERCISE_COLOUR
    )
    embed.set_footer(text=exercise.safety_note)
    return marked(embed, run.marker)


def _run_length(run: PacerRun) -> str:
    seconds = round(sum(p.seconds for p in run.phases) * run.plan.cycles)
    minutes, rest = divmod(seconds, 60)
    if minutes and rest:
        return f"{minutes} min {rest} s"
    return f"{minutes} min" if minutes else f"{rest} s"


def pacer_end_embed(run: PacerRun, *, stopped: bool, note: str = "") -> discord.Embed:
    """Render the pacer's last state: done, or stopped."""
    exercise = run.exercise
    if stopped:
        text = f"## Stopped\n{note or STOPPED_TEXT}"
    else:
        text = f"## Done\n{exercise.closing or 'Well done. Notice how you feel now.'}"
    embed = discord.Embed(title=_title(exercise, run.is_group), description=text, colour=EXERCISE_COLOUR)
    embed.set_footer(text=exercise.safety_note)
    return marked(embed, run.marker)


def step_embed(state: StepState, *, problems: tuple[str, ...] = (), note: str = "") -> discord.Embed:
    """Render a step exercise at its current step, or its ending; `note` goes under the step."""
    exercise = state.exercise
    group = state.session.is_group
    embed = discord.Embed(title=_title(exercise, group), colour=EXERCISE_COLOUR)
    if state.ended == "finished":
        embed.description = (
            f"## Finished\n{exercise.closing or 'Well done for taking this time for yourself.'}"
        )
        return embed
    if state.ended == "stopped":
        embed.description = (
            f"## Stopped\n{RECORD_STOPPED_TEXT if exercise.kind == 'thought_record' else STEPS_STOPPED_TEXT}"
        )
        return embed
    parts = []
    if state.index == 0 and exercise.intro:
        parts.append(exercise.intro)
    parts.append(f"### {state.step.title}\n{state.step.text}")
    if exercise.kind == "thought_record" and not group:
        answered = [(f.label, state.session.answers.get(f.key, "")) for f in state.step.fields]
        if any(value for _, value in answered):
            parts.append(
                "**Your answer so far**\n"
                + "\n".join(f"• {label}: {clip(value, 300)}" for label, value in answered if value)
            )
        parts.append("Press **Answer** to write in a private form.")
    if problems:
        parts.append("**Please check:**\n" + "\n".join(f"• {p}" for p in problems))
    if note:
        parts.append(f"_{note}_")
    embed.description = clip("\n\n".join(parts), EMBED_DESCRIPTION_LIMIT)
    footer = f"{STEP_FOOTER_START}{state.number} of {state.total}  {_dots(state.number, state.total)}"
    if group:
        footer += "\nA moderator moves the group on. 'Do it on my own' goes at your own pace, privately."
    embed.set_footer(text=footer)
    return embed


def step_view(state: StepState) -> discord.ui.View | None:
    """Render the buttons for a step exercise: Back, Next (or Answer, or Finish) and Stop."""
    group = state.session.is_group
    view = discord.ui.View(timeout=None)
    if state.ended is None:
        session_id = state.session.id
        if state.exercise.kind == "thought_record":
            forward = "Answer"
        else:
            forward = "Finish" if state.is_last else "Next"
        view.add_item(StepButton(session_id, "back", disabled=state.index == 0))
        view.add_item(StepButton(session_id, "next", label=forward))
        view.add_item(StepButton(session_id, "stop"))
    if group:
        view.add_item(StartButton(state.exercise.id, label="Do it on my own"))
    return view if view.children else None


def answer_modal(state: StepState) -> discord.ui.Modal:
    """Build the private form for the current thought-record step, filled with earlier answers."""
    inputs: list[discord.ui.TextInput[Any]] = []
    for item in state.step.fields:
        inputs.append(
            discord.ui.TextInput(
                label=item.label,
                custom_id=item.key,
                style=discord.TextStyle.short if item.style == "short" else discord.TextStyle.paragraph,
                placeholder=item.placeholder or None,
                required=item.required,
                max_length=item.max_length,
                default=state.session.answers.get(item.key) or None,
            )
        )
    return routed_modal(state.step.title, f"hearth:exercise:answer:{state.session.id}:{state.index}", inputs)


def record_saved_embed(state: StepState, record_text: str) -> discord.Embed:
    """Render the end of a thought record: what was saved, and where to find it."""
    embed = discord.Embed(
        title=state.exercise.title,
        description=clip(f"## Saved to your journal\n{record_text}", EMBED_DESCRIPTION_LIMIT),
        colour=EXERCISE_COLOUR,
    )
    if state.exercise.closing:
        embed.add_field(name="What now", value=clip(state.exercise.closing, 1024), inline=False)
    embed.set_footer(text="Only you can see this. Read it again any time with /journal entries.")
    return embed


def invitation_embed(exercise: Exercise) -> discord.Embed:
    """Render a public invitation to a private exercise (the thought record)."""
    text = f"{exercise.summary}\n\n{exercise.intro}".strip()
    embed = discord.Embed(
        title=exercise.title, description=clip(text, EMBED_DESCRIPTION_LIMIT), colour=EXERCISE_COLOUR
    )
    embed.set_footer(text="This one is private: press the button to do it on your own. Nobody else sees it.")
    return embed


# ----- persistent components -------------------------------------------------------------------


def _cog(interaction: discord.Interaction) -> Exercises:
    return cast("Exercises", loaded_cog(interaction, "Exercises"))


class StartButton(
    HearthDynamicItem[discord.ui.Button[Any]],
    template=r"hearth:exercise:start:(?P<exercise>[a-z0-9_-]{1,60})",
):
    """Anyone can click to start an exercise privately (check-in replies and group posts link it)."""

    def __init__(self, exercise_id: str, *, label: str = "Start") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.primary,
                custom_id=f"hearth:exercise:start:{exercise_id}",
            )
        )
        self.exercise_id = exercise_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StartButton:
        return cls(match["exercise"])

    async def handle(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).start_private(interaction, self.exercise_id)


_STEP_LABELS = {
    "next": ("Next", discord.ButtonStyle.primary),
    "back": ("Back", discord.ButtonStyle.secondary),
    "stop": ("Stop", discord.ButtonStyle.danger),
}


class StepButton(
    HearthDynamicItem[discord.ui.Button[Any]],
    template=r"hearth:exercise:step:(?P<session>\d{1,20}):(?P<action>next|back|stop)",
):
    """Move a step exercise; the session lives in the database, so this works after a restart."""

    def __init__(
        self, session_id: int, action: str, *, label: str | None = None, disabled: bool = False
    ) -> None:
        default_label, style = _STEP_LABELS[action]
        super().__init__(
            discord.ui.Button(
                label=label or default_label,
                style=style,
                disabled=disabled,
                custom_id=f"hearth:exercise:step:{session_id}:{action}",
            )
        )
        self.session_id = session_id
        self.action = StepAction(action)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StepButton:
        return cls(int(match["session"]), match["action"])

    async def handle(self, interaction: discord.Interaction) -> None:
        cog = _cog(interaction)
        actor = Actor(interaction.user.id, await is_moderator(interaction))
        if self.action is StepAction.NEXT:
            state = await cog.service.state(self.session_id, actor)
            if state.exercise.kind == "thought_record" and state.ended is None and not state.session.is_group:
                await interaction.response.send_modal(answer_modal(state))
                return
        state = await within_window(
            interaction, cog.service.act(self.session_id, self.action, actor, hearth(interaction).now())
        )
        if state.ended is not None:
            cog.forget_care(self.session_id)
        embed = step_embed(state)
        if state.session.is_group:
            # A scheduled post keeps its marker at every step, so the check-ins can still find it.
            embed = marked(embed, posted_marker(interaction.message))
        await answer_update(interaction, embed=embed, view=step_view(state))


class PacerStopButton(
    HearthDynamicItem[discord.ui.Button[Any]], template=r"hearth:exercise:pacer:(?P<run>[0-9a-f]{12}):stop"
):
    """Stop a live breathing pacer."""

    def __init__(self, token: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Stop",
                style=discord.ButtonStyle.danger,
                custom_id=f"hearth:exercise:pacer:{token}:stop",
            )
        )
        self.token = token

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PacerStopButton:
        return cls(match["run"])

    async def handle(self, interaction: discord.Interaction) -> None:
        cog = _cog(interaction)
        run = cog.runs.get(self.token)
        if run is None:
            # The pacer ended, or Hearth restarted since it began: tidy the message up.
            embed = discord.Embed(
                title="Breathing",
                colour=EXERCISE_COLOUR,
                description=f"## This breathing session has ended\n{STOPPED_TEXT}",
            )
            await interaction.response.edit_message(embed=embed, view=_kept_start_button(interaction.message))
            return
        if run.is_group:
            if not await is_moderator(interaction):
                raise UserFacingError(
                    "Only a moderator can stop the group's breathing for everyone. You can stop following "
                    "at any time: just breathe normally."
                )
        elif run.owner_id != interaction.user.id:
            raise NotYourSessionError()
        # Answer the click at once: the pacer stops editing now, even with an edit still on its way.
        run.stopped.set()
        cog.forget_run(run)
        embed = pacer_end_embed(run, stopped=True)
        view = None
        if run.is_group:
            view = discord.ui.View(timeout=None).add_item(
                StartButton(run.exercise.id, label="Do it on my own")
            )
        landed = run.edits_landed
        await interaction.response.edit_message(embed=embed, view=view)
        if run.task is not None and not run.task.done():
            # An edit already on its way may land over "Stopped": once the pacer has settled,
            # say "Stopped" again so it is the last word.
            await asyncio.wait({run.task})
            if run.edits_landed > landed:
                await interaction.edit_original_response(embed=embed, view=view)


def _kept_start_button(message: discord.Message | None) -> discord.ui.View | None:
    """Keep a group post's 'Do it on my own' button when tidying up a pacer that ended."""
    for row in message.components if message else []:
        for component in getattr(row, "children", []):
            match = re.fullmatch(
                r"hearth:exercise:start:([a-z0-9_-]{1,60})", getattr(component, "custom_id", "") or ""
            )
            if match:
                return discord.ui.View(timeout=None).add_item(StartButton(match[1], label="Do it on my own"))
    return None


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (StartButton, StepButton, PacerStopButton)


# ----- the cog ---------------------------------------------------------------------------------


class Exercises(commands.Cog, name="Exercises"):
    """Guided exercises for one member, or for a whole channel together."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.hearth = cast("Hearth", bot)
        assert self.hearth.db is not None
        self.service = ExerciseService(
            ExerciseSessionStore(self.hearth.db, self.hearth.keyring),
            journal_service(bot).store,
            self.library,
        )
        self.pacer_timing = PacerTiming()
        self.runs: dict[str, PacerRun] = {}
        # Kept only in memory: one live pacer per member and per channel.
        self._run_of_member: dict[int, str] = {}
        self._run_of_channel: dict[int, str] = {}
        # Per thought-record session: the care levels already offered for its answers, so resources
        # are not repeated at every step. Kept only while the session is active (and not over a restart).
        self._care_offered: dict[int, set[CrisisLevel]] = {}

    def library(self) -> Mapping[str, Exercise]:
        """Return the loaded exercises by id."""
        content = getattr(self.bot, "content", None)
        return content.parts.get("exercises", {}) if content else {}

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        runs = list(self.runs.values())
        for run in runs:
            run.stop_note = RESTART_NOTE
            run.stopped.set()
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self.pacer_timing.stop_wait)

    # ----- /exercise ---------------------------------------------------------------------

    @app_commands.command(
        name="exercise",
        description="Start a guided exercise: breathing, grounding, journaling, a thought record and more",
    )
    @app_commands.describe(
        name="Which exercise (start typing to see them all)",
        group="Moderators: run it in this channel for everyone to follow together",
        rate=f"Paced breathing only: breaths per minute, {LOWEST_RATE} to {HIGHEST_RATE} (6 is a good start)",
        cycles="Breathing only: how many rounds",
    )
    @app_commands.guild_only()
    async def exercise(
        self,
        interaction: discord.Interaction,
        name: ShortText,
        group: bool = False,
        rate: app_commands.Range[int, LOWEST_RATE, HIGHEST_RATE] | None = None,
        cycles: app_commands.Range[int, 1, 30] | None = None,
    ) -> None:
        exercise = self.service.find_exercise(name)
        if not group:
            await self.start_private(interaction, exercise.id, rate=rate, cycles=cycles)
            return
        if not await is_moderator(interaction):
            raise NotModeratorError()
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            raise UserFacingError("Please run a group exercise in a text channel.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        message = await self.post_group_exercise(channel, exercise.id, rate=rate, cycles=cycles)
        note = options_note(exercise, rate=rate, cycles=cycles)
        await interaction.followup.send(
            f"Started **{exercise.title}** for everyone in this channel: {message.jump_url}"
            + (f"\n{note}" if note else ""),
            ephemeral=True,
        )

    @exercise.autocomplete("name")
    async def exercise_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        library = self.library()
        found = library.search(current) if hasattr(library, "search") else list(library.values())
        return [
            app_commands.Choice(name=clip(f"{e.title}: {e.summary}", CHOICE_NAME_LIMIT), value=e.id)
            for e in found[:25]
        ]

    # ----- starting exercises --------------------------------------------------------------

    async def start_private(
        self,
        interaction: discord.Interaction,
        exercise_id: str,
        *,
        rate: int | None = None,
        cycles: int | None = None,
    ) -> None:
        """Start an exercise for the member who asked, in a message only they can see."""
        exercise = self.service.exercise(exercise_id)
        note = options_note(exercise, rate=rate, cycles=cycles)
        if exercise.kind == "breathing":
            await self._start_private_pacer(interaction, exercise, rate, cycles, note)
        elif exercise.kind == "journal_prompt":
            member_ids(interaction)
            intro = f"{exercise.intro}\n\n_{note}_".strip() if note else exercise.intro
            embed, view = prompt_message(pick_prompt(prompt_pool(self.bot)), intro)
            await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
        else:
            guild_id, user_id = member_ids(interaction)
            state = await self.service.start(
                guild_id=guild_id, user_id=user_id, exercise_id=exercise.id, now=hearth(interaction).now()
            )
            if state.resumed:
                note = f"{RECORD_RESUMED_NOTE} {note}".strip()
            elif state.kept is not None:
                note = f"{note} {record_kept_note(state.kept.title)}".strip()
            view = step_view(state)
            assert view is not None
            await interaction.response.send_message(
                embed=step_embed(state, note=note), view=view, ephemeral=True
            )

    def _new_run(
        self,
        exercise: Exercise,
        rate: int | None,
        cycles: int | None,
        owner_id: int | None,
        channel_id: int | None = None,
        marker: str | None = None,
        note: str = "",
    ) -> PacerRun:
        assert exercise.breathing is not None
        rounds = choose_cycles(exercise, cycles, rate)
        timing = self.pacer_timing
        phases = exercise.breathing.phases_at(rate)
        plan = plan_pacer(
            phases,
            rounds,
            scale=timing.scale,
            min_interval=timing.min_edit_interval,
            lead_in=timing.lead_in,
        )
        run = PacerRun(
            secrets.token_hex(6), exercise, phases, plan, owner_id, channel_id, marker=marker, note=note
        )
        self.runs[run.token] = run
        return run

    async def _start_private_pacer(
        self,
        interaction: discord.Interaction,
        exercise: Exercise,
        rate: int | None,
        cycles: int | None,
        note: str,
    ) -> None:
        previous = self.runs.get(self._run_of_member.get(interaction.user.id, ""))
        if previous is not None:
            previous.stop_note = REPLACED_NOTE
            previous.stopped.set()
        run = self._new_run(exercise, rate, cycles, interaction.user.id, note=note)
        self._run_of_member[interaction.user.id] = run.token
        view = discord.ui.View(timeout=None).add_item(PacerStopButton(run.token))
        try:
            await interaction.response.send_message(embed=pacer_embed(run, None), view=view, ephemeral=True)
        except BaseException:
            self.forget_run(run)
            raise
        run.task = asyncio.create_task(
            self._drive(run, interaction.edit_original_response, None), name=f"hearth-pacer-{run.token}"
        )

    async def post_group_exercise(
        self,
        channel: discord.abc.Messageable,
        exercise_id: str,
        *,
        marker: str | None = None,
        rate: int | None = None,
        cycles: int | None = None,
    ) -> discord.Message:
        """Post one public exercise message in a channel for the group to follow together.

        Breathing gets a live pacer; step exercises get one message a moderator moves on; the
        private thought record and journal prompts get an invitation to do them on one's own.
        `marker` (a scheduled post's) goes first in the footer; a pacer keeps it on every edit.
        Raises UserFacingError for an unknown exercise and discord.HTTPException if posting fails.
        """
        exercise = self.service.exercise(exercise_id)
        channel_id = getattr(channel, "id", None)
        if exercise.kind == "breathing":
            if channel_id is not None:
                previous = self.runs.get(self._run_of_channel.get(channel_id, ""))
                if previous is not None:
                    previous.stop_note = REPLACED_NOTE
                    await self.stop_run(previous)
            run = self._new_run(exercise, rate, cycles, None, channel_id, marker)
            view = discord.ui.View(timeout=None)
            view.add_item(PacerStopButton(run.token)).add_item(
                StartButton(exercise.id, label="Do it on my own")
            )
            try:
                message = await channel.send(embed=pacer_embed(run, None), view=view)
            except BaseException:
                self.forget_run(run)
                raise
            if channel_id is not None:
                self._run_of_channel[channel_id] = run.token
            final = discord.ui.View(timeout=None).add_item(StartButton(exercise.id, label="Do it on my own"))
            run.task = asyncio.create_task(
                self._drive(run, message.edit, final), name=f"hearth-pacer-{run.token}"
            )
            return message
        if exercise.kind == "steps":
            # A PartialMessageable may know only its guild's id.
            guild_id = getattr(getattr(channel, "guild", None), "id", None) or getattr(
                channel, "guild_id", None
            )
            if guild_id is None or channel_id is None:
                raise UserFacingError("Group exercises run in a server's text channel.")
            state = await self.service.start(
                guild_id=guild_id,
                user_id=None,
                exercise_id=exercise.id,
                now=self.hearth.now(),
                channel_id=channel_id,
            )
            view = step_view(state)
            try:
                message = await channel.send(
                    embed=marked(step_embed(state), marker), view=view  # type: ignore[arg-type]
                )
            except BaseException:
                # Nobody can follow a session whose message never arrived: end it, leave nothing behind.
                await self.service.sessions.end(state.session.id, status="stopped", now=self.hearth.now())
                raise
            await self.service.sessions.set_message(
                state.session.id, channel_id=channel_id, message_id=message.id
            )
            return message
        if exercise.kind == "journal_prompt":
            embed, view = prompt_message(pick_prompt(prompt_pool(self.bot)), exercise.intro, public=True)
            return await channel.send(embed=marked(embed, marker), view=view)
        view = discord.ui.View(timeout=None).add_item(StartButton(exercise.id, label="Do it on my own"))
        return await channel.send(embed=marked(invitation_embed(exercise), marker), view=view)

    # ----- the pacer ---------------------------------------------------------------------------

    async def _drive(self, run: PacerRun, edit: Editor, final_view: discord.ui.View | None) -> None:
        """Edit the pacer message at each planned frame, never faster than the edit interval."""
        loop = asyncio.get_running_loop()
        start = last_request = loop.time()
        gap = self.pacer_timing.min_edit_interval

        async def send(**changes: Any) -> None:
            await edit(**changes)
            run.edits_landed += 1

        try:
            for frame in run.plan.frames[1:]:
                if await run.wait_until(max(start + frame.at, last_request + gap)):
                    break
                last_request = loop.time()
                await send(embed=pacer_embed(run, frame))
            else:
                if not await run.wait_until(max(start + run.plan.ends_at, last_request + gap)):
                    run.finished = True
                    await send(embed=pacer_end_embed(run, stopped=False), view=final_view)
            if not run.finished and run.stop_note is not None:
                await send(embed=pacer_end_embed(run, stopped=True, note=run.stop_note), view=final_view)
        except discord.NotFound:
            log.info("a pacer message was dismissed or deleted; stopping that pacer")
        except discord.HTTPException as exc:
            log.warning("a pacer stopped because an edit failed (%s)", exc.status)
        except Exception:
            log.exception("a pacer stopped unexpectedly")
        finally:
            self.forget_run(run)

    async def stop_run(self, run: PacerRun) -> None:
        """Stop a pacer and wait a little (`stop_wait`) for any edit already on its way.

        An edit still on its way after that ends the pacer task as soon as it returns.
        """
        run.stopped.set()
        if run.task is not None and not run.task.done():
            await asyncio.wait({run.task}, timeout=self.pacer_timing.stop_wait)
        self.forget_run(run)

    def forget_care(self, session_id: int) -> None:
        """Forget which care levels a thought-record session was offered (it has ended)."""
        self._care_offered.pop(session_id, None)

    def forget_run(self, run: PacerRun) -> None:
        """Stop tracking a pacer: it no longer counts as the member's or the channel's live one."""
        self.runs.pop(run.token, None)
        if run.owner_id is not None and self._run_of_member.get(run.owner_id) == run.token:
            del self._run_of_member[run.owner_id]
        if run.channel_id is not None and self._run_of_channel.get(run.channel_id) == run.token:
            del self._run_of_channel[run.channel_id]

    # ----- thought-record answers ------------------------------------------------------------

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Take thought-record answers, even from a form opened before a restart."""
        match = ANSWER_MODAL.match(modal_custom_id(interaction) or "")
        if match is None:
            return
        try:
            await self.save_answers(interaction, int(match["session"]), int(match["step"]))
        except Exception as exc:
            await report(interaction, exc)

    async def save_answers(self, interaction: discord.Interaction, session_id: int, step: int) -> None:
        """Store one step's answers and move on; the last step saves the record to the journal.

        Deferred first, so a busy database still ends in a reply that hands the answers back.
        """
        values = submitted_values(interaction)
        actor = Actor(interaction.user.id)
        await defer_private(interaction, update=interaction.message is not None)
        # Each step is checked as it comes (a member may stop or walk away before the last one),
        # and before it is stored, so a failed save still offers care.
        written = "\n".join(v for v in values.values() if v.strip())
        assessment = await hearth(interaction).safety.assess_for_care(interaction.guild_id, written)
        offered = self._care_offered.pop(session_id, set())
        try:
            result = await self.service.answer(session_id, step, values, actor, hearth(interaction).now())
        except Exception as exc:
            await report_then_care(interaction, exc, assessment, offered=offered)
            if offered:
                self._care_offered[session_id] = offered
            return
        if result.journal_entry_id is not None and result.record_text is not None:
            await interaction.edit_original_response(
                embed=record_saved_embed(result.state, result.record_text), view=None
            )
        else:
            await interaction.edit_original_response(
                embed=step_embed(result.state, problems=result.problems), view=step_view(result.state)
            )
        await offer_private_care(interaction, assessment, offered=offered)
        if offered and result.state.ended is None:
            self._care_offered[session_id] = offered


async def setup(bot: commands.Bot) -> None:
    """Load the cog."""
    await bot.add_cog(Exercises(bot))
