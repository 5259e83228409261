"""Read-only views of the stored sessions: their summaries, and where an interrupted one can resume."""

from __future__ import annotations

import time

from voicecoach.core.resume import ResumePoint

RESUMABLE_FOR_S = 2 * 24 * 3600  # an interrupted session older than this starts afresh (s)
TIMES = (0.0, 253_402_300_799.0)  # unix s a date can be made of (1970 to 9999); others: a damaged row


def is_time(value) -> bool:
    """A stored unix time that a date can be made of (a damaged or foreign row's is not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and TIMES[0] <= value <= TIMES[1]


def summaries(store, limit: int = 20) -> list[dict]:
    """Recent sessions with what a person wants to see: date, routine, minutes, result."""
    out = []
    for row in store.sessions(limit):
        events = store.events(row["id"])
        preference = _preference(events)
        times = [at for at, _, _ in events if is_time(at)]
        last = times[-1] if times else row["started_at"]
        holds = [d for _, k, d in events if k == "hold"]
        ended = row["ended_at"] if is_time(row["ended_at"]) else None
        checks = _answered_checks(events)
        if isinstance(row["resumed_from"], int) and not isinstance(row["resumed_from"], bool):  # it started with the check-in of the session it picks up
            have = {d.get("kind") for d in checks if d.get("phase") == "before"}
            earlier = _answered_checks(store.events(row["resumed_from"]))
            checks = [d for d in earlier if d.get("phase") == "before" and d.get("kind") not in have] + checks
        pains = [p for d in checks if d.get("kind") == "pain" and (p := pain_score(d.get("value"))) is not None]
        places = [d["value"] for d in checks if d.get("kind") == "location" and isinstance(d["value"], str)]
        out.append({
            "id": row["id"], "started_at": row["started_at"],
            "routine": row["routine"] if isinstance(row["routine"], str) else None,
            "minutes": max(0.0, ((ended or last) - row["started_at"]) / 60),
            "preference": preference if isinstance(preference, str) else None,
            "end": row["end_reason"] if isinstance(row["end_reason"], str) else "interrupted",
            "holds_done": sum(1 for h in holds if h.get("completed")),
            "holds_cut": sum(1 for h in holds if not h.get("completed")),
            "pain_before": pains[0] if pains else None, "pain_after": pains[-1] if len(pains) > 1 else None,
            "location_before": places[0] if places else None,
            "location_after": places[-1] if len(places) > 1 else None,
        })
    return out


def _preference(events) -> str | None:
    """The last directional preference a session found."""
    return next((d.get("preference") for _, k, d in reversed(events) if k == "result"), None)


def _answered_checks(events) -> list[dict]:
    return [d for _, k, d in events if k == "check" and d.get("value") is not None]


def resume_point(store, now: float | None = None) -> ResumePoint | None:
    """Where the most recent interrupted session (crash, Ctrl-C, lost device) stopped, if
    it began within :data:`RESUMABLE_FOR_S`, was not picked up since, and is still
    running a routine; a later session that ended does not hide it (but its check-in is no
    longer the baseline). A session interrupted before its first step resumes at the start
    of its routine."""
    now = time.time() if now is None else now
    rows = store._read(lambda: store.db.execute(
        "SELECT id, routine FROM sessions WHERE ended_at IS NULL AND started_at >= ? "
        "AND (? IS NULL OR id != ?) "
        "AND id NOT IN (SELECT resumed_from FROM sessions WHERE resumed_from IS NOT NULL) "
        "ORDER BY id DESC LIMIT 20", (now - RESUMABLE_FOR_S, store.session_id, store.session_id)).fetchall())
    # the last session (not this one) that finished after measuring afresh (a check-in of
    # its own): it closed the series; one stopped at the menu measured nothing and closes none
    closed = store._read(lambda: store.db.execute(
        "SELECT MAX(id) FROM sessions s WHERE ended_at IS NOT NULL AND (? IS NULL OR id != ?) "
        "AND EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.id AND e.kind = 'check')",
        (store.session_id, store.session_id)).fetchone())[0] or 0
    for sid, routine in rows:
        events = store.events(sid)
        if any(k == "end" for _, k, _ in events):
            continue
        baseline: dict[str, str] = {}
        # A check-in is a measurement whether or not its session finished: the first
        # answers of the sessions this one resumed (and they resumed) come first. A session
        # that finished since closes that series: it measured afresh, and the next one
        # starts from its own check-in (never from a score older than that session's).
        chain, seen, earlier = [], {sid}, store.db.execute(
            "SELECT resumed_from FROM sessions WHERE id=?", (sid,)).fetchone()
        while earlier and earlier[0] is not None and earlier[0] not in seen:
            seen.add(earlier[0])
            chain.insert(0, earlier[0])
            earlier = store.db.execute("SELECT resumed_from FROM sessions WHERE id=?", (earlier[0],)).fetchone()
        hurt, worse = assessment_so_far([store.events(s) for s in chain] + [events])
        chain, own = [s for s in chain if s > closed], events if sid > closed else []
        for _, kind, d in own:  # carried into this session from the one it followed
            if kind == "baseline":
                for k, v in d.items():
                    if isinstance(k, str) and isinstance(v, str):
                        baseline.setdefault(k, v)
        for d in [c for s in chain for c in _answered_checks(store.events(s))] + _answered_checks(own):
            if isinstance(d.get("kind"), str):
                baseline.setdefault(d["kind"], d["value"])
        steps = [d for _, k, d in events if k == "step" and isinstance(d.get("routine"), str)
                 and isinstance(d.get("block"), int) and isinstance(d.get("title"), str)]
        if steps:
            last = steps[-1]
            return ResumePoint(last["routine"], last["block"], last["title"], _preference(events),
                               baseline, sid, hurt, worse)
        if isinstance(routine, str) and routine:  # stopped before its first step: from the routine's start
            return ResumePoint(routine, 1, routine.replace("-", " "), _preference(events), baseline, sid,
                               hurt, worse)
    return None


def series_baseline(store, now: float | None = None) -> dict[str, str]:
    """The first check-in answers (kind -> value) of the series of sessions not closed yet:
    those since the last session that finished after measuring (a check-in of its own),
    started within :data:`RESUMABLE_FOR_S`, finished or not, resumed or not. A check-in is a
    measurement whether or not its session finished; the series does not depend on which
    session can still be resumed (one picked up and then stopped before its check-in
    measured nothing and closes nothing)."""
    now = time.time() if now is None else now
    closed = store._read(lambda: store.db.execute(
        "SELECT MAX(id) FROM sessions s WHERE ended_at IS NOT NULL AND (? IS NULL OR id != ?) "
        "AND EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.id AND e.kind = 'check')",
        (store.session_id, store.session_id)).fetchone())[0] or 0
    rows = store._read(lambda: store.db.execute(
        "SELECT id FROM sessions WHERE id > ? AND started_at >= ? AND (? IS NULL OR id != ?) ORDER BY id",
        (closed, now - RESUMABLE_FOR_S, store.session_id, store.session_id)).fetchall())
    baseline: dict[str, str] = {}
    for (sid,) in rows:
        for _, kind, d in store.events(sid):
            if kind == "baseline":  # carried into that session from the ones before it
                for k, v in d.items():
                    if isinstance(k, str) and isinstance(v, str):
                        baseline.setdefault(k, v)
            elif kind == "check" and d.get("value") is not None and isinstance(d.get("kind"), str):
                baseline.setdefault(d["kind"], d["value"])
    return baseline


def assessment_so_far(sessions) -> tuple[tuple[tuple[str, str, bool], ...], tuple[str, ...]]:
    """What the assessment of interrupted sessions (each a list of events, oldest first; a
    session and those it resumed) found so far: the positions that hurt and the directions
    a rating counted as worse. A resumed session goes on with it: it is the same assessment."""
    hurt, worse = [], []
    for events in sessions:
        for _, kind, d in events:
            if kind == "hurt" and isinstance(d.get("routine"), str) and isinstance(d.get("position"), str):
                key = (d["routine"], d["position"], bool(d.get("moved_down")))
                if key not in hurt:
                    hurt.append(key)
            found = kind == "answer" and d.get("counted") == "worse" or kind == "hurt"
            if found and isinstance(d.get("direction"), str) and d["direction"] not in worse:
                worse.append(d["direction"])
    return tuple(hurt), tuple(worse)


def pain_score(value) -> int | None:
    """A pain score 0-10 from a stored value, or None if it is not one."""
    try:
        score = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return score if 0 <= score <= 10 else None
