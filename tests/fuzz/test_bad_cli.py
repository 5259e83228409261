"""Bad input through the real command line, table-driven: every case ends (a timeout is only
a give-up bound), prints no traceback, says what is wrong in one line on stderr, and exits
with the code the README documents; files already there (history rows, another program's
database) are exactly as they were. Hypothesis adds random event rows for the store and
random Host headers for the web view."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.store.history import FACT_SHAPES, Store, StoreError
from voicecoach.views.web import host_allowed

GIVE_UP_S = 90  # a bound for a hang, not a time anyone expects


def cli(*args: str, cwd: Path, stdin=subprocess.DEVNULL, shell: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": str(cwd / "config"), "XDG_DATA_HOME": str(cwd / "data")}
    cmd = ["sh", "-c", shell] if shell else [sys.executable, "-m", "voicecoach", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, stdin=stdin, capture_output=True, timeout=GIVE_UP_S)


def digest(path: Path) -> str:
    if path.is_symlink() or not (path.is_file() or path.is_dir()):
        return f"not a file: {os.lstat(path).st_mode:o}"  # (a FIFO or a link to a device is never read)
    if path.is_dir():
        return "folder"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(tmp: Path) -> None:
    """The bad inputs every case may name."""
    (tmp / "not-a-db.sqlite3").write_bytes(b"this is a text file\n" * 20)
    (tmp / "a-folder.sqlite3").mkdir()
    other = sqlite3.connect(tmp / "other-program.db")
    other.executescript("CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES ('ann'), ('bob');")
    other.commit()
    other.close()
    good = Store(tmp / "good.sqlite3")
    good.set_fact("screen_passed", True)
    good.begin_session("hip-stretches")
    good.record("check", {"kind": "pain", "phase": "before", "value": "4"})
    good.record("end", {"reason": "done"})
    good.close()
    damaged = Store(tmp / "damaged-rows.sqlite3")
    damaged.begin_session("hip-stretches")
    damaged.db.execute("INSERT INTO events(session_id, at, kind, data) VALUES (1, 1, 'check', x'00ff'), "
                       "(1, 2, 'step', 'not json'), (1, 3, 'hold', '[1,2]'), (1, 4, 'check', '{\"kind\": \"pain\"}')")
    damaged.db.execute("INSERT INTO facts VALUES ('safety_stop', '{\"reason\": 5', 0), ('preference', '[]', 0)")
    damaged.close()
    wrong = sqlite3.connect(tmp / "wrong-columns.sqlite3")  # our table names, someone else's columns
    wrong.executescript("CREATE TABLE sessions(id); CREATE TABLE events(x); CREATE TABLE facts(y); "
                        "INSERT INTO sessions VALUES (1); PRAGMA user_version=2;")
    wrong.close()
    odd = Store(tmp / "odd-rows.sqlite3")
    for start in (1e300, -1e15, 1.7e9):
        odd.begin_session("hip-stretches")
        odd.session_id = None
    odd.db.execute("UPDATE sessions SET started_at=1e300, ended_at=-1e300 WHERE id=1")
    odd.db.execute("UPDATE sessions SET started_at=-1e15 WHERE id=2")
    odd.db.execute("UPDATE sessions SET routine=char(27)||'[2J[bold]x[/]'||char(8238)||'evil' WHERE id=3")
    odd.close()
    users = tmp / "config" / "voicecoach" / "routines"
    users.mkdir(parents=True)
    (users / "safety-screen.yaml").write_text("name: safety check\nsteps:\n  - say: All clear.\n")
    (users / "check-in.yaml").write_text("name: check in\nsteps:\n  - say: Fine.\n")
    (users / "my-thing.yaml").write_text("name: assessment\nsteps:\n  - say: Hi.\n")
    (users / "laughs.yaml").write_text("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")))
    (users / "deep.yaml").write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    (users / "evil.yaml").write_text('name: "calf\\u202e stretch\\x1b[2J"\nsteps:\n  - say: Calf.\n')
    (users / "twin.yaml").write_text("name: hip stretches\nsteps:\n  - say: Twin.\n")
    (users / "cafe.yaml").write_text("name: café crème\nsteps:\n  - say: Hé.\n")
    os.mkfifo(users / "pipe.yaml")
    (tmp / "notes.txt").write_text("my own notes\n")
    os.mkfifo(tmp / "pipe.sqlite3")
    os.mkfifo(tmp / "pipe.wav")
    (tmp / "zero.sqlite3").symlink_to("/dev/zero")
    (tmp / "deep.toml").write_text("a = " + "[" * 3000 + "]" * 3000 + "\n")


# (id, arguments or a shell line, exit code, words in the one line; None: any non-empty message)
RUN = ["run", "hip-stretches", "--text", "--speed", "1000"]
CASES = [
    ("speed-zero", ["run", "hip-stretches", "--speed", "0"], 2, "--speed"),
    ("speed-negative", ["run", "hip-stretches", "--speed", "-3"], 2, "--speed"),
    ("speed-nan", ["run", "hip-stretches", "--speed", "nan"], 2, "--speed"),
    ("port-too-big", ["run", "hip-stretches", "--web-port", "70000"], 2, "--web-port"),
    ("limit-huge", ["history", "--limit", "9" * 30], 2, "--limit"),
    ("routines-missing-folder", ["routines", "--routines", "no/such/folder"], 2, "no such folder"),
    ("history-not-a-db", ["history", "--history", "not-a-db.sqlite3"], 4, "not a history file"),
    ("history-folder", ["history", "--history", "a-folder.sqlite3"], 4, "is a folder"),
    ("history-other-program", ["history", "--history", "other-program.db"], 4, "another program's database"),
    ("report-other-program", ["report", "--history", "other-program.db"], 4, "another program's database"),
    ("report-out-missing-folder", ["report", "--history", "good.sqlite3", "--out", "nowhere/r.png"], 2, "no folder"),
    ("report-out-folder", ["report", "--history", "good.sqlite3", "--out", "a-folder.sqlite3"], 2, "is a folder"),
    ("config-not-utf8", ["config", "set", "listening.input_device", os.fsdecode(b"\xff\xfe")], 2, "not UTF-8"),
    ("validate-reserved", ["validate", "config/voicecoach/routines/safety-screen.yaml"], 1, "shipped safety routine"),
    ("history-wrong-columns", ["history", "--history", "wrong-columns.sqlite3"], 4, "another program's database"),
    ("run-on-wrong-columns", RUN + ["--history", "wrong-columns.sqlite3"], 0, "another program's database"),
    ("resume-on-wrong-columns", ["resume", "--text", "--history", "wrong-columns.sqlite3"], 1, None),
    ("history-times-out-of-range", ["history", "--history", "odd-rows.sqlite3"], 0, None),
    ("report-times-out-of-range", ["report", "--history", "odd-rows.sqlite3", "--out", "odd.png"], 0, None),
    ("report-out-onto-history", ["report", "--history", "good.sqlite3", "--out", "good.sqlite3"], 2, "history itself"),
    ("report-csv-onto-other-db", ["report", "--history", "good.sqlite3", "--csv", "other-program.db"], 2,
     "is a database"),
    ("report-out-onto-a-text-file", ["report", "--history", "good.sqlite3", "--out", "notes.txt"], 2,
     "not a PNG picture"),
    ("report-out-device", ["report", "--history", "good.sqlite3", "--out", "/dev/full"], 2, "not a regular file"),
    ("history-fifo", ["history", "--history", "pipe.sqlite3"], 4, "not a regular file"),
    ("report-device", ["report", "--history", "zero.sqlite3"], 4, "not a regular file"),
    ("run-on-fifo", RUN + ["--history", "pipe.sqlite3"], 0, "not a regular file"),
    ("hear-fifo", ["hear", "pipe.wav"], 1, "not a WAV recording (a pipe"),
    ("run-on-not-a-db", RUN + ["--history", "not-a-db.sqlite3"], 0, None),
    ("run-on-other-program", RUN + ["--history", "other-program.db"], 0, None),
    ("stdout-closed", f"exec {sys.executable} -m voicecoach history --history good.sqlite3 >&-", 0, None),
    ("stderr-closed", f"exec {sys.executable} -m voicecoach validate config/voicecoach/routines/evil.yaml 2>&-", 0, None),
    ("ascii-output", f"PYTHONIOENCODING=ascii exec {sys.executable} -m voicecoach routines", 0, None),
    ("run-stdin-closed", f"exec {sys.executable} -m voicecoach {' '.join(RUN)} --history new.sqlite3 <&-", 0, None),
]


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad-cli")
    files(tmp)
    return tmp


@pytest.mark.parametrize("name, args, code, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line_and_its_exit_code(place, name, args, code, words):
    before = {p.name: digest(p) for p in place.iterdir() if p.suffix in (".db", ".sqlite3", ".txt")}
    done = cli(cwd=place, shell=args) if isinstance(args, str) else cli(*args, cwd=place)
    out, err = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    assert "Traceback" not in out + err, err
    assert done.returncode == code, (done.returncode, err)
    problems = [ln for ln in err.splitlines() if ln and not ln.startswith(("warning:", "note:", "["))]
    if code in (2, 4) and not name.startswith("run"):
        assert len(problems) == 1 or name == "validate-reserved" or "usage:" in err, err
    if words:
        assert words in err, err
    after = {p.name: digest(p) for p in place.iterdir() if p.name in before}
    assert after == before, "a file already there was changed"


def test_a_session_on_an_unusable_history_says_so_and_runs(place):
    done = cli(*RUN, "--history", "other-program.db", cwd=place)
    err = done.stderr.decode()
    assert done.returncode == 0 and "another program's database" in err and "could not be saved" in err, err
    rows = sqlite3.connect(place / "other-program.db").execute("SELECT count(*) FROM contacts").fetchone()
    assert rows == (2,)


def test_a_new_history_path_is_named(place):
    done = cli(*RUN, "--history", "typo.sqlit3", cwd=place)
    assert "a new history is started there" in done.stderr.decode()


def test_typed_input_from_dev_zero_ends(place):
    with open("/dev/zero", "rb") as zero:
        done = cli(*RUN, "--history", "zero.sqlite3", cwd=place, stdin=zero)
    assert "Traceback" not in done.stderr.decode() and "not lines of text" in done.stderr.decode()


def test_the_user_folder_of_bad_files_loads_the_rest_and_keeps_the_safety_routines(place):
    done = cli("routines", cwd=place)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0 and "Traceback" not in err, err
    for name in ("safety-screen.yaml", "check-in.yaml", "my-thing.yaml", "laughs.yaml", "deep.yaml", "pipe.yaml"):
        assert any(name in ln and ln.startswith("warning: skipped routine:") for ln in err.splitlines()), (name, err)
    assert "belongs to hip-stretches, twin; saying it starts hip-stretches" in err
    assert "\x1b" not in out and "\u202e" not in out and "evil" in out
    assert "safety check" in out  # the shipped screen, not the user's "all clear"


def test_stored_text_is_shown_as_text(place):
    done = cli("history", "--history", "odd-rows.sqlite3", cwd=place)
    out = done.stdout.decode()
    assert "\x1b" not in out and "\u202e" not in out and "[bold]x[/]" in out and "evil" in out, out


def test_damaged_rows_are_left_out_and_a_damaged_safety_stop_still_counts(place):
    done = cli("history", "--history", "damaged-rows.sqlite3", cwd=place)
    assert done.returncode == 0 and "Traceback" not in done.stderr.decode(), done.stderr.decode()
    store = Store(place / "damaged-rows.sqlite3", readonly=True)
    assert store.get_fact("safety_stop")["reason"]  # unreadable, but never "no stop"
    assert store.get_fact("preference") is None


def test_output_into_a_closed_pipe_ends_quietly(place):
    env = {**os.environ, "XDG_CONFIG_HOME": str(place / "config"), "XDG_DATA_HOME": str(place / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "history", "--history", "good.sqlite3"], cwd=place,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=GIVE_UP_S) == 141 and err == "", err


# ---------------------------------------------------------------------- Hypothesis: the store, the Host header
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROW = st.one_of(st.binary(max_size=20), st.text(max_size=20), st.integers(-2**63, 2**63 - 1),  # NOT NULL columns
                st.sampled_from(['{"kind": "pain", "value": "x"}', '{"kind": "pain", "value": 99}', "[]", "{}",
                                 '{"routine": 1, "block": "a", "title": null}', '{"preference": 3}', "1e999"]))


@FUZZ
@given(rows=st.lists(st.tuples(st.sampled_from(["check", "step", "hold", "result", "end", "x"]), ROW), max_size=8),
       facts=st.dictionaries(st.sampled_from(sorted(FACT_SHAPES)), ROW, max_size=4))
def test_any_stored_rows_read_without_an_exception_and_are_kept(rows, facts, tmp_path_factory):
    path = tmp_path_factory.mktemp("rows") / "h.sqlite3"
    store = Store(path)
    sid = store.begin_session("hip-stretches")
    for kind, data in rows:
        store.db.execute("INSERT INTO events(session_id, at, kind, data) VALUES (?,?,?,?)", (sid, 1.0, kind, data))
    for key, value in facts.items():
        store.db.execute("INSERT INTO facts VALUES (?,?,0)", (key, value))
    store.close()
    store = Store(path)
    store.summaries()
    store.resume_point(now=2.0)
    store.pain_since(0)
    for key in FACT_SHAPES:
        store.get_fact(key)
    store.record("end", {"reason": "done"})
    store.close()
    count = sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0]
    assert count == len(rows) + 1  # nothing lost, nothing rewritten


def test_a_full_disk_keeps_the_records_and_writes_them_when_it_can(tmp_path):
    said = []
    store = Store(tmp_path / "h.sqlite3", warn=said.append)
    store.begin_session("hip-stretches")
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count={pages}")  # the file may not grow: as a full disk
    for i in range(200):
        store.record("hold", {"completed": True, "pad": "x" * 500, "i": i})
    assert store.unsaved > 0 and len(said) == 1 and "full" in said[0], said
    store.db.execute("PRAGMA max_page_count=1000000")  # space again
    store.close()
    assert sqlite3.connect(tmp_path / "h.sqlite3").execute("SELECT count(*) FROM events").fetchone()[0] == 200


def test_unusable_files_are_refused_and_left_as_they_are(tmp_path):
    (tmp_path / "x.sqlite3").write_bytes(b"SQLite format 3\0" + b"\xff" * 2000)
    for path in (tmp_path / "x.sqlite3", tmp_path):
        before = digest(path)
        with pytest.raises(StoreError) as info:
            Store(path)
        assert str(info.value) and "\n" not in str(info.value)
        assert digest(path) == before


@settings(max_examples=300, deadline=None)
@given(host=st.one_of(st.none(), st.text(max_size=60), st.from_regex(r"[a-z0-9.\[\]:]{0,30}", fullmatch=True)))
def test_only_this_machine_is_answered(host):
    ok = host_allowed(host, ("127.0.0.1", 8765), lan=False)
    if ok:
        name = host.strip().rsplit(":", 1)[0] if not host.strip().startswith("[") else host.strip().split("]")[0] + "]"
        assert name.strip("[]").lower().rstrip(".") in {"localhost", "127.0.0.1", "::1", "localhost.localdomain"}


def test_pictures_are_only_regular_files_inside_a_pictures_folder(tmp_path):
    from starlette.testclient import TestClient

    from voicecoach.content.vocabulary import Vocabulary
    from voicecoach.views.model import ViewModel
    from voicecoach.views.web import WebView
    (tmp_path / "pictures").mkdir()
    (tmp_path / "secret.svg").write_text("<svg>SECRET</svg>")
    (tmp_path / "pictures" / "link.svg").symlink_to(tmp_path / "secret.svg")
    (tmp_path / "pictures" / "mine.svg").write_text("<svg>mine</svg>")
    os.mkfifo(tmp_path / "pictures" / "pipe.svg")
    view = WebView(ViewModel(Vocabulary.load(), {}, {}), lambda: 0.0, None, routine_dirs=[tmp_path])
    client = TestClient(view.app(), base_url="http://127.0.0.1:8765")
    assert client.get("/pictures/mine.svg").status_code == 200
    for name in ("link.svg", "pipe.svg", "a" * 5000 + ".svg", "..%2fsecret.svg", ".svg"):
        answer = client.get(f"/pictures/{name}")
        assert answer.status_code == 404 and "SECRET" not in answer.text, name


@pytest.mark.parametrize("host, lan, ok", [
    ("localhost:8765", False, True), ("127.0.0.1:8765", False, True), ("[::1]:8765", False, True),
    ("127.0.0.1", False, True), ("evil.example:8765", False, False), ("localhost.evil.example", False, False),
    ("127.0.0.1:9999", False, False), ("10.0.0.5:8765", False, False), ("10.0.0.5:8765", True, False),
    ("192.168.1.7:8765", True, True), ("localhost:8765@evil", False, False), ("", False, False),
])
def test_host_header_table(host, lan, ok):
    assert host_allowed(host, ("192.168.1.7" if lan else "127.0.0.1", 8765), lan) is ok


def test_the_app_refuses_other_hosts_and_sends_a_strict_policy():
    from starlette.testclient import TestClient

    from voicecoach.content.vocabulary import Vocabulary
    from voicecoach.views.model import ViewModel
    from voicecoach.views.web import WebView
    view = WebView(ViewModel(Vocabulary.load(), {}, {}), lambda: 0.0, None)
    client = TestClient(view.app(), base_url="http://127.0.0.1:8765")
    assert client.get("/state", headers={"Host": "rebound.example:8765"}).status_code == 421
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert page.status_code == 200 and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert "default-src 'none'" in csp and page.headers["x-content-type-options"] == "nosniff"
    assert "innerHTML" not in page.text
    picture = client.get("/pictures/figure-4.svg")
    assert picture.headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in picture.headers["content-security-policy"]


@pytest.mark.parametrize("make", [lambda p: p.symlink_to("/dev/zero"), os.mkfifo, Path.mkdir],
                         ids=["device", "fifo", "folder"])
def test_a_settings_file_that_is_not_a_file_is_refused_at_once(tmp_path, make):
    (tmp_path / "config" / "voicecoach").mkdir(parents=True)
    make(tmp_path / "config" / "voicecoach" / "settings.toml")
    for args, code in ((["config"], 2), (["config", "set", "speech.rate", "150"], 2), (RUN, 0)):
        done = cli(*args, cwd=tmp_path)
        err = done.stderr.decode()
        assert done.returncode == code and "Traceback" not in err and "settings.toml:1:" in err, (args, err)


def test_a_locked_history_costs_one_short_wait_and_keeps_the_records(tmp_path):
    path = tmp_path / "h.sqlite3"
    Store(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program in the middle of writing
    said = []
    store = Store(path, warn=said.append)
    tries = []  # each transaction begun waits up to BUSY_WAIT_S on the lock: count them, not the seconds
    begin = store._tx
    store._tx = lambda: (tries.append(1), begin())[1]
    store.begin_session("hip-stretches")
    for i in range(50):
        store.record("hold", {"completed": True, "i": i})
    assert len(tries) == 1 and store.unsaved == 50 and len(said) == 1 and "in use" in said[0], (tries, said)
    store._tx = begin
    other.execute("ROLLBACK")
    other.close()
    store.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0] == 50


@pytest.mark.parametrize("text, words", [
    ("".join(f"[t{i}]\nx = 1\n" for i in range(5000)), "entries"),
    ("a = " + "[" * 3000 + "]" * 3000 + "\n", "nested"),
    ("a = " + "{b = " * 50 + "1" + "}" * 50 + "\n", "nested"),
], ids=["thousands-of-tables", "deep-arrays", "deep-tables"])
def test_settings_files_too_big_or_deep_end_in_one_line(tmp_path, text, words):
    (tmp_path / "config" / "voicecoach").mkdir(parents=True)
    (tmp_path / "config" / "voicecoach" / "settings.toml").write_text(text)
    done = cli("config", cwd=tmp_path)
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err and words in err and len(err.splitlines()) == 1, err


def test_half_sent_requests_cannot_use_up_the_web_views_connections(monkeypatch):
    """Connections left open mid-request are bounded: beyond the bound the server answers 503
    and closes, so the process keeps its file handles; closing them frees the page again."""
    import socket
    import urllib.error
    import urllib.request

    from voicecoach.content.vocabulary import Vocabulary
    from voicecoach.views import web
    from voicecoach.views.model import ViewModel
    monkeypatch.setattr(web, "MAX_CONNECTIONS", 5)
    view = web.WebView(ViewModel(Vocabulary.load(), {}, {}), lambda: 0.0, None, port=0)
    url = view.start()
    port = int(url.rsplit(":", 1)[1].strip("/"))
    try:
        held = []
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /state HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            held.append(s)
        extra = socket.create_connection(("127.0.0.1", port), timeout=5)
        extra.sendall(b"GET /state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert extra.recv(64).startswith(b"HTTP/1.1 503")
        extra.close()
        for s in held:
            s.close()
        deadline = time.monotonic() + 10
        while True:  # the server notices the closed connections in its own time
            try:
                with urllib.request.urlopen(url + "state", timeout=5) as page:
                    assert page.status == 200
                    break
            except urllib.error.HTTPError as exc:
                assert exc.code == 503 and time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        view.stop()
