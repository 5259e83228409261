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

Safety rules live here: an answer that selects a branch is never guessed (re-ask once,
then pause); "stop", "pain" and "worse" end a hold at once and ask whether to go on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from . import events as ev
from .loader import Library
from .program import (Block, Compiler, Finish, Hold, Instruction, Interval, Jump, Marker, Question, Speak,
                      SwitchPreference, Tuning, remaining_seconds)
from .vocabulary import START_PREFIX, Vocabulary

DISCLAIMER = ("I am an exercise coach, not a doctor. Move gently, and never push into sharp pain. "
              "Say stop, or pain, at any time.")
SAFETY_ROUTINE = "safety-screen"
CHECK_IN_ROUTINE = "check-in"
CHECK_CONTEXTS = ("pain", "location", "movement")
SCORE_RISE_LIMIT = 3  # points on the 0-10 scale since the start of the session
MAX_FAILED_ANSWERS = 2  # silences or misunderstandings before the coach pauses
TALKED_OVER = "Sorry, please say it again."  # issue 13: after speech dropped because the coach was talking
MY_ROUTINE_PHRASE = "my routine"  # issue 13: the menu's re-ask offers these first, if they exist
LIKELY_ROUTINES = ("assessment", "hip stretches", "nerve glides")
HOLD_STEP_S = 5.0  # "longer"/"shorter" change the hold by this much (s)
TEMPO_STEP = 1.25  # "slower"/"faster" multiply/divide a paced repetition's length by this


class Mode(enum.Enum):
    RUNNING = "running"
    ASKING = "asking"
    HOLDING = "holding"
    WAITING = "waiting"
    PAUSED = "paused"
    CONFIRM_STOP = "confirm_stop"
    MENU = "menu"
    ENDED = "ended"


@dataclass
class HoldState:
    ends_at: float
    marks: list[tuple[float, str]]
    started_at: float
    planned_s: float


@dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted session stopped: enough to pick it up at that step."""

    routine: str                  # id of the routine the session was running
    block: int                    # the step: blocks counted from the routine's start
    title: str                    # what the step is called ("Figure-4 stretch, left side")
    preference: str | None = None   # directional preference found before it stopped
    baseline: Mapping[str, str] = field(default_factory=dict)  # first check-in answers: kind -> value
    session: int | None = None    # the interrupted session's id (for the history)


class Coach:
    """Walks the program; see the module docstring for the protocol."""

    def __init__(self, library: Library, vocabulary: Vocabulary, clock: Callable[[], float], *,
                 routine: str | None = None, screen: bool = False, tuning: Tuning | None = None,
                 silence_timeout_s: float = 8.0, disclaimer: bool = True, checkins: bool = False,
                 notices: Sequence[str] = (), resume: ResumePoint | None = None, resume_now: bool = False):
        self.library = library
        self.vocab = vocabulary.with_routines(library.spoken_names())
        self.now = clock
        tuning = tuning or Tuning()
        # copies: spoken adjustments change them for routines compiled later in the session
        self.tuning = Tuning(dict(tuning.hold_s), dict(tuning.reps), dict(tuning.tempo_s))
        #: settings changed by voice this session: "exercise.<routine>.<exercise>.<hold|tempo>" -> value
        self.adjustments: dict[str, float] = {}
        self.silence_timeout_s = silence_timeout_s
        self.program: list[Instruction] = []
        self.pc = 0
        self.mode = Mode.RUNNING
        self.preference: str | None = None
        self.pending_routine = routine
        self.menu_done = routine is not None
        self.failures = 0
        self.hold: HoldState | None = None
        self.wait_until: float | None = None
        self.paused_from: Mode | None = None
        self.paused_remaining = 0.0
        self.stop_cause = ""
        self.resume_mode = Mode.RUNNING
        self.history: list[int] = []  # block start pcs visited, for "back"
        self._blocks = 0
        self.checkins = checkins and CHECK_IN_ROUTINE in library.routines
        self.baseline: dict[str, int] = {}  # first pain score and location index of the session
        self.resume_point = resume if resume and resume.routine in library.routines else None
        if self.resume_point and resume_now:
            self.pending_routine, self.menu_done = self.resume_point.routine, True
        self._top: tuple[str, int] | None = None  # routine being run, and its first block index - 1
        intro: list[Instruction] = []
        if disclaimer:
            intro.append(Speak(DISCLAIMER, Block(0, "", "Welcome")))
        for notice in notices:
            intro.append(Speak(notice, Block(0, "", "Welcome")))
        self.program = intro
        if screen and SAFETY_ROUTINE in library.routines:
            self._append(SAFETY_ROUTINE)
        self.screened = False

    # ================================================================ public API
    def start(self) -> list[ev.Action]:
        return self._run([])

    def handle(self, event: ev.Event) -> list[ev.Action]:
        if self.mode is Mode.ENDED:
            return [ev.End("done")]
        out: list[ev.Action] = []
        # --- issue 13 (feedback when not heard; end of typed input): begin ---
        if isinstance(event, ev.InputEnded):  # nobody is left to answer "do you want to go on?"
            if self.hold:
                out.append(self._hold_record(completed=False))
                self.hold = None
            self.stop_cause = "stop"
            return self._stopped(out)
        if isinstance(event, ev.TalkedOver):  # an answer begun while the coach talked was dropped:
            # say so at once (not after the silence timeout); it is not a failed answer. Short, so
            # that the answer said again does not land on it too (the screen shows the options).
            out.append(ev.Say(TALKED_OVER))
            return out + self._waiting()
        # --- issue 13: end ---
        if isinstance(event, ev.Heard):
            return self._heard(event, out)
        if isinstance(event, (ev.NotUnderstood, ev.Silence)):
            return self._no_answer(event, out)
        return self._tick(out)

    @property
    def current_block(self) -> Block | None:
        if 0 <= self.pc < len(self.program):
            return self.program[self.pc].block
        return None

    def seconds_left(self) -> float:
        """Estimated seconds left in the session (s)."""
        extra = max(0.0, self.hold.ends_at - self.now()) if self.hold else 0.0
        start = self.pc + 1 if self.hold else self.pc
        return extra + remaining_seconds(self.program, start, self.preference)

    # ================================================================ program walking
    def _start_routine(self, routine_id: str, out: list[ev.Action]) -> None:
        """The routine, with the pain check-in before and after it (or resumed at a step)."""
        point = self.resume_point if self.resume_point and self.resume_point.routine == routine_id else None
        self.resume_point = None
        if self.checkins and not point:  # a resumed session keeps the check-in it started with
            self._append(CHECK_IN_ROUTINE)
        self._top = (routine_id, self._blocks + 1000)
        start = len(self.program)
        self._append(routine_id)
        if self.checkins:
            self._append(CHECK_IN_ROUTINE)
        if point:
            self._resume_at(point, start, out)

    def _resume_at(self, point: ResumePoint, start: int, out: list[ev.Action]) -> None:
        first_block = self._top[1] + point.block
        target = next((pc for pc in range(start, len(self.program))
                       if self.program[pc].block.index == first_block), start)
        self.preference = point.preference
        if point.baseline.get("pain") is not None:
            self.baseline["pain"] = int(point.baseline["pain"])
        order = [i.split(":", 1)[1] for i in self.vocab.answers_for("location")]
        if point.baseline.get("location") in order:
            self.baseline["location"] = order.index(point.baseline["location"])
        out.append(ev.Record("routine", {"routine": point.routine}))
        out.append(ev.Record("resumed", {"session": point.session, "block": point.block}))
        out.append(ev.Say(f"Welcome back. We'll pick up where we stopped: {point.title}."))
        self.pc = target

    def _append(self, routine_id: str) -> None:
        compiler = Compiler(self.library, self.tuning)
        code = compiler.compile(routine_id, offset=len(self.program), first_block=self._blocks + 1000)
        self._blocks += 1000
        self.program.extend(code)

    def _run(self, out: list[ev.Action]) -> list[ev.Action]:
        """Execute instructions from pc until one needs to wait; return the actions."""
        self.mode = Mode.RUNNING
        while True:
            if self.pc >= len(self.program):
                if self._load_next(out):
                    continue
                return self._end(out, "done")
            instr = self.program[self.pc]
            if self._note_block():
                out.append(self._show())
                out.extend(self._step_record())
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
                out.append(ev.Say(instr.text))
                out.append(ev.Record("safety_stop", {"advice": instr.text}))
                return self._end(out, "safety")
            elif isinstance(instr, Question):
                self.mode, self.failures = Mode.ASKING, 0
                out.append(ev.Say(instr.prompt))
                return out + self._waiting()
            elif isinstance(instr, Hold):
                return self._start_hold(instr, instr.seconds, out, first=True)
            elif isinstance(instr, Interval):
                self.mode = Mode.WAITING
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
            self.mode, self.failures = Mode.MENU, 0
            names = [self.vocab.example(i) for i in self._menu_intents()]
            out.append(ev.Say("Which routine would you like? You can say " + _spoken_list(names) + "."))
            if self.resume_point:
                out.append(ev.Say(f"Or say resume, to pick up the last session at {self.resume_point.title}."))
            return False
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

    def _step_record(self) -> list[ev.Action]:
        """Where the running routine is, kept so an interrupted session can resume here."""
        block = self.current_block
        if not self._top or not (self._top[1] < block.index < self._top[1] + 1000):
            return []
        if isinstance(self.program[self.pc], Question):
            return []  # a question is about the position before it: resuming redoes that position
        title = block.title + (f", {block.side} side" if block.side else "")
        return [ev.Record("step", {"routine": self._top[0], "block": block.index - self._top[1], "title": title})]

    def _end(self, out: list[ev.Action], reason: str) -> list[ev.Action]:
        if self.mode is Mode.MENU:
            return out + self._waiting()
        self.mode = Mode.ENDED
        self.hold = None
        out.append(ev.Record("end", {"reason": reason}))
        out.append(ev.End(reason))
        return out

    # ================================================================ holds and time
    def _start_hold(self, instr: Hold, seconds: float, out, first: bool) -> list[ev.Action]:
        now = self.now()
        ends = now + seconds
        marks: list[tuple[float, str]] = []
        if seconds >= 25:
            marks.append((ends - 10, "Ten seconds left."))
        if seconds >= 40:
            marks.insert(0, (now + seconds / 2, "Halfway."))
        elif 12 <= seconds < 25:
            marks.append((now + seconds / 2, "Halfway."))
        if seconds >= 6:
            marks += [(ends - 3, "Three."), (ends - 2, "Two."), (ends - 1, "One.")]
        self.hold = HoldState(ends, sorted(marks), now, instr.seconds)
        self.mode = Mode.HOLDING
        out.append(self._show())
        if first:
            lead = "Hold" if instr.rep == 1 else f"Number {instr.rep} of {instr.reps}. Hold"
            out.append(ev.Cue("start"))
            out.append(ev.Say(f"{lead} for {_seconds_words(seconds)}."))
        return out + self._waiting()

    def _tick(self, out: list[ev.Action]) -> list[ev.Action]:
        now = self.now()
        if self.mode is Mode.HOLDING and self.hold:
            due = [m for m in self.hold.marks if m[0] <= now + 1e-6]
            self.hold.marks = [m for m in self.hold.marks if m[0] > now + 1e-6]
            if now + 1e-6 >= self.hold.ends_at:
                instr = self.program[self.pc]
                out.append(ev.Cue("end"))
                out.append(ev.Say(instr.release))
                out.append(self._hold_record(completed=True))
                self.hold = None
                self.pc += 1
                return self._run(out)
            if due:  # speech can lag the clock: say only the latest mark that is due
                out.append(ev.Say(due[-1][1]))
            return out + self._waiting()
        if self.mode is Mode.WAITING and self.wait_until is not None:
            if now + 1e-6 >= self.wait_until:
                self.wait_until = None
                self.pc += 1
                return self._run(out)
        return out + self._waiting()

    def _hold_record(self, completed: bool) -> ev.Record:
        instr = self.program[self.pc]
        held = min(self.now() - self.hold.started_at, self.hold.planned_s) if self.hold else 0.0
        return ev.Record("hold", {"exercise": instr.block.exercise, "side": instr.block.side,
                                  "rep": instr.rep, "planned_s": instr.seconds,
                                  "held_s": round(held, 1), "completed": completed})

    # ================================================================ what we wait for
    def _waiting(self) -> list[ev.Action]:
        commands = tuple(self.vocab.commands)
        if self.mode is Mode.ASKING:
            q = self.program[self.pc]
            return [ev.Listen(self.vocab.intents_for(q.context), q.context, self.silence_timeout_s)]
        if self.mode in (Mode.CONFIRM_STOP,):
            return [ev.Listen(self.vocab.intents_for("yesno"), "yesno", self.silence_timeout_s)]
        if self.mode is Mode.MENU:
            return [ev.Listen(self.vocab.intents_for("menu"), "menu", self.silence_timeout_s)]
        if self.mode is Mode.HOLDING and self.hold:
            nxt = min([m[0] for m in self.hold.marks] + [self.hold.ends_at])
            return [ev.Wait(nxt), ev.Listen(self.vocab.intents_for("exercise"), "exercise", None)]
        if self.mode is Mode.WAITING and self.wait_until is not None:
            return [ev.Wait(self.wait_until), ev.Listen(self.vocab.intents_for("exercise"), "exercise", None)]
        if self.mode is Mode.PAUSED:
            return [ev.Listen(commands, "exercise", None)]
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

    # ================================================================ answers
    def _heard(self, heard: ev.Heard, out: list[ev.Action]) -> list[ev.Action]:
        intent = heard.intent
        mode = self.mode
        if mode is Mode.MENU and intent.startswith(START_PREFIX):
            rid = intent[len(START_PREFIX):]
            out.append(ev.Record("answer", {"question": "menu", "intent": intent, "text": heard.text}))
            self.resume_point = None  # a fresh start; only "resume" picks up the old session
            self._start_routine(rid, out)
            return self._run(out)
        if mode is Mode.MENU and intent == "resume" and self.resume_point:
            out.append(ev.Record("answer", {"question": "menu", "intent": intent, "text": heard.text}))
            self._start_routine(self.resume_point.routine, out)
            return self._run(out)
        if mode is Mode.ASKING:
            q = self.program[self.pc]
            if intent in q.answers:
                return self._answer(q, intent, heard.text, out)
            if self._is_check(q) and intent in self.vocab.answers_for(q.context):
                return self._check_answer(q, intent, heard.text, out)
        if mode is Mode.CONFIRM_STOP:
            if intent == "yes":
                return self._continue_after_stop(out)
            if intent in ("no", "stop"):
                return self._stopped(out)
        if intent in ("stop", "pain", "worse"):  # "worse" outside a rating question means pain
            return self._stop_request(intent, out)
        handler = getattr(self, f"_cmd_{intent}", None)
        if handler is None:  # an intent this state does not take: treat as not understood
            return self._no_answer(ev.NotUnderstood(heard.text), out)
        return handler(out)

    def _answer(self, q: Question, intent: str, text: str, out) -> list[ev.Action]:
        choice = q.answers[intent]
        out.append(ev.Record("answer", {"question": q.qid, "prompt": q.prompt, "intent": intent, "text": text}))
        if choice.say:
            out.append(ev.Say(choice.say))
        if choice.result:
            self.preference = choice.result
            out.append(ev.Record("result", {"preference": choice.result}))
        if choice.stop:
            out.append(ev.Say(choice.stop))
            out.append(ev.Record("safety_stop", {"advice": choice.stop}))
            return self._end(out, "safety")
        self.pc = choice.target if choice.target is not None else self.pc + 1
        return self._run(out)

    @staticmethod
    def _is_check(q) -> bool:
        return isinstance(q, Question) and not q.answers and q.context in CHECK_CONTEXTS

    def _check_answer(self, q: Question, intent: str, text: str, out) -> list[ev.Action]:
        """Record a check-in; stop if the pain spread down the leg or rose by 3 or more."""
        kind, value = q.context, intent.split(":", 1)[1]
        phase = "before" if kind not in self.baseline else "later"
        out.append(ev.Record("check", {"kind": kind, "value": value, "phase": phase, "question": q.qid,
                                       "text": text}))
        warning = None
        if kind == "pain":
            score = int(value)
            start = self.baseline.setdefault("pain", score)
            if score >= start + SCORE_RISE_LIMIT:
                warning = f"Your pain has gone up from {start} to {score} since we started."
        elif kind == "location":
            order = self.vocab.answers_for("location")
            where = order.index(intent)
            start = self.baseline.setdefault("location", where)
            if where > start:
                warning = (f"The pain now reaches your {value}, further down your leg than when we "
                           f"started, at your {order[start].split(':')[1]}.")
        elif kind == "movement":
            out.append(ev.Say({"up": "Good. Pain moving up toward the back is a good sign.",
                               "down": "Noted. Pain moving down the leg is a warning sign; tell me if it grows.",
                               "stayed": "Okay."}[value]))
        if warning:
            advice = (f"{warning} That is a warning sign, so we'll stop here. Please rest, and contact a "
                      "doctor or physiotherapist before you exercise again.")
            out.append(ev.Say(advice))
            out.append(ev.Record("trend_stop", {"reason": warning}))
            return self._end(out, "safety")
        self.pc += 1
        return self._run(out)

    def _no_answer(self, event, out) -> list[ev.Action]:
        if self.mode not in (Mode.ASKING, Mode.CONFIRM_STOP, Mode.MENU):
            return out + self._waiting()  # background talk during a hold is ignored
        self.failures += 1
        options = self._options(short=True)  # issue 13: a re-ask names the likely few, not all
        if self.failures >= MAX_FAILED_ANSWERS:
            out.append(ev.Say("I'll pause here. Say resume when you're ready."))
            return self._pause(out, announce=False)
        if isinstance(event, ev.Silence):
            out.append(ev.Say(f"I didn't hear an answer. Please say {options}."))
        else:
            out.append(ev.Say(f"Sorry, I didn't catch that. Please say {options}."))
        return out + self._waiting()

    def _options(self, short: bool = False) -> str:
        if self.mode is Mode.MENU:
            names = [self.vocab.example(i) for i in self._menu_intents()]
            if short and len(names) > 3:  # issue 13: all seven take 10-12 s to say
                likely = [n for n in (MY_ROUTINE_PHRASE, *LIKELY_ROUTINES) if n in self._menu_phrases()]
                return ", ".join(likely[:3]) + ", or say help"
            return _spoken_list(names)
        if self.mode is Mode.CONFIRM_STOP:
            return "yes or no"
        q = self.program[self.pc]
        if self._is_check(q):
            if q.context == "pain":
                return "a number from zero to ten, or skip"
            return self.vocab.describe(self.vocab.answers_for(q.context)) + ", or skip"
        return self.vocab.describe(q.answers)

    # ================================================================ commands
    def _stop_request(self, intent: str, out) -> list[ev.Action]:
        if self.mode is Mode.MENU:
            return self._stopped(out)
        if self.hold:
            out.append(self._hold_record(completed=False))
            self.hold = None
        if self.mode is Mode.PAUSED:
            self.mode = self.paused_from or Mode.RUNNING
        self.stop_cause = intent
        self.resume_mode = self.mode
        self.wait_until = None
        self.mode, self.failures = Mode.CONFIRM_STOP, 0
        if intent == "stop":
            out.append(ev.Say("Stopping. Relax."))
        else:
            out.append(ev.Say("Stop there. Ease out of the position slowly, and relax."))
            out.append(ev.Record("pain", {"intent": intent}))
        out.append(ev.Say("Do you want to go on with the session?"))
        return out + self._waiting()

    def _continue_after_stop(self, out) -> list[ev.Action]:
        out.append(ev.Say("Okay, let's go on."))
        if self.resume_mode in (Mode.ASKING, Mode.MENU):
            self.mode = self.resume_mode
            instr = self.program[self.pc] if self.resume_mode is Mode.ASKING else None
            if instr:
                out.append(ev.Say(instr.prompt))
            return out + self._waiting()
        # the exercise that was stopped is not picked up again
        return self._jump_to_next_block(out)

    def _stopped(self, out) -> list[ev.Action]:
        if self.stop_cause in ("pain", "worse"):
            out.append(ev.Say("Okay, we'll stop here. Rest now. If the pain is severe, or spreads down "
                              "your leg, please contact a doctor or physiotherapist."))
        else:
            out.append(ev.Say("Okay, we'll stop here. Well done."))
        self.mode = Mode.RUNNING
        return self._end(out, "stopped")

    def _pause(self, out, announce: bool = True) -> list[ev.Action]:
        if self.mode is Mode.PAUSED:
            return out + self._waiting()
        self.paused_from = self.mode
        if self.hold:
            self.paused_remaining = max(0.0, self.hold.ends_at - self.now())
            self.hold = None
        elif self.wait_until is not None:
            self.paused_remaining = max(0.0, self.wait_until - self.now())
            self.wait_until = None
        self.mode = Mode.PAUSED
        if announce:
            out.append(ev.Say("Paused. Say resume when you're ready."))
        out.append(self._show(paused=True))
        out.append(ev.Record("pause", {}))
        return out + self._waiting()

    def _cmd_pause(self, out):
        return self._pause(out)

    def _cmd_resume(self, out):
        if self.mode is not Mode.PAUSED:
            return out + self._waiting()
        previous, self.mode, self.failures = self.paused_from, Mode.RUNNING, 0
        instr = self.program[self.pc] if self.pc < len(self.program) else None
        if previous is Mode.HOLDING and isinstance(instr, Hold):
            out.append(ev.Say(f"Resuming. Back into position. Hold for {_seconds_words(self.paused_remaining)} more."))
            return self._start_hold(instr, max(1.0, round(self.paused_remaining)), out, first=False)
        if previous is Mode.WAITING:
            self.mode = Mode.WAITING
            self.wait_until = self.now() + self.paused_remaining
            out.append(ev.Say("Resuming."))
            return out + self._waiting()
        self.mode = previous or Mode.RUNNING
        if self.mode is Mode.ASKING:
            out.append(ev.Say(instr.prompt))
        elif self.mode is Mode.CONFIRM_STOP:
            out.append(ev.Say("Do you want to go on with the session?"))
        elif self.mode is Mode.MENU:
            out.append(ev.Say(f"Which routine would you like? You can say {self._options()}."))
        else:
            return self._run(out)
        return out + self._waiting()

    def _cmd_repeat(self, out):
        if self.mode in (Mode.ASKING,):
            out.append(ev.Say(self.program[self.pc].prompt))
        elif self.mode is Mode.CONFIRM_STOP:
            out.append(ev.Say("Do you want to go on with the session?"))
        elif self.mode is Mode.MENU:
            out.append(ev.Say(f"You can say {self._options()}."))
        elif self.mode is Mode.PAUSED:
            out.append(ev.Say("We are paused. Say resume when you're ready."))
        else:
            block = self.current_block
            said = [i.text for i in self.program if isinstance(i, Speak) and i.block == block]
            out.append(ev.Say(said[-1] if said and len(said) < 3 else (said[0] if said else "Keep going.")))
        return out + self._waiting()

    def _cmd_skip(self, out):
        if self.mode is Mode.ASKING and self._is_check(self.program[self.pc]):
            q = self.program[self.pc]
            out.append(ev.Record("check", {"kind": q.context, "value": None, "question": q.qid, "skipped": True}))
            out.append(ev.Say("Skipped."))
            self.pc += 1
            return self._run(out)
        if self.mode in (Mode.ASKING, Mode.CONFIRM_STOP, Mode.MENU):
            # an answer that picks the way on cannot be skipped: never guess it
            out.append(ev.Say(f"I need an answer to go on. Please say {self._options()}."))
            return out + self._waiting()
        if self.hold:
            out.append(self._hold_record(completed=False))
        out.append(ev.Say("Skipping."))
        return self._jump_to_next_block(out)

    def _jump_to_next_block(self, out):
        block = self.current_block
        self.hold, self.wait_until = None, None
        pc = self.pc
        while pc < len(self.program) and self.program[pc].block == block:
            pc += 1
        self.pc = pc
        return self._run(out)

    def _cmd_back(self, out):
        if self.hold:
            out.append(self._hold_record(completed=False))
        # history ends with the current block; go to the one before it
        current = self.history.pop() if self.history else self.pc
        target = self.history.pop() if self.history else current
        self.hold, self.wait_until = None, None
        self.pc = target
        out.append(ev.Say("Going back."))
        return self._run(out)

    def _cmd_time_left(self, out):
        total = self.seconds_left()
        parts = []
        if self.hold:
            parts.append(f"{_seconds_words(max(1, round(self.hold.ends_at - self.now())))} left in this hold.")
        minutes = round(total / 60)
        parts.append(f"About {minutes} minute{'s' if minutes != 1 else ''} left in this session." if minutes
                     else "Less than a minute left in this session.")
        out.append(ev.Say(" ".join(parts)))
        return out + self._waiting()

    # ---------------------------------------------------------------- spoken adjustments
    def _cmd_longer(self, out):
        return self._adjust_hold(+1, out)

    def _cmd_shorter(self, out):
        return self._adjust_hold(-1, out)

    def _cmd_slower(self, out):
        return self._adjust_tempo(TEMPO_STEP, out)

    def _cmd_faster(self, out):
        return self._adjust_tempo(1 / TEMPO_STEP, out)

    def _adjustable(self, attr: str, outside: str, wrong_kind: str, out):
        """The exercise under way, its range for ``attr`` ('hold_s' or 'tempo_s') and the
        value in use; or None, having said why it cannot be adjusted now."""
        block = self.current_block
        if self.mode not in (Mode.HOLDING, Mode.WAITING) or not block or not block.exercise:
            out.append(ev.Say(outside))
            return None
        ex = self.library.routines[block.routine].exercises[block.exercise]
        rng = getattr(ex, attr)
        if rng is None:
            out.append(ev.Say(wrong_kind))
            return None
        current = rng.clamp(getattr(self.tuning, attr).get(f"{block.routine}.{block.exercise}", rng.default))
        return block.routine, block.exercise, ex, rng, current

    def _adjust_hold(self, direction: int, out):
        found = self._adjustable("hold_s", "You can make the holds longer or shorter during an exercise.",
                                 "This exercise is paced, not held. Say slower or faster to change the pace.", out)
        if found is None:
            return out + self._waiting()
        rid, ex_id, _, rng, old = found
        new = rng.clamp(old + direction * HOLD_STEP_S)
        if new == old:
            out.append(ev.Say(f"That is already the {'longest' if direction > 0 else 'shortest'} hold "
                              f"for this exercise: {_seconds_words(old)}."))
            return out + self._waiting()
        for instr in self._rest_of(rid, ex_id, Hold):
            instr.seconds = round(new)
        self._remember(rid, ex_id, "hold_s", "hold", new, out)
        out.append(ev.Say(f"Okay. Holds of {_seconds_words(new)} from the next one."))
        return out + self._waiting()

    def _adjust_tempo(self, factor: float, out):
        found = self._adjustable("tempo_s", "You can change the pace during an exercise.",
                                 "This exercise is held, not paced. Say longer or shorter to change the holds.", out)
        if found is None:
            return out + self._waiting()
        rid, ex_id, ex, rng, old = found
        new = rng.clamp(round(old * factor * 2) / 2)  # half seconds: easy to say and follow
        if new == old:
            out.append(ev.Say(f"That is already the {'slowest' if factor > 1 else 'fastest'} pace for this "
                              "exercise."))
            return out + self._waiting()
        for instr in self._rest_of(rid, ex_id, Interval):
            if instr.kind == "tempo":
                instr.seconds = new / len(ex.phases)
        self._remember(rid, ex_id, "tempo_s", "tempo", new, out)
        out.append(ev.Say(f"Okay, {'slower' if factor > 1 else 'faster'}: "
                          f"{new:g} seconds a repetition."))
        return out + self._waiting()

    def _rest_of(self, rid: str, ex_id: str, kind: type):
        """Instructions of this exercise still ahead (not the one under way)."""
        for instr in self.program[self.pc + 1:]:
            if isinstance(instr, kind) and instr.block.routine == rid and instr.block.exercise == ex_id:
                yield instr

    def _remember(self, rid: str, ex_id: str, attr: str, setting: str, value: float, out) -> None:
        """Use ``value`` for the rest of the session, and report it as the setting to keep."""
        getattr(self.tuning, attr)[f"{rid}.{ex_id}"] = value
        key = f"exercise.{rid}.{ex_id}.{setting}"
        self.adjustments[key] = value
        out.append(ev.Record("adjust", {"key": key, "value": value}))

    def _cmd_help(self, out):
        text = "You can say pause, resume, repeat, skip, back, stop, or how long left."
        if self.mode in (Mode.HOLDING, Mode.WAITING):
            text += " And slower, faster, longer, or shorter."
        if self.mode in (Mode.ASKING, Mode.CONFIRM_STOP, Mode.MENU):
            text = f"To answer, say {self._options()}. " + text
        out.append(ev.Say(text))
        return out + self._waiting()


RETEST_AFTER_DAYS = 7
RETEST_PAIN_RISE = 2  # points on the 0-10 scale since the last assessment


def retest_advice(days_since_assessment: float | None, pain_since_assessment: Sequence[int]) -> str | None:
    """A spoken suggestion to repeat the assessment, or None.

    The direction that helps can change as things heal or flare up: after a week, or when
    the pain scores have risen since the last assessment, it is worth testing again."""
    if days_since_assessment is None:
        return None
    if pain_since_assessment and max(pain_since_assessment) - min(pain_since_assessment) >= RETEST_PAIN_RISE \
            and pain_since_assessment[-1] == max(pain_since_assessment) \
            and pain_since_assessment[-1] > pain_since_assessment[0]:
        low = min(pain_since_assessment)
        return (f"Your pain scores have gone up since your last assessment, from {low} to "
                f"{pain_since_assessment[-1]}. It may be time to test again: say assessment at the menu.")
    if days_since_assessment >= RETEST_AFTER_DAYS:
        return (f"It has been {int(days_since_assessment)} days since your last assessment. The direction "
                "that helps can change, so it is worth testing again: say assessment at the menu.")
    return None


def _spoken_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def _seconds_words(seconds: float) -> str:
    seconds = int(round(seconds))
    return "1 second" if seconds == 1 else f"{seconds} seconds"
