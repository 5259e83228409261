"""Whisper as a closed-vocabulary recognizer, the coach's default: in every listening context
it scores the few phrases the coach expects against the audio, instead of transcribing freely
and matching text.

For one utterance (``recognize``):

1. it is encoded once, in a window of ``WINDOW_S`` filled after the audio with what Whisper
   knows as silence (``WhisperTranscriber.encode(..., pad="silence")``);
2. Whisper writes it freely, once (greedy, no prompt): that text is the hypothesis "something
   else was said", and the first step gives log P(first token) over the whole vocabulary;
3. every written form of the context's phrases (" Yes", " Five", " 5", " Go back") whose first
   token is within ``PRUNE`` nat of the likeliest form's is scored by forced decoding, with the
   probability that nothing else follows it (``whisper_decoder.py``); the others are bounded by
   their first token's log-probability. A big tree (a menu's names) is decoded with a beam of
   ``PRUNE`` nat: a phrase it leaves behind is bounded by its prefix's log-probability;
4. ``closed.decide`` takes the intent only if it is likely, clearly ahead of every other intent,
   not outdone by the free text, followed by nothing, heard as speech and fitting the voiced
   time (thresholds in ``closed.py``, chosen by ``scripts/calibrate_closed.py``).

In the menu, where routines start by name, the first judgement is about the commands (the names
are bounded by their first token, not scored); an utterance that gave no command is judged a
second time with Whisper prompted with the names (``names_prompt``), the names scored: a name
taken there is taken, unless stop, pain or worse was plausible in the first judgement.

A refusal says why, and says when it was the room rather than a person answering: free text
of ``TALK_WORDS`` words or more is talk in the room, no speech or no words is a sound.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np

from voicecoach.content.vocabulary import START_PREFIX, Vocabulary, normalise
from voicecoach.hearing.closed import (GUESSABLE, Decision, Thresholds, decide, logsumexp, name_floor, worth_asking,
                                       written_forms)
from voicecoach.hearing.recognizer import Recognition
from voicecoach.hearing.whisper import Transcript, WhisperTranscriber, looping, too_long_for, voiced_s

#: The encoder's window (s). Whisper was trained on 30 s windows; with the window filled with
#: Whisper's own silence (not faster-whisper's zeros) a 10 s window hears as much as the 30 s
#: one at a fifth of its cost (scripts/calibrate_closed.py measures both). A 5 s window heard as
#: much again on human recordings, 30-60 ms sooner (scripts/bench_human.py --window 5|10), but
#: the end-to-end test's synthetic "worse" (a word that must always be heard) went unheard in 5
#: of 7 runs with it, never with 10 s: not adopted (README, Benchmarks, 2026-12-07).
WINDOW_S = 10.0
#: Forms whose first token is this many nat less likely than the best form's are not scored:
#: the first token's log-probability bounds their score.
PRUNE = 8.0
#: When the free text says a phrase, another intent's forms are scored if their first token comes
#: this close to the phrase's score (nat): a rival left at its bound must be more than the
#: decision's margin (2 nat) behind, or a name that shares its first token
#: with the others (" start flexion routine", " start extension routine") is "ambiguous".
SHORTCUT_NAT = 2.5
#: Whisper's text holds this many tokens, the prompt and the start tokens included.
MAX_TEXT_TOKENS = 448
#: Names of at most this many words are written in the menu's prompt.
PROMPT_NAME_WORDS = 6
#: A refused free text of this many words or more is talk in the room (the next room's
#: conversation), not an answer misheard: the coach keeps listening instead of saying "sorry".
TALK_WORDS = 4


#: Change of ``min_score`` per step of the user's sensitivity setting (1..5, 3 = default) (nat).
SENSITIVITY_STEP = 0.5


def thresholds_for(sensitivity: int = 3, min_score: float | None = None) -> Thresholds:
    """The decision's thresholds for sensitivity 1 (strictest: an intent needs log-probability
    -1.75 or more) .. 5 (most lenient: -3.75); ``min_score`` (the expert ``--threshold``) over it.
    stop, pain and worse keep their own floor unless it is stricter than the chosen one."""
    t = Thresholds()
    floor = t.min_score - (sensitivity - 3) * SENSITIVITY_STEP if min_score is None else min_score
    return replace(t, min_score=floor, min_score_always=min(t.min_score_always, floor))


def context_forms(vocab: Vocabulary, context: str) -> list[tuple[str, str]]:
    """(intent, written form) for every phrase ``context`` accepts, its own answers first."""
    table = vocab.phrases_for(vocab.intents_for(context))
    return [(intent, form) for phrase, intent in table.items() for form in written_forms(phrase)]


def once(text: str) -> str:
    """``text`` said once when it is one phrase said again and again, the last time perhaps cut
    off where the decode stopped ("start bridges, start bridges, start" -> "start bridges");
    otherwise ``text`` unchanged. Whisper prompted with a list of names repeats the one it heard
    until its token budget ends: that is one name heard, not a sentence."""
    words = normalise(text).split()
    for period in range(1, len(words) // 2 + 1):
        if all(w == words[i % period] for i, w in enumerate(words)):
            return " ".join(words[:period])
    return text


def names_prompt(vocab: Vocabulary, context: str) -> str | None:
    """Whisper's previous text in a context that starts routines: their spoken names
    ("Knees to chest, nerve glides, ..."), so that a name written nowhere else in its training
    ("piriformis", "flexion") is as likely as the words it sounds like. None elsewhere: an
    answer's context has no words to teach, and a prompt there would only make Whisper
    write what it was shown. A name of more than ``PROMPT_NAME_WORDS`` words is not taught
    (it is long enough to be told from the others, and Whisper keeps only 223 tokens of it)."""
    if not any(i.startswith(START_PREFIX) for i in vocab.intents_for(context)):
        return None
    names = list(dict.fromkeys(n for ns in vocab.routine_names.values() for n in ns
                               if len(n.split()) <= PROMPT_NAME_WORDS))
    text = ", ".join(names)
    return text[:1].upper() + text[1:] + "." if text else None


class ClosedScorer:
    """The free transcription and the scores of a context's phrases for one utterance."""

    def __init__(self, vocabulary: Vocabulary, transcriber: WhisperTranscriber | None = None, *,
                 threads: int = 2, window_s: float = WINDOW_S, prune: float = PRUNE):
        self.vocab = vocabulary
        self.transcriber = transcriber or WhisperTranscriber(threads=threads)
        self.frames = int(window_s * 100)
        self.prune = prune
        tok = self.transcriber.tokenizer
        self.prompts = {context: names_prompt(vocabulary, context) for context in vocabulary.contexts}
        self.forms: dict[str, list[tuple[str, str]]] = {}  # context -> (intent, form)
        self.ids: dict[str, list[int]] = {}                 # form -> its tokens
        for context in vocabulary.contexts:
            self.forms[context] = pairs = context_forms(vocabulary, context)
            for _, form in pairs:
                self.ids.setdefault(form, tok.encode(form))
        # what may follow a phrase that is all that was said: the end, punctuation, the word again
        marks = [tok.encode(m)[0] for m in (".", "!", "?", ",", "...")] + [tok.eot]
        self.closers: dict[str, list[int]] = {}
        for form in self.ids:
            first = form.split()[0]
            again = {tok.encode(" " + w)[0] for w in (first, first.lower(), first.capitalize())}
            self.closers[form] = sorted(set(marks) | again)

    def score(self, pcm: bytes, context: str, shortcut: bool = True, prompted: bool = False,
              floor: float = Thresholds.min_score_always) -> dict:
        """The facts :func:`judge` judges: the free text (``free``: a :class:`Transcript`),
        log P(first token) of every form of ``context`` (``first``; where the decoder's beam left a
        form behind, its tighter bound: either bounds the form's score), the scores and ends of
        the forms worth scoring (``scores``, ``ends``, nat), and the time it took (``ms``).

        Worth scoring: the forms whose first token is within ``prune`` nat of the best form's.
        When the free text is itself a phrase of the context, its intent's forms are scored
        first, and another intent's only if its first token alone comes within ``SHORTCUT_NAT``
        of that intent (a first token bounds a phrase's score, and an unscored rival counts with
        its bound in the margin): mostly none, and the answer lands sooner.
        ``shortcut=False`` scores every form worth scoring (the calibration tries rules on them).
        ``prompted``: Whisper is given the context's prompt (:func:`names_prompt`), if it has one;
        in a context that has one, names are scored only then, and without it only those whose
        first token rivals a command that reaches ``floor`` (nat), the lowest an intent may score."""
        t0 = time.perf_counter()
        tr = self.transcriber
        encoded, _ = tr.encode(pcm, self.frames, pad="silence")
        prompt = self.prompts[context] if prompted else None
        free, first_all = tr.free_decode(encoded, prompt)
        if prompt is not None:  # a prompt makes Whisper say the name again and again
            free = replace(free, text=once(free.text))
        forms = self.forms[context]
        first = {form: float(first_all[self.ids[form][0]]) for _, form in forms}
        best = max(first.values())
        # names are scored only with their prompt (the first judgement in the menu is about the
        # commands; each name left at its first token's bound, an upper bound of its score)
        names_later = prompt is None and self.prompts[context] is not None
        candidates = [(i, f) for i, f in forms if first[f] >= best - self.prune
                      and not (names_later and i.startswith(START_PREFIX))]
        said = self.vocab.match(free.text, self.vocab.intents_for(context)) if free.text else None
        scores: dict[str, float] = {}
        ends: dict[str, float] = {}
        bounds: dict[str, float] = {}  # forms left behind by the beam: an upper bound of their score

        room = MAX_TEXT_TOKENS - len(tr.prompt_tokens(prompt)) - 1  # the end after the phrase

        def add(wanted):
            # a phrase too long for Whisper's text (a user's name of hundreds of tokens) stays bounded
            wanted = sorted(f for f in set(wanted) - set(scores) - set(bounds) if len(self.ids[f]) <= room)
            if not wanted:
                return
            found = tr.phrase_logprobs(encoded, [self.ids[f] for f in wanted], [self.closers[f] for f in wanted],
                                       prompt, beam=self.prune)
            for f, (words, end) in zip(wanted, found):
                if end is None:
                    bounds[f] = words
                else:
                    scores[f], ends[f] = words, end

        if said is not None and shortcut:
            add(f for i, f in candidates if i == said)
            own = logsumexp([scores[f] + ends[f] for f in scores])
            add(f for i, f in candidates if i != said and first[f] >= own - SHORTCUT_NAT)
        else:
            add(f for _, f in candidates)
        if names_later and scores:  # a name whose first token rivals a likely command is scored
            top = max(logsumexp(list(v.values())) for v in by_intent(forms, scores, ends, first)[0].values())
            if top >= floor:
                add(f for i, f in forms if i.startswith(START_PREFIX) and first[f] >= top - SHORTCUT_NAT)
        first = {f: min(lp, bounds.get(f, lp)) for f, lp in first.items()}  # the tighter bound
        return {"free": free, "first": first, "scores": scores, "ends": ends, "tokens": {f: len(self.ids[f]) for f in scores},
                "ms": (time.perf_counter() - t0) * 1000}


