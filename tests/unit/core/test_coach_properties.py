"""Property-based tests of the pure coach (Hypothesis): generated sessions, invariants.

Each example is one session over a shipped routine or the menu, with the safety screen
on or off, check-ins on or off, and sometimes a safety stop remembered from last time.
A *person* is drawn first: the few commands they tend to use and a favourite answer per
question kind. Then a random stretch of events: what the recognizer can return in that
context, intents it cannot, not-understood, silence, time passing (to the end of a wait
or part of it), pause/resume/skip/back/repeat/stop/pain/worse at any point. Then the
person cooperates (answers, resumes, lets time pass) and the session must end. A session
that ends with a safety stop is followed by the next one, built from the history the way
``voicecoach`` builds it.

Invariants, checked after every event (``Observer``): a branch or safety-screen outcome
is only taken after the answer selecting it was heard in that question (its answer record
names that question and intent), or heard unsurely, asked about ("Did you say five?") and
confirmed by a heard yes; words not understood are never taken as an answer; after "stop", "pain" or "worse" no hold starts before a
heard "yes"; "pain", "stop" and "worse" during a hold end it at once and ask whether to go
on; any red-flag "yes" ends with urgent-care advice; worse in both directions ends with
the stop-and-consult advice; pain spreading down the leg or rising by 3 ends the session;
a remembered safety stop is named first and asked about; every session ends, no question
is entered more than twice while the person only answers (the assessment's rounds are
limited); seconds left are never negative, no hold of under a second is announced; no
exception.

CI (``CI=true``): derandomized, no example database, a fixed number of examples.
"""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.core import events as ev
from voicecoach.core import plan
from voicecoach.core.coach import Coach
from voicecoach.core.plan import HistoryFacts
from voicecoach.content.loader import load_library
from voicecoach.core.program import Question
from voicecoach.store.history import Store
from voicecoach.content.vocabulary import START_PREFIX, Vocabulary

from tests.support.fakes import FakeClock

LIBRARY = load_library(include_user=False)
VOCAB = Vocabulary.load().with_routines(LIBRARY.spoken_names())
ROUTINES = sorted(LIBRARY.routines) + [None]  # None: the menu
ALL_INTENTS = sorted(VOCAB.phrases)
COMMANDS = ("pause", "resume", "skip", "back", "repeat", "stop", "pain", "worse", "help", "time_left",
            "longer", "shorter", "slower", "faster")
STOPS = ("stop", "pain", "worse")
GO_ON = "Do you want to go on with the session?"
REMEMBERED = {  # safety stops as the history keeps them (reason, advice)
    "red flag": ("You told me about a new change in bladder or bowel control.",
                 "Please do not exercise now. This needs urgent medical care. Contact a doctor or emergency "
                 "services today."),
    "worse": ("Both bending and arching made your leg worse.",
              "Both bending and arching made your leg worse. Let's stop here. Please rest, and talk to a doctor "
              "or physiotherapist before you exercise again."),
}
POSITIONS = {ex.name + ". ": ex_id for ex_id, ex in LIBRARY.routines["assessment"].exercises.items()}
MAX_EVENTS = 20_000  # a cooperative session that has not ended by then never will
ON_CI = bool(os.environ.get("CI"))
EXAMPLES = int(os.environ.get("VOICECOACH_PROPERTY_EXAMPLES", "2500"))
PROFILE = settings(max_examples=EXAMPLES, deadline=None, derandomize=ON_CI, database=None if ON_CI else
                   settings.default.database, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                   print_blob=True)
SPEAKS_SAFETY_STOP = "safety_stop" in inspect.signature(HistoryFacts).parameters
STATS = {"sessions": 0, "events": 0, "confirmed": 0}


class Violation(AssertionError):
    pass


