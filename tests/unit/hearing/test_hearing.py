"""The listening pipeline on recorded WAV files: endpointing, recognition, rejection.

Real pocketsphinx, real espeak-ng pronunciations; no microphone needed."""

from __future__ import annotations

import json
import subprocess
import sys
import wave

import numpy as np
import pytest

from voicecoach.hearing.pocketsphinx import PhraseRecognizer, jsgf_for, make_vad
from voicecoach.hearing.endpointer import FRAME_BYTES, FRAME_S, Endpointer, config_for, split_utterances
from voicecoach.hearing.pipeline import HearingPipeline
from voicecoach.hearing.pronounce import espeak_pronunciation, ipa_to_arpabet
from voicecoach.content.vocabulary import Vocabulary
from tests.support.paths import AUDIO
from tests.support.synth import espeak_pcm

EXPECT = {"better": "rating", "worse": "rating", "same": "rating", "yes": "yesno", "no": "yesno",
          "stop": "exercise", "pause": "exercise", "resume": "exercise", "skip": "location"}


def pcm(name: str) -> bytes:
    with wave.open(str(AUDIO / f"{name}.wav"), "rb") as w:
        return w.readframes(w.getnframes())


@pytest.fixture(scope="module")
def recognizer(library):
    vocab = Vocabulary.load().with_routines(library.spoken_names())
    return PhraseRecognizer(vocab)


def hear(recognizer, audio: bytes, context: str):
    return HearingPipeline(Endpointer(make_vad(), config_for(recognizer.engine)), recognizer, context).hear_all(audio)


@pytest.mark.parametrize("word", sorted(EXPECT))
def test_recorded_answers_are_understood_in_their_context(recognizer, word):
    heard = hear(recognizer, pcm(word), EXPECT[word])
    assert [h.intent for h in heard] == [word], heard


def test_the_same_audio_scores_the_same_whatever_came_before(recognizer):
    """No state leaks between utterances (live CMN kept running sums: scores drifted)."""
    first = hear(recognizer, pcm("better"), "rating")
    for word in ("yes", "stop", "skip", "same", "no"):
        hear(recognizer, pcm(word), EXPECT[word])
    again = hear(recognizer, pcm("better"), "rating")
    assert [(h.confidence, h.margin) for h in again] == [(h.confidence, h.margin) for h in first]


def test_an_answer_is_not_taken_for_another_context(recognizer):
    heard = hear(recognizer, pcm("yes"), "rating")
    assert [h.intent for h in heard] == [None]


def test_noise_is_never_an_answer(recognizer):
    rng = np.random.default_rng(1)
    swell = 1 + 0.8 * np.sin(np.arange(16000 * 20) / 16000 * 2 * np.pi * 0.3)
    noise = (rng.standard_normal(16000 * 20) * 2000 * swell).astype("<i2").tobytes()
    for context in EXPECT.values():
        assert all(h.intent is None for h in hear(recognizer, noise, context))


def test_long_speech_is_never_an_answer(recognizer, tmp_path):
    audio = espeak_pcm("I would like a large oat milk latte and a blueberry muffin, and could you make it "
                       "better than yesterday please", tmp_path, voice="en")
    heard = hear(recognizer, audio, "rating")
    assert heard and all(h.intent is None for h in heard)


def test_silence_gives_no_utterance(recognizer):
    assert hear(recognizer, b"\0" * 32000 * 3, "rating") == []


def test_latency_is_endpoint_wait_plus_decode(recognizer):
    (h,) = hear(recognizer, pcm("better"), "rating")
    # the endpointer's wait is fixed; how long decoding takes is for the benchmark
    assert h.latency_ms >= 300 and h.decode_ms < h.latency_ms


def test_words_missing_from_the_dictionary_get_a_pronunciation(library):
    assert ipa_to_arpabet("ɡlˈuːt") == "G L UW T"
    assert espeak_pronunciation("piriformis").startswith("P IH R IH F")
    vocab = Vocabulary.load().with_routines({**library.spoken_names(), "piri": ["piriformis stretch"]})
    rec = PhraseRecognizer(vocab)
    assert "piriformis" in rec.added_words and "sciatic" in rec.added_words
    assert "start piriformis stretch" in rec.tables["menu"]


def test_grammar_is_generated_from_the_vocabulary():
    grammar = jsgf_for("rating", {"better": "better", "a bit better": "better", "the same": "same"})
    assert grammar.splitlines()[-1] == "public <utterance> = a bit better | better | the same;"


def test_endpointer_finds_one_utterance_with_its_times():
    tone = (np.sin(np.arange(8000) / 16000 * 2 * np.pi * 220) * 8000)
    speech_like = tone * (1 + 0.5 * np.sin(np.arange(8000) / 16000 * 2 * np.pi * 4))
    audio = np.concatenate([np.zeros(16000), speech_like, np.zeros(16000)]).astype("<i2").tobytes()
    frames = (audio[i:i + FRAME_BYTES] for i in range(0, len(audio), FRAME_BYTES))
    utts = list(split_utterances(frames, Endpointer(lambda f: True)))
    assert len(utts) == 1
    assert 0.6 <= utts[0].start_s <= 1.0 and 1.4 <= utts[0].end_s <= 1.6 and not utts[0].too_long


