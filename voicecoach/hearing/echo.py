"""The acoustic echo canceller: the only module importing its library (pywebrtc-audio,
WebRTC's audio processing module, AEC3).

Chosen by measurement (``scripts/bench_bargein.py`` and README "Barge-in"): on the coach's
own voice fed back 30-120 ms late at -10 to +6 dB with room reverberation it removed 30 to
46 dB of echo for about 2% of one core, and it follows the delay itself (AEC3's render
delay estimator), so a rough alignment by the clock is enough. Everything else talks to
the small :class:`EchoCanceller` protocol, so a fake stands in for it in the unit tests.

Through PulseAudio, though, fed from the clock, AEC3 removed only ~6 dB (the far end and the
microphone are not on one sample clock here); PulseAudio's own module-echo-cancel removed ~30
(``scripts/measure_echo_cancel.py``). When it is used (``devices/pulse_echo.py``) the
microphone is already clean and :class:`SystemEchoCanceller` passes frames through.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from voicecoach.hearing.endpointer import FRAME_BYTES, SAMPLE_RATE


class EchoCanceller(Protocol):
    name: str

    def process(self, near: bytes, far: bytes) -> bytes:
        """One 30 ms frame of the microphone (``near``) with what the loudspeaker played at
        the same moment (``far``), both 16 kHz mono 16-bit; returns the microphone with the
        loudspeaker's echo removed (same length)."""

    def reset(self) -> None:
        """Forget the room (a new device, a new session)."""


class WebRtcEchoCanceller:
    """WebRTC AEC3 at 16 kHz mono. ``delay_ms``: a first guess of the loudspeaker ->
    microphone delay (ms); AEC3 estimates and follows the real one itself."""

    name = "webrtc aec3 (pywebrtc-audio)"

    def __init__(self, delay_ms: int = 0):
        from pywebrtc_audio import AudioProcessor
        self._make = lambda: AudioProcessor(SAMPLE_RATE, echo_cancellation=True, stream_delay_ms=int(delay_ms))
        self._apm = self._make()

    def process(self, near: bytes, far: bytes) -> bytes:
        n = np.frombuffer(near, dtype="<i2")
        f = np.frombuffer(far, dtype="<i2")
        if len(f) != len(n):  # the loudspeaker's side is padded or cut to the microphone's frame
            f = np.pad(f, (0, max(0, len(n) - len(f))))[: len(n)]
        return np.asarray(self._apm.process(n, f), dtype="<i2").tobytes()

    def reset(self) -> None:
        self._apm = self._make()


class SystemEchoCanceller:
    """The echo is already removed before the microphone's frames reach us (PulseAudio's
    module-echo-cancel, ``devices/pulse_echo.py``): frames pass through unchanged."""

    def __init__(self, name: str):
        self.name = name

    def process(self, near: bytes, far: bytes) -> bytes:
        return near

    def reset(self) -> None:
        pass


def open_echo_canceller() -> tuple[EchoCanceller | None, str]:
    """The echo canceller, or None and why not in plain words (then the coach stays half duplex)."""
    try:
        canceller = WebRtcEchoCanceller()
        canceller.process(b"\0" * FRAME_BYTES, b"\0" * FRAME_BYTES)  # a broken build fails now, not mid-sentence
    except ImportError as exc:
        return None, f"the echo canceller (pywebrtc-audio) is not installed ({exc})"
    except Exception as exc:  # a native library that cannot load on this machine  # noqa: BLE001
        return None, f"the echo canceller could not start ({type(exc).__name__}: {exc})"
    return canceller, ""


