"""What the coach says again, shows, and listens for in each mode.

``_waiting`` ends every reply: what the coach waits for now (an answer with a timeout, or
a hold's next mark with commands heard meanwhile). ``_show`` is the progress for a screen.
``_options`` is what the person can answer now, worded for speech; ``_question`` is the
question of the mode, said again after a pause, a stop confirmation, or "repeat".
"""

from __future__ import annotations

from voicecoach.core import events as ev
from voicecoach.core.adjustments import seconds_words
from voicecoach.core.checkins import is_check
from voicecoach.core.program import Hold, Interval, Speak
from voicecoach.core.stops import GO_ON
from voicecoach.core.transitions import Mode
from voicecoach.content.vocabulary import START_PREFIX

MENU_QUESTION = "Which routine would you like?"
MY_ROUTINE_PHRASE = "my routine"  # the menu's short re-ask offers these first, if they exist
LIKELY_ROUTINES = ("assessment", "hip stretches", "nerve glides")


class Prompts:
    """Part of ``Coach`` (a mixin): reads its mode, cursor, ``timer``, ``vocab``,
    ``library``, ``checks`` and ``silence_timeout_s`` (s); changes nothing."""

    def _waiting(self) -> list[ev.Action]:
        """What the coach waits for now: the end of every reply that does not end the session."""
        mode = self.mode
        if mode is Mode.ASKING:
            q = self.program[self.pc]
            return [ev.Listen(self.vocab.intents_for(q.context), q.context, self.silence_timeout_s)]
        if mode in (Mode.CONFIRM_STOP, Mode.CONFIRM_GUESS):
            return [ev.Listen(self.vocab.intents_for("yesno"), "yesno", self.silence_timeout_s)]
        if mode is Mode.MENU:
            return [ev.Listen(self.vocab.intents_for("menu"), "menu", self.silence_timeout_s)]
        if mode is Mode.HOLDING and self.timer.hold:
            return [ev.Wait(self.timer.hold.next_wake()), ev.Listen(self.vocab.intents_for("exercise"), "exercise", None)]
        if mode is Mode.WAITING and self.timer.wait_until is not None:
            return [ev.Wait(self.timer.wait_until), ev.Listen(self.vocab.intents_for("exercise"), "exercise", None)]
        if mode is Mode.PAUSED:
            return [ev.Listen(tuple(self.vocab.commands), "exercise", None)]
        return []

    def _show(self, paused: bool = False) -> ev.Show:
        block = self.current_block
        instr = self.program[self.pc] if 0 <= self.pc < len(self.program) else None
        rep = (instr.rep, instr.reps) if isinstance(instr, Hold) else (None, None)
        hold = self.timer.hold
        ends = self.timer.ends_at()
        length = (hold.ends_at - hold.started_at if hold
                  else instr.seconds if isinstance(instr, Interval) and ends is not None else None)
        return ev.Show(block.routine if block else "", block.title if block else "",
                       block.side if block else None, rep[0], rep[1], ends, length, paused)

    def _options(self, short: bool = False) -> str:
        """What to say now; ``short``: at the menu, the likely few and "help" (all seven
        routine names take 10-12 s to say, too long for a re-ask)."""
        mode = self._base() if self.mode is Mode.PAUSED else self.mode
        if mode is Mode.MENU:
            names = [self.vocab.example(i) for i in self.vocab.intents_for("menu") if i.startswith(START_PREFIX)]
            if short and len(names) > 3:
                known = {n for r in self.library.routines.values() for n in (r.name, *r.aliases)}
                likely = [n for n in (MY_ROUTINE_PHRASE, *LIKELY_ROUTINES) if n in known]
                return ", ".join(likely[:3]) + ", or say help"
            return _spoken_list(names)
        if mode in (Mode.CONFIRM_STOP, Mode.CONFIRM_GUESS):
            return "yes or no"
        q = self.program[self.pc]
        if is_check(q):
            return self.checks.options(q)
        return self.vocab.describe(q.answers)

    def _question(self) -> str | None:
        """The question the coach waits on in this mode, in full; None if it waits on none."""
        mode = self.mode
        if mode is Mode.ASKING:
            return self.program[self.pc].prompt
        if mode is Mode.CONFIRM_STOP:
            return GO_ON
        if mode is Mode.CONFIRM_GUESS:
            return f"Did you say {self.vocab.example(self.guess[0])}?"
        if mode is Mode.MENU:
            return f"{MENU_QUESTION} You can say {self._options()}."
        return None

    def _ask(self, out) -> list[ev.Action]:
        """Say the question of the mode we are in again (back from a pause or a stop)."""
        question = self._question()
        if question:
            out.append(ev.Say(question))
        return out + self._waiting()

    def _do_repeat(self, kind, event, out) -> list[ev.Action]:
        mode = self.mode
        if mode is Mode.MENU:  # the menu question itself is known: only the choices again
            text = f"You can say {self._options()}."
        elif mode is Mode.PAUSED:
            text = "We are paused. Say resume when you're ready."
        else:
            text = self._question() or self._instruction_again()
        out.append(ev.Say(text))
        return out + self._waiting()

    def _instruction_again(self) -> str:
        """A sentence of the exercise under way again: its last if it has one or two, else
        its first."""
        block = self.current_block
        said = [i.text for i in self.program if isinstance(i, Speak) and i.block == block]
        return said[-1] if said and len(said) < 3 else (said[0] if said else "Keep going.")

    def _do_time_left(self, kind, event, out) -> list[ev.Action]:
        total = self.seconds_left()
        parts = []
        if self.timer.hold:
            parts.append(f"{seconds_words(max(1, round(self.timer.hold.left(self.now()))))} left in this hold.")
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
        if mode in (Mode.ASKING, Mode.CONFIRM_STOP, Mode.CONFIRM_GUESS, Mode.MENU):
            text = f"To answer, say {self._options()}. " + text
        out.append(ev.Say(text))
        return out + self._waiting()


def _spoken_list(items: list[str]) -> str:
    """"a, b, or c": a list as it is said."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]
