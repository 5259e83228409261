"""Barge-in: listening while the coach talks, for the few words that must interrupt it.

The coach knows exactly what it plays. :class:`FarEnd` keeps that sound on the monotonic
clock (16 kHz, with the volume changes the loudspeaker made), the echo canceller
(``echo.py``) removes it from the microphone, and what is left goes through its own
endpointer and the recognizer; that endpointer measures speech against the residue of the
coach's voice the canceller leaves, predicted from what is playing (``residue.py``), not only
against the room. While the coach speaks only the *interrupting* intents
(``interrupting.py``) are taken, on stricter evidence than in silence
(:class:`BargeInConfig`); everything else is left to the half-duplex rule (an answer begun
while the coach talks is dropped whole).

What happens to one sentence (:class:`Overlap`, pure and driven frame by frame, so the
unit tests run it with fakes):

* speech starts on the cleaned microphone -> the voice is lowered at once (``duck``);
* it ends and is an interrupting intent -> playback stops, and the intent is delivered to
  the coach as if it had been said in silence (``Heard``);
* it ends as anything else (a cough, "yes", talk in the room) -> full volume again;
* speech still going on when the sentence ends is followed to its end (at most the
  endpointer's longest utterance), so a "stop" said over the last word is not lost;
* speech that does not pause (the coach's residue glued to the person's word) is decoded
  now and then while it goes on (``probe_*`` of :class:`BargeInConfig`): a "stop" in it is
  acted on without waiting for an end that the residue would push past the longest answer.

:class:`BargeIn` runs an :class:`Overlap` on a thread next to the playing loudspeaker.
The delay from loudspeaker to microphone is estimated from each sentence
(:func:`~voicecoach.hearing.farend.estimate_delay`) and followed (:class:`DelayTracker`); both,
with :class:`FarEnd`, are in ``farend.py``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from voicecoach.core.events import Heard, TalkedOver
from voicecoach.hearing.endpointer import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, EndpointerConfig
from voicecoach.hearing.farend import DelayTracker, FarEnd, SampleClock
from voicecoach.hearing.pipeline import HeardUtterance
from voicecoach.hearing.interrupting import BargeInConfig, interrupting_intent
from voicecoach.hearing.residue import ResidueFloor

BARGE_CONTEXT = "exercise"  # every command is in it; only the interrupting intents are taken from it
# A microphone frame is stamped when it is read, after the input's buffering: it holds sound
# from up to this long before its stamp (PulseAudio's ALSA plugin: ~100-200 ms). The far end is
# looked up this much later than the stamp, and the delay tracked from there (s).
MIC_LEAD_S = 0.25
#: Barge-in's own endpointing over the cleaned microphone: a start needs a frame 10 dB over the
#: floor (the room's listener needs 12). Its thresholds (:class:`BargeInConfig`) were calibrated
#: on utterances cut this way; with 13 dB (tried for the listener) the residue of the coach's own
#: "say stop" was cut into a lone "Stop." and taken (tests/e2e/test_e2e_bargein.py, 2026-12-04).
BARGE_IN_ENDPOINTING = EndpointerConfig(peak_db=10.0)


class Controls(Protocol):
    """The playing loudspeaker, as barge-in sees it."""

    def duck(self, gain: float) -> None:
        """Play at ``gain`` (amplitude factor, 1 is full volume) from the next chunk on; 0 holds
        the sentence (silence) until a gain above 0 resumes it a little before where it stopped."""

    def stop(self) -> None:
        """Stop playing (from another thread)."""


@dataclass
class OverlapResult:
    event: Heard | TalkedOver | None = None  # what the coach should be told, if anything
    heard: list = field(default_factory=list)  # every utterance decoded (for logs and the bench)
    ducks: int = 0                           # times the voice was lowered
    holds: int = 0                           # ... and times it was held (silent) for clear speech
    near_db: float = -90.0                   # microphone level before the canceller (dBFS)
    clean_db: float = -90.0                  # ... and after it (dBFS), over the sentence


class Overlap:
    """One sentence played with the microphone open; feed it every microphone frame with
    :meth:`push` (see the module docstring). ``pipeline``: a :class:`HearingPipeline` of its
    own (endpointer and recognizer); ``controls``: the loudspeaker."""

    def __init__(self, far: FarEnd, canceller, pipeline, controls: Controls, config: BargeInConfig,
                 delay_s: float = 0.0, sentence: str = "", on_heard: Callable | None = None,
                 residue: ResidueFloor | None = None):
        # on_heard(heard, taken): every utterance decoded over the coach (for the logs), and
        # whether it was taken as an interrupting intent
        self.far, self.canceller, self.pipeline = far, canceller, pipeline
        self.controls, self.config, self.delay_s = controls, config, delay_s
        self.sentence, self.on_heard = sentence, on_heard
        # the coach's own voice left after the canceller: speech must rise over it (residue.py)
        self.residue = residue if residue is not None else ResidueFloor()
        self.residue.start_sentence()
        self.result = OverlapResult()
        self.done = False
        self.ducked = False
        self.held = False
        self._hold_again_at = -math.inf  # the stream time (s) from which the voice may be held again
        self._over: deque[float] = deque(maxlen=8)  # the last frames' level over the floor (dB)
        self._near: list[np.ndarray] = []   # raw microphone and far end while playing, for the delay
        self._farr: list[np.ndarray] = []
        self._energy = [0.0, 0.0]           # sum of squares before / after the canceller
        self._speech_past_end_s = 0.0
        self._clock = SampleClock()         # the frames' stamps on the microphone's own sample clock
        self._far_sounded_at: float | None = None  # latest frame with the loudspeaker's sound in its far end
        self._probe_due: tuple[float, float] | None = None  # (speech's start, next probe s after it)
        self._probing = None  # the probe decoding: (a Future, its audio's start and end, s)

    def push(self, captured_at: float, frame: bytes) -> None:
        """One microphone frame captured at monotonic ``captured_at`` (s)."""
        if self.done:
            return
        captured_at = self._clock.steady(captured_at)
        far = self.far.frame(captured_at + MIC_LEAD_S - self.delay_s)
        clean = self.canceller.process(frame, far)  # always: the canceller keeps following the room
        if any(far):
            self._far_sounded_at = captured_at
        if self._far_sounded_at is None or captured_at - self._far_sounded_at > MIC_LEAD_S + self.config.echo_tail_s:
            # nothing played lately, so nothing to remove: the canceller's suppressor would only
            # damage the person's voice (it does, measurably, with no echo), so it is bypassed
            clean = frame
        playing = self.far.end_t is None or captured_at < self.far.end_t
        if playing:
            near = np.frombuffer(frame, dtype="<i2").astype(np.float32)
            out = np.frombuffer(clean, dtype="<i2").astype(np.float32)
            self._energy[0] += float(np.sum(near * near))
            self._energy[1] += float(np.sum(out * out))
            self._near.append(near)
            self._farr.append(np.frombuffer(self.far.frame(captured_at + MIC_LEAD_S), dtype="<i2").astype(np.float32))
        elif self.pipeline.in_speech and captured_at >= self.far.end_t + self.config.echo_tail_s:
            self._speech_past_end_s += FRAME_S
        floor = self.residue.push(far, clean) if self.config.follow_residue else None
        was_speech = self.pipeline.in_speech
        heard = self.pipeline.push(clean, floor)
        ep = self.pipeline.endpointer
        self._over.append(ep.over_db)
        if self.pipeline.in_speech and not was_speech and not self.ducked:
            self.ducked = True
            self.result.ducks += 1
            self.controls.duck(self.config.duck_gain)  # at once: the person must be heard, and hear they are
        if self.pipeline.in_speech and not self.held and playing and max(self._over) >= self.config.hold_db \
                and ep.t >= self._hold_again_at and not self._too_long():
            self.held = True
            self.result.holds += 1
            self.controls.duck(0.0)  # clear speech: silent until it is judged (BargeInConfig.hold_db)
        if self.pipeline.in_speech and self._too_long():
            self._unduck()  # talk in the room: the sentence goes on at full volume
        if heard is not None:
            self._probe_due = self._probing = None
            self._judge(heard, playing)
        elif not playing and not self.pipeline.in_speech:
            self.done = True  # the sentence is over and nobody is speaking over it
        elif self.pipeline.in_speech:
            self._probe()

    def _probe(self) -> None:
        """Speech over the coach that has not paused: decode its last ``probe_window_s`` now and
        then (see :class:`BargeInConfig`), and act if it is an interrupting word. A probe is
        started on the pipeline's worker and looked at on a later frame, so the canceller keeps
        up with the microphone meanwhile; a refusal changes nothing (the utterance goes on)."""
        ep, cfg = self.pipeline.endpointer, self.config
        since = ep.t - ep.utterance_start_s
        if self._probing is not None:
            future, start_s, end_s = self._probing
            if not future.done():
                return
            self._probing = None
            rec = future.result()
            heard = HeardUtterance.of(rec, start_s, end_s, rec.decode_ms, rec.decode_ms)
            self.result.heard.append(heard)
            self._interrupted_by(heard, probe=True)
            return
        if self._probe_due is None or self._probe_due[0] != ep.utterance_start_s:
            self._probe_due = (ep.utterance_start_s, cfg.probe_first_s)  # speech begun anew
        if since < self._probe_due[1] or since > ep.cfg.max_utterance_s or self.pipeline.streaming:
            return
        self._probe_due = (ep.utterance_start_s, since + cfg.probe_every_s)
        pcm = ep.speech_so_far()[-round(cfg.probe_window_s * SAMPLE_RATE) * 2:]
        self._probing = (self.pipeline.decode(pcm), ep.t - len(pcm) / 2 / SAMPLE_RATE, ep.t)

    def _too_long(self) -> bool:
        ep = self.pipeline.endpointer
        return ep.t - ep.utterance_start_s > ep.cfg.max_utterance_s

    def _unduck(self) -> None:
        """Full volume again after speech that was no interrupting word. The next hold waits
        (BargeInConfig.hold_again_after_s): a resumed voice brings its residue back at once, and
        speech that keeps starting over the coach is most often its residue (a canceller that
        removes little), whose pieces, held, came back as "Stop." and "Wait"."""
        self._hold_again_at = self.pipeline.endpointer.t + self.config.hold_again_after_s
        if self.ducked or self.held:
            self.ducked = self.held = False
            self.controls.duck(1.0)

    def _interrupted_by(self, heard, probe: bool = False) -> bool:
        """Stop the sentence if ``heard`` is an interrupting intent on strong evidence."""
        intent = interrupting_intent(heard, self.config, self.sentence, probe)
        if self.on_heard:
            self.on_heard(heard, intent is not None)
        if intent is not None:
            self.controls.stop()
            self.result.event = Heard(intent, heard.text)
            self.done = True
        return intent is not None

    def _judge(self, heard, playing: bool) -> None:
        self.result.heard.append(heard)
        if self._interrupted_by(heard):
            return
        self._unduck()
        if not playing:
            # begun while the coach talked, ended after: dropped whole, as half duplex does
            s = self._speech_past_end_s
            if self.config.talked_over_min_s <= s <= self.config.talked_over_max_s and heard.reason != "too long":
                self.result.event = TalkedOver()
            self.done = True

    def timed_out(self, now: float) -> bool:
        """Followed a word past the sentence's end for too long: give up on it."""
        end = self.far.end_t
        return end is not None and now > end + self.config.follow_s

    def finish(self, tracker: DelayTracker | None = None) -> OverlapResult:
        """The sentence is over: the levels, and the delay learnt from it."""
        self.done = True
        self._unduck()
        e_near, e_clean = self._energy
        frames = max(1, len(self._near)) * FRAME_SAMPLES
        self.result.near_db = 20 * math.log10(max(math.sqrt(e_near / frames), 1.0) / 32768)
        self.result.clean_db = 20 * math.log10(max(math.sqrt(e_clean / frames), 1.0) / 32768)
        if tracker is not None and self._near:
            tracker.update(np.concatenate(self._farr), np.concatenate(self._near))
        return self.result