def test_hear_command_prints_json_for_every_context(library):
    for context in ("menu", "rating", "yesno", "exercise", "pain", "location", "movement"):
        out = subprocess.run([sys.executable, "-m", "voicecoach", "hear", "--json", "--listen-for", context,
                              str(AUDIO / "better.wav")], capture_output=True, text=True, check=True).stdout
        (row,) = [json.loads(line) for line in out.splitlines()]
        agreed = {"file", "start_s", "end_s", "intent", "text", "confidence", "decode_ms"}
        assert set(row) == agreed | {"engine", "reason", "margin", "latency_ms", "guess"}
        assert row["engine"] == "whisper"  # the default recognizer
        assert row["intent"] == ("better" if context == "rating" else None)
        assert (row["reason"] == "accepted") == (context == "rating")


PAD = ("pad", "0.3", "0.4")  # seconds of silence before and after, as around a spoken answer


def test_a_sentence_is_not_taken_for_the_short_phrase_inside_it(library, tmp_path):
    """With confidence and margin switched off, only the phone-count rule is left: the free
    phone loop hears a whole sentence where the grammar found two words."""
    vocab = Vocabulary.load().with_routines(library.spoken_names())
    lenient = PhraseRecognizer(vocab, threshold=float("-inf"), margin=float("-inf"))
    (sentence,) = hear(lenient, espeak_pcm("oat milk for my knee please", tmp_path, rate=150, effects=PAD), "location")
    assert (sentence.intent, sentence.reason) == (None, "more than the phrase")
    (phrase,) = hear(lenient, espeak_pcm("my knee", tmp_path, rate=150, effects=PAD), "location")
    assert phrase.intent == "location:knee"


def test_speech_cut_off_by_the_coach_is_waited_out_before_a_new_utterance(recognizer):
    """Half duplex drops what is captured while the coach speaks; the rest of an answer
    that began then has lost its start and must not count ("...this" of "skip this" is
    not "yes"). Only after end_silence_s of quiet may a new utterance start."""
    loud, quiet = (np.full(480, 8000, "<i2").tobytes(), np.zeros(480, "<i2").tobytes())
    ep = Endpointer(lambda f: f == loud)
    ep.calibrate([quiet] * 20)
    pipeline = HearingPipeline(ep, recognizer, "rating")
    for f in [loud] * 5:      # an answer begins while the coach is still talking...
        pipeline.push(f)
    assert pipeline.in_speech
    pipeline.reset()          # ...so the listener drops it (see VoiceListener)
    after = [ep.push(f)[0] for f in [loud] * 10 + [quiet] * 5 + [loud] * 10]
    assert "start" not in after  # its tail, even across a short gap, is not an utterance
    fresh = [ep.push(f)[0] for f in [quiet] * 12 + [loud] * 10]
    assert "start" in fresh


class SlowTranscriber:
    """A transcribing recognizer that always takes 500 ms and remembers what it was given."""

    engine, streaming = "fake", False

    def __init__(self):
        self.calls: list[int] = []

    def recognize(self, pcm, context, too_long=False):
        from voicecoach.hearing.recognizer import Recognition
        self.calls.append(len(pcm))
        return Recognition("yes", "yes", 0.0, 0.0, 500.0, "accepted", self.engine)


def _speech_then_quiet(speech_frames: int, gap_frames: int = 0, more: int = 0):
    loud, quiet = np.full(480, 8000, "<i2").tobytes(), np.zeros(480, "<i2").tobytes()
    return [quiet] * 20 + [loud] * speech_frames + [quiet] * gap_frames + [loud] * more + [quiet] * 30


def test_a_transcribing_recognizer_starts_at_the_first_pause_and_gets_the_head_start_credited():
    rec = SlowTranscriber()
    ep = Endpointer(lambda f: f[0] != 0 or f[1] != 0)
    pipeline = HearingPipeline(ep, rec, "yesno")
    heard = [h for f in _speech_then_quiet(20) if (h := pipeline.push(f))]
    (h,) = heard
    assert len(rec.calls) == 1  # decoded once, from the pause on
    pause_frames = round(ep.cfg.pause_s / FRAME_S)
    end_frames = next(n for n in range(1, 100) if n * FRAME_S >= ep.cfg.answer_end_s - 1e-9)  # an answer's early end
    assert h.decode_ms == pytest.approx(500 - (end_frames - pause_frames) * FRAME_S * 1000, abs=1)
    assert h.latency_ms == pytest.approx(end_frames * FRAME_S * 1000 + h.decode_ms, abs=1)


