"""Drive the pure coach with real (or fake) devices: the only loop in the program.

It performs the coach's actions through the Speaker/Listener/Clock ports and turns
what happens back into events. Nothing here decides anything about exercises.
"""

from __future__ import annotations

from voicecoach.core import events as ev
from voicecoach.core.coach import Coach
from voicecoach.session.faults import LOST_MICROPHONE, LOST_SPEAKER, MICROPHONE_BACK, DeviceLost, Recovery, ReopeningListener
from voicecoach.core.ports import Clock, Display, Listener, Recorder, Speaker


class Session:
    """``recovery``: what to fall back to when a device is lost (see ``faults.py``);
    without it a :class:`DeviceLost` ends the run (the caller reports it)."""

    def __init__(self, coach: Coach, speaker: Speaker, listener: Listener, clock: Clock,
                 recorder: Recorder | None = None, display: Display | None = None,
                 recovery: Recovery | None = None):
        self.coach, self.speaker, self.listener, self.clock = coach, speaker, listener, clock
        self.recorder, self.display, self.recovery = recorder, display, recovery

    def run(self) -> str:
        """Play the session to its end; return the end reason ('done', 'stopped', 'safety')."""
        actions = self.coach.start()
        while True:
            listen: ev.Listen | None = None
            wait: ev.Wait | None = None
            barged: ev.Event | None = None  # said over the coach and acted on (barge-in)
            for action in actions:
                if barged is not None and isinstance(action, (ev.Say, ev.Cue)):
                    continue  # interrupted: the rest of what it was saying is not said
                if self.display:
                    self.display.show(action)
                if isinstance(action, ev.Say):
                    self._speak(lambda: self.speaker.say(action.text), action.text)
                    barged = self._interruption()
                elif isinstance(action, ev.Cue):
                    self._speak(lambda: self.speaker.cue(action.name), None)
                    barged = self._interruption()
                elif isinstance(action, ev.Record) and self.recorder:
                    self.recorder.record(action.kind, action.data)
                elif isinstance(action, ev.Listen):
                    listen = action
                elif isinstance(action, ev.Wait):
                    wait = action
                elif isinstance(action, ev.End):
                    return action.reason
            # an interruption is handled as if it had been said in silence, after the sentence
            event = barged if barged is not None else self._next_event(listen, wait)
            if self.display:
                self.display.show(event)
            actions = self.coach.handle(event)

    def _interruption(self) -> ev.Event | None:
        take = getattr(self.speaker, "take_interruption", None)
        return take() if take else None

    # -- device faults ---------------------------------------------------------------
    def _speak(self, perform, text: str | None) -> None:
        try:
            perform()
        except DeviceLost as exc:
            if self.recovery is None:
                raise
            self._lost(exc)
            shown = getattr(self.speaker, "captions", None) is not None  # already printed as it began
            self.speaker = self.recovery.captions  # captions from now on
            self._tell(LOST_SPEAKER)
            if text is not None and not shown:
                self.speaker.say(text)  # the sentence that was cut off

    def _lost(self, exc: DeviceLost) -> None:
        if self.recorder:
            self.recorder.record("device_lost", {"device": exc.device, "detail": exc.detail})

    def _tell(self, text: str) -> None:
        """Say something that is not the coach's (a fault), shown like any sentence."""
        if self.display:
            self.display.show(ev.Say(text))
        try:
            self.speaker.say(text)
        except DeviceLost as exc:  # the loudspeaker went too
            self._lost(exc)
            self.speaker = self.recovery.captions
            self.speaker.say(LOST_SPEAKER)
            self.speaker.say(text)

    def _listen(self, intents, context: str, timeout_s: float | None):
        try:
            return self.listener.listen(intents, context, timeout_s)
        except DeviceLost as exc:
            if self.recovery is None:
                raise
            self._lost(exc)
            self.listener = ReopeningListener(self.recovery, self.clock, on_back=lambda: self._tell(MICROPHONE_BACK))
            self._tell(LOST_MICROPHONE)
            return ev.Heard("pause", "")  # nothing goes on unheard: wait for "resume"

    def _next_event(self, listen: ev.Listen | None, wait: ev.Wait | None) -> ev.Event:
        if wait is not None:
            remaining = wait.until - self.clock.now()
            if remaining > 0:
                heard = self._listen(listen.intents, listen.context, remaining) if listen else None
                if heard is not None:
                    return heard
                remaining = wait.until - self.clock.now()
                if remaining > 0:  # a listener that returned early without hearing anything
                    self.clock.sleep(remaining)
            return ev.Tick()
        if listen is None:
            raise RuntimeError("the coach asked for nothing to wait for")
        heard = self._listen(listen.intents, listen.context, listen.timeout_s)
        return heard if heard is not None else ev.Silence()
