"""How the assessment chooses a direction: only from a position held to the end (issue 22)."""

from voicecoach.core import events as ev
from voicecoach.core.coach import Coach
from voicecoach.core.program import Question

from tests.support.fakes import FakeClock


class Driver:
    """Drives the pure coach: ``hear`` an intent, ``to_question`` lets time pass."""

    def __init__(self, library, vocabulary, routine="assessment", **kw):
        self.clock = FakeClock()
        self.coach = Coach(library, vocabulary, self.clock.now, routine=routine, disclaimer=False, **kw)
        self.reply = self.coach.start()
        self.said: list[str] = []
        self.records: list[tuple[str, dict]] = []
        self._keep(self.reply)

    def _keep(self, reply):
        self.reply = reply
        self.said += [a.text for a in reply if isinstance(a, ev.Say)]
        self.records += [(a.kind, a.data) for a in reply if isinstance(a, ev.Record)]

    def hear(self, intent):
        self._keep(self.coach.handle(ev.Heard(intent)))
        return self

    def tick(self):
        wait = next(a for a in self.reply if isinstance(a, ev.Wait))
        self.clock.t = max(self.clock.t, wait.until)
        self._keep(self.coach.handle(ev.Tick()))
        return self

    def in_hold(self):
        while self.coach.mode.name != "HOLDING":
            self.tick()
        return self

    def to_question(self):
        while any(isinstance(a, ev.Wait) for a in self.reply):
            self.tick()
        return self

    def question(self) -> Question:
        return self.coach.program[self.coach.pc]

    def results(self):
        return [d["preference"] for k, d in self.records if k == "result"]


def test_pain_in_knees_to_chest_then_better_does_not_choose_flexion(library, vocabulary):
    d = Driver(library, vocabulary).in_hold().hear("pain").hear("yes").to_question()
    assert d.question().context == "movement"
    d.hear("moved:stayed")
    assert d.question().tests == "knees-to-chest"
    d.hear("better")
    assert "flexion" not in d.results()
    assert any("pain in that position" in s for s in d.said)
    assert [r for k, r in d.records if k == "answer"][-1]["counted"] == "worse"  # evidence against
    assert d.coach.current_block.exercise == "prone-lying"  # on to arching (after worse)


def test_stop_in_knees_to_chest_then_better_is_not_a_test(library, vocabulary):
    d = Driver(library, vocabulary).in_hold().hear("stop").hear("yes").to_question().hear("moved:stayed")
    d.hear("better")
    assert d.results() == []
    assert any("does not count as a test" in s for s in d.said)
    assert [r for k, r in d.records if k == "answer"][-1]["counted"] == "same"


def test_skipped_position_cannot_choose_its_direction(library, vocabulary):
    d = Driver(library, vocabulary).in_hold().hear("skip").to_question().hear("moved:stayed").hear("better")
    assert d.results() == []


def test_symptoms_moving_down_the_leg_count_as_worse_whatever_the_rating(library, vocabulary):
    d = Driver(library, vocabulary).to_question().hear("moved:down").hear("better")
    assert d.results() == []
    assert [r for k, r in d.records if k == "answer"][-1]["counted"] == "worse"
    # arching worse too: both directions made the leg worse, a safety stop
    d.to_question().hear("moved:stayed").hear("same").to_question().hear("moved:stayed").hear("worse")
    assert d.coach.mode.name == "ENDED" and any("Both bending and arching" in s for s in d.said)


def test_a_position_held_to_the_end_still_chooses_its_direction(library, vocabulary):
    d = Driver(library, vocabulary).to_question().hear("moved:stayed").hear("better")
    assert d.results() == ["flexion"]


def test_back_from_the_next_position_guides_into_the_position_it_asks_about(library, vocabulary):
    d = Driver(library, vocabulary).to_question().hear("moved:stayed").hear("same")
    d.in_hold()
    assert d.coach.current_block.exercise == "prone-lying"
    d.hear("back")
    assert d.coach.current_block.exercise == "knees-to-chest"  # not "how did knees to chest feel?"
    assert d.said[-1].startswith("Knees to chest.")
    d.to_question().hear("moved:stayed")
    assert d.question().tests == "knees-to-chest"


def test_pain_at_the_questions_about_a_position_counts_against_it(library, vocabulary):
    """Found by scripts/explore_method.py: "pain" said at "did the symptoms move?" after knees
    to chest, then "yes" to go on, "stayed" and "better", chose flexion."""
    d = Driver(library, vocabulary).to_question()
    assert d.question().context == "movement"
    d.hear("pain").hear("yes").hear("moved:stayed")
    assert d.question().tests == "knees-to-chest"
    d.hear("better")
    assert "flexion" not in d.results()
    assert [r for k, r in d.records if k == "answer"][-1]["counted"] == "worse"


def test_pain_at_the_stop_question_over_a_rating_counts_against_its_position(library, vocabulary):
    d = Driver(library, vocabulary).to_question().hear("moved:stayed")
    d.hear("stop").hear("pain").hear("yes").hear("better")
    assert "flexion" not in d.results()
