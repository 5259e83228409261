#!/usr/bin/env python3
"""Audit voicecoach against bad input, as a clumsy user and as an attacker would try it.

Every case runs the real command line (``python -m voicecoach``) in its own temporary HOME
and XDG folders, voice-free (``--text``, ``--speed 1000``), with a give-up bound of
:data:`HANG_S` seconds. For each case it prints: exit code, whether a traceback (or
"Exception ignored", or an internal error, exit 70) appeared, whether it hung, whether
something got in that should not (a reserved routine replaced, raw control characters from
a file on the terminal, a file outside the pictures served, another host answered), and
whether stored data was lost (rows of every history before and after, the bytes of every
other file). The web cases run against one live ``--view web --web-port 0`` session.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python scripts/audit_inputs.py [-k SUBSTRING] [-v]

Exit status: 0 if every case passed, 1 otherwise. Needs root for the ``chattr +i`` and tmpfs
cases (they are skipped, and said so, otherwise).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import stat
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(os.environ.get("AUDIT_ROOT") or Path(__file__).resolve().parent.parent)  # the program audited
PY = sys.executable
HANG_S = 20
RUN = ["run", "hip-stretches", "--text", "--speed", "1000"]
ANSWERS = b"no\nno\nno\nno\n4\nleft buttock\nbetter\nbetter\nsame\n3\nleft buttock\n"
IS_ROOT = os.geteuid() == 0
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7)}
HAVE_CHATTR = IS_ROOT and shutil.which("chattr") is not None
BAD_CHARS = re.compile("[\x1b\x07\x08\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]")


# ---------------------------------------------------------------------------------- fixtures
def make_history(path: Path, sessions: int = 2) -> None:
    """A voicecoach history with sessions, events and facts, written by the real store."""
    sys.path.insert(0, str(ROOT))
    from voicecoach.store.history import Store
    store = Store(path)
    store.set_fact("screen_passed", True)
    for _ in range(sessions):
        store.begin_session("hip-stretches")
        store.record("check", {"kind": "pain", "phase": "before", "value": "4"})
        store.record("hold", {"completed": True})
        store.record("check", {"kind": "pain", "phase": "after", "value": "3"})
        store.record("end", {"reason": "done"})
        store.session_id = None
    store.close()


def base(tmp: Path) -> None:
    for d in ("home", "config/voicecoach/routines", "data/voicecoach", "dev"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    # devices of its own: a program that writes "beside" or "over" a device it was given
    # (a report replacing dev/full, a journal beside dev/null) damages this folder, never /dev
    for name, (major, minor) in DEVICES.items():
        if IS_ROOT:
            os.mknod(tmp / "dev" / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        else:  # (a user cannot write /dev anyway)
            os.symlink(f"/dev/{name}", tmp / "dev" / name)
    make_history(tmp / "good.sqlite3")
    make_history(tmp / "data/voicecoach/history.sqlite3", sessions=1)
    other = sqlite3.connect(tmp / "other.db")
    other.executescript("CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES ('ann'), ('bob');")
    other.close()


def snapshot(tmp: Path) -> dict:
    """Every file's rows (SQLite) or bytes, to compare after the case."""
    out = {}
    for path in tmp.rglob("*"):
        try:
            if path.is_symlink() or not path.is_file() or path.suffix in ("-wal", "-shm") \
                    or path.name.endswith(("-wal", "-shm", "-journal")) or path.stat().st_size > 20_000_000:
                continue
            if "config" in path.relative_to(tmp).parts[:1]:
                continue  # settings and routines may legitimately be written (adjustments)
        except OSError:
            continue
        out[str(path)] = rows_or_bytes(path)
    return out


def rows_or_bytes(path: Path):
    """(rows of every table or None, sha256 of the bytes)."""
    try:
        data = path.read_bytes()
    except OSError:
        return (None, "unreadable")
    return (_rows(path) if data[:16] == b"SQLite format 3\0" else None, hashlib.sha256(data).hexdigest())


def _rows(path: Path):
    if path:
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.2)
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            rows = set()
            for t in tables:
                for r in db.execute(f'SELECT * FROM "{t}"'):
                    rows.add((t,) + tuple(r) if t != "facts" else (t, r[0]))
            db.close()
            return frozenset(rows)
        except sqlite3.Error:
            return None


def lost(before: dict, after: dict, allowed: set[str]) -> list[str]:
    problems = []
    for name, (rows, digest) in before.items():
        if Path(name).name in allowed:
            continue
        now = after.get(name)
        if now is None:
            problems.append(f"{Path(name).name} gone")
        elif rows is not None and now[0] is not None:
            if not rows <= now[0]:
                problems.append(f"{Path(name).name}: {len(rows - now[0])} rows lost or changed")
        elif digest != now[1]:
            problems.append(f"{Path(name).name} changed")
    return problems


def devices_damaged(tmp: Path) -> list[str]:
    """The case's own devices are still devices, and nothing was written beside them."""
    if not IS_ROOT:
        return []
    found = sorted(p.name for p in (tmp / "dev").iterdir() if p.name not in DEVICES or not p.is_char_device())
    return [f"wrote over or beside a device: dev/{', dev/'.join(found)}"] if found else []


# ---------------------------------------------------------------------------------- cases
@dataclass
class Case:
    name: str
    group: str
    args: list | str  # argv after "python -m voicecoach", or a shell line ({vc} is the program)
    prep: Callable[[Path], None] | None = None
    stdin: bytes | str | None = None  # bytes fed, "closed", a path, or None (/dev/null)
    env: dict = field(default_factory=dict)  # None: unset
    codes: tuple | None = None  # acceptable exit codes (None: any documented one)
    check: Callable[[Path, str, str], str | None] | None = None  # a way in? (tmp, out, err) -> problem
    allowed: set = field(default_factory=set)  # file names this case may change
    cleanup: Callable[[Path], None] | None = None
    needs: str | None = None  # "root" / "chattr": skipped without


DOCUMENTED = {0, 1, 2, 3, 4, 130, 141}
CASES: list[Case] = []


def case(*a, **k) -> None:
    CASES.append(Case(*a, **k))


def write(rel: str, data: bytes | str):
    def prep(tmp: Path) -> None:
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
    return prep


def both(*preps):
    def prep(tmp):
        for p in preps:
            p(tmp)
    return prep


def no_raw_chars(tmp, out, err):
    found = BAD_CHARS.findall(out + err)
    return f"raw control/bidi characters on the terminal: {found[:3]!r}" if found else None


def says(word):
    def check(tmp, out, err):
        return None if word.lower() in (out + err).lower() else f"expected {word!r} in the output"
    return check


# --- flags with odd values
ODD_NUMBERS = ["-0", "0", "-1", "1e-400", "inf", "-inf", "nan", "NaN", "", " ", "1e400", "9" * 5000, "0x10",
               "１０", "1_000", "--", "٣"]
for flag in ("--speed", "--silence-timeout", "--rate", "--volume", "--sensitivity", "--threshold", "--web-port"):
    for value in ODD_NUMBERS[:9] + (["9" * 5000, "１０"] if flag in ("--speed", "--rate") else []):
        case(f"{flag}={value[:12]!r}", "flags", RUN + [flag, value], stdin=ANSWERS)
