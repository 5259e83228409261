"""The listening pipeline shared by the live microphone, ``voicecoach hear`` and the
benchmarks: frames -> endpointing -> recognition -> a heard result.

Recognition is hidden behind the person's own pause:

* a **streaming** recognizer (pocketsphinx) decodes while the person speaks, so when the
  end of speech is detected only the last few frames remain;
* a **transcribing** recognizer (Whisper) needs the whole utterance, and takes hundreds of
  milliseconds. It is started *early*, at the first short pause (``pause_s``, 0.12 s) on the
  audio so far, while the endpointer still waits to be sure speech has ended (0.33 s). If the
  person goes on speaking, that early result is thrown away and the next pause starts again.
  When that early decode has *accepted* an answer and ``answer_end_s`` (0.21 s) of quiet has
  passed, the utterance ends there: a recognised answer does not wait out the rest of the
  silence meant for speech that may go on. Refusals still wait for the full end.

Live (``live=True``) the early decode runs on a worker thread. Offline (files, benchmarks)
the pipeline runs faster than real time, so the early decode is done when the end is found
and its head start is credited from the stream times: the latency reported is what a live
run on this machine would have waited. Where an utterance ends offline never depends on this
machine's speed: an answer understood at the pause ends it ``answer_end_s`` into the quiet, as
on a machine fast enough to have decoded it by then, so a file is cut the same way everywhere.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from voicecoach.hearing.endpointer import FRAME_BYTES, Endpointer
from voicecoach.hearing.recognizer import Recognition


@dataclass(frozen=True)
class HeardUtterance:
    start_s: float            # stream time (s)
    end_s: float              # stream time of the end of speech (s)
    intent: str | None        # None: rejected
    text: str
    confidence: float
    margin: float
    decode_ms: float          # decoding still to do after the end was detected (ms)
    latency_ms: float         # end of speech -> intent: endpoint wait + decoding (ms)
    reason: str
    engine: str = ""
    followed: str | None = None   # refused only for what followed it: that intent (see Recognition)
    guess: str | None = None      # refused, but worth asking "Did you say ...?" (see Recognition)

    @classmethod
    def of(cls, rec: Recognition, start_s: float, end_s: float, decode_ms: float, latency_ms: float) -> "HeardUtterance":
        """What ``rec`` heard in the audio from ``start_s`` to ``end_s`` (stream time, s)."""
        return cls(start_s, end_s, rec.intent, rec.text, rec.confidence, rec.margin, decode_ms, latency_ms,
                   rec.reason, rec.engine, rec.followed, rec.guess)


@dataclass
class _Early:
    """A decode started at a pause: the audio it got, and when (stream time, s)."""

    pcm: bytes
    at_s: float
    future: Future | None = None
    result: Recognition | None = None  # offline: decoded once an early end is possible


class HearingPipeline:
    """Feed 30 ms frames; get a :class:`HeardUtterance` at each end of speech."""

    def __init__(self, endpointer: Endpointer, recognizer, context: str = "exercise", live: bool = False):
        self.endpointer = endpointer
        self.recognizer = recognizer
        self.context = context
        self.streaming = getattr(recognizer, "streaming", True)
        self._early: _Early | None = None
        self._worker = ThreadPoolExecutor(1, "early-decode") if live and not self.streaming else None

    def set_context(self, context: str) -> None:
        if context != self.context:
            self._early = None  # decoded for the previous question
        self.context = context

    def reset(self) -> None:
        """Drop any utterance in progress, and its rest (the coach was talking over it)."""
        if self.endpointer.in_speech and self.streaming:
            self.recognizer.cancel()
        self._early = None
        self.endpointer.wait_for_silence()

    @property
    def in_speech(self) -> bool:
        return self.endpointer.in_speech

    def push(self, frame: bytes, floor_db: float | None = None) -> HeardUtterance | None:
        """One 30 ms frame; ``floor_db``: see :meth:`Endpointer.push`."""
        state, utt = self.endpointer.push(frame, floor_db)
        if state == "end":
            return self._finish(utt)
        if self.streaming:
            if state == "start":
                self.recognizer.start(self.context)
                self.recognizer.feed(self.endpointer.speech_so_far())
            elif state in ("speech", "pause"):
                self.recognizer.feed(frame)
        elif state == "pause":
            self._start_early()
        elif state == "speech" and self.endpointer.silence_s == 0:
            self._early = None  # the person went on: that pause was not the end
        elif state == "speech" and self._answer_ready():
            return self._finish(self.endpointer.flush())
        return None

    def _answer_ready(self) -> bool:
        """Has the decode started at the pause accepted an answer, ``answer_end_s`` into the
        quiet (live: it has returned by now; offline: it is assumed to have)?"""
        early, ep = self._early, self.endpointer
        if early is None or ep.silence_s < ep.cfg.answer_end_s - 1e-9:
            return False
        if early.future is not None:
            return early.future.done() and early.future.result().intent is not None
        # offline: as on a machine that decodes within ``answer_end_s`` - ``pause_s``. The decision
        # where an utterance ends must not depend on this CPU's speed (the same file is cut the
        # same way everywhere); the time the decode would still take is counted in the latency.
        if early.result is None:
            early.result = self.recognizer.recognize(early.pcm, self.context)
        return early.result.intent is not None

    def decode(self, pcm: bytes) -> Future:
        """Recognize ``pcm`` in this pipeline's context outside its endpointing (barge-in decodes
        speech that does not pause), on the worker of the early decodes (live) or at once."""
        if self._worker:
            return self._worker.submit(self.recognizer.recognize, pcm, self.context)
        done: Future = Future()
        done.set_result(self.recognizer.recognize(pcm, self.context))
        return done

    def hear_all(self, pcm: bytes) -> list[HeardUtterance]:
        """Every utterance in a whole recording (16 kHz mono 16-bit), as fast as the CPU allows."""
        heard = [h for i in range(0, len(pcm), FRAME_BYTES) if (h := self.push(pcm[i:i + FRAME_BYTES]))]
        last = self.flush()
        return heard + ([last] if last else [])

    def flush(self) -> HeardUtterance | None:
        if not self.endpointer.in_speech:
            return None
        return self._finish(self.endpointer.flush())

    # -------------------------------------------------------------------------------------
    def _start_early(self) -> None:
        ep = self.endpointer
        if ep.t - ep.silence_s - ep.utterance_start_s > ep.cfg.max_utterance_s:
            return  # too long to be an answer: it will not be decoded at all
        early = _Early(ep.speech_so_far(), ep.t)
        if self._worker:
            early.future = self._worker.submit(self.recognizer.recognize, early.pcm, self.context)
        self._early = early

    def _finish(self, utt) -> HeardUtterance | None:
        early, self._early = self._early, None
        if utt is None:  # too short to be speech
            if self.streaming:
                self.recognizer.cancel()
            return None
        t_end = self.endpointer.t  # stream time at which the end was detected (s)
        if self.streaming:
            rec = self.recognizer.finish(too_long=utt.too_long)
            decode_ms = rec.decode_ms  # timed by the recognizer: the work left after the end of speech
        elif early is not None and not utt.too_long:
            if early.future is not None:  # live: wait for the decode started at the pause
                t0 = time.perf_counter()
                rec = early.future.result()
                decode_ms = (time.perf_counter() - t0) * 1000
            else:  # offline: as if it had started at the pause
                rec = early.result or self.recognizer.recognize(early.pcm, self.context)
                decode_ms = max(0.0, rec.decode_ms - (t_end - early.at_s) * 1000)
        else:
            rec = self.recognizer.recognize(utt.pcm, self.context, utt.too_long)
            decode_ms = rec.decode_ms
        waited_ms = max(0.0, t_end - utt.end_s) * 1000
        return HeardUtterance.of(rec, utt.start_s, utt.end_s, decode_ms, waited_ms + decode_ms)
