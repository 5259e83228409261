"""The coach's own voice left after the echo canceller: how loud it should be right now.

No canceller removes all of the echo: what is left (20-35 dB under the echo, more in the
reverberation) is quiet next to a person's word, but loud next to the room's floor, which is
what barge-in's endpointer measures speech against. Measured against the room alone, the
residue of a long sentence kept the endpointer in speech for seconds, and a person's "stop" was
glued to the coach's words into an utterance too long to be an answer (README, Barge-in).

The coach knows what it plays, so it can predict the residue: its level follows the far end's
level, times what the room and the canceller let through. :class:`ResidueFloor` learns that
ratio (the *residue gain*, dB) from the frames where the coach was sounding, and gives, for each
microphone frame, the level the residue alone would reach: the endpointer then counts as speech
only what rises above it (a double-talk detector). A person's word is a few percent of the
frames it learns from, so a high percentile of the ratio is the residue's, not the person's.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from voicecoach.hearing.endpointer import FRAME_S, frame_dbfs

#: The far end's envelope is its loudest frame over this long (s): the echo of a frame reaches
#: the microphone up to the input's buffering (~0.25 s) plus the room's delay and reverberation
#: later, and the far end is looked up ahead of the microphone (duplex.MIC_LEAD_S).
ENVELOPE_S = 0.85
#: The far end counts as sounding above this level (dBFS); quieter frames teach nothing.
SOUNDING_DBFS = -50.0
#: Frames of the coach sounding the residue gain is learnt from (the last ~6 s of its speech: the
#: room and the canceller change, and a sentence must not inherit a worse one's residue).
HISTORY_FRAMES = 200
#: Fewer frames than this (~1.5 s of the coach sounding) and there is no estimate yet.
MIN_FRAMES = 50
#: The percentile of (cleaned level - far envelope) taken as the residue gain: the residue's
#: loud frames, not the person's word (a few percent of the frames).
PERCENTILE = 80.0


class ResidueFloor:
    """Feed every microphone frame's far end and cleaned sound with :meth:`push`; it returns
    the level the coach's residue alone would have in that frame (dBFS), or None when the coach
    is not sounding or too little has been learnt. Kept across sentences: the room and the
    canceller change slowly."""

    def __init__(self) -> None:
        self._far: deque[float] = deque(maxlen=max(1, round(ENVELOPE_S / FRAME_S)))
        self._ratios: deque[float] = deque(maxlen=HISTORY_FRAMES)
        self.gain_db: float | None = None  # residue level - far envelope (dB), once learnt
        self._fresh = 0                    # frames learnt since the last percentile

    def start_sentence(self) -> None:
        """A new sentence: the far end before it was silence (the deque of the last one is stale)."""
        self._far.clear()

    def push(self, far: bytes, clean: bytes) -> float | None:
        """One frame: ``far`` the loudspeaker's sound fed to the canceller with it, ``clean``
        the microphone after the canceller (both 30 ms, 16 kHz, 16-bit)."""
        self._far.append(frame_dbfs(far))  # silence reads -90 dBFS, far under SOUNDING_DBFS
        envelope = max(self._far)
        if envelope < SOUNDING_DBFS:
            return None
        self._ratios.append(frame_dbfs(clean) - envelope)
        self._fresh += 1
        if len(self._ratios) >= MIN_FRAMES and (self.gain_db is None or self._fresh >= 10):
            self.gain_db = float(np.percentile(np.fromiter(self._ratios, float), PERCENTILE))
            self._fresh = 0  # a percentile every 10 frames (0.3 s) is plenty
        return None if self.gain_db is None else envelope + self.gain_db
