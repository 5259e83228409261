"""A safety stop is remembered: what the next session says and asks first.

Every safety end (a red-flag "yes", worse in both directions, pain spreading or rising)
is recorded with its reason in plain words. The next session names it and asks whether
a doctor or physiotherapist has seen the person since. "No" ends the session with the
same advice; "yes" clears it, and the safety questions are asked again.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.core.program import Block, Choice, Instruction, Question, Speak

CLINICIAN_QUESTION = "Has a doctor or physiotherapist seen you about this since then?"
CHECK_BEFORE_EXERCISING = "Please have a doctor or physiotherapist check this before you exercise."
CLEARED = "Thank you. Then let's go through the safety questions again."
QUESTION_ID = "safety/clinician-seen"


@dataclass(frozen=True)
class SafetyStop:
    """The last safety end: why (a sentence in plain words) and the advice given."""

    reason: str
    advice: str


def follow_up(stop: SafetyStop, block: Block) -> list[Instruction]:
    """Name last time's stop (in ``block``) and ask whether a clinician has seen them since
    (a block of its own, so that "back" returns to the question)."""
    said = f"Last time we stopped early, for your safety. {stop.reason or stop.advice}"
    answers = {"yes": Choice(say=CLEARED, clears=True),
               "no": Choice(stop=stop.advice, reason=stop.reason)}
    return [Speak(f"{said} {CHECK_BEFORE_EXERCISING}", block),
            Question(CLINICIAN_QUESTION, "yesno", answers, QUESTION_ID, Block(block.index, "", "Safety check"))]
