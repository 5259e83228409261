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
from typing import Callable

import platformdirs

from voicecoach.core.resume import ResumePoint
from voicecoach.store import sessions as _sessions
from voicecoach.store.files import StoreError, regular_or_missing, plain  # noqa: F401 (StoreError, plain: re-exported)
from voicecoach.store.sessions import RESUMABLE_FOR_S, is_time, pain_score  # noqa: F401 (RESUMABLE_FOR_S: re-exported)

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


#: table -> column -> the schema version that added it (checked when a history is opened)
COLUMNS = {
    "sessions": {"id": 1, "started_at": 1, "ended_at": 1, "routine": 1, "end_reason": 1, "resumed_from": 2},
    "events": {"id": 1, "session_id": 1, "at": 1, "kind": 1, "data": 1},
    "facts": {"key": 1, "value": 1, "updated_at": 1},
}


BUSY_WAIT_S = 1.0  # how long a write waits for a file another program has locked (s)
RETRY_S = 5.0  # after a write failed, the next try is this much later (s, real time)


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("voicecoach")) / "history.sqlite3"


def _json(text):
    """A stored JSON value, or None if the row is not JSON (a damaged or foreign row)."""
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None


class Store:
    """The history file. Opening refuses (:class:`StoreError`, file untouched) a file that is
    damaged, another program's database, or from a newer version. ``record`` never raises:
    what cannot be written is kept in order and written with the next record that succeeds
    (``warn`` is told once). ``readonly``: a copy in memory, the file is never written."""

    def __init__(self, path: Path | str | None = None, readonly: bool = False,
                 warn: Callable[[str], None] | None = None):
        self.path = Path(path) if path else default_path()
        self.warn = warn
        self.backlog: list[tuple] = []  # ("begin", routine, at) / ("record", kind, data, at) not yet written
        self._warned = False
        self.session_id: int | None = None
        try:
            regular_or_missing(self.path)
            if readonly:
                self.db = self._copy_into_memory(self.path)
            else:
                if self.path.is_dir():
                    raise IsADirectoryError(str(self.path))
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # explicit transactions below; a file another program holds locked is waited for
                # only briefly (a session must not stall on each record; what waits is kept)
                self.db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_WAIT_S)
                self._check_ours()
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
            self.migrate()
        except (sqlite3.Error, OSError, StoreError) as exc:
            if getattr(self, "db", None) is not None:
                self.db.close()
            raise (exc if isinstance(exc, StoreError) else StoreError(plain(exc, self.path))) from None

    @classmethod
    def in_memory(cls, target: Path | None = None, warn=None) -> "Store":
        """An empty history in memory (``path`` stays ``target``, for messages)."""
        store = cls.__new__(cls)
        store.path, store.warn, store.backlog, store._warned, store.session_id = \
            target or Path(":memory:"), warn, [], False, None
        store.db = sqlite3.connect(":memory:", isolation_level=None)
        store.migrate()
        store.memory_only = True
        return store

    memory_only = False

    @staticmethod
    def _copy_into_memory(path: Path) -> sqlite3.Connection:
        if path.is_dir():
            raise IsADirectoryError(str(path))
        if not path.exists():
            raise FileNotFoundError(2, "no such file", str(path))
        uri = path.resolve().as_uri()
        try:
            src = sqlite3.connect(f"{uri}?mode=ro", uri=True)
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:  # a WAL file in a read-only folder: read it as it is
            src = sqlite3.connect(f"{uri}?immutable=1", uri=True)
        mem = sqlite3.connect(":memory:", isolation_level=None)
        try:
            Store._check_ours_on(src, path)
            src.backup(mem)
        finally:
            src.close()
        return mem

    def _check_ours(self) -> None:
        self._check_ours_on(self.db, self.path)

    @staticmethod
    def _check_ours_on(db: sqlite3.Connection, path: Path) -> None:
        """Refuse another program's database, a newer schema, and a damaged file (before
        anything is written to it)."""
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version > len(MIGRATIONS):
            raise StoreError(f"{path} was written by a newer voicecoach (schema {version}); it is left as it is")
        if version == 0 and tables or version and not {"sessions", "events", "facts"} <= tables \
                or version < 0 or version and not Store._columns_fit(db, version):
            raise StoreError(f"{path} is another program's database, not a voicecoach history; "
                             "it is left as it is (choose another --history file)")
        check = db.execute("PRAGMA quick_check(1)").fetchone()
        if check and check[0] != "ok":
            raise StoreError(f"{path} is damaged ({check[0]}); it is left as it is")

    @staticmethod
    def _columns_fit(db: sqlite3.Connection, version: int) -> bool:
        """Do the tables have every column schema ``version`` gave them (our names, someone
        else's tables: refused before a query fails mid-session)?"""
        for table, columns in COLUMNS.items():
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            need = {c for c, since in columns.items() if since <= version}
            if not need <= have:
                return False
        return True

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
        """A remembered value; a damaged one reads as ``default``, except a safety stop,
        which reads as a stop whose reason could not be read (never as no stop)."""
        row = self._read(lambda: self.db.execute("SELECT value FROM facts WHERE key=?", (key,)).fetchone())
        if not row:
            return default
        value = _json(row[0])
        shape = FACT_SHAPES.get(key)
        if shape is None or value is None and row[0] == "null" or _fits(value, shape):
            return value
        if key == "safety_stop":
            return {"reason": "A safety stop was recorded, but its details could not be read.",
                    "advice": "Please rest, and contact a doctor or physiotherapist before you exercise again.",
                    "at": 0.0}
        return default

    def _read(self, query):
        try:
            return query()
        except sqlite3.Error as exc:
            raise StoreError(plain(exc, self.path)) from None

    def set_fact(self, key: str, value) -> None:
        try:
            with self._tx():
                self._put_fact(key, value)
        except sqlite3.Error as exc:
            raise StoreError(plain(exc, self.path)) from None

    def _put_fact(self, key: str, value) -> None:
        self.db.execute("INSERT INTO facts(key, value, updated_at) VALUES(?,?,?) "
                        "ON CONFLICT(key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
                        (key, json.dumps(value), time.time()))

    # -- sessions ----------------------------------------------------------------------
    def begin_session(self, routine: str | None) -> int | None:
        """Start a session (its id; None while it cannot be written: it is kept until it can)."""
        self.backlog.append(("begin", routine, time.time()))
        self._drain()
        return self.session_id

    def record(self, kind: str, data: dict) -> None:
        """A Recorder: one committed row per thing that happened. Never raises: a row that
        cannot be written waits, in order, for the next write that works."""
        if self.session_id is None and not any(e[0] == "begin" for e in self.backlog):
            self.backlog.append(("begin", None, time.time()))
        self.backlog.append(("record", kind, data, time.time()))
        self._drain()

    _retry_at = 0.0  # monotonic time before which a write that failed is not tried again

    def _drain(self, force: bool = False) -> None:
        """Write what waits, in order. After a failure the next try is :data:`RETRY_S` later
        (or at ``close``): a locked or full file costs a session one short wait, not one per record."""
        if self.backlog and not force and time.monotonic() < self._retry_at:
            return
        while self.backlog:
            entry = self.backlog[0]
            try:
                if entry[0] == "begin":
                    with self._tx():
                        cur = self.db.execute("INSERT INTO sessions(started_at, routine) VALUES(?,?)",
                                              (entry[2], entry[1]))
                    self.session_id = cur.lastrowid
                else:
                    self._write_record(*entry[1:])
            except (sqlite3.Error, OSError, ValueError, TypeError) as exc:
                if not self._warned and self.warn:
                    self.warn(f"the history cannot be written now ({plain(exc, self.path)}); this session is "
                              "kept in memory and written as soon as it can be")
                self._warned = True
                self._retry_at = time.monotonic() + RETRY_S
                return
            self.backlog.pop(0)

    @property
    def unsaved(self) -> int:
        """Records of this session not written (yet)."""
        return sum(1 for e in self.backlog if e[0] == "record")

    def _write_record(self, kind: str, data: dict, at: float) -> None:
        with self._tx():
            self.db.execute("INSERT INTO events(session_id, at, kind, data) VALUES(?,?,?,?)",
                            (self.session_id, at, kind, json.dumps(data)))
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
                                (at, data.get("reason"), self.session_id))
            # the facts in the same transaction: a retried record is never written twice
            if kind == "screen_passed":
                self._put_fact("screen_passed", True)
            if kind in ("safety_stop", "trend_stop"):  # named at the next session, until a clinician has seen them
                self._put_fact("safety_stop", {"reason": data.get("reason") or "", "advice": data.get("advice") or "",
                                               "at": at})
            if kind == "safety_cleared":  # the screen is asked again
                self._put_fact("safety_stop", None)
                self._put_fact("last_warning", None)
                self._put_fact("screen_passed", False)
                self._put_fact("safety_cleared_at", at)  # pain scores are compared from here on
            if kind == "result":  # with the start of its session: the pain measured for the assessment
                started = self.db.execute("SELECT started_at FROM sessions WHERE id=?", (self.session_id,)).fetchone()
                self._put_fact("preference", {"value": data["preference"], "at": at,
                                              "session_at": started[0] if started else at})

    def sessions(self, limit: int = 20) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        try:
            rows = self._read(lambda: self.db.execute(
                "SELECT * FROM sessions ORDER BY started_at DESC LIMIT ?", (min(limit, 2**62),)).fetchall())
        finally:
            self.db.row_factory = None
        return [r for r in rows if is_time(r["started_at"])]  # a damaged row is left out

    def summaries(self, limit: int = 20) -> list[dict]:
        """Recent sessions with what a person wants to see: date, routine, minutes, result
        (see :func:`voicecoach.store.sessions.summaries`)."""
        return _sessions.summaries(self, limit)

    def resume_point(self, now: float | None = None) -> ResumePoint | None:
        """Where the most recent interrupted session stopped, if it can be resumed
        (see :func:`voicecoach.store.sessions.resume_point`)."""
        return _sessions.resume_point(self, now)

    def series_baseline(self, now: float | None = None) -> dict[str, str]:
        """The first check-in answers of the sessions since the last one that finished after
        measuring (see :func:`voicecoach.store.sessions.series_baseline`)."""
        return _sessions.series_baseline(self, now)

    def pain_since(self, since: float) -> list[int]:
        """Pain scores (0-10) said from ``since`` (unix s) on, oldest first."""
        rows = self._read(lambda: self.db.execute(
            "SELECT e.data FROM events e WHERE e.kind = 'check' AND e.at >= ? ORDER BY e.id", (since,)).fetchall())
        checks = [c for r in rows if isinstance(c := _json(r[0]), dict)]
        return [p for c in checks if c.get("kind") == "pain" and (p := pain_score(c.get("value"))) is not None]

    def events(self, session_id: int) -> list[tuple[float, str, dict]]:
        """(time, kind, data) of a session's rows; rows that are not a JSON object are left out."""
        rows = self._read(lambda: self.db.execute(
            "SELECT at, kind, data FROM events WHERE session_id=? ORDER BY id", (session_id,)).fetchall())
        return [(at, kind, data) for at, kind, raw in rows
                if isinstance(data := _json(raw), dict) and isinstance(kind, str) and isinstance(at, (int, float))]

    def close(self) -> None:
        """Write what is still waiting (a last try), then close."""
        self._drain(force=True)
        self.db.close()


#: key -> the type a fact must have, and for a table the keys and types it must hold
FACT_SHAPES: dict[str, tuple] = {
    "screen_passed": (bool,), "last_warning": (str, type(None)),
    "safety_stop": (dict, {"reason": str, "advice": str}), "preference": (dict, {"value": str, "at": (int, float)}),
}


def _fits(value, shape: tuple) -> bool:
    if not isinstance(value, shape[0]):  # (a stored null, a cleared fact, is taken before this)
        return False
    if shape[0] is dict and isinstance(value, dict):
        return all(isinstance(value.get(k), t) for k, t in shape[1].items())
    return True


def open_for_session(path: Path | None, warn: Callable[[str], None]) -> Store:
    """The history for a session. A file that cannot be used is left as it is, and the
    session runs with its history in memory (said once through ``warn``); a ``path`` that
    does not exist yet is said to start a new history."""
    target = Path(path) if path else default_path()
    if path is not None and not target.exists() and not target.is_symlink():
        warn(f"no history at {target} yet: a new history is started there")
    try:
        return Store(target, warn=warn)
    except StoreError as exc:
        warn(f"{exc}. This session's history is kept in memory only (the safety questions are asked again)")
        return Store.in_memory(target, warn=warn)
