"""Speech recognition with pocketsphinx's bundled US English model (offline).

Two decoders see the same audio, streamed while the person speaks:

* a **grammar** decoder per listening context, its grammar generated from the
  vocabulary (never written by hand), and
* a **phone loop** (allphone search) that can follow any English speech.

A grammar search forces any sound onto some phrase, so an answer is accepted only if
(1) the grammar reached a whole phrase (pocketsphinx returns partial paths when it
cannot), (2) the utterance is short, as answers are, and (3) the grammar path explains
the audio nearly as well as the free phone loop: the per-frame acoustic score gap is
the *confidence*; out-of-vocabulary speech fits the phone loop much better than any
phrase. The threshold is set in the benchmark (``scripts/bench_recognition.py``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pocketsphinx
from pocketsphinx import Config, Decoder, Vad

from ..pronounce import espeak_pronunciation
from ..vocabulary import Vocabulary

MODEL_DIR = os.path.join(pocketsphinx.get_model_path(), "en-us")

#: Default acceptance threshold on the confidence (per-frame score gap, higher = surer).
DEFAULT_THRESHOLD = -0.060


@dataclass(frozen=True)
class Recognition:
    """What one utterance was heard as."""

    text: str                 # the grammar's best phrase ("" if none)
    intent: str | None        # None when rejected
    confidence: float         # per-frame score gap to the phone loop (higher = surer)
    decode_ms: float          # time spent finishing the decode after the end of speech (ms)
    reason: str               # 'accepted', 'no phrase', 'too long', 'low confidence'


def make_vad(mode: int = 2):
    """WebRTC voice activity detector (pocketsphinx's copy): frame -> is speech."""
    return Vad(mode).is_speech


def _decoder(**kw) -> Decoder:
    config = Config(hmm=os.path.join(MODEL_DIR, "en-us"),
                    dict=os.path.join(MODEL_DIR, "cmudict-en-us.dict"), loglevel="FATAL", **kw)
    decoder = Decoder(config)
    # The model's feat.params asks for batch CMN, which estimates the channel from the
    # utterance itself: hopeless on a one-word answer. Live CMN carries the estimate
    # from one utterance to the next, so it adapts to the room and the speaker.
    decoder.config["cmn"] = "live"
    decoder.reinit_feat()
    return decoder


class PhraseRecognizer:
    """Recognise vocabulary phrases per listening context, rejecting everything else."""

    def __init__(self, vocabulary: Vocabulary, threshold: float = DEFAULT_THRESHOLD,
                 max_frames: int = 400):
        self.vocab = vocabulary
        self.threshold = threshold
        self.max_frames = max_frames  # 100 frames a second
        self.grammar = _decoder(lm=None)
        self.phones = _decoder(lm=None, allphone=os.path.join(MODEL_DIR, "en-us-phone.lm.bin"))
        self.added_words: dict[str, str] = {}
        self.tables: dict[str, dict[str, str]] = {}
        for context in vocabulary.contexts:
            self.add_context(context, vocabulary.intents_for(context))
        self._active: str | None = None
        self._live = False

    # -- grammar generation -------------------------------------------------------------
    def add_context(self, name: str, intents) -> None:
        table = self.vocab.phrases_for(intents)
        self._ensure_words({w for phrase in table for w in phrase.split()})
        self.grammar.add_jsgf_string(name, jsgf_for(name, table))
        self.tables[name] = table

    def _ensure_words(self, words: set[str]) -> None:
        missing = sorted(w for w in words if self.grammar.lookup_word(w) is None)
        for i, word in enumerate(missing):
            phones = espeak_pronunciation(word)
            if not phones:
                raise RuntimeError(f"no pronunciation for {word!r} (is espeak-ng installed?)")
            self.grammar.add_word(word, phones, i == len(missing) - 1)
            self.added_words[word] = phones

    # -- streaming ----------------------------------------------------------------------
    def start(self, context: str) -> None:
        if context not in self.tables:
            raise KeyError(f"no grammar for context {context!r}")
        if self._active != context:
            self.grammar.activate_search(context)
            self._active = context
        self.grammar.start_utt()
        self.phones.start_utt()
        self._live = True

    def feed(self, pcm: bytes) -> None:
        self.grammar.process_raw(pcm, False, False)
        self.phones.process_raw(pcm, False, False)

    def finish(self, too_long: bool = False) -> Recognition:
        t0 = time.perf_counter()
        self.grammar.end_utt()
        self.phones.end_utt()
        self._live = False
        hyp = self.grammar.hyp()
        text = hyp.hypstr if hyp else ""
        frames = max(1, self.grammar.n_frames())
        g_score = sum(s.ascore for s in (self.grammar.seg() or []))
        p_score = sum(s.ascore for s in (self.phones.seg() or []))
        confidence = (g_score - p_score) / frames
        decode_ms = (time.perf_counter() - t0) * 1000
        intent = self.tables[self._active].get(text)
        if too_long or frames > self.max_frames:
            return Recognition(text, None, confidence, decode_ms, "too long")
        if intent is None:
            return Recognition(text, None, confidence, decode_ms, "no phrase")
        if confidence < self.threshold:
            return Recognition(text, None, confidence, decode_ms, "low confidence")
        return Recognition(text, intent, confidence, decode_ms, "accepted")

    def cancel(self) -> None:
        if self._live:
            self.grammar.end_utt()
            self.phones.end_utt()
            self._live = False

    def recognize(self, pcm: bytes, context: str, too_long: bool = False) -> Recognition:
        self.start(context)
        self.feed(pcm)
        return self.finish(too_long)


def jsgf_for(name: str, table: dict[str, str]) -> str:
    """A JSGF grammar accepting exactly the phrases of ``table``."""
    alternatives = " | ".join(sorted(table)) or "<VOID>"
    return f"#JSGF V1.0;\ngrammar {name.replace('-', '_')};\npublic <utterance> = {alternatives};\n"
