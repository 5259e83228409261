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

Modes. The coach is at a *place* in the program: the menu, a question, a hold, a wait
(getting into position, a rest, a paced repetition). Two modes sit *over* the place
without replacing it: PAUSED and CONFIRM_STOP ("Do you want to go on?"), kept on a small
stack. Leaving them returns to exactly that place. What every input does in every mode
is in one table, ``TRANSITIONS``; the handlers it names are the only code that moves.

Safety rules live here: a *gate* (the menu, the stop confirmation, a question whose answer
chooses the way on, which every safety question does) is left only by a heard answer to
it, or by "stop" ending the session: "skip" and "back" are refused there, and an overlay
never allows more than the place beneath it. An answer that selects a branch is never
guessed (re-ask once, then pause); "stop", "pain" and "worse" end a hold at once and ask
whether to go on. The assessment repeats at most ``MAX_ROUNDS`` times a session.
"""

from __future__ import annotations

import enum
from typing import Callable, Sequence

from voicecoach.core import events as ev
from voicecoach.core.adjustments import Adjustments, seconds_words
from voicecoach.core.checkins import CHECK_IN_ROUTINE, CheckIns, is_check, trend_advice
from voicecoach.core.holds import HoldState
from voicecoach.core.positions import PositionTests, position_of
from voicecoach.content.loader import Library
from voicecoach.core.program import (Block, Choice, Compiler, Finish, Hold, Instruction, Interval, Jump, Marker, Question, Speak,
                      SwitchPreference, Tuning, remaining_seconds)
from voicecoach.core.resume import BLOCKS_PER_ROUTINE, ResumePoint, resume_at, retest_advice, step_record  # noqa: F401 (cli, store)
from voicecoach.core.safety import SafetyStop, follow_up
from voicecoach.content.vocabulary import START_PREFIX, Vocabulary

DISCLAIMER = ("I am an exercise coach, not a doctor. Move gently, and never push into sharp pain. "
              "Say stop, or pain, at any time.")
SAFETY_ROUTINE = "safety-screen"
MAX_FAILED_ANSWERS = 2  # silences or misunderstandings before the coach pauses
MAX_ROUNDS = 2  # times a question that loops back (the assessment's "try again") may start a round
GO_ON = "Do you want to go on with the session?"
TALKED_OVER = "Sorry, please say it again."
MY_ROUTINE_PHRASE = "my routine"  # the menu's short re-ask offers these first, if they exist
LIKELY_ROUTINES = ("assessment", "hip stretches", "nerve glides")
ROUNDS_DONE = "We have tried the positions twice today. That is enough for one session."
WORSE_ADVICE = ("A position made your leg worse today. Please talk to a doctor or physiotherapist "
                "before you try these positions again.")


class Mode(enum.Enum):
    RUNNING = "running"            # between places: executing instructions
    ASKING = "asking"              # a question of the program
    HOLDING = "holding"            # a timed hold
    WAITING = "waiting"            # getting into position, a rest, a paced repetition
    MENU = "menu"                  # which routine?
    CUT = "cut"                    # beneath a stop confirmation: the exercise under way was ended
    PAUSED = "paused"              # overlay: until "resume"
    CONFIRM_STOP = "confirm_stop"  # overlay: "Do you want to go on?"
    ENDED = "ended"


ADJUSTMENTS = ("longer", "shorter", "slower", "faster")
COMMANDS = ("stop", "pause", "resume", "skip", "back", "repeat", "help", "time_left")

# What every input does in every mode: the handler ``_do_<name>`` it runs. Inputs: an
# "answer" this place takes (a start word at the menu, an answer of the question, yes/no
# to "go on?"), the commands, "pain" (pain, or "worse" where it is not an answer),
# "adjust" (longer/shorter/slower/faster), "no_answer" (silence, not understood, an intent
# this mode does not take), "talked_over" (an answer begun while the coach talked, dropped),
# "input_ended" (typed answers ran out: nobody is left to answer), "tick" (time passed). "refuse" keeps a gate closed; while
# paused, "beneath" lets the place under the pause decide, so a pause never opens a gate.
_TABLE = """
input      MENU         ASKING         HOLDING       WAITING       CONFIRM_STOP    PAUSED
answer     start        answer         ignore        ignore        confirm_answer  ignore
stop       end_stopped  confirm_stop   confirm_stop  confirm_stop  end_stopped     beneath
pain       end_stopped  confirm_stop   confirm_stop  confirm_stop  confirm_again   beneath
pause      pause        pause          pause         pause         pause           wait
resume     wait         wait           wait          wait          wait            resume
skip       refuse       skip_question  skip_block    skip_block    refuse          beneath
back       refuse       back           back          back          refuse          beneath
repeat     repeat       repeat         repeat        repeat        repeat          repeat
help       help         help           help          help          help            help
time_left  time_left    time_left      time_left     time_left     time_left       time_left
adjust     adjust       adjust         adjust        adjust        adjust          adjust
no_answer  ask_again    ask_again      ignore        ignore        ask_again       ignore
talked_over talked_over talked_over    talked_over   talked_over   talked_over     talked_over
input_ended input_ended input_ended    input_ended   input_ended   input_ended     input_ended
tick       wait         wait           hold_tick     wait_tick     wait            wait
"""


def _transitions(table: str) -> dict[Mode, dict[str, str]]:
    header, *rows = [line.split() for line in table.strip().splitlines()]
    modes = [Mode[name] for name in header[1:]]
    return {mode: {row[0]: row[1 + i] for row in rows} for i, mode in enumerate(modes)}


TRANSITIONS = _transitions(_TABLE)  # mode -> input -> handler name
INPUTS = tuple(line.split()[0] for line in _TABLE.strip().splitlines()[1:])


class Coach:
    """Walks the program; see the module docstring for the protocol."""

    def __init__(self, library: Library, vocabulary: Vocabulary, clock: Callable[[], float], *,
                 routine: str | None = None, screen: bool = False, tuning: Tuning | None = None,
                 silence_timeout_s: float = 8.0, disclaimer: bool = True, checkins: bool = False,
                 notices: Sequence[str] = (), resume: ResumePoint | None = None, resume_now: bool = False,
                 safety_stop: SafetyStop | None = None, history_stop: tuple[str, str] | None = None):
        self.library = library
        self.vocab = vocabulary.with_routines(library.spoken_names())
        self.now = clock
        self.adjust = Adjustments(library, tuning)
        self.checks = CheckIns(self.vocab)
        self.silence_timeout_s = silence_timeout_s
        self.program: list[Instruction] = []
        self.pc = 0
        self.place = Mode.RUNNING
        self.overlays: list[Mode] = []  # PAUSED / CONFIRM_STOP over the place, innermost first
        self.preference: str | None = None
        self.pending_routine = routine
        self.menu_done = routine is not None
        self.failures = 0
        self.hold: HoldState | None = None
        self.wait_until: float | None = None
        self.suspended: tuple[float, float] | None = None  # paused hold/wait: (seconds left, seconds held)
        self.stop_cause = ""
        self.history: list[int] = []  # block start pcs visited, for "back"
        self.rounds: dict[str, int] = {}  # question id -> rounds it started again (looped back)
        self.worse_in: set[str] = set()  # routines in which a rating was "worse" this session
        self.positions = PositionTests()  # which test positions were held to the end, which hurt
        self._blocks = 0
        self.checkins = checkins and CHECK_IN_ROUTINE in library.routines
        self.resume_point = resume if resume and resume.routine in library.routines else None
        if self.resume_point and resume_now:
            self.pending_routine, self.menu_done = self.resume_point.routine, True
        self._top: tuple[str, int] | None = None  # routine being run, and its first block index - 1
        self._carried = dict(resume.baseline) if resume and resume.baseline else {}
        if self._carried:  # a check-in is a measurement whether or not its session finished
            self.checks.keep_baseline(self._carried)
        welcome = Block(0, "", "Welcome")
        intro: list[Instruction] = []
        if safety_stop:  # named and asked about first, before any advice; if cleared, the screen again
            intro += follow_up(safety_stop, welcome)
            screen = True
        elif history_stop:  # pain rose since the last assessment: the trend rule, across sessions
            warning, reason = history_stop
            intro.append(Finish(trend_advice(warning), welcome, reason=reason))
        if disclaimer:
            intro.insert(0, Speak(DISCLAIMER, welcome))  # what the coach is, then the remembered stop
        for notice in notices:
            intro.append(Speak(notice, welcome))
        self.program = intro
        if screen and SAFETY_ROUTINE in library.routines:
            self._append(SAFETY_ROUTINE)
        self.screened = False

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

    def start(self) -> list[ev.Action]:
        # the baseline carried from an interrupted session is kept in this one's history too, so
        # that a series of interrupted sessions keeps measuring from its first check-in
        return self._run([ev.Record("baseline", self._carried)] if self._carried else [])

    def handle(self, event: ev.Event) -> list[ev.Action]:
        if self.place is Mode.ENDED:
            return [ev.End("done")]
        kind = self._input(event)
        handler = getattr(self, "_do_" + TRANSITIONS[self.mode][kind])
        return handler(kind, event, [])

    @property
    def current_block(self) -> Block | None:
        if 0 <= self.pc < len(self.program):
            return self.program[self.pc].block
        return None

    def seconds_left(self) -> float:
        """Estimated seconds left in the session (s)."""
        extra = self.hold.left(self.now()) if self.hold else 0.0
        start = self.pc + 1 if self.hold else self.pc
        return extra + remaining_seconds(self.program, start, self.preference)

    # ================================================================ inputs
    def _input(self, event: ev.Event) -> str:
        """Which row of the transition table an event is, in the current mode."""
        if isinstance(event, ev.Tick):
            return "tick"
        if isinstance(event, ev.TalkedOver):
            return "talked_over"
        if isinstance(event, ev.InputEnded):
            return "input_ended"
        if not isinstance(event, ev.Heard):
            return "no_answer"
        intent, mode = event.intent, self.mode
        if mode is Mode.MENU and (intent.startswith(START_PREFIX) or (intent == "resume" and self.resume_point)):
            return "answer"
        if mode is Mode.ASKING:
            q = self.program[self.pc]
            if intent in q.answers or self.checks.takes(q, intent):
                return "answer"
        if mode is Mode.CONFIRM_STOP and intent in ("yes", "no"):
            return "answer"
        if intent in ("pain", "worse"):  # "worse" where it is not an answer means pain
            return "pain"
        if intent in ADJUSTMENTS:
            return "adjust"
        return intent if intent in COMMANDS else "no_answer"

    def _base(self) -> Mode:
        """The mode beneath the innermost overlay."""
        return self.overlays[-2] if len(self.overlays) > 1 else self.place

    def _gate(self) -> bool:
        """At a place that only a heard answer may leave (or "stop")."""
        if self.place is Mode.MENU or Mode.CONFIRM_STOP in self.overlays:
            return True
        return self.place is Mode.ASKING and bool(self.program[self.pc].answers)

    # ================================================================ program walking
    def _start_routine(self, routine_id: str, out: list[ev.Action]) -> None:
        """The routine, with the pain check-in before and after it (or resumed at a step)."""
        point = self.resume_point if self.resume_point and self.resume_point.routine == routine_id else None
        self.resume_point = None
        if self.checkins and not point:  # a resumed session keeps the check-in it started with
            self._append(CHECK_IN_ROUTINE)
        self._top = (routine_id, self._blocks + BLOCKS_PER_ROUTINE)
        start = len(self.program)
        self._append(routine_id)
        if self.checkins:
            self._append(CHECK_IN_ROUTINE)
        if point:
            self.preference = point.preference
            self.checks.keep_baseline(point.baseline)
            self.pc = resume_at(point, self.program, start, self._top[1], out)

    def _append(self, routine_id: str) -> None:
        compiler = Compiler(self.library, self.tuning)
        code = compiler.compile(routine_id, offset=len(self.program), first_block=self._blocks + BLOCKS_PER_ROUTINE)
        self._blocks += BLOCKS_PER_ROUTINE
        self.program.extend(code)

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
            if self._note_block():
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
                self.place = Mode.WAITING
                self.wait_until = self.now() + instr.seconds
                out.append(self._show())
                return out + self._waiting()

    def _load_next(self, out: list[ev.Action]) -> bool:
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
            out.append(ev.Say("Which routine would you like? You can say " + self._options() + "."))
            if self.resume_point:
                out.append(ev.Say(f"Or say resume, to pick up the last session at {self.resume_point.title}."))
        return False

    def _note_block(self) -> bool:
        """Remember where a new block starts (for "back"); True if this is one."""
        block = self.program[self.pc].block
        if block and (not self.history or self.program[self.history[-1]].block != block):
            start = self.pc
            while start > 0 and self.program[start - 1].block == block:
                start -= 1
            self.history.append(start)
            return True
        return False

    def _end(self, out: list[ev.Action], reason: str) -> list[ev.Action]:
        self.place, self.overlays = Mode.ENDED, []
        self.hold = self.wait_until = self.suspended = None
        out.append(ev.Record("end", {"reason": reason}))
        out.append(ev.End(reason))
        return out

    def _safety_end(self, advice: str, reason: str | None, out: list[ev.Action]) -> list[ev.Action]:
        """End with advice; the reason is kept, to be named at the next session."""
        out.append(ev.Say(advice))
        out.append(ev.Record("safety_stop", {"advice": advice, "reason": reason or ""}))
        return self._end(out, "safety")

    # ---------------------------------------------------------------- rounds of trials
    def _loops(self, q: Question) -> bool:
        return any(c.loop for c in q.answers.values())

    def _rounds_used_up(self, q: Question) -> bool:
        return self._loops(q) and self.rounds.get(q.qid, 0) >= MAX_ROUNDS - 1

    def _end_rounds(self, q: Question, out: list[ev.Action]) -> list[ev.Action] | None:
        """Enough rounds: go on as the answer that does not loop back would, without asking
        (a stop if that is the only other way; past the question if every answer loops)."""
        ways = [c for c in q.answers.values() if not c.loop]
        choice = next((c for c in ways if not c.stop), ways[0] if ways else Choice())
        out.append(ev.Say(ROUNDS_DONE))
        out.append(ev.Record("rounds_ended", {"question": q.qid, "rounds": MAX_ROUNDS,
                                              "worse": q.block.routine in self.worse_in}))
        return self._take(q, choice, out)

    # ================================================================ holds and time
    def _start_hold(self, instr: Hold, seconds: float, out, first: bool) -> list[ev.Action]:
        self.hold = HoldState.begin(self.now(), seconds, instr.seconds)
        self.place = Mode.HOLDING
        out.append(self._show())
        if first:
            lead = "Hold" if instr.rep == 1 else f"Number {instr.rep} of {instr.reps}. Hold"
            out.append(ev.Cue("start"))
            out.append(ev.Say(f"{lead} for {seconds_words(seconds)}."))
        return out + self._waiting()

    def _finish_hold(self, out) -> list[ev.Action]:
        instr = self.program[self.pc]
        if instr.rep == instr.reps:  # the position was held to the end: a test of its direction
            self.positions.held(instr.block.routine, instr.block.exercise)
        out.append(ev.Cue("end"))
        out.append(ev.Say(instr.release))
        out.append(self._hold_record(completed=True))
        self.hold = self.suspended = None
        self.pc += 1
        return self._run(out)

    def _hold_record(self, completed: bool) -> ev.Record:
        instr = self.program[self.pc]
        if self.hold:
            held = self.hold.held(self.now())
        else:  # paused: what was held before the pause
            held = self.suspended[1] if self.suspended else 0.0
        if completed:
            held = instr.seconds
        return ev.Record("hold", {"exercise": instr.block.exercise, "side": instr.block.side,
                                  "rep": instr.rep, "planned_s": instr.seconds,
                                  "held_s": round(held, 1), "completed": completed})

    def _cut(self, out) -> None:
        """End the hold or wait under way (paused or not) without finishing it."""
        if self.place is Mode.HOLDING and (self.hold or self.suspended):
            out.append(self._hold_record(completed=False))
        self.hold = self.wait_until = self.suspended = None

    # ================================================================ what we wait for
    def _waiting(self) -> list[ev.Action]:
        mode = self.mode
        if mode is Mode.ASKING:
            q = self.program[self.pc]
            return [ev.Listen(self.vocab.intents_for(q.context), q.context, self.silence_timeout_s)]
        if mode is Mode.CONFIRM_STOP:
            return [ev.Listen(self.vocab.intents_for("yesno"), "yesno", self.silence_timeout_s)]
        if mode is Mode.MENU:
            return [ev.Listen(self.vocab.intents_for("menu"), "menu", self.silence_timeout_s)]
        if mode is Mode.HOLDING and self.hold:
            return [ev.Wait(self.hold.next_wake()), ev.Listen(self.vocab.intents_for("exercise"), "exercise", None)]
        if mode is Mode.WAITING and self.wait_until is not None:
            return [ev.Wait(self.wait_until), ev.Listen(self.vocab.intents_for("exercise"), "exercise", None)]
        if mode is Mode.PAUSED:
            return [ev.Listen(tuple(self.vocab.commands), "exercise", None)]
        return []

    def _menu_phrases(self) -> set[str]:
        """Every routine name and alias the menu takes (issue 13: for the short re-ask)."""
        return {n for r in self.library.routines.values() for n in (r.name, *r.aliases)}

    def _menu_intents(self) -> list[str]:
        return [i for i in self.vocab.intents_for("menu") if i.startswith(START_PREFIX)]

    def _show(self, paused: bool = False) -> ev.Show:
        block = self.current_block
        instr = self.program[self.pc] if 0 <= self.pc < len(self.program) else None
        rep = (instr.rep, instr.reps) if isinstance(instr, Hold) else (None, None)
        ends = self.hold.ends_at if self.hold else self.wait_until
        length = (self.hold.ends_at - self.hold.started_at if self.hold
                  else instr.seconds if isinstance(instr, Interval) and ends is not None else None)
        return ev.Show(block.routine if block else "", block.title if block else "",
                       block.side if block else None, rep[0], rep[1], ends, length, paused)

    def _options(self, short: bool = False) -> str:
        """What to say now; ``short``: at the menu, the likely few and "help" (all seven
        routine names take 10-12 s to say, too long for a re-ask)."""
        mode = self._base() if self.mode is Mode.PAUSED else self.mode
        if mode is Mode.MENU:
            names = [self.vocab.example(i) for i in self._menu_intents()]
            if short and len(names) > 3:
                known = {n for r in self.library.routines.values() for n in (r.name, *r.aliases)}
                likely = [n for n in (MY_ROUTINE_PHRASE, *LIKELY_ROUTINES) if n in known]
                return ", ".join(likely[:3]) + ", or say help"
            return _spoken_list(names)
        if mode is Mode.CONFIRM_STOP:
            return "yes or no"
        q = self.program[self.pc]
        if is_check(q):
            return self.checks.options(q)
        return self.vocab.describe(q.answers)

    def _ask(self, out) -> list[ev.Action]:
        """Say the question of the mode we are in again."""
        mode = self.mode
        if mode is Mode.ASKING:
            out.append(ev.Say(self.program[self.pc].prompt))
        elif mode is Mode.CONFIRM_STOP:
            out.append(ev.Say(GO_ON))
        elif mode is Mode.MENU:
            out.append(ev.Say(f"Which routine would you like? You can say {self._options()}."))
        return out + self._waiting()

    # ================================================================ handlers (see TRANSITIONS)
    def _do_wait(self, kind, event, out) -> list[ev.Action]:
        return out + self._waiting()

    def _do_ignore(self, kind, event, out) -> list[ev.Action]:
        return out + self._waiting()  # background talk during a hold or a pause

    def _do_refuse(self, kind, event, out) -> list[ev.Action]:
        if self.mode is Mode.PAUSED:
            out.append(ev.Say("I need an answer to this question first. Say resume, and I'll ask it again."))
        else:
            out.append(ev.Say(f"I need an answer to go on. Please say {self._options()}."))
        return out + self._waiting()

    def _do_beneath(self, kind, event, out) -> list[ev.Action]:
        """Paused: "stop", "skip" and "back" do what the place beneath allows, no more."""
        beneath = TRANSITIONS[self._base()][kind]
        if beneath == "refuse" or (beneath == "skip_question" and self._gate()):
            return self._do_refuse(kind, event, out)
        self._leave_pause()
        return getattr(self, "_do_" + beneath)(kind, event, out)

    def _leave_pause(self) -> None:
        self.overlays.pop()
        self.failures = 0

    # ---------------------------------------------------------------- answers
    def _do_start(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        out.append(ev.Record("answer", {"question": "menu", "intent": event.intent, "text": event.text}))
        if event.intent == "resume":
            self._start_routine(self.resume_point.routine, out)
        else:
            self.resume_point = None  # a fresh start; only "resume" picks up the old session
            self._start_routine(event.intent[len(START_PREFIX):], out)
        return self._run(out)

    def _do_answer(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        q = self.program[self.pc]
        if is_check(q):
            return self._check_answer(q, event.intent, event.text, out)
        counted, note = self.positions.counts_as(q, event.intent)
        record = {"question": q.qid, "prompt": q.prompt, "intent": event.intent, "text": event.text}
        if q.tests:  # the history keeps what the rating meant, for "my routine" (no direction found worse)
            record.update(position=q.tests, direction=q.direction(), counted=counted)
        out.append(ev.Record("answer", record))
        if note:
            out.append(ev.Say(note))
        self.positions.rated(q, counted)
        if q.context == "rating" and counted == "worse":
            self.worse_in.add(q.block.routine)
        return self._take(q, q.answers[counted], out) or self._run(out)

    def _take(self, q: Question, choice, out) -> list[ev.Action] | None:
        """Follow an answer's branch: the reply if it ends the session, else None with the
        pc moved to where the branch goes on."""
        if choice.say:
            out.append(ev.Say(choice.say))
        if self._loops(q) and not choice.loop and not choice.stop and q.block.routine in self.worse_in:
            out.append(ev.Say(WORSE_ADVICE))
        if choice.clears:
            out.append(ev.Record("safety_cleared", {}))
        if choice.result:
            self.preference = choice.result
            out.append(ev.Record("result", {"preference": choice.result}))
        if choice.stop:
            return self._safety_end(choice.stop, choice.reason, out)
        if choice.loop:
            self.rounds[q.qid] = self.rounds.get(q.qid, 0) + 1
        self.pc = choice.target if choice.target is not None else self.pc + 1
        return None

    def _check_answer(self, q: Question, intent: str, text: str, out) -> list[ev.Action]:
        """Record a check-in; stop if the pain spread down the leg or rose by 3 or more."""
        trend = self.checks.answer(q, intent, text, out)
        where = position_of(self.program, self.pc)
        if where and intent == "moved:down":  # spreading down the leg: evidence against that position
            self.positions.hurts(where[0], where[1], moved_down=True)
        if trend:
            warning, reason = trend
            advice = trend_advice(warning)
            out.append(ev.Say(advice))
            out.append(ev.Record("trend_stop", {"reason": reason, "warning": warning, "advice": advice}))
            return self._end(out, "safety")
        self.pc += 1
        return self._run(out)

    def _do_ask_again(self, kind, event, out) -> list[ev.Action]:
        self.failures += 1
        if self.failures >= MAX_FAILED_ANSWERS:
            out.append(ev.Say("I'll pause here. Say resume when you're ready."))
            return self._pause(out, announce=False)
        options = self._options(short=True)
        if isinstance(event, ev.Silence):
            out.append(ev.Say(f"I didn't hear an answer. Please say {options}."))
        else:
            out.append(ev.Say(f"Sorry, I didn't catch that. Please say {options}."))
        return out + self._waiting()

    def _do_talked_over(self, kind, event, out) -> list[ev.Action]:
        """An answer begun while the coach talked was dropped: say so at once (not after the
        silence timeout), and briefly: a long re-ask would draw the answer said again onto
        itself. It is not a failed answer: the person did answer."""
        out.append(ev.Say(TALKED_OVER))
        return out + self._waiting()

    def _do_input_ended(self, kind, event, out) -> list[ev.Action]:
        """Typed answers ran out: nobody is left to answer "do you want to go on?"."""
        self.stop_cause = "stop"
        return self._do_end_stopped(kind, event, out)

    # ---------------------------------------------------------------- stop, pain
    def _do_confirm_stop(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        """End the hold or wait at once (the place is kept if it is a question) and ask
        whether to go on."""
        in_position = self.place in (Mode.HOLDING, Mode.WAITING)
        where = position_of(self.program, self.pc) if in_position else None
        if where and event.intent in ("pain", "worse"):  # pain in a test position: evidence against it
            self.positions.hurts(where[0], where[1])
        if in_position:
            self._cut(out)
            self.place = Mode.CUT  # the exercise that was stopped is not picked up again
        self.stop_cause = event.intent
        self.overlays.append(Mode.CONFIRM_STOP)
        self.failures = 0
        if event.intent == "stop":
            out.append(ev.Say("Stopping. Relax."))
        else:
            out.append(ev.Say("Stop there. Ease out of the position slowly, and relax." if in_position
                              else "Okay, we'll stop for a moment. Relax."))
            out.append(ev.Record("pain", {"intent": event.intent}))
        out.append(ev.Say(GO_ON))
        return out + self._waiting()

    def _do_confirm_again(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        """Pain while asking whether to go on: noted, and the same question again."""
        self.stop_cause = event.intent
        where = position_of(self.program, self.pc) if self.place is Mode.CUT else None
        if where:  # still about the position that was just cut short
            self.positions.hurts(where[0], where[1])
        self.failures = 0
        out.append(ev.Say("Okay. Relax, and take your time."))
        out.append(ev.Record("pain", {"intent": event.intent}))
        out.append(ev.Say(GO_ON))
        return out + self._waiting()

    def _do_confirm_answer(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        if event.intent == "no":
            return self._do_end_stopped(kind, event, out)
        out.append(ev.Say("Okay, let's go on."))
        self.overlays.pop()
        self.failures = 0
        if self.place is Mode.CUT:
            return self._jump_to_next_block(out)
        return self._ask(out)  # back at the question (or menu) where the person was

    def _do_end_stopped(self, kind, event, out) -> list[ev.Action]:
        if isinstance(event, ev.Heard) and event.intent in ("pain", "worse"):
            self.stop_cause = event.intent
        if self.stop_cause in ("pain", "worse"):
            out.append(ev.Say("Okay, we'll stop here. Rest now. If the pain is severe, or spreads down "
                              "your leg, please contact a doctor or physiotherapist."))
        else:
            out.append(ev.Say("Okay, we'll stop here. Well done."))
        self._cut(out)
        return self._end(out, "stopped")

    # ---------------------------------------------------------------- pause, resume
    def _do_pause(self, kind, event, out) -> list[ev.Action]:
        return self._pause(out)

    def _pause(self, out, announce: bool = True) -> list[ev.Action]:
        if self.mode is Mode.PAUSED:
            return out + self._waiting()
        if self.hold:
            self.suspended = (self.hold.left(self.now()), self.hold.held(self.now()))
            self.hold = None
        elif self.wait_until is not None:
            self.suspended = (max(0.0, self.wait_until - self.now()), 0.0)
            self.wait_until = None
        self.overlays.append(Mode.PAUSED)
        if announce:
            out.append(ev.Say("Paused. Say resume when you're ready."))
        out.append(self._show(paused=True))
        out.append(ev.Record("pause", {}))
        return out + self._waiting()

    def _do_resume(self, kind, event, out) -> list[ev.Action]:
        self._leave_pause()
        if self.overlays:  # the stop confirmation beneath the pause
            return self._ask(out)
        left = self.suspended[0] if self.suspended else 0.0
        if self.place is Mode.HOLDING:
            instr = self.program[self.pc]
            if round(left) < 1:  # less than a second to go: the hold is done
                out.append(ev.Say("Resuming."))
                return self._finish_hold(out)
            out.append(ev.Say(f"Resuming. Back into position. Hold for {seconds_words(left)} more."))
            self.suspended = None
            return self._start_hold(instr, round(left), out, first=False)
        if self.place is Mode.WAITING:
            self.wait_until = self.now() + left
            self.suspended = None
            out.append(ev.Say("Resuming."))
            return out + self._waiting()
        return self._ask(out)

    # ---------------------------------------------------------------- skip, back
    def _do_skip_question(self, kind, event, out) -> list[ev.Action]:
        q = self.program[self.pc]
        if not is_check(q):  # an answer that picks the way on cannot be skipped: never guess it
            return self._do_refuse(kind, event, out)
        self.checks.skip(q, out)
        self.pc += 1
        return self._run(out)

    def _do_skip_block(self, kind, event, out) -> list[ev.Action]:
        self._cut(out)
        out.append(ev.Say("Skipping."))
        return self._jump_to_next_block(out)

    def _jump_to_next_block(self, out) -> list[ev.Action]:
        block = self.current_block
        self.hold = self.wait_until = self.suspended = None
        pc = self.pc
        while pc < len(self.program) and self.program[pc].block == block:
            pc += 1
        self.pc = pc
        return self._run(out)

    def _do_back(self, kind, event, out) -> list[ev.Action]:
        self._cut(out)
        # history ends with the current block; go to the one before it
        current = self.history.pop() if self.history else self.pc
        target = self.history.pop() if self.history else current
        where = position_of(self.program, target)
        if where and where[2] < target:
            # Back onto a question about a position (its movement check, its rating): the
            # person may be in another position by now, so guide them into this one again
            # rather than ask how it felt.
            target = where[2]
            while self.history and self.history[-1] >= target:
                self.history.pop()
        self.pc = target
        out.append(ev.Say("Going back."))
        return self._run(out)

    # ---------------------------------------------------------------- time passing
    def _do_hold_tick(self, kind, event, out) -> list[ev.Action]:
        now = self.now()
        mark = self.hold.due(now)
        if self.hold.over(now):
            return self._finish_hold(out)
        if mark:
            out.append(ev.Say(mark))
        return out + self._waiting()

    def _do_wait_tick(self, kind, event, out) -> list[ev.Action]:
        if self.now() + 1e-6 >= self.wait_until:
            self.wait_until = None
            self.pc += 1
            return self._run(out)
        return out + self._waiting()

    # ---------------------------------------------------------------- saying things
    def _do_repeat(self, kind, event, out) -> list[ev.Action]:
        mode = self.mode
        if mode is Mode.ASKING:
            out.append(ev.Say(self.program[self.pc].prompt))
        elif mode is Mode.CONFIRM_STOP:
            out.append(ev.Say(GO_ON))
        elif mode is Mode.MENU:
            out.append(ev.Say(f"You can say {self._options()}."))
        elif mode is Mode.PAUSED:
            out.append(ev.Say("We are paused. Say resume when you're ready."))
        else:
            block = self.current_block
            said = [i.text for i in self.program if isinstance(i, Speak) and i.block == block]
            out.append(ev.Say(said[-1] if said and len(said) < 3 else (said[0] if said else "Keep going.")))
        return out + self._waiting()

    def _do_time_left(self, kind, event, out) -> list[ev.Action]:
        total = self.seconds_left()
        parts = []
        if self.hold:
            parts.append(f"{seconds_words(max(1, round(self.hold.left(self.now()))))} left in this hold.")
        minutes = round(total / 60)
        parts.append(f"About {minutes} minute{'s' if minutes != 1 else ''} left in this session." if minutes
                     else "Less than a minute left in this session.")
        out.append(ev.Say(" ".join(parts)))
        return out + self._waiting()

    def _do_help(self, kind, event, out) -> list[ev.Action]:
        mode = self.mode
        text = "You can say pause, resume, repeat, skip, back, stop, or how long left."
        if mode in (Mode.HOLDING, Mode.WAITING):
            text += " And slower, faster, longer, or shorter."
        if mode in (Mode.ASKING, Mode.CONFIRM_STOP, Mode.MENU):
            text = f"To answer, say {self._options()}. " + text
        out.append(ev.Say(text))
        return out + self._waiting()

    def _do_adjust(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        block = self.current_block if self.mode in (Mode.HOLDING, Mode.WAITING) else None
        self.adjust.adjust(event.intent, block, self.program[self.pc + 1:], out)
        return out + self._waiting()


def _spoken_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]

