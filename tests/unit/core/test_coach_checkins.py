"""Pain check-ins before and after, and the trend rule that stops a session."""

from voicecoach.core.plan import HistoryFacts


def test_checkins_wrap_the_routine_and_are_recorded(play):
    p = play("hip-stretches", ["score:4", "location:thigh", "score:3", "location:buttock"], checkins=True)
    assert p.reason == "done"
    checks = [(d["kind"], d["value"], d["phase"]) for d in p.recorder.kinds("check")]
    assert checks == [("pain", "4", "before"), ("location", "thigh", "before"),
                      ("pain", "3", "later"), ("location", "buttock", "later")]
    assert p.listener.contexts[:2] == ["pain", "location"]


def test_checkins_can_be_skipped(play):
    p = play("hip-stretches", ["skip", "skip", "skip", "skip"], checkins=True)
    assert p.reason == "done"
    assert all(d.get("skipped") for d in p.recorder.kinds("check"))


def test_pain_spreading_down_the_leg_stops_the_session(play):
    p = play("hip-stretches", ["score:4", "location:thigh", "score:4", "location:calf"], checkins=True)
    assert p.reason == "safety"
    assert p.speaker.said[-1].startswith("The pain now reaches your calf, further down your leg than when we "
                                         "started, at your thigh.")
    assert "doctor or physiotherapist" in p.speaker.said[-1]
    assert p.recorder.kinds("trend_stop")


def test_score_rising_by_three_stops_the_session(play):
    p = play("hip-stretches", ["score:2", "location:back", "score:5"], checkins=True)
    assert p.reason == "safety"
    assert p.speaker.said[-1].startswith("Your pain has gone up from 2 to 5 since we started.")


def test_score_rising_by_two_does_not_stop(play):
    p = play("hip-stretches", ["score:2", "location:back", "score:4", "location:back"], checkins=True)
    assert p.reason == "done"


def test_movement_after_each_assessment_position(play):
    p = play("assessment", ["moved:down", "worse", "moved:up", "better"])
    assert [d["value"] for d in p.recorder.kinds("check")] == ["down", "up"]
    assert "Pain moving down the leg is a warning sign" in p.text


def test_a_warning_from_last_time_is_said_first(play):
    p = play("hip-stretches", [], history=HistoryFacts(notices=("Last time we stopped early: the pain spread.",)))
    assert p.speaker.said[1] == "Last time we stopped early: the pain spread."


def test_a_first_score_corrected_after_go_back_is_the_safer_baseline(play):
    """Found by the property suite (``run check-in``): 1 said, "go back" at the next question
    back to it, 0 said: the rise counts from 0, so a later 3 stops the session (the lower of
    the two is the baseline)."""
    p = play("check-in", ["score:1", "location:back", "back", "score:0", "location:back", "score:3"], checkins=True)
    assert p.reason == "safety"
    assert p.speaker.said[-1].startswith("Your pain has gone up from 0 to 3 since we started.")


def test_a_score_said_again_in_a_later_check_in_is_no_correction(play):
    """A later check-in asks the same question: its answer is a new score, not a correction."""
    p = play("hip-stretches", ["score:2", "location:back", "score:1", "location:back"], checkins=True)
    assert p.reason == "done"
    assert [d["value"] for d in p.recorder.kinds("check") if d["kind"] == "pain"] == ["2", "1"]
