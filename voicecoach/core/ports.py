"""The small interfaces between the pure coach and the devices (adapters implement them)."""

from __future__ import annotations

from typing import Protocol, Sequence

from voicecoach.core.events import Heard, NotUnderstood


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock (monotonic)."""

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of this clock pass."""


class Speaker(Protocol):
    def say(self, text: str) -> None:
        """Speak (or print) ``text``; return when it has been said."""

    def cue(self, name: str) -> None:
        """Play a short cue sound ('start', 'end', 'tick')."""


class Listener(Protocol):
    def listen(self, intents: Sequence[str], context: str, timeout_s: float | None) -> Heard | NotUnderstood | None:
        """Wait up to ``timeout_s`` clock seconds (None: forever) for one utterance.

        Returns the intent heard, NotUnderstood for rejected speech, TalkedOver for speech
        dropped because it began while the coach talked, InputEnded when typed input ran
        out, or None when nothing was said in time.
        """


class Recorder(Protocol):
    def record(self, kind: str, data: dict) -> None:
        """Keep something in the history."""


class Display(Protocol):
    def show(self, action) -> None:
        """Show an action (caption, progress, what was heard) to someone looking."""
