"""Endpointing: cut a stream of audio frames into utterances. Pure: no devices.

Frames are 30 ms of 16 kHz mono 16-bit PCM. A frame counts as speech when the voice
activity detector (injected: pocketsphinx's WebRTC VAD in production) says so *and* it is
louder than the room's noise floor by ``margin_db``; the floor is calibrated from the
first frames and then follows the quiet frames. Speech starts after ``start_frames`` of
the last ``start_window`` frames are speech, one of them ``peak_db`` over the floor, and
ends after ``end_silence_s`` of non-speech. Anything longer than ``max_utterance_s`` is marked ``too_long``: answers and
commands are short, so long talk (a radio, a conversation) is never an answer.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

SAMPLE_RATE = 16000  # Hz
FRAME_S = 0.03  # s
FRAME_SAMPLES = int(SAMPLE_RATE * FRAME_S)
FRAME_BYTES = FRAME_SAMPLES * 2


def frame_dbfs(frame: bytes) -> float:
    """Level of a frame in dB relative to full scale (dBFS)."""
    x = np.frombuffer(frame, dtype="<i2").astype(np.float32)
    rms = math.sqrt(float(np.mean(x * x))) if len(x) else 0.0
    return 20 * math.log10(max(rms, 1.0) / 32768.0)


@dataclass
class EndpointerConfig:
    start_window: int = 8          # frames (30 ms each) looked at for a start
    start_frames: int = 4          # of those, how many must be speech
    end_silence_s: float = 0.33    # non-speech that ends an utterance (s)
    pause_s: float = 0.12          # non-speech after which the utterance may be over: a
                                   # transcribing recognizer starts decoding here (s)
    answer_end_s: float = 0.21     # non-speech after which an answer already understood (the
                                   # decode started at the pause accepted it) ends the
                                   # utterance without waiting for ``end_silence_s`` (s)
    pre_roll_s: float = 0.3        # audio kept from before the detected start (s)
    max_utterance_s: float = 3.0   # longer is never an answer (s)
    min_utterance_s: float = 0.15  # shorter is a click or a knock (s)
    # A frame is speech when the VAD says so and it is ``margin_db`` over the room's floor; a
    # start also needs one of them ``peak_db`` over it. In noise a word's consonants and quiet
    # vowels sink to a few dB over the floor while its loudest vowel stays well above, so a
    # low margin keeps the word whole and the peak keeps the room's own murmur from starting
    # utterances (scripts/bench_vad.py: whole words at 10 dB SNR 39% -> 66%, kitchen noise).
    # The peak is 12 dB, not 10: a person talking across the room who says a number ("press
    # four") peaks 8.6-9.5 dB over the floor and was taken as a pain score, where the answers
    # at 20 dB SNR peak 18.8-31.3 dB over it (scripts/bench_human.py, recorded noise, the
    # development half: 20 dB 72.9% -> 76.5%, the room's numbers taken 6 -> 0; 10 dB 40.0% ->
    # 38.8%; clean the same; 13 dB did as well at 20 dB and lost more at 10 dB).
    margin_db: float = 3.0         # speech must be this much over the noise floor (dB) ...
    peak_db: float = 12.0          # ... and a start needs a frame this much over it (dB)
    floor_init_db: float = -60.0   # noise floor before calibration (dBFS)
    calibration_s: float = 0.5     # quiet audio used to calibrate the floor at start (s)


def config_for(engine: str) -> EndpointerConfig:
    """Endpointing for a recognizer. pocketsphinx refuses sound far less well than Whisper
    (swelling noise can pass its grammar), so it hears only what is clearly over the room:
    6 dB for every frame and 5 of 8 frames to start, as measured before the low margin."""
    if engine == "pocketsphinx":
        return EndpointerConfig(margin_db=6.0, peak_db=6.0, start_frames=5)
    return EndpointerConfig()


@dataclass
class Utterance:
    pcm: bytes
    start_s: float          # stream time of the first frame (s)
    end_s: float            # stream time of the detected end of speech (s)
    too_long: bool = False
    frames: list[bytes] = field(default_factory=list, repr=False)

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE


class Endpointer:
    """Feed frames with :meth:`push`; it calls back on speech start, each frame, and end."""

    def __init__(self, is_speech: Callable[[bytes], bool], config: EndpointerConfig | None = None):
        self.is_speech = is_speech
        self.cfg = config or EndpointerConfig()
        self.noise_floor_db = self.cfg.floor_init_db
        self._calibration: list[float] = []
        self.t = 0.0  # stream time (s) at the end of the last frame pushed
        self._recent: deque[tuple[bytes, bool]] = deque(maxlen=max(self.cfg.start_window,
                                                                  int(self.cfg.pre_roll_s / FRAME_S)))
        self.in_speech = False
        self._frames: list[bytes] = []
        self._silence = 0
        self._start_s = 0.0
        self._quiet_needed = 0  # frames of non-speech to see before anything may start
        self.cut_speech_frames = 0  # speech frames waited out so far (a talked-over answer's rest)
        self.level_db = -90.0
        self.over_db = -math.inf  # the last frame's level over the floor it was measured against (dB)

    @property
    def calibrated(self) -> bool:
        return len(self._calibration) * FRAME_S >= self.cfg.calibration_s

    def calibrate(self, frames: list[bytes]) -> float:
        """Set the noise floor from frames of room noise; returns it (dBFS)."""
        levels = sorted(frame_dbfs(f) for f in frames)
        if levels:
            self.noise_floor_db = levels[len(levels) // 2]
            self._calibration = levels
        return self.noise_floor_db

    def reset(self) -> None:
        """Forget any speech in progress (e.g. after the coach spoke)."""
        self._recent.clear()
        self.in_speech, self._frames, self._silence = False, [], 0

    def wait_for_silence(self) -> None:
        """Forget speech in progress, and start nothing until it has ended (``end_silence_s``
        of non-speech). Speech that began while the coach was talking has lost its start;
        its tail ("this" of "skip this") must not be taken for a whole answer ("yes")."""
        self.reset()
        self._quiet_needed = max(1, round(self.cfg.end_silence_s / FRAME_S))

    @property
    def utterance_start_s(self) -> float:
        """Stream time of the first frame of the utterance in progress (s)."""
        return self._start_s

    @property
    def silence_s(self) -> float:
        """Non-speech since the last speech frame of the utterance in progress (s)."""
        return self._silence * FRAME_S

    @property
    def waiting_out(self) -> bool:
        """True while the rest of a cut-off utterance is being waited out."""
        return self._quiet_needed > 0

    def push(self, frame: bytes, floor_db: float | None = None) -> tuple[str, Utterance | None]:
        """Add one frame. Returns ('start'|'speech'|'pause'|'end'|'idle', utterance at 'end').

        'pause' comes once per stretch of non-speech, ``pause_s`` into it; 'speech' frames
        follow if the person goes on (``silence_s`` is then 0 again). ``floor_db``: a floor
        for this frame above the room's (dBFS; barge-in's prediction of the coach's own voice
        left after the echo canceller): speech must rise over both, and the room's floor is
        not followed meanwhile."""
        if len(frame) < FRAME_BYTES:  # the last frame of a file
            frame = frame + b"\0" * (FRAME_BYTES - len(frame))
        self.t += FRAME_S
        level = frame_dbfs(frame)
        self.level_db = level
        if not self.calibrated:
            self._calibration.append(level)
            self.noise_floor_db = sorted(self._calibration)[len(self._calibration) // 2]
        floor = self.noise_floor_db if floor_db is None else max(self.noise_floor_db, floor_db)
        self.over_db = level - floor
        loud = level > floor + self.cfg.margin_db
        speech = loud and self.is_speech(frame)
        if not self.in_speech:
            if not speech and self.calibrated and floor_db is None:  # follow a changing room slowly
                self.noise_floor_db += 0.02 * (level - self.noise_floor_db)
            if self._quiet_needed:  # the end of a cut-off utterance: wait it out
                self.cut_speech_frames += speech
                self._quiet_needed = max(1, round(self.cfg.end_silence_s / FRAME_S)) if speech \
                    else self._quiet_needed - 1
                return "idle", None
            self._recent.append((frame, speech, self.over_db))
            window = list(self._recent)[-self.cfg.start_window:]
            if sum(s for _, s, _ in window) >= self.cfg.start_frames and \
                    max(over for _, s, over in window if s) > self.cfg.peak_db:
                self.in_speech = True
                self._frames = [f for f, _, _ in self._recent]
                self._start_s = self.t - len(self._frames) * FRAME_S
                self._silence = 0
                self._recent.clear()
                return "start", None
            return "idle", None
        self._frames.append(frame)
        self._silence = 0 if speech else self._silence + 1
        if self._silence * FRAME_S >= self.cfg.end_silence_s:
            return "end", self._finish(trailing=self._silence)
        if self._silence == max(1, round(self.cfg.pause_s / FRAME_S)):
            return "pause", None
        return "speech", None

    def speech_so_far(self) -> bytes:
        """Audio of the utterance in progress (pre-roll included)."""
        return b"".join(self._frames)

    def flush(self) -> Utterance | None:
        """End the utterance in progress here, if any: at the end of the stream, or when its
        answer is already known."""
        if self.in_speech:
            return self._finish(trailing=self._silence)
        return None

    def _finish(self, trailing: int) -> Utterance | None:
        frames = self._frames
        self.reset()
        end_s = self.t - trailing * FRAME_S
        # keep ~100 ms of the trailing silence: the decoder likes a little context
        keep = len(frames) - max(0, trailing - 3)
        pcm = b"".join(frames[:keep])
        speech_s = end_s - self._start_s
        too_long = speech_s > self.cfg.max_utterance_s
        if speech_s < self.cfg.min_utterance_s:
            return None
        return Utterance(pcm, self._start_s, end_s, too_long)


def split_utterances(frames: Iterator[bytes], endpointer: Endpointer) -> Iterator[Utterance]:
    """Every utterance in a finite stream of frames (used by ``hear`` and the benchmarks)."""
    for frame in frames:
        state, utt = endpointer.push(frame)
        if state == "end" and utt is not None:
            yield utt
    last = endpointer.flush()
    if last is not None:
        yield last
