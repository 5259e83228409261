"""What a session starts from, read from the history (core.plan): issue 22.4, 22.6, 22.7."""

from pathlib import Path

from voicecoach.core import events as ev
from voicecoach.core import plan
from voicecoach.core.coach import Coach
from voicecoach.store.history import Store

from tests.support.fakes import FakeClock


def _store(*sessions):
    """A history of sessions, each a list of (kind, data) records."""
    store = Store(Path(":memory:"))
    for records in sessions:
        store.begin_session(None)
        for kind, data in records:
            store.record(kind, data)
    return store


def _coach(library, vocabulary, store, routine=None):
    store.session_id = None  # as a new process opens the history: no session of its own yet
    clock = FakeClock()
    return Coach(library, vocabulary, clock.now, routine=routine, checkins=True, disclaimer=False,
                 history=plan.HistoryFacts(notices=tuple(plan.notices(store, menu=routine is None)),
                                           resume=store.resume_point(), safety_stop=plan.last_safety_stop(store),
                                           trend_stop=plan.history_trend(store)))


def _said(reply):
    return [a.text for a in reply if isinstance(a, ev.Say)]


def _pain(score, phase="before"):
    return ("check", {"kind": "pain", "value": str(score), "phase": phase})


def test_a_rise_since_the_last_assessment_stops_as_the_trend_rule_does(library, vocabulary):
    store = _store([("result", {"preference": "flexion"})], [_pain(6), ("end", {"reason": "done"})],
                   [_pain(9), ("end", {"reason": "done"})])
    reply = _coach(library, vocabulary, store).start()
    assert isinstance(reply[-1], ev.End) and reply[-1].reason == "safety"
    assert any("from 6 to 9" in s and "warning sign" in s for s in _said(reply))
    reasons = [a.data["reason"] for a in reply if isinstance(a, ev.Record) and a.kind == "safety_stop"]
    assert reasons and "6 to 9" in reasons[0]  # remembered, named next time


def test_retest_advice_has_no_menu_wording_in_a_run_session(library, vocabulary):
    store = _store([("result", {"preference": "flexion"})], [_pain(4), _pain(6, "later"), ("end", {"reason": "done"})])
    assert any("at the menu" in n for n in plan.notices(store, menu=True))
    assert plan.notices(store, menu=False) and not any("menu" in n for n in plan.notices(store, menu=False))


def test_a_remembered_stop_is_named_before_any_advice(library, vocabulary):
    store = _store([("result", {"preference": "flexion"})], [_pain(4), _pain(6, "later"),
                   ("safety_stop", {"reason": "Both bending and arching made your leg worse.", "advice": "Rest."}),
                   ("end", {"reason": "safety"})])
    said = _said(_coach(library, vocabulary, store).start())
    assert said[0].startswith("Last time we stopped early")
    assert not any("test again" in s for s in said)  # advice comes after the clinician question


def _after_interrupted_flexion(library, vocabulary, pain: int, routine: str):
    """A fresh session of ``routine`` (not resumed) after a flexion session interrupted with the
    pain score ``pain``: the coach, and its reply once it asks for today's first pain score."""
    store = _store([("answer", {"question": "menu", "intent": "start:flexion"}), ("routine", {"routine": "flexion"}),
                    _pain(pain), ("step", {"routine": "flexion", "block": 2, "title": "x"}), ("interrupted", {})])
    coach = _coach(library, vocabulary, store, routine=routine)
    reply = coach.start()
    for _ in range(20):
        if isinstance(reply[-1], ev.Listen) and reply[-1].context == "pain":
            break
        reply = coach.handle(ev.Heard("no"))  # the safety screen
    return coach, reply


def test_an_interrupted_sessions_check_in_is_the_baseline_of_the_next(library, vocabulary):
    coach, _ = _after_interrupted_flexion(library, vocabulary, 5, "hip-stretches")
    reply = coach.handle(ev.Heard("score:8"))
    assert isinstance(reply[-1], ev.End) and reply[-1].reason == "safety"


