"""Messages between the pure coach and the world: events in, actions out.

Small frozen dataclasses (compare pipecat's frames). Times are seconds on the
coach's injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field


# --- events: what happened -------------------------------------------------------
@dataclass(frozen=True)
class Heard:
    """The listener understood an intent (from the vocabulary)."""

    intent: str
    text: str = ""


@dataclass(frozen=True)
class NotUnderstood:
    """Speech was detected but is not an answer or command (rejected).

    ``guess``: the intent the recognizer ranked first, clearly but not surely enough to take
    it. The coach may ask "Did you say five?" and takes it only on a heard yes; it is never
    taken as heard."""

    text: str = ""
    guess: str | None = None


@dataclass(frozen=True)
class Silence:
    """Nothing was heard within the listening timeout."""


@dataclass(frozen=True)
class TalkedOver:
    """Speech was dropped because it began while the coach was talking (half duplex).

    The person did say something: the coach asks again at once instead of waiting for
    the silence timeout. ``text`` is empty: the words were never decoded."""

    text: str = ""


@dataclass(frozen=True)
class InputEnded:
    """Typed answers ran out (end of stdin): nobody is left to answer, so stop."""


@dataclass(frozen=True)
class Tick:
    """Time passed; the coach reads the clock itself."""


Event = Heard | NotUnderstood | Silence | TalkedOver | InputEnded | Tick


# --- actions: what to do ---------------------------------------------------------
@dataclass(frozen=True)
class Say:
    """Speak a sentence (and show it as a caption)."""

    text: str


@dataclass(frozen=True)
class Cue:
    """Play a short sound: 'start' (hold begins), 'end' (hold ends), 'tick' (rep)."""

    name: str


@dataclass(frozen=True)
class Listen:
    """Listen for these intents. ``timeout_s`` None: listen for commands until ``Wait`` ends."""

    intents: tuple[str, ...]
    context: str
    timeout_s: float | None = None


@dataclass(frozen=True)
class Wait:
    """Nothing to do until ``until`` (clock seconds): then send :class:`Tick`."""

    until: float


@dataclass(frozen=True)
class Show:
    """Progress for a screen: what is going on now. Never spoken."""

    routine: str
    title: str
    side: str | None = None
    rep: int | None = None
    reps: int | None = None
    ends_at: float | None = None    # clock time (s) when the hold or wait ends
    length_s: float | None = None   # its full length (s), for a countdown bar
    paused: bool = False


@dataclass(frozen=True)
class Record:
    """Something worth keeping in the history (answers, results, holds)."""

    kind: str
    data: dict = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class End:
    """The session is over. ``reason``: 'done', 'stopped' or 'safety'."""

    reason: str


Action = Say | Cue | Listen | Wait | Show | Record | End
