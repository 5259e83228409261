"""Commands at any time: pause, resume, repeat, skip, back, stop, pain, time left, help."""

from voicecoach.core import events as ev

from tests.support.fakes import Interrupt


def test_pause_during_a_hold_keeps_the_time_left_in_it(play):
    p = play("assessment", ["resume", "moved:stayed", "better"], [Interrupt("Hold for 45 seconds", "pause", 10)])
    assert "Paused. Say resume when you're ready." in p.speaker.said
    assert "Hold for 35 seconds more" in p.text
    hold = p.recorder.kinds("hold")[-1]
    assert hold["completed"]


def test_pain_during_a_hold_ends_it_at_once_and_asks_to_go_on(play):
    p = play("hip-stretches", ["no"], [Interrupt("Hold for 20 seconds", "pain", 3)])
    holds = p.recorder.kinds("hold")
    assert holds[-1]["completed"] is False and holds[-1]["held_s"] == 3
    assert "Stop there. Ease out of the position slowly" in p.text
    assert "Do you want to go on with the session?" in p.text
    assert p.reason == "stopped"
    assert "contact a doctor or physiotherapist" in p.speaker.said[-1]
    assert "Three." not in p.text  # the countdown never ran


def test_stop_then_yes_moves_on_to_the_next_side(play):
    p = play("hip-stretches", ["yes"], [Interrupt("Hold for 20 seconds", "stop", 2)])
    assert p.reason == "done"
    after = p.text.split("Okay, let's go on.")[1]
    assert after.lstrip().startswith("Knee to opposite shoulder, right side.")


def test_worse_during_a_hold_is_treated_as_pain(play):
    p = play("hip-stretches", ["no"], [Interrupt("Hold for 20 seconds", "worse", 1)])
    assert p.reason == "stopped"
    assert p.recorder.kinds("pain") == [{"intent": "worse"}]


def test_stop_twice_ends_the_session(play):
    p = play("hip-stretches", ["stop"], [Interrupt("Hold for 20 seconds", "stop", 1)])
    assert p.reason == "stopped"


def test_two_silences_pause_and_resume_asks_again(play):
    p = play("assessment", ["moved:stayed", None, None, "resume", "better"])
    said = p.speaker.said
    assert any(s.startswith("I didn't hear an answer. Please say better, worse, or the same") for s in said)
    assert "I'll pause here. Say resume when you're ready." in said
    i = said.index("I'll pause here. Say resume when you're ready.")
    assert said[i + 1].endswith("is your leg pain better, worse, or the same?")
    assert p.recorder.kinds("result") == [{"preference": "flexion"}]


def test_not_understood_reprompts_with_the_options_and_never_guesses(play):
    p = play("assessment", ["moved:stayed", "?a large latte please", "?oat milk", "resume", "same", "moved:stayed", "same", "moved:stayed", "same", "no"])
    assert "Sorry, I didn't catch that. Please say better, worse, or the same." in p.speaker.said
    assert p.recorder.kinds("answer")[0]["intent"] == "same"


def test_silence_during_the_stop_question_pauses_rather_than_guessing(play):
    p = play("hip-stretches", [None, None, "resume", "no"], [Interrupt("Hold for 20 seconds", "stop", 1)])
    assert "I'll pause here. Say resume when you're ready." in p.speaker.said
    assert p.reason == "stopped"


def test_skip_cannot_skip_a_branching_question(play):
    p = play("assessment", ["moved:stayed", "skip", "better"])
    assert "I need an answer to go on. Please say better, worse, or the same." in p.speaker.said
    assert p.recorder.kinds("result") == [{"preference": "flexion"}]


def test_skip_during_a_hold_moves_to_the_next_side(play):
    p = play("hip-stretches", [], [Interrupt("Hold for 20 seconds", "skip", 2)])
    assert p.reason == "done"
    assert p.text.count("Knee to opposite shoulder, left side.") == 1
    assert "Skipping.\nKnee to opposite shoulder, right side." in p.text


def test_back_goes_to_the_previous_exercise(play):
    p = play("hip-stretches", [], [Interrupt("Figure-4 stretch, left side", "back", 1)])
    assert p.text.count("Knee to opposite shoulder, right side.") == 2
    assert p.reason == "done"


def test_time_left_during_a_hold(play):
    p = play("hip-stretches", [], [Interrupt("Hold for 20 seconds", "time_left", 5)])
    line = next(s for s in p.speaker.said if "left in this hold" in s)
    assert line.startswith("15 seconds left in this hold. About ")
    assert "minutes left in this session" in line


def test_help_names_the_options_in_a_question(play):
    p = play("assessment", ["moved:stayed", "help", "better"])
    assert any(s.startswith("To answer, say better, worse, or the same. You can say pause") for s in p.speaker.said)


def test_repeat_repeats_the_question(play):
    p = play("assessment", ["moved:stayed", "repeat", "better"])
    q = "Now, compared with before, is your leg pain better, worse, or the same?"
    assert p.speaker.said.count(q) == 2


def test_pause_during_rest_and_resume(play):
    p = play("hip-stretches", ["resume"], [Interrupt("And relax.", "pause", 1)])
    assert "Paused. Say resume when you're ready." in p.speaker.said
    assert "Resuming." in p.speaker.said
    assert p.reason == "done"


def test_background_talk_during_a_hold_is_ignored(library, vocabulary):
    from voicecoach.core.coach import Coach
    from tests.support.fakes import FakeClock
    clock = FakeClock()
    coach = Coach(library, vocabulary, clock.now, routine="hip-stretches", disclaimer=False)
    actions = coach.start()
    while not any(isinstance(a, ev.Say) and a.text.startswith("Hold for") for a in actions):
        clock.t = next(a for a in actions if isinstance(a, ev.Wait)).until
        actions = coach.handle(ev.Tick())
    reply = coach.handle(ev.NotUnderstood("and then I said to him"))
    assert not any(isinstance(a, ev.Say) for a in reply)
    assert isinstance(reply[0], ev.Wait)
