"""Answers: the menu choice, the program's questions, the check-ins, and not answering.

An answer that selects a branch is never guessed: a silence or a word the question does
not take is asked again once, then the coach pauses (``MAX_FAILED_ANSWERS``); "skip" is
refused there. Words the recognizer ranked as one of the question's answers, but not surely
enough to take, are asked about ("Did you say five?"): the answer is taken only on a heard
yes; a no, or anything else, counts as not understood. A question that loops back (the assessment's "try again") may start at most
``MAX_ROUNDS`` rounds a session; then the coach goes on as the answer that does not loop
would. A check-in whose pain spread down the leg or rose by 3 or more ends the session.
"""

from __future__ import annotations

from voicecoach.core import events as ev
from voicecoach.core.checkins import is_check, trend_advice
from voicecoach.core.positions import direction_tested, position_of
from voicecoach.core.program import Choice, Question
from voicecoach.core.transitions import TRANSITIONS, Mode
from voicecoach.content.vocabulary import START_PREFIX

MAX_FAILED_ANSWERS = 2  # silences or misunderstandings before the coach pauses
MAX_ROUNDS = 2  # times a question that loops back (the assessment's "try again") may start a round
TALKED_OVER = "Sorry, please say it again."
ROUNDS_DONE = "We have tried the positions twice today. That is enough for one session."
WORSE_ADVICE = ("A position made your leg worse today. Please talk to a doctor or physiotherapist "
                "before you try these positions again.")


