"""The coach: a pure state machine over a compiled program.

``Coach.start()`` and ``Coach.handle(event)`` return lists of actions (say, cue,
listen, wait, ...). The coach never sleeps and never touches audio; it reads time
from the injected clock, so a 20-minute session runs in milliseconds under test.

Every reply ends with what the coach waits for:

* ``Listen(intents, context, timeout_s)``: a question; expect Heard/NotUnderstood/Silence.
* ``Wait(until)`` plus ``Listen(commands, timeout_s=None)``: a hold or rest; send ``Tick``
  at ``until`` and any command heard before.
* ``Listen(..., timeout_s=None)`` alone: paused; wait as long as it takes.
* ``End(reason)``.

Where each part lives, by responsibility:

* ``transitions``: the modes, and what every input does in every mode (``TRANSITIONS``);
* ``cursor``: the program compiled so far and where the coach is in it ("back" included);
* ``timing`` (with ``holds``): holds, waits, pause and resume, adjustments;
* ``answers``: the menu, the questions, check-ins, rounds, asking again;
* ``stops``: stop and pain, "Do you want to go on?", the endings;
* ``prompts``: what is listened for, shown, offered and said again;
* here: the constructor, the public API, dispatch, and executing instructions.

Safety rules: a *gate* (the menu, the stop confirmation, a question whose answer chooses
the way on, which every safety question does) is left only by a heard answer to it, or
by "stop" ending the session: "skip" and "back" are refused there, and an overlay never
allows more than the place beneath it. An answer that selects a branch is never guessed
(re-ask once, then pause); "stop", "pain" and "worse" end a hold at once and ask whether
to go on. The assessment repeats at most ``MAX_ROUNDS`` times a session.
"""

from __future__ import annotations

from typing import Callable

from voicecoach.core import events as ev
from voicecoach.core.adjustments import Adjustments
from voicecoach.core.answers import Answers
from voicecoach.core.checkins import CHECK_IN_ROUTINE, CheckIns, trend_advice
from voicecoach.core.cursor import Cursor
from voicecoach.core.holds import Timer
from voicecoach.core.plan import HistoryFacts
from voicecoach.core.positions import PositionTests
from voicecoach.content.loader import Library
from voicecoach.core.program import (Block, Finish, Hold, Instruction, Interval, Jump, Marker, Question, Speak,
                                     SwitchPreference, Tuning)
from voicecoach.core.prompts import Prompts
from voicecoach.core.resume import resume_at, step_record
from voicecoach.core.safety import follow_up
from voicecoach.core.stops import GO_ON, Stops  # noqa: F401 (tests)
from voicecoach.core.timing import HoldsAndPauses
from voicecoach.core.transitions import INPUTS, TRANSITIONS, Mode, input_of, is_gate  # noqa: F401 (tests)
from voicecoach.content.vocabulary import Vocabulary

DISCLAIMER = ("I am an exercise coach, not a doctor. Move gently, and never push into sharp pain. "
              "Say stop, or pain, at any time.")
SAFETY_ROUTINE = "safety-screen"


