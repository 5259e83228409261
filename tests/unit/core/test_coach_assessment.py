"""Every branch of the assessment and the full program, through the pure coach."""

from voicecoach.core import events as ev


def test_better_after_flexion_leads_to_flexion_then_stretches_and_glides(play):
    p = play("full-program", ["moved:stayed", "better"])
    assert p.reason == "done"
    assert p.recorder.kinds("result") == [{"preference": "flexion"}]
    routines = [d["routine"] for d in p.recorder.kinds("routine")]
    assert routines == ["full-program", "assessment", "flexion", "hip-stretches", "nerve-glides"]
    assert "extension" not in routines
    assert "That is the whole program" in p.speaker.said[-1]


def test_worse_then_better_leads_to_extension(play):
    p = play("full-program", ["moved:stayed", "worse", "moved:stayed", "better"])
    routines = [d["routine"] for d in p.recorder.kinds("routine")]
    assert routines == ["full-program", "assessment", "extension", "hip-stretches", "nerve-glides"]
    assert p.recorder.kinds("result") == [{"preference": "extension"}]


def test_same_then_elbows_better_leads_to_extension(play):
    p = play("full-program", ["moved:stayed", "same", "moved:stayed", "same", "moved:stayed", "better"])
    assert p.recorder.kinds("result") == [{"preference": "extension"}]
    assert "Propped on your elbows" in p.text


def test_worse_to_everything_stops_and_advises_a_clinician(play):
    p = play("full-program", ["moved:stayed", "worse", "moved:stayed", "worse", "moved:stayed", "worse"])
    assert p.reason == "safety"
    assert "talk to a doctor or physiotherapist" in p.speaker.said[-1]
    routines = [d["routine"] for d in p.recorder.kinds("routine")]
    assert "hip-stretches" not in routines and "nerve-glides" not in routines


def test_worse_flexion_same_prone_worse_elbows_is_both_directions_worse(play):
    p = play("assessment", ["moved:stayed", "worse", "moved:stayed", "same", "moved:stayed", "worse"])
    assert p.reason == "safety"


def test_no_clear_direction_can_repeat_the_trials(play):
    p = play("assessment", ["moved:stayed", "same", "moved:stayed", "same", "moved:stayed", "same", "yes", "moved:stayed", "better"])
    assert p.text.count("Knees to chest.") == 2
    assert p.recorder.kinds("result") == [{"preference": "flexion"}]


def test_no_clear_direction_records_none_and_skips_the_preferred_routine(play):
    p = play("full-program", ["moved:stayed", "same", "moved:stayed", "same", "moved:stayed", "same", "no"])
    assert p.recorder.kinds("result") == [{"preference": "none"}]
    routines = [d["routine"] for d in p.recorder.kinds("routine")]
    assert routines == ["full-program", "assessment", "hip-stretches", "nerve-glides"]


def test_flexion_hold_is_within_the_sources_30_to_60_seconds(play):
    p = play("assessment", ["moved:stayed", "better"])
    holds = p.recorder.kinds("hold")
    assert holds and all(30 <= h["planned_s"] <= 60 and h["completed"] for h in holds)


def test_safety_screen_yes_ends_with_urgent_care(play):
    p = play("hip-stretches", ["no", "yes"], screen=True)
    assert p.reason == "safety"
    assert "urgent medical care" in p.speaker.said[-1]
    assert not p.recorder.kinds("screen_passed")


def test_safety_screen_passed_is_recorded_once(play):
    p = play("assessment", ["no", "no", "no", "no", "moved:stayed", "better"], screen=True)
    assert p.recorder.kinds("screen_passed") == [{}]
    assert p.reason == "done"


def test_whole_program_takes_minutes_of_the_injected_clock(play):
    """The core never sleeps: the whole program runs on the fake clock, which moves by minutes."""
    p = play("full-program", ["moved:stayed", "better"], seconds_per_word=0.35)
    assert p.clock.now() > 10 * 60


def test_menu_starts_a_routine_by_name(play):
    p = play(None, ["start:hip-stretches"])
    assert p.listener.contexts[0] == "menu"
    assert "Which routine would you like?" in p.text
    assert [d["routine"] for d in p.recorder.kinds("routine")] == ["hip-stretches"]


def test_each_reply_ends_with_something_to_wait_for(library, vocabulary):
    from voicecoach.core.coach import Coach
    from tests.support.fakes import FakeClock
    clock = FakeClock()
    coach = Coach(library, vocabulary, clock.now, routine="hip-stretches")
    actions = coach.start()
    for _ in range(500):
        last = actions[-1]
        assert isinstance(last, (ev.Listen, ev.End)), actions
        if isinstance(last, ev.End):
            break
        wait = next((a for a in actions if isinstance(a, ev.Wait)), None)
        assert wait is not None  # hip stretches asks nothing: always a timed wait
        clock.t = wait.until
        actions = coach.handle(ev.Tick())
    assert isinstance(actions[-1], ev.End)
