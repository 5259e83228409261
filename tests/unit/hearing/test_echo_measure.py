"""The echo measurement ``voicecoach check`` calls, with fakes and (when installed) the real
canceller on a synthetic echo."""

from __future__ import annotations

import numpy as np
import pytest

from voicecoach.hearing.echo import echo_removal_db, measure_echo_removal, open_echo_canceller


def voice_like(seconds: float, seed: int = 1) -> np.ndarray:
    """Noise shaped in bursts, a stand-in for speech (16 kHz)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    x = rng.standard_normal(n) * 3000
    envelope = 0.5 + 0.5 * np.sin(np.arange(n) / 16000 * 2 * np.pi * 3)
    return (x * envelope).astype(np.float32)


class Halver:
    """Removes exactly half the amplitude: 6 dB."""
    name = "halver"

    def process(self, near, far):
        return (np.frombuffer(near, dtype="<i2") // 2).astype("<i2").tobytes()

    def reset(self):
        pass


def echo_of(far: np.ndarray, delay_s: float, gain: float) -> np.ndarray:
    d = int(delay_s * 16000)
    return np.concatenate([np.zeros(d, np.float32), far * gain])


def test_a_canceller_that_halves_the_microphone_removes_6_db():
    far = voice_like(2.0)
    near = echo_of(far, 0.06, 0.8)
    assert echo_removal_db(far, near, Halver()) == pytest.approx(6.0, abs=0.1)


def test_nothing_played_nothing_measured():
    near = voice_like(1.0)
    assert echo_removal_db(np.zeros(16000, np.float32), near, Halver()) == 0.0


def test_the_real_canceller_removes_a_clear_echo():
    canceller, why = open_echo_canceller()
    if canceller is None:
        pytest.skip(f"echo canceller unavailable: {why}")
    far = voice_like(4.0)
    near = echo_of(far, 0.08, 0.5) + np.random.default_rng(2).standard_normal(int(4.08 * 16000)) * 10
    db = echo_removal_db(far, near, canceller, skip_s=1.0)
    print(f"removed {db:.1f} dB")
    assert db > 10


class FakeLoudspeaker:
    """Plays into a fake microphone's queue: what it plays comes back 60 ms later at -6 dB."""
    rate = 16000
    latency_s = 0.0

    def __init__(self, mic):
        self.mic = mic

    def play(self, pcm, on_first_chunk=None):
        if on_first_chunk:
            on_first_chunk()
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        self.mic.feed(echo_of(x, 0.06, 0.5))
        return True


class FakeMic:
    def __init__(self):
        import queue
        import time
        self.q, self.t = queue.Queue(), time.monotonic()

    def feed(self, x):
        pcm = np.clip(x, -32768, 32767).astype("<i2").tobytes()
        for i in range(0, len(pcm) - 959, 960):
            self.q.put((self.t, pcm[i:i + 960]))
            self.t += 0.03

    def read(self, timeout):
        import queue
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None


class FakeSpeaker:
    def __init__(self, mic):
        self.loudspeaker = FakeLoudspeaker(mic)

    def pcm_for(self, text):
        return np.clip(voice_like(2.0), -32768, 32767).astype("<i2").tobytes()


def test_measure_echo_removal_plays_records_and_measures():
    mic = FakeMic()
    assert measure_echo_removal(FakeSpeaker(mic), mic, canceller=Halver(), tail_s=0.1) == pytest.approx(6.0, abs=0.2)


class LostMic(FakeMic):
    """A microphone that stops working while the sentence plays."""

    def read(self, timeout):
        from voicecoach.session.faults import DeviceLost
        if timeout:  # the drain before the sentence reads with timeout 0
            raise DeviceLost("microphone", "no audio for 3 s")
        return None


def test_a_microphone_lost_while_measuring_is_said_in_the_callers_thread():
    """No traceback from the recording thread: the loss reaches ``check``, which says it."""
    from voicecoach.session.faults import DeviceLost
    mic = LostMic()
    with pytest.raises(DeviceLost):
        measure_echo_removal(FakeSpeaker(mic), mic, canceller=Halver(), tail_s=0.1)