def about_position(program, pc) -> tuple[str | None, str | None]:
    """(position, direction) an assessment rating at ``pc`` is about: the position just before
    it, and the direction its "better" would choose (worked out here, not asked of the coach)."""
    q = program[pc]
    if q.block.routine != "assessment" or q.context != "rating" or "better" not in q.answers:
        return None, None
    position = next((i.block.exercise for i in reversed(program[:pc]) if i.block.exercise), None)
    return position, q.answers["better"].result


@dataclass
class Person:
    """What one generated person tends to do."""

    commands: tuple[str, ...]           # the few commands they use
    favourite: dict[str, int]           # context -> index of the answer they give when cooperating
    command_share: int                  # percent of their random events that are commands
    red_flag: bool                      # answers "yes" to the safety questions when cooperating


@dataclass
class Observer:
    """Watches one session's events and replies and checks the invariants."""

    coach: Coach
    clock: FakeClock
    remembered: tuple[str, str] | None = None   # (reason, advice) from last time, if any
    said: list[str] = field(default_factory=list)
    records: list[tuple[str, dict]] = field(default_factory=list)
    ended: str | None = None
    listen: ev.Listen | None = None
    wait: ev.Wait | None = None
    gate: int | None = None           # pc of the branching question being asked
    asked: int | None = None          # pc of the question (any) last asked
    menu: bool = False                # the menu is being asked
    awaiting_yes: bool = False        # stop/pain/worse heard, no "yes" since
    pain_base: int | None = None
    place_base: int | None = None
    _corrects: dict = field(default_factory=dict)         # check-in kind -> the question that last answered it
    _base_from_last: dict = field(default_factory=dict)   # kind -> the base is that last answer
    flexion_worse: bool = False
    screen_answers: set[str] = field(default_factory=set)
    entered: dict[int, int] = field(default_factory=dict)  # question pc -> times entered (cooperative part)
    counting: bool = False
    first_listen_checked: bool = False
    menu_session: bool = True         # the session offers the menu (else: run ROUTINE, resume)
    guided: str | None = None         # assessment position the person was last guided into
    held: dict[str, bool] = field(default_factory=dict)  # position -> held to the end since guided into it
    hurt: set[str] = field(default_factory=set)          # positions with pain said in them, or moved down
    rated_worse: set[str] = field(default_factory=set)   # directions heard or counted worse this session
    rated: bool = False               # an assessment rating was answered this session
    asked_about: str | None = None    # the guess last asked about ("Did you say five?")

    # -- driving ------------------------------------------------------------------------
    def start(self) -> None:
        self._take(None, self.coach.start())

    def send(self, event: ev.Event) -> None:
        STATS["events"] += 1
        before = self._snapshot()
        reply = self.coach.handle(event)
        if isinstance(event, ev.Heard) and event.intent == "back":
            self._backed = True  # a check-in answered again after this corrects the answer
        self._check(before, event, reply)
        self._take(event, reply)

    # -- what the coach asked for -----------------------------------------------------------
    def _take(self, event, reply: list[ev.Action]) -> None:
        if not reply or not isinstance(reply[-1], (ev.Listen, ev.End)):
            raise Violation(f"a reply must end with Listen or End: {reply}")
        self.listen = next((a for a in reversed(reply) if isinstance(a, ev.Listen)), None)
        self.wait = next((a for a in reply if isinstance(a, ev.Wait)), None)
        for a in reply:
            if isinstance(a, ev.Say):
                self.said.append(a.text)
                for name, ex_id in POSITIONS.items():
                    if a.text.startswith(name):
                        self.guided, self.held[ex_id] = ex_id, False
                if "at the menu" in a.text and not self.menu_session:
                    raise Violation(f"advice names the menu in a session without one: {a.text!r}")
                if "test again" in a.text and self.remembered and not any("Last time" in t for t in self.said):
                    raise Violation(f"advice before the remembered safety stop: {self.said}")
                if re.search(r"(^|\D)(0|-\d+) seconds?\b", a.text):
                    raise Violation(f"said a hold of under a second: {a.text!r}")
            elif isinstance(a, ev.Record):
                self.records.append((a.kind, a.data))
            elif isinstance(a, ev.Cue) and a.name == "start" and self.awaiting_yes:
                raise Violation("a hold started after stop/pain/worse without a heard yes")
            elif isinstance(a, ev.End):
                self.ended = a.reason
        left = self.coach.seconds_left()
        if left < 0:
            raise Violation(f"seconds left is negative: {left}")
        # where the coach now asks something that only an answer may settle
        pc, program = self.coach.pc, self.coach.program
        asking = self.listen is not None and self.listen.timeout_s is not None and self.ended is None
        question = program[pc] if 0 <= pc < len(program) and isinstance(program[pc], Question) else None
        if asking and question is not None and self.listen.context == question.context \
                and any(isinstance(a, ev.Say) and a.text == question.prompt for a in reply):
            if self.asked != pc and self.counting:  # entered, not asked again (repeat, resume)
                self.entered[pc] = self.entered.get(pc, 0) + 1
            self.asked = pc
            self.gate = pc if question.answers else None
            position = about_position(program, pc)[0]
            if position and position != self.guided:
                raise Violation(f"asked about {position} while the person was guided into {self.guided}")
        if asking and self.listen.context == "menu":
            self.menu = True
        if self.remembered and not self.first_listen_checked and self.listen is not None:
            self.first_listen_checked = True
            if self.listen.context != "yesno" or not any("Last time" in s and self.remembered[0] in s
                                                         for s in self.said):
                raise Violation(f"a remembered safety stop was not named and asked about first: {self.said}")

    def _snapshot(self):
        block = self.coach.current_block
        return dict(gate=self.gate, menu=self.menu, mode=self.coach.mode.name, listen=self.listen, wait=self.wait,
                    exercise=block.exercise if block else None)

    # -- the invariants ---------------------------------------------------------------------
    def _check(self, before, event, reply: list[ev.Action]) -> None:
        heard = event.intent if isinstance(event, ev.Heard) else None
        records = [(a.kind, a.data) for a in reply if isinstance(a, ev.Record)]
        says = [a.text for a in reply if isinstance(a, ev.Say)]
        end = next((a.reason for a in reply if isinstance(a, ev.End)), None)
        program = self.coach.program
        if heard == "back":
            self.flexion_worse = False  # the way back can revisit either branch
        in_position = before["mode"] in ("HOLDING", "WAITING") and before["exercise"] in POSITIONS.values()
        if in_position and heard in ("pain", "worse"):
            self.hurt.add(before["exercise"])
        for kind, data in records:
            if kind == "hold" and data.get("completed") and data.get("exercise") in POSITIONS.values():
                self.held[data["exercise"]] = True  # the assessment's positions are one hold each
            if kind == "check" and data.get("kind") == "movement" and data.get("value") == "down" and self.guided:
                self.hurt.add(self.guided)
        # stop, pain, worse
        listening_for = before["listen"].context if before["listen"] else None
        takes_worse = listening_for == "rating"
        if heard in STOPS and not (heard == "worse" and takes_worse):
            if end is None:
                self.awaiting_yes = True
            running = before["mode"] == "HOLDING"
            if running and not any(k == "hold" and d.get("completed") is False for k, d in records):
                raise Violation(f"{heard!r} during a hold did not end it at once: {reply}")
            if running and end is None and GO_ON not in says:
                raise Violation(f"{heard!r} during a hold did not ask whether to go on: {says}")
        if heard == "yes" and listening_for == "yesno" and before["mode"] != "CONFIRM_GUESS":
            self.awaiting_yes = False
        if isinstance(event, ev.NotUnderstood) and event.guess:
            asked = [t for t in says if t.startswith("Did you say ")]
            if asked:
                self.asked_about = event.guess
                if asked[-1] != f"Did you say {VOCAB.example(event.guess)}?":
                    raise Violation(f"asked about another answer than the guess {event.guess!r}: {asked}")
        if isinstance(event, ev.NotUnderstood) and any(k == "answer" for k, _ in records):
            raise Violation(f"an answer was taken from words not understood: {event}, {records}")
        # a branch is taken only after the answer that selects it, heard in that question
        gate = before["gate"]
        if gate is not None and (self.coach.pc != gate or end is not None):
            q = program[gate]
            answered = [d for k, d in records if k == "answer" and d.get("question") == q.qid]
            went_back = heard == "back" and self.coach.pc < gate and end is None
            # words heard unsurely are an answer only after "Did you say <it>?" and a heard yes
            confirmed = bool(answered) and heard == "yes" and before["mode"] == "CONFIRM_GUESS" \
                and answered[0].get("confirmed") and answered[0]["intent"] == self.asked_about
            if answered and answered[0].get("confirmed") and not confirmed:
                raise Violation(f"a guessed answer taken without a yes to asking about it: {event}, {answered}")
            if not (went_back or end == "stopped" or confirmed or (answered and heard in q.answers
                                                                   and answered[0]["intent"] == heard)):
                raise Violation(f"left the question {q.prompt!r} without its answer (event {event}, "
                                f"end {end}): {says}")
            if confirmed:
                STATS["confirmed"] += 1
                heard = answered[0]["intent"]  # what the yes confirmed is the answer below
            if answered and q.block.routine == "safety-screen" and heard == "yes":
                if end != "safety" or not any("urgent medical care" in s for s in says):
                    raise Violation(f"a red-flag yes did not end with urgent-care advice: {says}")
            if answered and q.block.routine == "safety-screen" and heard == "no":
                self.screen_answers.add(q.qid)
            position, direction = about_position(program, gate)
            if answered and position:
                self.rated = True
                chosen = [d["preference"] for k, d in records if k == "result"]
                if chosen and chosen[0] == direction:
                    if not self.held.get(position) or position in self.hurt or direction in self.rated_worse:
                        raise Violation(f"{direction} chosen from {position}: held {self.held.get(position)}, "
                                        f"hurt {position in self.hurt}, worse before {direction in self.rated_worse}")
                if heard == "worse" or position in self.hurt:
                    self.rated_worse.add(direction)
            if answered and q.block.routine == "assessment" and q.context == "rating":
                exercise = next(i.block.exercise for i in reversed(program[:gate]) if i.block.exercise)
                if exercise == "knees-to-chest":
                    self.flexion_worse = heard == "worse"
                elif exercise == "prone-elbows" and heard == "worse" and self.flexion_worse:
                    if end != "safety" or not any("talk to a doctor or physiotherapist" in s for s in says):
                        raise Violation(f"worse in both directions did not stop with advice: {says}")
            if answered and q.qid == "safety/clinician-seen" and self.remembered:
                if heard == "no" and (end != "safety" or self.remembered[1] not in says):
                    raise Violation(f"'not seen by a clinician' did not end with the same advice: {says}")
                if heard == "yes" and not any("safety questions" in s for s in says):
                    raise Violation(f"'seen by a clinician' did not lead to the safety questions: {says}")
            self.gate = self.asked = None
        if before["menu"] and self.coach.mode.name != "MENU" and self.coach.mode.name != "PAUSED" \
                and self.coach.mode.name != "CONFIRM_STOP":
            chose = any(k == "answer" and d.get("question") == "menu" for k, d in records)
            if not (chose or end == "stopped"):
                raise Violation(f"left the menu without a choice (event {event}, end {end}): {says}")
            self.menu = False
        if any(k == "screen_passed" for k, _ in records):
            screen = [i.qid for i in program if isinstance(i, Question) and i.block.routine == "safety-screen"]
            if not set(screen) <= self.screen_answers:
                raise Violation(f"screen recorded as passed with unanswered questions: {set(screen) - self.screen_answers}")
        # check-ins: pain spreading down the leg or rising by 3 stops the session
        for kind, data in records:
            if kind != "check" or data.get("value") is None:
                continue
            # "go back" and another answer to the same question corrects the first one
            corrected = getattr(self, "_backed", False) and data.get("question") == self._corrects.get(data["kind"])
            self._backed = False
            self._corrects[data["kind"]] = data.get("question")
            if data["kind"] == "pain":
                score = int(data["value"])
                if self.pain_base is None or (corrected and self._base_from_last.get("pain")):
                    self.pain_base, self._base_from_last["pain"] = score, True
                else:
                    self._base_from_last["pain"] = False
                if score >= self.pain_base + 3 and end != "safety":
                    raise Violation(f"pain rose from {self.pain_base} to {score} and the session went on")
            if data["kind"] == "location":
                where = [i.split(":")[1] for i in VOCAB.answers_for("location")].index(data["value"])
                if self.place_base is None or (corrected and self._base_from_last.get("location")):
                    self.place_base, self._base_from_last["location"] = where, True
                else:
                    self._base_from_last["location"] = False
                if where > self.place_base and end != "safety":
                    raise Violation("the pain spread down the leg and the session went on")
        if self.ended is not None:
            raise Violation("an event was handled after the end")


