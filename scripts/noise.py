"""Room noise for the benchmarks, made here (nothing committed), deterministic for a seed and
cached as a WAV in the benchmark's cache folder. Two beds:

* ``kitchen`` (synthetic): a fridge or extractor hum, running water, dishes clinking, and people
  talking in the next room (espeak-ng voices, several at once, reverberant and muffled);
* ``recorded`` (real recordings, from Debian's packages ``asterisk-moh-opsound-wav`` and
  ``asterisk-core-sounds-en-wav``, CC-BY-SA 3.0): a radio playing music across the room, and a
  person in the room talking (Allison Smith's recorded prompts: a real human voice, never one
  of the answers: the digits, letters and one-word files are left out), with the room's
  reverberation. Telephone recordings (8 kHz): nothing above 4 kHz.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from benchdata import RATE, noise, read_wav, write_wav

CHATTER = [
    "Did you see the game last night, it went on forever.",
    "I think we need more milk and some bread for tomorrow.",
    "The traffic on the way home was terrible again.",
    "Could you pass me the salt, and the pepper too.",
    "She said she would call back after lunch.",
    "We should paint the hallway before the winter.",
    "The weather will turn cold at the weekend they say.",
    "Put the kettle on, I will be there in a minute.",
]
VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-x-rp+f2", "en-us+m3", "en-029"]


def _chatter(seconds: float, rng: np.random.Generator, cache: Path) -> np.ndarray:
    """Two or three voices talking over each other in another room (unit RMS)."""
    out = np.zeros(int(seconds * RATE))
    for layer in range(3):
        pos = int(rng.uniform(0, 1.5) * RATE)
        while pos < len(out):
            text = CHATTER[rng.integers(len(CHATTER))]
            voice = VOICES[rng.integers(len(VOICES))]
            path = cache / f"chatter-{hashlib.sha1(f'{text}|{voice}'.encode()).hexdigest()[:12]}.wav"
            if not path.exists():
                with tempfile.TemporaryDirectory() as tmp:
                    raw = Path(tmp) / "raw.wav"
                    subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(raw), text], check=True)
                    subprocess.run(["sox", "-V1", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(path),
                                    "reverb", "60", "50", "90", "lowpass", "2500", "norm", "-6"], check=True)
            x = read_wav(path)
            end = min(len(out), pos + len(x))
            out[pos:end] += x[: end - pos] * (0.6 if layer else 1.0)
            pos = end + int(rng.uniform(0.3, 2.0) * RATE)
    return out / (np.sqrt(np.mean(out ** 2)) + 1e-9)


def _clatter(n: int, rng: np.random.Generator) -> np.ndarray:
    """Dishes and cutlery: short bright decaying knocks, about one a second (unit RMS)."""
    out = np.zeros(n)
    t = np.arange(int(0.25 * RATE)) / RATE
    for start in np.cumsum(rng.exponential(1.0, size=int(n / RATE * 2) + 1) * RATE).astype(int):
        if start >= n:
            break
        freq = rng.uniform(1500, 5000)
        knock = np.sin(2 * np.pi * freq * t) * np.exp(-t * rng.uniform(20, 60)) * rng.uniform(0.3, 1.0)
        end = min(n, start + len(knock))
        out[start:end] += knock[: end - start]
    return out / (np.sqrt(np.mean(out ** 2)) + 1e-9)


def kitchen(seconds: float, cache: Path, seed: int = 3) -> np.ndarray:
    """``seconds`` of kitchen noise at unit RMS (cached)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"kitchen-{seconds:.0f}s-{seed}.wav"
    if path.exists():
        x = read_wav(path)
        return x / (np.sqrt(np.mean(x ** 2)) + 1e-9)
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    water = noise("pink", seconds, seed) * (1 + 0.3 * np.sin(np.arange(n) / RATE * 2 * np.pi * 0.7))
    hum = noise("hum", seconds, seed + 1)
    mix = 0.5 * hum + 0.6 * water + 0.5 * _clatter(n, rng) + 0.8 * _chatter(seconds, rng, cache)
    mix = mix / (np.sqrt(np.mean(mix ** 2)) + 1e-9)
    write_wav(path, mix * 3000)
    return mix


