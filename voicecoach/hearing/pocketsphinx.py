"""Speech recognition with pocketsphinx's bundled US English model (offline).

Two decoders see the same audio, streamed while the person speaks:

* a **grammar** decoder per listening context, its grammar generated from the
  vocabulary (never written by hand), and
* a **phone loop** (allphone search) that can follow any English speech.

A grammar search forces any sound onto some phrase, so an answer is accepted only if

1. the grammar reached a whole phrase, the utterance is short, as answers are, and the
   free phone loop heard at least one phone (in noise it hears only silence, while the
   grammar still forces a phrase onto it) but not more than twice the phrase's phones
   (a grammar stretches "my knee" over a whole sentence about coffee);
2. the grammar path explains the audio nearly as well as the free phone loop: the
   per-frame acoustic log-likelihood gap is the *confidence* (out-of-vocabulary speech
   fits the phone loop much better than any phrase);
3. the winning intent clearly beats every other intent: a second grammar pass over the
   same audio with all phrases *except* the winner's gives the *margin*. This catches
   substitutions ("yes" heard as "better"), which the first check cannot.

Both thresholds come from ``scripts/bench_recognition.py`` (its sweep) on the
development recordings: zero false accepts there, then as many right answers as possible.
"""

from __future__ import annotations

import math
import os
import time

import pocketsphinx
from pocketsphinx import Config, Decoder, Vad

from voicecoach.hearing.pronounce import espeak_pronunciation
from voicecoach.hearing.recognizer import Recognition
from voicecoach.content.vocabulary import Vocabulary

MODEL_DIR = os.path.join(pocketsphinx.get_model_path(), "en-us")

#: Scores are per-frame natural-log acoustic likelihood gaps, in units of 1e-4 nat.
SCORE_SCALE = 1e4
#: Accept only if confidence >= this (higher = stricter).
DEFAULT_THRESHOLD = -18.0
#: ... and the margin over the best other intent >= this.
DEFAULT_MARGIN = 6.0
#: Reject if the free phone loop heard more than this many times the phrase's phones: the
#: person said more than the phrase (a grammar stretches a short phrase over a long sentence).
DEFAULT_MAX_PHONE_RATIO = 2.0
#: Confidence threshold change per step of the user's sensitivity setting (1..5, 3 = default).
#: The benchmark's sweep had no false accepts from -22 to -12 (with the margin kept at 6).
SENSITIVITY_STEP = 2.0


def threshold_for_sensitivity(sensitivity: int) -> float:
    """Confidence threshold for sensitivity 1 (strictest, -14) .. 5 (most lenient, -22)."""
    return DEFAULT_THRESHOLD - (sensitivity - 3) * SENSITIVITY_STEP


#: Mean cepstrum of ordinary human speech (60 people's recordings), the starting point of
#: live CMN, so the very first answer of a session is decoded against a sane channel.
TYPICAL_SPEECH_CMN = "32.71,-0.90,-0.06,-1.15,1.09,-4.19,3.21,-5.20,1.20,-2.08,0.52,-0.60,-0.80"


def make_vad(mode: int = 2):
    """WebRTC voice activity detector (pocketsphinx's copy): frame -> is speech."""
    return Vad(mode).is_speech


def _decoder(**kw) -> Decoder:
    config = Config(hmm=os.path.join(MODEL_DIR, "en-us"),
                    dict=os.path.join(MODEL_DIR, "cmudict-en-us.dict"), loglevel="FATAL", **kw)
    decoder = Decoder(config)
    # The model's feat.params asks for batch CMN, which estimates the channel from the
    # utterance itself: hopeless on a one-word answer. Live CMN starts from a typical
    # speech mean instead (reset for every utterance, see start()).
    decoder.config["cmn"] = "live"
    decoder.config["cmninit"] = TYPICAL_SPEECH_CMN
    decoder.reinit_feat()
    return decoder


