"""Holds, waits, pause and resume: the coach's handlers for time passing.

A hold counts down with spoken marks (``HoldState``); a wait (getting into position, a
rest, a paced repetition) only ends. Pausing keeps what was left (``Timer``), and resuming
goes on from there. "longer", "shorter", "slower" and "faster" change the holds and tempo
still to come (``Adjustments``). Times are seconds on the coach's injected clock.
"""

from __future__ import annotations

from voicecoach.core import events as ev
from voicecoach.core.adjustments import seconds_words
from voicecoach.core.holds import EPSILON_S, HoldState
from voicecoach.core.program import Hold
from voicecoach.core.transitions import Mode


class HoldsAndPauses:
    """Part of ``Coach`` (a mixin): uses its ``timer``, ``place``, ``overlays``, ``now``,
    the cursor (``pc``, ``program``) and ``_run``, ``_show``, ``_waiting``, ``_ask``."""

    def _start_hold(self, instr: Hold, seconds: float, out, first: bool) -> list[ev.Action]:
        """Hold for ``seconds`` (s) of the hold ``instr``; ``first``: not resumed, so cue it."""
        self.timer.hold = HoldState.begin(self.now(), seconds, instr.seconds)
        self.place = Mode.HOLDING
        out.append(self._show())
        if first:
            lead = "Hold" if instr.rep == 1 else f"Number {instr.rep} of {instr.reps}. Hold"
            out.append(ev.Cue("start"))
            out.append(ev.Say(f"{lead} for {seconds_words(seconds)}."))
        return out + self._waiting()

    def _start_wait(self, seconds: float, out) -> list[ev.Action]:
        """Wait ``seconds`` (s): getting into position, a rest, a paced repetition."""
        self.place = Mode.WAITING
        self.timer.wait_until = self.now() + seconds
        out.append(self._show())
        return out + self._waiting()

    def _finish_hold(self, out) -> list[ev.Action]:
        instr = self.program[self.pc]
        if instr.rep == instr.reps:  # the position was held to the end: a test of its direction
            self.positions.held(instr.block.routine, instr.block.exercise)
        out.append(ev.Cue("end"))
        out.append(ev.Say(instr.release))
        out.append(self._hold_record(completed=True))
        self.timer.hold = self.timer.suspended = None
        self.pc += 1
        return self._run(out)

    def _hold_record(self, completed: bool) -> ev.Record:
        instr = self.program[self.pc]
        held = instr.seconds if completed else self.timer.held(self.now())
        return ev.Record("hold", {"exercise": instr.block.exercise, "side": instr.block.side,
                                  "rep": instr.rep, "planned_s": instr.seconds,
                                  "held_s": round(held, 1), "completed": completed})

    def _cut(self, out) -> None:
        """End the hold or wait under way (paused or not) without finishing it."""
        if self.place is Mode.HOLDING and (self.timer.hold or self.timer.suspended):
            out.append(self._hold_record(completed=False))
        self.timer.clear()

    # ---------------------------------------------------------------- pause, resume
    def _do_pause(self, kind, event, out) -> list[ev.Action]:
        return self._pause(out)

    def _pause(self, out, announce: bool = True) -> list[ev.Action]:
        if self.mode is Mode.PAUSED:
            return out + self._waiting()
        self.timer.suspend(self.now())
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
        left = self.timer.left_when_paused()
        if self.place is Mode.HOLDING:
            instr = self.program[self.pc]
            if round(left) < 1:  # less than a second to go: the hold is done
                out.append(ev.Say("Resuming."))
                return self._finish_hold(out)
            out.append(ev.Say(f"Resuming. Back into position. Hold for {seconds_words(left)} more."))
            self.timer.suspended = None
            return self._start_hold(instr, round(left), out, first=False)
        if self.place is Mode.WAITING:
            self.timer.wait_until = self.now() + left
            self.timer.suspended = None
            out.append(ev.Say("Resuming."))
            return out + self._waiting()
        return self._ask(out)

    def _leave_pause(self) -> None:
        self.overlays.pop()
        self.failures = 0

    # ---------------------------------------------------------------- time passing
    def _do_hold_tick(self, kind, event, out) -> list[ev.Action]:
        now = self.now()
        mark = self.timer.hold.due(now)
        if self.timer.hold.over(now):
            return self._finish_hold(out)
        if mark:
            out.append(ev.Say(mark))
        return out + self._waiting()

    def _do_wait_tick(self, kind, event, out) -> list[ev.Action]:
        if self.now() + EPSILON_S >= self.timer.wait_until:
            self.timer.wait_until = None
            self.pc += 1
            return self._run(out)
        return out + self._waiting()

    def _do_adjust(self, kind, event: ev.Heard, out) -> list[ev.Action]:
        """Longer, shorter, slower, faster: for the exercise under way (outside a hold or wait
        there is none, and ``Adjustments`` says so); the instruction under way keeps its length."""
        block = self.current_block if self.mode in (Mode.HOLDING, Mode.WAITING) else None
        self.adjust.adjust(event.intent, block, self.program[self.pc + 1:], out)
        return out + self._waiting()
