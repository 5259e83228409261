"""The loudspeaker's hold (barge-in ducks to 0 while someone speaks over the coach): silence
while held, then the sentence again from a little before where it stopped, and never held
for ever. A stream that records what it is given stands in for PortAudio."""

from __future__ import annotations

import threading

import numpy as np

from voicecoach.devices.portaudio import Loudspeaker

RATE = 16000
STEP = int(RATE * Loudspeaker.CHUNK_S)  # samples a chunk


class RecordingStream:
    """Keeps every chunk; ``on_chunk(n)`` runs after the n-th (as another thread would act)."""

    def __init__(self, on_chunk):
        self.chunks: list[np.ndarray] = []
        self.on_chunk = on_chunk

    def write(self, chunk: bytes) -> None:
        self.chunks.append(np.frombuffer(chunk, dtype="<i2").copy())
        self.on_chunk(len(self.chunks))


def loudspeaker(on_chunk) -> Loudspeaker:
    speaker = Loudspeaker.__new__(Loudspeaker)  # no device: the stream is the recorder
    speaker.rate, speaker.latency_s = RATE, 0.0
    speaker.stream = RecordingStream(on_chunk)
    speaker._stop, speaker._gain, speaker.played = threading.Event(), 1.0, 0
    speaker.on_gain = speaker.on_hold = None
    return speaker


def sentence(seconds: float) -> bytes:
    """Each chunk's samples carry the chunk's number (1, 2, ...), so the order played shows."""
    n = int(seconds * RATE)
    return (np.arange(n) // STEP + 1).astype("<i2").tobytes()


def test_a_hold_plays_silence_then_resumes_a_little_before_where_it_stopped():
    holds = []

    def act(n):
        if n == 30:
            speaker.duck(0.0)      # someone speaks over chunk 30
        if n == 40:
            speaker.duck(1.0)      # ... and it was nothing: go on
    speaker = loudspeaker(act)
    speaker.on_hold = lambda sample, held: holds.append((sample, held))
    assert speaker.play(sentence(1.0))
    played = [int(c.max()) for c in speaker.stream.chunks]
    back = int(Loudspeaker.RESUME_BACK_S / Loudspeaker.CHUNK_S)
    assert played[:30] == list(range(1, 31))
    assert played[30:40] == [0] * 10                       # held: silence
    assert played[40:] == list(range(31 - back, 51))       # resumed 0.3 s back, on to the end
    assert holds == [(30 * STEP, True), ((30 - back) * STEP, False)]


def test_a_hold_nobody_lets_go_of_ends_by_itself():
    holds = []
    speaker = loudspeaker(lambda n: speaker.duck(0.0) if n == 3 else None)
    speaker.on_hold = lambda sample, held: holds.append((sample, held))
    speaker.HOLD_MAX_S = 0.05  # how many silent chunks fit in it depends on the machine: not asserted
    assert speaker.play(sentence(0.2))                     # returns: the sentence is finished
    played = [int(c.max()) for c in speaker.stream.chunks]
    assert holds == [(3 * STEP, True), (0, False)]        # held at chunk 4, resumed (0.3 s back: the start)
    assert played[-1] == 10


def test_a_stop_while_held_ends_the_sentence():
    def act(n):
        if n == 2:
            speaker.duck(0.0)
        if n == 5:
            speaker.stop()
    speaker = loudspeaker(act)
    assert speaker.play(sentence(1.0)) is False
    assert speaker.played == 2 * STEP
