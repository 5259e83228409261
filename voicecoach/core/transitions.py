"""The coach's modes, and what every input does in every mode: one table.

The coach is at a *place* in the program: the menu, a question, a hold, a wait (getting
into position, a rest, a paced repetition). Two modes sit *over* the place without
replacing it: PAUSED, CONFIRM_STOP ("Do you want to go on?") and CONFIRM_GUESS ("Did you
say five?", over a question whose answer was heard but not surely), kept on a small stack.
Leaving them returns to exactly that place.

``TRANSITIONS[mode][input]`` names the handler ``Coach._do_<name>`` that runs; the
handlers are the only code that moves. The guards that decide which row an event is
(``input_of``) and whether a place is a gate (``is_gate``) are named functions here.
"""

from __future__ import annotations

import enum
from typing import Sequence

from voicecoach.core import events as ev
from voicecoach.core.program import Instruction


class Mode(enum.Enum):
    RUNNING = "running"            # between places: executing instructions
    ASKING = "asking"              # a question of the program
    HOLDING = "holding"            # a timed hold
    WAITING = "waiting"            # getting into position, a rest, a paced repetition
    MENU = "menu"                  # which routine?
    CUT = "cut"                    # beneath a stop confirmation: the exercise under way was ended
    PAUSED = "paused"              # overlay: until "resume"
    CONFIRM_STOP = "confirm_stop"  # overlay: "Do you want to go on?"
    CONFIRM_GUESS = "confirm_guess"  # overlay over a question: "Did you say five?"
    ENDED = "ended"


ADJUSTMENTS = ("longer", "shorter", "slower", "faster")
COMMANDS = ("stop", "pause", "resume", "skip", "back", "repeat", "help", "time_left")

# Inputs: an "answer" this place takes (a start word at the menu, an answer of the
# question, yes/no to "go on?"), the commands, "pain" (pain, or "worse" where it is not an
# answer), "adjust" (longer/shorter/slower/faster), "no_answer" (silence, not understood,
# an intent this mode does not take), "talked_over" (an answer begun while the coach
# talked, dropped), "input_ended" (typed answers ran out: nobody is left to answer), "tick"
# (time passed). "refuse" keeps a gate closed; while paused, "beneath" lets the place
# under the pause decide, so a pause never opens a gate. "Did you say five?" takes yes or
# no; anything else leaves it ("unsure") and is what it is at the question beneath.
_TABLE = """
input      MENU         ASKING         HOLDING       WAITING       CONFIRM_STOP    PAUSED   CONFIRM_GUESS
answer     start        answer         ignore        ignore        confirm_answer  ignore   guess_answered
stop       end_stopped  confirm_stop   confirm_stop  confirm_stop  end_stopped     beneath  unsure
pain       end_stopped  confirm_stop   confirm_stop  confirm_stop  confirm_again   beneath  unsure
pause      pause        pause          pause         pause         pause           wait     unsure
resume     wait         wait           wait          wait          wait            resume   wait
skip       refuse       skip_question  skip_block    skip_block    refuse          beneath  unsure
back       refuse       back_question  back          back          refuse          beneath  unsure
repeat     repeat       repeat         repeat        repeat        repeat          repeat   repeat
help       help         help           help          help          help            help     help
time_left  time_left    time_left      time_left     time_left     time_left       time_left time_left
adjust     adjust       adjust         adjust        adjust        adjust          adjust   adjust
no_answer  ask_again    ask_again      ignore        ignore        ask_again       ignore   unsure
talked_over talked_over talked_over    talked_over   talked_over   talked_over     talked_over talked_over
input_ended input_ended input_ended    input_ended   input_ended   input_ended     input_ended input_ended
tick       wait         wait           hold_tick     wait_tick     wait            wait     wait
"""


def _transitions(table: str) -> dict[Mode, dict[str, str]]:
    header, *rows = [line.split() for line in table.strip().splitlines()]
    modes = [Mode[name] for name in header[1:]]
    return {mode: {row[0]: row[1 + i] for row in rows} for i, mode in enumerate(modes)}


TRANSITIONS = _transitions(_TABLE)  # mode -> input -> handler name
INPUTS = tuple(line.split()[0] for line in _TABLE.strip().splitlines()[1:])


def input_of(event: ev.Event, is_answer: bool) -> str:
    """Which row of the table ``event`` is; ``is_answer``: the place takes its intent as
    an answer (only a heard intent can be one)."""
    if isinstance(event, ev.Tick):
        return "tick"
    if isinstance(event, ev.TalkedOver):
        return "talked_over"
    if isinstance(event, ev.InputEnded):
        return "input_ended"
    if not isinstance(event, ev.Heard):
        return "no_answer"
    if is_answer:
        return "answer"
    if event.intent in ("pain", "worse"):  # "worse" where it is not an answer means pain
        return "pain"
    if event.intent in ADJUSTMENTS:
        return "adjust"
    return event.intent if event.intent in COMMANDS else "no_answer"


def is_gate(place: Mode, overlays: Sequence[Mode], here: Instruction | None) -> bool:
    """At a place that only a heard answer may leave (or "stop"): the menu, the stop
    confirmation, or a question whose answer chooses the way on (``here`` is the
    instruction at the place)."""
    if place is Mode.MENU or Mode.CONFIRM_STOP in overlays:
        return True
    return place is Mode.ASKING and bool(here.answers)