def test_speech_after_a_short_pause_throws_the_early_decode_away():
    rec = SlowTranscriber()
    pipeline = HearingPipeline(Endpointer(lambda f: f[0] != 0 or f[1] != 0), rec, "yesno")
    frames = _speech_then_quiet(10, gap_frames=6, more=10)  # 0.18 s pause: past pause_s, not the end
    (h,) = [h for f in frames if (h := pipeline.push(f))]
    # offline the early decode is only done once the end is found, so the one thrown away cost nothing;
    # the decode that counts heard both parts
    assert len(rec.calls) == 1 and rec.calls[0] >= (10 + 6 + 10) * FRAME_BYTES
    assert h.end_s > 0.6 + 0.3 + 0.18  # one utterance, ending after the second part


class QuickTranscriber:
    """A transcribing recognizer that takes ``ms`` and hears ``intent`` (None: refuses)."""

    engine, streaming = "fake", False

    def __init__(self, intent: str | None, ms: float = 50.0, gate=None):
        self.intent, self.ms, self.gate, self.calls = intent, ms, gate, 0

    def recognize(self, pcm, context, too_long=False):
        from voicecoach.hearing.recognizer import Recognition
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(5)
        return Recognition("yes" if self.intent else "latte", self.intent, 0.0, 0.0, self.ms,
                           "accepted" if self.intent else "no phrase", self.engine)


def _frames_until_heard(pipeline, frames):
    for n, f in enumerate(frames):
        if (h := pipeline.push(f)) is not None:
            return n, h
    raise AssertionError("nothing heard")


def test_an_answer_understood_at_the_pause_ends_the_utterance_before_the_full_silence():
    ep = Endpointer(lambda f: f[0] != 0 or f[1] != 0)
    pipeline = HearingPipeline(ep, QuickTranscriber("yes"), "yesno")
    frames = _speech_then_quiet(20)
    n, h = _frames_until_heard(pipeline, frames)
    quiet = n + 1 - (20 + 20)  # frames of quiet pushed when it was heard
    assert h.intent == "yes"
    assert quiet * FRAME_S == pytest.approx(ep.cfg.answer_end_s, abs=FRAME_S)
    assert quiet * FRAME_S < ep.cfg.end_silence_s
    assert h.latency_ms == pytest.approx(quiet * FRAME_S * 1000, abs=1)  # the decode was done by then
    assert not pipeline.in_speech and pipeline.flush() is None  # ended once, nothing left over


def test_a_refusal_still_waits_for_the_full_end_of_speech():
    ep = Endpointer(lambda f: f[0] != 0 or f[1] != 0)
    pipeline = HearingPipeline(ep, QuickTranscriber(None), "yesno")
    n, h = _frames_until_heard(pipeline, _speech_then_quiet(20))
    assert h.intent is None
    assert (n + 1 - 40) * FRAME_S >= ep.cfg.end_silence_s - 1e-9


def test_offline_where_an_answer_ends_does_not_depend_on_the_decode_time():
    """Offline (files, benchmarks) an answer understood at the pause ends its utterance
    ``answer_end_s`` into the quiet however long this machine took to decode it: the same file is
    cut the same way on every CPU. The decode still to do then is counted in the latency."""
    ends = []
    for ms in (10.0, 150.0, 900.0):
        ep = Endpointer(lambda f: f[0] != 0 or f[1] != 0)
        pipeline = HearingPipeline(ep, QuickTranscriber("yes", ms=ms), "yesno")
        n, h = _frames_until_heard(pipeline, _speech_then_quiet(20))
        quiet_s = (n + 1 - 40) * FRAME_S
        assert h.intent == "yes" and quiet_s == pytest.approx(ep.cfg.answer_end_s, abs=FRAME_S)
        assert h.latency_ms == pytest.approx(max(quiet_s * 1000, ep.cfg.pause_s * 1000 + ms), abs=FRAME_S * 1000)
        ends.append(n)
    assert len(set(ends)) == 1


def test_live_the_early_end_waits_for_the_worker():
    import threading
    gate = threading.Event()
    rec = QuickTranscriber("yes", gate=gate)
    ep = Endpointer(lambda f: f[0] != 0 or f[1] != 0)
    pipeline = HearingPipeline(ep, rec, "yesno", live=True)
    frames = _speech_then_quiet(20)
    answer_end = round(ep.cfg.answer_end_s / FRAME_S)
    first = frames[: 40 + answer_end + 1]
    assert all(pipeline.push(f) is None for f in first)  # the decode has not returned yet
    gate.set()
    pipeline._early.future.result(5)  # noqa: SLF001  the worker returns
    h = pipeline.push(frames[len(first)])
    assert h is not None and h.intent == "yes" and rec.calls == 1


def test_the_listener_passes_on_a_guess_only_among_what_it_listens_for():
    from voicecoach.core.events import NotUnderstood
    from voicecoach.hearing.listener import VoiceListener
    from voicecoach.hearing.pipeline import HeardUtterance
    heard = HeardUtterance(0.0, 0.5, None, "Bye.", -4.0, 3.0, 10.0, 200.0, "something else", "whisper", None, "score:5")
    assert VoiceListener._event(heard, ("score:5", "stop")) == NotUnderstood("Bye.", "score:5")
    assert VoiceListener._event(heard, ("yes", "no")) == NotUnderstood("Bye.")
