#!/usr/bin/env python3
"""Explore the method as people play it: many sessions in a row on shared histories.

Each history is a real SQLite history (``Store``, a file in a temporary folder, or one in
memory with ``--memory``), reopened for every session as ``voicecoach`` does. A session is
built like ``voicecoach``, ``voicecoach run ROUTINE`` or ``voicecoach resume`` builds it
(``compose.build_coach`` from the history, "my routine" named by ``compose``), and played
by ``session.loop.Session`` with a fake speaker, clock and listener. The listener is the
person: it picks a phrase from the whole vocabulary (the context's own answers, commands,
words of other contexts, routine names, digits, sound-alikes), and reads it the way the
typed listener does (``Vocabulary.match`` over what the coach listens for); or says
something not understood, says nothing, talks over the coach, lets time pass during a
hold, or presses Ctrl-C (the session is then recorded as interrupted, as ``cli/play.py``
does). Between sessions time jumps (minutes, hours, days, a week).

The rules are checked after every event and every session, written from issue 22 and the
README (not from the code): see ``Monitor`` and ``HistoryModel``. Usage:

    .venv/bin/python scripts/explore_method.py --sessions 20000 --histories 200 --seed 1

Prints the sessions, events and violations per rule, with the first few examples of each.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time as _real_time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicecoach.cli import compose  # noqa: E402
from voicecoach.content.loader import Library, load_library  # noqa: E402
from voicecoach.content.vocabulary import START_PREFIX, Vocabulary  # noqa: E402
from voicecoach.core import events as ev  # noqa: E402
from voicecoach.core import plan  # noqa: E402
from voicecoach.session.loop import Session  # noqa: E402
from voicecoach.settings.schema import Settings  # noqa: E402
from voicecoach.store import history as history_mod  # noqa: E402
from voicecoach.store import sessions as sessions_mod  # noqa: E402
from voicecoach.store.history import Store  # noqa: E402

GO_ON = "Do you want to go on with the session?"
DAY = 86400.0
LOCATIONS = ["back", "buttock", "thigh", "knee", "calf", "foot"]  # README: from the back down the leg
# README "How the direction is chosen": the positions and the direction each tests
DIRECTION = {"knees-to-chest": "flexion", "prone-lying": "extension", "prone-elbows": "extension"}
# assessment.yaml: each rating prompt follows one position (the data, read by eye)
RATED = {"Now, compared with before, is your leg pain better, worse, or the same?": "knees-to-chest",
         "Is your leg pain better, worse, or the same?": "prone-lying",
         "And now, is it better, worse, or the same?": "prone-elbows"}
CLINICIAN = "Has a doctor or physiotherapist seen you about this since then?"
RULES = {
    "1": "a question's own answer shadowed by a command",
    "2": "direction chosen from a position stopped, skipped, untested or hurt",
    "3": "direction chosen after the symptoms moved down the leg",
    "4": "trend rule (rise of 3 / further down the leg vs the series baseline) not applied",
    "5": "a rating asks about a position other than the one last guided into",
    "6a": "remembered safety stop not named first",
    "6b": "re-test advice worded for a menu the session lacks (or the other way)",
    "6c": "pain rise of 3+ since the last assessment did not stop the session",
    "7": "my routine runs a direction the last assessment found worse",
    "S1": "a safety question left without its answer (skip/back)",
    "S2": "stop, pain or worse not acted on",
    "S3": "a hold started after stop/pain/worse without a yes",
    "S4": "a session did not end / the coach crashed",
}


class VirtualTime:
    """One clock for the coach and the history: unix seconds that move only when told."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def time(self) -> float:
        return self.t

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)

    # time.monotonic etc. are not used by the store; keep the rest of ``time`` real
    def __getattr__(self, name):
        return getattr(_real_time, name)


class Interrupt(KeyboardInterrupt):
    """Ctrl-C, pressed by the simulated person."""


