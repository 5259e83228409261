"""The coach's own sound as the microphone hears it: the far end on the monotonic clock
(:class:`FarEnd`), resampling to 16 kHz, and the loudspeaker-to-microphone delay
(:func:`estimate_delay`, :class:`DelayTracker`)."""

from __future__ import annotations

import math

import numpy as np

from voicecoach.hearing.endpointer import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE



def resample_pcm(pcm: bytes, src: int, dst: int = SAMPLE_RATE) -> bytes:
    """16-bit mono ``pcm`` from ``src`` Hz to ``dst`` Hz, band-limited (FFT over the whole
    clip: exact, and a sentence of a few seconds takes a millisecond or two)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if src == dst or len(x) == 0:
        return pcm
    n = int(round(len(x) * dst / src))
    spectrum = np.fft.rfft(x)
    keep = min(len(spectrum), n // 2 + 1)
    out = np.zeros(n // 2 + 1, dtype=complex)
    out[:keep] = spectrum[:keep]
    y = np.fft.irfft(out, n) * (n / len(x))
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


class FarEnd:
    """What the loudspeaker plays, 16 kHz, on the monotonic clock: sample ``k`` of the
    sentence is played at ``t0 + k / 16000`` (s). Volume changes are kept by sample, a
    cut-off sentence plays nothing after the cut, and a *held* sentence (barge-in holds the
    voice while someone speaks over it) plays silence until it resumes from a sample of its own."""

    def __init__(self, pcm16k: bytes):
        self.samples = np.frombuffer(pcm16k, dtype="<i2").astype(np.float32)
        self._gains: list[tuple[int, float]] = [(0, 1.0)]  # (from sample, amplitude factor)
        self.end_sample = len(self.samples)    # samples from here on are never played
        # from monotonic t on, the sentence plays from this sample on (None: held, silence)
        self._pieces: list[tuple[float, int | None]] = []
        self._cut = False

    def start(self, t0: float) -> None:
        self._pieces = [(t0, 0)]

    @property
    def t0(self) -> float | None:
        """Monotonic s of the first sample, once playing."""
        return self._pieces[0][0] if self._pieces else None

    def gain_from(self, sample: int, gain: float) -> None:
        """The loudspeaker plays at ``gain`` (amplitude factor) from 16 kHz ``sample`` on."""
        self._gains.append((max(0, sample), gain))

    def hold(self, t: float, sample: int, held: bool) -> None:
        """From monotonic ``t`` (s) on: silence (``held``), or the sentence again from ``sample``."""
        if self._pieces:
            self._pieces.append((t, None if held else max(0, sample)))

    def cut_at(self, sample: int) -> None:
        self.end_sample = min(self.end_sample, max(0, sample))
        self._cut = True

    @property
    def end_t(self) -> float | None:
        """Monotonic s at which the last sample is played (None: not started, or held)."""
        if not self._pieces:
            return None
        t, sample = self._pieces[-1]
        if sample is None:  # held: it ends when the hold does, or ended there if cut off
            return t if self._cut else None
        return t + max(0, self.end_sample - sample) / SAMPLE_RATE

    def frame(self, t: float) -> bytes:
        """The 30 ms played from monotonic time ``t`` (s) on, silence where nothing plays."""
        out = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        piece = next((p for p in reversed(self._pieces) if p[0] <= t), self._pieces[0] if self._pieces else None)
        if piece is not None and piece[1] is not None:
            first = piece[1] + int(round((t - piece[0]) * SAMPLE_RATE))
            lo, hi = max(first, 0), min(first + FRAME_SAMPLES, self.end_sample)
            if hi > lo:
                chunk = self.samples[lo:hi].copy()
                for start, gain in self._gains:  # few: one or two changes a sentence
                    if start < hi:
                        chunk[max(0, start - lo):] = self.samples[max(lo, start):hi] * gain
                out[lo - first:hi - first] = chunk
        return np.clip(out, -32768, 32767).astype("<i2").tobytes()


def estimate_delay(far: np.ndarray, near: np.ndarray, max_s: float = 0.5) -> tuple[float, float]:
    """Delay (s) of ``near`` behind ``far`` (16 kHz), by phase-transform cross-correlation,
    and how clear the peak is (peak over the mean absolute correlation; above ~8 is a real
    echo). (0, 0) when there is nothing to correlate."""
    n = min(len(far), len(near))
    if n < SAMPLE_RATE // 2 or not np.any(far[:n]) or not np.any(near[:n]):
        return 0.0, 0.0
    size = 1 << int(math.ceil(math.log2(2 * n)))
    cross = np.fft.rfft(near[:n], size) * np.conj(np.fft.rfft(far[:n], size))
    cross /= np.maximum(np.abs(cross), 1e-9)  # phase transform: sharp peaks in a reverberant room
    corr = np.fft.irfft(cross, size)[: int(max_s * SAMPLE_RATE)]
    peak = int(np.argmax(corr))
    clarity = float(corr[peak] / (np.mean(np.abs(corr)) + 1e-12))
    return peak / SAMPLE_RATE, clarity


class DelayTracker:
    """Follows the loudspeaker -> microphone delay from sentence to sentence: the median of
    the last clear estimates (a single reflection or a quiet sentence does not move it)."""

    MIN_CLARITY = 8.0

    def __init__(self, delay_s: float = 0.0, keep: int = 5):
        self.delay_s = delay_s
        self._recent: list[float] = []
        self._keep = keep

    def update(self, far: np.ndarray, near: np.ndarray) -> float:
        delay, clarity = estimate_delay(far, near)
        if clarity >= self.MIN_CLARITY:
            self._recent = (self._recent + [delay])[-self._keep:]
            self.delay_s = float(np.median(self._recent))
        return self.delay_s


class SampleClock:
    """Microphone frames' capture times on the microphone's own sample clock. A frame's stamp is
    taken when it is read, and a busy machine (the recognizer decoding) reads frames late and in
    bursts; the echo canceller then gets the loudspeaker's sound misaligned by up to a few
    hundred ms and removes little. Consecutive frames are 30 ms apart, so frame ``k`` is
    stamped ``anchor + k * 30 ms``, the anchor being the earliest ``stamp - k * 30 ms``
    seen (lateness only ever makes a stamp later). A stamp that is *early* on that clock
    (frames lost, the anchor off by more than a frame) starts the clock again."""

    def __init__(self) -> None:
        self._frames = 0                    # frames stamped so far
        self._anchor: float | None = None   # monotonic time of frame 0 on the sample clock (s)

    def steady(self, captured_at: float) -> float:
        """The next frame's capture time (monotonic s), read at ``captured_at``."""
        k = self._frames
        self._frames += 1
        offset = captured_at - k * FRAME_S
        if self._anchor is None or offset < self._anchor - FRAME_S:
            self._anchor = offset
            return captured_at
        self._anchor = min(self._anchor, offset)
        return self._anchor + k * FRAME_S
