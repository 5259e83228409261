"""The one view model: everything a screen shows, kept current from the coach's actions
and events.

The session shows every action (Say, Listen, Wait, Show, End) and every event (Heard,
NotUnderstood, Silence, TalkedOver) to its display; :func:`update` folds each into one
frozen :class:`ViewState`. The terminal screen and the web page both draw from it, so they
always agree. Rules that keep it from going stale:

* *paused* ends as soon as "resume" is heard, time runs again (a Wait), a question is
  asked (a Listen with a timeout), or a new step is shown; it does not wait for a ``Show``.
* *listening for* describes the Listen under way only: it is cleared when an answer
  arrives, and while the coach talks the screen says it is talking, not listening.
* a rejected answer keeps its words: "a latte please": not understood.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, replace
from typing import Callable, Mapping

from voicecoach.core import events as ev
from voicecoach.content.vocabulary import Vocabulary

# what the screen suggests while paused, and during holds (fourteen commands would not fit)
PAUSED_HINT = "resume (or stop, help)"
HOLD_HINT = "pause, stop, skip, how long left (say help)"


@dataclass(frozen=True)
class ViewState:
    """What every screen shows; replaced (not mutated) on every change. Times are clock s."""

    routine: str = ""                 # spoken name ("Hip stretches")
    routine_id: str = ""
    step: str = "Getting ready"
    side: str | None = None
    rep: int | None = None
    reps: int | None = None
    ends_at: float | None = None      # clock time the countdown ends (s)
    length_s: float | None = None     # full length of the countdown (s)
    paused: bool = False
    caption: str = ""                 # the last sentence the coach said
    talking: bool = False             # the coach is saying ``caption`` now
    listening_for: str | None = None  # what one can say now; None: not listening
    question: bool = False            # listening for an answer (not just commands)
    heard: str | None = None          # words of the last thing heard ("" if none)
    heard_intent: str | None = None   # what it meant; None: not understood
    heard_kind: str | None = None     # 'understood', 'not understood', 'talked over', 'silence'
    ended: str | None = None          # 'done', 'stopped', 'safety'
    picture: str | None = None        # file name of the position's drawing (routines/pictures)

    def heard_line(self) -> str:
        """What the coach last heard, in words: '"a bit better" -> better'."""
        words = f'"{self.heard}"' if self.heard else ""
        if self.heard_kind == "understood":
            return f"{words} -> {self.heard_intent}".strip(" ->") if words else (self.heard_intent or "")
        if self.heard_kind == "not understood":
            return f"{words}: not understood" if words else "not understood"
        if self.heard_kind == "talked over":
            return "you spoke while I was talking: say it again"
        if self.heard_kind == "silence":
            return "(silence)"
        return "-"

    def step_line(self) -> str:
        return step_line(self.step, self.side, self.rep, self.reps)

    def seconds_left(self, now: float) -> float | None:
        if self.paused or self.ends_at is None or self.ended:
            return None
        return max(0.0, self.ends_at - now)


def step_line(step: str, side: str | None, rep: int | None, reps: int | None) -> str:
    """'Figure-4 stretch, left side, 2 of 3'."""
    parts = [step] + ([f"{side} side"] if side and side not in step else [])
    if rep and reps and reps > 1:
        parts.append(f"{rep} of {reps}")
    return ", ".join(parts)


def update(state: ViewState, item, vocab: Vocabulary, names: Mapping[str, str],
           pictures: Mapping[tuple[str, str], str] | None = None) -> ViewState:
    """The state after one action or event (pure: tested without a screen).

    ``names``: routine id -> spoken name; ``pictures``: (routine id, step title) -> picture."""
    if isinstance(item, ev.Show):
        title = item.title or state.step
        same_step = (item.routine, title) == (state.routine_id, state.step)
        picture = (pictures or {}).get((item.routine, title), state.picture if same_step else None)
        return replace(state, routine=names.get(item.routine, item.routine), routine_id=item.routine,
                       step=title, side=item.side, rep=item.rep, reps=item.reps, ends_at=item.ends_at,
                       length_s=item.length_s, paused=item.paused, picture=picture)
    if isinstance(item, ev.Say):
        return replace(state, caption=item.text, talking=True, listening_for=None)
    if isinstance(item, ev.Listen):
        question = item.timeout_s is not None and item.context != "exercise"
        paused = state.paused and not question
        if item.context == "exercise":
            hint = PAUSED_HINT if paused else HOLD_HINT
        else:
            hint = vocab.hint(item.context, item.intents)
        return replace(state, listening_for=hint, question=question, talking=False, paused=paused)
    if isinstance(item, ev.Wait):  # time runs again: not paused
        return replace(state, paused=False)
    if isinstance(item, ev.Heard):
        return replace(state, heard=item.text, heard_intent=item.intent, heard_kind="understood",
                       listening_for=None, paused=state.paused and item.intent != "resume")
    if isinstance(item, ev.NotUnderstood):
        return replace(state, heard=item.text, heard_intent=None, heard_kind="not understood",
                       listening_for=None)
    if isinstance(item, ev.TalkedOver):
        return replace(state, heard=item.text, heard_intent=None, heard_kind="talked over",
                       listening_for=None)
    if isinstance(item, ev.Silence):
        return replace(state, heard="", heard_intent=None, heard_kind="silence", listening_for=None)
    if isinstance(item, ev.End):
        return replace(state, ended=item.reason, ends_at=None, listening_for=None, paused=False,
                       talking=False)
    return state


class ViewModel:
    """The Display the session talks to: holds the one :class:`ViewState` and tells the
    screens (terminal, web page) when it changed. Thread-safe to read."""

    def __init__(self, vocab: Vocabulary, names: Mapping[str, str],
                 pictures: Mapping[tuple[str, str], str] | None = None,
                 level: Callable[[], float] | None = None):
        self.vocab, self.names, self.pictures = vocab, names, dict(pictures or {})
        self.level = level  # input level now (dBFS), read when drawing
        self.state = ViewState()
        self._watchers: list[Callable[[ViewState], None]] = []
        self._lock = threading.Lock()

    def show(self, item) -> None:
        with self._lock:
            self.state = update(self.state, item, self.vocab, self.names, self.pictures)
            state, watchers = self.state, list(self._watchers)
        for watch in watchers:
            watch(state)

    def watch(self, callback: Callable[[ViewState], None]) -> None:
        """Call ``callback(state)`` after every change (from the session's thread)."""
        with self._lock:
            self._watchers.append(callback)

    def level_db(self) -> float | None:
        return self.level() if self.level else None

    def snapshot(self, now: float) -> dict:
        """The state as plain data for a page, with the seconds left at clock time ``now``."""
        state = self.state
        data = asdict(state)
        left = state.seconds_left(now)
        data.update(seconds_left=None if left is None else round(left, 1), step_line=state.step_line(),
                    heard_line=state.heard_line(), level_db=self.level_db())
        data.pop("ends_at")
        return data


def pictures_of(library) -> dict[tuple[str, str], str]:
    """(routine id, exercise name as shown) -> picture file name, from the routine files."""
    out = {}
    for rid, routine in library.routines.items():
        for ex in routine.exercises.values():
            if getattr(ex, "picture", None):
                out[(rid, ex.name)] = ex.picture
    return out


class Tee:
    """Show every action to several displays (the plain lines and the web page)."""

    def __init__(self, *displays):
        self.displays = [d for d in displays if d is not None]

    def show(self, item) -> None:
        for d in self.displays:
            d.show(item)

    def __enter__(self):
        for d in self.displays:
            if hasattr(d, "__enter__"):
                d.__enter__()
        return self

    def __exit__(self, *exc):
        for d in reversed(self.displays):
            if hasattr(d, "__exit__"):
                d.__exit__(*exc)
        return False
