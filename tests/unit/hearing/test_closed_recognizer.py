"""How the closed-vocabulary recognizer judges one utterance (hearing/closed_whisper.judge), on
scripted facts: the free text and the phrase scores are given, no model here."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from voicecoach.hearing.closed import GUESSABLE, Thresholds
from voicecoach.hearing.closed_whisper import ClosedRecognizer, context_forms, judge, names_prompt, once, thresholds_for
from voicecoach.hearing.whisper import Transcript

T = Thresholds()


def facts(vocabulary, context, free="", free_lp=-0.5, nsp=0.1, **scores):
    """Facts as ClosedScorer.score gives them: ``scores`` by written form (" Yes": -0.3), each
    followed by its end at -0.1; every other form of the context unscored, its first token at -15."""
    tokens = max(1, len(free.split()))
    forms = [f for _, f in context_forms(vocabulary, context)]
    first = {f: -15.0 for f in forms}
    given = {f" {k.replace('_', ' ')}": v for k, v in scores.items()}
    first.update({f: v for f, v in given.items()})
    return {"free": Transcript(free, free_lp / (tokens + 1), nsp, tokens, 10.0), "first": first,
            "scores": given, "ends": {f: -0.1 for f in given}, "ms": 10.0}


def test_the_free_text_saying_a_phrase_is_taken_when_the_scores_agree(vocabulary):
    d = judge(vocabulary, facts(vocabulary, "yesno", "Yes.", Yes=-0.3, No=-9.0), "yesno", T)
    assert (d.intent, d.reason) == ("yes", "accepted")
    # the scores rank another intent first: never guess between them
    d = judge(vocabulary, facts(vocabulary, "yesno", "Yes.", Yes=-6.0, No=-1.0), "yesno", T)
    assert (d.intent, d.reason) == (None, "ambiguous")


def test_the_free_text_saying_a_phrase_still_needs_the_margin_and_the_floor(vocabulary):
    """"Yeah." written for a "no" in a noisy room, "no" scored half a nat behind: not a yes."""
    d = judge(vocabulary, facts(vocabulary, "yesno", "Yeah.", Yeah=-2.4, No=-2.9), "yesno", T)
    assert (d.intent, d.reason) == (None, "ambiguous")
    d = judge(vocabulary, facts(vocabulary, "yesno", "Yes.", Yes=-3.5, No=-9.0), "yesno", T)
    assert (d.intent, d.reason) == (None, "low confidence")
    d = judge(vocabulary, facts(vocabulary, "exercise", "Stop.", Stop=-3.5), "exercise", T)
    assert d.intent == "stop"  # stop keeps its own, lower floor


def test_a_name_said_again_and_again_by_the_prompted_decode_is_one_name():
    assert once("start bridges, start bridges, start") == "start bridges"
    assert once("Glides. Glides. Glides.") == "glides"
    assert once("Glute bridges.") == "Glute bridges."
    assert once("glute bridges, glides") == "glute bridges, glides"
    assert once("") == ""


def test_only_a_context_that_starts_routines_has_a_prompt_of_their_names(vocabulary, library):
    assert names_prompt(vocabulary, "menu") is None  # no routines, nothing to teach
    vocabulary = vocabulary.with_routines({**library.spoken_names(), "piriformis": ["piriformis stretch"]})
    prompt = names_prompt(vocabulary, "menu")
    assert prompt and all(n in prompt.lower() for ns in vocabulary.routine_names.values() for n in ns)
    assert "piriformis stretch" in prompt
    assert names_prompt(vocabulary, "yesno") is None and names_prompt(vocabulary, "pain") is None


def test_a_phrase_the_free_text_missed_is_taken_on_clear_scores(vocabulary):
    """"Bye." written for "five": the number is likely, far ahead, and the free text no likelier."""
    d = judge(vocabulary, facts(vocabulary, "pain", "Bye.", free_lp=-3.0, Five=-1.0, five=-1.5, Nine=-7.0), "pain", T)
    assert (d.intent, d.reason) == ("score:5", "accepted")


def test_free_text_much_likelier_than_the_phrase_is_something_else(vocabulary):
    d = judge(vocabulary, facts(vocabulary, "yesno", "Left.", free_lp=-0.4, Yes=-2.5, No=-9.0), "yesno", T)
    assert (d.intent, d.reason) == (None, "something else")


def test_close_rivals_are_never_guessed(vocabulary):
    d = judge(vocabulary, facts(vocabulary, "pain", "", Five=-1.0, Nine=-2.0), "pain", T)
    assert (d.intent, d.reason) == (None, "ambiguous")


def test_unlikely_phrases_are_refused_but_stop_has_a_lower_floor(vocabulary):
    d = judge(vocabulary, facts(vocabulary, "yesno", "", Yes=-3.8), "yesno", T)
    assert (d.intent, d.reason) == (None, "low confidence")
    d = judge(vocabulary, facts(vocabulary, "exercise", "", Stop=-3.8), "exercise", T)
    assert d.intent == "stop"


def test_no_speech_is_never_an_answer(vocabulary):
    for free in ("Yes.", ""):
        d = judge(vocabulary, facts(vocabulary, "yesno", free, nsp=0.9, Yes=-0.2), "yesno", T)
        assert (d.intent, d.reason) == (None, "not speech")


def test_a_phrase_that_cannot_account_for_the_voiced_time_is_refused(vocabulary):
    """"Yes, please." for "Yes please, a large oat milk latte and a muffin": 3 s of voice."""
    f = facts(vocabulary, "yesno", "Yes, please.", Yes_please=-0.3, No=-9.0)
    assert judge(vocabulary, f, "yesno", T, voiced=0.9).intent == "yes"
    d = judge(vocabulary, f, "yesno", T, voiced=3.0)
    assert (d.intent, d.reason) == (None, "more than the phrase")


def test_the_phrase_followed_by_more_words_is_not_the_phrase(vocabulary):
    f = facts(vocabulary, "yesno", "Yes please, a latte.", free_lp=-2.0, Yes_please=-1.0)
    assert judge(vocabulary, f, "yesno", T).reason == "more than the phrase"


@pytest.mark.parametrize("sensitivity", [1, 2, 3, 4, 5])
def test_sensitivity_moves_the_floor_but_never_loosens_stop_beyond_its_own(sensitivity):
    t = thresholds_for(sensitivity)
    assert t.min_score == pytest.approx(Thresholds().min_score - (sensitivity - 3) * 0.5)
    assert t.min_score_always == min(Thresholds().min_score_always, t.min_score)
    assert thresholds_for(3, -1.0).min_score == -1.0


class _ScriptedScorer:
    """ClosedScorer's interface, answering ``score`` with fixed facts."""

    def __init__(self, facts, named=None):
        """``named``: the facts with the menu's prompt of names (None: no context has a prompt)."""
        self.facts, self.named, self.transcriber = facts, named, None
        self.prompts = defaultdict(lambda: "Nerve glides, hip stretches." if named else None)

    def score(self, pcm, context, prompted=False, floor=None):
        return self.named if prompted else self.facts


