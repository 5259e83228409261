"""Picking up an interrupted session, and the advice to test the direction again.

Each step of the running routine is recorded as it starts; an interrupted session can
then be resumed at that step. A question is not a step: it is about the position before
it, so resuming redoes that position and asks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from voicecoach.core import events as ev
from voicecoach.core.program import Block, Instruction, Question

RETEST_AFTER_DAYS = 7
RETEST_PAIN_RISE = 2  # points on the 0-10 scale since the last assessment
BLOCKS_PER_ROUTINE = 1000  # block numbers of each appended routine start at a multiple of this


@dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted session stopped: enough to pick it up at that step."""

    routine: str                  # id of the routine the session was running
    block: int                    # the step: blocks counted from the routine's start
    title: str                    # what the step is called ("Figure-4 stretch, left side")
    preference: str | None = None   # directional preference found before it stopped
    baseline: Mapping[str, str] = field(default_factory=dict)  # first check-in answers: kind -> value
    session: int | None = None    # the interrupted session's id (for the history)
    # the assessment so far (the session and those it resumed): positions that hurt
    # ((routine, exercise, symptoms moved down)) and directions a rating counted as worse
    hurt: tuple[tuple[str, str, bool], ...] = ()
    worse: tuple[str, ...] = ()


def step_record(top: tuple[str, int] | None, instr: Instruction) -> list[ev.Action]:
    """The record of a new block of the running routine ``top`` (its id and first block
    number - 1), kept so that an interrupted session can resume there."""
    block = instr.block
    if not top or not (top[1] < block.index < top[1] + BLOCKS_PER_ROUTINE) or isinstance(instr, Question):
        return []  # another routine's block (check-in, screen), or a question: not a step
    return [ev.Record("step", {"routine": top[0], "block": block.index - top[1], "title": title_of(block)})]


def title_of(block: Block) -> str:
    return block.title + (f", {block.side} side" if block.side else "")


def resume_at(point: ResumePoint, program: list[Instruction], start: int, first_block: int,
              out: list[ev.Action]) -> int:
    """The pc to resume ``point`` at, in the routine compiled at ``start`` whose blocks are
    numbered from ``first_block``; says so and records it."""
    target = next((pc for pc in range(start, len(program))
                   if program[pc].block.index == first_block + point.block), start)
    out.append(ev.Record("routine", {"routine": point.routine}))
    out.append(ev.Record("resumed", {"session": point.session, "block": point.block}))
    out.append(ev.Say(f"Welcome back. We'll pick up where we stopped: {point.title}."))
    return target


def retest_advice(days_since_assessment: float | None, pain_since_assessment: Sequence[int],
                  how: str = "say assessment at the menu") -> str | None:
    """A spoken suggestion to repeat the assessment, or None; ``how``: how to start it.

    The direction that helps can change as things heal or flare up: after a week (days
    since the last assessment), or when the pain scores (0-10) have risen since it, it is
    worth testing again."""
    if days_since_assessment is None:
        return None
    if pain_since_assessment and max(pain_since_assessment) - min(pain_since_assessment) >= RETEST_PAIN_RISE \
            and pain_since_assessment[-1] == max(pain_since_assessment) \
            and pain_since_assessment[-1] > pain_since_assessment[0]:
        low = min(pain_since_assessment)
        return (f"Your pain scores have gone up since your last assessment, from {low} to "
                f"{pain_since_assessment[-1]}. It may be time to test again: {how}.")
    if days_since_assessment >= RETEST_AFTER_DAYS:
        return (f"It has been {int(days_since_assessment)} days since your last assessment. The direction "
                f"that helps can change, so it is worth testing again: {how}.")
    return None
