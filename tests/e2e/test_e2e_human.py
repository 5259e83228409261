"""End to end with human voices: real people's recorded answers (tests/audio/human) spoken into
the PulseAudio virtual microphone, heard by the default recognizer (Whisper) through the
unchanged program, with someone ordering coffee in the room before every answer."""

from __future__ import annotations

import re

import numpy as np
import pytest

from voicecoach.store.history import Store

from tests.e2e.test_e2e_voice import pulse, run_voice_session  # noqa: F401 (fixture)
from tests.support.synth import espeak_pcm

pytestmark = pytest.mark.e2e

SCREEN = {"bladder or bowel control?": ["human/no"] * 4, "the saddle area?": ["human/no"] * 4,
          "when you walk?": ["human/no"] * 4, "injury recently?": ["human/no"] * 4}


@pytest.fixture(scope="module")
def chatter(tmp_path_factory) -> bytes:
    """Someone in the room ordering coffee (espeak-ng; longer than any answer)."""
    tmp = tmp_path_factory.mktemp("chatter")
    return espeak_pcm("Could I get a large oat milk latte and a blueberry muffin to take away please", tmp,
                      "en-gb", 170, ("vol", "0.5", "pad", "0", "0.6"))


def heard_intents(stderr: str) -> list[str]:
    """Every intent the program accepted, from its '[heard "..." -> intent; ...]' log lines."""
    return [m for m in re.findall(r'\[heard ".*?" -> ([a-z0-9_:]+);', stderr)]


def test_a_human_yes_to_a_red_flag_ends_with_urgent_care(pulse, tmp_path, chatter):
    code, said, _, err = run_voice_session(pulse, tmp_path, "hip-stretches",
                                           {"bladder or bowel control?": ["human/yes"] * 4}, timeout=180,
                                           screened=False, chatter=chatter, silence_timeout="300")
    assert code == 3, err[-3000:]  # a safety end
    assert any("urgent medical care" in line for line in said), said
    assert not Store(tmp_path / "history.sqlite3").get_fact("screen_passed", False)


@pytest.mark.long(seconds=100)
def test_a_first_session_answered_by_people(pulse, tmp_path, chatter):
    """A whole first session by voice: the safety questions, the pain score and the assessment's
    "did the symptoms move?" answered by real people's recordings (someone ordering coffee in the
    room before the safety answers), the rating and the location with the fixture voice (no human
    recordings of those words here). Knees to chest moved the pain up and felt better: bending."""
    answers = {**SCREEN, "from zero to ten?": ["human/three"] * 4, "calf, or foot?": ["skip"] * 4,
               "or stay where they were?": ["human/up"] * 4, "better, worse, or the same?": ["better"] * 2,
               "Say resume when you're ready.": ["resume"] * 4}
    code, said, _, err = run_voice_session(pulse, tmp_path, "assessment", answers, timeout=600, screened=False,
                                           chatter=chatter, chatter_before=tuple(SCREEN), silence_timeout="300")
    assert code == 0, err[-3000:]
    heard = heard_intents(err)
    assert heard.count("no") >= 4 and "score:3" in heard and "moved:up" in heard, \
        "\n".join(line for line in err.splitlines() if line.startswith("[heard"))
    # nothing guessed, nothing invented (a yes only to "Did you say three?", an answer heard unsurely)
    confirmations = sum(line.startswith("Did you say ") for line in said)
    assert not {"stop", "pain", "worse"} & set(heard) and heard.count("yes") <= confirmations, heard
    store = Store(tmp_path / "history.sqlite3")
    assert store.get_fact("screen_passed", False)
    assert store.get_fact("preference")["value"] == "flexion"
    assert "Good. Bending your back eased your pain." in said, said
