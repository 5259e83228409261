"""Stop and pain: ending the exercise at once, "Do you want to go on?", and the endings.

"stop", "pain" and "worse" end a hold or wait at once (a question is kept) and put the
CONFIRM_STOP overlay over the place: only a heard yes or no leaves it. Pain in a test
position is evidence against that position (``PositionTests``). A gate (see
``transitions.is_gate``) refuses "skip" and "back".
"""

from __future__ import annotations

from voicecoach.core import events as ev
from voicecoach.core.positions import direction_tested, position_of
from voicecoach.core.transitions import Mode

GO_ON = "Do you want to go on with the session?"


class Stops:
    """Part of ``Coach`` (a mixin): uses its ``place``, ``overlays``, ``stop_cause``,
    ``failures``, ``positions``, the cursor and ``_cut``, ``_ask``, ``_options``, ``_waiting``."""

    def _do_confirm_stop(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        """End the hold or wait at once (the place is kept if it is a question) and ask
        whether to go on."""
        in_position = self.place in (Mode.HOLDING, Mode.WAITING)
        if event.intent in ("pain", "worse"):  # pain in a test position: evidence against it
            self._hurts_here(out)
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
        self._hurts_here(out)  # still about the position that was just cut short, or asked about
        self.failures = 0
        out.append(ev.Say("Okay. Relax, and take your time."))
        out.append(ev.Record("pain", {"intent": event.intent}))
        out.append(ev.Say(GO_ON))
        return out + self._waiting()

    def _hurts_here(self, out: list[ev.Action]) -> None:
        """Pain said in a test position (getting into it, holding it, the rest, the stop
        question after it) or at the questions about it (did the symptoms move, the rating):
        evidence against that position, whatever the rating says after."""
        if self.place in (Mode.HOLDING, Mode.WAITING, Mode.CUT, Mode.ASKING):
            where = position_of(self.program, self.pc)
            hurt = self.positions.hurts(where[0], where[1]) if where else None
            if hurt:  # kept, for a resumed session and for "my routine" (found worse)
                direction = direction_tested(self.program, self.pc, where[0], where[1])
                out.append(ev.Record("hurt", {**hurt, "direction": direction}))

    def _do_confirm_answer(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        if event.intent == "no":
            return self._do_end_stopped(kind, event, out)
        out.append(ev.Say("Okay, let's go on."))
        self.overlays.pop()
        self.failures = 0
        if self.place is Mode.CUT:
            return self._next_block(out)
        return self._ask(out)  # back at the question (or menu) where the person was

    def _do_refuse(self, kind, event, out) -> list[ev.Action]:
        """Keep a gate closed: say what it needs."""
        if self.mode is Mode.PAUSED:
            out.append(ev.Say("I need an answer to this question first. Say resume, and I'll ask it again."))
        else:
            out.append(ev.Say(f"I need an answer to go on. Please say {self._options()}."))
        return out + self._waiting()

    def _do_input_ended(self, kind, event, out) -> list[ev.Action]:
        """Typed answers ran out: nobody is left to answer "do you want to go on?"."""
        self.stop_cause = "stop"
        return self._do_end_stopped(kind, event, out)

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

    def _safety_end(self, advice: str, reason: str | None, out: list[ev.Action]) -> list[ev.Action]:
        """End with advice; the reason is kept, to be named at the next session."""
        out.append(ev.Say(advice))
        out.append(ev.Record("safety_stop", {"advice": advice, "reason": reason or ""}))
        return self._end(out, "safety")

    def _end(self, out: list[ev.Action], reason: str) -> list[ev.Action]:
        """The session is over: ``reason`` is 'done', 'stopped' or 'safety'."""
        self.place, self.overlays = Mode.ENDED, []
        self.timer.clear()
        out.append(ev.Record("end", {"reason": reason}))
        out.append(ev.End(reason))
        return out