for value in ("0", "-1", "nan", "1.5", "", "99999999999999999999999", "1e3"):
    case(f"history --limit {value[:10]!r}", "flags", ["history", "--history", "good.sqlite3", "--limit", value])
case("check --seconds nan", "flags", ["check", "--seconds", "nan"])
case("check --seconds -1", "flags", ["check", "--seconds", "-1"])
case("speed repeated", "flags", RUN + ["--speed", "1", "--speed", "1000"], stdin=ANSWERS)
case("history repeated", "flags", RUN + ["--history", "good.sqlite3", "--history", "x.sqlite3"], stdin=ANSWERS)
case("routines flag 60 times", "flags", ["routines"] + ["--routines", "config/voicecoach/routines"] * 60)
case("unknown flag", "flags", ["run", "hip-stretches", "--frobnicate"], codes=(2,))
case("version twice", "flags", ["--version", "--version"], codes=(0,))
case("no routine given", "flags", ["run"], codes=(2,))
for name in ("", " ", "x" * 100_000, "../../etc/passwd", "/etc/passwd", "hip\u202estretches", "\x1b[2Jhip",
             "ＨＩＰ ＳＴＲＥＴＣＨＥＳ", "safety-screen", "check-in", "HIP-STRETCHES", "hip  stretches\t"):
    case(f"run {name[:20]!r}", "flags", ["run", name, "--text", "--speed", "1000"], stdin=ANSWERS,
         check=no_raw_chars)
case("run non-utf8 name", "flags", f"{{vc}} run $(printf 'hip\\377\\376') --text --speed 1000 </dev/null",
     check=no_raw_chars)
case("history non-utf8 path", "flags", "{vc} history --history $(printf 'h\\377.sqlite3')")
case("run history non-utf8 path", "flags", "{vc} run hip-stretches --text --speed 1000 "
     "--history $(printf 'h\\377.sqlite3') </dev/null")
case("routines non-utf8 folder", "flags", "mkdir -p $(printf 'r\\377') && {vc} routines --routines $(printf 'r\\377')")
for dev in ("", "x" * 50_000, "-1", "99999", "\u202e", "../../dev/mem"):
    case(f"--input-device {dev[:12]!r}", "flags", RUN + ["--input-device", dev, "--output-device", dev],
         stdin=ANSWERS)
case("--voice traversal", "flags", RUN + ["--speech-engine", "espeak", "--voice", "../../../etc/passwd"],
     stdin=ANSWERS)
case("--recognizer pocketsphinx typed", "flags", RUN + ["--recognizer", "pocketsphinx"], stdin=ANSWERS)
case("--routines is a file", "flags", ["routines", "--routines", "good.sqlite3"])
case("--routines a device", "flags", ["routines", "--routines", "dev/null"])
case("--routines /proc", "flags", ["routines", "--routines", "/proc/self"])
case("--routines /", "flags", ["routines", "--routines", "/"])
case("--routines empty string", "flags", ["routines", "--routines", ""])

# --- history paths that are not a history file
HIST_PATHS = {
    "empty-string": "", "root": "/", "dev-null": "dev/null", "dev-zero": "dev/zero", "dev-full": "dev/full",
    "proc-file": "/proc/self/status", "long-path": "a/" * 3000 + "h.sqlite3", "name-too-long": "h" * 300,
    "parent-is-file": "good.sqlite3/h.sqlite3", "missing-deep": "no/such/deep/h.sqlite3",
}
for label, path in HIST_PATHS.items():
    for cmd in (RUN, ["history"], ["report"], ["resume", "--text", "--speed", "1000"]):
        case(f"{cmd[0]} --history {label}", "history", cmd + ["--history", path], stdin=ANSWERS)


def symlink(rel, target):
    def prep(tmp):
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        if (tmp / rel).exists() or (tmp / rel).is_symlink():
            (tmp / rel).unlink()
        os.symlink(target, tmp / rel)
    return prep


def fifo(rel):
    def prep(tmp):
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        if (tmp / rel).exists():
            (tmp / rel).unlink()
        os.mkfifo(tmp / rel)
    return prep


def good_copy(rel, mutate):
    """A copy of good.sqlite3 changed by ``mutate(db)`` (SQL or a function)."""
    def prep(tmp):
        shutil.copy(tmp / "good.sqlite3", tmp / rel)
        db = sqlite3.connect(tmp / rel)
        if callable(mutate):
            mutate(db)
        else:
            db.executescript(mutate)
        db.commit()
        db.close()
    return prep