RECORDED = Path("/usr/share/asterisk")
RECORDED_PACKAGES = "asterisk-moh-opsound-wav asterisk-core-sounds-en-wav"


def _recorded_speech(rng: np.random.Generator, n: int, cache: Path) -> np.ndarray:
    """A person talking in the room: whole recorded sentences (over 1.5 s) with pauses."""
    files = sorted(p for p in (RECORDED / "sounds" / "en_US_f_Allison").glob("*.wav"))
    out, pos = np.zeros(n), 0
    order = rng.permutation(len(files))
    k = 0
    while pos < n:
        x = _resampled(files[order[k % len(files)]], cache)
        k += 1
        if len(x) < 1.5 * RATE:
            continue
        end = min(n, pos + len(x))
        out[pos:end] += x[: end - pos]
        pos = end + int(rng.uniform(0.4, 2.5) * RATE)
    return out / (np.sqrt(np.mean(out ** 2)) + 1e-9)


def _recorded_music(rng: np.random.Generator, n: int, cache: Path) -> np.ndarray:
    """A radio: an excerpt of a recorded music track, looped if short."""
    tracks = sorted((RECORDED / "moh").glob("*.wav"))
    x = _resampled(tracks[rng.integers(len(tracks))], cache)
    start = int(rng.integers(0, max(1, len(x) - n)))
    x = np.resize(x[start:], n)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-9)


def _resampled(path: Path, cache: Path) -> np.ndarray:
    out = cache / f"rec-{hashlib.sha1(str(path).encode()).hexdigest()[:12]}.wav"
    if not out.exists():
        subprocess.run(["sox", "-V1", str(path), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True)
    return read_wav(out)


def recorded(seconds: float, cache: Path, seed: int = 3) -> np.ndarray:
    """``seconds`` of recorded room noise at unit RMS (cached): music and a person talking,
    reverberant (RT60 about 0.4 s). Exits with the apt command if the recordings are missing."""
    if not (RECORDED / "moh").is_dir() or not (RECORDED / "sounds" / "en_US_f_Allison").is_dir():
        raise SystemExit(f"recorded noise needs Debian's {RECORDED_PACKAGES}: apt-get install {RECORDED_PACKAGES}")
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"recorded-{seconds:.0f}s-{seed}.wav"
    if not path.exists():
        rng = np.random.default_rng(seed)
        n = int(seconds * RATE)
        mix = 0.6 * _recorded_music(rng, n, cache) + 1.0 * _recorded_speech(rng, n, cache)
        dry = cache / f"recorded-dry-{seed}.wav"
        write_wav(dry, mix / (np.sqrt(np.mean(mix ** 2)) + 1e-9) * 3000)
        subprocess.run(["sox", "-V1", str(dry), str(path), "reverb", "50", "50", "80", "100", "15",
                        "trim", "0", f"{seconds}"], check=True)
        dry.unlink()
    x = read_wav(path)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-9)


def bed(kind: str, seconds: float, cache: Path) -> np.ndarray:
    """The noise bed ``kind`` (``kitchen`` or ``recorded``)."""
    return recorded(seconds, cache) if kind == "recorded" else kitchen(seconds, cache)


def add_noise(speech: np.ndarray, bed: np.ndarray, snr_db: float | None, offset: int) -> np.ndarray:
    """``speech`` with ``bed`` (from ``offset``) scaled so that the speech's loud part is
    ``snr_db`` above it; None: speech as it is."""
    if snr_db is None:
        return speech
    active = speech[np.abs(speech) > 0.05 * (np.max(np.abs(speech)) + 1e-9)]
    speech_rms = np.sqrt(np.mean(active ** 2)) if len(active) else 1.0
    start = offset % max(1, len(bed) - len(speech))
    return speech + bed[start:start + len(speech)] * speech_rms / (10 ** (snr_db / 20))
