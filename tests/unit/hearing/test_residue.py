"""The predicted residue of the coach's voice (hearing/residue.py) and the endpointer measuring
speech against it: the residue of a long sentence is not speech, a person's word over it is."""

from __future__ import annotations

import numpy as np

from voicecoach.hearing.endpointer import FRAME_SAMPLES, Endpointer, EndpointerConfig
from voicecoach.hearing.residue import MIN_FRAMES, ResidueFloor

RNG = np.random.default_rng(7)


def noise(dbfs: float) -> bytes:
    """30 ms of white noise at ``dbfs`` (RMS, dBFS)."""
    x = RNG.standard_normal(FRAME_SAMPLES) * 32768 * 10 ** (dbfs / 20)
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


SILENT = b"\0" * FRAME_SAMPLES * 2


def test_nothing_is_predicted_before_the_coach_has_sounded_long_enough():
    floor = ResidueFloor()
    assert floor.push(SILENT, noise(-70)) is None  # the coach silent: no residue
    predicted = [floor.push(noise(-20), noise(-55)) for _ in range(MIN_FRAMES + 5)]
    assert predicted[0] is None and predicted[-1] is not None


def test_the_residue_follows_the_far_end_and_ignores_a_short_word_over_it():
    floor = ResidueFloor()
    for i in range(300):  # 9 s of the coach at -20 dBFS, residue 35 dB under it, a word in the middle
        word = 120 <= i < 140
        floor.push(noise(-20), noise(-25 if word else -55))
    assert abs(floor.gain_db - (-35)) < 3  # the residue's ratio, not the word's
    floor.start_sentence()
    for _ in range(30):  # a quieter sentence (ducked): the prediction drops with it
        quieter = floor.push(noise(-32), noise(-67))
    assert abs(quieter - (-67)) < 3


def test_the_endpointer_does_not_start_on_the_residue_but_on_a_word_over_it():
    cfg = EndpointerConfig(peak_db=10.0)
    quiet_room = [noise(-70)] * 20

    def run(levels: list[float], with_floor: bool) -> list[str]:
        ep = Endpointer(lambda f: True, cfg)
        ep.calibrate(quiet_room)
        return [ep.push(noise(db), -55.0 if with_floor else None)[0] for db in levels]

    residue = [-56.0] * 100  # 3 s of the residue, 14 dB over the room
    assert "start" in run(residue, with_floor=False)  # against the room alone it is speech
    assert "start" not in run(residue, with_floor=True)
    word = [-56.0] * 30 + [-40.0] * 15 + [-56.0] * 30
    states = run(word, with_floor=True)
    assert states.count("start") == 1 and "end" in states
    assert states.index("start") >= 30