# ---------------------------------------------------------------------------- generating
def people():
    return st.builds(
        Person,
        commands=st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=3, unique=True).map(tuple),
        favourite=st.fixed_dictionaries({c: st.integers(0, 10) for c in VOCAB.contexts}),
        command_share=st.sampled_from([10, 40, 70]),
        red_flag=st.sampled_from([False, False, False, True]),
    )


def random_event(data, obs: Observer, person: Person) -> ev.Event:
    """Anything at all that can happen now (and some things that cannot)."""
    listen = obs.listen
    roll = data.draw(st.integers(0, 99), label="roll")
    if obs.wait is not None and roll < 90:  # time passes before whatever comes next
        share = data.draw(st.sampled_from([1.0, 0.0, 0.6, 0.99]), label="time")
        obs.clock.t = max(obs.clock.t, obs.clock.t + share * (obs.wait.until - obs.clock.t))
    if obs.coach.mode.name == "CONFIRM_GUESS" and roll < 60:  # "Did you say five?": mostly yes or no
        return ev.Heard(data.draw(st.sampled_from(["yes", "yes", "no"]), label="guess answered"))
    if roll < person.command_share:
        return ev.Heard(data.draw(st.sampled_from(person.commands), label="command"))
    if roll < 80:
        return ev.Heard(data.draw(st.sampled_from(listen.intents), label="intent"))
    if roll < 84:
        return ev.Heard(data.draw(st.sampled_from(ALL_INTENTS), label="any intent"))
    if roll < 85:
        return ev.NotUnderstood("a large latte please")
    if roll < 87:  # heard, not surely: one of the answers listened for, or any intent at all
        answers = [i for i in listen.intents if i in VOCAB.answers_for(listen.context)]
        pool = answers if answers and data.draw(st.integers(0, 3), label="guess kind") else ALL_INTENTS
        return ev.NotUnderstood("five?", data.draw(st.sampled_from(pool), label="guess"))
    if roll < 90:
        return ev.Silence()
    if obs.wait is None:
        obs.clock.t += data.draw(st.sampled_from([0.5, 5.0, 60.0]), label="idle")
    return ev.Tick()