# ---------------------------------------------------------------------- how much echo is removed
def echo_removal_db(far: np.ndarray, near: np.ndarray, canceller: EchoCanceller, delay_s: float | None = None,
                    skip_s: float = 0.0) -> float:
    """dB of echo the canceller removes from ``near`` (what the microphone heard, 16 kHz)
    given ``far`` (what was played, 16 kHz, on the same timeline: sample ``k`` of both at
    the same moment). The delay between them is estimated unless given (s). Energy is
    compared only where the loudspeaker played (the delayed far end is loud), after
    ``skip_s`` (s) of the canceller getting to know the room. Returns 0.0 if there was
    nothing to measure (no sound played, or nothing came back)."""
    from voicecoach.hearing.farend import estimate_delay
    from voicecoach.hearing.endpointer import FRAME_SAMPLES
    far = np.asarray(far, dtype=np.float32)
    near = np.asarray(near, dtype=np.float32)
    if delay_s is None:
        delay_s, clarity = estimate_delay(far, near)
        if clarity < 8.0:
            delay_s = 0.0
    # AEC3 wants the loudspeaker's sound no later than its echo: align a little early (as BargeIn does)
    shift = int(round(max(0.0, delay_s - 0.02) * SAMPLE_RATE))
    far_aligned = np.concatenate([np.zeros(shift, np.float32), far])[: len(near)]
    far_aligned = np.pad(far_aligned, (0, len(near) - len(far_aligned)))
    played = np.concatenate([np.zeros(int(round(delay_s * SAMPLE_RATE)), np.float32), far])[: len(near)]
    played = np.pad(played, (0, len(near) - len(played)))
    e_near = e_clean = 0.0
    skip = int(skip_s * SAMPLE_RATE)
    for i in range(0, len(near) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        n = np.clip(near[i:i + FRAME_SAMPLES], -32768, 32767).astype("<i2")
        f = np.clip(far_aligned[i:i + FRAME_SAMPLES], -32768, 32767).astype("<i2")
        out = np.frombuffer(canceller.process(n.tobytes(), f.tobytes()), dtype="<i2").astype(np.float64)
        p = played[i:i + FRAME_SAMPLES]
        if i >= skip and np.sqrt(np.mean(p.astype(np.float64) ** 2)) > 100:  # the loudspeaker played here
            e_near += float(np.sum(n.astype(np.float64) ** 2))
            e_clean += float(np.sum(out ** 2))
    if e_near <= 0.0:
        return 0.0
    return float(10 * np.log10(e_near / max(e_clean, 1.0)))


def measure_echo_removal(speaker, mic, canceller: EchoCanceller | None = None,
                         sentence: str = "This is voicecoach, measuring how much of my voice comes back.",
                         tail_s: float = 0.5, raw_mic=None) -> float | None:
    """Play ``sentence`` through ``speaker`` (a :class:`VoiceSpeaker`: its synthesizer and
    loudspeaker), record what ``mic`` (a :class:`Microphone`: ``read(timeout) -> (captured_at,
    frame) | None``) hears meanwhile, and return the dB of echo the canceller removes (see
    :func:`echo_removal_db`). ``canceller``: a fresh one by default. None if there is no
    echo canceller on this machine. ``raw_mic``: with a canceller in the sound server
    (:class:`SystemEchoCanceller`), ``mic`` already hears the cleaned sound and ``raw_mic``
    the microphone before it; then the dB are their levels compared over the sentence.
    For ``voicecoach check``::

        db = measure_echo_removal(speaker, mic)
        print("echo canceller: not available" if db is None else f"echo removed: {db:.0f} dB")

    Near 0 dB with a loudspeaker in the room means the echo is not being removed; the
    microphone hearing nothing of the loudspeaker (headphones) also gives 0 dB.
    """
    import threading
    import time
    from voicecoach.hearing.farend import resample_pcm
    if canceller is None:
        canceller, _why = open_echo_canceller()
        if canceller is None:
            return None
    loudspeaker = speaker.loudspeaker
    pcm = speaker.pcm_for(sentence)
    far16 = np.frombuffer(resample_pcm(pcm, loudspeaker.rate), dtype="<i2").astype(np.float32)
    frames: list[tuple[float, bytes]] = []
    raw_frames: list[tuple[float, bytes]] = []
    done = threading.Event()

    failed: list[BaseException] = []

    def record(source, into):
        try:
            while not done.is_set():
                item = source.read(0.05)
                if item is not None:
                    into.append(item)
        except Exception as exc:  # a lost microphone: raised again below, in the caller's thread
            failed.append(exc)

    pairs = [(mic, frames)] + ([(raw_mic, raw_frames)] if raw_mic is not None else [])
    for source, _ in pairs:
        while source.read(0.0) is not None:  # what was heard before: not this sentence
            pass
    started: list[float] = []
    threads = [threading.Thread(target=record, args=pair, name="echo-measure", daemon=True) for pair in pairs]
    for thread in threads:
        thread.start()
    try:
        loudspeaker.play(pcm, on_first_chunk=lambda: started.append(time.monotonic() + loudspeaker.latency_s))
        time.sleep(tail_s)
    finally:
        done.set()
        for thread in threads:
            thread.join(1.0)
    if failed:
        raise failed[0]
    if not frames or not started:
        return 0.0
    if raw_mic is not None:
        end = started[0] + len(far16) / SAMPLE_RATE + tail_s
        return level_removal_db(raw_frames, frames, started[0], end)
    near = np.frombuffer(b"".join(f for _, f in frames), dtype="<i2").astype(np.float32)
    # the far end on the microphone's timeline: its first sample at started[0]
    offset = int(round((started[0] - frames[0][0]) * SAMPLE_RATE))
    if offset >= 0:
        far = np.concatenate([np.zeros(offset, np.float32), far16])
    else:
        far = far16[-offset:]
    return echo_removal_db(far, near, canceller)


def level_removal_db(before: list[tuple[float, bytes]], after: list[tuple[float, bytes]], t0: float,
                     t1: float) -> float:
    """dB between the level of the ``before`` frames (captured_at, 16-bit) and the ``after``
    frames captured between monotonic ``t0`` and ``t1`` (s): the echo removed by a canceller
    whose input and output are two microphones (nobody speaking meanwhile)."""
    def energy(frames):
        x = [np.frombuffer(f, dtype="<i2").astype(np.float64) for t, f in frames if t0 <= t <= t1]
        return float(np.mean(np.concatenate(x) ** 2)) if x else 0.0
    e_before, e_after = energy(before), energy(after)
    if e_before <= 0.0:
        return 0.0
    return float(10 * np.log10(e_before / max(e_after, 1.0)))