# ============================================================================ the history model
@dataclass
class HistoryModel:
    """What the explorer itself knows about one history, from what it saw (never the store)."""

    remembered: str | None = None          # reason of the last safety end, until a clinician "yes"
    baseline: dict = field(default_factory=dict)   # series baseline: pain score / location index
    series_at: float | None = None         # start of the last interrupted session of the series
    assessed_at: float | None = None       # when the last assessment found a result
    since_assessment: list[int] = field(default_factory=list)  # pain scores said since (and in) it
    last_worse: set[str] = field(default_factory=set)  # directions the last assessment found worse
    last_preference: str | None = None
    level: dict = field(default_factory=lambda: {"pain": 4, "location": 2})  # the person's pain today
    # an interrupted session's assessment, by session id: a resumed session goes on with it
    # (hurt positions, symptoms moved down, directions found worse)
    assessments: dict = field(default_factory=dict)


# ============================================================================ one session
class Monitor:
    """Watches one session (every event and reply) and counts violations of the rules."""

    def __init__(self, explorer: "Explorer", model: HistoryModel, vocab: Vocabulary, menu_session: bool,
                 carried: bool, started: str | None):
        self.x, self.model, self.vocab = explorer, model, vocab
        self.menu_session = menu_session
        self.said: list[str] = []
        self.listen: ev.Listen | None = None
        self.wait: ev.Wait | None = None
        self.ended: str | None = None
        self.question: str | None = None    # prompt of the question being asked
        self.guided: str | None = None      # assessment position last guided into
        self.held: dict[str, bool] = {}
        self.hurt: set[str] = set()         # positions with pain said in them (session)
        self.down: set[str] = set()         # positions after which the symptoms moved down
        self.worse_dirs: set[str] = set()   # directions a rating found worse this session
        self.rated_here = False             # an assessment rating was answered this session
        self.awaiting_yes = False
        self.baseline = dict(model.baseline) if carried else {}
        self.carried = carried
        self.started = started              # routine id the session was started with (run/resume)
        self.first_listen_seen = False
        self.records: list[tuple[str, dict]] = []
        self.screen_no: set[str] = set()
        self.phase: str = ""                # context of the last listen
        self.inherited: set[str] = set()    # hurt positions carried from the session resumed

    def violation(self, rule: str, detail: str) -> None:
        self.x.violation(rule, detail, self)

    # -- wrapping the coach ----------------------------------------------------------------
    def wrap(self, coach) -> None:
        start, handle = coach.start, coach.handle

        def started():
            reply = start()
            self.after(None, reply)
            return reply

        def handled(event):
            self.x.events += 1
            before = self.state()
            reply = handle(event)
            self.check(before, event, reply)
            self.after(event, reply)
            return reply
        coach.start, coach.handle = started, handled

    def state(self) -> dict:
        return dict(listen=self.listen, wait=self.wait, question=self.question, guided=self.guided)

    # -- what happened ------------------------------------------------------------------------
    def after(self, event, reply) -> None:
        if self.ended:
            self.violation("S4", f"an event was handled after the end: {event}")
        self.listen = next((a for a in reversed(reply) if isinstance(a, ev.Listen)), None)
        self.wait = next((a for a in reply if isinstance(a, ev.Wait)), None)
        for a in reply:
            if isinstance(a, ev.Say):
                self.on_say(a.text)
            elif isinstance(a, ev.Record):
                self.on_record(a.kind, a.data)
            elif isinstance(a, ev.Cue) and a.name == "start" and self.awaiting_yes:
                self.violation("S3", "a hold started after stop/pain/worse without a heard yes")
            elif isinstance(a, ev.End):
                self.ended = a.reason
        if self.listen is not None and not self.first_listen_seen:
            self.first_listen_seen = True
            if self.model.remembered and (self.listen.context != "yesno" or not any(
                    t.startswith("Last time we stopped early") for t in self.said)):
                self.violation("6a", f"the remembered stop is not named and asked about first: {self.said[-3:]}")
            if self.x.retest_due:
                self.x.seen["sessions a week after an assessment"] += 1
            if self.model.remembered:
                self.x.seen["sessions after a safety stop"] += 1
            if self.x.retest_due and not self.model.remembered and not any("test" in t for t in self.said) \
                    and not any("warning sign" in t for t in self.said):
                self.violation("6b", f"a week after the assessment, no advice to test again: {self.said[-3:]}")
        asked = [a.text for a in reply if isinstance(a, ev.Say)]
        if self.listen is not None and self.listen.timeout_s is not None:
            prompts = [t for t in asked if t.endswith("?")]
            if prompts:
                self.question = prompts[-1]
                self.phase = self.listen.context
                position = RATED.get(self.question)
                if position and self.listen.context == "rating" and position != self.guided:
                    self.violation("5", f"asked about {position} while the person was last guided into {self.guided}")

    def on_say(self, text: str) -> None:
        self.said.append(text)
        for ex_id, instructions in self.x.instructions.items():
            if instructions in text:
                self.guided, self.held[ex_id] = ex_id, False
        named = any(t.startswith("Last time we stopped early") for t in self.said)
        advice = "test again" in text or "testing again" in text or "warning sign" in text
        if self.model.remembered and advice and not named:
            self.violation("6a", f"advice before the remembered safety stop: {text!r}")
        if "say assessment at the menu" in text and not self.menu_session:
            self.violation("6b", f"'at the menu' in a session without a menu: {text!r}")
        if "start the assessment next time" in text and self.menu_session:
            self.violation("6b", f"'next time' in a session with a menu: {text!r}")

    def on_record(self, kind: str, data: dict) -> None:
        self.records.append((kind, data))
        if kind == "resumed" and data.get("session") in self.model.assessments:
            hurt, down, worse = self.model.assessments[data["session"]]
            self.hurt |= hurt
            self.down |= down
            self.worse_dirs |= worse
            self.x.seen["resumed an interrupted assessment"] += bool(hurt or down or worse)
            self.inherited = hurt | down  # the same assessment; it is "the last" only if tested on here
        if kind == "hold" and data.get("completed") and data.get("exercise") == self.guided:
            self.held[self.guided] = True
        if kind == "check" and data.get("kind") == "movement" and data.get("value") == "down" and self.guided:
            self.down.add(self.guided)

    # -- the rules, after every event -----------------------------------------------------------
    def check(self, before, event, reply) -> None:
        heard = event.intent if isinstance(event, ev.Heard) else None
        says = [a.text for a in reply if isinstance(a, ev.Say)]
        records = [(a.kind, a.data) for a in reply if isinstance(a, ev.Record)]
        end = next((a.reason for a in reply if isinstance(a, ev.End)), None)
        listen: ev.Listen | None = before["listen"]
        context = listen.context if listen else None
        asking = listen is not None and listen.timeout_s is not None
        own = self.vocab.answers_for(context) if context and context != "exercise" else ()
        question = before["question"] if asking else None
        # 1: a question's own answer is taken as its answer, never as a command
        if asking and heard in own and context not in ("menu",):
            if any(s in ("Going back.", "Skipping.", "Skipped.") for s in says) or GO_ON in says:
                self.violation("1", f"{heard!r} answering {question!r} was taken as a command: {says}")
        # S1: a safety question is left only by its answer (or stop)
        if asking and question and (question in self.x.screen_questions or question == CLINICIAN) \
                and heard in ("skip", "back"):
            if any(s in ("Going back.", "Skipping.", "Skipped.") for s in says):
                self.violation("S1", f"{heard!r} left the safety question {question!r}: {says}")
        # S2: stop, pain and worse are always acted on (worse is an answer to a rating)
        if heard in ("stop", "pain", "worse") and not (heard == "worse" and context == "rating" and asking):
            if end is None and GO_ON not in says:
                self.violation("S2", f"{heard!r} in {context} not acted on: {says}")
            if end is None:
                self.awaiting_yes = True
        if heard == "yes" and context == "yesno" and question == GO_ON:
            self.awaiting_yes = False
        if GO_ON in says:
            self.question = GO_ON
        # pain or worse said while guided into a test position (before its rating): evidence against it
        position = before["guided"]
        if heard in ("pain", "worse") and position and not (heard == "worse" and context == "rating" and asking):
            rating_done = False
            if not rating_done:
                self.hurt.add(position)
        # a rating answered: which direction may it choose?
        rated = RATED.get(question or "")
        answered = [d for k, d in records if k == "answer" and d.get("prompt") == question] if rated else []
        if rated and answered and heard in ("better", "worse", "same"):
            self.rated_here = True
            pos = before["guided"]
            direction = DIRECTION.get(pos or rated)
            chosen = [d.get("preference") for k, d in records if k == "result"]
            self.x.seen["ratings answered"] += 1
            if chosen and chosen[0] in ("flexion", "extension"):
                self.x.seen["directions chosen"] += 1
                why = []
                if heard != "better":
                    why.append(f"heard {heard!r}")
                if chosen[0] != direction:
                    why.append(f"{chosen[0]} from {pos}")
                if not self.held.get(pos or "", False):
                    why.append("not held to the end since guided into it")
                if pos in self.hurt:
                    why.append("pain said in it")
                if direction in self.worse_dirs:
                    why.append("an earlier rating found it worse")
                if why:
                    self.violation("2", f"{chosen[0]} chosen from {pos}: {', '.join(why)}")
                if pos in self.down:
                    self.violation("3", f"{chosen[0]} chosen from {pos} after the symptoms moved down")
            if heard == "worse" or pos in self.hurt or pos in self.down:
                self.worse_dirs.add(direction)
            self.guided = None  # rated: out of the position (the next one is guided into)
        # 4 and 6c: check-ins against the series baseline and since the last assessment
        if end == "safety" and any(k == "trend_stop" for k, _ in records):
            self.x.seen["trend stops"] += 1
        if heard in own and context in ("location",) and heard == "location:back":
            self.x.seen["'back' answering where the pain reaches"] += 1
        for kind, d in records:
            if kind != "check" or d.get("value") is None:
                continue
            if d["kind"] == "pain":
                score = int(d["value"])
                base = self.baseline.setdefault("pain", score)
                if score >= base + 3 and end != "safety":
                    self.violation("4", f"pain {base} -> {score} (carried: {self.carried}) and the session went on")
                ref = self.model.since_assessment
                if self.model.assessed_at is not None and ref and score >= min(ref) + 3 and end != "safety":
                    self.violation("6c", f"pain {min(ref)} (since the last assessment) -> {score}, no stop")
                if self.model.assessed_at is not None:
                    ref.append(score)
            elif d["kind"] == "location" and d["value"] in LOCATIONS:
                where = LOCATIONS.index(d["value"])
                base = self.baseline.setdefault("location", where)
                if where > base and end != "safety":
                    self.violation("4", f"location {LOCATIONS[base]} -> {d['value']} (carried: {self.carried}) "
                                        "and the session went on")
        if question in self.x.screen_questions and heard == "no" and \
                any(k == "answer" and d.get("intent") == "no" for k, d in records):
            self.screen_no.add(question)
        if any(k == "screen_passed" for k, _ in records):
            if not self.x.screen_questions <= self.screen_no:
                self.violation("S1", f"screen passed without {self.x.screen_questions - self.screen_no}")
        if end == "safety" and not any(("doctor" in s or "physiotherapist" in s or "medical" in s) for s in says):
            self.violation("S2", f"a safety end without advice: {says}")
        for kind, d in records:
            if kind == "result":
                self.model.assessed_at = self.x.clock.t
                self.model.since_assessment = [int(c["value"]) for k, c in self.records + records
                                               if k == "check" and c.get("kind") == "pain" and
                                               c.get("value") is not None]
                self.model.last_preference = d.get("preference")
            if kind == "safety_cleared":
                self.model.remembered = None
                if self.model.assessed_at is not None:
                    self.model.since_assessment = []
                # (pain scores are compared from the clearance on)


