"""The one view model, driven by the real coach through the session with fake devices.

Every time the coach starts a sentence or starts listening, the view state is checked
against what the coach is really doing: never "paused" while it asks a question, never
the previous question's options, "resume" offered while paused, and a rejected answer
shown with its words."""

from __future__ import annotations

from voicecoach.core import events as ev
from voicecoach.core.coach import Coach, Mode
from voicecoach.session.loop import Session
from voicecoach.views.model import HOLD_HINT, ViewModel, ViewState, pictures_of, update
from voicecoach.hearing.listener import VoiceListener

from tests.support.fakes import FakeClock, Interrupt, ListRecorder, ProbingListener, ProbingSpeaker


class Watched:
    """A session whose view state is checked at every sentence and every listen."""

    def __init__(self, library, vocabulary, routine, answers=(), interrupts=(), **kw):
        self.clock = FakeClock()
        self.coach = Coach(library, vocabulary, self.clock.now, routine=routine, disclaimer=False, **kw)
        names = {rid: r.name for rid, r in library.routines.items()}
        self.model = ViewModel(self.coach.vocab, names, pictures_of(library))
        self.problems: list[str] = []
        self.seen: list[tuple[str, object, ViewState]] = []
        speaker = ProbingSpeaker(self.clock, self.probe)
        listener = ProbingListener(self.clock, speaker, answers, interrupts, probe=self.probe)
        self.reason = Session(self.coach, speaker, listener, self.clock, recorder=ListRecorder(),
                              display=self.model).run()

    def probe(self, what, arg) -> None:
        s, vocab = self.model.state, self.coach.vocab
        self.seen.append((what, arg, s))
        if what == "say":
            if not (s.talking and s.caption == arg and s.listening_for is None):
                self.problems.append(f"saying {arg!r}: screen shows {s}")
            return
        intents, context, timeout = arg
        paused = self.coach.mode is Mode.PAUSED
        if s.talking or s.paused != paused:
            self.problems.append(f"listening ({context}, paused={paused}): screen shows {s}")
        if paused and "resume" not in (s.listening_for or ""):
            self.problems.append(f"paused without 'resume' on screen: {s.listening_for!r}")
        if context != "exercise" and s.listening_for != vocab.hint(context, intents):
            self.problems.append(f"asking ({context}): screen listens for {s.listening_for!r}")
        if context == "exercise" and not paused and s.listening_for != HOLD_HINT:
            self.problems.append(f"holding: screen listens for {s.listening_for!r}")

    def states_at(self, what: str, text: str) -> list[ViewState]:
        return [s for w, arg, s in self.seen if w == what and text in str(arg)]


def test_resumed_question_is_not_shown_paused_and_offers_its_answers(library, vocabulary):
    """Two silences at the pain score pause the coach; "resume" asks the number again:
    the screen must not say PAUSED then (it kept saying 'PAUSED - say resume')."""
    w = Watched(library, vocabulary, "hip-stretches", checkins=True,
                answers=[None, None, "resume"] + ["skip"] * 6)
    assert w.reason == "done" and not w.problems, w.problems[:3]
    paused = [s for what, arg, s in w.seen if what == "listen" and s.paused]
    assert paused and all("resume" in s.listening_for for s in paused)
    asked_again = [s for what, arg, s in w.seen if what == "listen" and arg[1] == "pain"]
    assert len(asked_again) >= 2 and not asked_again[1].paused
    assert asked_again[1].listening_for == "a number from zero to ten, or skip"


def test_after_an_answer_the_old_options_are_gone(library, vocabulary):
    w = Watched(library, vocabulary, "assessment", answers=["moved:stayed", "better"])
    assert not w.problems, w.problems[:3]
    after = w.states_at("say", "Good. Bending your back eased your pain.")
    assert after and after[0].listening_for is None and after[0].heard_line() == '"better" -> better'


def test_a_rejected_answer_is_shown_with_its_words(library, vocabulary):
    w = Watched(library, vocabulary, "assessment", answers=["moved:stayed", "?a latte please", "better"])
    assert not w.problems, w.problems[:3]
    reask = w.states_at("say", "Sorry, I didn't catch that.")
    assert reask and reask[0].heard_line() == '"a latte please": not understood'


def test_pause_and_resume_in_a_hold_keep_the_screen_current(library, vocabulary):
    w = Watched(library, vocabulary, "hip-stretches", answers=["resume"],
                interrupts=[Interrupt("Number 2 of 3. Hold", "pause", 3.0)])
    assert w.reason == "done" and not w.problems, w.problems[:3]
    resumed = w.states_at("say", "Resuming.")
    assert resumed and not resumed[0].paused
    final = w.model.state
    assert final.ended == "done" and final.listening_for is None and not final.paused


def test_a_hold_shows_its_picture_and_a_routine_without_pictures_still_runs(library, vocabulary):
    w = Watched(library, vocabulary, "hip-stretches")
    shown = {s.picture for _, _, s in w.seen if s.step == "Figure-4 stretch"}
    assert shown == {"figure-4.svg"}
    bare = ViewModel(vocabulary, {}, pictures={})
    bare.show(ev.Show("hip-stretches", "Figure-4 stretch", "left", 1, 3, 20.0, 20.0))
    assert bare.state.picture is None and bare.snapshot(10.0)["seconds_left"] == 10.0


def test_talked_over_is_shown_differently_from_silence(vocabulary):
    s = update(ViewState(), ev.TalkedOver(), vocabulary, {})
    assert "say it again" in s.heard_line()
    assert update(ViewState(), ev.Silence(), vocabulary, {}).heard_line() == "(silence)"


def test_a_rejected_utterance_keeps_its_words_on_the_way_to_the_coach():
    from voicecoach.hearing.pipeline import HeardUtterance
    rejected = HeardUtterance(0.0, 1.0, None, "a latte please", -30.0, 0.0, 5.0, 300.0, "low confidence")
    assert VoiceListener._event(rejected, ("better",)) == ev.NotUnderstood("a latte please")


def test_every_shipped_exercise_has_its_picture_and_a_missing_one_is_an_error_at_its_line(library, tmp_path):
    from voicecoach.content.loader import routine_errors
    from voicecoach.content.routine import find_picture
    for routine in library.routines.values():
        for ex in routine.exercises.values():
            assert ex.picture and find_picture(ex.picture), ex.name
    text = ("name: calves\nexercises:\n  calf:\n    name: Calf stretch\n    picture: {}\n"
            "    instructions: Stand facing a wall.\n    hold_s: 20\nsteps:\n  - do: calf\n")
    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "calf.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "good.yaml").write_text(text.format("calf.svg"))
    (tmp_path / "bad.yaml").write_text(text.format("calves.svg"))
    (tmp_path / "none.yaml").write_text(text.replace("    picture: {}\n", ""))
    assert routine_errors(str(tmp_path / "good.yaml")).exercises["calf"].picture == "calf.svg"
    assert routine_errors(str(tmp_path / "none.yaml")).exercises["calf"].picture is None
    (err,) = routine_errors(str(tmp_path / "bad.yaml"))
    assert err.line == 5 and "no picture 'calves.svg'" in str(err.message)
