"""End to end through the real audio stack: the unchanged ``voicecoach`` program speaks
with its default voice (hibari, 24 kHz) into PortAudio -> PulseAudio (a null sink, recorded from its
monitor) and hears through a PulseAudio pipe source fed with spoken answers, recognised
by pocketsphinx. Checks that the assessment branches as the spoken answers say."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from voicecoach.store.history import Store

from tests.support.pulse_daemon import PrivatePulse
from tests.support.speaker_monitor import SpeakerMonitor
from tests.support.virtual_mic import VirtualMic
from tests.support.paths import ROOT

pytestmark = pytest.mark.e2e
ANSWERS = ROOT / "tests" / "audio"


@pytest.fixture(scope="module")
def pulse():
    daemon = PrivatePulse()
    try:
        daemon.start()
        mic = VirtualMic(daemon.fifo)
        yield {"PULSE_SERVER": daemon.env["PULSE_SERVER"], "mic": mic}
        mic.close()
    finally:
        daemon.stop()  # also when the tests fail


def answer_pcm(name: str) -> bytes:
    with wave.open(str(ANSWERS / f"{name}.wav"), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return w.readframes(w.getnframes())


RATE = "300"  # words per minute: the fastest speech.rate, so that the sessions are short


def run_voice_session(pulse, tmp_path, routine: str, answers: dict[str, list[str]], timeout: float = 240,
                      screened: bool = True, chatter: bytes | None = None, silence_timeout: str = "100",
                      chatter_before: tuple[str, ...] | None = None, rate: str = RATE):
    """Run the coach by voice; when a caption ends with a key of ``answers``, speak the next answer
    (a WAV under tests/audio, e.g. "better" or "human/no") once the coach has said it, after
    ``chatter`` if given (before the answers to the questions ending with ``chatter_before``, or
    to all). ``rate``: the coach's speech rate (words per minute; fast, to keep the test short)."""
    history = tmp_path / "history.sqlite3"
    store = Store(history)
    if screened:
        store.set_fact("screen_passed", True)  # the screen has its own tests; keep this one short
    store.close()
    env = {**os.environ, "PULSE_SERVER": pulse["PULSE_SERVER"]}
    loudspeaker = SpeakerMonitor(env)
    coach = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "run", routine, "--speed", "10", "--silence-timeout", silence_timeout,
         "--rate", rate, "--history", str(history)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l.rstrip("\n")) for l in coach.stdout], daemon=True).start()
    errors: list[str] = []  # read as it comes: a full pipe would block the coach
    err_reader = threading.Thread(target=lambda: errors.extend(coach.stderr), daemon=True)
    err_reader.start()
    said: list[str] = []
    pending = {k: list(v) for k, v in answers.items()}
    mic: VirtualMic = pulse["mic"]
    deadline = time.monotonic() + timeout
    answer, next_try, talk = None, 0.0, None
    spoken = None  # the last answer said (not a yes or no to "Did you say ...?")
    asked_at, words = 0.0, 0  # when the coach began its last sentence, and how many words it has
    started = time.monotonic()
    timeline: list[tuple[float, str]] = []  # what the coach showed and what was spoken, for failures
    try:
        while coach.poll() is None or not lines.empty():
            if time.monotonic() > deadline:
                coach.kill()
                err_reader.join(timeout=5)
                log = "".join(errors)
                heard = "\n".join(line for line in log.splitlines() if line.startswith("[heard"))
                pytest.fail(f"session did not end in {timeout} s; timeline (s since start):\n"
                            + "\n".join(f"{t:7.2f} {what}" for t, what in timeline[-40:])
                            + f"\nheard:\n{heard[-4000:]}\nlog tail: {log[-1000:]}")
            try:
                line = lines.get(timeout=0.2)
                said.append(line)
                timeline.append((time.monotonic() - started, f"coach: {line}"))
                # answer once the coach has said it: an answer begun while it talks is dropped,
                # and it says "Sorry, please say it again."
                if line.startswith("["):  # shown, not said ("[check in: paused]"): the question stands
                    continue
                asked_at, words, next_try = time.monotonic(), len(line.split()), 0.0
                if line == TALKED_OVER and answer:  # said over the coach: say it again once it stops
                    continue
                if line.startswith(ASKED_ABOUT) and spoken:  # heard unsurely: "yes" if it was that word
                    asked = line[len(ASKED_ABOUT):].rstrip("?").split()
                    answer, talk = ("yes" if asked and asked[-1] == Path(spoken).name else "no"), None
                    continue
                for key, queue_ in pending.items():
                    if line.endswith(key) and queue_:
                        answer = queue_.pop(0)
                        talk = chatter if chatter_before is None or key in chatter_before else None
                        break
                else:
                    if not line.startswith(REPROMPTS):
                        answer = None  # the coach moved on
            except queue.Empty:
                pass
            # Speak the answer, and again every few seconds until the coach reacts: what is
            # said while the coach is still talking is (rightly) not heard.
            # the guessed length only if the monitor never heard the sentence (a busy machine
            # stretches a sentence past any guess: the answer would be said over the coach)
            said_it = loudspeaker.finished_since(asked_at) or (
                loudspeaker.last_loud <= asked_at and time.monotonic() > asked_at + 3.0 + words / 2.6)
            if answer and said_it and time.monotonic() >= next_try and not mic.speaking.is_set():
                if talk:  # someone talking in the room first: never an answer
                    mic.say(talk)
                mic.say(answer_pcm(answer))
                if not line_is_confirmation(answer):
                    spoken = answer
                timeline.append((time.monotonic() - started, f"mic: {'talk + ' if talk else ''}{answer}"))
                next_try = time.monotonic() + 3.5 + (len(talk) / 32000 if talk else 0.0)
        coach.wait(timeout=10)
    finally:
        if coach.poll() is None:
            coach.kill()
        audio = loudspeaker.stop()
        err_reader.join(timeout=5)
    return coach.returncode, said, audio, "".join(errors)


