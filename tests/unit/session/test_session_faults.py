"""Device faults reach the session as DeviceLost: it says what happened, falls back
(captions; a paused coach until the microphone is back), records it, and goes on."""

import os
import subprocess
import sys

import pytest

from voicecoach.core.coach import Coach
from voicecoach.session.faults import LOST_MICROPHONE, LOST_SPEAKER, MICROPHONE_BACK, DeviceLost, Recovery
from voicecoach.session.loop import Session

from tests.support.fakes import BreakingListener, BreakingSpeaker, FakeClock, FakeSpeaker, ListRecorder, ScriptedListener


def session(library, vocabulary, speaker, listener, clock, recovery, routine="hip-stretches"):
    recorder = ListRecorder()
    coach = Coach(library, vocabulary, clock.now, routine=routine)
    return Session(coach, speaker, listener, clock, recorder=recorder, recovery=recovery), recorder


def test_a_lost_loudspeaker_switches_to_captions_and_the_session_goes_on(library, vocabulary):
    clock = FakeClock()
    voice, captions = BreakingSpeaker(clock, works_for=2), FakeSpeaker(clock)
    listener = ScriptedListener(clock, captions, ["better"])
    s, recorder = session(library, vocabulary, voice, listener, clock, Recovery(captions=captions))
    assert s.run() == "done"
    assert captions.said[0] == LOST_SPEAKER
    assert len(voice.said) == 2 and captions.said[1] not in voice.said  # the sentence cut off is shown
    assert [d["device"] for d in recorder.kinds("device_lost")] == ["loudspeaker"]


def test_a_lost_microphone_pauses_until_it_is_back_and_resume_is_said(library, vocabulary):
    clock = FakeClock()
    speaker = FakeSpeaker(clock)
    voice = ScriptedListener(clock, speaker, ["resume", "better"])
    reopened = []

    def reopen():
        reopened.append(True)
        return voice
    recovery = Recovery(captions=speaker, reopen_listener=reopen, retry_s=0.0)
    s, recorder = session(library, vocabulary, speaker, BreakingListener(voice, breaks_at=1), clock, recovery)
    assert s.run() == "done"
    said = speaker.said
    assert said.index(LOST_MICROPHONE) < said.index("Paused. Say resume when you're ready.") < said.index(MICROPHONE_BACK)
    assert reopened and [d["device"] for d in recorder.kinds("device_lost")] == ["microphone"]
    assert recorder.kinds("pause")


def test_while_the_microphone_is_gone_typed_answers_are_taken(library, vocabulary):
    clock = FakeClock()
    speaker = FakeSpeaker(clock)
    typed = ScriptedListener(clock, speaker, ["resume", "better"])

    def still_gone():
        raise DeviceLost("microphone", "not back yet")
    recovery = Recovery(captions=speaker, reopen_listener=still_gone, typed=typed, retry_s=0.0)
    s, _ = session(library, vocabulary, speaker, BreakingListener(typed, breaks_at=1), clock, recovery)
    assert s.run() == "done"
    assert LOST_MICROPHONE in speaker.said and MICROPHONE_BACK not in speaker.said


def test_without_a_recovery_the_fault_reaches_the_caller(library, vocabulary):
    clock = FakeClock()
    s, _ = session(library, vocabulary, BreakingSpeaker(clock, works_for=0), ScriptedListener(clock, FakeSpeaker(clock)),
                   clock, None)
    with pytest.raises(DeviceLost):
        s.run()


@pytest.mark.skipif(os.path.isdir("/dev/snd"), reason="this machine has a sound card")
def test_devices_says_there_is_no_sound_server_and_what_to_do(tmp_path):
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/none", "PULSE_RUNTIME_PATH": str(tmp_path),
           "XDG_RUNTIME_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "voicecoach", "devices"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "No sound server (PulseAudio or PipeWire) is running" in done.stderr
    assert "pulseaudio --start" in done.stderr and "--text" in done.stderr
