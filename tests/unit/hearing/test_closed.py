"""The closed-vocabulary decision rule (hearing/closed.py), on made-up scores: no model here."""

from __future__ import annotations

import math

from hypothesis import given, strategies as st

from voicecoach.hearing.closed import Thresholds, decide, logsumexp, name_floor, written_forms

ALWAYS = ("stop", "pain", "worse")
T = Thresholds(min_score=-4.0, min_score_always=-6.0, min_margin=3.0, max_free_lead=1.0, min_end=-3.0,
               max_no_speech=0.8)


def run(scores, bounds=None, free_intent=None, free_is_phrase=True, free_lp=-1.0, nsp=0.1, t=T, ends=None,
        free_words=""):
    return decide(scores, bounds or {}, free_intent, free_is_phrase, free_lp, nsp, ALWAYS, t, ends, free_words)


def test_written_forms_as_whisper_writes_them():
    assert written_forms("yes") == [" Yes", " yes"]
    assert written_forms("i'm ready") == [" I'm ready"]
    assert written_forms("five") == [" Five", " five", " 5"]
    assert written_forms("go back") == [" Go back", " go back"]


def test_a_clear_winner_is_accepted():
    d = run({"yes": {" Yes": -1.0}, "no": {" No.": -9.0}})
    assert (d.intent, d.reason, d.phrase) == ("yes", "accepted", " Yes")
    assert math.isclose(d.margin, 8.0)


def test_forms_of_one_intent_add_up():
    # two forms at -2.0 each are one intent at -2.0 + ln 2
    d = run({"score:5": {" Five.": -2.0, " 5.": -2.0}, "score:9": {" Nine.": -8.0}})
    assert d.intent == "score:5"
    assert math.isclose(d.score, -2.0 + math.log(2))


def test_close_rivals_are_never_guessed():
    d = run({"score:5": {" Five.": -2.0}, "score:9": {" Nine.": -3.5}})
    assert (d.intent, d.reason) == (None, "ambiguous")


def test_an_unscored_rival_counts_with_its_bound():
    d = run({"yes": {" Yes": -1.0}}, bounds={"no": -2.5})
    assert (d.intent, d.reason) == (None, "ambiguous")


def test_unlikely_phrases_are_refused():
    assert run({"yes": {" Yes.": -5.0}}).reason == "low confidence"
    # stop, pain and worse have a more lenient floor: they must never be missed
    assert run({"stop": {" Stop.": -5.0}}).intent == "stop"
    assert run({"stop": {" Stop.": -7.0}}).reason == "low confidence"


def test_free_text_saying_something_else_wins():
    # writing freely, Whisper writes "9", far likelier than the "No" being scored
    d = run({"no": {" No": -1.6}}, free_is_phrase=False, free_lp=-0.2)
    assert (d.intent, d.reason) == (None, "something else")
    # "Stock." for "stop", about as likely as the phrase: still stop
    assert run({"stop": {" Stop": -1.0}}, free_is_phrase=False, free_lp=-0.6).intent == "stop"
    # free text naming another intent of the context: never pick either
    assert run({"yes": {" Yes": -1.0}}, free_intent="no").reason == "ambiguous"


def test_more_words_after_the_phrase_are_not_the_phrase():
    assert run({"no": {" No": -0.3}}, ends={" No": -0.1}).intent == "no"
    assert run({"no": {" No": -0.3}}, ends={" No": -4.0}).reason == "more than the phrase"


def test_no_speech_is_not_an_answer():
    assert run({"yes": {" Yes": -1.0}}, nsp=0.9).reason == "not speech"


def test_nothing_scored_is_no_phrase():
    assert run({}).reason == "no phrase"


def test_logsumexp():
    assert logsumexp([]) == -math.inf
    assert math.isclose(logsumexp([0.0, 0.0]), math.log(2))
    assert logsumexp([-math.inf]) == -math.inf


scores = st.floats(min_value=-30, max_value=0, allow_nan=False)


@given(st.dictionaries(st.sampled_from(["yes", "no", "stop", "pain", "pause"]),
                       st.dictionaries(st.sampled_from([" A.", " B.", " C!"]), scores, max_size=3), max_size=5),
       st.dictionaries(st.sampled_from(["yes", "no", "stop", "pain", "pause"]), scores, max_size=5),
       st.sampled_from([None, "yes", "no", "stop"]), st.booleans(), scores,
       st.floats(min_value=0, max_value=1, allow_nan=False))
def test_an_accepted_intent_is_always_clearly_ahead(scores, bounds, free_intent, free_is_phrase, free_lp, nsp):
    d = run(scores, bounds, free_intent, free_is_phrase, free_lp, nsp)
    if d.intent is None:
        return
    totals = {i: logsumexp(list(f.values())) for i, f in scores.items() if f}
    others = [v for i, v in totals.items() if i != d.intent] + [v for i, v in bounds.items() if i != d.intent]
    assert all(totals[d.intent] - v >= T.min_margin for v in others)
    assert free_intent in (None, d.intent)
    assert nsp < T.max_no_speech
    assert totals[d.intent] >= T.min_score_always
    assert free_is_phrase or free_lp - totals[d.intent] <= T.max_free_lead


def test_a_phrase_with_more_after_it_is_not_the_phrase():
    """Whisper wrote the whole sentence freely; the phrase is only its start."""
    d = run({"yes": {" Yes please": -0.5}}, free_is_phrase=False, free_lp=-0.3, free_words="yes please a large latte")
    assert (d.intent, d.reason) == (None, "more than the phrase")
    assert run({"yes": {" Yes": -0.5}}, free_words="yes").intent == "yes"


def test_a_number_written_in_digits_with_more_after_it_is_not_the_number():
    """Free text "5, 2, 3, 1" is read "five two three one": " 5" is only its start."""
    d = run({"score:5": {" 5": -0.5}}, free_is_phrase=False, free_lp=-0.3, free_words="five two three one")
    assert (d.intent, d.reason) == (None, "more than the phrase")
    assert run({"score:5": {" 5": -0.5}}, free_words="five").intent == "score:5"


def test_a_routine_name_of_several_words_has_a_floor_of_its_own():
    """A name scored over four predictions may be less likely than a one-word answer; only the
    names given their own floor get it, and the margin still applies."""
    assert name_floor(T, 1) == T.min_score and name_floor(T, 3) == 2 * T.min_score
    scores = {"start:full": {" Start full program": -6.0}, "yes": {" Yes": -12.0}}
    assert run(scores).reason == "low confidence"
    d = decide(scores, {}, None, True, -7.0, 0.1, ALWAYS, T, None, "", {"start:full": name_floor(T, 3)})
    assert (d.intent, d.reason) == ("start:full", "accepted")
    close = {"start:full": {" Start full program": -6.0}, "start:hip": {" Start hip stretches": -7.0}}
    floors = {i: name_floor(T, 3) for i in close}
    assert decide(close, {}, None, True, -7.0, 0.1, ALWAYS, T, None, "", floors).reason == "ambiguous"