# ============================================================================ the person
class Person:
    """The listener port: what one person says, in the way the typed listener reads it."""

    def __init__(self, x: "Explorer", rng: random.Random, vocab: Vocabulary, monitor: Monitor,
                 randomness: float, interrupt_p: float):
        self.x, self.rng, self.vocab, self.m = x, rng, vocab, monitor
        self.randomness, self.interrupt_p = randomness, interrupt_p
        self.calls = 0
        self.everything = [(i, p) for i, ps in vocab.phrases.items() for p in ps]
        self.command_phrases = [(i, p) for i in vocab.commands for p in vocab.phrases.get(i, ())]
        # pain drifts from session to session (and sometimes jumps): most sessions run on
        level = monitor.model.level
        level["pain"] = min(10, max(0, level["pain"] + rng.choice([-2, -1, 0, 0, 1, 2, 3, -3])))
        level["location"] = min(5, max(0, level["location"] + rng.choice([-1, 0, 0, 0, 0, 1])))
        self.today = dict(level) if rng.random() < 0.9 else {"pain": rng.randint(0, 10),
                                                             "location": rng.randint(0, 5)}

    def phrase_of(self, intent: str) -> str:
        phrases = self.vocab.phrases.get(intent) or (intent,)
        text = self.rng.choice(phrases)
        if intent.startswith("score:") and self.rng.random() < 0.3:
            text = intent.split(":")[1]  # typed as a digit
        return text

    def listen(self, intents, context, timeout_s):
        self.calls += 1
        rng = self.rng
        if self.interrupt_p and rng.random() < self.interrupt_p:
            raise Interrupt()
        if self.calls > 4000:
            raise Interrupt()  # stuck: counted below
        if self.m.wait is not None:  # a hold or wait: mostly time passes
            if rng.random() < 0.75 * (1 - self.randomness) + 0.1:
                return None
            self.x.clock.sleep(rng.choice([0.0, 1.0, 5.0, 20.0]) * (timeout_s or 1) / 20.0)
        cooperative = self.calls > 300 or rng.random() > self.randomness
        own = [i for i in self.vocab.answers_for(context)] if context != "exercise" else []
        if timeout_s is None and not self.m.wait:  # paused: resume, mostly
            if cooperative or rng.random() < 0.5:
                return self.heard("resume", intents)
        if cooperative:
            if self.m.wait is not None:
                return None
            return self.answer(context, own, intents)
        roll = rng.random()
        if roll < 0.35 and own:
            return self.heard(rng.choice(own), intents)
        if roll < 0.65:
            intent, text = rng.choice(self.command_phrases)
            return self.say(text, intents)
        if roll < 0.80:
            intent, text = rng.choice(self.everything)
            return self.say(text, intents)
        if roll < 0.87:
            return ev.NotUnderstood("a large latte please")
        if roll < 0.95:
            if self.m.wait is not None:
                return None
            return None  # silence (the loop turns it into Silence)
        return ev.TalkedOver()

    def answer(self, context, own, intents):
        """A person who goes along: answers what is asked, with today's scores."""
        q = self.m.question or ""
        if context == "pain":
            return self.heard(f"score:{self.today['pain']}", intents)
        if context == "location":
            return self.heard(f"location:{LOCATIONS[self.today['location']]}", intents)
        if context == "yesno":
            if q == GO_ON or q == CLINICIAN:
                return self.heard("yes" if self.rng.random() < 0.9 else "no", intents)
            if q in self.x.screen_questions:
                return self.heard("yes" if self.rng.random() < 0.01 else "no", intents)
            return self.heard(self.rng.choice(["yes", "no"]), intents)
        if context == "menu":
            starts = [i for i in own if i.startswith(START_PREFIX)]
            if self.rng.random() < 0.3:
                return self.say(self.rng.choice(["my routine", "start my routine"]), intents)
            if "resume" in intents and self.rng.random() < 0.3:
                return self.heard("resume", intents)
            weights = [4 if i.endswith(("assessment", "full-program")) else 1 for i in starts]
            return self.heard(self.rng.choices(starts, weights)[0], intents)
        if own:
            return self.heard(self.rng.choice(own), intents)
        return self.heard("resume", intents)

    def heard(self, intent: str, intents):
        return self.say(self.phrase_of(intent), intents, meant=intent)

    def say(self, text: str, intents, meant: str | None = None):
        """Read what was said as the typed listener does."""
        intent = self.vocab.match(text, intents)
        context = self.m.listen.context if self.m.listen else None
        own = self.vocab.answers_for(context) if context and context != "exercise" else ()
        if meant in own and intent != meant and self.m.listen and self.m.listen.timeout_s is not None:
            self.x.violation("1", f"{text!r} (an answer of {context}) was read as {intent!r}", self.m)
        return ev.Heard(intent, text) if intent else ev.NotUnderstood(text)


