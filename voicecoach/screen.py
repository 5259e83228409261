"""What a person on the floor sees: a live terminal screen (rich), or plain lines.

Both are Display adapters: the session shows them every action and event, and they
keep only what is worth showing. :class:`LiveScreen` draws, in large clear blocks,
the routine and step ("Figure-4 stretch, left side, 2 of 3"), a countdown bar, the
last sentence spoken, what the coach is listening for, what it last heard and the
microphone level. :class:`LineDisplay` prints one plain line per new step: for
``--text``, pipes and CI (no escape codes).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Callable, Mapping, TextIO

from rich.align import Align
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from . import events as ev
from .vocabulary import Vocabulary

LEVEL_FLOOR_DB = -70.0  # the level meter's empty end (dBFS)
BAR_WIDTH = 36  # countdown bar (characters)


@dataclass(frozen=True)
class ScreenState:
    """Everything the screen shows; replaced (not mutated) on every change."""

    routine: str = ""
    step: str = "Getting ready"
    side: str | None = None
    rep: int | None = None
    reps: int | None = None
    ends_at: float | None = None     # clock time (s)
    length_s: float | None = None    # full length of the countdown (s)
    paused: bool = False
    caption: str = ""
    listening_for: str | None = None
    heard: str | None = None
    ended: str | None = None


def step_line(step: str, side: str | None, rep: int | None, reps: int | None) -> str:
    """'Figure-4 stretch, left side, 2 of 3'."""
    parts = [step] + ([f"{side} side"] if side and side not in step else [])
    if rep and reps and reps > 1:
        parts.append(f"{rep} of {reps}")
    return ", ".join(parts)


def update(state: ScreenState, item, vocab: Vocabulary, names: Mapping[str, str]) -> ScreenState:
    """The state after one action or event (pure: tested without a terminal)."""
    if isinstance(item, ev.Show):
        return replace(state, routine=names.get(item.routine, item.routine), step=item.title or state.step,
                       side=item.side, rep=item.rep, reps=item.reps, ends_at=item.ends_at,
                       length_s=item.length_s, paused=item.paused)
    if isinstance(item, ev.Say):
        return replace(state, caption=item.text)
    if isinstance(item, ev.Listen):
        if item.context == "exercise":  # fourteen commands would not fit: the usual ones
            return replace(state, listening_for="commands: pause, stop, skip, how long left (say help)")
        return replace(state, listening_for=vocab.hint(item.context, item.intents))
    if isinstance(item, ev.Wait):
        return state
    if isinstance(item, ev.Heard):
        return replace(state, heard=f'"{item.text}" -> {item.intent}' if item.text else item.intent)
    if isinstance(item, ev.NotUnderstood):
        return replace(state, heard=f'"{item.text}": not understood' if item.text else "not understood")
    if isinstance(item, ev.Silence):
        return replace(state, heard="(silence)")
    if isinstance(item, ev.End):
        return replace(state, ended=item.reason, ends_at=None, listening_for=None)
    return state


def render(state: ScreenState, now: float, level_db: float | None = None) -> Panel:
    """The screen for ``state`` at clock time ``now`` (s)."""
    rows: list = []
    step = Text(step_line(state.step, state.side, state.rep, state.reps).upper(), style="bold", justify="center")
    rows.append(step)
    rows.append(Text(""))
    if state.paused:
        rows.append(Text("PAUSED - say resume", style="bold yellow", justify="center"))
    elif state.ends_at is not None and state.length_s:
        left = max(0.0, state.ends_at - now)
        done = round(BAR_WIDTH * (1 - left / state.length_s))
        # block characters, not colour alone: readable in any terminal and from afar
        bar = Text("█" * done, style="green") + Text("░" * (BAR_WIDTH - done), style="dim")
        rows.append(Align.center(bar + Text(f"  {left:3.0f} s left", style="bold")))
    else:
        rows.append(Text(""))
    rows.append(Text(""))
    rows.append(Text(f'"{state.caption}"' if state.caption else "", style="italic", justify="center"))
    rows.append(Text(""))
    info = Table.grid(padding=(0, 1))
    info.add_column(style="dim", justify="right")
    info.add_column()
    listening = "-" if state.ended else (state.listening_for or "-")
    info.add_row("listening for", listening)
    info.add_row("heard", state.heard or "-")
    if level_db is not None:
        filled = int(max(0.0, min(1.0, (level_db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB)) * 20)
        info.add_row("microphone", f"{'#' * filled}{'.' * (20 - filled)} {level_db:4.0f} dBFS")
    rows.append(info)
    title = f"voicecoach - {state.routine}" if state.routine else "voicecoach"
    subtitle = {"done": "finished", "stopped": "stopped", "safety": "stopped for safety"}.get(state.ended or "")
    return Panel(Group(*rows), title=title, subtitle=subtitle, padding=(1, 2))


class LiveScreen:
    """The live screen: a Display for the session, redrawn four times a second."""

    def __init__(self, clock: Callable[[], float], vocab: Vocabulary, names: Mapping[str, str],
                 level: Callable[[], float] | None = None, console: Console | None = None):
        from rich.live import Live
        self.clock, self.vocab, self.names, self.level = clock, vocab, names, level
        self.state = ScreenState()
        self.console = console or Console()
        # Full screen: every refresh redraws it all, so stray writes to the terminal (the
        # sound libraries write warnings straight to fd 2) cannot leave broken frames behind.
        self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=4,
                          screen=True, redirect_stderr=True, redirect_stdout=True)

    def _render(self):
        return render(self.state, self.clock(), self.level() if self.level else None)

    def show(self, item) -> None:
        self.state = update(self.state, item, self.vocab, self.names)

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
