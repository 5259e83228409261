"""Text to speech with hibari-tts: a small neural voice (ONNX, distilled from Kokoro-82M),
24 kHz. The only module importing hibari and onnxruntime.

Offline by construction: only the voice inside the wheel ("heart") is used, and its model
file is handed to hibari by path, so hibari's voice lookup, which downloads every other
voice on first use, is never called. The weight files are checked against the sha256
values below before onnxruntime sees them (the wheel itself is pinned by hash in
``requirements-models.txt``).

hibari's output is quiet (peaks near -10 dBFS) and starts with about 0.3 s of silence,
ends with about 0.5 s: we trim both, so the coach's "end of speech" is the end of the
voice, and bring every sentence to the same speech level.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from voicecoach.speech.engines import HIBARI_VOICE, engine_problem, hibari_speed

SAMPLE_RATE = 24000  # Hz, hibari's output

#: sha256 of the weight files of hibari-tts 0.2.1: the acoustic model, and the model that
#: spells out words missing from the lexicon.
MODEL_SHA256 = {
    "hibari.onnx": "5f70741d4e900f4e85d0037498736cc1b3e1b9a63a13546a5da1e63abf4fccd8",
    "oov.onnx": "d3cfd8122c5f172a98c8de38268bf1213ee09f2c2ae4df6e055fc6532590fe76",
}

SPEECH_LEVEL_DBFS = -20.0  # RMS of the voiced part after levelling (espeak-ng's is about -21)
PEAK_LIMIT = 0.97          # never clip: the gain is lowered if a peak would pass this
TRIM_FLOOR_DB = -45.0      # a 10 ms frame this far below the loudest is silence
KEEP_BEFORE_S = 0.03       # kept before the first sound (a soft onset, "f", "h")
KEEP_AFTER_S = 0.08        # kept after the last sound (the decay)


class NeuralVoiceUnavailable(RuntimeError):
    """The neural voice cannot load or speak (missing package, damaged file, no memory)."""


def assets_dir() -> Path:
    """The installed hibari package's assets folder (found without importing hibari)."""
    spec = importlib.util.find_spec("hibari")
    if spec is None or not spec.submodule_search_locations:
        raise NeuralVoiceUnavailable("the hibari-tts package is not installed (scripts/setup.sh installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "assets"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_models(expected: dict[str, str] | None = None) -> dict[str, Path]:
    """Paths of the weight files, each checked against its sha256."""
    expected = MODEL_SHA256 if expected is None else expected
    folder = assets_dir()
    out = {}
    for name, want in expected.items():
        path = folder / name
        try:
            got = sha256_of(path)
        except OSError as exc:
            raise NeuralVoiceUnavailable(f"cannot read the voice model {path} ({exc.strerror or exc})") from None
        if got != want:
            raise NeuralVoiceUnavailable(f"the voice model {path} is not the expected file (sha256 {got[:12]}..., "
                                         f"expected {want[:12]}...); reinstall with scripts/setup.sh")
        out[name] = path
    return out


def trim_and_level(audio: np.ndarray, rate: int = SAMPLE_RATE, volume: float = 1.0) -> np.ndarray:
    """float audio -> float audio without leading/trailing silence, at SPEECH_LEVEL_DBFS
    times ``volume`` (0..1). Empty or silent input gives an empty array."""
    audio = np.asarray(audio, dtype=np.float32)
    n = int(rate * 0.01)
    frames = audio[: len(audio) // n * n].reshape(-1, n)
    if len(frames) == 0:
        return np.zeros(0, np.float32)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    loudest = rms.max()
    if loudest < 1e-5:
        return np.zeros(0, np.float32)
    sound = np.nonzero(rms > loudest * 10 ** (TRIM_FLOOR_DB / 20))[0]
    start = max(0, sound[0] * n - int(rate * KEEP_BEFORE_S))
    end = min(len(audio), (sound[-1] + 1) * n + int(rate * KEEP_AFTER_S))
    voiced = rms[rms > loudest * 0.1]  # the speech itself, not the pauses between words
    gain = 10 ** (SPEECH_LEVEL_DBFS / 20) / float(np.sqrt(np.mean(voiced ** 2)))
    out = audio[start:end]
    peak = float(np.abs(out).max())
    gain = min(gain, PEAK_LIMIT / peak)
    return out * np.float32(gain * volume)


def to_pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


class HibariSynth:
    """hibari's "heart" voice: ``synthesize(text) -> (16-bit mono PCM, 24000)``.

    ``rate`` is in words per minute, as for espeak-ng (mapped to hibari's speed);
    ``volume`` 0..1 scales the levelled speech. ``threads``: onnxruntime threads (one is
    plenty: a sentence takes tens of ms, and the recognizer needs the other core).
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, voice: str | None = None, rate: float = 160, volume: float = 1.0, threads: int = 1,
                 expected_sha256: dict[str, str] | None = None):
        problem = engine_problem("hibari", voice, rate)
        if problem:
            raise ValueError(problem)
        self.speed = hibari_speed(rate)
        self.volume = volume
        models = verified_models(expected_sha256)
        try:
            import onnxruntime  # noqa: F401  (a clear message when it is missing)
        except ImportError as exc:
            raise NeuralVoiceUnavailable(f"onnxruntime is not installed ({exc})") from None
        try:
            from hibari import Hibari
            # model= by path: hibari's voice lookup (which may download) is never called
            self.tts = Hibari(voice=HIBARI_VOICE, model=str(models["hibari.onnx"]), threads=threads)
            self.tts.g2p  # noqa: B018  load the lexicons now, not during the first sentence
        except MemoryError:
            raise NeuralVoiceUnavailable("not enough memory to load the neural voice") from None
        except Exception as exc:  # onnxruntime and hibari raise many kinds for a bad model or platform
            raise NeuralVoiceUnavailable(f"the neural voice could not load ({type(exc).__name__}: {exc})") from None

    def synthesize(self, text: str) -> tuple[bytes, int]:
        """16-bit mono PCM and its sample rate (Hz) for ``text``, silence trimmed, levelled."""
        try:
            audio = self.tts(text, speed=self.speed, seed=0)  # seeded: the same text sounds the same
        except MemoryError:
            raise NeuralVoiceUnavailable("not enough memory to synthesize speech") from None
        except Exception as exc:  # a failure of the model, not of the text: report it in plain words
            raise NeuralVoiceUnavailable(f"the neural voice failed ({type(exc).__name__}: {exc})") from None
        return to_pcm16(trim_and_level(audio, SAMPLE_RATE, self.volume)), SAMPLE_RATE
