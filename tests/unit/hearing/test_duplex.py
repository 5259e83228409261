"""The duplex logic with fakes: no audio devices, no model, no clock assertions."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest

from voicecoach.core.events import Heard
from voicecoach.hearing.duplex import Overlap
from voicecoach.hearing.interrupting import BargeInConfig, interrupting_intent
from voicecoach.hearing.endpointer import FRAME_BYTES, FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, Endpointer, frame_dbfs
from voicecoach.hearing.farend import DelayTracker, FarEnd, SampleClock, estimate_delay, resample_pcm
from voicecoach.hearing.pipeline import HeardUtterance
from voicecoach.hearing.recognizer import Recognition


def heard(intent, confidence=-0.2, margin=8.0, reason="accepted", text="Stop."):
    """As the closed-vocabulary recognizer reports: the intent's log-probability and its lead (nat)."""
    return HeardUtterance(0.0, 0.5, intent, text, confidence, margin, 0.0, 0.0, reason, "whisper")


class PassCanceller:
    name = "fake"

    def process(self, near, far):
        return near

    def reset(self):
        pass


NOTHING = Recognition("", None, -9.0, 0.0, 0.0, "low confidence", "whisper")


class FakePipeline:
    """Speech while frames are loud; at the end, the utterance scripted for it; a decode of
    speech that has not ended (barge-in's probe) says ``probe``."""

    streaming = False

    def __init__(self, result, probe: Recognition = NOTHING):
        self.endpointer = Endpointer(lambda f: True)
        self.result, self.probe = result, probe
        self.probes: list[float] = []  # stream time of each probe (s)
        self.in_speech = False
        self._quiet = 0

    def decode(self, pcm):
        self.probes.append(self.endpointer.t)
        done = Future()
        done.set_result(self.probe)
        return done

    def push(self, frame, floor_db=None):
        self.endpointer.t += FRAME_S
        ep = self.endpointer  # the level over the floor, as the real endpointer reports it
        ep.over_db = frame_dbfs(frame) - max(ep.noise_floor_db, -np.inf if floor_db is None else floor_db)
        loud = np.abs(np.frombuffer(frame, dtype="<i2")).max() > 1000
        if loud and not self.in_speech:
            self.in_speech, self.endpointer._start_s, self.endpointer._frames = True, self.endpointer.t, []
        if self.in_speech:
            self.endpointer._frames.append(frame)  # what speech_so_far() gives
        if self.in_speech and not loud:
            self._quiet += 1
            if self._quiet >= 3:
                self.in_speech, self._quiet = False, 0
                return self.result
        return None


class FakeControls:
    def __init__(self):
        self.gains, self.stopped = [], False

    def duck(self, gain):
        self.gains.append(gain)

    def stop(self):
        self.stopped = True


LOUD = (np.ones(FRAME_SAMPLES) * 5000).astype("<i2").tobytes()
QUIET = bytes(FRAME_BYTES)


MURMUR = (np.ones(FRAME_SAMPLES) * 1500).astype("<i2").tobytes()  # speech, 13 dB over a -40 dBFS room


HOLDING = BargeInConfig(hold_db=20.0)  # the measured setting of the hold (off by default)


def run(result, frames, sentence="Hold for thirty seconds.", probe: Recognition = NOTHING, room_dbfs=None,
        sentence_s: float = 2.0, config: BargeInConfig = BargeInConfig()):
    far = FarEnd(bytes(round(SAMPLE_RATE * sentence_s) * 2))
    far.start(0.0)
    controls = FakeControls()
    pipeline = FakePipeline(result, probe)
    if room_dbfs is not None:
        pipeline.endpointer.noise_floor_db = room_dbfs
    ov = Overlap(far, PassCanceller(), pipeline, controls, config, sentence=sentence)
    for i, f in enumerate(frames):
        ov.push(i * FRAME_S, f)
    return ov.finish(), controls


def test_stop_over_the_voice_ducks_then_stops_and_is_delivered_as_heard():
    result, controls = run(heard("stop"), [QUIET] * 5 + [LOUD] * 10 + [QUIET] * 5)
    assert controls.gains[0] < 1.0 and controls.stopped
    assert result.event == Heard("stop", "Stop.")


def test_anything_else_said_over_the_voice_restores_full_volume_and_is_not_taken():
    """Clear speech (LOUD is 44 dB over the room) lowers the voice, then holds it until the word
    is judged: not an interrupting word, so the sentence goes on at full volume."""
    result, controls = run(heard("yes", text="Yes."), [QUIET] * 5 + [LOUD] * 10 + [QUIET] * 5)
    assert controls.gains == [BargeInConfig().duck_gain, 1.0]  # by default only lowered (hold off)
    assert not controls.stopped and result.event is None and result.holds == 0
    result, controls = run(heard("yes", text="Yes."), [QUIET] * 5 + [LOUD] * 10 + [QUIET] * 5, config=HOLDING)
    assert controls.gains == [HOLDING.duck_gain, 0.0, 1.0]
    assert not controls.stopped and result.event is None and result.holds == 1


