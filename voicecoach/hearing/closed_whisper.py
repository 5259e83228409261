"""Whisper as a closed-vocabulary recognizer: each utterance is encoded once in a window
fitted to it, and the phrases the listening context expects are scored against it (forced
decoding, ``WhisperTranscriber.phrase_logprobs``); ``hearing/closed.py`` decides from the scores.

Not the default recognizer yet: on the development recordings it hears clean speech about as
well as free transcription in a fraction of the time, but less in noise (see the README,
"How listening decides"). What the coach does use is :class:`NumberRescue`: the same scores,
on the 30 s encoding free transcription already made, for a pain score it did not write. ``scripts/bench_human.py --engines closed`` measures it and
``scripts/calibrate_closed.py`` chose its thresholds.
"""

from __future__ import annotations

import time

import numpy as np

from voicecoach.content.vocabulary import Vocabulary
from voicecoach.hearing.closed import Decision, Thresholds, decide, written_forms
from voicecoach.hearing.recognizer import Recognition
from voicecoach.hearing.whisper import SAMPLE_RATE, WhisperTranscriber, too_long_for, voiced_s


#: The fitted window: the utterance and this much after it (s), at least ``MIN_WINDOW_S``.
#: Whisper was trained on 30 s windows; a few seconds cut the encoder's cost about ten times,
#: and scores of whole phrases (with the end of the text) stay far apart (see closed.py).
WINDOW_PAD_S = 1.0
MIN_WINDOW_S = 3.0
#: Forms whose first token is this many nat less likely than the context's best first token
#: are not scored: their first token's log-probability bounds their score.
DEFAULT_PRUNE = 4.0
#: ... and at most this many forms per context are scored (each costs a few ms).
MAX_SCORED = 12


def fitted_frames(pcm: bytes, rate: int = SAMPLE_RATE, min_window_s: float = MIN_WINDOW_S) -> int:
    """Mel frames (10 ms) of the window fitted to ``pcm``: its length and ``WINDOW_PAD_S``."""
    seconds = len(pcm) / 2 / rate
    return int(min(30.0, max(min_window_s, seconds + WINDOW_PAD_S)) * 100)


def context_forms(vocab: Vocabulary, context: str) -> list[tuple[str, str]]:
    """(intent, written form) for every phrase ``context`` accepts, its own answers first."""
    table = vocab.phrases_for(vocab.intents_for(context))
    return [(intent, form) for phrase, intent in table.items() for form in written_forms(phrase)]


class ClosedScorer:
    """Scores of every written form of a context's phrases for one utterance (see closed.py)."""

    def __init__(self, vocabulary: Vocabulary, transcriber: WhisperTranscriber | None = None, *,
                 threads: int = 2, prune: float = DEFAULT_PRUNE, min_window_s: float = MIN_WINDOW_S):
        self.min_window_s = min_window_s
        self.vocab = vocabulary
        self.transcriber = transcriber or WhisperTranscriber(threads=threads)
        self.prune = prune
        tok = self.transcriber.tokenizer
        self.forms: dict[str, list[tuple[str, str]]] = {}  # context -> (intent, form)
        self.ids: dict[str, list[int]] = {}                 # form -> its tokens
        for context in vocabulary.contexts:
            self.forms[context] = pairs = context_forms(vocabulary, context)
            for _, form in pairs:
                self.ids.setdefault(form, tok.encode(form))
        # what may follow a phrase that is all that was said: the end, punctuation, the word again
        marks = [tok.encode(m)[0] for m in (".", "!", "?", ",", "...")] + [tok.eot]
        self.closers: dict[str, list[int]] = {}
        for form, ids in self.ids.items():
            first = form.split()[0]
            again = {tok.encode(" " + w)[0] for w in (first, first.lower(), first.capitalize())}
            self.closers[form] = sorted(set(marks) | again)

    def score_all(self, pcm: bytes, contexts) -> dict:
        """One utterance against the phrases of ``contexts``: the free transcription, each form's
        first-token log-probability, and the forced score of those within ``prune`` of the best."""
        t0 = time.perf_counter()
        tr = self.transcriber
        encoded, _ = tr.encode(pcm, fitted_frames(pcm, min_window_s=self.min_window_s))
        free, first = tr.free_decode(encoded)
        firsts = {form: float(first[self.ids[form][0]]) for c in contexts for _, form in self.forms[c]}
        wanted: list[str] = []
        for c in contexts:
            ranked = sorted({form for _, form in self.forms[c]}, key=firsts.get, reverse=True)
            best = firsts[ranked[0]]
            wanted += [form for form in ranked[:MAX_SCORED] if firsts[form] >= best - self.prune and form not in wanted]
        # a phrase is scored by its words, and apart from them by how likely nothing else
        # follows: in a short window Whisper would rather repeat a word than end ("Yes. Yes.")
        found = tr.phrase_logprobs(encoded, [self.ids[f] for f in wanted], [self.closers[f] for f in wanted])
        scores = {form: words for form, (words, _) in zip(wanted, found)}
        ends = {form: after for form, (_, after) in zip(wanted, found)}
        # the first word Whisper would write freely: a phrase starting far less likely than it
        # is not what was said ("No" when the free text starts "9"); timestamps and tags excluded
        first_max = float(first[: self.transcriber.tokenizer.eot].max())
        return {"free": free.text, "free_lp": free.avg_logprob * (free.tokens + 1), "nsp": free.no_speech_prob,
                "first_max": first_max,
                "first": firsts, "scores": scores, "ends": ends, "ms": (time.perf_counter() - t0) * 1000}

    @staticmethod
    def judge_scores(row: dict, context: str, vocab: Vocabulary, thresholds=None, prune: float = DEFAULT_PRUNE):
        """The :class:`~voicecoach.hearing.closed.Decision` for ``row`` (from :meth:`score_all`)
        in ``context``; ``row["voiced"]`` (s), when present, must fit the phrase."""
        intents = vocab.intents_for(context)
        thresholds = thresholds or Thresholds()
        firsts, scored = row["first"], row["scores"]
        forms = context_forms(vocab, context)
        best_first = max(firsts[form] for _, form in forms)
        scores: dict[str, dict[str, float]] = {}
        bounds: dict[str, float] = {}
        for intent, form in forms:
            if form in scored and firsts[form] >= best_first - prune:
                scores.setdefault(intent, {})[form] = scored[form]
            else:
                bounds[intent] = max(bounds.get(intent, -np.inf), firsts[form])
        free_intent = vocab.match(row["free"], intents) if row["free"] else None
        free_is_phrase = free_intent is not None or not vocab.read(row["free"], ())
        d = decide(scores, bounds, free_intent, free_is_phrase, row["first_max"], row["nsp"],
                   tuple(vocab.always_heard), thresholds, row["ends"], firsts, vocab.read(row["free"], intents))
        voiced = row.get("voiced")
        if d.intent and voiced is not None and too_long_for(d.phrase, voiced):
            return Decision(None, d.phrase, d.score, d.margin, "more than the phrase")
        return d


