"""Resuming an interrupted session at its step, and the advice to re-test."""

from voicecoach.core.resume import ResumePoint, retest_advice
from voicecoach.core.plan import HistoryFacts


def steps(p):
    return [(d["routine"], d["block"], d["title"]) for d in p.recorder.kinds("step")]


def test_every_step_of_the_routine_is_recorded_for_resuming(play):
    p = play("hip-stretches", ["skip", "skip", "skip", "skip"], checkins=True)
    assert [(b, t) for _, b, t in steps(p)] == [
        (1, "hip stretches"), (2, "hip stretches"), (3, "Knee to opposite shoulder, left side"),
        (4, "Knee to opposite shoulder, right side"), (5, "Figure-4 stretch, left side"),
        (6, "Figure-4 stretch, right side"), (7, "hip stretches")]
    assert all(r == "hip-stretches" for r, _, _ in steps(p))  # check-ins are not steps of the routine


def test_a_question_is_not_a_step_resuming_redoes_the_position_it_asks_about(play):
    p = play("assessment", ["moved:stayed", "better"])
    titles = [t for _, _, t in steps(p)]
    assert titles[-1] == "Knees to chest"


def test_resume_starts_at_the_recorded_step_with_the_old_baseline(play):
    point = ResumePoint("hip-stretches", 5, "Figure-4 stretch, left side", None,
                        {"pain": "4", "location": "thigh"}, session=7)
    p = play(None, ["score:4", "location:calf"], checkins=True, history=HistoryFacts(resume=point), resume_now=True)
    assert "Welcome back. We'll pick up where we stopped: Figure-4 stretch, left side." in p.speaker.said
    assert "Knee to opposite shoulder" not in p.text  # done before the interruption
    assert p.listener.contexts == ["pain", "location"]  # the closing check-in only
    assert p.reason == "safety"  # thigh -> calf, against the baseline from before the crash
    assert p.recorder.kinds("resumed") == [{"session": 7, "block": 5}]


def test_resume_keeps_the_preference_found_before_the_interruption(play):
    point = ResumePoint("full-program", 21, "full program", preference="extension")  # after the assessment
    p = play(None, [], history=HistoryFacts(resume=point), resume_now=True)
    assert "This is your extension routine." in p.text and "Knees to chest" not in p.text


def test_the_menu_offers_resume_and_a_start_word_starts_fresh(play):
    point = ResumePoint("hip-stretches", 5, "Figure-4 stretch, left side")
    resumed = play(None, ["resume"], history=HistoryFacts(resume=point))
    assert "Or say resume, to pick up the last session at Figure-4 stretch, left side." in resumed.speaker.said
    assert "Knee to opposite shoulder" not in resumed.text
    fresh = play(None, ["start:hip-stretches"], history=HistoryFacts(resume=point))
    assert "Welcome back" not in fresh.text and "Knee to opposite shoulder, left side." in fresh.text


def test_retest_after_a_week_or_when_pain_rises():
    assert retest_advice(None, [3, 6]) is None  # never assessed: nothing to re-test
    assert retest_advice(2, [3, 3, 4]) is None
    assert "8 days since your last assessment" in retest_advice(8.2, [3, 3])
    assert "gone up since your last assessment, from 2 to 5" in retest_advice(3, [2, 3, 5])
    assert retest_advice(3, [5, 3, 2]) is None  # falling pain is good news