def test_speech_just_over_the_floor_lowers_the_voice_but_does_not_hold_it():
    """The residue's own bits rise a little over the floor: the sentence must not be cut into pieces."""
    result, controls = run(heard("yes", text="Yes."), [QUIET] * 5 + [MURMUR] * 10 + [QUIET] * 5, room_dbfs=-40.0,
                           config=HOLDING)
    assert controls.gains == [HOLDING.duck_gain, 1.0]
    assert result.holds == 0 and result.ducks == 1


def test_right_after_a_hold_the_voice_is_only_lowered():
    """A resumed sentence brings its residue back at once: holding again on it would stammer.
    Speech soon after speech that was no interrupting word only lowers the voice; later it may
    hold it again."""
    cfg = HOLDING
    word = [LOUD] * 10 + [QUIET] * 5
    soon = [QUIET] * 5
    later = [QUIET] * round(cfg.hold_again_after_s / FRAME_S)
    result, controls = run(heard("yes", text="Yes."), soon + word + soon + word + later + word, sentence_s=5.0,
                           config=cfg)
    d = cfg.duck_gain
    assert controls.gains == [d, 0.0, 1.0, d, 1.0, d, 0.0, 1.0]
    assert result.holds == 2 and result.ducks == 3


def test_speech_soon_after_a_murmur_is_only_lowered():
    """Speech that keeps starting over the coach is most often its residue: a clear word right
    after a murmur that was nothing lowers the voice but does not hold it."""
    cfg = HOLDING
    murmur, word = [MURMUR] * 10 + [QUIET] * 5, [LOUD] * 10 + [QUIET] * 5
    result, controls = run(heard("yes", text="Yes."), [QUIET] * 5 + murmur + word, room_dbfs=-40.0, config=cfg)
    assert controls.gains == [cfg.duck_gain, 1.0, cfg.duck_gain, 1.0] and result.holds == 0


def test_weak_evidence_is_not_an_interruption():
    cfg = BargeInConfig()
    assert interrupting_intent(heard("stop", confidence=cfg.min_score - 0.1), cfg) is None
    assert interrupting_intent(heard("stop", margin=cfg.min_margin - 0.1), cfg) is None
    assert interrupting_intent(heard("stop", reason="low confidence"), cfg) is None
    assert interrupting_intent(heard("better"), cfg) is None
    for intent in ("stop", "pain", "worse", "pause"):
        assert interrupting_intent(heard(intent), cfg) == intent


def test_a_word_the_coach_is_saying_needs_stronger_evidence():
    cfg = BargeInConfig()
    middling = heard("stop", confidence=(cfg.min_score + cfg.min_score_own_word) / 2)
    assert interrupting_intent(middling, cfg, "Hold for thirty seconds.") == "stop"
    assert interrupting_intent(middling, cfg, "Say stop, or pain, at any time.") is None


def test_far_end_follows_the_clock_the_volume_and_the_cut():
    pcm = (np.arange(SAMPLE_RATE) % 1000 + 1).astype("<i2").tobytes()
    far = FarEnd(pcm)
    assert far.frame(0.0) == QUIET  # not playing yet
    far.start(10.0)
    first = np.frombuffer(far.frame(10.0), dtype="<i2")
    assert first[0] == 1 and len(first) == FRAME_SAMPLES
    far.gain_from(0, 0.5)
    assert np.frombuffer(far.frame(10.0), dtype="<i2")[10] == 5
    far.cut_at(100)
    cut = np.frombuffer(far.frame(10.0), dtype="<i2")
    assert cut[99] != 0 and not cut[100:].any()
    assert far.frame(9.0) == QUIET


def test_a_held_sentence_is_silent_then_resumes_from_the_sample_asked():
    pcm = (np.arange(SAMPLE_RATE * 2) % 1000 + 1).astype("<i2").tobytes()  # 2 s
    far = FarEnd(pcm)
    far.start(10.0)
    assert far.end_t == pytest.approx(12.0)
    far.hold(10.5, 8000, True)             # held half a second in
    assert far.end_t is None               # playing on: nobody knows yet when it ends
    assert far.frame(10.6) == QUIET
    far.hold(11.0, 3200, False)            # resumed 0.3 s back, half a second later
    assert np.frombuffer(far.frame(11.0), dtype="<i2")[0] == 3200 % 1000 + 1
    assert far.end_t == pytest.approx(11.0 + (2 * SAMPLE_RATE - 3200) / SAMPLE_RATE)
    assert np.frombuffer(far.frame(10.2), dtype="<i2")[0] == 3200 % 1000 + 1  # before the hold: as played


