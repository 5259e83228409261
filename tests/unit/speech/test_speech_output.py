"""Speech output: the neural voice (hibari) on real synthesis, its fallback to espeak-ng,
no network, and the speaker's cached, interruptible playback at the engine's rate."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from voicecoach.speech import cues
from voicecoach.speech import hibari as tts_hibari
from voicecoach.speech.hibari import HibariSynth, NeuralVoiceUnavailable, trim_and_level
from voicecoach.settings.schema import SpeechSettings
from voicecoach.cli.compose import open_synth
from voicecoach.speech.speaker import VoiceSpeaker

from tests.support.fakes import FakeLoudspeaker


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768


def level_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


@pytest.fixture(scope="module")
def hibari():
    return HibariSynth()


class Warnings(list):
    def __call__(self, message: str) -> None:
        self.append(message)


# ---------------------------------------------------------------------- the neural voice
def test_hibari_speaks_a_short_sentence_trimmed_and_levelled(hibari):
    pcm, rate = hibari.synthesize("Hold for twenty seconds.")
    x = samples(pcm)
    assert rate == 24000
    assert 0.8 < len(x) / rate < 2.5, "a five-word sentence, without hibari's half second of silence"
    frames = x[: len(x) // 240 * 240].reshape(-1, 240)
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    # sound within the first 50 ms and the last 100 ms: nothing left of the ~0.3 s lead-in
    assert rms[:5].max() > rms.max() * 10 ** (-45 / 20)
    assert rms[-10:].max() > rms.max() * 10 ** (-45 / 20)
    voiced = frames[rms > rms.max() * 0.1]
    assert -23 < level_db(voiced) < -17, "levelled to about -20 dBFS (hibari's raw output is near -28)"
    assert np.abs(x).max() < 0.98


def test_the_same_text_sounds_the_same(hibari):
    assert hibari.synthesize("Three.")[0] == hibari.synthesize("Three.")[0]


def test_rate_in_words_per_minute_sets_hibari_s_pace():
    slow, fast = HibariSynth(rate=100), HibariSynth(rate=250)
    text = "Lie on your back with your knees bent."
    ratio = len(slow.synthesize(text)[0]) / len(fast.synthesize(text)[0])
    assert 2.0 < ratio < 3.0, f"2.5 times the words per minute should take about 2.5 times less ({ratio:.2f})"


def test_volume_scales_the_levelled_speech():
    loud, soft = HibariSynth(volume=1.0), HibariSynth(volume=0.25)
    a, b = samples(loud.synthesize("Relax.")[0]), samples(soft.synthesize("Relax.")[0])
    assert abs(level_db(a) - level_db(b) - 20 * np.log10(4)) < 0.5


def test_hibari_refuses_what_it_cannot_honour():
    with pytest.raises(ValueError, match="one voice, 'heart'"):
        HibariSynth(voice="gmw/en-US")
    with pytest.raises(ValueError, match="85 to 340 words per minute"):
        HibariSynth(rate=80)


def test_no_network_is_touched(monkeypatch):
    """Loading and speaking must not even try: every way out fails here."""
    import hibari.voices

    def refuse(*args, **kwargs):
        raise AssertionError("the network was touched")
    monkeypatch.setattr(hibari.voices, "download", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HIBARI_HOME", "/nonexistent")  # no cached voices to fall back on either
    synth = HibariSynth()
    assert len(synth.synthesize("Breathe in. Slowly, 5 times.")[0]) > 0  # digits and an unknown-ish word


@pytest.mark.skipif(not shutil.which("unshare") or subprocess.run(["unshare", "-rn", "true"]).returncode != 0,
                    reason="no network namespaces here (unshare -rn)")
def test_the_voice_works_with_networking_disabled():
    code = ("from voicecoach.speech.hibari import HibariSynth; "
            "pcm, rate = HibariSynth().synthesize('Is your leg pain better, worse, or the same?'); "
            "print(len(pcm) // 2 / rate)")
    out = subprocess.run(["unshare", "-rn", sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "HIBARI_HOME": "/nonexistent"})
    assert out.returncode == 0, out.stderr
    assert 1.5 < float(out.stdout) < 4.5


def test_a_damaged_model_file_is_named_with_its_checksum():
    with pytest.raises(NeuralVoiceUnavailable, match=r"hibari\.onnx is not the expected file \(sha256 5f70741d4e90"):
        HibariSynth(expected_sha256={"hibari.onnx": "0" * 64})


def test_trim_and_level_keeps_the_sound_and_little_else():
    rate = 24000
    t = np.arange(rate) / rate
    tone = 0.05 * np.sin(2 * np.pi * 220 * t)
    x = np.concatenate([np.zeros(rate // 2), tone, np.zeros(rate // 2)]).astype(np.float32)
    y = trim_and_level(x, rate)
    assert 1.0 <= len(y) / rate <= 1.0 + tts_hibari.KEEP_BEFORE_S + tts_hibari.KEEP_AFTER_S + 0.02
    assert abs(level_db(y[rate // 10: -rate // 5]) - tts_hibari.SPEECH_LEVEL_DBFS) < 0.5
    assert len(trim_and_level(np.zeros(rate, np.float32), rate)) == 0
    loud_click = np.concatenate([tone, [0.9], tone]).astype(np.float32)
    assert np.abs(trim_and_level(loud_click, rate)).max() <= tts_hibari.PEAK_LIMIT + 1e-6


# ---------------------------------------------------------------------- choosing the engine
def test_the_neural_voice_is_the_default():
    warnings = Warnings()
    synth = open_synth(SpeechSettings(), warnings)
    assert isinstance(synth, HibariSynth) and synth.sample_rate == 24000 and warnings == []


def test_speech_engine_espeak_switches_back():
    from voicecoach.speech.espeak import Pyttsx3Synth
    warnings = Warnings()
    synth = open_synth(SpeechSettings(engine="espeak", voice="gmw/en-US"), warnings)
    assert isinstance(synth, Pyttsx3Synth) and warnings == []
    pcm, rate = synth.synthesize("Relax.")
    assert rate == synth.sample_rate == 22050 and len(pcm) > 0


def test_a_checksum_mismatch_falls_back_to_espeak_and_says_so_once(monkeypatch):
    from voicecoach.speech.espeak import Pyttsx3Synth
    monkeypatch.setitem(tts_hibari.MODEL_SHA256, "hibari.onnx", "0" * 64)
    warnings = Warnings()
    synth = open_synth(SpeechSettings(), warnings)
    assert isinstance(synth, Pyttsx3Synth)
    assert len(warnings) == 1 and "the neural voice is not available" in warnings[0]
    assert "not the expected file" in warnings[0] and "Using espeak-ng instead" in warnings[0]


def test_missing_onnxruntime_falls_back_to_espeak(monkeypatch):
    from voicecoach.speech.espeak import Pyttsx3Synth
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    warnings = Warnings()
    assert isinstance(open_synth(SpeechSettings(), warnings), Pyttsx3Synth)
    assert len(warnings) == 1 and "onnxruntime is not installed" in warnings[0]


def test_no_espeak_either_means_no_voice(monkeypatch):
    from voicecoach.speech import espeak as tts_pyttsx3
    monkeypatch.setitem(tts_hibari.MODEL_SHA256, "hibari.onnx", "0" * 64)

    def no_espeak(*args, **kwargs):
        raise OSError("libespeak-ng.so.1: cannot open shared object file")
    monkeypatch.setattr(tts_pyttsx3.pyttsx3, "init", no_espeak)
    warnings = Warnings()
    assert open_synth(SpeechSettings(), warnings) is None
    assert len(warnings) == 2 and "espeak-ng is not available either" in warnings[1]


# ---------------------------------------------------------------------- the speaker
def test_the_speaker_plays_hibari_and_cues_at_24_khz_from_its_cache(hibari):
    speaker = VoiceSpeaker(hibari, FakeLoudspeaker(hibari.sample_rate))
    speaker.say("Relax.")
    speaker.cue("start")
    speaker.say("Relax.")
    played = speaker.loudspeaker.played
    assert played[0] == played[2] and len(speaker.cache) == 1
    assert len(played[1]) // 2 == len(cues.render("start", 24000)) // 2
    seconds = sum(d for _, d in cues.CUES["start"]) + 0.02 * len(cues.CUES["start"])
    assert abs(len(played[1]) / 2 / 24000 - seconds) < 0.01, "the cue keeps its length at the voice's rate"


def test_speech_at_another_rate_than_the_output_is_refused(hibari):
    speaker = VoiceSpeaker(hibari, FakeLoudspeaker(22050))
    with pytest.raises(RuntimeError, match="speech at 24000 Hz but the output runs at 22050 Hz"):
        speaker.say("Relax.")


def test_speech_can_be_cut_off_and_the_microphone_waits_for_its_end(hibari):
    import time
    speaker = VoiceSpeaker(hibari, FakeLoudspeaker(hibari.sample_rate, stop_after=3))
    pcm = speaker.pcm_for("Ease out of the position slowly, and relax.")
    before = time.monotonic()
    speaker.say("Ease out of the position slowly, and relax.")
    after = time.monotonic()
    assert 0 < len(speaker.loudspeaker.played[0]) < len(pcm)
    # the microphone waits for the echo of what was played, counted from the cut (which
    # happened between before and after, however slow this machine is)
    assert before + VoiceSpeaker.ECHO_TAIL_S <= speaker.quiet_from <= after + 0.04 + VoiceSpeaker.ECHO_TAIL_S
