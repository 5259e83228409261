"""espeak-ng speech as test fixtures: 16 kHz mono 16-bit PCM, the same bytes on every run.

sox dithers when it turns espeak-ng's 22.05 kHz samples into 16-bit ones at 16 kHz, and
its dither is random unless it runs repeatably (-R): a fixture must not change between
runs, or a recognizer's decision at its edge flips once in a while and nobody can
reproduce it."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path


def espeak_pcm(text: str, folder: Path, voice: str = "en-us", rate: int = 175,
               effects: tuple[str, ...] = ()) -> bytes:
    """``text`` said by espeak-ng (``rate`` in words per minute), then sox ``effects``
    (e.g. ``("pad", "0.3", "0.4")``: seconds of silence before and after)."""
    raw, out = folder / "raw.wav", folder / "16k.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-R", "-V1", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out), *effects],
                   check=True)
    with wave.open(str(out), "rb") as w:
        return w.readframes(w.getnframes())
