"""Clocks: the real one, optionally sped up for demos and tests (``--speed``)."""

from __future__ import annotations

import time


class SystemClock:
    """Monotonic time, ``speed`` times faster than real time."""

    def __init__(self, speed: float = 1.0):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)

    def real_seconds(self, seconds: float) -> float:
        """How long ``seconds`` of this clock last in real time (s)."""
        return seconds / self.speed
