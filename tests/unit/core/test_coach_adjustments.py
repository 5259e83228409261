"""Spoken adjustments during an exercise: longer/shorter holds, slower/faster pace."""

from voicecoach.core.program import Tuning

from tests.support.fakes import Interrupt


def hold_lengths(p, exercise):
    return [h["planned_s"] for h in p.recorder.kinds("hold") if h["exercise"] == exercise]


def test_longer_makes_the_next_holds_of_this_exercise_longer(play):
    p = play("hip-stretches", [], [Interrupt("Knee to opposite shoulder, left side.", "longer", 1)])
    assert "Okay. Holds of 25 seconds from the next one." in p.speaker.said
    assert hold_lengths(p, "knee-to-shoulder") == [25] * 6  # said while getting into position
    assert hold_lengths(p, "figure-4") == [20] * 6          # other exercises keep theirs
    assert p.coach.adjustments == {"exercise.hip-stretches.knee-to-shoulder.hold": 25}
    assert p.recorder.kinds("adjust") == [{"key": "exercise.hip-stretches.knee-to-shoulder.hold", "value": 25}]


def test_during_a_hold_the_change_starts_with_the_next_one(play):
    p = play("hip-stretches", [], [Interrupt("Hold for 20 seconds", "shorter", 2)])
    assert hold_lengths(p, "knee-to-shoulder") == [20, 15, 15, 15, 15, 15]


def test_holds_stay_within_the_routines_range(play):
    p = play("hip-stretches", [], [Interrupt("Knee to opposite shoulder, left side.", "longer", 1),
                                   Interrupt("Holds of 25 seconds", "longer", 1),
                                   Interrupt("Holds of 30 seconds", "longer", 1)])
    assert "That is already the longest hold for this exercise: 30 seconds." in p.speaker.said
    assert max(hold_lengths(p, "knee-to-shoulder")) == 30  # the routine allows 15 to 30


def test_saved_tuning_is_where_the_next_session_starts(play):
    p = play("hip-stretches", [], tuning=Tuning(hold_s={"hip-stretches.figure-4": 30}))
    assert hold_lengths(p, "figure-4") == [30] * 6
    assert "Hold for 30 seconds." in p.speaker.said


def test_slower_lengthens_each_paced_repetition(play):
    fast = play("nerve-glides")
    slow = play("nerve-glides", [], [Interrupt("slow repetitions", "slower", 0.5)])
    assert "Okay, slower: 5 seconds a repetition." in slow.speaker.said
    assert slow.clock.t - fast.clock.t > 12 * 2 * 0.9  # 12 reps a side, a second more each
    assert slow.coach.adjustments == {"exercise.nerve-glides.nerve-glide.tempo": 5.0}


def test_pace_words_on_a_held_exercise_explain_instead_of_guessing(play):
    p = play("hip-stretches", [], [Interrupt("Hold for 20 seconds", "faster", 1)])
    assert "This exercise is held, not paced. Say longer or shorter to change the holds." in p.speaker.said
    assert p.coach.adjustments == {}