class BargeIn:
    """Barge-in for a live session: the microphone, the echo canceller and a hearing pipeline
    of its own. ``before_overlap`` is called as each sentence starts (the half-duplex
    listener forgets speech in progress there). Thread use: :meth:`watch` runs the
    microphone side on a helper thread while the caller plays the sentence."""

    def __init__(self, mic, canceller, pipeline, config: BargeInConfig | None = None,
                 before_overlap: Callable[[], None] | None = None, on_heard: Callable | None = None,
                 delay_s: float = 0.0):
        self.mic, self.canceller, self.pipeline = mic, canceller, pipeline
        self.config = config or BargeInConfig()
        self.before_overlap, self.on_heard = before_overlap, on_heard
        self.tracker = DelayTracker(delay_s)
        self.residue = ResidueFloor()  # learnt over every sentence of the session
        self.last: OverlapResult | None = None
        self.lost: BaseException | None = None  # a microphone that went away mid-sentence

    def watch(self, pcm16k: bytes, sentence: str, controls: Controls) -> "Watch":
        if self.before_overlap:
            self.before_overlap()
        self._drain()
        self.pipeline.reset()
        self.pipeline.endpointer._quiet_needed = 0  # noqa: SLF001  a fresh start: nothing to wait out
        self.pipeline.set_context(BARGE_CONTEXT)
        far = FarEnd(pcm16k)
        # AEC3 needs the loudspeaker's sound no later than its echo, and follows the delay itself:
        # it is fed MIC_LEAD_S ahead of the microphone's stamps, a constant alignment. Re-aligning
        # each sentence from the tracker's estimate measured worse on PulseAudio (AEC3 has to find
        # the delay again, and one outlier moved it): the tracker's delay is kept for the logs only.
        delay = 0.0
        overlap = Overlap(far, self.canceller, self.pipeline, controls, self.config, delay, sentence, self.on_heard,
                          self.residue)
        return Watch(self, overlap)


    def _drain(self) -> None:
        """Forget the microphone frames queued before this sentence (nobody read them while the
        coach synthesized or the session thought). Fed to the canceller against the sentence's
        first samples they teach it an echo path with no echo, and it removed 20 dB less."""
        for _ in range(10_000):
            try:
                if self.mic.read(0.0) is None:
                    return
            except Exception:  # noqa: BLE001  a lost microphone: the watch reports it
                return


