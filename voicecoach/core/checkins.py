"""Check-ins (pain score, where the pain reaches, how it moved) and the trend rules.

A check-in records without choosing a branch, so it may be skipped. Its answers are
compared with the first ones of the session (the *baseline*): pain that reaches further
down the leg, or a score 3 or more points higher, is a warning sign that stops the session.
So is a score 3 or more points higher than one said since the last assessment (in its
session or after, from the history; ``since_assessment``).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from voicecoach.core import events as ev
from voicecoach.core.program import Question
from voicecoach.content.vocabulary import Vocabulary

CHECK_IN_ROUTINE = "check-in"
CHECK_CONTEXTS = ("pain", "location", "movement")
SCORE_RISE_LIMIT = 3  # points on the 0-10 scale since the start of the session
MOVEMENT_REPLIES = {"up": "Good. Pain moving up toward the back is a good sign.",
                    "down": "Noted. Pain moving down the leg is a warning sign; tell me if it grows.",
                    "stayed": "Okay."}


def is_check(q) -> bool:
    """A check-in question: it records, it does not branch, it may be skipped."""
    return isinstance(q, Question) and not q.answers and q.context in CHECK_CONTEXTS


def trend_advice(warning: str) -> str:
    """What the coach says when a trend rule stops the session."""
    return (f"{warning} That is a warning sign, so we'll stop here. Please rest, and contact a "
            "doctor or physiotherapist before you exercise again.")


class CheckIns:
    """The session's check-in answers, measured against its first ones."""

    def __init__(self, vocabulary: Vocabulary, since_assessment: Sequence[int] | None = None):
        self.vocab = vocabulary
        #: first pain score (0-10) and location index (0 = back ... 5 = foot) of the session
        self.baseline: dict[str, int] = {}
        #: pain scores said since the last assessment (None: never assessed)
        self.since_assessment = None if since_assessment is None else list(since_assessment)
        self.scores: list[int] = []  # this session's
        # "go back" and the same question answered again corrects its last answer; a corrected
        # first answer moves the baseline, only ever to the safer side: a person who said 1,
        # went back and said 0, then says 3, has risen by 3; one who said 0, went back and said
        # 3, has too
        self._last_question: dict[str, str] = {}  # kind -> question id of its last answer
        self._baseline_is_last: set[str] = set()  # kinds whose baseline is their last answer
        # kinds whose baseline was carried from an interrupted session and not yet answered in
        # this one: this session's first answer lowers it if lower (a person who said 1 last
        # time, then 0 and 3 today, has risen by 3 today)
        self._carried: set[str] = set()
        self._went_back = False

    def assessed(self) -> None:
        """An assessment found its result in this session: scores count from its check-in on."""
        self.since_assessment = list(self.scores)

    def cleared(self) -> None:
        """A clinician has seen the person: scores count from now on (if ever assessed)."""
        if self.since_assessment is not None:
            self.since_assessment = []

    @property
    def locations(self) -> list[str]:
        """Places the pain can reach, from the back down to the foot."""
        return [i.split(":", 1)[1] for i in self.vocab.answers_for("location")]

    def keep_baseline(self, answers: Mapping[str, str]) -> None:
        """Start from the answers of an interrupted session (kind -> value)."""
        if answers.get("pain") is not None:
            self.baseline["pain"] = int(answers["pain"])
            self._carried.add("pain")
        if answers.get("location") in self.locations:
            self.baseline["location"] = self.locations.index(answers["location"])
            self._carried.add("location")

    def went_back(self) -> None:
        """The person said "go back": the next answer to the question answered last corrects it."""
        self._went_back = True

    def _baseline(self, kind: str, value: int, corrected: bool) -> int:
        """The baseline of ``kind`` after this answer (a score 0-10, a location index 0-5): the
        first answer of the session, or the lower of it and its corrections (see ``went_back``);
        with a baseline carried from an interrupted session, the lower of it and the first answer."""
        if kind not in self.baseline:
            self.baseline[kind] = value
            self._baseline_is_last.add(kind)
        elif kind in self._carried:  # lower is the safer baseline
            if value <= self.baseline[kind]:
                self.baseline[kind] = value
                self._baseline_is_last.add(kind)
        elif corrected and kind in self._baseline_is_last:
            self.baseline[kind] = min(self.baseline[kind], value)  # lower is the safer baseline
        else:
            self._baseline_is_last.discard(kind)
        self._carried.discard(kind)
        return self.baseline[kind]

    def takes(self, q: Question, intent: str) -> bool:
        return is_check(q) and intent in self.vocab.answers_for(q.context)

    def options(self, q: Question) -> str:
        if q.context == "pain":
            return "a number from zero to ten, or skip"
        return self.vocab.describe(self.vocab.answers_for(q.context)) + ", or skip"

    def answer(self, q: Question, intent: str, text: str, out: list[ev.Action]) -> tuple[str, str] | None:
        """Record a check-in answer. If a trend rule is broken, return the warning to say
        now and the reason to name at the next session."""
        kind, value = q.context, intent.split(":", 1)[1]
        corrected = self._went_back and self._last_question.get(kind) == q.qid
        self._went_back = False
        self._last_question[kind] = q.qid
        phase = "before" if kind not in self.baseline else "later"
        out.append(ev.Record("check", {"kind": kind, "value": value, "phase": phase, "question": q.qid,
                                       "text": text}))
        if kind == "pain":
            score = int(value)
            start = self._baseline("pain", score, corrected)
            self.scores.append(score)
            if score >= start + SCORE_RISE_LIMIT:
                return (f"Your pain has gone up from {start} to {score} since we started.",
                        f"Your pain went up from {start} to {score} during the session.")
            earlier = self.since_assessment
            if earlier and score >= min(earlier) + SCORE_RISE_LIMIT:
                return (f"Your pain scores have gone up from {min(earlier)} to {score} since your last assessment.",
                        f"Your pain scores went up from {min(earlier)} to {score} since your last assessment.")
            if earlier is not None:
                earlier.append(score)
        elif kind == "location":
            where = self.locations.index(value)
            start = self._baseline("location", where, corrected)
            if where > start:
                return (f"The pain now reaches your {value}, further down your leg than when we "
                        f"started, at your {self.locations[start]}.",
                        f"The pain spread further down your leg, from your {self.locations[start]} "
                        f"to your {value}.")
        elif kind == "movement":
            out.append(ev.Say(MOVEMENT_REPLIES[value]))
        return None

    @staticmethod
    def skip(q: Question, out: list[ev.Action]) -> None:
        out.append(ev.Record("check", {"kind": q.context, "value": None, "question": q.qid, "skipped": True}))
        out.append(ev.Say("Skipped."))
