from __future__ import annotations

import pytest

from voicecoach.core.coach import Coach
from voicecoach.core.plan import HistoryFacts
from voicecoach.content.loader import load_library
from voicecoach.session.loop import Session
from voicecoach.content.vocabulary import Vocabulary

from tests.support.fakes import FakeClock, FakeSpeaker, ListRecorder, ScriptedListener


def pytest_collection_modifyitems(items):
    """Run the tests that play whole sessions in real time first, longest first, then the other
    end-to-end tests, then the rest. ``scripts/test.sh`` runs two pytest-xdist workers, each
    given two tests at a time (``--maxschedchunk 1``): the end-to-end tests mostly wait for
    sound to play, so handed out this way the long sessions play side by side while the short
    tests fill the gaps (here 9 min 44 s in one process, 5 min 8 s in two). Handed out in
    xdist's default chunks, one worker got every long session in a row."""
    def rank(item):
        long = item.get_closest_marker("long")
        if long:  # its seconds on a quiet machine
            return 0, -long.kwargs.get("seconds", 0)
        return (1 if item.get_closest_marker("e2e") else 2), 0
    items.sort(key=rank)  # stable: each group keeps its order


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Never touch the developer's own routines, settings or history."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def library():
    return load_library(include_user=False)


@pytest.fixture(scope="session")
def vocabulary():
    return Vocabulary.load()


class Played:
    def __init__(self, reason, speaker, listener, recorder, clock, coach):
        self.reason, self.speaker, self.listener = reason, speaker, listener
        self.recorder, self.clock, self.coach = recorder, clock, coach

    @property
    def text(self) -> str:
        return self.speaker.text()


@pytest.fixture
def play(library, vocabulary):
    """Run a whole scripted session through the pure coach with fake devices."""

    def _play(routine=None, answers=(), interrupts=(), screen=False, seconds_per_word=0.0, history=None, **kw):
        clock = FakeClock()
        speaker = FakeSpeaker(clock, seconds_per_word)
        listener = ScriptedListener(clock, speaker, answers, interrupts)
        recorder = ListRecorder()
        coach = Coach(library, vocabulary, clock.now, routine=routine, history=history or HistoryFacts(screen=screen), **kw)
        reason = Session(coach, speaker, listener, clock, recorder=recorder).run()
        return Played(reason, speaker, listener, recorder, clock, coach)

    return _play