def test_a_sentence_cut_off_while_held_ended_when_the_hold_began():
    far = FarEnd(bytes(SAMPLE_RATE * 4))
    far.start(0.0)
    far.hold(1.0, SAMPLE_RATE, True)
    far.cut_at(SAMPLE_RATE)
    assert far.end_t == 1.0


def test_delay_is_estimated_and_followed_from_clear_estimates_only():
    rng = np.random.default_rng(1)
    far = rng.standard_normal(SAMPLE_RATE * 2).astype(np.float32) * 3000
    delayed = np.concatenate([np.zeros(960, np.float32), far])[: len(far)] * 0.5  # 60 ms
    delay, clarity = estimate_delay(far, delayed)
    assert abs(delay - 0.06) < 0.002 and clarity > DelayTracker.MIN_CLARITY
    tracker = DelayTracker()
    tracker.update(far, delayed)
    tracker.update(far, rng.standard_normal(len(far)).astype(np.float32))  # unrelated: ignored
    assert abs(tracker.delay_s - 0.06) < 0.002


def test_resampling_keeps_length_and_level():
    t = np.arange(24000) / 24000
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype("<i2").tobytes()
    out = np.frombuffer(resample_pcm(tone, 24000), dtype="<i2").astype(float)
    assert len(out) == 16000
    assert abs(np.sqrt(np.mean(out ** 2)) - 10000 / np.sqrt(2)) < 100


def test_frames_read_late_and_in_bursts_are_put_back_on_the_microphone_clock():
    """A busy machine reads three frames at once: their stamps are the same, but they were
    captured 30 ms apart; the far end must be looked up on the microphone's own clock."""
    clock = SampleClock()
    stamps = [1.0, 1.03, 1.06, 1.15, 1.15, 1.15, 1.18]  # frames 3 and 4 read late, with frame 5
    steady = [clock.steady(t) for t in stamps]
    assert steady == [pytest.approx(1.0 + k * FRAME_S) for k in range(len(stamps))]


def test_a_stamp_earlier_than_the_clock_allows_starts_it_again():
    clock = SampleClock()
    assert clock.steady(2.0) == 2.0
    assert clock.steady(2.03) == pytest.approx(2.03)
    assert clock.steady(1.90) == 1.90  # before the clock's 2.06: the count is off; start again from here


def test_the_sentences_own_echo_after_its_end_is_not_an_answer_cut_off():
    """Loud frames go on for 0.3 s after the sentence (its echo, the room's reverberation):
    barge-in must not take that for an answer begun over the coach ("please say it again")."""
    from voicecoach.core.events import TalkedOver
    far = FarEnd(b"\0" * FRAME_BYTES * 10)
    far.start(0.0)
    ov = Overlap(far, PassCanceller(), FakePipeline(heard(None, reason="no phrase", text="floor.")), FakeControls(),
                 BargeInConfig())
    loud = (np.ones(FRAME_SAMPLES) * 5000).astype("<i2").tobytes()
    quiet = b"\0" * FRAME_BYTES
    t = 0.0
    for frame in [loud] * 20 + [quiet] * 5:  # 0.3 s = 10 frames of echo after the 0.3 s sentence
        ov.push(t, frame)
        t += FRAME_S
    assert not isinstance(ov.result.event, TalkedOver)


def test_an_answer_going_on_well_after_the_sentence_is_still_talked_over():
    from voicecoach.core.events import TalkedOver
    far = FarEnd(b"\0" * FRAME_BYTES * 10)
    far.start(0.0)
    ov = Overlap(far, PassCanceller(), FakePipeline(heard(None, reason="no phrase", text="yes I think")),
                 FakeControls(), BargeInConfig())
    loud = (np.ones(FRAME_SAMPLES) * 5000).astype("<i2").tobytes()
    t = 0.0
    for frame in [loud] * 40 + [b"\0" * FRAME_BYTES] * 5:  # speech until 1.2 s, the sentence ended at 0.3 s
        ov.push(t, frame)
        t += FRAME_S
    assert isinstance(ov.result.event, TalkedOver)


class Zeroing:
    """A canceller that removes everything (as a suppressor over-eager on a quiet far end)."""
    name = "zeroing"

    def __init__(self):
        self.calls = 0

    def process(self, near, far):
        self.calls += 1
        return b"\0" * len(near)

    def reset(self):
        pass


