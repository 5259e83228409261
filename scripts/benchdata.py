"""Test audio for the benchmarks: espeak-ng speech (voices, rates, pitches, reverberation)
mixed with noise at a chosen SNR. Generated once into a cache folder."""

from __future__ import annotations

import hashlib
import random
import subprocess
import wave
from pathlib import Path

import numpy as np

RATE = 16000
VOICES = ["en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb-x-rp+f2", "en-029", "en-us+f5", "en-gb-scotland"]


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)


def write_wav(path: Path, x: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.clip(x, -32768, 32767).astype("<i2").tobytes())


def speak(text: str, voice: str, rate: int, pitch: int, reverb: bool, cache: Path) -> np.ndarray:
    """espeak-ng speech at 16 kHz with 0.8 s of silence before and after."""
    key = hashlib.sha1(f"{text}|{voice}|{rate}|{pitch}|{reverb}".encode()).hexdigest()[:16]
    path = cache / f"speech-{key}.wav"
    if not path.exists():
        raw = cache / f"raw-{key}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(raw), text],
                       check=True)
        effects = ["pad", "0.8", "0.8"] + (["reverb", "40", "50", "70", "100", "20"] if reverb else [])
        subprocess.run(["sox", "-V1", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(path), *effects,
                        "norm", "-6"], check=True)
        raw.unlink()
    return read_wav(path)


def noise(kind: str, seconds: float, seed: int) -> np.ndarray:
    """Coloured noise (white, pink, brown) or a hum, at unit RMS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    if kind == "hum":
        t = np.arange(n) / RATE
        x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / k for k, f in enumerate((50, 100, 150, 250), 1))
        x = x + 0.3 * rng.standard_normal(n)
    else:
        white = rng.standard_normal(n)
        spectrum = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1 / RATE)
        f[0] = f[1]
        shape = {"white": 1.0, "pink": 1 / np.sqrt(f), "brown": 1 / f}[kind]
        x = np.fft.irfft(spectrum * shape, n)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-9)


def mix(speech: np.ndarray, snr_db: float | None, kind: str, seed: int) -> np.ndarray:
    """Noise scaled so speech (its loud part) is ``snr_db`` above it; None: clean."""
    if snr_db is None:
        return speech
    active = speech[np.abs(speech) > 0.05 * np.max(np.abs(speech))]
    speech_rms = np.sqrt(np.mean(active ** 2)) if len(active) else 1.0
    n = noise(kind, len(speech) / RATE, seed) * speech_rms / (10 ** (snr_db / 20))
    return speech + n


def sample_configs(n: int, seed: int, voices=VOICES):
    rng = random.Random(seed)
    for _ in range(n):
        yield (rng.choice(voices), rng.choice([130, 150, 170, 190]), rng.choice([30, 45, 60, 75]),
               rng.random() < 0.5)
