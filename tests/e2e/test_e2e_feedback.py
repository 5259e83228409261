"""An answer begun while the coach is still talking, through the real audio path: the
coach's voice on the PulseAudio null sink, the person's on the pipe source. The answer is
dropped whole (half duplex), and the coach must say so at once ("Sorry, please say it again."), not fall silent until
the silence timeout, and not answer as it does to silence."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from voicecoach.store.history import Store

from tests.e2e.test_e2e_voice import answer_pcm, pulse  # noqa: F401  (the PulseAudio fixture)
from tests.support.speaker_monitor import SpeakerMonitor

pytestmark = pytest.mark.e2e
TALKED_OVER = "Sorry, please say it again."


def trimmed(name: str) -> bytes:
    """An answer without its leading and trailing silence (so answers run on without a gap)."""
    x = np.frombuffer(answer_pcm(name), dtype="<i2")
    loud = np.flatnonzero(np.abs(x.astype(np.int32)) > 1500)
    return x[max(0, loud[0] - 800):loud[-1] + 800].tobytes()


def test_an_answer_said_over_the_coach_gets_an_immediate_sorry(pulse, tmp_path):  # noqa: F811
    history = tmp_path / "history.sqlite3"
    store = Store(history)
    store.set_fact("screen_passed", True)
    store.close()
    env = {**os.environ, "PULSE_SERVER": pulse["PULSE_SERVER"]}
    monitor = SpeakerMonitor(env)
    coach = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", "hip-stretches", "--speed", "10",
                              "--silence-timeout", "100", "--history", str(history)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l.rstrip("\n")) for l in coach.stdout], daemon=True).start()
    mic = pulse["mic"]
    said: list[str] = []

    def next_line(timeout: float) -> str | None:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            return None
        said.append(line)
        return line

    try:
        deadline = time.monotonic() + 60
        while not (said and said[-1].endswith("from zero to ten?")):  # the caption comes as it starts speaking
            assert time.monotonic() < deadline and coach.poll() is None, said[-3:]
            next_line(0.5)
        # Talk over the question: from while the coach speaks until 0.5 s after it stopped.
        clips = [trimmed(n) for n in ("skip", "better", "same", "worse")]
        i, talking_from = 0, time.monotonic()
        while time.monotonic() - talking_from < 15:
            if mic.pending.qsize() == 0:
                mic.say(clips[i % len(clips)])
                i += 1
            if monitor.finished_since(talking_from):
                break
            time.sleep(0.05)
        assert monitor.last_loud > talking_from, "the coach's voice never reached the loudspeaker"
        while mic.speaking.is_set():
            time.sleep(0.02)
        stopped_talking = time.monotonic()
        reply = None
        while reply is None and time.monotonic() - stopped_talking < 8:  # the silence timeout is 10 s
            line = next_line(0.2)
            if line and (line.startswith(TALKED_OVER) or line.startswith("I didn't hear")):
                reply = line
        delay = time.monotonic() - stopped_talking
    finally:
        coach.kill()
        coach.wait(timeout=10)
        monitor.stop()
    err = coach.stderr.read()
    assert reply == TALKED_OVER, (said[-4:], err[-1500:])
    # it answered before its own 10 s silence timeout (the loop above gives up at 8 s); how
    # fast is for the benchmark
    print(f"the coach reacted {delay:.1f} s after the talking over ended")
