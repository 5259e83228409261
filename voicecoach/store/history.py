"""Session history in SQLite (standard library), in the user's XDG data dir.

Every record is committed in its own transaction (WAL journal), so a crash or Ctrl-C
loses at most the step in progress. The schema is versioned with ``PRAGMA user_version``
and migrated forward in order.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import platformdirs

from voicecoach.core.coach import ResumePoint

MIGRATIONS: list[str] = [
    # 1: sessions and everything that happened in them
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,      -- unix time (s)
        ended_at REAL,                 -- unix time (s), NULL while running or if interrupted
        routine TEXT,
        end_reason TEXT
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        at REAL NOT NULL,              -- unix time (s)
        kind TEXT NOT NULL,            -- answer, result, hold, routine, pause, pain, safety_stop, end, ...
        data TEXT NOT NULL             -- JSON
    );
    CREATE INDEX events_session ON events(session_id);
    CREATE TABLE facts (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL);
    """,
    # 2: a session that picks up an interrupted one points back to it
    """
    ALTER TABLE sessions ADD COLUMN resumed_from INTEGER REFERENCES sessions(id);
    """,
]
RESUMABLE_FOR_S = 2 * 24 * 3600  # an interrupted session older than this starts afresh (s)


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("voicecoach")) / "history.sqlite3"


