"""Barge-in as the session sees it: a word said over a sentence and acted on (the speaker's
``take_interruption``) is handled as if said in silence, and the rest of that batch's speech
is not said."""

import pytest

from voicecoach.core.coach import GO_ON, Coach
from voicecoach.core.events import Heard
from voicecoach.session.loop import Session

from tests.support.fakes import FakeClock, FakeSpeaker, ListRecorder, ScriptedListener, ScriptExhausted


class InterruptedSpeaker(FakeSpeaker):
    """Someone says ``intent`` over the first sentence containing ``trigger``."""

    def __init__(self, clock, trigger: str, intent: str):
        super().__init__(clock)
        self.trigger, self.intent, self._pending = trigger, intent, None

    def say(self, text: str) -> None:
        super().say(text)
        if self.trigger and self.trigger in text:
            self.trigger, self._pending = "", Heard(self.intent, self.intent)

    def take_interruption(self):
        event, self._pending = self._pending, None
        return event


def test_stop_said_over_the_hold_instruction_ends_the_hold_and_asks_to_go_on(library, vocabulary):
    clock = FakeClock()
    speaker = InterruptedSpeaker(clock, "Hold for", "stop")
    listener = ScriptedListener(clock, speaker, ["no"])
    recorder = ListRecorder()
    coach = Coach(library, vocabulary, clock.now, routine="hip-stretches")
    assert Session(coach, speaker, listener, clock, recorder=recorder).run() == "stopped"
    said = speaker.said
    cut = next(i for i, s in enumerate(said) if "Hold for" in s)
    assert said[cut + 1] == "Stopping. Relax." and GO_ON in said
    holds = recorder.kinds("hold")
    assert holds and not holds[0]["completed"]  # the hold it interrupted was not held


def test_pain_said_over_a_question_is_acted_on_and_the_question_comes_back(library, vocabulary):
    clock = FakeClock()
    question = "or stay where they were?"
    speaker = InterruptedSpeaker(clock, question, "pain")
    listener = ScriptedListener(clock, speaker, ["yes"])  # then the script ends: enough for this test
    coach = Coach(library, vocabulary, clock.now, routine="assessment")
    with pytest.raises(ScriptExhausted):
        Session(coach, speaker, listener, clock, recorder=ListRecorder()).run()
    said = speaker.said
    first = next(i for i, s in enumerate(said) if question in s)
    assert said[first + 1] == "Okay, we'll stop for a moment. Relax." and said[first + 2] == GO_ON
    assert question in said[-1]  # back at exactly the question it was asking  # asked again after "yes"