class QuietSpeaker:
    def say(self, text: str) -> None:
        pass

    def cue(self, name: str) -> None:
        pass


# ============================================================================ the explorer
class Explorer:
    def __init__(self, seed: int, memory: bool = False, folder: Path | None = None, examples: int = 3):
        self.rng = random.Random(seed)
        self.clock = VirtualTime()
        self.base_library = load_library(include_user=False)
        self.instructions = {k: e.instructions for k, e in self.base_library.routines["assessment"].exercises.items()}
        self.screen_questions = {str(s.ask) for s in self.base_library.routines["safety-screen"].steps
                                 if getattr(s, "ask", None)}
        self.memory, self.folder = memory, folder
        self.sessions = self.events = 0
        self.counts: Counter = Counter()
        self.examples: dict[str, list[str]] = defaultdict(list)
        self.max_examples = examples
        self.trace: str | None = None
        self.log: list = []
        self.kinds: Counter = Counter()
        self.seen: Counter = Counter()
        self._patch()

    def _patch(self) -> None:
        self._saved = [(module, module.time) for module in (history_mod, sessions_mod, plan)]
        for module, _ in self._saved:
            module.time = self.clock

    def close(self) -> None:
        """Give the history modules their real clock back."""
        for module, real in self._saved:
            module.time = real

    def violation(self, rule: str, detail: str, monitor: Monitor | None = None) -> None:
        self.counts[rule] += 1
        if rule == self.trace and self.counts[rule] == 1:
            for kind, said, records in self.log[-3:]:
                print(f"--- earlier session: {kind}")
                for t in said:
                    print("   say", t)
                for r in records:
                    print("   rec", r)
            if monitor:
                print(f"--- this session: {self.kind}")
                for t in monitor.said:
                    print("   say", t)
                for r in monitor.records:
                    print("   rec", r)
            print("VIOLATION", rule, detail)
        if len(self.examples[rule]) < self.max_examples:
            where = f" [session {self.sessions}: {self.kind}]"
            tail = f"\n      said: {monitor.said[-6:]}" if monitor else ""
            self.examples[rule].append(detail + where + tail)

    # -- one history --------------------------------------------------------------------------
    def history(self, sessions: int, index: int) -> None:
        model = HistoryModel()
        self.log = []
        if self.memory:
            store = Store.in_memory()
            opener = lambda: store  # noqa: E731
        else:
            path = self.folder / f"history-{index}.sqlite3"
            opener = lambda: Store(path)  # noqa: E731
        previous_interrupted = False
        for _ in range(sessions):
            self.clock.t += self.rng.choice([60, 600, 3600, 6 * 3600, DAY, 3 * DAY, 8 * DAY])
            if self.memory:
                store.session_id = None  # a new process opens the history
            s = opener()
            try:
                previous_interrupted = self.session(s, model, previous_interrupted)
            finally:
                if not self.memory:
                    s.close()
        if self.memory:
            store.close()

    def session(self, store: Store, model: HistoryModel, previous_interrupted: bool) -> bool:
        rng = self.rng
        self.sessions += 1
        lib = Library(dict(self.base_library.routines), dict(self.base_library.sources))
        compose._add_my_routine(lib, store)
        how = rng.choices(["menu", "run", "resume"], [6, 3, 2])[0]
        resume = store.resume_point()
        routine_id = None
        if how == "resume" and resume is None:
            how = "menu"
        if how == "run":
            name = rng.choice(["assessment", "full program", "my routine", "flexion", "extension",
                               "hip stretches", "nerve glides", "safety check"])
            routine_id = lib.find(name)
        self.kind = f"{how} {routine_id or ''}".strip()
        self.kinds[how] += 1
        menu_session = routine_id is None and how != "resume"
        # the series of check-ins goes on from an interrupted session within two days (README)
        carried = model.series_at is not None and resume is not None and \
            self.clock.t - model.series_at <= sessions_mod.RESUMABLE_FOR_S
        if not carried:
            model.baseline = {}
        # 7: "my routine" never a direction the last assessment found worse
        mine = plan.my_routine(store, lib.routines)
        if mine in model.last_worse:
            self.violation("7", f"my routine is {mine}, which the last assessment found worse "
                                f"({sorted(model.last_worse)})")
        self.retest_due = model.assessed_at is not None and self.clock.t - model.assessed_at >= 7 * DAY
        command = "resume" if how == "resume" else ("run" if routine_id else "menu")
        coach = compose.build_coach(command, lib, store, Settings(), self.clock, routine_id, resume)
        vocab = coach.vocab
        monitor = Monitor(self, model, vocab, menu_session, carried, routine_id)
        self.seen["baseline carried from an interrupted session"] += bool(carried and model.baseline)
        monitor.wrap(coach)
        randomness = rng.choice([0.0, 0.1, 0.3, 0.6])
        interrupt_p = rng.choice([0.0, 0.0, 0.005, 0.02, 0.08])
        person = Person(self, rng, vocab, monitor, randomness, interrupt_p)
        monitor.session_id = store.begin_session(routine_id)
        started_at = self.clock.t
        interrupted = False
        try:
            reason = Session(coach, QuietSpeaker(), person, self.clock, recorder=store).run()
        except Interrupt:
            store.record("interrupted", {"by": "Ctrl-C"})
            self.seen["interrupted"] += 1
            interrupted = True
            reason = "interrupted"
            if person.calls > 4000:
                self.violation("S4", "a session did not end in 4000 answers", monitor)
        except Exception as exc:  # noqa: BLE001
            self.violation("S4", f"the coach raised {type(exc).__name__}: {exc}", monitor)
            interrupted = True
            reason = "crash"
        self.log = (self.log + [(self.kind + f" -> {reason}", monitor.said, monitor.records)])[-3:]
        # after the session: the history model
        self.after_session(model, monitor, reason, interrupted, started_at, coach)
        return interrupted

    def after_session(self, model: HistoryModel, m: Monitor, reason: str, interrupted: bool, started_at: float,
                      coach) -> None:
        # the menu answer with "my routine": what ran
        for kind, d in m.records:
            if kind == "answer" and d.get("question") == "menu" and "my routine" in str(d.get("text", "")):
                chosen = str(d.get("intent", ""))[len(START_PREFIX):]
                self.seen["'my routine' started"] += 1
                if chosen in model.last_worse:
                    self.violation("7", f"'my routine' started {chosen}, found worse last time", m)
        if m.started and m.started in model.last_worse and "my" in self.kind:
            pass
        if reason == "safety":
            stops = [d for k, d in m.records if k in ("safety_stop", "trend_stop")]
            model.remembered = (stops[-1].get("reason") if stops else "") or "?"
        if m.rated_here or (m.hurt | m.down) - m.inherited:  # the last assessment (finished or not)
            # README: pain in a position or symptoms moving down count as "worse"
            model.last_worse = set(m.worse_dirs) | {DIRECTION[p] for p in m.hurt | m.down}
        checks = [d for k, d in m.records if k == "check"]
        if interrupted:
            model.assessments[m.session_id] = (set(m.hurt), set(m.down), set(m.worse_dirs))
            model.baseline = dict(m.baseline)
            model.series_at = started_at  # the most recent interrupted session
        elif checks:
            model.baseline, model.series_at = {}, None  # a finished session closes the series
        # else: a session that ended without a check-in (stopped at the menu) closes nothing


