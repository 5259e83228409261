"""The live screen rendered to text for a few states (snapshots), and the plain lines.

Snapshots live in tests/unit/views/snapshots/; after an intended layout change, look at the
new rendering and rewrite them with UPDATE_SNAPSHOTS=1.
"""

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from voicecoach.core import events as ev
from voicecoach.core.coach import Coach
from voicecoach.views.terminal import LineDisplay, render
from voicecoach.views.model import ViewState, update

SNAPSHOTS = Path(__file__).parent / "snapshots"
NAMES = {"hip-stretches": "Hip stretches", "assessment": "Assessment"}
SIZES = [(80, 24), (200, 50)]


def as_text(state: ViewState, now: float, level_db=None, size=(80, 24)) -> str:
    width, height = size
    console = Console(file=io.StringIO(), width=width, height=height, color_system=None, force_terminal=False,
                      legacy_windows=False)
    console.print(render(state, now, level_db, width, height))
    text = console.file.getvalue()
    lines = text.splitlines()
    assert len(lines) <= height and max(len(line) for line in lines) <= width, f"does not fit {size}"
    assert "\x1b" not in text
    return text


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(text)
    assert text == path.read_text(), f"screen layout changed; see {path}"


def feed(vocab, *items, state=None):
    state = state or ViewState()
    for item in items:
        state = update(state, item, vocab, NAMES)
    return state


def big_rows(text: str) -> int:
    """Rows drawn in solid block letters (the large countdown and step name)."""
    return sum(1 for line in text.splitlines() if line.count("██") >= 2 and "░" not in line)


@pytest.fixture
def vocab(library, vocabulary):
    return vocabulary.with_routines(library.spoken_names())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_hold_shows_big_countdown_step_side_rep_caption_and_what_was_heard(vocab, size):
    state = feed(vocab,
                 ev.Show("hip-stretches", "Figure-4 stretch", "left", 2, 3, ends_at=112.0, length_s=20.0),
                 ev.Say("Number 2 of 3. Hold for 20 seconds."),
                 ev.Listen(vocab.intents_for("exercise"), "exercise", None),
                 ev.Heard("time_left", "how long left"))
    text = as_text(state, now=100.0, level_db=-35.0, size=size)
    assert "LEFT SIDE, 2 OF 3" in text and '"how long left" -> time_left' in text
    assert big_rows(text) >= (5 if size[1] < 40 else 15)  # the 12 in block letters, larger on a big screen
    check_snapshot(f"hold-{size[0]}x{size[1]}", text)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_question_shows_the_answers_it_listens_for(vocab, size):
    state = feed(vocab, ev.Show("assessment", "Knees to chest"), ev.Say("Better, worse, or the same?"),
                 ev.Listen(vocab.intents_for("rating"), "rating", 8.0), ev.NotUnderstood("a latte please"),
                 ev.Say("Sorry, I didn't catch that. Please say better, worse, or the same."),
                 ev.Listen(vocab.intents_for("rating"), "rating", 8.0))
    text = as_text(state, now=0.0, level_db=-60.0, size=size)
    assert "listening for  better, worse, the same" in text and '"a latte please": not understood' in text
    assert "_" in text and "/" in text  # the answers in large (figlet) letters
    check_snapshot(f"question-{size[0]}x{size[1]}", text)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_paused_and_ended_screens(vocab, size):
    paused = feed(vocab, ev.Show("hip-stretches", "Figure-4 stretch", "right", paused=True),
                  ev.Say("Paused. Say resume when you're ready."),
                  ev.Listen(tuple(vocab.commands), "exercise", None))
    text = as_text(paused, now=0.0, size=size)
    assert "say resume" in text and "resume (or stop, help)" in text
    check_snapshot(f"paused-{size[0]}x{size[1]}", text)
    ended = feed(vocab, ev.End("safety"), state=paused)
    text = as_text(ended, now=0.0, size=size)
    assert "STOPPED FOR SAFETY" in text and "PAUSED" not in text
    check_snapshot(f"ended-{size[0]}x{size[1]}", text)


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
    text = as_text(state, now=t[0] + 5, size=(80, 24))
    assert big_rows(text) >= 5


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