def cooperative_event(obs: Observer, person: Person) -> ev.Event:
    """What a person who only answers does: time passes, resume if paused, answer."""
    listen = obs.listen
    if obs.wait is not None:
        obs.clock.t = max(obs.clock.t, obs.wait.until)
        return ev.Tick()
    if listen.timeout_s is None:
        return ev.Heard("resume")
    answers = VOCAB.answers_for(listen.context)
    q = obs.coach.program[obs.coach.pc] if obs.coach.pc < len(obs.coach.program) else None
    if isinstance(q, Question) and q.block.routine == "safety-screen" and obs.gate == obs.coach.pc:
        return ev.Heard("yes" if person.red_flag else "no")
    if listen.context == "menu":
        answers = tuple(i for i in answers if i.startswith(START_PREFIX))
    return ev.Heard(answers[person.favourite[listen.context] % len(answers)])


def play(data, routine, screen, checkins, remembered, person, prefix) -> Observer:
    clock = FakeClock()
    kw = {}
    if remembered and SPEAKS_SAFETY_STOP:
        from voicecoach.core.safety import SafetyStop
        kw["safety_stop"] = SafetyStop(*remembered)
    coach = Coach(LIBRARY, VOCAB, clock.now, routine=routine, checkins=checkins, history=HistoryFacts(screen=screen, **kw))
    obs = Observer(coach, clock, remembered=remembered)
    STATS["sessions"] += 1
    obs.start()
    for _ in range(prefix):
        if obs.ended:
            break
        obs.send(random_event(data, obs, person))
    obs.counting = True
    for _ in range(MAX_EVENTS):
        if obs.ended:
            break
        obs.send(cooperative_event(obs, person))
        over = [pc for pc, n in obs.entered.items() if n > 2]
        if over:
            q = coach.program[over[0]]
            raise Violation(f"the question {q.prompt!r} was entered {obs.entered[over[0]]} times "
                            "while the person only answered: rounds are not limited")
    if not obs.ended:
        raise Violation(f"the session did not end within {MAX_EVENTS} cooperative events")
    return obs