def test_a_rise_of_3_within_the_session_stops_even_over_a_higher_carried_baseline(library, vocabulary):
    """Found by the property suite: an interrupted session's pain 1 carried a week later, today
    0 then 3. Measured from the carried 1 that was a rise of 2 and the session went on; today's
    lower first score is the baseline (lower is the safer one), and 0 -> 3 stops."""
    coach, _ = _after_interrupted_flexion(library, vocabulary, 1, "check-in")
    reply = coach.handle(ev.Heard("score:0"))
    assert not isinstance(reply[-1], ev.End)
    assert isinstance(reply[-1], ev.Listen) and reply[-1].context == "location"
    reply = coach.handle(ev.Heard("location:back"))  # the check-in routine itself asks the pain score again
    assert isinstance(reply[-1], ev.Listen) and reply[-1].context == "pain"
    reply = coach.handle(ev.Heard("score:3"))
    assert isinstance(reply[-1], ev.End) and reply[-1].reason == "safety"
    assert any("from 0 to 3" in s for s in _said(reply))


def test_a_finished_session_closes_the_series_an_interrupted_check_in_started(library, vocabulary):
    """The course the property suite found: a check-in interrupted (pain 1), an assessment
    started afresh from that baseline and finished (pain 0), then a session whose own first
    score is 0: "back" and 3 is a rise of 3 and stops. The interrupted session is still
    offered to resume, but its older score is no longer the baseline that hides the rise."""
    store = Store(Path(":memory:"))
    store.begin_session("check-in")  # `run check-in`, Ctrl-C
    for kind, data in [("screen_passed", {}), ("routine", {"routine": "check-in"}), _pain(1),
                       ("check", {"kind": "location", "value": "back", "phase": "before"}), _pain(1, "later"),
                       ("interrupted", {"by": "Ctrl-C"})]:
        store.record(kind, data)
    store.session_id = None
    assert store.resume_point().baseline == {"pain": "1", "location": "back"}  # the next session starts from it
    store.begin_session("assessment")  # afresh, not resumed, and finished
    for kind, data in [("baseline", {"pain": "1", "location": "back"}), ("routine", {"routine": "check-in"}),
                       _pain(0, "later"), ("routine", {"routine": "assessment"}),
                       ("result", {"preference": "flexion"}), _pain(0, "later"), ("end", {"reason": "done"})]:
        store.record(kind, data)
    store.session_id = None
    point = store.resume_point()
    assert point.session == 1 and not point.baseline  # still offered; its score is older than the last session's
    coach = _coach(library, vocabulary, store, routine="assessment")
    reply = coach.start()
    assert isinstance(reply[-1], ev.Listen) and reply[-1].context == "pain"
    coach.handle(ev.Heard("score:0"))
    reply = coach.handle(ev.Heard("back"))  # to the pain score again
    assert isinstance(reply[-1], ev.Listen) and reply[-1].context == "pain"
    reply = coach.handle(ev.Heard("score:3"))
    assert isinstance(reply[-1], ev.End) and reply[-1].reason == "safety"
    assert any("from 0 to 3" in s and "warning sign" in s for s in _said(reply))


def test_a_session_that_measured_nothing_keeps_the_interrupted_baseline():
    """Stopped at the menu, a session asked no check-in: the interrupted one's score is still
    the last measurement, and the next session starts from it."""
    store = Store(Path(":memory:"))
    store.begin_session("check-in")
    for kind, data in [("screen_passed", {}), ("routine", {"routine": "check-in"}), _pain(2),
                       ("interrupted", {"by": "Ctrl-C"})]:
        store.record(kind, data)
    store.session_id = None
    store.begin_session(None)
    store.record("end", {"reason": "stopped"})
    store.session_id = None
    assert store.resume_point().baseline == {"pain": "2"}


def _assessment(*ratings, result=None):
    records = [("answer", {"question": f"assessment/{i}", "intent": r, "counted": r, "direction": d,
                           "position": "x"}) for i, (d, r) in enumerate(ratings)]
    if result:
        records.append(("result", {"preference": result}))
    return records


def test_my_routine_never_runs_a_direction_the_last_assessment_found_worse(library):
    routines = library.routines
    found = _store(_assessment(("flexion", "better"), result="flexion"))
    assert plan.my_routine(found, routines) == "flexion"
    # a later assessment, interrupted or without a result, found bending made the leg worse
    later = _store(_assessment(("flexion", "better"), result="flexion"), _assessment(("flexion", "worse")))
    assert plan.my_routine(later, routines) == "full-program"
    # a later one found it fine again: follow its result
    again = _store(_assessment(("flexion", "worse")), _assessment(("flexion", "better"), result="flexion"))
    assert plan.my_routine(again, routines) == "flexion"