def test_the_canceller_is_bypassed_while_nothing_has_played_for_the_echo_tail():
    """While the loudspeaker is silent (and its echo has died away), the microphone goes to
    the recognizer untouched; the canceller still sees every frame."""
    loud = (np.ones(FRAME_SAMPLES) * 5000).astype("<i2").tobytes()
    far = FarEnd(loud * 10 + b"\0" * FRAME_BYTES * 50)  # 0.3 s of sound, then a pause in the sentence
    far.start(0.0)
    seen = []

    class Recording(FakePipeline):
        def push(self, frame, floor_db=None):
            seen.append(frame)
            return super().push(frame, floor_db)

    canceller = Zeroing()
    ov = Overlap(far, canceller, Recording(None), FakeControls(), BargeInConfig())
    t = 0.0
    for _ in range(40):
        ov.push(t, loud)
        t += FRAME_S
    assert canceller.calls == 40
    # fed MIC_LEAD_S ahead: the far end sounds until 0.05 s of the microphone's time, its echo
    # until about 0.3 s; from 0.3 s + the echo tail on, the microphone passes untouched
    tail = BargeInConfig().echo_tail_s
    first_bypassed = int(np.ceil((0.3 + tail) / FRAME_S)) + 1
    assert all(f == b"\0" * FRAME_BYTES for f in seen[:first_bypassed - 1])
    assert all(f == loud for f in seen[first_bypassed + 1:])


def followed(intent, confidence=-0.3, margin=6.0, text="Stop. And let your back"):
    """A word Whisper refused only because more followed it (the coach's voice, over the coach)."""
    return Recognition(text, None, confidence, margin, 0.0, "more than the phrase", "whisper", followed=intent)


def test_an_interrupting_word_followed_by_the_coach_s_voice_is_taken_on_strong_evidence_only():
    cfg = BargeInConfig()
    as_heard = lambda rec: HeardUtterance.of(rec, 0.0, 1.0, 0.0, 0.0)  # noqa: E731
    assert interrupting_intent(as_heard(followed("stop")), cfg) == "stop"
    assert interrupting_intent(as_heard(followed("stop", confidence=cfg.min_score_followed - 0.1)), cfg) is None
    assert interrupting_intent(as_heard(followed("stop", margin=cfg.min_margin_followed - 0.1)), cfg) is None
    assert interrupting_intent(as_heard(followed("yes")), cfg) is None  # only the interrupting intents
    # its own "say stop, or pain" comes back as exactly that: the word followed by more
    assert interrupting_intent(as_heard(followed("stop")), cfg, "Say stop, or pain, at any time.") is None


def test_speech_over_the_coach_that_never_pauses_is_probed_and_a_stop_in_it_acted_on():
    cfg = BargeInConfig()
    result, controls = run(heard(None, reason="too long"), [QUIET] * 5 + [LOUD] * 80 + [QUIET] * 5,
                           probe=followed("stop"))
    assert controls.stopped and result.event == Heard("stop", "Stop. And let your back")
    first = result.heard[0]
    assert 0 < first.end_s - first.start_s <= cfg.probe_window_s + 1e-9  # the speech's last moments


def test_a_probe_that_hears_nothing_changes_nothing_and_probing_stops_at_the_longest_utterance():
    cfg = BargeInConfig()
    ov_frames = [QUIET] * 5 + [LOUD] * 150 + [QUIET] * 5  # 4.5 s of speech that never pauses
    far = FarEnd(bytes(SAMPLE_RATE * 6))
    far.start(0.0)
    controls = FakeControls()
    pipeline = FakePipeline(heard(None, reason="too long"))
    ov = Overlap(far, PassCanceller(), pipeline, controls, cfg)
    for i, f in enumerate(ov_frames):
        ov.push(i * FRAME_S, f)
    result = ov.finish()
    assert not controls.stopped and result.event is None
    since_start = [t - 6 * FRAME_S for t in pipeline.probes]
    assert since_start[0] >= cfg.probe_first_s - FRAME_S
    assert all(b - a >= cfg.probe_every_s - FRAME_S for a, b in zip(since_start, since_start[1:]))
    assert max(since_start) <= pipeline.endpointer.cfg.max_utterance_s + FRAME_S


def test_a_probe_needs_the_strong_evidence_a_whole_utterance_does_not():
    """A probe's window is mostly the coach's residue: "Stop!" at -2.4 nat, 2.7 ahead, enough
    for a whole utterance over the coach, is not enough there."""
    frames = [QUIET] * 5 + [LOUD] * 80 + [QUIET] * 5
    weak = Recognition("Stop!", "stop", -2.4, 2.7, 0.0, "accepted", "whisper")
    result, controls = run(heard(None, reason="too long"), frames, probe=weak)
    assert not controls.stopped and result.event is None
    assert interrupting_intent(heard("stop", confidence=-2.4, margin=2.7), BargeInConfig()) == "stop"
    clear = Recognition("Stop.", "stop", -0.3, 6.0, 0.0, "accepted", "whisper")
    result, controls = run(heard(None, reason="too long"), frames, probe=clear)
    assert controls.stopped and result.event == Heard("stop", "Stop.")