def next_session(first: Observer, routine, checkins) -> tuple[Coach, tuple[str, str] | None]:
    """The session after ``first``, set up from its history as ``voicecoach`` does."""
    store = Store(Path(":memory:"))
    store.begin_session(routine)
    for kind, data in first.records:
        store.record(kind, data)
    kw = {}
    if hasattr(plan, "last_safety_stop"):
        kw["safety_stop"] = plan.last_safety_stop(store)
    remembered = (kw["safety_stop"].reason, kw["safety_stop"].advice) if kw.get("safety_stop") else None
    stored = store.get_fact("safety_stop") or {}
    clock = FakeClock()
    coach = Coach(LIBRARY, VOCAB, clock.now, routine=routine, checkins=checkins,
                  history=HistoryFacts(screen=not store.get_fact("screen_passed", False),
                                       notices=tuple(plan.notices(store)), **kw))
    store.close()
    return coach, clock, remembered or (stored.get("reason") or "<the reason>", stored.get("advice") or "")


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture and STATS["sessions"]:  # the figure the closing note quotes: shown, not captured
        with capture.global_and_fixture_disabled():
            print(f"\ncoach properties: {STATS['sessions']} sessions, {STATS['events']} events, "
                  f"{STATS['confirmed']} answers asked about and confirmed")