def speech_seconds(audio: np.ndarray) -> float:
    """How much of the recording is loud enough to be the coach's voice (s)."""
    frames = audio[: len(audio) // 480 * 480].reshape(-1, 480)
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    return float(np.sum(rms > 300) * 0.03)


QUESTION = "better, worse, or the same?"
# Check-ins are skipped; after two misunderstandings the coach pauses and a person says "resume".
CHECK_INS = {"from zero to ten?": ["skip"] * 4, "calf, or foot?": ["skip"] * 4,
             "or stay where they were?": ["skip"] * 4, "Say resume when you're ready.": ["resume"] * 4}
REPROMPTS = ("Sorry, I didn't catch that.", "I didn't hear an answer.")
ASKED_ABOUT = "Did you say "  # an answer heard unsurely: the person says whether it was that word


def line_is_confirmation(answer: str) -> bool:
    return answer in ("yes", "no")
TALKED_OVER = "Sorry, please say it again."  # the coach heard an answer begun while it talked (dropped)


@pytest.mark.long(seconds=45)
def test_better_after_knees_to_chest_means_flexion(pulse, tmp_path):
    code, said, audio, err = run_voice_session(pulse, tmp_path, "assessment", {QUESTION: ["better"], **CHECK_INS})
    assert code == 0, err
    assert "neural voice is not available" not in err, "hibari is the default voice"
    assert "Good. Bending your back eased your pain." in said, said
    assert "Lying on your stomach" not in " ".join(said)
    # some 40 s of speech at the default 160 words a minute, half as much at RATE
    assert speech_seconds(audio) > 15 * 160 / int(RATE), "the coach's voice should be on the loudspeaker"
    store = Store(tmp_path / "history.sqlite3")
    assert store.get_fact("preference")["value"] == "flexion"


@pytest.mark.long(seconds=70)
def test_worse_then_better_means_extension(pulse, tmp_path):
    code, said, audio, err = run_voice_session(pulse, tmp_path, "assessment",
                                             {QUESTION: ["worse", "better"], **CHECK_INS})
    assert code == 0, err
    joined = "\n".join(said)
    assert "Thanks. Let's try arching instead." in joined
    assert "Good. Arching your back eased your pain." in joined, said
    assert Store(tmp_path / "history.sqlite3").get_fact("preference")["value"] == "extension"
