"""Whisper's fast path (hearing/whisper.py): a short window first, the full one where it is not
clear. On scripted transcripts: no model here."""

from __future__ import annotations

import pytest

from voicecoach.hearing.closed import Decision
from voicecoach.hearing.whisper import Transcript, WhisperRecognizer

FULL, SHORT = 3000, 1000  # mel frames: 30 s and 10 s windows


class ScriptedTranscriber:
    """Answers ``transcribe`` from a script keyed by (window, prompted?) and keeps the calls."""

    frames = FULL

    def __init__(self, script: dict[tuple[int, bool], Transcript]):
        self.script = script
        self.calls: list[tuple[int, bool]] = []

    def transcribe(self, pcm: bytes, prompt: str | None = None, frames: int | None = None) -> Transcript:
        key = (frames or self.frames, prompt is not None)
        self.calls.append(key)
        return self.script[key]


def t(text: str, logprob: float = -0.1, no_speech: float = 0.1) -> Transcript:
    return Transcript(text, logprob, no_speech, 2, 25.0)


def recognizer(vocabulary, short_plain, short_prompted, full_plain=None, full_prompted=None):
    script = {(SHORT, False): short_plain, (SHORT, True): short_prompted,
              (FULL, False): full_plain or t("Hmm."), (FULL, True): full_prompted or t("Hmm.")}
    tr = ScriptedTranscriber(script)
    return WhisperRecognizer(vocabulary, transcriber=tr, fast_window_s=SHORT / 100, fast_min_logprob=-1.0), tr


PCM = b"\0\1" * 8000  # half a second; its voiced time does not matter here


def test_an_answer_clear_in_the_short_window_is_taken_at_once(vocabulary):
    rec, tr = recognizer(vocabulary, t("Yes."), t("Yes."))
    r = rec.recognize(PCM, "yesno")
    assert r.intent == "yes"
    assert tr.calls == [(SHORT, False)]  # the costly window was never encoded, nor a prompt decoded


@pytest.mark.parametrize("plain, prompted, why", [
    (t("Yet."), t("Yes."), "only the prompted decode wrote it"),
    (t("Yes please, a large oat milk latte."), t("Yes."), "a sentence"),
    (t("Yes.", logprob=-1.2), t("Yes."), "the plain decode is unsure"),
    (t("Coffee please."), t("Coffee please."), "no answer at all"),
])
def test_anything_less_than_clear_goes_to_the_full_window(vocabulary, plain, prompted, why):
    rec, tr = recognizer(vocabulary, plain, prompted, t("No."), t("No."))
    r = rec.recognize(PCM, "yesno")
    assert (r.intent, tr.calls[-2:]) == ("no", [(FULL, False), (FULL, True)]), why
    assert r.decode_ms == pytest.approx(3 * 25.0)  # the short window's one decode and the full window's two


@pytest.mark.parametrize("plain", [t("Yes."), t("Yet."), t("Yes.", logprob=-1.2), t("Coffee please.")])
def test_the_short_window_runs_only_the_plain_decode(vocabulary, plain):
    """Only a sure answer of the plain decode is decided in the short window: a prompted decode
    there could not rescue anything, so it is not run."""
    rec, tr = recognizer(vocabulary, plain, t("No."), t("No."), t("No."))
    rec.recognize(PCM, "yesno")
    assert tr.calls[0] == (SHORT, False) and (SHORT, True) not in tr.calls


def test_the_full_window_still_refuses_two_decodes_that_disagree(vocabulary):
    rec, _ = recognizer(vocabulary, t("Yet."), t("Yet."), t("Yes."), t("No."))
    assert rec.recognize(PCM, "yesno").intent is None


def test_the_full_window_may_refuse_what_the_short_one_half_heard(vocabulary):
    rec, _ = recognizer(vocabulary, t("Yes.", logprob=-1.2), t("Yes."), t("Yes please, a latte."), t("Yes, a latte."))
    assert rec.recognize(PCM, "yesno").intent is None


def test_without_a_fast_window_only_the_full_window_decodes(vocabulary):
    tr = ScriptedTranscriber({(FULL, False): t("Stop."), (FULL, True): t("Stop.")})
    rec = WhisperRecognizer(vocabulary, transcriber=tr, fast_window_s=None)
    assert rec.recognize(PCM, "exercise").intent == "stop"
    assert tr.calls == [(FULL, False), (FULL, True)]


class ScriptedRescue:
    """A second look (closed_whisper.NumberRescue's interface) that answers ``decision``."""

    def __init__(self, decision, contexts=("pain",)):
        self.decision, self.contexts = decision, contexts
        self.calls: list[str] = []

    def applies(self, context: str) -> bool:
        return context in self.contexts

    def __call__(self, pcm: bytes, context: str, voiced: float):
        self.calls.append(context)
        return self.decision, 40.0


def rescuing(vocabulary, rescue, full_plain, full_prompted=None):
    tr = ScriptedTranscriber({(FULL, False): full_plain, (FULL, True): full_prompted or full_plain})
    return WhisperRecognizer(vocabulary, transcriber=tr, fast_window_s=None, rescue=rescue)


def test_a_number_the_free_text_missed_is_rescued_by_its_score(vocabulary):
    rescue = ScriptedRescue(Decision("score:5", " Five", -1.2, 4.0, "accepted"))
    r = rescuing(vocabulary, rescue, t("Bye.")).recognize(PCM, "pain")
    assert (r.intent, r.reason, r.text) == ("score:5", "accepted", "Five")
    assert r.decode_ms == pytest.approx(2 * 25.0 + 40.0)  # both free decodes, then the scores


def test_a_rescue_that_refuses_leaves_the_refusal(vocabulary):
    rescue = ScriptedRescue(Decision(None, " Five", -5.0, 0.5, "ambiguous"))
    r = rescuing(vocabulary, rescue, t("Bye.")).recognize(PCM, "pain")
    assert (r.intent, r.reason) == (None, "no phrase")


@pytest.mark.parametrize("context, plain, prompted, why", [
    ("pain", t("5."), None, "the free text already wrote an answer"),
    ("pain", t("5."), t("6."), "the two decodes disagree: never a guess"),
    ("pain", t("Five and then some more words."), None, "talk in the room"),
    ("yesno", t("Bye."), None, "no number is expected"),
])
def test_the_rescue_is_asked_only_for_a_missed_number(vocabulary, context, plain, prompted, why):
    rescue = ScriptedRescue(Decision("score:7", " 7", -1.0, 4.0, "accepted"))
    rescuing(vocabulary, rescue, plain, prompted).recognize(PCM, context)
    assert rescue.calls == [], why
