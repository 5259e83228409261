"""Words heard unsurely as an answer: "Did you say five?", taken only on a heard yes."""


def test_a_score_heard_unsurely_is_asked_about_and_taken_on_yes(play):
    p = play("hip-stretches", ["?Bye.~score:5", "yes", "location:thigh", "score:4", "location:thigh"], checkins=True)
    assert p.reason == "done"
    assert "Did you say five?" in p.speaker.said
    assert [d["value"] for d in p.recorder.kinds("check")][:2] == ["5", "thigh"]
    assert p.listener.contexts[:3] == ["pain", "yesno", "location"]


def test_no_to_the_guess_asks_the_question_again_and_nothing_is_taken(play):
    p = play("hip-stretches", ["?Bye.~score:5", "no", "score:6", "location:thigh", "score:6", "location:thigh"],
             checkins=True)
    assert p.reason == "done"
    i = p.speaker.said.index("Did you say five?")
    assert p.speaker.said[i + 1].startswith("Sorry, my mistake. Please say")
    assert [d["value"] for d in p.recorder.kinds("check")][0] == "6"


def test_a_branch_answer_is_asked_about_and_recorded_as_confirmed(play):
    p = play("assessment", ["moved:stayed", "?Letter.~better", "yes", "moved:stayed", "better"])
    answers = [d for d in p.recorder.kinds("answer") if d.get("intent") == "better"]
    assert answers[0].get("confirmed") is True and answers[0]["text"] == "Letter."
    assert "Did you say better?" in p.speaker.said


def test_a_command_is_never_asked_about(play):
    p = play("hip-stretches", ["?Paws.~pause", "score:3", "location:back", "score:3", "location:back"],
             checkins=True)
    assert not any(s.startswith("Did you say") for s in p.speaker.said)
    assert any(s.startswith("Sorry, I didn't catch that.") for s in p.speaker.said)


def test_unclear_twice_still_pauses_and_a_second_guess_is_not_asked_about(play):
    # asked about, then not understood (a failed answer: the question again, no new guess asked
    # about from that reply), then not understood again: the coach pauses
    p = play("hip-stretches", ["?Bye.~score:5", "?mumble~yes", "?mumble", "resume", "score:2", "location:back",
                               "score:2", "location:back"], checkins=True)
    assert p.speaker.said.count("Did you say five?") == 1
    assert "I'll pause here. Say resume when you're ready." in p.speaker.said


def test_stop_while_asked_about_a_guess_asks_whether_to_go_on(play):
    p = play("hip-stretches", ["?Bye.~score:5", "stop", "yes", "score:5", "location:back", "score:5",
                               "location:back"], checkins=True)
    i = p.speaker.said.index("Did you say five?")
    assert "Do you want to go on with the session?" in p.speaker.said[i + 1:i + 3]
    assert [d["value"] for d in p.recorder.kinds("check")][0] == "5"