class Coach(Answers, Stops, HoldsAndPauses, Prompts):
    """Walks the program; see the module docstring for the protocol.

    The handlers live in the mixins by responsibility (``Answers``, ``Stops``,
    ``HoldsAndPauses``, ``Prompts``) and share this object's state: the ``cursor``, the
    ``timer``, the place and its overlays.

    ``history``: what past sessions left (the screen due, advice, an interrupted session,
    a remembered stop); ``resume_now``: pick that session up without the menu."""

    def __init__(self, library: Library, vocabulary: Vocabulary, clock: Callable[[], float], *,
                 routine: str | None = None, tuning: Tuning | None = None, silence_timeout_s: float = 8.0,
                 disclaimer: bool = True, checkins: bool = False, history: HistoryFacts | None = None,
                 resume_now: bool = False):
        history = history or HistoryFacts()
        self.library = library
        self.vocab = vocabulary.with_routines(library.spoken_names())
        self.now = clock
        self.adjust = Adjustments(library, tuning)
        self.checks = CheckIns(self.vocab, history.pain_since_assessment)
        self.silence_timeout_s = silence_timeout_s
        self.cursor = Cursor(library)
        self.place = Mode.RUNNING
        self.overlays: list[Mode] = []  # PAUSED / CONFIRM_STOP / CONFIRM_GUESS over the place, innermost first
        self.preference: str | None = None
        self.pending_routine = routine
        self.menu_done = routine is not None
        self.failures = 0
        self.guess: tuple[str, str] | None = None  # (intent, words) asked about: "Did you say five?"
        self.timer = Timer()
        self.stop_cause = ""
        self.rounds: dict[str, int] = {}  # question id -> rounds it started again (looped back)
        self.worse_in: set[str] = set()  # routines in which a rating was "worse" this session
        self.positions = PositionTests()  # which test positions were held to the end, which hurt
        self.checkins = checkins and CHECK_IN_ROUTINE in library.routines
        resume = history.resume
        self.resume_point = resume if resume and resume.routine in library.routines else None
        if self.resume_point and resume_now:
            self.pending_routine, self.menu_done = self.resume_point.routine, True
        self._top: tuple[str, int] | None = None  # routine being run, and its first block number - 1
        if history.baseline is not None:  # the series of check-ins, resumable or not
            self._carried = dict(history.baseline)
        else:
            self._carried = dict(resume.baseline) if resume and resume.baseline else {}
        if self._carried:  # a check-in is a measurement whether or not its session finished
            self.checks.keep_baseline(self._carried)
        self.program.extend(self._intro(history, disclaimer))
        if (history.screen or history.safety_stop) and SAFETY_ROUTINE in library.routines:
            self.cursor.append(SAFETY_ROUTINE, self.tuning)
        self.screened = False

    @staticmethod
    def _intro(history: HistoryFacts, disclaimer: bool) -> list[Instruction]:
        """What is said before any routine: what the coach is, then the remembered stop
        (named and asked about first, before any advice; if cleared, the screen again)
        or the pain trend across sessions, then the notices."""
        welcome = Block(0, "", "Welcome")
        intro: list[Instruction] = [Speak(DISCLAIMER, welcome)] if disclaimer else []
        if history.safety_stop:
            intro += follow_up(history.safety_stop, welcome)
        elif history.trend_stop:  # pain rose since the last assessment: the trend rule, across sessions
            warning, reason = history.trend_stop
            intro.append(Finish(trend_advice(warning), welcome, reason=reason))
        intro += [Speak(notice, welcome) for notice in history.notices]
        return intro

    # ================================================================ public API
    @property
    def mode(self) -> Mode:
        """What the coach is doing now: the innermost overlay, else the place."""
        return self.overlays[-1] if self.overlays else self.place

    @property
    def tuning(self) -> Tuning:
        return self.adjust.tuning

    @property
    def adjustments(self) -> dict[str, float]:
        """Settings changed by voice this session: "exercise.<routine>.<exercise>.<hold|tempo>" -> value."""
        return self.adjust.changed

    @property
    def program(self) -> list[Instruction]:
        return self.cursor.program

    @property
    def pc(self) -> int:
        """Index in ``program`` of the instruction under way."""
        return self.cursor.pc

    @pc.setter
    def pc(self, value: int) -> None:
        self.cursor.pc = value

    @property
    def current_block(self) -> Block | None:
        return self.cursor.block

    def start(self) -> list[ev.Action]:
        # the baseline carried from an interrupted session is kept in this one's history too, so
        # that a series of interrupted sessions keeps measuring from its first check-in
        return self._run([ev.Record("baseline", self._carried)] if self._carried else [])

    def handle(self, event: ev.Event) -> list[ev.Action]:
        if self.place is Mode.ENDED:
            return [ev.End("done")]
        if self.mode is Mode.ASKING and (answer := self._answers_the_question(event)):
            event = ev.Heard(answer, event.text)  # a question's own answer wins over a command
        kind = input_of(event, self._is_answer(event))
        return self._dispatch(TRANSITIONS[self.mode][kind], kind, event, [])

    def seconds_left(self) -> float:
        """Estimated seconds left in the session (s)."""
        hold = self.timer.hold
        extra = hold.left(self.now()) if hold else 0.0
        return extra + self.cursor.seconds_after(self.pc + 1 if hold else self.pc, self.preference)

    # ================================================================ dispatch
    def _dispatch(self, handler: str, kind: str, event: ev.Event, out: list[ev.Action]) -> list[ev.Action]:
        """Run the handler ``_do_<handler>`` that the table names."""
        return getattr(self, "_do_" + handler)(kind, event, out)

    def _base(self) -> Mode:
        """The mode beneath the innermost overlay."""
        return self.overlays[-2] if len(self.overlays) > 1 else self.place

    def _gate(self) -> bool:
        """At a place that only a heard answer may leave (or "stop"); see ``is_gate``."""
        return is_gate(self.place, self.overlays, self.cursor.here)

    def _do_wait(self, kind, event, out) -> list[ev.Action]:
        return out + self._waiting()

    def _do_ignore(self, kind, event, out) -> list[ev.Action]:
        return out + self._waiting()  # background talk during a hold or a pause

    def _do_beneath(self, kind, event, out) -> list[ev.Action]:
        """Paused: "stop", "skip" and "back" do what the place beneath allows, no more."""
        beneath = TRANSITIONS[self._base()][kind]
        if beneath == "refuse" or (beneath in ("skip_question", "back_question") and self._gate()):
            return self._do_refuse(kind, event, out)
        if beneath == "back_question" and self._answers_the_question(event):
            # "back" to "where does the pain reach?": its answer, not the command, also while
            # paused (only "go back" is the command there); it waits for "resume"
            out.append(ev.Say("We are paused. Say resume, and I'll ask the question again."))
            return out + self._waiting()
        self._leave_pause()
        return self._dispatch(beneath, kind, event, out)

    def _answers_the_question(self, event: ev.Event) -> str | None:
        """The answer of the question at the place that the words heard are (a command with
        the same words, "back" to "where does the pain reach?", is that answer), or None."""
        q = self.cursor.here
        if self.place is not Mode.ASKING or not isinstance(q, Question) or not isinstance(event, ev.Heard) \
                or not event.text:
            return None
        own = tuple(q.answers) or self.vocab.answers_for(q.context)
        return self.vocab.match(event.text, own) if event.intent not in own else None

    # ================================================================ program walking
    def _start_routine(self, routine_id: str, out: list[ev.Action]) -> None:
        """The routine, with the pain check-in before and after it (or resumed at a step)."""
        point = self.resume_point if self.resume_point and self.resume_point.routine == routine_id else None
        self.resume_point = None
        if self.checkins and not point:  # a resumed session keeps the check-in it started with
            self.cursor.append(CHECK_IN_ROUTINE, self.tuning)
        start = len(self.program)
        self._top = (routine_id, self.cursor.append(routine_id, self.tuning))
        if self.checkins:
            self.cursor.append(CHECK_IN_ROUTINE, self.tuning)
        if point:
            self.preference = point.preference
            self.checks.keep_baseline(self._carried or point.baseline)
            self.positions.carry(point.hurt, point.worse)  # the same assessment, picked up
            self.pc = resume_at(point, self.program, start, self._top[1], out)

    def _run(self, out: list[ev.Action]) -> list[ev.Action]:
        """Execute instructions from pc until one needs to wait; return the actions."""
        self.place, self.overlays, self.failures = Mode.RUNNING, [], 0
        while True:
            if self.pc >= len(self.program):
                if self._load_next(out):
                    continue
                if self.place is Mode.MENU:
                    return out + self._waiting()
                return self._end(out, "done")
            instr = self.program[self.pc]
            if self.cursor.entered_block():
                out.append(self._show())
                out.extend(step_record(self._top, instr))
                if instr.block.exercise:
                    self.positions.entered(instr.block.routine, instr.block.exercise)
            if isinstance(instr, Speak):
                out.append(ev.Say(instr.text))
                self.pc += 1
            elif isinstance(instr, Marker):
                out.append(ev.Record("routine", {"routine": instr.routine}))
                self.pc += 1
            elif isinstance(instr, Jump):
                self.pc = instr.target
            elif isinstance(instr, SwitchPreference):
                self.pc = instr.cases.get(self.preference or "", instr.default)
            elif isinstance(instr, Finish):
                return self._safety_end(instr.text, instr.reason, out)
            elif isinstance(instr, Question):
                if self._rounds_used_up(instr):
                    reply = self._end_rounds(instr, out)
                    if reply is not None:
                        return reply
                    continue
                self.place = Mode.ASKING
                out.append(ev.Say(instr.prompt))
                return out + self._waiting()
            elif isinstance(instr, Hold):
                return self._start_hold(instr, instr.seconds, out, first=True)
            elif isinstance(instr, Interval):
                return self._start_wait(instr.seconds, out)

    def _load_next(self, out: list[ev.Action]) -> bool:
        """At the end of the program: append the routine asked for (True), or open the menu."""
        if self.program and self.program[0].block.routine == "" and not self.screened:
            self.screened = True
            if any(i.block.routine == SAFETY_ROUTINE for i in self.program):
                out.append(ev.Record("screen_passed", {}))
        if self.pending_routine:
            rid, self.pending_routine = self.pending_routine, None
            self._start_routine(rid, out)
            return True
        if not self.menu_done:
            self.menu_done = True
            self.place = Mode.MENU
            out.append(ev.Say(self._question()))
            if self.resume_point:
                out.append(ev.Say(f"Or say resume, to pick up the last session at {self.resume_point.title}."))
        return False

    # ---------------------------------------------------------------- skip, back
    def _do_skip_block(self, kind, event, out) -> list[ev.Action]:
        self._cut(out)
        out.append(ev.Say("Skipping."))
        return self._next_block(out)

    def _next_block(self, out) -> list[ev.Action]:
        """Go on after the block under way (skipped, or cut short by a stop)."""
        self.timer.clear()
        self.cursor.past_block()
        return self._run(out)

    def _do_back_question(self, kind, event, out) -> list[ev.Action]:
        """"Back" at a question: refused where the answer chooses the way on (a gate is left
        only by its answer, or "stop"); a check-in goes back to the step before."""
        if self._gate():
            return self._do_refuse(kind, event, out)
        return self._do_back(kind, event, out)

    def _do_back(self, kind, event, out) -> list[ev.Action]:
        self._cut(out)
        self.cursor.back()
        self.checks.went_back()
        out.append(ev.Say("Going back."))
        return self._run(out)
