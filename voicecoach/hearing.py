"""The listening pipeline shared by the live microphone, ``voicecoach hear`` and the
benchmarks: frames -> endpointing -> streaming recognition -> a heard result.

Recognition runs while the person speaks, so when the end of speech is detected only
the last few frames remain to decode.
"""

from __future__ import annotations

from dataclasses import dataclass

from .endpointer import FRAME_BYTES, Endpointer


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


class HearingPipeline:
    """Feed 30 ms frames; get a :class:`HeardUtterance` at each end of speech."""

    def __init__(self, endpointer: Endpointer, recognizer, context: str = "exercise"):
        self.endpointer = endpointer
        self.recognizer = recognizer
        self.context = context
        self._started_at: float | None = None

    def set_context(self, context: str) -> None:
        self.context = context

    def reset(self) -> None:
        """Drop any utterance in progress, and its rest (the coach was talking over it)."""
        if self.endpointer.in_speech:
            self.recognizer.cancel()
        self.endpointer.wait_for_silence()

    @property
    def in_speech(self) -> bool:
        return self.endpointer.in_speech

    def push(self, frame: bytes) -> HeardUtterance | None:
        state, utt = self.endpointer.push(frame)
        if state == "start":
            self.recognizer.start(self.context)
            self.recognizer.feed(self.endpointer.speech_so_far())
        elif state == "speech":
            self.recognizer.feed(frame)
        elif state == "end":
            return self._finish(utt)
        return None

    def hear_all(self, pcm: bytes) -> list[HeardUtterance]:
        """Every utterance in a whole recording (16 kHz mono 16-bit), as fast as the CPU allows."""
        heard = [h for i in range(0, len(pcm), FRAME_BYTES) if (h := self.push(pcm[i:i + FRAME_BYTES]))]
        last = self.flush()
        return heard + ([last] if last else [])

    def flush(self) -> HeardUtterance | None:
        if not self.endpointer.in_speech:
            return None
        return self._finish(self.endpointer.flush())

    def _finish(self, utt) -> HeardUtterance | None:
        if utt is None:  # too short to be speech
            self.recognizer.cancel()
            return None
        rec = self.recognizer.finish(too_long=utt.too_long)
        decode_ms = rec.decode_ms  # timed by the recognizer: the work left after the end of speech
        waited_ms = max(0.0, self.endpointer.t - utt.end_s) * 1000
        return HeardUtterance(utt.start_s, utt.end_s, rec.intent, rec.text, rec.confidence, rec.margin,
                              decode_ms, waited_ms + decode_ms, rec.reason)