def test_a_name_is_taken_from_the_scores_with_the_names_prompted(vocabulary, library):
    """"Lute bridges." unprompted; prompted with the names, the name is clear."""
    menu = vocabulary.with_routines(library.spoken_names())
    plain = facts(menu, "menu", "Nerf lied.", free_lp=-2.0, Nerve_glides=-6.0, Stop=-9.0)
    named = facts(menu, "menu", "Nerve glides.", free_lp=-0.5, Nerve_glides=-0.5, Hip_stretches=-8.0)
    r = ClosedRecognizer(menu, _ScriptedScorer(plain, named)).recognize(b"\0\1" * 8000, "menu")
    assert r.intent == "start:nerve-glides"
    assert ClosedRecognizer(menu, _ScriptedScorer(plain)).recognize(b"\0\1" * 8000, "menu").intent is None


def test_no_routine_starts_on_the_prompt_when_stop_may_have_been_said(vocabulary, library):
    menu = vocabulary.with_routines(library.spoken_names())
    plain = facts(menu, "menu", "Stop.", Stop=-1.5, Stretches=-2.5)  # ambiguous: 1 nat apart
    named = facts(menu, "menu", "Stretches.", free_lp=-0.5, Stretches=-0.4, Stop=-6.0)
    r = ClosedRecognizer(menu, _ScriptedScorer(plain, named)).recognize(b"\0\1" * 8000, "menu")
    assert r.intent is None
    plain = facts(menu, "menu", "Stop.", Stop=-0.3, Stretches=-9.0)  # stop itself is never replaced
    assert ClosedRecognizer(menu, _ScriptedScorer(plain, named)).recognize(b"\0\1" * 8000, "menu").intent == "stop"


def test_the_recognizer_says_when_it_was_the_room_not_an_answer(vocabulary):
    from voicecoach.hearing.listener import ROOM_SOUNDS
    talk = facts(vocabulary, "yesno", "I think I'm gonna read the paper.", free_lp=-2.0, Yes=-9.0)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(talk)).recognize(b"\0\1" * 8000, "yesno")
    assert (r.intent, r.reason) == (None, "talk") and r.reason in ROOM_SOUNDS
    short = facts(vocabulary, "rating", "Yes, bitter.", free_lp=-2.0, Better=-5.0)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(short)).recognize(b"\0\1" * 8000, "rating")
    assert r.intent is None and r.reason not in ROOM_SOUNDS  # a short answer misheard: ask again
    assert ClosedRecognizer(vocabulary, _ScriptedScorer(talk)).recognize(b"", "yesno", too_long=True).reason == "too long"


def voiced(seconds: float) -> bytes:
    """Half a second of quiet, ``seconds`` of a loud tone (the voice), half a second of quiet."""
    quiet = np.zeros(8000)
    tone = np.sin(2 * np.pi * 220 * np.arange(int(seconds * 16000)) / 16000) * 8000
    return np.concatenate([quiet, tone, quiet]).astype("<i2").tobytes()


