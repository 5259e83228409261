"""History in a real SQLite file: sessions survive a killed process."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

from voicecoach.store.history import MIGRATIONS, Store


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
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_schema_1_history_is_migrated_with_its_data(tmp_path):
    """A file written by the first release (schema 1) opens, keeps its sessions, gains columns."""
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0] + """
        INSERT INTO sessions(id, started_at, ended_at, routine, end_reason) VALUES (1, 1700000000, 1700000900,
            'assessment', 'done');
        INSERT INTO events(session_id, at, kind, data) VALUES (1, 1700000500, 'result', '{"preference": "flexion"}');
        INSERT INTO facts(key, value, updated_at) VALUES ('screen_passed', 'true', 1700000100);
        PRAGMA user_version=1;""")
    old.close()
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    (row,) = store.summaries()
    assert (row["routine"], row["preference"], row["end"], round(row["minutes"])) == ("assessment", "flexion", "done", 15)
    assert store.get_fact("screen_passed") is True
    assert store.db.execute("SELECT resumed_from FROM sessions").fetchall() == [(None,)]


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


def test_a_report_that_fails_half_way_leaves_the_old_one(tmp_path):
    """A full disk (here: an error while writing) never leaves half a file over the last report."""
    import pytest
    from voicecoach.store.report import replaced_atomically
    old = tmp_path / "data.csv"
    old.write_text("the last report\n")
    with pytest.raises(OSError):
        with replaced_atomically(old) as tmp:
            tmp.write_text("half a rep")
            raise OSError(28, "No space left on device")
    assert old.read_text() == "the last report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]  # no temporary file left behind
    with replaced_atomically(old) as tmp:
        tmp.write_text("new\n")
    assert old.read_text() == "new\n"


def test_an_interrupted_session_resumes_at_the_step_it_stopped(tmp_path):
    db = tmp_path / "h.sqlite3"
    run = [sys.executable, "-m", "voicecoach"]
    proc = subprocess.Popen(run + ["run", "assessment", "--text", "--speed", "5", "--history", str(db)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    proc.stdin.write("no\nno\nno\nno\nthree\nthigh\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while "Hold for 45 seconds" not in proc.stdout.readline():  # in the first test position
        assert time.monotonic() < deadline and proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)  # as hard as a crash or a pulled plug
    proc.wait()

    nothing = subprocess.run(run + ["resume", "--text", "--history", str(tmp_path / "other.sqlite3")],
                             capture_output=True, text=True)
    assert nothing.returncode == 1 and "no interrupted session" in nothing.stderr

    r = subprocess.run(run + ["resume", "--text", "--speed", "1000", "--history", str(db)],
                       input="stayed\nbetter\nfour\nthigh\n", text=True, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Welcome back. We'll pick up where we stopped: Knees to chest." in r.stdout
    assert "safety questions" not in r.stdout  # passed before the crash
    after = r.stdout.split("Welcome back.")[1]
    assert after.count("How bad is the leg pain now") == 1  # only the closing check-in
    assert "Hold for 45 seconds" in after  # the interrupted position again, from its start
    store = Store(db)
    resumed, crashed = store.summaries()
    assert (crashed["end"], resumed["end"], resumed["preference"]) == ("interrupted", "done", "flexion")
    assert resumed["pain_before"] == 3  # the check-in from before the crash still counts as the start
    assert store.db.execute("SELECT resumed_from FROM sessions ORDER BY id").fetchall() == [(None,), (1,)]
    assert store.resume_point() is None  # finished now: nothing left to resume


def test_history_shows_the_routine_the_person_chose_not_the_screen_or_check_in(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    store.begin_session(None)  # the menu
    store.record("routine", {"routine": "safety-screen"})
    store.record("routine", {"routine": "check-in"})
    store.record("answer", {"question": "menu", "intent": "start:hip-stretches", "text": "hip stretches"})
    store.record("routine", {"routine": "hip-stretches"})
    assert store.summaries()[0]["routine"] == "hip-stretches"


def test_resume_offers_the_latest_interrupted_session_even_after_one_that_ended(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    store.begin_session("hip-stretches")
    store.record("step", {"routine": "hip-stretches", "block": 3, "title": "Figure-4 stretch, left side"})
    interrupted = store.session_id
    store.begin_session("check-in")  # a later, short session that ended
    store.record("end", {"reason": "done"})
    point = Store(tmp_path / "h.sqlite3").resume_point()
    assert (point.routine, point.block, point.session) == ("hip-stretches", 3, interrupted)


def test_a_session_resumed_and_finished_is_not_offered_again(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    store.begin_session("hip-stretches")
    store.record("step", {"routine": "hip-stretches", "block": 3, "title": "Figure-4 stretch"})
    first = store.session_id
    store.begin_session(None)
    store.record("resumed", {"session": first, "block": 3})
    store.record("end", {"reason": "done"})
    assert store.summaries()[0]["routine"] == "hip-stretches"
    assert Store(tmp_path / "h.sqlite3").resume_point() is None


def test_a_session_interrupted_before_its_first_step_resumes_at_the_start(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    store.begin_session("nerve-glides")
    store.record("routine", {"routine": "check-in"})
    point = Store(tmp_path / "h.sqlite3").resume_point()
    assert (point.routine, point.block) == ("nerve-glides", 1)


def test_the_csv_never_hands_a_spreadsheet_a_formula(tmp_path):
    """A routine named like a formula (from a user's routine file) is text in the CSV."""
    import csv
    import time as _time
    from voicecoach.store.report import write_csv
    row = {"id": 1, "started_at": _time.time(), "minutes": 3.0, "routine": '=HYPERLINK("http://x","y")',
           "pain_before": "-1+2", "pain_after": 4}
    write_csv([row], tmp_path / "d.csv")
    got = next(csv.DictReader(open(tmp_path / "d.csv")))
    assert got["routine"] == '\'=HYPERLINK("http://x","y")' and got["pain_before"] == "'-1+2"
    assert got["pain_after"] == "4" and got["id"] == "1"
