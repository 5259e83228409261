"""Barge-in end to end: the unchanged ``voicecoach run`` with ``listening.barge_in = on``
speaks into a PulseAudio null sink whose monitor comes back into the pipe-source microphone
through an echo path (``tests/support/echo_path.py``: delayed, reverberated, as loud as the
person or louder), heard by Whisper through the echo canceller.

- "stop" said over the long instruction of a hold is acted on: the coach stops that
  sentence and says "Stopping. Relax.", then asks to go on (as it does for stop);
- the coach's own voice coming back, with nobody speaking, is never taken for a word.

No timed assertions: the times are printed (the benchmark, ``scripts/bench_bargein.py``,
measures them); the give-up timeouts are generous. Skipped, with the reason, when the echo
canceller or the Whisper model is not available.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import wave

import pytest

from voicecoach.store.history import Store

from tests.support.echo_path import EchoPathMic
from tests.support.paths import ROOT
from tests.support.pulse_daemon import PrivatePulse

pytestmark = pytest.mark.e2e
AUDIO = ROOT / "tests" / "audio"
GO_ON = "Do you want to go on with the session?"
HOLD_INSTRUCTION = "Hold your left knee, and pull it gently toward your right shoulder."
# the check-in before the routine is skipped (said once the coach is silent, as a person would)
ANSWERS = {"from zero to ten?": "skip", "or skip.": "skip", "calf, or foot?": "skip",
           "or stay where they were?": "skip", "Say resume when you're ready.": "resume"}


def _skip_reason() -> str | None:
    from voicecoach.hearing.echo import open_echo_canceller
    canceller, why = open_echo_canceller()
    if canceller is None:
        return f"echo canceller unavailable: {why}"
    try:
        from voicecoach.hearing.whisper import WhisperTranscriber
        WhisperTranscriber()
    except Exception as exc:  # noqa: BLE001  the model missing or damaged
        return f"Whisper model unavailable (barge-in needs it): {exc}"
    return None


@pytest.fixture(scope="module")
def echo_rig():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    daemon = PrivatePulse()
    try:
        daemon.start()
        mic = EchoPathMic(daemon.fifo, daemon.env, delay_ms=60, gain_db=0, reverb=True)
        yield daemon, mic
        mic.close()
    finally:
        daemon.stop()


def wav(name: str) -> bytes:
    with wave.open(str(AUDIO / f"{name}.wav"), "rb") as w:
        return w.readframes(w.getnframes())


class Coach:
    """``voicecoach run ROUTINE`` with barge-in on, its captions read line by line."""

    def __init__(self, daemon, tmp_path, routine: str, mic: EchoPathMic):
        self.mic, self.answer, self.answered, self.asked_at = mic, None, [], 0.0
        history = tmp_path / "history.sqlite3"
        store = Store(history)
        store.set_fact("screen_passed", True)  # the screen has its own tests
        store.close()
        config = tmp_path / "config" / "voicecoach"
        config.mkdir(parents=True)
        (config / "settings.toml").write_text('[listening]\nbarge_in = "on"\n')
        env = {**os.environ, "PULSE_SERVER": daemon.env["PULSE_SERVER"], "XDG_CONFIG_HOME": str(tmp_path / "config")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicecoach", "run", routine, "--speed", "10", "--silence-timeout", "100",
             "--history", str(history)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.said: list[str] = []
        self.err: list[str] = []
        threading.Thread(target=lambda: [self.lines.put((time.monotonic(), l.rstrip("\n"))) for l in self.proc.stdout],
                         daemon=True).start()
        threading.Thread(target=lambda: [self.err.append(l) for l in self.proc.stderr], daemon=True).start()

    def next_line(self, deadline: float) -> tuple[float, str] | None:
        while time.monotonic() < deadline:
            self._maybe_answer()
            try:
                when, line = self.lines.get(timeout=0.2)
                self.answer = next((w for k, w in ANSWERS.items() if line.endswith(k)), None)
                self.asked_at = when
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    return None
                continue
            self.said.append(line)
            return when, line
        return None

    def _maybe_answer(self) -> None:
        """Say the pending answer once the loudspeaker has been silent for 0.8 s."""
        if not self.answer or self.mic.speaking.is_set():
            return
        now = time.monotonic()
        last = self.mic.sound_ends(self.asked_at, now, loud_db=-45) or self.asked_at
        if now - last > 0.8 and now - self.asked_at > 1.0:
            self.mic.say(wav(self.answer))
            self.answered.append(self.answer)
            self.asked_at = now + 3.0  # again in a few seconds if the coach does not react

    def wait_for(self, text: str, deadline: float) -> float:
        while (item := self.next_line(deadline)) is not None:
            if text in item[1]:
                return item[0]
        pytest.fail(f"the coach never said {text!r}; said: {self.said[-8:]}; log: {''.join(self.err)[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def heard(self) -> list[str]:
        """What the half-duplex listener heard (between the coach's sentences)."""
        return re.findall(r'\[heard ".*?" -> ([a-z_:]+|not understood \([^)]*\));', "".join(self.err))

    def heard_over(self) -> list[tuple[str, bool]]:
        """What barge-in decoded while the coach talked, and whether it was taken."""
        found = re.findall(r'\[heard over the coach ".*?" -> ([a-z_:]+|not understood \([^)]*\)), (taken|not taken);',
                           "".join(self.err))
        return [(what, verdict == "taken") for what, verdict in found]


def wait_for_sound(mic: EchoPathMic, since: float, deadline: float) -> float:
    """When the loudspeaker started playing after ``since`` (monotonic s)."""
    while time.monotonic() < deadline:
        loud = [t for t, db in list(mic.speaker_log) if t >= since and db > -45]
        if loud:
            return loud[0]
        time.sleep(0.05)
    pytest.fail("the loudspeaker stayed silent")


@pytest.mark.long(seconds=35)
@pytest.mark.xfail(strict=False, reason="barge-in is work in progress and off by default: through PulseAudio "
                   "module-echo-cancel removes about 28 dB but 36 of 60 human stops were acted on "
                   "(scripts/bench_bargein.py, 2026-12-07, seventh session); this fixture stop passes "
                   "on a quiet machine and failed once at load average 5")
def test_stop_said_over_the_hold_instruction_stops_the_sentence_and_the_hold(echo_rig, tmp_path):
    daemon, mic = echo_rig
    mic.set_path(delay_ms=60, gain_db=0)
    coach = Coach(daemon, tmp_path, "hip-stretches", mic)
    give_up = time.monotonic() + 90
    try:
        shown = coach.wait_for(HOLD_INSTRUCTION, give_up)
        start = wait_for_sound(mic, shown, give_up)
        time.sleep(max(0.0, start + 1.5 - time.monotonic()))  # well inside the ~6 s sentence
        ends_before = len(mic.word_ends)
        mic.say(wav("stop"))
        nxt = coach.next_line(give_up)
        while nxt is not None and nxt[1].startswith("["):  # the screen's status lines
            nxt = coach.next_line(give_up)
        assert nxt is not None, f"the coach said nothing after the instruction; log: {''.join(coach.err)[-2000:]}"
        assert nxt[1] == "Stopping. Relax.", coach.said
        while len(mic.word_ends) == ends_before and time.monotonic() < give_up:
            time.sleep(0.05)
        word_end = mic.word_ends[ends_before]
        silent = mic.sound_ends(start, nxt[0])
        print(f"\nstop ended {word_end - start:.2f} s into the sentence; the sentence's sound ended "
              f"{(silent or word_end) - word_end:+.2f} s after the word")
        coach.wait_for(GO_ON, give_up)
        assert ("stop", True) in coach.heard_over(), coach.err[-20:]
    finally:
        coach.stop()
    assert not any("Now hold" in s for s in coach.said[coach.said.index("Stopping. Relax."):]), coach.said


@pytest.mark.long(seconds=50)
def test_the_coach_never_takes_its_own_echoed_voice_for_a_word(echo_rig, tmp_path):
    daemon, mic = echo_rig
    mic.set_path(delay_ms=90, gain_db=6)  # its voice louder at the microphone than a person's
    coach = Coach(daemon, tmp_path, "hip-stretches", mic)
    start = time.monotonic()
    try:
        # the welcome, the check-in (skipped once the coach is silent), the routine's first
        # exercise: about 30 s of the coach talking
        while coach.next_line(start + 50) is not None:
            pass
    finally:
        coach.stop()
    spoken = sum(1 for t, db in list(mic.speaker_log) if t >= start and db > -45) * 0.03
    heard, over = coach.heard(), coach.heard_over()
    print(f"\n{spoken:.0f} s of the coach's voice came back; utterances decoded: {heard}, over the coach: {over}")
    assert spoken > 5, "the coach should have spoken"
    assert "Stopping. Relax." not in coach.said, coach.said
    if "Sorry, please say it again." in coach.said:
        # known defect (README, Barge-in): the echo's tail after a sentence is sometimes taken
        # for an answer begun over the coach; it costs a repeated question, never an intent
        print("known defect: the echo's tail was taken for speech over the coach (asked again)")
    # between sentences nothing may come from the echo's tail; over the coach barge-in decodes
    # the residue of its own "say stop" (that is what the canceller leaves), and must not take it
    assert not [h for h in heard if h in ("stop", "pain", "worse", "pause")], heard
    assert not [what for what, taken in over if taken], over