@PROFILE
@given(data=st.data(), routine=st.sampled_from(ROUTINES), screen=st.booleans(), checkins=st.booleans(),
       remembered=st.sampled_from([None, None, None, *REMEMBERED.values()]), person=people(),
       prefix=st.integers(0, 60))
def test_generated_sessions_keep_the_safety_invariants(data, routine, screen, checkins, remembered, person, prefix):
    first = play(data, routine, screen, checkins, remembered, person, prefix)
    if first.ended != "safety":
        return
    # a safety end is remembered: the next session names it and asks first
    coach, clock, remembered = next_session(first, routine, checkins)
    obs = Observer(coach, clock, remembered=remembered)
    STATS["sessions"] += 1
    obs.start()
    obs.counting = True
    for _ in range(MAX_EVENTS):
        if obs.ended:
            break
        obs.send(cooperative_event(obs, person))
    assert obs.ended


# ---------------------------------------------------------------------------- several sessions
WEEK_S = 8 * 86400


class _Time:
    """The history's clock: real time plus an offset (a week later)."""

    offset = 0.0

    def time(self):
        import time
        return time.time() + self.offset

    def __getattr__(self, name):  # monotonic, sleep, ...: the real ones
        import time
        return getattr(time, name)


def _pains(records) -> list[int]:
    return [int(d["value"]) for k, d in records if k == "check" and d.get("kind") == "pain" and d.get("value") is not None]


