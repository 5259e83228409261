"""Spoken adjustments during an exercise: "longer"/"shorter" holds, "slower"/"faster" pace.

Each change stays within the routine's allowed range, starts with the next hold or
repetition (never the one under way), is used for the rest of the session, and is
reported as the setting to keep when the session ends.
"""

from __future__ import annotations

from typing import Iterator

from voicecoach.core import events as ev
from voicecoach.content.loader import Library
from voicecoach.core.program import Block, Hold, Instruction, Interval, Tuning

HOLD_STEP_S = 5.0  # "longer"/"shorter" change the hold by this much (s)
TEMPO_STEP = 1.25  # "slower"/"faster" multiply/divide a paced repetition's length by this


class Adjustments:
    """The session's tuning and what was changed by voice."""

    def __init__(self, library: Library, tuning: Tuning | None = None):
        self.library = library
        tuning = tuning or Tuning()
        # copies: spoken adjustments change them for routines compiled later in the session
        self.tuning = Tuning(dict(tuning.hold_s), dict(tuning.reps), dict(tuning.tempo_s))
        #: settings changed by voice: "exercise.<routine>.<exercise>.<hold|tempo>" -> value
        self.changed: dict[str, float] = {}

    def adjust(self, intent: str, block: Block | None, ahead: list[Instruction], out: list[ev.Action]) -> None:
        """Apply "longer", "shorter", "slower" or "faster" to the exercise under way.

        ``block``: the exercise's block, or None outside an exercise; ``ahead``: the
        program after the instruction under way (the one under way keeps its length)."""
        if intent in ("longer", "shorter"):
            self._hold(+1 if intent == "longer" else -1, block, ahead, out)
        else:
            self._tempo(TEMPO_STEP if intent == "slower" else 1 / TEMPO_STEP, block, ahead, out)

    def _adjustable(self, block: Block | None, attr: str, outside: str, wrong_kind: str, out):
        """The exercise under way, its range for ``attr`` ('hold_s' or 'tempo_s') and the
        value in use; or None, having said why it cannot be adjusted now."""
        if not block or not block.exercise:
            out.append(ev.Say(outside))
            return None
        ex = self.library.routines[block.routine].exercises[block.exercise]
        rng = getattr(ex, attr)
        if rng is None:
            out.append(ev.Say(wrong_kind))
            return None
        current = rng.clamp(getattr(self.tuning, attr).get(f"{block.routine}.{block.exercise}", rng.default))
        return block.routine, block.exercise, ex, rng, current

    def _hold(self, direction: int, block, ahead, out) -> None:
        found = self._adjustable(block, "hold_s", "You can make the holds longer or shorter during an exercise.",
                                 "This exercise is paced, not held. Say slower or faster to change the pace.", out)
        if found is None:
            return
        rid, ex_id, _, rng, old = found
        new = rng.clamp(old + direction * HOLD_STEP_S)
        if new == old:
            out.append(ev.Say(f"That is already the {'longest' if direction > 0 else 'shortest'} hold "
                              f"for this exercise: {seconds_words(old)}."))
            return
        for instr in _of_exercise(ahead, rid, ex_id, Hold):
            instr.seconds = round(new)
        self._remember(rid, ex_id, "hold_s", "hold", new, out)
        out.append(ev.Say(f"Okay. Holds of {seconds_words(new)} from the next one."))

    def _tempo(self, factor: float, block, ahead, out) -> None:
        found = self._adjustable(block, "tempo_s", "You can change the pace during an exercise.",
                                 "This exercise is held, not paced. Say longer or shorter to change the holds.", out)
        if found is None:
            return
        rid, ex_id, ex, rng, old = found
        new = rng.clamp(round(old * factor * 2) / 2)  # half seconds: easy to say and follow
        if new == old:
            out.append(ev.Say(f"That is already the {'slowest' if factor > 1 else 'fastest'} pace for this "
                              "exercise."))
            return
        for instr in _of_exercise(ahead, rid, ex_id, Interval):
            if instr.kind == "tempo":
                instr.seconds = new / len(ex.phases)
        self._remember(rid, ex_id, "tempo_s", "tempo", new, out)
        out.append(ev.Say(f"Okay, {'slower' if factor > 1 else 'faster'}: {new:g} seconds a repetition."))

    def _remember(self, rid: str, ex_id: str, attr: str, setting: str, value: float, out) -> None:
        """Use ``value`` for the rest of the session, and report it as the setting to keep."""
        getattr(self.tuning, attr)[f"{rid}.{ex_id}"] = value
        key = f"exercise.{rid}.{ex_id}.{setting}"
        self.changed[key] = value
        out.append(ev.Record("adjust", {"key": key, "value": value}))


def _of_exercise(ahead: list[Instruction], rid: str, ex_id: str, kind: type) -> Iterator:
    for instr in ahead:
        if isinstance(instr, kind) and instr.block.routine == rid and instr.block.exercise == ex_id:
            yield instr


def seconds_words(seconds: float) -> str:
    """'1 second', '20 seconds' (rounded to whole seconds)."""
    seconds = int(round(seconds))
    return "1 second" if seconds == 1 else f"{seconds} seconds"
