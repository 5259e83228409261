"""Drive the pure coach with real (or fake) devices: the only loop in the program.

It performs the coach's actions through the Speaker/Listener/Clock ports and turns
what happens back into events. Nothing here decides anything about exercises.
"""

from __future__ import annotations

from . import events as ev
from .coach import Coach
from .ports import Clock, Display, Listener, Recorder, Speaker


class Session:
    def __init__(self, coach: Coach, speaker: Speaker, listener: Listener, clock: Clock,
                 recorder: Recorder | None = None, display: Display | None = None):
        self.coach, self.speaker, self.listener, self.clock = coach, speaker, listener, clock
        self.recorder, self.display = recorder, display

    def run(self) -> str:
        """Play the session to its end; return the end reason ('done', 'stopped', 'safety')."""
        actions = self.coach.start()
        while True:
            listen: ev.Listen | None = None
            wait: ev.Wait | None = None
            for action in actions:
                if self.display:
                    self.display.show(action)
                if isinstance(action, ev.Say):
                    self.speaker.say(action.text)
                elif isinstance(action, ev.Cue):
                    self.speaker.cue(action.name)
                elif isinstance(action, ev.Record) and self.recorder:
                    self.recorder.record(action.kind, action.data)
                elif isinstance(action, ev.Listen):
                    listen = action
                elif isinstance(action, ev.Wait):
                    wait = action
                elif isinstance(action, ev.End):
                    return action.reason
            event = self._next_event(listen, wait)
            if self.display:
                self.display.show(event)
            actions = self.coach.handle(event)

    def _next_event(self, listen: ev.Listen | None, wait: ev.Wait | None) -> ev.Event:
        if wait is not None:
            remaining = wait.until - self.clock.now()
            if remaining > 0:
                heard = self.listener.listen(listen.intents, listen.context, remaining) if listen else None
                if heard is not None:
                    return heard
                remaining = wait.until - self.clock.now()
                if remaining > 0:  # a listener that returned early without hearing anything
                    self.clock.sleep(remaining)
            return ev.Tick()
        if listen is None:
            raise RuntimeError("the coach asked for nothing to wait for")
        heard = self.listener.listen(listen.intents, listen.context, listen.timeout_s)
        return heard if heard is not None else ev.Silence()
