"""Feedback when the coach did not hear, and the papercuts a new user found."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys

import numpy as np
import pytest

from voicecoach.core import events as ev
from voicecoach.hearing.pocketsphinx import PhraseRecognizer
from voicecoach.cli.check import LevelPrinter
from voicecoach.core.coach import Coach
from voicecoach.hearing.endpointer import Endpointer
from voicecoach.hearing.pipeline import HearingPipeline
from voicecoach.hearing.listener import VoiceListener

from tests.support.fakes import FakeClock, FakeMicrophone, QuietFrom

LOUD, QUIET = np.full(480, 8000, "<i2").tobytes(), np.zeros(480, "<i2").tobytes()


def voicecoach(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, text=True,
                          capture_output=True, env=dict(os.environ), timeout=60)


# ---------------------------------------------------------------- talked over
@pytest.fixture(scope="module")
def recognizer(library, vocabulary):
    return PhraseRecognizer(vocabulary.with_routines(library.spoken_names()))


def listener_hearing(recognizer, frames, coach_quiet_at: float) -> VoiceListener:
    """A VoiceListener on frames captured every 30 ms from 0 s; the coach talks until ``coach_quiet_at``."""
    ep = Endpointer(lambda f: f == LOUD)
    ep.calibrate([QUIET] * 20)
    mic = FakeMicrophone([(i * 0.03, f) for i, f in enumerate(frames)])
    return VoiceListener(mic, HearingPipeline(ep, recognizer, "rating"), QuietFrom(coach_quiet_at))


def test_an_answer_begun_while_the_coach_talked_is_reported_at_once(recognizer):
    # speech from 0.6 s, the coach quiet from 0.9 s, the person goes on until 1.5 s
    frames = [QUIET] * 20 + [LOUD] * 30 + [QUIET] * 40
    heard = listener_hearing(recognizer, frames, coach_quiet_at=0.9).listen(("better",), "rating", 0.5)
    assert heard == ev.TalkedOver()


def test_quiet_after_the_coach_is_not_talked_over(recognizer):
    frames = [LOUD] * 20 + [QUIET] * 40  # loud only while the coach talks: its own voice, or its echo
    assert listener_hearing(recognizer, frames, coach_quiet_at=0.9).listen(("better",), "rating", 0.2) is None


class _RefusesAs:
    """A transcribing recognizer that refuses every utterance for the reasons given, in turn."""

    engine, streaming = "scripted", False

    def __init__(self, *reasons):
        self.reasons = list(reasons)

    def recognize(self, pcm, context, too_long=False):
        from voicecoach.hearing.recognizer import Recognition
        return Recognition("...", None, 0.0, 0.0, 1.0, self.reasons.pop(0), self.engine)


@pytest.mark.parametrize("reason", ["not speech", "no words", "too long"])
def test_the_room_is_not_answered_with_sorry(reason):
    """A dish, a cough or a radio refused as no speech is not a failed answer: keep listening."""
    frames = ([QUIET] * 10 + [LOUD] * 10 + [QUIET] * 20) * 2
    listener = listener_hearing(_RefusesAs(reason, "no phrase"), frames, coach_quiet_at=0.0)
    assert listener.listen(("yes", "no"), "yesno", 10.0) == ev.NotUnderstood("...")  # the second sound
    assert listener.last.reason == "no phrase"


def test_the_coach_asks_again_at_once_and_it_is_not_a_failed_answer(library, vocabulary):
    clock = FakeClock()
    coach = Coach(library, vocabulary, clock.now, routine="assessment", disclaimer=False)
    actions = coach.start()
    while not any(isinstance(a, ev.Listen) and a.context == "movement" for a in actions):
        clock.t += 100
        actions = coach.handle(ev.Tick())
    for _ in range(3):  # more than MAX_FAILED_ANSWERS: talking over never pauses the session
        actions = coach.handle(ev.TalkedOver())
        said = [a.text for a in actions if isinstance(a, ev.Say)]
        assert said == ["Sorry, please say it again."]
        assert isinstance(actions[-1], ev.Listen) and actions[-1].context == "movement"
    hips = Coach(library, vocabulary, clock.now, routine="hip-stretches", disclaimer=False)
    actions = hips.start()
    while not any(isinstance(a, ev.Show) and a.rep for a in actions):  # into the first hold
        clock.t += 30
        actions = hips.handle(ev.Tick())
    during_hold = hips.handle(ev.TalkedOver())
    assert [a.text for a in during_hold if isinstance(a, ev.Say)] == ["Sorry, please say it again."]
    assert isinstance(during_hold[-2], ev.Wait)  # the hold goes on


def test_the_menu_re_ask_offers_a_few_likely_routines(library, vocabulary):
    coach = Coach(library, vocabulary, FakeClock().now, disclaimer=False)
    first = " ".join(a.text for a in coach.start() if isinstance(a, ev.Say))
    assert "nerve glides" in first and "safety check" in first  # the first time: all of them
    again = [a.text for a in coach.handle(ev.NotUnderstood("pizza")) if isinstance(a, ev.Say)]
    assert again == ["Sorry, I didn't catch that. Please say assessment, hip stretches, nerve glides, or say help."]


# ---------------------------------------------------------------- papercuts
def test_end_of_typed_input_stops_without_asking_whether_to_go_on():
    r = voicecoach("run", "hip-stretches", "--text", "--speed", "1000", stdin="")
    assert r.returncode == 0, r.stderr
    assert "Do you want to go on" not in r.stdout
    assert r.stdout.rstrip().endswith("Okay, we'll stop here. Well done.")


def test_the_level_goes_to_a_pipe_as_a_line_a_second():
    out, clock = io.StringIO(), FakeClock()
    printer = LevelPrinter(out, clock=clock.now)
    for i in range(100):  # 3 s of 30 ms frames
        printer(-40.0 if i != 50 else -12.0)
        clock.t += 0.03
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 2
    assert lines[1] == "level  -12.0 dBFS"  # the loudest of that second


def test_routines_show_minutes_with_one_decimal():
    r = voicecoach("routines")
    row = next(line for line in r.stdout.splitlines() if line.startswith(" hip-stretches") or
               line.startswith("hip-stretches"))
    assert row.split()[-1] == "6.5"


def test_config_says_what_a_voice_may_be():
    r = voicecoach("config")
    row = next(line for line in r.stdout.splitlines() if line.strip().startswith("speech.voice"))
    assert "any text" not in row and "espeak-ng voice" in row


def test_a_single_session_charts_a_week_not_years(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from voicecoach.store.report import _date_axis
    fig, ax = plt.subplots()
    when = [dt.datetime(2026, 11, 26, 9, 30)]
    ax.plot(when, [4])
    _date_axis(ax, when)
    lo, hi = (mdates.num2date(x).replace(tzinfo=None) for x in ax.get_xlim())
    plt.close(fig)
    assert lo < when[0] < hi and hi - lo <= dt.timedelta(days=10)
