"""Test positions: what counts as a test of a direction, and what a rating then means.

A rating ("better, worse, or the same?") is about the test position just before it (the
``tests`` exercise of the question, from the routine data). The position is *tested* when
its last hold was held to the end since the person was last guided into it. It *hurt* when
"pain" or "worse" was said in it (a hold, getting into it, the rest between holds) or at the
questions about it (its movement check, its rating, "do you want to go on?"), or its movement
check said the symptoms moved down the leg; that is remembered for the whole session (a later
round does not wash it out) and kept in the history, so that a session resuming the
assessment after an interruption goes on knowing it. The routine says what the rating counts as then: ``if_hurt`` (evidence
against: "worse") and ``if_untested`` (a "better" of a position cut short or skipped cannot
choose its direction: "same", so the position is left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voicecoach.core.program import Instruction, Question

HURT_NOTE = "You had pain in that position, so we will not follow that direction."
DOWN_NOTE = "Your symptoms moved down your leg in that position, so we will not follow that direction."
UNTESTED_NOTE = "We did not finish that position, so it does not count as a test."


def position_of(program: list[Instruction], pc: int) -> tuple[str, str, int] | None:
    """The test position an instruction belongs to or asks about: (routine, exercise id, pc of
    the position's first instruction). Questions right after a position are about it."""
    i = pc
    while 0 <= i < len(program) and isinstance(program[i], Question):
        i -= 1
    if not 0 <= i < len(program) or not program[i].block.exercise:
        return None
    block = program[i].block
    start = i
    while start > 0 and program[start - 1].block == block:
        start -= 1
    return block.routine, block.exercise, start


def direction_tested(program: list[Instruction], pc: int, routine: str, exercise: str) -> str | None:
    """The direction the rating about this position (the next one that ``tests`` it, from
    ``pc`` on) would choose; None if no rating is about it."""
    for instr in program[pc:]:
        if isinstance(instr, Question) and instr.tests == exercise and instr.block.routine == routine:
            return instr.direction()
    return None


@dataclass
class PositionTests:
    """Per session: which positions were fully tested since last entered, which hurt."""

    tested: dict[tuple[str, str], bool] = field(default_factory=dict)
    hurt: dict[tuple[str, str], str] = field(default_factory=dict)  # position -> why (a note to say)
    worse: set[str] = field(default_factory=set)  # directions a rating counted as worse this session

    def entered(self, routine: str, exercise: str) -> None:
        """Guided into the position (again): not tested until its last hold is done."""
        self.tested[(routine, exercise)] = False

    def held(self, routine: str, exercise: str) -> None:
        """Its last hold was held to the end."""
        self.tested[(routine, exercise)] = True

    def hurts(self, routine: str, exercise: str, moved_down: bool = False) -> dict | None:
        """Mark the position as hurt; the record to keep in the history if it is news (so
        that a resumed session goes on knowing it)."""
        if (routine, exercise) in self.hurt:
            return None
        self.hurt[(routine, exercise)] = DOWN_NOTE if moved_down else HURT_NOTE
        return {"routine": routine, "position": exercise, "moved_down": moved_down}

    def carry(self, hurt, worse) -> None:
        """Go on with the assessment of an interrupted session that is resumed: its hurt
        positions ((routine, exercise, moved down)) and directions found worse."""
        for routine, exercise, moved_down in hurt:
            self.hurt.setdefault((routine, exercise), DOWN_NOTE if moved_down else HURT_NOTE)
        self.worse.update(worse)

    def counts_as(self, q: Question, intent: str) -> tuple[str, str | None]:
        """The answer a rating counts as, and what to say about it (None: as heard)."""
        if not q.tests:
            return intent, None
        key = (q.block.routine, q.tests)
        direction = q.direction()
        if q.if_hurt and intent != q.if_hurt and (key in self.hurt or (direction in self.worse and q.answers[intent].result)):
            return q.if_hurt, self.hurt.get(key, HURT_NOTE)
        if q.if_untested and q.answers[intent].result and not self.tested.get(key, False):
            return q.if_untested, UNTESTED_NOTE
        return intent, None

    def rated(self, q: Question, counted: str) -> None:
        if counted == "worse" and q.direction():
            self.worse.add(q.direction())