def truncated(tmp):
    data = (tmp / "good.sqlite3").read_bytes()
    (tmp / "h.sqlite3").write_bytes(data[: len(data) // 2])


def randomised(tmp):
    (tmp / "h.sqlite3").write_bytes(b"SQLite format 3\0" + os.urandom(8192))


def foreign_v2(tmp):
    db = sqlite3.connect(tmp / "h.sqlite3")
    db.executescript("CREATE TABLE sessions(id); CREATE TABLE events(x); CREATE TABLE facts(y); "
                     "INSERT INTO sessions VALUES (1); PRAGMA user_version=2;")
    db.close()


def loose_v2(tmp):
    """Our table names, no constraints: NULLs and wrong types everywhere."""
    db = sqlite3.connect(tmp / "h.sqlite3")
    db.executescript(
        "CREATE TABLE sessions(id INTEGER PRIMARY KEY, started_at, ended_at, routine, end_reason, resumed_from);"
        "CREATE TABLE events(id INTEGER PRIMARY KEY, session_id, at, kind, data);"
        "CREATE TABLE facts(key, value, updated_at);"
        "INSERT INTO sessions VALUES (1, NULL, NULL, NULL, NULL, NULL), (2, 'abc', 'x', 5, x'ff', 'q'),"
        " (3, 1e300, -1e300, 'hip-stretches', 'done', 3), (4, -1e20, NULL, '\x1b[31mred\u202e', 'done', NULL),"
        " (5, 1700000000, 1600000000, 'hip-stretches', NULL, 99);"
        "INSERT INTO events VALUES (1, 3, NULL, NULL, NULL), (2, 3, 1, 'check', '{\"kind\": \"pain\", \"value\": 1e999}'),"
        " (3, 5, 1, 'step', '{\"index\": \"x\", \"routine\": [1]}'), (4, 5, 'now', 5, '[' ), (5, 9, 1, 'end', 'null'),"
        " (6, 5, 1, 'check', '{\"kind\": \"location\", \"value\": {\"a\": 1}}'),"
        " (7, 5, 1, 'resumed', '{\"session\": \"x\"}'), (8, 5, 1, 'result', '{\"preference\": null}');"
        "INSERT INTO facts VALUES ('screen_passed', 'true', 0), ('safety_stop', NULL, NULL), (NULL, NULL, NULL),"
        " ('preference', '{\"value\": 5}', 'x');"
        "PRAGMA user_version=2;")
    db.close()


def huge_values(tmp):
    shutil.copy(tmp / "good.sqlite3", tmp / "h.sqlite3")
    db = sqlite3.connect(tmp / "h.sqlite3")
    db.execute("INSERT INTO events(session_id, at, kind, data) VALUES (1, 1, 'check', ?)",
               ('{"kind": "pain", "value": "' + "9" * 5_000_000 + '"}',))
    db.execute("INSERT INTO events(session_id, at, kind, data) VALUES (1, 1, 'step', ?)",
               ("[" * 100_000 + "]" * 100_000,))
    db.execute("UPDATE sessions SET routine=? WHERE id=1", ("r" * 1_000_000,))
    db.commit()
    db.close()


def many_sessions(tmp):
    shutil.copy(tmp / "good.sqlite3", tmp / "h.sqlite3")
    db = sqlite3.connect(tmp / "h.sqlite3")
    db.executemany("INSERT INTO sessions(started_at, routine, ended_at, end_reason) VALUES (?, 'hip-stretches', ?, 'done')",
                   [(1.6e9 + i * 60, 1.6e9 + i * 60 + 30) for i in range(50_000)])
    db.commit()
    db.close()


def hot_journal(tmp):
    shutil.copy(tmp / "good.sqlite3", tmp / "h.sqlite3")
    (tmp / "h.sqlite3-wal").write_bytes(os.urandom(4096))


def symloop(tmp):
    os.symlink(tmp / "loop-b", tmp / "h.sqlite3")
    os.symlink(tmp / "h.sqlite3", tmp / "loop-b")


DB_KINDS = {
    "truncated": truncated, "random-bytes": randomised, "text-file": write("h.sqlite3", "hello\n" * 100),
    "empty-file": write("h.sqlite3", b""), "other-program": lambda t: shutil.copy(t / "other.db", t / "h.sqlite3"),
    "newer-schema": good_copy("h.sqlite3", "PRAGMA user_version=99;"),
    "negative-schema": good_copy("h.sqlite3", "PRAGMA user_version=-5;"),
    "wrong-columns": foreign_v2, "nulls-and-wrong-types": loose_v2,
    "bad-json-rows": good_copy("h.sqlite3", "INSERT INTO events(session_id, at, kind, data) VALUES "
                               "(1, 1, 'check', x'00ff'), (1, 2, 'step', 'not json'), (2, 3, 'end', '{\"reason\": [1]}');"
                               "INSERT OR REPLACE INTO facts VALUES ('safety_stop', '{\"reason\": 5', 0);"),
    "dropped-events-table": good_copy("h.sqlite3", "DROP TABLE events;"),
    "extra-trigger": good_copy("h.sqlite3", "CREATE TABLE log(x); CREATE TRIGGER t AFTER INSERT ON events "
                               "BEGIN INSERT INTO log VALUES (new.data); END;"),
    "view-instead-of-table": good_copy("h.sqlite3", "ALTER TABLE facts RENAME TO f2; CREATE VIEW facts AS SELECT * FROM f2;"),
    "huge-values": huge_values, "50k-sessions": many_sessions, "garbage-wal": hot_journal,
    "folder": lambda t: (t / "h.sqlite3").mkdir(), "fifo": fifo("h.sqlite3"), "symlink-loop": symloop,
    "symlink-dev-zero": lambda t: symlink("h.sqlite3", str(t / "dev/zero"))(t), "symlink-folder": symlink("h.sqlite3", "/tmp"),
    "dangling-symlink": symlink("h.sqlite3", "/no/such/place/h.sqlite3"),
    "far-future-times": good_copy("h.sqlite3", "UPDATE sessions SET started_at=1e18, ended_at=1e18+5;"),
    "negative-times": good_copy("h.sqlite3", "UPDATE sessions SET started_at=-1e15;"),
    "control-chars-routine": good_copy("h.sqlite3", "UPDATE sessions SET routine=char(27)||'[2J'||char(8238)||'evil';"),
}
for label, prep in DB_KINDS.items():
    for cmd in (["history"], ["report", "--out", "r.png", "--csv", "r.csv"], RUN,
                ["resume", "--text", "--speed", "1000"]):
        case(f"{cmd[0]} on db {label}", "sqlite", cmd + ["--history", "h.sqlite3"], prep=prep, stdin=ANSWERS,
             check=no_raw_chars if "control" in label or "nulls" in label else None,
             allowed={"r.png", "r.csv"} | ({"h.sqlite3"} if label in ("garbage-wal", "empty-file") else set()))


def hold_lock(tmp):
    """Another process holds an open write transaction on the history."""
    code = ("import sqlite3,sys,time; db=sqlite3.connect(sys.argv[1], isolation_level=None); "
            "db.execute('BEGIN EXCLUSIVE'); db.execute(\"INSERT INTO facts VALUES('x','1',0)\"); "
            "print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([PY, "-c", code, str(tmp / "good.sqlite3")], stdout=subprocess.PIPE)
    proc.stdout.readline()
    (tmp / "locker.pid").write_text(str(proc.pid))


def release_lock(tmp):
    try:
        os.kill(int((tmp / "locker.pid").read_text()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


for cmd in (["history"], ["report", "--out", "r.png"], RUN, ["resume", "--text", "--speed", "1000"]):
    case(f"{cmd[0]} on a locked db", "sqlite", cmd + ["--history", "good.sqlite3"], prep=hold_lock,
         cleanup=release_lock, stdin=ANSWERS, allowed={"r.png", "locker.pid"})


def immutable(rel):
    def prep(tmp):
        subprocess.run(["chattr", "+i", str(tmp / rel)], check=True)
    return prep


def mutable(rel):
    def done(tmp):
        subprocess.run(["chattr", "-i", str(tmp / rel)], check=False)
    return done


for cmd in (RUN, ["history"], ["report", "--out", "r.png"]):
    case(f"{cmd[0]} on an immutable history", "sqlite", cmd + ["--history", "good.sqlite3"],
         prep=immutable("good.sqlite3"), cleanup=mutable("good.sqlite3"), stdin=ANSWERS, needs="chattr",
         allowed={"r.png"})
    case(f"{cmd[0]} in an immutable folder", "sqlite", cmd + ["--history", "ro/good.sqlite3"],
         prep=lambda t: (os.makedirs(t / "ro"), shutil.copy(t / "good.sqlite3", t / "ro"),
                         immutable("ro")(t)), cleanup=mutable("ro"), stdin=ANSWERS, needs="chattr", allowed={"r.png"})


def tiny_disk(tmp):
    (tmp / "full").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tmp / "full")], check=True)
    make_history(tmp / "full" / "h.sqlite3")
    with open(tmp / "full" / "filler", "wb", buffering=0) as f:  # fill what is left
        try:
            while True:
                f.write(b"x" * 1024)
                f.flush()
        except OSError:
            pass


def unmount(tmp):
    subprocess.run(["umount", "-l", str(tmp / "full")], check=False)


for cmd in (RUN, ["history"], ["report", "--out", "full/r.png"], ["resume", "--text", "--speed", "1000"]):
    case(f"{cmd[0]} on a full disk", "sqlite", cmd + ["--history", "full/h.sqlite3"], prep=tiny_disk,
         cleanup=unmount, stdin=ANSWERS, needs="root", allowed={"r.png", "filler"})
case("report --out onto the history itself", "sqlite", ["report", "--history", "good.sqlite3", "--out", "good.sqlite3"])
case("report --csv onto the history itself", "sqlite", ["report", "--history", "good.sqlite3", "--csv", "good.sqlite3"])
case("report --out onto the settings file", "sqlite", ["report", "--history", "good.sqlite3", "--out", "s.toml"],
     prep=write("s.toml", "[speech]\nrate = 150\n"))
case("report --out onto another db", "sqlite", ["report", "--history", "good.sqlite3", "--out", "other.db"])
case("report --out a device", "sqlite", ["report", "--history", "good.sqlite3", "--out", "dev/full"])
case("report --csv a device", "sqlite", ["report", "--history", "good.sqlite3", "--csv", "dev/full"])
case("report --out beside a device history", "sqlite", ["report", "--history", "dev/null"])
case("report --out ''", "sqlite", ["report", "--history", "good.sqlite3", "--out", ""])
case("report --out fifo", "sqlite", ["report", "--history", "good.sqlite3", "--out", "o.png"], prep=fifo("o.png"))
case("report --out immutable file", "sqlite", ["report", "--history", "good.sqlite3", "--out", "o.png"],
     prep=both(write("o.png", "x"), immutable("o.png")), cleanup=mutable("o.png"), needs="chattr")
case("report --out symlink to /etc/passwd", "sqlite", ["report", "--history", "good.sqlite3", "--out", "o.png"],
     prep=symlink("o.png", "/etc/shadow-voicecoach-audit"),
     check=lambda t, o, e: "followed a symlink out" if os.path.exists("/etc/shadow-voicecoach-audit") else None)

# --- environment
for label, env in {
    "HOME unset": {"HOME": None}, "HOME empty": {"HOME": ""}, "HOME is a file": {"HOME": "good.sqlite3"},
    "all XDG unset, HOME unset": {"HOME": None, "XDG_CONFIG_HOME": None, "XDG_DATA_HOME": None},
    "XDG_CONFIG_HOME is a file": {"XDG_CONFIG_HOME": "good.sqlite3"},
    "XDG_DATA_HOME is a file": {"XDG_DATA_HOME": "other.db"},
    "XDG_DATA_HOME a device": {"XDG_DATA_HOME": "dev/null"}, "XDG_CONFIG_HOME /proc": {"XDG_CONFIG_HOME": "/proc"},
    "XDG relative": {"XDG_CONFIG_HOME": "rel/c", "XDG_DATA_HOME": "rel/d"},
    "XDG empty": {"XDG_CONFIG_HOME": "", "XDG_DATA_HOME": ""},
    "PYTHONIOENCODING ascii": {"PYTHONIOENCODING": "ascii"}, "LC_ALL=C": {"LC_ALL": "C", "LANG": "C"},
    "COLUMNS=0": {"COLUMNS": "0", "LINES": "0"}, "COLUMNS=-5": {"COLUMNS": "-5"},
    "COLUMNS huge": {"COLUMNS": "99999999"}, "TERM=dumb": {"TERM": "dumb"},
    "TZ garbage": {"TZ": "Not/AZone\x01"},
}.items():
    for cmd in (RUN, ["history"], ["routines"], ["config"]):
        case(f"{cmd[0]}: {label}", "env", cmd, env=env, stdin=ANSWERS,
             prep=write("config/voicecoach/routines/uni.yaml", "name: café ünïcødé ☃\nsteps:\n  - say: Hé ☃.\n"))
for cmd in (RUN, ["history"]):
    case(f"{cmd[0]}: XDG_DATA_HOME immutable", "env", cmd, env={"XDG_DATA_HOME": "rodata"}, stdin=ANSWERS,
         prep=lambda t: (shutil.copytree(t / "data", t / "rodata"), immutable("rodata/voicecoach")(t)),
         cleanup=mutable("rodata/voicecoach"), needs="chattr")
case("config set: XDG_CONFIG_HOME immutable", "env", ["config", "set", "speech.rate", "150"],
     env={"XDG_CONFIG_HOME": "roconf"},
     prep=lambda t: (os.makedirs(t / "roconf/voicecoach"), immutable("roconf/voicecoach")(t)),
     cleanup=mutable("roconf/voicecoach"), needs="chattr")

# --- standard streams
for label, stdin in {"/dev/null": None, "closed": "closed", "/dev/zero": "/dev/zero",
                     "huge line": b"x" * 20_000_000, "binary": os.urandom(200_000),
                     "control chars": b"\x1b[2J\x07\x08\x00\r\n" * 100, "non-utf8 answer": b"n\xff\xfeo\nno\n",
                     "CRLF answers": ANSWERS.replace(b"\n", b"\r\n"), "100k lines": b"what\n" * 100_000,
                     "utf16": ANSWERS.decode().encode("utf-16"), "only newlines": b"\n" * 100_000,
                     "stop": b"stop\n", "pause forever": b"pause\n" * 1000}.items():
    case(f"run stdin {label}", "streams", RUN, stdin=stdin)
for cmd in (RUN, ["history", "--history", "good.sqlite3"], ["routines"], ["config"], ["--help"],
            ["validate", "config"]):
    line = " ".join(map(repr, cmd)).replace("'", "")
    case(f"{cmd[0]} stdout closed", "streams", f"{{vc}} {line} >&- </dev/null")
    case(f"{cmd[0]} stderr closed", "streams", f"{{vc}} {line} 2>&- </dev/null")
    case(f"{cmd[0]} stdout /dev/full", "streams", f"{{vc}} {line} >/dev/full </dev/null")
    case(f"{cmd[0]} into head -c1", "streams", f"{{vc}} {line} </dev/null | head -c1 >/dev/null")
case("two sessions at once on one history", "streams",
     "printf 'no\\nno\\nno\\nno\\n' | {vc} run hip-stretches --text --speed 1000 --history good.sqlite3 & "
     "printf 'no\\nno\\nno\\nno\\n' | {vc} run hip-stretches --text --speed 1000 --history good.sqlite3; wait")


def hold_port(tmp):
    """Something else listens on the web view's default port."""
    code = ("import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
            "s.bind(('127.0.0.1', 8765)); s.listen(); print('up', flush=True); time.sleep(60)")
    proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.readline()
    (tmp / "locker.pid").write_text(str(proc.pid))
    write(S, "[view]\nweb = true\n")(tmp)


case("web view port in use", "streams", RUN, prep=hold_port, cleanup=release_lock, stdin=ANSWERS,
     allowed={"locker.pid"})
case("run stdout+stderr /dev/full", "streams", "{vc} run hip-stretches --text --speed 1000 >/dev/full 2>/dev/full </dev/null")
case("run all closed", "streams", "{vc} run hip-stretches --text --speed 1000 >&- 2>&- <&-")

# --- routine files in the user's folder (each listed with `routines`, checked with `validate`)
U = "config/voicecoach/routines/"
ok_head = "name: audit thing\nsteps:\n  - say: Hello.\n"
EX = ("name: audit ex\nexercises:\n  calf:\n    name: Calf\n    instructions: Do it.\n    hold_s: {HOLD}\n"
      "    reps: {REPS}\n    sides: {SIDES}\n    picture: {PIC}\nsteps:\n  - do: calf\n")


def ex(hold="{default: 20, min: 15, max: 30}", reps="{default: 2, min: 1, max: 3}", sides="[left, right]",
       pic="null"):
    return EX.replace("{HOLD}", hold).replace("{REPS}", reps).replace("{SIDES}", sides).replace("{PIC}", pic)


ROUTINE_FILES = {
    "laughs-merge": "a: &a {x: 1, y: 2}\n" + "".join(f"{c}: &{c} {{<<: [*{p}, *{p}], {c}{i}: 1}}\n" for i, (p, c)
                                                   in enumerate(zip("abcdefghijk", "bcdefghijkl"))),
    "laughs-lists": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefghi", "bcdefghij")) + "name: *j\n",
    "alias-key": "a: &a x\n*a : y\nname: z\nsteps: [{say: x}]\n",
    "deep-maps": "name: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "deep-block": "".join("  " * i + "a:\n" for i in range(2000)) + "  " * 2000 + "b: 1\n",
    "huge-int": ex(hold="{default: " + "9" * 5000 + ", min: 1, max: 2}"),
    "huge-float": ex(hold="{default: 1e400, min: 1, max: 2}"),
    "nan-reps": ex(reps="{default: .nan, min: .nan, max: .nan}"),
    "negative-hold": ex(hold="{default: -5, min: -10, max: -1}"),
    "hold-as-string": ex(hold='"20"'), "hold-as-list": ex(hold="[20, 30]"), "reps-float": ex(reps="2.5"),
    "sides-int": ex(sides="5"), "sides-bogus": ex(sides="[up, down]"), "picture-int": ex(pic="5"),
    "picture-traversal": ex(pic="../../../../etc/passwd"), "picture-absolute": ex(pic="/etc/passwd"),
    "picture-backslash": ex(pic="..\\..\\etc\\passwd.svg"), "picture-dotdot-svg": ex(pic="../../x.svg"),
    "picture-url": ex(pic="http://evil.example/x.svg"), "picture-evil-svg": ex(pic="evil.svg"),
    "name-list": "name: [1, 2]\nsteps:\n  - say: x\n", "name-null": "name:\nsteps:\n  - say: x\n",
    "steps-map": "name: a thing\nsteps: {say: x}\n", "steps-string": "name: a thing\nsteps: hello\n",
    "steps-empty": "name: a thing\nsteps: []\n", "step-int": "name: a thing\nsteps: [5]\n",
    "answers-list": "name: a thing\nsteps:\n  - ask: Better?\n    answers: [better, worse]\n",
    "goto-int": "name: a thing\nsteps:\n  - ask: Better?\n    answers: {better: {goto: 5}, worse: {}, same: {}}\n",
    "goto-self-loop": "name: a loop\nsteps:\n  - id: a\n    ask: Better?\n    answers: {better: {goto: a}, worse: {goto: a}, same: {goto: a}}\n",
    "run-list": "name: a thing\nsteps:\n  - run: [x]\n", "run-self": "name: selfish\nsteps:\n  - run: run-self\n",
    "run-safety": "name: sneaky\nsteps:\n  - run: safety-screen\n",
    "exercises-list": "name: a thing\nexercises: [1]\nsteps:\n  - say: x\n",
    "top-list": "- 1\n- 2\n", "top-scalar": "hello\n", "top-null": "~\n",
    "duplicate-keys": "name: one\nname: two\nsteps:\n  - say: x\n",
    "tabs": "name: tabbed\nsteps:\n\t- say: x\n", "bom": "\ufeffname: bommed\nsteps:\n  - say: x\n",
    "crlf": "name: crlf thing\r\nsteps:\r\n  - say: x\r\n", "utf16": "name: sixteen\nsteps:\n  - say: x\n",
    "latin1": b"name: caf\xe9\nsteps:\n  - say: x\n", "nul": b"name: a\x00b\nsteps:\n  - say: x\n",
    "empty": "", "only-comment": "# nothing\n", "python-tag": "name: !!python/object/apply:os.system [echo pwned]\n",
    "binary-tag": "name: !!binary aGVsbG8=\nsteps:\n  - say: x\n", "set-tag": "name: !!set {a, b}\nsteps: [{say: x}]\n",
    "timestamp-name": "name: 2001-12-14t21:59:43.10-05:00\nsteps:\n  - say: x\n",
    "reserved-assessment": "name: my assessment\nsteps:\n  - say: x\n",
    "reserved-name-safety": "name: safety check\nsteps:\n  - say: x\n",
    "reserved-alias-checkin": "name: harmless\naliases: [check in, Safety  Check]\nsteps:\n  - say: x\n",
    "reserved-name-case": "name: SAFETY CHECK\nsteps:\n  - say: x\n",
    "reserved-name-zero-width": "name: safety\u200b check\nsteps:\n  - say: x\n",
    "bidi-name": "name: \"calf\\u202e stretch\"\nsteps:\n  - say: \"\\u2066x\\u2069\"\n",
    "zero-width-name": "name: \"calf\\u200b\\u200dstretch\"\nsteps:\n  - say: x\n",
    "control-name": "name: \"calf\\x1b]0;pwned\\x07 stretch\"\nsteps:\n  - say: \"\\x1b[2J\"\n",
    "ansi-say": "name: ansi say\nsteps:\n  - say: \"\\e[31mred\\e[0m\"\n",
    "long-name": "name: " + "a" * 200_000 + "\nsteps:\n  - say: x\n",
    "too-big": "name: big\nsteps:\n" + "  - say: " + "x" * 900 + "\n" * 1 + "  - say: y\n" * 120_000,
    "many-steps": "name: many\nsteps:\n" + "  - say: x\n" * 5000,
    "unicode-id-\u202e": ok_head, "space in id": ok_head, ".hidden": ok_head, "UPPER": ok_head,
}
for label, text in ROUTINE_FILES.items():
    rel = f"{U}{label}.yaml"
    data = text.encode("utf-16") if label == "utf16" else text
    extra = write(f"{U}pictures/evil.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    if label.startswith("reserved-") and label != "reserved-assessment":
        expect = says("skipped")
    elif label == "reserved-assessment":
        rel = f"{U}assessment.yaml"
        expect = says("skipped")
    else:
        expect = no_raw_chars
    case(f"routines: {label}", "routines", ["routines"], prep=both(write(rel, data), extra), check=expect)
    case(f"validate: {label}", "routines", ["validate", rel], prep=both(write(rel, data), extra),
         check=no_raw_chars)
for label, prep in {"symlink to a device": lambda t: symlink(U + "z.yaml", str(t / "dev/zero"))(t),
                    "symlink folder": symlink(U + "z.yaml", "/etc"),
                    "symlink loop": lambda t: (os.symlink(t / U / "y.yaml", t / U / "z.yaml"),
                                               os.symlink(t / U / "z.yaml", t / U / "y.yaml")),
                    "symlink /etc/passwd": symlink(U + "z.yaml", "/etc/passwd"),
                    "fifo": fifo(U + "z.yaml"), "folder named .yaml": lambda t: (t / U / "z.yaml").mkdir(),
                    "routines dir is a file": lambda t: (shutil.rmtree(t / U), (t / U).write_text("x")),
                    "routines dir symlink loop": lambda t: (shutil.rmtree(t / U), os.symlink(t / U, t / U)),
                    "pictures is a fifo": fifo(U + "pictures"),
                    "2000 files": lambda t: [(t / U / f"r{i}.yaml").write_text(f"name: r {i}\nsteps: [{{say: x}}]\n")
                                             for i in range(2000)],
                    "non-utf8 file name": lambda t: (t / U / os.fsdecode(b"\xff\xfe.yaml")).write_text(ok_head)}.items():
    case(f"routines: {label}", "routines", ["routines"], prep=prep, check=no_raw_chars)
    case(f"run: {label}", "routines", RUN, prep=prep, stdin=ANSWERS)
case("validate a device", "routines", ["validate", "dev/zero"])
case("validate /dev/stdin a fifo", "routines", "{vc} validate /dev/stdin <>p.fifo", prep=fifo("p.fifo"))
case("validate fifo", "routines", ["validate", "f.yaml"], prep=fifo("f.yaml"))
case("validate a folder", "routines", ["validate", "/etc"])
case("validate missing", "routines", ["validate", "no-such.yaml"])
case("validate same file 300 times", "routines", ["validate"] + [U + "x.yaml"] * 300, prep=write(U + "x.yaml", ok_head))
case("hear fifo", "routines", ["hear", "f.wav"], prep=fifo("f.wav"))
case("hear a device", "routines", ["hear", "dev/zero"])
case("hear folder", "routines", ["hear", "/tmp"])
case("hear huge declared wav", "routines", ["hear", "h.wav"],
     prep=write("h.wav", b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0\x01\0\x01\0\x80>\0\0\0}\0\0\x02\0\x10\0"
                b"data\xff\xff\xff\xff" + b"\0" * 1000))
case("hear zero channels wav", "routines", ["hear", "h.wav"],
     prep=write("h.wav", b"RIFF$\0\0\0WAVEfmt \x10\0\0\0\x01\0\x00\0\x80>\0\0\0}\0\0\x00\0\x10\0data\0\0\0\0"))
case("hear zero rate wav", "routines", ["hear", "h.wav"],
     prep=write("h.wav", b"RIFF$\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\0\0\0\0\0}\0\0\x02\0\x10\0data\x04\0\0\0\0\0\0\0"))

# --- settings files
S = "config/voicecoach/settings.toml"
SETTINGS = {
    "rate string": 'speech.rate = "150"', "rate huge": "speech.rate = 1e308", "rate inf": "speech.rate = inf",
    "rate nan": "speech.rate = nan", "rate negative": "speech.rate = -5", "volume 2": "speech.volume = 2",
    "volume nan": "speech.volume = nan", "cues string": 'speech.cues = "yes"', "engine bogus": 'speech.engine = "sam"',
    "voice traversal": 'speech.voice = "../../../etc/passwd"', "voice int": "speech.voice = 5",
    "input device list": "listening.input_device = [1, 2]", "input device table": "listening.input_device = {a = 1}",
    "silence 0": "listening.silence_timeout = 0", "silence nan": "listening.silence_timeout = nan",
    "silence inf": "listening.silence_timeout = inf", "sensitivity true": "listening.sensitivity = true",
    "sensitivity 99": "listening.sensitivity = 99", "barge bogus": 'listening.barge_in = "maybe"',
    "engine int": "listening.engine = 3", "web string": 'view.web = "true"', "port -1": "view.web_port = -1",
    "port 70000": "view.web_port = 70000", "port float": "view.web_port = 80.5", "lan int": "view.web_lan = 1",
    "exercise huge hold": "exercise.hip-stretches.figure-4.hold = 1e308",
    "exercise hold string": 'exercise.hip-stretches.figure-4.hold = "25"',
    "exercise unknown routine": "exercise.nope.nope.hold = 20", "exercise as value": "exercise = 5",
    "section as value": "speech = 5", "unknown key": "frob = 1", "date value": "speech.rate = 1979-05-27",
    "duplicate keys": "[speech]\nrate = 150\nrate = 160", "duplicate tables": "[speech]\nrate = 150\n[speech]\ncues = true",
    "deep tables": "a = " + "{b = " * 300 + "1" + "}" * 300, "deep arrays": "a = " + "[" * 5000 + "]" * 5000,
    "10000 tables": "".join(f"[t{i}]\nx = 1\n" for i in range(10_000)), "huge file": "# " + "x" * 3_000_000,
    "huge string": 'speech.voice = "' + "x" * 2_000_000 + '"', "non-utf8": b"speech.voice = \"\xff\xfe\"",
    "bom": "\ufeffspeech.rate = 150", "crlf": "[speech]\r\nrate = 150\r\n", "nul": b"speech.rate = 150\x00",
    "empty": "", "garbage": os.urandom(500), "utf16": "speech.rate = 150".encode("utf-16"),
    "huge int": "speech.rate = " + "9" * 5000,
}
for label, text in SETTINGS.items():
    case(f"config: settings {label}", "settings", ["config"], prep=write(S, text))
    case(f"run: settings {label}", "settings", RUN, prep=write(S, text), stdin=ANSWERS)
for label, prep in {"settings is a folder": lambda t: (t / S).mkdir(), "settings fifo": fifo(S),
                    "settings -> a device": lambda t: symlink(S, str(t / "dev/zero"))(t), "settings symlink loop": symlink(S, S)}.items():
    case(f"config: {label}", "settings", ["config"], prep=prep)
    case(f"run: {label}", "settings", RUN, prep=prep, stdin=ANSWERS)
    case(f"config set: {label}", "settings", ["config", "set", "speech.rate", "150"], prep=prep)
for key, value in [("", "1"), ("speech.rate", ""), ("speech.rate", "1e999"), ("speech.rate", "nan"),
                   ("x" * 100_000, "1"), ("speech.voice", 'x"\n[evil]\nspeech.rate = 5'), ("speech..rate", "1"),
                   ("speech.rate.x", "1"), ("exercise.hip-stretches.figure-4.hold", "1e308"),
                   ("speech.voice", "\u202eevil"), ("speech", "{rate = 150}"), ("view.web_port", "0x10"),
                   ("speech.rate", "[" * 5000), ("listening.input_device", "x" * 100_000)]:
    case(f"config set {key[:24]!r} {value[:16]!r}", "settings", ["config", "set", key, value], check=no_raw_chars)
case("config unset ''", "settings", ["config", "unset", ""])
case("config set extra args", "settings", ["config", "set", "speech.rate", "150", "x"])


# ---------------------------------------------------------------------------------- running
@dataclass
class Outcome:
    name: str
    group: str
    code: object
    traceback: bool
    hang: bool
    problem: str


def run_case(c: Case) -> Outcome:
    if c.needs == "root" and not IS_ROOT or c.needs == "chattr" and not HAVE_CHATTR:
        return Outcome(c.name, c.group, "skip", False, False, f"needs {c.needs}")
    tmp = Path(tempfile.mkdtemp(prefix="vc-audit-"))
    try:
        base(tmp)
        try:
            if c.prep:
                c.prep(tmp)
        except Exception as exc:  # noqa: BLE001 - the audit's own set-up failed: say so, go on
            return Outcome(c.name, c.group, "skip", False, False, f"set-up failed: {exc}")
        before = snapshot(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "COLUMNS", "LINES"))}
        env.update(HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
                   XDG_CACHE_HOME=str(tmp / "home/.cache"), PYTHONPATH=str(ROOT))
        for k, v in c.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v if not v or v.startswith("/") or "/" in v and v.startswith("rel") or k not in (
                    "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME") else str(tmp / v)
        vc = f"{PY} -m voicecoach"
        shell = isinstance(c.args, str)
        if shell:  # the program's own exit code, even at the head of a pipeline
            cmd = ["bash", "-c", c.args.format(vc=vc) + '; echo "${PIPESTATUS[0]}" > .rc']
        else:
            cmd = [PY, "-m", "voicecoach", *c.args]
        stdin_file, stdin_data = subprocess.DEVNULL, None
        if isinstance(c.stdin, bytes):
            stdin_file, stdin_data = subprocess.PIPE, c.stdin
        elif c.stdin == "closed":
            cmd = ["sh", "-c", 'exec "$@" <&-', "sh", *cmd]
        elif isinstance(c.stdin, str):
            stdin_file = open(c.stdin, "rb")
        try:
            proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdin=stdin_file, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:  # (an argument the system refuses to pass: the audit's limit, not the program's)
            return Outcome(c.name, c.group, "skip", False, False, f"could not start: {exc}")
        hang = False
        try:
            out, err = proc.communicate(stdin_data, timeout=HANG_S)
        except subprocess.TimeoutExpired:
            hang = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        except BrokenPipeError:
            out, err = proc.communicate()
        code: object = proc.returncode
        if shell and not hang:
            try:
                code = int((tmp / ".rc").read_text())
            except (OSError, ValueError):
                pass
        if stdin_file not in (subprocess.DEVNULL, subprocess.PIPE):
            stdin_file.close()
        out_s, err_s = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        tb = "Traceback (most recent call last)" in out_s + err_s or "Exception ignored" in out_s + err_s \
            or code == 70
        problems = [f"no end within {HANG_S} s"] if hang else []
        if not hang and c.codes is not None and code not in c.codes:
            problems.append(f"exit {code}, expected {c.codes}")
        elif not hang and code not in DOCUMENTED:
            problems.append(f"undocumented exit {code}")
        if c.check:
            found = c.check(tmp, out_s, err_s)
            if found:
                problems.append(found)
        problems += lost(before, snapshot(tmp), c.allowed)
        problems += devices_damaged(tmp)
        if tb:
            problems.append(_last_line(err_s))
        outcome = Outcome(c.name, c.group, "hang" if hang else code, tb, hang, "; ".join(problems))
        outcome.err = err_s  # type: ignore[attr-defined]
        return outcome
    finally:
        if c.cleanup:
            c.cleanup(tmp)
        subprocess.run(["chattr", "-R", "-i", str(tmp)], capture_output=True) if HAVE_CHATTR else None
        shutil.rmtree(tmp, ignore_errors=True)