@settings(PROFILE, max_examples=max(50, EXAMPLES // 10))
@given(data=st.data(), person=people(),
       course=st.lists(st.tuples(st.sampled_from(["interrupted", "finished", "resume", "week later"]),
                                 st.sampled_from(ROUTINES), st.integers(0, 40)), min_size=2, max_size=4))
def test_several_sessions_on_one_history_keep_the_history_rules(data, person, course):
    """Sessions in a row on one history, built as ``voicecoach`` builds them: a check-in is a
    measurement whether or not its session finished; a rise since the last assessment stops;
    "my routine" is never a direction the last assessment found worse."""
    from unittest import mock
    from voicecoach.core import plan
    from voicecoach.store import history as history_mod

    clock_of_history = _Time()
    store = Store(Path(":memory:"))
    carried: tuple[int | None, int | None] = (None, None)  # pain, place baselines of an interrupted series
    since_assessment: list[int] = []
    last_worse: set[str] = set()
    assessed = False  # a direction was found (the rise since an assessment is measured from it)
    with mock.patch.object(history_mod, "time", clock_of_history):
        for how, routine, prefix in course:
            if how == "week later":
                clock_of_history.offset += WEEK_S
                carried = (None, None)
            store.session_id = None  # a new process opens the history
            resume = store.resume_point()
            now_resume = how == "resume" and resume is not None
            menu = routine is None and not now_resume
            stop = plan.last_safety_stop(store)
            trend = plan.history_trend(store)
            target = plan.my_routine(store, LIBRARY.routines)
            if target in ("flexion", "extension") and target in last_worse:
                raise Violation(f"my routine runs {target}, which the last assessment found worse")
            rise = len(since_assessment) >= 2 and since_assessment[-1] >= min(since_assessment[:-1]) + 3
            clock = FakeClock()
            facts = HistoryFacts(screen=not store.get_fact("screen_passed", False),
                                 notices=tuple(plan.notices(store, menu=menu, now=clock_of_history.time())),
                                 resume=resume, safety_stop=stop, trend_stop=trend)
            coach = Coach(LIBRARY, VOCAB, clock.now, routine=routine, checkins=True, history=facts,
                          resume_now=now_resume)
            store.begin_session(routine)
            obs = Observer(coach, clock, remembered=(stop.reason, stop.advice) if stop else None, menu_session=menu)
            if resume is not None:  # the series of measurements goes on
                obs.pain_base, obs.place_base = carried
            STATS["sessions"] += 1
            obs.start()
            # scores differ from session to session; an interrupted session answers its check-in first
            person.favourite["pain"] = data.draw(st.integers(0, 10), label="pain today")
            person.favourite["location"] = data.draw(st.integers(0, 5), label="place today")
            steps, randomly = (prefix + 8, prefix // 4) if how == "interrupted" else (MAX_EVENTS, prefix)
            for i in range(steps):
                if obs.ended:
                    break
                obs.send(random_event(data, obs, person) if i < randomly else cooperative_event(obs, person))
            for kind, d in obs.records:
                store.record(kind, d)
            if rise and not stop and any(k == "hold" for k, _ in obs.records):
                raise Violation(f"pain rose since the last assessment ({since_assessment}) and a hold started")
            if not obs.ended:
                if how != "interrupted":
                    raise Violation("a cooperative session did not end")
                store.record("interrupted", {"by": "Ctrl-C"})
                carried = (obs.pain_base, obs.place_base)
            else:
                carried = (None, None)
            # what the observer itself saw, for the rules about the history
            for kind, d in obs.records:
                if kind in ("result", "safety_cleared"):  # measured again from the next session on
                    since_assessment = []
                    assessed = assessed or kind == "result"
                    break
                if assessed and kind == "check" and d.get("kind") == "pain" and d.get("value") is not None:
                    since_assessment.append(int(d["value"]))
            if obs.rated:
                last_worse = set(obs.rated_worse)
    store.close()