def _to_pain(coach):
    reply = coach.start()
    for _ in range(20):
        if isinstance(reply[-1], ev.Listen) and reply[-1].context == "pain":
            return reply
        reply = coach.handle(ev.Heard("no" if reply[-1].context == "yesno" else "start:hip-stretches"))
    raise AssertionError("no pain check-in")


def test_a_rise_since_the_last_assessment_stops_at_the_check_in_that_says_it(library, vocabulary):
    """Found by scripts/explore_method.py: pain 6 when the direction was found, 9 at the next
    session's check-in, and the session went on (the rise only stopped the session after)."""
    store = _store([_pain(6), ("result", {"preference": "flexion"}), _pain(6, "later"), ("end", {"reason": "done"})])
    assert plan.pain_since_assessment(store) == (6, 6)  # the assessment's own check-in counts
    coach = Coach(library, vocabulary, FakeClock().now, checkins=True, disclaimer=False,
                  history=plan.HistoryFacts(pain_since_assessment=plan.pain_since_assessment(store)))
    _to_pain(coach)
    reply = coach.handle(ev.Heard("score:9"))
    assert isinstance(reply[-1], ev.End) and reply[-1].reason == "safety"
    assert any("from 6 to 9 since your last assessment" in s and "warning sign" in s for s in _said(reply))


def test_a_new_assessment_in_the_session_measures_from_its_own_check_in(library, vocabulary):
    from voicecoach.core.checkins import CheckIns
    from voicecoach.core.program import Question
    checks = CheckIns(vocabulary, since_assessment=(2,))
    q = Question("How bad?", "pain", {}, "check-in/pain1")
    assert checks.answer(q, "score:4", "four", []) is None
    checks.assessed()  # the assessment of this session found its direction
    assert checks.since_assessment == [4]
    checks.cleared()
    assert checks.since_assessment == []
    assert CheckIns(vocabulary).answer(q, "score:9", "nine", []) is None  # never assessed: nothing to compare


def _resumed_assessment(library, vocabulary, store):
    """The next session, resuming the interrupted one (``voicecoach resume``)."""
    store.session_id = None
    point = store.resume_point()
    assert point is not None and point.routine == "assessment"
    coach = Coach(library, vocabulary, FakeClock().now, disclaimer=False,
                  history=plan.HistoryFacts(resume=point), resume_now=True)
    return coach, point


def _answer_to_rating(coach, reply, clock_of=None):
    """Let time pass to the next question; answer the movement check "stayed"."""
    for _ in range(50):
        wait = next((a for a in reply if isinstance(a, ev.Wait)), None)
        if wait is None:
            if reply[-1].context == "movement":
                reply = coach.handle(ev.Heard("moved:stayed"))
                continue
            return reply
        coach.now = lambda t=wait.until: t
        reply = coach.handle(ev.Tick())
    raise AssertionError("no rating")


def test_a_resumed_assessment_remembers_the_pain_said_before_the_interruption(library, vocabulary):
    """Found by scripts/explore_method.py: pain in knees to chest, Ctrl-C, "voicecoach resume",
    the position again and "better" chose flexion (the resumed session had forgotten the pain)."""
    store = _store([("answer", {"question": "menu", "intent": "start:assessment"}), ("routine", {"routine": "assessment"}),
                    ("step", {"routine": "assessment", "block": 2, "title": "Knees to chest"}),
                    ("pain", {"intent": "pain"}), ("hurt", {"routine": "assessment", "position": "knees-to-chest",
                                                            "moved_down": False}),
                    ("interrupted", {"by": "Ctrl-C"})])
    coach, point = _resumed_assessment(library, vocabulary, store)
    assert point.hurt == (("assessment", "knees-to-chest", False),)
    reply = _answer_to_rating(coach, coach.start())
    assert reply[-1].context == "rating"
    reply = coach.handle(ev.Heard("better"))
    assert not [a for a in reply if isinstance(a, ev.Record) and a.kind == "result"]


def _assessment_until(library, vocabulary, there):
    """A coach walked through the assessment on its own clock until ``there(coach, reply)``."""
    coach = Coach(library, vocabulary, FakeClock().now, routine="assessment", disclaimer=False)
    reply = coach.start()
    while not there(coach, reply):
        wait = next(a for a in reply if isinstance(a, ev.Wait))
        coach.now = lambda t=wait.until: t
        reply = coach.handle(ev.Tick())
    return coach


