"""What a session starts from, read from the history: the domain rules about past sessions.

``history`` is anything with the ``Store`` reading methods (``get_fact``, ``pain_since``,
``sessions``, ``events``); nothing here writes. The rules:

* a remembered safety stop is named first, before any other advice (``last_safety_stop``);
* pain scores that rose by ``SCORE_RISE_LIMIT`` or more since the last assessment (or since a
  clinician cleared the last stop) stop the session as the in-session trend rule does: at the
  start if the history holds the rise (``history_trend``), else at the check-in that says it
  (``pain_since_assessment``, compared by ``CheckIns``); a smaller rise, or a week, is advice to test again (``notices``), worded
  for sessions with a menu or without one (``run ROUTINE``);
* "my routine" is the direction the last assessment chose, never one that an assessment
  since found made the leg worse, else the full program (``my_routine``).

What the coach takes from all this travels as one value, ``HistoryFacts``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Mapping

from voicecoach.core.checkins import SCORE_RISE_LIMIT
from voicecoach.core.resume import ResumePoint, retest_advice
from voicecoach.core.safety import SafetyStop

MY_ROUTINE = "my routine"
FALLBACK_ROUTINE = "full-program"  # starts with the assessment, then runs what it finds
OLD_WARNING_ADVICE = "Please rest, and contact a doctor or physiotherapist before you exercise again."


def last_safety_stop(history) -> SafetyStop | None:
    """The last safety end, until a clinician has seen the person (the coach asks first)."""
    stop = history.get_fact("safety_stop")
    if stop:
        return SafetyStop(stop["reason"], stop["advice"])
    warning = history.get_fact("last_warning")  # kept by versions before every stop was remembered
    if warning:
        return SafetyStop(warning, OLD_WARNING_ADVICE)
    return None


def _since(history) -> float | None:
    """Unix s from which pain scores are compared: the start of the session of the last
    assessment (its check-in is the pain the assessment was made with), or a later clearance."""
    assessed = history.get_fact("preference") or {}
    if not assessed.get("at"):
        return None
    at = assessed.get("session_at") if isinstance(assessed.get("session_at"), (int, float)) else assessed["at"]
    return max(at, history.get_fact("safety_cleared_at") or 0.0)


def pain_since_assessment(history) -> tuple[int, ...] | None:
    """The pain scores said since the last assessment (see ``_since``), for the coach to
    compare each new score with (``CheckIns``); None if there was no assessment."""
    since = _since(history)
    return None if since is None else tuple(history.pain_since(since))


def history_trend(history) -> tuple[str, str] | None:
    """(warning to say now, reason to name next time) if the pain scores said since the last
    assessment rose by ``SCORE_RISE_LIMIT`` points (0-10 scale) or more to the latest one."""
    since = _since(history)
    pains = history.pain_since(since) if since is not None else []
    if len(pains) >= 2 and pains[-1] >= min(pains[:-1]) + SCORE_RISE_LIMIT:
        low = min(pains[:-1])
        return (f"Your pain scores have gone up from {low} to {pains[-1]} since your last assessment.",
                f"Your pain scores went up from {low} to {pains[-1]} since your last assessment.")
    return None


def notices(history, menu: bool = True, now: float | None = None) -> list[str]:
    """Advice said after a remembered stop is named: whether to test the direction again.
    ``menu``: the session offers the menu (else ``run ROUTINE``: no "say it at the menu")."""
    assessed = history.get_fact("preference") or {}
    if not assessed.get("at") or history_trend(history):
        return []  # no assessment to repeat; or a rise that stops the session, not advice
    now = time.time() if now is None else now
    days = (now - assessed["at"]) / 86400
    how = "say assessment at the menu" if menu else "start the assessment next time"
    advice = retest_advice(days, history.pain_since(_since(history)), how)
    return [advice] if advice else []


def worse_directions(history, limit: int = 50) -> set[str]:
    """Directions the most recent assessment (finished or not) found made the leg worse: a
    rating that counted as "worse", from the answers the coach records. An assessment picked
    up after an interruption is one assessment: the sessions it resumed count with it."""
    rows = sorted(history.sessions(limit), key=lambda r: r["id"], reverse=True)
    resumed_from = {r["id"]: r["resumed_from"] for r in rows if "resumed_from" in r.keys()}
    for row in rows:
        if not _found_worse(history.events(row["id"]))[0]:
            continue  # no assessment in this session
        worse, sid, seen = set(), row["id"], set()
        while sid is not None and sid not in seen:
            seen.add(sid)
            worse |= _found_worse(history.events(sid))[1]
            sid = resumed_from.get(sid)
        return worse
    return set()


def _found_worse(events) -> tuple[bool, set[str]]:
    """(a test position was rated or hurt in these events, the directions found worse): a
    rating that counted as "worse", or pain in a position or symptoms moving down after it,
    which count as "worse" whatever the rating (also when the session ended before it)."""
    tested, worse = False, set()
    for _, kind, d in events:
        if kind == "answer" and isinstance(d.get("direction"), str):
            tested = True
            if d.get("counted", d.get("intent")) == "worse":
                worse.add(d["direction"])
        elif kind == "hurt" and isinstance(d.get("direction"), str):
            tested = True
            worse.add(d["direction"])
    return tested, worse


def my_routine(history, routines: Iterable[str]) -> str | None:
    """The routine "my routine" starts: the last assessment's direction, unless the last
    assessment found that direction made the leg worse; else the full program."""
    routines = set(routines)
    preference = (history.get_fact("preference") or {}).get("value") if history else None
    if preference in routines and preference not in (worse_directions(history) if history else set()):
        return preference
    return FALLBACK_ROUTINE if FALLBACK_ROUTINE in routines else None


@dataclass(frozen=True)
class HistoryFacts:
    """What the coach needs to know from past sessions, read once before it starts.

    The default is a person with no history that matters: no screen due, nothing to say
    first, nothing to resume."""

    screen: bool = False                     # the safety questions are due (never passed yet)
    notices: tuple[str, ...] = ()            # advice said after the welcome (``notices``)
    resume: ResumePoint | None = None        # an interrupted session that may be picked up
    safety_stop: SafetyStop | None = None    # the last safety end, asked about first
    trend_stop: tuple[str, str] | None = None  # pain rose since the last assessment (``history_trend``)
    pain_since_assessment: tuple[int, ...] | None = None  # scores since it (None: never assessed)
    # the first check-in answers of the series not closed by a finished session (kind -> value),
    # whether or not a session of it can be resumed (None: not read; the resume point's is used)
    baseline: Mapping[str, str] | None = None