class PhraseRecognizer:
    """Recognise vocabulary phrases per listening context, rejecting everything else."""

    engine = "pocketsphinx"
    streaming = True  # decodes while the person speaks

    def __init__(self, vocabulary: Vocabulary, threshold: float = DEFAULT_THRESHOLD,
                 margin: float = DEFAULT_MARGIN, max_frames: int = 400,
                 max_phone_ratio: float = DEFAULT_MAX_PHONE_RATIO):
        self.vocab = vocabulary
        self.threshold = threshold
        self.margin = margin
        self.max_phone_ratio = max_phone_ratio
        self.max_frames = max_frames  # 100 frames a second
        # bestpath off: the lattice pass returns partial paths ("the" for "the same") on
        # short grammar utterances; the forward search's own result is a whole phrase.
        # lw 1.0: a grammar has no language model worth weighting.
        self.grammar = _decoder(lm=None, bestpath=False, lw=1.0)
        self.phones = _decoder(lm=None, allphone=os.path.join(MODEL_DIR, "en-us-phone.lm.bin"))
        self.added_words: dict[str, str] = {}
        self.unpronounceable: set[str] = set()  # words with no pronunciation: left out of the grammars
        self.tables: dict[str, dict[str, str]] = {}
        for context in vocabulary.contexts:
            self.add_context(context, vocabulary.intents_for(context))
        self._active: str | None = None
        self._live = False
        self._pcm: list[bytes] = []
        self._rivals: set[str] = set()

    # -- grammar generation -------------------------------------------------------------
    def add_context(self, name: str, intents) -> None:
        table = self.vocab.phrases_for(intents)
        self._ensure_words({w for phrase in table for w in phrase.split()})
        table = {p: i for p, i in table.items() if not self.unpronounceable.intersection(p.split())}
        self.grammar.add_jsgf_string(name, jsgf_for(name, table))
        self.tables[name] = table

    def _ensure_words(self, words: set[str]) -> None:
        missing = sorted(w for w in words if self.grammar.lookup_word(w) is None and w not in self.unpronounceable)
        found = {}
        for word in missing:
            phones = espeak_pronunciation(word)
            if phones:
                found[word] = phones
            else:  # no espeak-ng (or it failed): the phrases with this word are left out
                self.unpronounceable.add(word)
        for i, (word, phones) in enumerate(found.items()):
            self.grammar.add_word(word, phones, i == len(found) - 1)
            self.added_words[word] = phones

    # -- streaming ----------------------------------------------------------------------
    def start(self, context: str) -> None:
        if context not in self.tables:
            raise KeyError(f"no grammar for context {context!r}")
        if self._active != context:
            self.grammar.activate_search(context)
            self._active = context
        # Every utterance starts from the same channel estimate, so the same audio always
        # gets the same scores. set_cmn() is not enough: live CMN keeps running sums from
        # earlier utterances and re-estimates from them mid-utterance (the same recording's
        # margin ranged 4 to 9 over a session); reinit_feat() rebuilds it from cmninit (~0.1 ms).
        for decoder in (self.grammar, self.phones):
            decoder.reinit_feat()
        self.grammar.start_utt()
        self.phones.start_utt()
        self._live = True
        self._pcm = []

    def feed(self, pcm: bytes) -> None:
        self._pcm.append(pcm)
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
        winner = acoustic_log_score(self.grammar)
        confidence = (winner - acoustic_log_score(self.phones)) / frames * SCORE_SCALE
        context = self._active
        intent = self.tables[context].get(text)

        def result(intent_, margin, reason):
            return Recognition(text, intent_, confidence, margin, (time.perf_counter() - t0) * 1000, reason,
                               self.engine)

        if too_long or frames > self.max_frames:
            return result(None, 0.0, "too long")
        if intent is None:
            return result(None, 0.0, "no phrase")
        heard = phones_heard(self.phones)
        if not heard:
            return result(None, 0.0, "not speech")
        if heard > self.max_phone_ratio * self._phone_count(text):
            return result(None, 0.0, "more than the phrase")
        if confidence < self.threshold:
            return result(None, 0.0, "low confidence")
        margin = self._margin(context, intent, winner, frames)
        if margin < self.margin:
            return result(None, margin, "ambiguous")
        return result(intent, margin, "accepted")

    def _phone_count(self, text: str) -> int:
        """Phones in the dictionary pronunciation of ``text``."""
        return sum(len((self.grammar.lookup_word(w) or "").split()) for w in text.split())

    def _margin(self, context: str, intent: str, winner: float, frames: int) -> float:
        """Per-frame score of the winner minus the best phrase of any other intent."""
        rival = f"{context}-without-{intent}".replace(":", "_")
        if rival not in self._rivals:
            table = {p: i for p, i in self.tables[context].items() if i != intent}
            if not table:
                return float("inf")
            self.grammar.add_jsgf_string(rival, jsgf_for(rival, table))
            self._rivals.add(rival)
        self.grammar.activate_search(rival)
        self.grammar.reinit_feat()  # the same starting point as the first pass
        self.grammar.start_utt()
        self.grammar.process_raw(b"".join(self._pcm), False, True)
        self.grammar.end_utt()
        # No hypothesis: no phrase of any other intent survives the beam, so nothing else
        # explains the audio (the margin is unbounded; the confidence check still applies).
        other = acoustic_log_score(self.grammar) if self.grammar.hyp() else float("-inf")
        self.grammar.activate_search(context)
        return (winner - other) / frames * SCORE_SCALE

    def cancel(self) -> None:
        if self._live:
            self.grammar.end_utt()
            self.phones.end_utt()
            self._live = False

    def recognize(self, pcm: bytes, context: str, too_long: bool = False) -> Recognition:
        self.start(context)
        self.feed(pcm)
        return self.finish(too_long)


def acoustic_log_score(decoder: Decoder) -> float:
    """Natural-log acoustic score of the best path (the Python API hands out exp'd scores)."""
    return sum(math.log(max(seg.ascore, 1e-300)) for seg in (decoder.seg() or []))


def phones_heard(decoder: Decoder) -> int:
    """Phones (not silence or noise fillers) on the phone loop's best path."""
    return sum(1 for seg in (decoder.seg() or []) if seg.word != "SIL" and not seg.word.startswith("+"))


def jsgf_for(name: str, table: dict[str, str]) -> str:
    """A JSGF grammar accepting exactly the phrases of ``table``."""
    alternatives = " | ".join(sorted(table)) or "<VOID>"
    return f"#JSGF V1.0;\ngrammar {name.replace('-', '_').replace(':', '_')};\npublic <utterance> = {alternatives};\n"
