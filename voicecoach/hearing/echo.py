"""The acoustic echo canceller: the only module importing its library (pywebrtc-audio,
WebRTC's audio processing module, AEC3).

Chosen by measurement (``scripts/bench_bargein.py`` and README "Barge-in"): on the coach's
own voice fed back 30-120 ms late at -10 to +6 dB with room reverberation it removed 30 to
46 dB of echo for about 2% of one core, and it follows the delay itself (AEC3's render
delay estimator), so a rough alignment by the clock is enough. Everything else talks to
the small :class:`EchoCanceller` protocol, so a fake stands in for it in the unit tests.
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