def shadowed_answers(vocab: Vocabulary) -> list[str]:
    """Rule 1 on the vocabulary itself: every phrase of a context's own answers, said in that
    context, is read as that answer (never as a command of the same words)."""
    wrong = []
    for context in vocab.contexts:
        intents = vocab.intents_for(context)
        for answer in vocab.answers_for(context):
            for phrase in vocab.phrases.get(answer, ()):
                got = vocab.match(phrase, intents)
                if got != answer:
                    wrong.append(f"{context}: {phrase!r} -> {got!r}, not {answer!r}")
    return wrong


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=2000)
    p.add_argument("--histories", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--memory", action="store_true", help="histories in memory (default: SQLite files)")
    p.add_argument("--examples", type=int, default=3)
    p.add_argument("--trace", help="print the sessions around the first violation of this rule")
    a = p.parse_args(argv)
    per = max(1, a.sessions // a.histories)
    started = _real_time.time()
    with tempfile.TemporaryDirectory() as folder:
        x = Explorer(a.seed, memory=a.memory, folder=Path(folder), examples=a.examples)
        x.trace = a.trace
        lib = Library(dict(x.base_library.routines))
        compose._add_my_routine(lib, None)
        for wrong in shadowed_answers(Vocabulary.load().with_routines(lib.spoken_names())):
            x.violation("1", wrong)
        for h in range(a.histories):
            x.history(per, h)
        x.close()
    print(f"{x.sessions} sessions on {a.histories} histories, {x.events} events, "
          f"{_real_time.time() - started:.0f} s; {dict(x.kinds)}")
    print("  exercised: " + ", ".join(f"{k} {v}" for k, v in sorted(x.seen.items())))
    for rule, text in RULES.items():
        print(f"  {rule:>3} {x.counts[rule]:6d}  {text}")
        for example in x.examples.get(rule, []):
            print(f"        e.g. {example}")
    return 1 if sum(x.counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
