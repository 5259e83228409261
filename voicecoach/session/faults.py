"""Device faults during a session: what the coach says, and what it falls back to.

An audio device can vanish mid-session (the sound server restarts, a headset is
unplugged). The adapters turn that into :class:`DeviceLost`; the session then says what
happened in plain words, records it in the history, and goes on with a fallback:

* loudspeaker lost -> captions (the text is shown instead of spoken);
* microphone lost -> the coach pauses; answers are typed when there is a terminal, and
  the microphone is reopened every few seconds; once it is back, "resume" goes on.

Nothing here imports a device library: reopening is a function the composition root
(``cli.py``) provides.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

LOST_SPEAKER = "I lost the loudspeaker, so I will show what I say as text."
LOST_MICROPHONE = "I lost the microphone; type your answers, or say resume when it is back."
MICROPHONE_BACK = "The microphone is back."


class DeviceLost(RuntimeError):
    """A device stopped working mid-session; ``device`` is 'microphone' or 'loudspeaker'."""

    def __init__(self, device: str, detail: str):
        super().__init__(f"the {device} stopped working ({detail})")
        self.device, self.detail = device, detail


@dataclass
class Recovery:
    """What a session falls back to when a device goes (given by the composition root)."""

    captions: object                                  # a Speaker that shows text
    reopen_listener: Callable[[], object] | None = None  # a new voice Listener, or raises while the mic is gone
    typed: object | None = None                       # a typed-answers Listener (only with a terminal)
    retry_s: float = 2.0                              # how often to try the microphone again (real s)


class ReopeningListener:
    """After the microphone was lost: typed answers (if there is a terminal) while trying,
    every ``retry_s``, to open the microphone again. ``on_back`` is told when it returns."""

    def __init__(self, recovery: Recovery, clock, on_back: Callable[[], None] | None = None):
        self.recovery, self.clock, self.on_back = recovery, clock, on_back
        self.voice = None
        self._next_try = time.monotonic() + recovery.retry_s
        self.level_db = -90.0

    def _try_reopen(self) -> None:
        if self.voice is not None or self.recovery.reopen_listener is None or time.monotonic() < self._next_try:
            return
        self._next_try = time.monotonic() + self.recovery.retry_s
        try:
            self.voice = self.recovery.reopen_listener()
        except Exception:  # still gone (any reason): try again later  # noqa: BLE001
            self.voice = None
            return
        if self.on_back:
            self.on_back()

    def listen(self, intents: Sequence[str], context: str, timeout_s: float | None):
        deadline = None if timeout_s is None else self.clock.now() + timeout_s
        while True:
            self._try_reopen()
            remaining = None if deadline is None else deadline - self.clock.now()
            if remaining is not None and remaining <= 0:
                return None
            if self.voice is not None:
                try:
                    return self.voice.listen(intents, context, remaining)
                except DeviceLost:
                    self.voice = None
                    continue
            if self.recovery.typed is not None:
                return self.recovery.typed.listen(intents, context, timeout_s)
            real = self.recovery.retry_s if remaining is None else min(
                self.recovery.retry_s, getattr(self.clock, "real_seconds", lambda s: s)(remaining))
            time.sleep(max(0.01, min(real, max(0.0, self._next_try - time.monotonic()) + 0.01)))
