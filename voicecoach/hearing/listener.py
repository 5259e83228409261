"""The Listener port in voice: microphone frames through the hearing pipeline.

Half duplex by choice: audio captured while the coach speaks (and a short echo tail
after) is dropped, so the coach's own voice can never become an answer. The price is
that "stop" cannot interrupt a sentence; sentences are short, and every hold, rest
and pause listens the whole time.
"""

from __future__ import annotations

import time
from typing import Sequence

from voicecoach.hearing.endpointer import FRAME_S
from voicecoach.core.events import Heard, NotUnderstood, TalkedOver
from voicecoach.hearing.pipeline import HearingPipeline, HeardUtterance

TALKED_OVER_MIN_S = 0.15  # speech still going on after the coach stopped that counts as an answer cut off (s)
TALKED_OVER_MAX_S = 2.0   # ... and more than this is talk in the room, not an answer (answers are short) (s)
#: Why an utterance was refused when it was the room, not someone answering: talk longer than an
#: answer ("too long" to decode, or written as a sentence: "talk"), or sound the recognizer found
#: no speech or no words in (a dish, a cough, the tap). The coach keeps listening instead of
#: saying "Sorry, I didn't catch that" to the kitchen.
ROOM_SOUNDS = frozenset({"too long", "talk", "not speech", "no words"})


class VoiceListener:
    def __init__(self, microphone, pipeline: HearingPipeline, speaker=None, on_heard=None, speed: float = 1.0,
                 on_level=None):
        self.mic = microphone
        self.speed = speed  # clock seconds per real second (--speed)
        self.pipeline = pipeline
        self.speaker = speaker      # has .quiet_from (monotonic s)
        self.on_heard = on_heard    # callback(HeardUtterance) for logs
        self.on_level = on_level    # callback(dBFS) for every frame heard, for level meters
        self.level_db = -90.0       # input level of the latest frame (dBFS)
        self.last: HeardUtterance | None = None  # the latest utterance, with its scores
        self._cut_from: int | None = None  # endpointer's cut_speech_frames when the coach last talked

    def calibrate(self, seconds: float = 0.6) -> float:
        """Measure the room's noise floor (dBFS) from ``seconds`` of audio."""
        frames, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            item = self.mic.read(end - time.monotonic() + 0.1)
            if item:
                frames.append(item[1])
        self.calibration = frames  # the room, for barge-in's own endpointer
        return self.pipeline.endpointer.calibrate(frames)

    def coach_speaks(self) -> None:
        """The coach starts a sentence with barge-in listening (which reads the microphone
        meanwhile): forget speech in progress, as for frames dropped while it talks."""
        self.pipeline.reset()
        self._cut_from = self.pipeline.endpointer.cut_speech_frames

    def listen(self, intents: Sequence[str], context: str, timeout_s: float | None):
        self.pipeline.set_context(context)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s / self.speed
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline and not self.pipeline.in_speech:
                return None
            wait = 0.1 if deadline is None else max(0.01, min(0.1, deadline - now))
            item = self.mic.read(wait)
            if item is None:
                continue
            captured_at, frame = item
            if self.speaker is not None and captured_at < self.speaker.quiet_from:
                self.pipeline.reset()  # our own voice, or its echo
                self._cut_from = self.pipeline.endpointer.cut_speech_frames
                continue
            heard = self.pipeline.push(frame)
            self.level_db = self.pipeline.endpointer.level_db
            if self.on_level:
                self.on_level(self.level_db)
            if self._cut_from is not None and not self.pipeline.endpointer.waiting_out:
                # Speech begun while the coach talked went on after it, and was dropped whole:
                # say so now, rather than leave the person waiting for the silence timeout.
                cut_s = (self.pipeline.endpointer.cut_speech_frames - self._cut_from) * FRAME_S
                self._cut_from = None
                if TALKED_OVER_MIN_S <= cut_s <= TALKED_OVER_MAX_S:
                    return TalkedOver()
            if heard is None:
                continue
            self.last = heard
            if self.on_heard:
                self.on_heard(heard)
            if heard.reason in ROOM_SOUNDS:
                continue  # the room, not an attempt to answer: no "sorry, I didn't catch that"
            return self._event(heard, intents)

    @staticmethod
    def _event(heard: HeardUtterance, intents: Sequence[str]):
        if heard.intent and heard.intent in intents:
            return Heard(heard.intent, heard.text)
        # the words, even when rejected (the screen shows them), and what they may have been
        return NotUnderstood(heard.text, heard.guess if heard.guess in intents else None)