class Store:
    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)  # explicit transactions below
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.migrate()
        self.session_id: int | None = None

    def migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._tx():
                for statement in filter(str.strip, sql.split(";")):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number}")

    def _tx(self):
        store = self

        class _Tx:
            def __enter__(self):
                store.db.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, *_):
                store.db.execute("ROLLBACK" if exc_type else "COMMIT")
                return False

        return _Tx()

    # -- facts (small remembered values) ------------------------------------------------
    def get_fact(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM facts WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_fact(self, key: str, value) -> None:
        with self._tx():
            self.db.execute("INSERT INTO facts(key, value, updated_at) VALUES(?,?,?) "
                            "ON CONFLICT(key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
                            (key, json.dumps(value), time.time()))

    # -- sessions ----------------------------------------------------------------------
    def begin_session(self, routine: str | None) -> int:
        with self._tx():
            cur = self.db.execute("INSERT INTO sessions(started_at, routine) VALUES(?,?)", (time.time(), routine))
        self.session_id = cur.lastrowid
        return self.session_id

    def record(self, kind: str, data: dict) -> None:
        """A Recorder: one committed row per thing that happened."""
        if self.session_id is None:
            self.begin_session(None)
        with self._tx():
            self.db.execute("INSERT INTO events(session_id, at, kind, data) VALUES(?,?,?,?)",
                            (self.session_id, time.time(), kind, json.dumps(data)))
            if kind == "answer" and data.get("question") == "menu" and \
                    str(data.get("intent", "")).startswith("start:"):  # the routine the person chose
                self.db.execute("UPDATE sessions SET routine=? WHERE id=?",
                                (data["intent"].split(":", 1)[1], self.session_id))
            if kind == "resumed":
                self.db.execute("UPDATE sessions SET resumed_from=?, routine=COALESCE("
                                "(SELECT routine FROM sessions WHERE id=?), routine) WHERE id=?",
                                (data.get("session"), data.get("session"), self.session_id))
            if kind == "end":
                self.db.execute("UPDATE sessions SET ended_at=?, end_reason=? WHERE id=?",
                                (time.time(), data.get("reason"), self.session_id))
        if kind == "screen_passed":
            self.set_fact("screen_passed", True)
        if kind in ("safety_stop", "trend_stop"):  # named at the next session, until a clinician has seen them
            self.set_fact("safety_stop", {"reason": data.get("reason") or "", "advice": data.get("advice") or "",
                                          "at": time.time()})
        if kind == "safety_cleared":  # the screen is asked again
            self.set_fact("safety_stop", None)
            self.set_fact("last_warning", None)
            self.set_fact("screen_passed", False)
            self.set_fact("safety_cleared_at", time.time())  # pain scores are compared from here on
        if kind == "result":
            self.set_fact("preference", {"value": data["preference"], "at": time.time()})

    def sessions(self, limit: int = 20) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        try:
            return self.db.execute("SELECT * FROM sessions ORDER BY started_at DESC LIMIT ?", (limit,)).fetchall()
        finally:
            self.db.row_factory = None

    def summaries(self, limit: int = 20) -> list[dict]:
        """Recent sessions with what a person wants to see: date, routine, minutes, result."""
        out = []
        for row in self.sessions(limit):
            events = self.events(row["id"])
            preference = self._preference(events)
            last = events[-1][0] if events else row["started_at"]
            holds = [d for _, k, d in events if k == "hold"]
            checks = self._answered_checks(events)
            if row["resumed_from"]:  # it started with the check-in of the session it picks up
                have = {d["kind"] for d in checks if d["phase"] == "before"}
                earlier = self._answered_checks(self.events(row["resumed_from"]))
                checks = [d for d in earlier if d["phase"] == "before" and d["kind"] not in have] + checks
            pains = [int(d["value"]) for d in checks if d["kind"] == "pain"]
            places = [d["value"] for d in checks if d["kind"] == "location"]
            out.append({
                "id": row["id"], "started_at": row["started_at"], "routine": row["routine"],
                "minutes": ((row["ended_at"] or last) - row["started_at"]) / 60,
                "preference": preference, "end": row["end_reason"] or "interrupted",
                "holds_done": sum(1 for h in holds if h["completed"]), "holds_cut": sum(1 for h in holds if not h["completed"]),
                "pain_before": pains[0] if pains else None, "pain_after": pains[-1] if len(pains) > 1 else None,
                "location_before": places[0] if places else None,
                "location_after": places[-1] if len(places) > 1 else None,
            })
        return out

    @staticmethod
    def _preference(events) -> str | None:
        """The last directional preference a session found."""
        return next((d["preference"] for _, k, d in reversed(events) if k == "result"), None)

    @staticmethod
    def _answered_checks(events) -> list[dict]:
        return [d for _, k, d in events if k == "check" and d.get("value") is not None]

    def resume_point(self, now: float | None = None) -> ResumePoint | None:
        """Where the most recent interrupted session (crash, Ctrl-C, lost device) stopped, if
        it began within :data:`RESUMABLE_FOR_S`, was not picked up since, and is still
        running a routine; a later session that ended does not hide it. A session
        interrupted before its first step resumes at the start of its routine."""
        now = time.time() if now is None else now
        rows = self.db.execute(
            "SELECT id, routine FROM sessions WHERE ended_at IS NULL AND started_at >= ? "
            "AND (? IS NULL OR id != ?) "
            "AND id NOT IN (SELECT resumed_from FROM sessions WHERE resumed_from IS NOT NULL) "
            "ORDER BY id DESC LIMIT 20", (now - RESUMABLE_FOR_S, self.session_id, self.session_id)).fetchall()
        for sid, routine in rows:
            events = self.events(sid)
            if any(k == "end" for _, k, _ in events):
                continue
            baseline: dict[str, str] = {}
            # A check-in is a measurement whether or not its session finished: the first
            # answers of the sessions this one resumed (and they resumed) come first.
            chain, seen, earlier = [], {sid}, self.db.execute(
                "SELECT resumed_from FROM sessions WHERE id=?", (sid,)).fetchone()
            while earlier and earlier[0] is not None and earlier[0] not in seen:
                seen.add(earlier[0])
                chain.insert(0, earlier[0])
                earlier = self.db.execute("SELECT resumed_from FROM sessions WHERE id=?", (earlier[0],)).fetchone()
            for _, kind, d in events:  # carried into this session from the one it followed
                if kind == "baseline":
                    for k, v in d.items():
                        baseline.setdefault(k, v)
            for d in [c for s in chain for c in self._answered_checks(self.events(s))] + self._answered_checks(events):
                baseline.setdefault(d["kind"], d["value"])
            steps = [d for _, k, d in events if k == "step"]
            if steps:
                last = steps[-1]
                return ResumePoint(last["routine"], last["block"], last["title"], self._preference(events),
                                   baseline, sid)
            if routine:  # stopped before its first step: from the routine's start
                return ResumePoint(routine, 1, routine.replace("-", " "), self._preference(events), baseline, sid)
        return None

    def pain_since(self, since: float) -> list[int]:
        """Pain scores (0-10) said in sessions that started after ``since`` (unix s), oldest first."""
        rows = self.db.execute("SELECT e.data FROM events e JOIN sessions s ON s.id = e.session_id "
                               "WHERE e.kind = 'check' AND s.started_at >= ? ORDER BY e.id", (since,))
        checks = [json.loads(r[0]) for r in rows]
        return [int(c["value"]) for c in checks if c.get("kind") == "pain" and c.get("value") is not None]

    def events(self, session_id: int) -> list[tuple[float, str, dict]]:
        rows = self.db.execute("SELECT at, kind, data FROM events WHERE session_id=? ORDER BY id", (session_id,))
        return [(at, kind, json.loads(data)) for at, kind, data in rows]

    def close(self) -> None:
        self.db.close()