def _q(s):
    return "'" + s.replace("'", "'\\''") + "'"


def _last_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:160]


# ---------------------------------------------------------------------------------- the web view
def web_cases(verbose: bool) -> list[Outcome]:
    """One live session with the web view; requests an attacker or a broken browser would send."""
    tmp = Path(tempfile.mkdtemp(prefix="vc-audit-web-"))
    base(tmp)
    # a damaged history for /history.png, and a user routine whose picture tries to get out
    loose_v2(tmp)
    (tmp / U / "pictures").mkdir(parents=True, exist_ok=True)
    (tmp / U / "pictures" / "evil.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (tmp / "secret.svg").write_text("<svg>SECRET</svg>")
    os.symlink(tmp / "secret.svg", tmp / U / "pictures" / "link.svg")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("XDG_")}, "HOME": str(tmp / "home"),
           "XDG_CONFIG_HOME": str(tmp / "config"), "XDG_DATA_HOME": str(tmp / "data"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([PY, "-m", "voicecoach", *RUN, "--view", "web", "--web-port", "0", "--history", "h.sqlite3"],
                            cwd=tmp, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    errs: list[str] = []
    port_found = threading.Event()
    port = [0]

    def read_err():
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace")
            errs.append(line)
            m = re.search(r"web view: http://127\.0\.0\.1:(\d+)/", line)
            if m:
                port[0] = int(m.group(1))
                port_found.set()
    threading.Thread(target=read_err, daemon=True).start()
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    outcomes: list[Outcome] = []
    if not port_found.wait(20):
        os.killpg(proc.pid, signal.SIGKILL)
        return [Outcome("web: session starts", "web", "hang", False, True, "no web view address")]
    p = port[0]
    ok_host = f"127.0.0.1:{p}"

    def raw(data: bytes, timeout=5.0, keep=False) -> tuple[object, bytes]:
        s = socket.create_connection(("127.0.0.1", p), timeout=timeout)
        try:
            s.sendall(data)
            if keep:
                return s, b""
            chunks = []
            while True:
                try:
                    b = s.recv(65536)
                except socket.timeout:
                    return "hang", b"".join(chunks)
                if not b:
                    break
                chunks.append(b)
                if sum(map(len, chunks)) > 2_000_000 or b"text/event-stream" in chunks[0]:
                    break  # (an event stream never ends by itself)
            data = b"".join(chunks)
            m = re.match(rb"HTTP/1\.[01] (\d+)", data)
            return (int(m.group(1)) if m else "none"), data
        finally:
            if not keep:
                s.close()

    def req(method="GET", path="/state", host: str | None = ok_host, extra=b"", body=b""):
        head = f"{method} {path} HTTP/1.1\r\n".encode("latin-1", "replace")
        if host is not None:
            head += b"Host: " + host.encode("latin-1", "replace") + b"\r\n"
        head += extra + b"Connection: close\r\n"
        if body:
            head += f"Content-Length: {len(body)}\r\n".encode()
        return raw(head + b"\r\n" + body)

    def add(name, status, problem=""):
        if status == 500 and not problem:
            problem = "server error (500)"
        outcomes.append(Outcome(f"web: {name}", "web", status, False, status == "hang", problem))
        _print(outcomes[-1])

    def refused(name, **kw):
        status, data = req(**kw)
        bad = status == 200 or b"routine" in data and b"caption" in data
        add(name, status, "answered a foreign host" if bad else ("" if status != "hang" else "hung"))

    for host in ("localhost.evil.com", "127.0.0.1.nip.io", "evil.com", "127.1", "0.0.0.0", "127.0.0.2",
                 "[::ffff:127.0.0.1]", "localhost:1", f"localhost:{p}@evil.com", f"evil.com#{p}", "", " ",
                 "localhost\x00.evil.com", f"LOCALHOST.:{p}.evil", "xn--localhost", "192.168.0.1", "[::1]:1",
                 f"evil.com:{p}", "localhost:" + "9" * 20, "local host", "localhost\tevil", "ⓛocalhost"):
        refused(f"Host {host!r}", host=host)
    refused("no Host", host=None)
    refused("Host twice (good then evil)", host=ok_host, extra=b"Host: evil.com\r\n")
    refused("Host twice (evil then good)", host="evil.com", extra=f"Host: {ok_host}\r\n".encode())
    refused("absolute-form URL to another host", path="http://evil.com/state", host="evil.com")
    refused("X-Forwarded-Host only", host="evil.com", extra=f"X-Forwarded-Host: {ok_host}\r\n".encode())
    for host in (ok_host, f"localhost:{p}", f"[::1]:{p}", "localhost", f"LocalHost.:{p}"):
        status, data = req(host=host)
        add(f"good Host {host!r}", status, "" if status == 200 else "refused this machine")
    for path in ("/pictures/../../../../etc/passwd", "/pictures/..%2f..%2f..%2fetc%2fpasswd",
                 "/pictures/%2e%2e%2f%2e%2e%2fetc%2fpasswd.svg", "/pictures/..%5c..%5cetc%5cpasswd.svg",
                 "/pictures//etc/passwd", "/pictures/%2fetc%2fpasswd.svg", "/../../etc/passwd", "/pictures/link.svg",
                 "/pictures/figure-4.svg%00.txt", "/pictures/..", "/pictures/.svg", "/pictures/" + "a" * 5000 + ".svg",
                 "/pictures/%ff%fe.svg", "/pictures/con.svg", "/%2e%2e/%2e%2e/etc/passwd"):
        status, data = req(path=path)
        bad = b"root:" in data or b"SECRET" in data
        add(f"GET {path[:50]}", status, "read a file outside the pictures" if bad else ("hung" if status == "hang" else ""))
    status, data = req(path="/pictures/evil.svg")
    csp = re.search(rb"content-security-policy: ([^\r]*)", data, re.I)
    add("evil.svg is sandboxed", status, "" if status == 404 or csp and b"sandbox" in csp.group(1) else "script can run")
    for path in ("/state?x=<script>alert(1)</script>", "/?" + "a" * 60_000, "/" + "%" * 1000, "/history.png",
                 "/history.png?x=1", "/history", "/events?" + "x" * 100, "/nope", "/state#frag", "*"):
        status, data = req(path=path)
        add(f"GET {path[:40]!r}", status, "hung" if status == "hang" else "")
    for method in ("HEAD", "POST", "OPTIONS", "PUT", "DELETE", "TRACE", "CONNECT", "PATCH", "FOO", "G\x00ET"):
        status, data = req(method=method, path="/" if method != "CONNECT" else "evil.com:443", body=b"x" * 10
                           if method in ("POST", "PUT") else b"")
        add(f"{method!r} /", status, "hung" if status == "hang" else "")
    for label, extra in {"100 KB header": b"X-Big: " + b"a" * 100_000 + b"\r\n",
                         "2000 headers": b"".join(b"X-%d: 1\r\n" % i for i in range(2000)),
                         "non-latin1 header": "X-U: ☃\r\n".encode(), "NUL in header": b"X-N: a\x00b\r\n",
                         "chunked garbage": b"Transfer-Encoding: chunked\r\n",
                         "negative length": b"Content-Length: -5\r\n", "huge length": b"Content-Length: 99999999999\r\n"}.items():
        status, data = req(path="/state", extra=extra)
        add(label, status, "hung" if status == "hang" else "")
    status, data = raw(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(100))
    add("TLS hello to http", status, "hung" if status == "hang" else "")
    junk, _b = raw(os.urandom(3000), keep=True)  # no answer is due; others must still be served
    status, data = req()
    junk.close()
    add("request while random bytes wait", status, "" if status == 200 else "blocked")
    # slowloris: many half-sent requests must not block a whole one
    slow = []
    try:
        for _ in range(60):
            s, _b = raw(b"GET /state HTTP/1.1\r\nHost: " + ok_host.encode() + b"\r\nX-a: ", keep=True)
            slow.append(s)
        t0 = time.monotonic()
        status, data = req()
        took = time.monotonic() - t0
        add("request while 60 half-sent requests wait", status,
            "" if status == 200 and took < 3 else f"blocked ({took:.1f} s, {status})")
        events = [raw(f"GET /events HTTP/1.1\r\nHost: {ok_host}\r\n\r\n".encode(), keep=True)[0] for _ in range(30)]
        t0 = time.monotonic()
        status, data = req()
        add("request while 30 event streams are open", status,
            "" if status == 200 and time.monotonic() - t0 < 3 else "blocked")
        slow += events
    except OSError as exc:
        add("slow clients", "error", str(exc))
    # the session must still end, promptly, with those connections open
    t0 = time.monotonic()
    try:
        proc.stdin.write(ANSWERS + b"stop\n")
        proc.stdin.close()
    except OSError:
        pass
    try:
        code = proc.wait(timeout=HANG_S)
        add("session ends with slow clients connected", code,
            "" if code in DOCUMENTED and time.monotonic() - t0 < 15 else f"took {time.monotonic() - t0:.0f} s")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        add("session ends with slow clients connected", "hang", "did not end")
    for s in slow:
        s.close()
    text = "".join(errs)
    if "Traceback" in text or "Exception ignored" in text:
        for o in outcomes:
            o.traceback = "Traceback" in text
        outcomes.append(Outcome("web: server log", "web", "-", True, False, _last_line(text)))
        _print(outcomes[-1])
    if verbose:
        print(text[-3000:], file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)
    return outcomes


# ---------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", help="only cases whose name or group contains this")
    ap.add_argument("-v", action="store_true", help="print the stderr of failing cases")
    ap.add_argument("--no-web", action="store_true")
    opts = ap.parse_args()
    chosen = [c for c in CASES if not opts.k or opts.k in c.name or opts.k == c.group] if opts.k != "web" else []
    results: list[Outcome] = []
    print(f"{'case':62} {'group':9} {'exit':>5} {'tb':>3} {'hang':>4}  problem")
    for c in chosen:
        o = run_case(c)
        results.append(o)
        _print(o)
        if opts.v and o.problem and hasattr(o, "err"):
            print("    | " + "\n    | ".join(o.err.splitlines()[-8:]))
    if not opts.no_web and (not opts.k or opts.k == "web"):
        results += web_cases(opts.v)
    bad = [o for o in results if o.problem and o.code != "skip"]
    skipped = [o for o in results if o.code == "skip"]
    for o in skipped:
        print(f"skipped: {o.name}: {o.problem}")
    print(f"\n{len(results)} cases: {len(results) - len(bad) - len(skipped)} passed, {len(bad)} failed "
          f"({sum(o.traceback for o in bad)} tracebacks, {sum(o.hang for o in bad)} hangs), {len(skipped)} skipped")
    return 1 if bad else 0


def _print(o: Outcome) -> None:
    name = o.name.encode("unicode_escape").decode()[:62]
    print(f"{name:62} {o.group:9} {str(o.code):>5} {'yes' if o.traceback else 'no':>3} "
          f"{'yes' if o.hang else 'no':>4}  {o.problem[:150].encode('unicode_escape').decode()}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