def test_whisper_looping_on_noise_is_not_an_answer_but_stop_stop_stop_is(vocabulary):
    """A coffee order looped into "Three, three, ..." has the voice of many words: refused. The
    same loop over the voice of one short word is Whisper's decoder looping on a clear answer."""
    loop = facts(vocabulary, "pain", "Three, three, three, three, three, three", Three=-0.3)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(loop)).recognize(voiced(2.5), "pain")
    assert (r.intent, r.reason) == (None, "repeats")
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(loop)).recognize(voiced(0.4), "pain")
    assert r.intent == "score:3"
    mixed = facts(vocabulary, "pain", "Three, three, three, three, oat milk", Three=-0.3)
    assert ClosedRecognizer(vocabulary, _ScriptedScorer(mixed)).recognize(voiced(0.4), "pain").intent is None
    stop = facts(vocabulary, "exercise", "Stop, stop, stop, stop, stop.", Stop=-0.3)
    assert ClosedRecognizer(vocabulary, _ScriptedScorer(stop)).recognize(b"\0\1" * 8000, "exercise").intent == "stop"


def test_one_clear_word_looped_where_it_is_no_answer_is_a_word_not_talk(vocabulary):
    """"Yes. Yes. Yes. Yes" for one short "yes" in the rating context: refused as a word the
    coach asks again for, not kept silent as the room's talk; the loop over a sentence's voice
    is talk."""
    from voicecoach.hearing.listener import ROOM_SOUNDS
    loop = facts(vocabulary, "rating", "Yes. Yes. Yes. Yes", free_lp=-1.0, Better=-9.0)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(loop)).recognize(voiced(0.4), "rating")
    assert r.intent is None and r.reason not in ROOM_SOUNDS
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(loop)).recognize(voiced(2.5), "rating")
    assert (r.intent, r.reason) == (None, "talk")


def test_an_accepted_intent_reports_its_score_and_margin(vocabulary):
    f = facts(vocabulary, "yesno", "Yes.", Yes=-0.3, No=-9.0)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(f)).recognize(b"\0\1" * 8000, "yesno")
    assert r.intent == "yes" and r.confidence == pytest.approx(-0.4) and r.margin > 5 and math.isfinite(r.margin)


def test_a_phrase_refused_only_for_what_followed_it_is_named_for_barge_in(vocabulary):
    """Over the coach a person's "stop" is followed by the coach's own voice: the refusal says
    which intent it was (barge-in weighs it, hearing/duplex.py); other refusals name none."""
    glued = facts(vocabulary, "exercise", "Stop and let your back", free_lp=-2.0, Stop=-0.3, Pause=-9.0)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(glued)).recognize(b"\0\1" * 8000, "exercise")
    assert (r.intent, r.followed) == (None, "stop")
    weak = facts(vocabulary, "exercise", "Stock.", free_lp=-0.5, Stop=-6.0, Pause=-7.0)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(weak)).recognize(b"\0\1" * 8000, "exercise")
    assert (r.intent, r.followed) == (None, None)


def test_an_answer_ranked_first_but_under_the_floor_is_offered_as_a_guess(vocabulary):
    """"Bye." for a "five": five scored first (-4 nat, under the -2.75 floor, 3 nat ahead): not
    taken, but worth asking about. Far behind the floor, close to a rival, or the room's talk:
    no guess."""
    d = Thresholds()
    unsure = facts(vocabulary, "pain", "Bye.", free_lp=-2.0, Five=-4.0, Nine=-7.0)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(unsure)).recognize(b"\0\1" * 8000, "pain")
    assert (r.intent, r.guess) == (None, "score:5") and r.reason in GUESSABLE
    far = facts(vocabulary, "pain", "Bye.", free_lp=-2.0, Five=d.min_guess_score - 1.0, Nine=-12.0)
    assert ClosedRecognizer(vocabulary, _ScriptedScorer(far)).recognize(b"\0\1" * 8000, "pain").guess is None
    close = facts(vocabulary, "pain", "Bye.", free_lp=-2.0, Five=-4.0, Nine=-4.0 - d.min_guess_margin / 2)
    assert ClosedRecognizer(vocabulary, _ScriptedScorer(close)).recognize(b"\0\1" * 8000, "pain").guess is None
    talk = facts(vocabulary, "pain", "I think five of them are in the car.", free_lp=-2.0, Five=-4.0)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(talk)).recognize(b"\0\1" * 8000, "pain")
    assert (r.reason, r.guess) == ("talk", None)
    clear = facts(vocabulary, "pain", "Five.", Five=-0.3, Nine=-9.0)
    r = ClosedRecognizer(vocabulary, _ScriptedScorer(clear)).recognize(b"\0\1" * 8000, "pain")
    assert (r.intent, r.guess) == ("score:5", None)  # taken: nothing to ask
