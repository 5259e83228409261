"""A timed hold: when it ends and what is said on the way ("Halfway.", "Ten seconds
left.", "Three.", "Two.", "One."). Times are seconds on the coach's clock."""

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
