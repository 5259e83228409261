"""Short cue sounds (start of hold, end of hold, rep tick), as 16-bit mono PCM.

The cues are rendered here at the output's own rate (they share one stream with the voice:
24 kHz for hibari, 22.05 kHz for espeak-ng), so an installed wheel needs no sound files.
``scripts/make_cues.py`` writes the same sounds to the checkout's ``audio/`` for listening.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

CUE_RATE = 22050  # Hz, the rate of the files in audio/ (espeak-ng's)

# name -> list of (frequency Hz, duration s); a rising pair starts, a falling pair ends
CUES = {
    "start": [(660.0, 0.09), (880.0, 0.12)],
    "end": [(880.0, 0.09), (587.0, 0.16)],
    "tick": [(1000.0, 0.04)],
}


def tone(freq: float, seconds: float, rate: int = CUE_RATE, level_db: float = -12.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)  # 10 ms ramps: no clicks
    amp = 10 ** (level_db / 20)
    return amp * fade * np.sin(2 * np.pi * freq * t)


def render(name: str, rate: int = CUE_RATE) -> bytes:
    parts = []
    for freq, dur in CUES[name]:
        parts += [tone(freq, dur, rate), np.zeros(int(rate * 0.02))]
    samples = np.concatenate(parts)
    return (samples * 32767).astype("<i2").tobytes()


def write_all(folder: Path) -> list[Path]:
    """Write each cue to ``folder/cue-NAME.wav`` at CUE_RATE (for listening to them)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in CUES:
        path = folder / f"cue-{name}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(CUE_RATE)
            w.writeframes(render(name))
        out.append(path)
    return out


def load(name: str, rate: int = CUE_RATE) -> bytes:
    """The cue's PCM at ``rate`` (Hz), rendered (a few milliseconds, once per speaker)."""
    return render(name, rate)
