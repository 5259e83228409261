"""Compile routines into a flat program the coach steps through.

Nested ``run`` steps are inlined, branches become jumps, and every instruction knows
its *block* (one exercise on one side, one question, ...): the unit that "skip" and
"back" move by. Compiling once keeps the state machine small: it only walks a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from voicecoach.content.loader import Library
from voicecoach.content.routine import AskStep, CheckStep, DoStep, Exercise, Routine, RunPreferredStep, RunStep, SayStep, StopStep

OTHER_SIDE = {"left": "right", "right": "left"}
CHECK_PROMPTS = {
    "pain": "How bad is the leg pain now, from zero to ten?",
    "location": "Where does the pain reach now: back, buttock, thigh, knee, calf, or foot?",
    "movement": "Did the leg symptoms move up, move down, or stay where they were?",
}
WORDS_PER_SECOND = 2.6  # espeak-ng at its default rate, used to estimate time left


@dataclass(frozen=True)
class Block:
    """Where an instruction belongs, for skip/back and for the screen."""

    index: int
    routine: str
    title: str
    side: str | None = None
    exercise: str | None = None


@dataclass
class Speak:
    text: str
    block: Block = None  # type: ignore[assignment]


@dataclass
class Hold:
    """A timed hold with spoken marks; ``seconds`` is the hold length (s)."""

    seconds: float
    rep: int
    reps: int
    release: str
    block: Block = None  # type: ignore[assignment]


@dataclass
class Interval:
    """A quiet wait of ``seconds`` (get into position, rest, a phase of a paced rep)."""

    seconds: float
    kind: str
    block: Block = None  # type: ignore[assignment]


@dataclass
class Choice:
    """What an answer does: say, record a result, then jump (None: next) or stop."""

    say: str | None = None
    result: str | None = None
    target: int | None = None
    stop: str | None = None
    label: str | None = None  # unresolved goto, fixed up after compiling
    reason: str | None = None  # with ``stop``: why, in plain words, said again at the next session
    loop: bool = False  # jumps back to steps already run: another round (the coach limits rounds)
    clears: bool = False  # a clinician has seen the person since the last safety stop


@dataclass
class Question:
    """A question; a rating with ``if_hurt``/``if_untested`` is about the test position
    ``tests`` (an exercise id) before it, and counts as those answers when that position
    hurt or was not a full test."""

    prompt: str
    context: str
    answers: dict[str, Choice]
    qid: str = ""
    block: Block = None  # type: ignore[assignment]
    tests: str | None = None        # exercise id of the position the rating is about
    if_hurt: str | None = None      # answer it counts as when that position hurt
    if_untested: str | None = None  # answer it counts as (instead of a direction) when not fully tested

    def direction(self) -> str | None:
        """The direction this rating tests: what its "better" answer would choose."""
        better = self.answers.get("better")
        return better.result if better and better.result not in (None, "none") else None


@dataclass
class Jump:
    target: int = -1
    label: str | None = None
    block: Block = None  # type: ignore[assignment]


@dataclass
class SwitchPreference:
    """Jump by the directional preference found so far (``cases``: preference -> pc)."""

    cases: dict[str, int]
    default: int = -1
    block: Block = None  # type: ignore[assignment]


@dataclass
class Finish:
    """End the session with advice (a safety stop); ``reason`` is named at the next session."""

    text: str
    block: Block = None  # type: ignore[assignment]
    reason: str | None = None


@dataclass
class Marker:
    """Start of a routine (for the history); does nothing else."""

    routine: str
    name: str
    block: Block = None  # type: ignore[assignment]


Instruction = Speak | Hold | Interval | Question | Jump | SwitchPreference | Finish | Marker


@dataclass
class Tuning:
    """Per-user adjustments, clamped to each exercise's allowed range.

    Each maps ``"<routine-id>.<exercise-id>"`` to a hold length (s), a number of
    repetitions per side, or a paced repetition's length (s).
    """

    hold_s: Mapping[str, float] = field(default_factory=dict)
    reps: Mapping[str, int] = field(default_factory=dict)
    tempo_s: Mapping[str, float] = field(default_factory=dict)


class Compiler:
    def __init__(self, library: Library, tuning: Tuning | None = None):
        self.library = library
        self.tuning = tuning or Tuning()
        self.out: list[Instruction] = []
        self._blocks = 0
        self._instance = 0

    def compile(self, routine_id: str, offset: int = 0, first_block: int = 0) -> list[Instruction]:
        """Instructions for ``routine_id``; pcs start at ``offset`` (to append to a program)."""
        self.out, self._offset, self._blocks = [], offset, first_block
        self._routine(routine_id, stack=())
        return self.out

    # -- helpers --------------------------------------------------------------------
    @property
    def pc(self) -> int:
        return self._offset + len(self.out)

    def _block(self, routine: str, title: str, side=None, exercise=None) -> Block:
        self._blocks += 1
        return Block(self._blocks, routine, title, side, exercise)

    def _emit(self, instr: Instruction, block: Block) -> None:
        instr.block = block
        self.out.append(instr)

    def _routine(self, rid: str, stack: tuple[str, ...]) -> None:
        if rid in stack:
            raise ValueError(f"routine {rid!r} runs itself: {' -> '.join(stack + (rid,))}")
        routine = self.library.routines[rid]
        self._instance += 1
        prefix = f"{self._instance}:"
        labels: dict[str, int] = {}
        start = len(self.out)
        self._emit(Marker(rid, routine.name), self._block(rid, routine.name))
        for step in routine.steps:
            if step.id:
                labels[prefix + step.id] = self.pc
            self._step(rid, routine, step, prefix, stack + (rid,))
        end = self.pc
        for i, instr in enumerate(self.out[start:], start=self._offset + start):  # resolve gotos and ends
            if isinstance(instr, Question):
                for choice in instr.answers.values():
                    if choice.label == "<end>":
                        choice.target, choice.label = end, None
                    elif choice.label and choice.label.startswith(prefix):
                        choice.target, choice.label = labels[choice.label], None
                        choice.loop = choice.target <= i

    def _step(self, rid: str, routine: Routine, step, prefix: str, stack) -> None:
        if isinstance(step, SayStep):
            self._emit(Speak(step.say), self._block(rid, routine.name))
        elif isinstance(step, StopStep):
            self._emit(Finish(step.stop), self._block(rid, routine.name))
        elif isinstance(step, AskStep):
            answers = {
                answer: Choice(say=b.say, result=b.result, stop=b.stop, reason=b.reason,
                               label="<end>" if b.end else (prefix + b.goto if b.goto else None))
                for answer, b in step.answers.items()
            }
            qid = f"{rid}/{step.id or len(self.out)}"
            tests = next((i.block.exercise for i in reversed(self.out) if i.block.exercise), None) \
                if (step.if_hurt or step.if_untested) else None
            self._emit(Question(step.ask, step.context, answers, qid, tests=tests, if_hurt=step.if_hurt,
                                if_untested=step.if_untested), self._block(rid, routine.name))
        elif isinstance(step, CheckStep):
            prompt = step.prompt or CHECK_PROMPTS[step.check]
            qid = f"{rid}/{step.id or step.check + str(len(self.out))}"
            self._emit(Question(prompt, step.check, {}, qid), self._block(rid, routine.name))
        elif isinstance(step, DoStep):
            self._exercise(rid, step.do, routine.exercises[step.do])
        elif isinstance(step, RunStep):
            self._routine(step.run, stack)
        elif isinstance(step, RunPreferredStep):
            switch = SwitchPreference({})
            self._emit(switch, self._block(rid, routine.name))
            jumps = []
            for preference, target in step.run_preferred.items():
                if target:
                    switch.cases[preference] = self.pc
                    self._routine(target, stack)
                    jump = Jump()
                    self._emit(jump, self.out[-1].block)
                    jumps.append(jump)
            for jump in jumps:
                jump.target = self.pc
            switch.default = self.pc

    def _exercise(self, rid: str, ex_id: str, ex: Exercise) -> None:
        t, key = self.tuning, f"{rid}.{ex_id}"
        reps = int(ex.reps.clamp(t.reps.get(key, ex.reps.default)))
        for side in ex.sides or [None]:
            title = ex.name + (f", {side} side" if side else "")
            block = self._block(rid, ex.name, side, ex_id)
            if ex.caution and side in (None, ex.sides[0] if ex.sides else None):
                self._emit(Speak(ex.caution), block)
            text = ex.instructions.format(side=side or "", other_side=OTHER_SIDE.get(side or "", ""))
            self._emit(Speak(f"{title}. {text}"), block)
            self._emit(Interval(ex.position_s, "position"), block)
            if ex.hold_s is not None:
                hold = ex.hold_s.clamp(t.hold_s.get(key, ex.hold_s.default))
                for rep in range(1, reps + 1):
                    self._emit(Hold(round(hold), rep, reps, ex.release), block)
                    if rep < reps and ex.rest_s:
                        self._emit(Interval(ex.rest_s, "rest"), block)
            else:
                tempo = ex.tempo_s.clamp(t.tempo_s.get(key, ex.tempo_s.default))
                self._emit(Speak(f"{reps} slow repetitions. Follow my count."), block)
                per_phase = tempo / len(ex.phases)
                for rep in range(1, reps + 1):
                    for i, phase in enumerate(ex.phases):
                        self._emit(Speak(f"{rep}. {phase}" if i == 0 else phase), block)
                        self._emit(Interval(per_phase, "tempo"), block)
                self._emit(Speak("And rest."), block)


def speech_seconds(text: str) -> float:
    """Rough time to say ``text`` (s)."""
    return len(text.split()) / WORDS_PER_SECOND


def instruction_seconds(instr: Instruction) -> float:
    if isinstance(instr, Speak):
        return speech_seconds(instr.text)
    if isinstance(instr, (Hold, Interval)):
        return instr.seconds + (2.0 if isinstance(instr, Hold) else 0.0)
    if isinstance(instr, Question):
        return speech_seconds(instr.prompt) + 3.0
    return 0.0


def remaining_seconds(program: list[Instruction], pc: int, preference: str | None = None) -> float:
    """Estimated time (s) from ``pc`` to the end, along the likely path.

    At a question the path of "same"/"no" is assumed (the longer one, so the estimate
    errs toward more time left).
    """
    total, seen = 0.0, set()
    while 0 <= pc < len(program) and pc not in seen:
        seen.add(pc)
        instr = program[pc]
        total += instruction_seconds(instr)
        if isinstance(instr, Jump):
            pc = instr.target
        elif isinstance(instr, SwitchPreference):
            pc = instr.cases.get(preference or "", instr.default)
        elif isinstance(instr, Finish):
            break
        elif isinstance(instr, Question) and not instr.answers:  # a check-in: no branch
            pc += 1
        elif isinstance(instr, Question):
            choice = instr.answers.get("same") or instr.answers.get("no") or next(iter(instr.answers.values()))
            if choice.stop:
                break
            pc = choice.target if choice.target is not None else pc + 1
        else:
            pc += 1
    return total


def routine_seconds(library: Library, routine_id: str, tuning: Tuning | None = None) -> float:
    """Estimated length of a routine (s), for listings."""
    return remaining_seconds(Compiler(library, tuning).compile(routine_id), 0)