class Watch:
    """One sentence's microphone side, on its own thread (see :class:`BargeIn`)."""

    def __init__(self, barge: BargeIn, overlap: Overlap):
        self.barge, self.overlap = barge, overlap
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name="barge-in", daemon=True)
        self._thread.start()

    def started(self, t0: float) -> None:
        """The first sample is played at monotonic ``t0`` (s)."""
        self.overlap.far.start(t0)

    def gain_from(self, sample16k: int, gain: float) -> None:
        self.overlap.far.gain_from(sample16k, gain)

    def hold(self, t: float, sample16k: int, held: bool) -> None:
        """The sentence is held (silent) from monotonic ``t``, or resumed from ``sample16k``."""
        self.overlap.far.hold(t, sample16k, held)

    def ended(self, played16k: int | None = None) -> None:
        """Playback returned (``played16k``: 16 kHz samples played if it was cut off)."""
        if played16k is not None:
            self.overlap.far.cut_at(played16k)
        if self.overlap.far.t0 is None:  # nothing was played at all
            self.overlap.far.start(time.monotonic())
            self.overlap.far.cut_at(0)
        self._ended.set()

    def _run(self) -> None:
        ov = self.overlap
        try:
            while not ov.done:
                if self._ended.is_set() and (not ov.pipeline.in_speech or ov.timed_out(time.monotonic())):
                    # the sentence is over: only a word in progress keeps us here
                    if not ov.pipeline.in_speech or ov.timed_out(time.monotonic()):
                        break
                item = self.barge.mic.read(0.05)
                if item is None:
                    continue
                if ov.far.t0 is None and not self._ended.is_set():
                    continue  # before the first sample: the room as it was (the listener had it)
                ov.push(*item)
        except Exception as exc:  # the microphone went away: the listener reports it  # noqa: BLE001
            self.barge.lost = exc

    def result(self) -> OverlapResult:
        """Wait for the microphone side to finish (it follows a word in progress to its end)."""
        self._ended.set()
        while self._thread.is_alive():
            self._thread.join(0.05)
        result = self.overlap.finish(self.barge.tracker)
        self.barge.last = result
        return result
