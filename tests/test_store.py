"""History in a real SQLite file: sessions survive a killed process."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

from voicecoach.store import Store


def test_records_are_committed_one_by_one(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    sid = store.begin_session("assessment")
    store.record("result", {"preference": "extension"})
    other = sqlite3.connect(tmp_path / "h.sqlite3")  # a second reader sees it at once
    assert other.execute("SELECT kind FROM events WHERE session_id=?", (sid,)).fetchall() == [("result",)]
    assert store.get_fact("preference")["value"] == "extension"


def test_schema_version_is_recorded_and_migration_is_idempotent(tmp_path):
    Store(tmp_path / "h.sqlite3").close()
    store = Store(tmp_path / "h.sqlite3")
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_killing_the_coach_mid_session_keeps_earlier_sessions(tmp_path):
    db = tmp_path / "h.sqlite3"
    cmd = [sys.executable, "-m", "voicecoach", "run", "assessment", "--text", "--speed", "1000",
           "--history", str(db)]
    done = subprocess.run(cmd, input="no\nno\nno\nno\nthree\nthigh\nstayed\nbetter\nthree\nthigh\n", text=True, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # a slow session, killed in the middle of a hold
    proc = subprocess.Popen(cmd[:-4] + ["--text", "--speed", "5", "--history", str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store(db)
    rows = store.summaries()
    assert len(rows) == 2
    interrupted, finished = rows
    assert finished["end"] == "done" and finished["preference"] == "flexion"
    assert interrupted["end"] == "interrupted"
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_history_command_and_my_routine(tmp_path):
    db = tmp_path / "h.sqlite3"
    run = [sys.executable, "-m", "voicecoach"]
    subprocess.run(run + ["run", "assessment", "--text", "--speed", "1000", "--history", str(db)],
                   input="no\nno\nno\nno\nskip\nskip\nstayed\nworse\nstayed\nbetter\nskip\nskip\n", text=True, capture_output=True, check=True)
    out = subprocess.run(run + ["history", "--history", str(db)], capture_output=True, text=True, check=True).stdout
    assert "assessment" in out and "extension" in out
    menu = subprocess.run(run + ["--text", "--speed", "1000", "--history", str(db)], input="start my routine\nskip\nskip\n",
                          text=True, capture_output=True, check=True).stdout
    assert "This is your extension routine." in menu


def test_report_chart_and_csv_from_weeks_of_history(tmp_path):
    import csv
    import time as _time

    store = Store(tmp_path / "h.sqlite3")
    for day in range(21):  # three weeks, one session a day
        store.begin_session("full-program")
        t = _time.time() - (21 - day) * 24 * 3600
        store.db.execute("UPDATE sessions SET started_at=?, ended_at=?, end_reason='done' WHERE id=?",
                         (t, t + 900, store.session_id))
        for kind, value in (("pain", 7 - day // 4), ("location", ["calf", "knee", "thigh", "buttock"][min(3, day // 6)]),
                            ("pain", 6 - day // 4), ("location", ["knee", "thigh", "buttock", "back"][min(3, day // 6)])):
            store.record("check", {"kind": kind, "value": str(value)})
        if day % 7 == 0:
            store.record("result", {"preference": "extension"})
    store.close()
    out, data = tmp_path / "chart.png", tmp_path / "data.csv"
    r = subprocess.run([sys.executable, "-m", "voicecoach", "report", "--history", str(tmp_path / "h.sqlite3"),
                        "--out", str(out), "--csv", str(data)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"Chart saved to {out}" in r.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    rows = list(csv.DictReader(open(data)))
    assert len(rows) == 21 and rows[0]["pain_before"] == "7" and rows[-1]["location_after"] == "back"