class ClosedRecognizer:
    """Whole utterances -> intents of the listening context, by scoring the context's phrases
    (closed vocabulary) instead of matching free text; rejects all else (see closed.py)."""

    engine = "whisper"
    streaming = False

    def __init__(self, vocabulary: Vocabulary, scorer: ClosedScorer | None = None, thresholds=None,
                 prune: float = DEFAULT_PRUNE):
        self.vocab = vocabulary
        self.scorer = scorer or ClosedScorer(vocabulary, prune=prune)
        self.thresholds = thresholds or Thresholds()
        self.prune = prune

    def recognize(self, pcm: bytes, context: str, too_long: bool = False) -> Recognition:
        if context not in self.vocab.contexts:
            raise KeyError(f"no listening context {context!r}")
        if too_long:  # a sentence, not an answer: not worth decoding
            return Recognition("", None, 0.0, 0.0, 0.0, "too long", self.engine)
        row = self.scorer.score_all(pcm, [context])
        row["voiced"] = voiced_s(pcm)
        d = ClosedScorer.judge_scores(row, context, self.vocab, self.thresholds, self.prune)
        return Recognition(d.phrase.strip() if d.intent else row["free"], d.intent, d.score, d.margin,
                           row["ms"], d.reason, self.engine)



#: The number rescue's thresholds, chosen by ``scripts/calibrate_closed.py --rescue --min-window 30
#: --noise recorded --contexts yesno,pain,movement --per-word 10`` on half of the development
#: speakers (recorded room noise, clean, 20 and 10 dB): no answer taken for another and no
#: coffee order taken there, then the most answers. Only pain scores gained (yes/no and up/down
#: gained nothing on that half), so only numbers are rescued.
RESCUE = Thresholds(min_score=-3.0, min_score_always=-3.0, min_margin=2.0, max_free_lead=2.0,
                    max_no_speech=0.8, min_end=-0.5)


class NumberRescue:
    """A second look at a number that Whisper's free text missed.

    Speakers recorded through a telephone-band microphone are often written as another word
    ("Bye." for five, "Thanks." for six); scored as phrases against the same 30 s encoding
    (no second encoder pass), the number they said is often clearly the likeliest one. Asked
    only when both free decodes found no phrase, only in a context whose answers are numbers,
    and it returns only a number, by the closed decision's own rules (:func:`decide`) with
    ``RESCUE``: likely, 2 nat ahead of every other intent, nothing after it, speech heard,
    fitting the voiced time."""

    def __init__(self, vocabulary: Vocabulary, transcriber: WhisperTranscriber, thresholds: Thresholds = RESCUE):
        self.vocab = vocabulary
        self.thresholds = thresholds
        self.scorer = ClosedScorer(vocabulary, transcriber, min_window_s=transcriber.frames / 100)

    def applies(self, context: str) -> bool:
        return any(is_number(i) for i in self.vocab.intents_for(context))

    def __call__(self, pcm: bytes, context: str, voiced: float) -> tuple[Decision, float]:
        """The decision (an intent only if it is a number) and the time it took (ms)."""
        row = self.scorer.score_all(pcm, [context])
        row["voiced"] = voiced
        d = ClosedScorer.judge_scores(row, context, self.vocab, self.thresholds)
        if d.intent and not is_number(d.intent):
            d = Decision(None, d.phrase, d.score, d.margin, "not a number")
        return d, row["ms"]


def is_number(intent: str) -> bool:
    return intent.startswith("score:")
