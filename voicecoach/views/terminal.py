"""What a person on the floor sees in a terminal: a live full-screen view (rich), or plain lines.

:class:`LiveScreen` draws the one :class:`~voicecoach.views.model.ViewState` so it can be
read from two metres: the countdown and the step name in large letters (figlet fonts
through pyfiglet), everything else in bold, laid out for the terminal's size (80x24 up to
full screen). :class:`LineDisplay` prints one plain line per new step: for ``--text``,
pipes and CI (no escape codes).
"""

from __future__ import annotations

import math
import sys
from functools import lru_cache
from typing import Callable, TextIO

from rich.align import Align
from rich.console import Console, Group
from rich.text import Text

from voicecoach.core import events as ev
from voicecoach.views.model import ViewModel, ViewState, step_line

LEVEL_FLOOR_DB = -70.0  # the level meter's empty end (dBFS)
BIG_FONT = "ansi_regular"  # solid block letters: the most legible from afar
STEP_FONTS = ("ansi_regular", "small")  # largest first; plain bold text if neither fits

__all__ = ["LineDisplay", "LiveScreen", "render", "step_line", "big_text"]


@lru_cache(maxsize=256)
def big_text(text: str, font: str, width: int, scale: int = 1) -> tuple[str, ...]:
    """``text`` in a figlet ``font``, wrapped at ``width`` columns, blank rows trimmed;
    ``scale`` 2 doubles every character both ways (for large screens)."""
    import pyfiglet
    rows = pyfiglet.figlet_format(text, font=font, width=max(20, width // scale)).rstrip().split("\n")
    rows = [r.rstrip() for r in rows]
    while rows and not rows[0].strip():
        rows.pop(0)
    # a wrapped name leaves the font's empty rows between its lines: keep one
    rows = [r for i, r in enumerate(rows) if r.strip() or (i and rows[i - 1].strip())]
    if scale > 1:
        rows = [("".join(c * scale for c in r)) for r in rows for _ in range(scale)]
    return tuple(rows)


def _block(rows: tuple[str, ...], style: str) -> Align:
    """Figlet rows as one block, centred as a whole (rows keep their alignment)."""
    return Align.center(Text("\n".join(rows), style=style, no_wrap=True, overflow="crop"))


def _clock_face(seconds: float) -> str:
    """'12', or '1:05' from a minute up (whole seconds, rounded up: 0 only at the end)."""
    s = math.ceil(seconds - 1e-6)
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s}"


def render(state: ViewState, now: float, level_db: float | None = None, width: int = 80, height: int = 24):
    """The screen for ``state`` at clock time ``now`` (s), laid out for ``width`` x ``height``.

    The countdown and the step name get the largest letters that fit; blank spacer rows
    are the first thing given up on a small terminal."""
    status = {"done": "FINISHED", "stopped": "STOPPED", "safety": "STOPPED FOR SAFETY"}.get(state.ended or "")
    status = status or ("PAUSED" if state.paused else "SPEAKING" if state.talking
                        else "LISTENING" if state.listening_for else "")
    header = Align.center(Text.assemble((state.routine.upper() or "VOICECOACH", "bold"), "   ",
                                        (status, "bold reverse")))
    detail = step_line("", state.side, state.rep, state.reps).strip(", ").upper()
    caption = Text(f'"{state.caption}"' if state.caption else "", style="bold italic", justify="center")
    caption_rows = max(1, math.ceil(len(caption.plain) / max(1, width)))
    info = _info(state, level_db, width)
    fixed = 1 + (1 if detail else 0) + caption_rows + len(info.plain.split("\n"))

    # the middle: the countdown (or PAUSED, or what a question takes) in the largest letters
    left = state.seconds_left(now)
    face, style, under = None, "bold", None
    if state.ended:
        face = status.split(" FOR ")[0]
    elif state.paused:
        face, style, under = "PAUSED", "bold yellow", Text("say resume", style="bold yellow")
    elif left is not None and state.length_s:
        face, style = _clock_face(left), "bold cyan"
        bar_w = max(10, min(width - 4, 120))
        done = round(bar_w * (1 - left / state.length_s))
        # block characters, not colour alone: readable in any terminal and from afar
        under = Text("█" * done, style="bold green") + Text("░" * (bar_w - done), style="dim")
    elif state.question and state.listening_for:
        under = Text(f"say: {state.listening_for}", style="bold", justify="center")
    under_rows = 0 if under is None else max(1, math.ceil(len(under.plain) / max(1, width)))
    if state.question and under is not None and not state.ended:
        # what to answer matters more than the step's name now: large letters if they fit
        answers = big_text(under.plain, "small", width)
        if fixed + 1 + len(answers) <= height and max(map(len, answers), default=0) <= width:
            under, under_rows = _block(answers, "bold green"), len(answers)

    # the step name: the largest font that fits, leaving the countdown at least one size
    face_rows = len(big_text(face, BIG_FONT, width)) if face else 0
    room = height - fixed - face_rows - under_rows
    step_rows: tuple[str, ...] = (state.step.upper(),)
    for font in STEP_FONTS:
        shown = big_text(state.step.upper() if font != "small" else state.step, font, width)
        if len(shown) <= room and max(map(len, shown), default=0) <= width:
            step_rows = shown
            break
    digits: tuple[str, ...] = ()
    if face:  # then the countdown grows into what is left (up to 6x on a large screen)
        for scale in (6, 5, 4, 3, 2, 1):
            digits = big_text(face, BIG_FONT, width, scale)
            fits = max(map(len, digits), default=0) <= width
            if scale == 1 or (fits and fixed + len(step_rows) + len(digits) + under_rows + 4 <= height):
                break
    spare = height - fixed - len(step_rows) - len(digits) - under_rows
    gap = [Text("")] if spare > 0 else []
    rows: list = [header]
    rows += gap if spare >= 4 else []
    rows.append(_block(step_rows, "bold"))
    if detail:
        rows.append(Align.center(Text(detail, style="bold")))
    rows += gap if spare >= 2 else []
    if digits:
        rows.append(_block(digits, style))
    if under is not None:
        rows.append(under if isinstance(under, Align) else Align.center(under))
    rows += gap if spare >= 1 else []
    rows.append(caption)
    rows += gap if spare >= 3 else []
    rows.append(info)
    return Group(*rows)


def _info(state: ViewState, level_db: float | None, width: int) -> Text:
    """Listening for / heard / microphone, one bold line each."""
    if state.ended:
        listening = "-"
    elif state.talking:
        listening = "(the coach is talking)"
    else:
        listening = state.listening_for or "-"
    lines = [("listening for", listening), ("heard", state.heard_line())]
    if level_db is not None:
        filled = int(max(0.0, min(1.0, (level_db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB)) * 20)
        lines.append(("microphone", f"{'#' * filled}{'.' * (20 - filled)} {level_db:4.0f} dBFS"))
    text = Text(justify="left", no_wrap=False)
    for i, (label, value) in enumerate(lines):
        text.append(f"{label:>14}  ", style="bold dim")
        text.append(value + ("\n" if i < len(lines) - 1 else ""), style="bold")
    return text


class LiveScreen:
    """The live terminal view of a :class:`ViewModel`, redrawn four times a second."""

    def __init__(self, model: ViewModel, clock: Callable[[], float], console: Console | None = None):
        from rich.live import Live
        self.model, self.clock = model, clock
        self.console = console or Console()
        # Full screen: every refresh redraws it all, so stray writes to the terminal (the
        # sound libraries write warnings straight to fd 2) cannot leave broken frames behind.
        self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=4,
                          screen=True, redirect_stderr=True, redirect_stdout=True)

    def _render(self):
        size = self.console.size
        return render(self.model.state, self.clock(), self.model.level_db(), size.width, size.height)

    def show(self, item) -> None:
        self.model.show(item)

    # the screen doubles as captions when the voice is missing
    def say(self, text: str) -> None:
        self.show(ev.Say(text))

    def cue(self, name: str) -> None:
        pass

    def __enter__(self):
        self._live.__enter__()
        return self

    def __exit__(self, *exc):
        result = self._live.__exit__(*exc)
        self.console.print(self._render())  # the last screen stays after the full-screen view closes
        return result


class LineDisplay:
    """One plain line per new step, e.g. ``[Figure-4 stretch, left side, 2 of 3: 20 s]``."""

    def __init__(self, out: TextIO | None = None):
        self.out = out or sys.stdout
        self._last: tuple | None = None

    def show(self, item) -> None:
        if not isinstance(item, ev.Show) or not item.title:
            return
        key = (item.title, item.side, item.rep, item.paused)
        same_step = self._last is not None and self._last[:2] == key[:2]
        if key == self._last or (same_step and item.rep is None and not item.paused):
            return  # rests and waits within a step need no new line
        self._last = key
        line = step_line(item.title, item.side, item.rep, item.reps)
        if item.paused:
            line += ": paused"
        elif item.length_s and item.rep:
            line += f": {item.length_s:.0f} s"
        print(f"[{line}]", file=self.out, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
