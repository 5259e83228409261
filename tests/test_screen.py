"""The live screen rendered to text for a few states (snapshots), and the plain lines.

Snapshots live in tests/snapshots/; after an intended layout change, look at the
new rendering and rewrite them with UPDATE_SNAPSHOTS=1.
"""

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from voicecoach import events as ev
from voicecoach.coach import Coach
from voicecoach.screen import LineDisplay, ScreenState, render, update

SNAPSHOTS = Path(__file__).parent / "snapshots"
NAMES = {"hip-stretches": "Hip stretches", "assessment": "Assessment"}


def as_text(state: ScreenState, now: float, level_db=None) -> str:
    console = Console(file=io.StringIO(), width=64, color_system=None, force_terminal=False, legacy_windows=False)
    console.print(render(state, now, level_db))
    return console.file.getvalue()


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(text)
    assert text == path.read_text(), f"screen layout changed; see {path}"


def feed(vocab, *items, state=None):
    state = state or ScreenState()
    for item in items:
        state = update(state, item, vocab, NAMES)
    return state


@pytest.fixture
def vocab(library, vocabulary):
    return vocabulary.with_routines(library.spoken_names())


def test_a_hold_shows_step_side_rep_countdown_caption_and_what_was_heard(vocab):
    state = feed(vocab,
                 ev.Show("hip-stretches", "Figure-4 stretch", "left", 2, 3, ends_at=112.0, length_s=20.0),
                 ev.Say("Number 2 of 3. Hold for 20 seconds."),
                 ev.Listen(vocab.intents_for("exercise"), "exercise", None),
                 ev.Heard("time_left", "how long left"))
    text = as_text(state, now=100.0, level_db=-35.0)
    assert "FIGURE-4 STRETCH, LEFT SIDE, 2 OF 3" in text and "12 s left" in text
    check_snapshot("hold", text)


def test_a_question_shows_the_answers_it_listens_for(vocab):
    state = feed(vocab, ev.Show("assessment", "Knees to chest"), ev.Say("Better, worse, or the same?"),
                 ev.Listen(vocab.intents_for("rating"), "rating", 8.0), ev.NotUnderstood("a latte please"))
    text = as_text(state, now=0.0, level_db=-60.0)
    assert "better, worse, the same" in text and "not understood" in text
    check_snapshot("question", text)


def test_paused_and_ended_screens(vocab):
    paused = feed(vocab, ev.Show("hip-stretches", "Figure-4 stretch", "right", paused=True),
                  ev.Say("Paused. Say resume when you're ready."))
    check_snapshot("paused", as_text(paused, now=0.0))
    ended = feed(vocab, ev.End("safety"), state=paused)
    text = as_text(ended, now=0.0)
    assert "stopped for safety" in text
    check_snapshot("ended", text)


def test_a_whole_session_drives_the_screen_state(library, vocabulary):
    """The coach's own actions keep the screen right, not hand-made ones."""
    t = [0.0]
    coach = Coach(library, vocabulary, lambda: t[0], routine="hip-stretches", disclaimer=False)
    state = feed(coach.vocab, *coach.start())
    while state.rep is None:
        t[0] += 30
        state = feed(coach.vocab, *coach.handle(ev.Tick()), state=state)
    assert (state.routine, state.step, state.side, state.rep, state.reps) == \
        ("Hip stretches", "Knee to opposite shoulder", "left", 1, 3)
    assert state.caption == "Hold for 20 seconds." and state.length_s == 20


def test_plain_lines_once_per_step_and_rep():
    out = io.StringIO()
    lines = LineDisplay(out)
    for item in (ev.Show("hip-stretches", "Figure-4 stretch", "left"),
                 ev.Show("hip-stretches", "Figure-4 stretch", "left", 1, 3, 100.0, 20.0),
                 ev.Say("Halfway."),
                 ev.Show("hip-stretches", "Figure-4 stretch", "left", None, None, 105.0, 5.0),  # rest
                 ev.Show("hip-stretches", "Figure-4 stretch", "left", 2, 3, 130.0, 20.0)):
        lines.show(item)
    assert out.getvalue().splitlines() == ["[Figure-4 stretch, left side]",
                                           "[Figure-4 stretch, left side, 1 of 3: 20 s]",
                                           "[Figure-4 stretch, left side, 2 of 3: 20 s]"]