def test_pain_in_a_test_position_is_kept_in_the_history(library, vocabulary):
    coach = _assessment_until(library, vocabulary, lambda c, reply: c.mode.name == "HOLDING")
    reply = coach.handle(ev.Heard("pain"))
    assert [a.data for a in reply if isinstance(a, ev.Record) and a.kind == "hurt"] == [
        {"routine": "assessment", "position": "knees-to-chest", "moved_down": False, "direction": "flexion"}]


def test_my_routine_counts_the_interrupted_part_of_a_resumed_assessment(library, vocabulary):
    """Flexion found worse, Ctrl-C; resumed, only arching rated: the assessment (both parts)
    found flexion worse, so "my routine" is not flexion even if an older one chose it."""
    store = _store([("result", {"preference": "flexion"}), ("end", {"reason": "done"})],
                   [("answer", {"question": "assessment/8", "direction": "flexion", "counted": "worse", "intent": "worse"}),
                    ("step", {"routine": "assessment", "block": 9, "title": "Lying on your stomach"}),
                    ("interrupted", {"by": "Ctrl-C"})])
    store.session_id = None
    interrupted = store.resume_point().session
    store.begin_session(None)
    store.record("resumed", {"session": interrupted, "block": 9})
    store.record("answer", {"question": "assessment/23", "direction": "extension", "counted": "same", "intent": "same"})
    store.record("interrupted", {"by": "Ctrl-C"})
    assert plan.worse_directions(store) == {"flexion"}
    assert plan.my_routine(store, library.routines) == "full-program"


def test_my_routine_is_not_a_direction_whose_position_hurt_in_the_last_assessment(library, vocabulary):
    """Found by scripts/explore_method.py: flexion rated worse, then pain lying on the stomach
    and the session stopped before its rating; "my routine" ran the older extension."""
    store = _store([("result", {"preference": "extension"}), ("end", {"reason": "done"})],
                   [("answer", {"question": "assessment/8", "direction": "flexion", "counted": "worse", "intent": "better"}),
                    ("hurt", {"routine": "assessment", "position": "prone-lying", "moved_down": False,
                              "direction": "extension"}), ("end", {"reason": "stopped"})])
    assert plan.worse_directions(store) == {"flexion", "extension"}
    assert plan.my_routine(store, library.routines) == "full-program"


def test_the_hurt_record_names_the_direction_its_rating_tests(library, vocabulary):
    coach = _assessment_until(library, vocabulary,
                              lambda c, reply: isinstance(reply[-1], ev.Listen) and reply[-1].context == "movement")
    reply = coach.handle(ev.Heard("moved:down"))
    assert [a.data for a in reply if isinstance(a, ev.Record) and a.kind == "hurt"] == [
        {"routine": "assessment", "position": "knees-to-chest", "moved_down": True, "direction": "flexion"}]


def test_the_series_baseline_survives_a_resumed_session_stopped_before_its_check_in(library, vocabulary):
    """Found by scripts/explore_method.py: knee at the check-in of an interrupted session; it was
    resumed and stopped before the closing check-in (measured nothing); the next session said
    calf and went on (its resume point was an older session, without that check-in)."""
    store = _store([("answer", {"question": "menu", "intent": "start:flexion"}), _pain(5),
                    ("check", {"kind": "location", "value": "knee", "phase": "before"}),
                    ("step", {"routine": "flexion", "block": 2, "title": "x"}), ("interrupted", {})])
    store.session_id = None
    point = store.resume_point()
    store.begin_session(None)
    store.record("resumed", {"session": point.session, "block": 2})
    store.record("end", {"reason": "stopped"})
    store.session_id = None
    assert store.resume_point() is None  # nothing left to resume
    assert store.series_baseline() == {"pain": "5", "location": "knee"}
    coach = Coach(library, vocabulary, FakeClock().now, routine="hip-stretches", checkins=True, disclaimer=False,
                  history=plan.HistoryFacts(baseline=store.series_baseline()))
    _to_pain(coach)
    coach.handle(ev.Heard("score:5"))
    reply = coach.handle(ev.Heard("location:calf"))
    assert isinstance(reply[-1], ev.End) and reply[-1].reason == "safety"
