"""A timed hold: when it ends and what is said on the way ("Halfway.", "Ten seconds
left.", "Three.", "Two.", "One."); and the ``Timer`` that keeps the hold or wait under
way, or what was left of it when paused. Times are seconds on the coach's clock."""

from __future__ import annotations

from dataclasses import dataclass

EPSILON_S = 1e-6  # a tick at exactly the mark's time is on time


@dataclass
class HoldState:
    ends_at: float
    marks: list[tuple[float, str]]  # (clock time, sentence), in order
    started_at: float
    planned_s: float                # the hold's full length (s), for the history

    @classmethod
    def begin(cls, now: float, seconds: float, planned_s: float) -> "HoldState":
        """A hold of ``seconds`` from ``now``, with marks that fit its length."""
        ends = now + seconds
        marks: list[tuple[float, str]] = []
        if seconds >= 25:
            marks.append((ends - 10, "Ten seconds left."))
        if seconds >= 40:
            marks.insert(0, (now + seconds / 2, "Halfway."))
        elif 12 <= seconds < 25:
            marks.append((now + seconds / 2, "Halfway."))
        if seconds >= 6:
            marks += [(ends - 3, "Three."), (ends - 2, "Two."), (ends - 1, "One.")]
        return cls(ends, sorted(marks), now, planned_s)

    def over(self, now: float) -> bool:
        return now + EPSILON_S >= self.ends_at

    def due(self, now: float) -> str | None:
        """The latest mark that is due (and forget all due ones): speech can lag the clock."""
        due = [m for m in self.marks if m[0] <= now + EPSILON_S]
        self.marks = [m for m in self.marks if m[0] > now + EPSILON_S]
        return due[-1][1] if due else None

    def next_wake(self) -> float:
        """When something is next to be said or done (clock s)."""
        return min([m[0] for m in self.marks] + [self.ends_at])

    def left(self, now: float) -> float:
        return max(0.0, self.ends_at - now)

    def held(self, now: float) -> float:
        return min(now - self.started_at, self.planned_s)


@dataclass
class Timer:
    """The hold or the wait under way (at most one), or, paused, what was left of it."""

    hold: HoldState | None = None
    wait_until: float | None = None                  # clock time (s) a wait ends
    suspended: tuple[float, float] | None = None     # paused: (seconds left, seconds held)

    def clear(self) -> None:
        """Nothing under way, nothing paused."""
        self.hold = self.wait_until = self.suspended = None

    def suspend(self, now: float) -> None:
        """Pause: keep the seconds left (and held), so that resuming goes on from there."""
        if self.hold:
            self.suspended = (self.hold.left(now), self.hold.held(now))
            self.hold = None
        elif self.wait_until is not None:
            self.suspended = (max(0.0, self.wait_until - now), 0.0)
            self.wait_until = None

    def left_when_paused(self) -> float:
        """Seconds that were left when paused (0 if nothing was)."""
        return self.suspended[0] if self.suspended else 0.0

    def held(self, now: float) -> float:
        """Seconds held so far in the hold under way, or before the pause."""
        if self.hold:
            return self.hold.held(now)
        return self.suspended[1] if self.suspended else 0.0

    def ends_at(self) -> float | None:
        """Clock time (s) the hold or wait under way ends, if one is."""
        return self.hold.ends_at if self.hold else self.wait_until