def by_intent(forms: list[tuple[str, str]], scores: dict[str, float], ends: dict[str, float],
              first: dict[str, float]) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per intent of ``forms`` ((intent, written form) pairs): its scored forms' log-probabilities
    with the end after them (nat), and the upper bound of its unscored forms (their ``first``)."""
    scored: dict[str, dict[str, float]] = {}
    bounds: dict[str, float] = {}
    for intent, form in forms:
        if form in scores:
            scored.setdefault(intent, {})[form] = scores[form] + ends[form]
        else:
            bounds[intent] = max(bounds.get(intent, -np.inf), first[form])
    return scored, bounds


def judge(vocab: Vocabulary, facts: dict, context: str, thresholds: Thresholds,
          voiced: float | None = None) -> Decision:
    """The :class:`Decision` the facts of :meth:`ClosedScorer.score` support in ``context``.

    When Whisper's free text is itself a phrase of the context, that is strong evidence:
    the intent is taken if the phrase scores also rank it first by the margin, it is as
    likely as any answer must be, speech was heard and the text accounts for the voiced time
    (the end after the phrase is not asked: the free text ended there). Otherwise
    the scores decide (:func:`closed.decide`), the free text being "something else"."""
    free = facts["free"]
    intents = vocab.intents_for(context)
    scores, bounds = by_intent(context_forms(vocab, context), facts["scores"], facts["ends"], facts["first"])
    # a routine's name of several words has its own floor (closed.name_floor), from its best form
    floors = {intent: name_floor(thresholds, facts.get("tokens", {}).get(max(forms, key=forms.get), 1))
              for intent, forms in scores.items() if intent.startswith(START_PREFIX)}
    free_intent = vocab.match(free.text, intents) if free.text else None
    free_is_phrase = free_intent is not None or not vocab.read(free.text, ())
    free_lp = free.avg_logprob * (free.tokens + 1)  # the whole free text, its end included (nat)
    d = decide(scores, bounds, free_intent, free_is_phrase, free_lp, free.no_speech_prob,
               tuple(vocab.always_heard), thresholds, facts["ends"], vocab.read(free.text, intents), floors)
    if free_intent is not None:  # the free text says a phrase: it decides, if the scores agree
        floor = thresholds.min_score_always if free_intent in vocab.always_heard \
            else floors.get(free_intent, thresholds.min_score)
        if free.no_speech_prob >= thresholds.max_no_speech:
            d = replace(d, intent=None, phrase=free.text, reason="not speech")
        elif d.best != free_intent or d.margin < thresholds.min_margin:  # "Yeah." for a "no" scored 0.5 nat ahead
            d = replace(d, intent=None, phrase=free.text, reason="ambiguous")
        elif d.score < floor:
            d = replace(d, intent=None, phrase=free.text, reason="low confidence")
        else:
            d = replace(d, intent=free_intent, phrase=free.text, reason="accepted")
        if d.intent and voiced is not None and too_long_for(free.text, voiced):
            return replace(d, intent=None, reason="more than the phrase")
        return d
    if d.intent and voiced is not None and too_long_for(d.phrase, voiced):
        return replace(d, intent=None, reason="more than the phrase")
    return d


def _one_word_looped(text: str, voiced: float) -> str | None:
    """The answer said once, when Whisper wrote one short answer again and again ("1 1 1 1 1 1 1",
    "zero zero zero zero") where the audio holds no more voice than that answer said once: its
    decoder looping on a clear word, not a sentence (a coffee order looped into "Three, three,
    three, ..." has the voiced time of many words). None otherwise."""
    said = once(text)
    return said if said != text and not too_long_for(said, voiced) else None


class ClosedRecognizer:
    """Whole utterances -> intents of the listening context, by scoring the context's phrases;
    rejects all else (see the module docstring)."""

    engine = "whisper"
    streaming = False

    def __init__(self, vocabulary: Vocabulary, scorer: ClosedScorer | None = None,
                 thresholds: Thresholds | None = None):
        self.vocab = vocabulary
        self.scorer = scorer or ClosedScorer(vocabulary)
        self.thresholds = thresholds or Thresholds()
        # the listener and barge-in share one recognizer, each decoding on its own thread: the
        # transcriber keeps the latest utterance's encoding, so one utterance is judged at a time
        self._lock = threading.Lock()

    @property
    def transcriber(self) -> WhisperTranscriber:
        return self.scorer.transcriber

    def recognize(self, pcm: bytes, context: str, too_long: bool = False) -> Recognition:
        if context not in self.vocab.contexts:
            raise KeyError(f"no listening context {context!r}")
        if too_long:  # a sentence, not an answer: not worth decoding
            return Recognition("", None, 0.0, 0.0, 0.0, "too long", self.engine)
        with self._lock:
            return self._recognize(pcm, context)

    def _recognize(self, pcm: bytes, context: str) -> Recognition:
        voiced = voiced_s(pcm)
        facts = self.scorer.score(pcm, context, floor=min(self.thresholds.min_score, self.thresholds.min_score_always))
        d = judge(self.vocab, facts, context, self.thresholds, voiced)
        if self.scorer.prompts[context] and (d.intent is None or d.intent.startswith(START_PREFIX)):
            named = self.scorer.score(pcm, context, prompted=True)
            n = judge(self.vocab, named, context, self.thresholds, voiced)
            ms = facts["ms"] + named["ms"]  # both judgements are waited for
            if n.intent and n.intent.startswith(START_PREFIX) and not self._always_plausible(facts, context):
                facts, d = named, n
            facts = {**facts, "ms": ms}
        free: Transcript = facts["free"]
        if d.intent and d.intent not in self.vocab.always_heard and looping(free.text) \
                and _one_word_looped(free.text, voiced) is None:
            d = replace(d, intent=None, reason="repeats")
        if d.intent:
            return Recognition(d.phrase.strip(), d.intent, d.score, d.margin, facts["ms"], "accepted", self.engine)
        followed = d.best if d.reason == "more than the phrase" else None
        why = self._why(d, free, voiced)
        return Recognition(free.text, None, d.score, d.margin, facts["ms"], why, self.engine, followed,
                           d.best if why in GUESSABLE and worth_asking(d, self.thresholds) else None)

    def _always_plausible(self, facts: dict, context: str) -> bool:
        """Whether stop, pain or worse may have been said, as Whisper heard it without the names
        prompted: its score (or its first token's bound) reaches its floor. Then no routine is
        started on the prompted scores, which favour names: "Stop." near " Stretches"."""
        scores, bounds = by_intent(context_forms(self.vocab, context), facts["scores"], facts["ends"], facts["first"])
        return any(max([*scores.get(intent, {}).values(), bounds.get(intent, -np.inf)]) >= self.thresholds.min_score_always
                   for intent in self.vocab.always_heard)

    def _why(self, d: Decision, free: Transcript, voiced: float) -> str:
        if d.reason == "not speech" or free.no_speech_prob >= self.thresholds.max_no_speech:
            return "not speech"
        if not self.vocab.read(free.text, ()):
            return "no words"
        # one clear word Whisper wrote again and again ("Yes. Yes. Yes. Yes" heard in the rating
        # context) is one word said, not talk in the room: "sorry", not silence
        text = _one_word_looped(free.text, voiced) or free.text
        if d.reason in ("no phrase", "low confidence", "something else", "more than the phrase") \
                and len(text.split()) >= TALK_WORDS:
            return "talk"  # someone talking in the room, not an answer tried
        return d.reason
