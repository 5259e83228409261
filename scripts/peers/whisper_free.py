"""Today's engine, for the benchmarks only: Whisper writes free text and the text must say a
phrase of the context exactly (``understand``). As shipped until 2026-12-07 (without its number
rescue): each utterance is decoded plainly in a 10 s window first, taken at once when that
decode wrote an answer at log-probability >= -1, else encoded again in the 30 s window and
decoded twice, plainly and prompted with the context's phrases; the prompted decode's match
counts only when the model is sure of its words. ``scripts/bench_human.py --engines
whisper-today`` runs it beside the closed-vocabulary recognizer the coach now uses
(``voicecoach/hearing/closed_whisper.py``)."""

from __future__ import annotations

from dataclasses import replace

from voicecoach.content.vocabulary import Vocabulary
from voicecoach.hearing.closed_whisper import TALK_WORDS  # a refused text this long is talk in the room
from voicecoach.hearing.recognizer import Recognition, understand
from voicecoach.hearing.whisper import Transcript, WhisperTranscriber, looping, too_long_for, voiced_s

#: Reject when the model gives this or more probability to "no speech" (0..1). One-word
#: answers often get 0.3-0.6, so only a clear "no speech" counts.
DEFAULT_MAX_NO_SPEECH = 0.8
#: A match of the prompted decode counts only from this average token log-probability (nat) ...
DEFAULT_MIN_LOGPROB = -0.5
#: ... or from this one for the commands that must never be missed (stop, pain, worse).
DEFAULT_MIN_LOGPROB_ALWAYS = -1.0
#: The fast path: each utterance is first decoded in a short window (its encoder costs about
#: an eighth of the 30 s one's); an answer clear there is taken at once, anything else is
#: decoded again in the full window. None: the full window only.
#: Chosen by ``scripts/calibrate_fast.py`` (removed with this engine, in git history) on half of the development speakers: on the other half
#: it decides as the full window alone does (no answer lost, no wrong one added, clean, 20 and
#: 10 dB), 81% of the answers in quiet on the fast path, 68% at 20 dB, 47% at 10 dB.
FAST_WINDOW_S: float | None = 10.0
#: ... clear: the plain decode wrote the answer, from this log-probability (nat).
FAST_MIN_LOGPROB = -1.0


class WhisperRecognizer:
    """Whole utterances -> intents of the listening context, rejecting everything else."""

    engine = "whisper"
    streaming = False

    def __init__(self, vocabulary: Vocabulary, transcriber: WhisperTranscriber | None = None, *,
                 max_no_speech: float = DEFAULT_MAX_NO_SPEECH, min_logprob: float = DEFAULT_MIN_LOGPROB,
                 min_logprob_always: float = DEFAULT_MIN_LOGPROB_ALWAYS,
                 fast_window_s: float | None = FAST_WINDOW_S, fast_min_logprob: float = FAST_MIN_LOGPROB):
        self.vocab = vocabulary
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