class Answers:
    """Part of ``Coach`` (a mixin): uses its mode, cursor, ``checks``, ``positions``,
    ``rounds``, ``worse_in``, ``preference``, ``resume_point``, ``failures``, ``guess`` and
    ``_run``, ``_start_routine``, ``_safety_end``, ``_end``, ``_pause``, ``_options``,
    ``_question``, ``_dispatch``."""

    def _is_answer(self, event: ev.Event) -> bool:
        """The place (or the overlay over it) takes this heard intent as its answer."""
        if not isinstance(event, ev.Heard):
            return False
        intent, mode = event.intent, self.mode
        if mode is Mode.MENU:
            return intent.startswith(START_PREFIX) or (intent == "resume" and bool(self.resume_point))
        if mode is Mode.ASKING:
            q = self.program[self.pc]
            return intent in q.answers or self.checks.takes(q, intent)
        return mode in (Mode.CONFIRM_STOP, Mode.CONFIRM_GUESS) and intent in ("yes", "no")

    def _do_start(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        out.append(ev.Record("answer", {"question": "menu", "intent": event.intent, "text": event.text}))
        if event.intent == "resume":
            self._start_routine(self.resume_point.routine, out)
        else:
            self.resume_point = None  # a fresh start; only "resume" picks up the old session
            self._start_routine(event.intent[len(START_PREFIX):], out)
        return self._run(out)

    def _do_answer(self, kind, event: ev.Heard, out, confirmed: bool = False) -> list[ev.Action]:
        q = self.program[self.pc]
        if is_check(q):
            return self._check_answer(q, event.intent, event.text, out)
        counted, note = self.positions.counts_as(q, event.intent)
        record = {"question": q.qid, "prompt": q.prompt, "intent": event.intent, "text": event.text}
        if confirmed:  # heard unsurely, then "yes" to "Did you say ...?"
            record["confirmed"] = True
        if q.tests:  # the history keeps what the rating meant, for "my routine" (no direction found worse)
            record.update(position=q.tests, direction=q.direction(), counted=counted)
        out.append(ev.Record("answer", record))
        if note:
            out.append(ev.Say(note))
        self.positions.rated(q, counted)
        if q.context == "rating" and counted == "worse":
            self.worse_in.add(q.block.routine)
        return self._take(q, q.answers[counted], out) or self._run(out)

    def _take(self, q: Question, choice: Choice, out) -> list[ev.Action] | None:
        """Follow an answer's branch: the reply if it ends the session, else None with the
        pc moved to where the branch goes on."""
        if choice.say:
            out.append(ev.Say(choice.say))
        if _loops(q) and not choice.loop and not choice.stop and q.block.routine in self.worse_in:
            out.append(ev.Say(WORSE_ADVICE))
        if choice.clears:
            out.append(ev.Record("safety_cleared", {}))
            self.checks.cleared()
        if choice.result:
            self.checks.assessed()
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
            hurt = self.positions.hurts(where[0], where[1], moved_down=True)
            if hurt:  # kept, for a resumed session and for "my routine" (found worse)
                direction = direction_tested(self.program, self.pc, where[0], where[1])
                out.append(ev.Record("hurt", {**hurt, "direction": direction}))
        if trend:
            warning, reason = trend
            advice = trend_advice(warning)
            out.append(ev.Say(advice))
            out.append(ev.Record("trend_stop", {"reason": reason, "warning": warning, "advice": advice}))
            return self._end(out, "safety")
        self.pc += 1
        return self._run(out)

    def _do_skip_question(self, kind, event, out) -> list[ev.Action]:
        q = self.program[self.pc]
        if not is_check(q):  # an answer that picks the way on cannot be skipped: never guess it
            return self._do_refuse(kind, event, out)
        self.checks.skip(q, out)
        self.pc += 1
        return self._run(out)

    # ---------------------------------------------------------------- rounds of trials
    def _rounds_used_up(self, q: Question) -> bool:
        return _loops(q) and self.rounds.get(q.qid, 0) >= MAX_ROUNDS - 1

    def _end_rounds(self, q: Question, out: list[ev.Action]) -> list[ev.Action] | None:
        """Enough rounds: go on as the answer that does not loop back would, without asking
        (a stop if that is the only other way; past the question if every answer loops)."""
        ways = [c for c in q.answers.values() if not c.loop]
        choice = next((c for c in ways if not c.stop), ways[0] if ways else Choice())
        out.append(ev.Say(ROUNDS_DONE))
        out.append(ev.Record("rounds_ended", {"question": q.qid, "rounds": MAX_ROUNDS,
                                              "worse": q.block.routine in self.worse_in}))
        return self._take(q, choice, out)

    # ---------------------------------------------------------------- heard, not surely
    def _takes_guess(self, event: ev.Event) -> bool:
        """At a question (no overlay), words the recognizer ranked as one of its answers."""
        if self.mode is not Mode.ASKING or not isinstance(event, ev.NotUnderstood) or not event.guess:
            return False
        q = self.program[self.pc]
        return event.guess in q.answers or self.checks.takes(q, event.guess)

    def _ask_about_guess(self, event: ev.NotUnderstood, out) -> list[ev.Action]:
        self.guess = (event.guess, event.text)
        self.overlays.append(Mode.CONFIRM_GUESS)
        out.append(ev.Say(self._question()))
        return out + self._waiting()

    def _do_guess_answered(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        """Yes: the answer asked about is taken, as if heard. No: it was not that answer."""
        (intent, text), self.guess = self.guess, None
        self.overlays.pop()
        if event.intent == "yes":
            return self._do_answer("answer", ev.Heard(intent, text), out, confirmed=True)
        return self._failed_answer("Sorry, my mistake.", out)  # misheard: as one not understood

    def _do_unsure(self, kind, event, out) -> list[ev.Action]:
        """Anything but yes or no to "Did you say ...?": the question is back, and the event is
        what it is there (stop, pause, ...; not understood counts as a failed answer, and is
        not asked about again)."""
        self.guess = None
        self.overlays.pop()
        if isinstance(event, ev.NotUnderstood):
            event = ev.NotUnderstood(event.text)
        return self._dispatch(TRANSITIONS[self.mode][kind], kind, event, out)

    # ---------------------------------------------------------------- no answer
    def _do_ask_again(self, kind, event, out) -> list[ev.Action]:
        if self._takes_guess(event):
            return self._ask_about_guess(event, out)
        sorry = "I didn't hear an answer." if isinstance(event, ev.Silence) else "Sorry, I didn't catch that."
        return self._failed_answer(sorry, out)

    def _failed_answer(self, sorry: str, out) -> list[ev.Action]:
        """One more failed answer: ``sorry`` and the question's options, or, at
        ``MAX_FAILED_ANSWERS``, a pause (an answer that picks the way on is never guessed)."""
        self.failures += 1
        if self.failures >= MAX_FAILED_ANSWERS:
            out.append(ev.Say("I'll pause here. Say resume when you're ready."))
            return self._pause(out, announce=False)
        out.append(ev.Say(f"{sorry} Please say {self._options(short=True)}."))
        return out + self._waiting()

    def _do_talked_over(self, kind, event, out) -> list[ev.Action]:
        """An answer begun while the coach talked was dropped: say so at once (not after the
        silence timeout), and briefly: a long re-ask would draw the answer said again onto
        itself. It is not a failed answer: the person did answer."""
        out.append(ev.Say(TALKED_OVER))
        return out + self._waiting()


def _loops(q: Question) -> bool:
    """Some answer of ``q`` starts another round (loops back)."""
    return any(c.loop for c in q.answers.values())
