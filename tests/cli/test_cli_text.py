"""The real CLI in text mode, answers piped through stdin."""

import os
import subprocess
import sys
import textwrap

import pytest

SCREEN = "no\nno\nno\nno\n"
BEFORE = "three\nmy thigh\n"  # pain score and location before the session
AFTER = "two\nbuttock\n"
M = "stayed\n"  # how the symptoms moved after an assessment position


def voicecoach(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, text=True,
                          capture_output=True, env=dict(os.environ), timeout=60)


@pytest.mark.parametrize("answers, expect, absent", [
    (M + "better\n", "This is your flexion routine.", "This is your extension routine."),
    (M + "worse\n" + M + "better\n", "This is your extension routine.", "This is your flexion routine."),
])
def test_full_program_branches_by_the_answers(answers, expect, absent):
    r = voicecoach("run", "full-program", "--text", "--speed", "1000", stdin=SCREEN + BEFORE + answers + AFTER)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "[listening: yes, no]" in out
    assert "[listening: better, worse, the same]" in out
    assert expect in out and absent not in out
    assert "Hip stretches." in out and "Nerve glides." in out
    assert "Rest for a moment before you get up." in out
    assert out.rstrip().endswith("[listening: back, buttock, thigh, knee, calf, foot, or skip]")
    assert "[Figure-4 stretch, left side, 2 of 3: 20 s]" in out  # the step, as a plain line
    assert "\x1b" not in out  # piped: no escape codes


def test_worse_to_everything_stops_with_advice():
    r = voicecoach("run", "full-program", "--text", "--speed", "1000", stdin=SCREEN + BEFORE + M + "worse\n" + M + "worse\n" + M + "worse\n")
    assert r.returncode == 3
    assert "talk to a doctor or physiotherapist" in r.stdout.splitlines()[-1]
    assert "Hip stretches." not in r.stdout


def test_screen_is_asked_once_only():
    first = voicecoach("run", "assessment", "--text", "--speed", "1000", stdin=SCREEN + BEFORE + M + "better\n")
    assert "four quick safety questions" in first.stdout
    second = voicecoach("run", "assessment", "--text", "--speed", "1000", stdin=BEFORE + M + "better\n" + AFTER)
    assert "four quick safety questions" not in second.stdout
    assert second.returncode == 0


def test_end_of_input_means_stop():
    r = voicecoach("run", "assessment", "--text", "--speed", "1000", stdin=SCREEN + BEFORE)
    assert r.returncode == 0
    assert "Okay, we'll stop here." in r.stdout


def test_menu_by_spoken_name():
    r = voicecoach("--text", "--speed", "1000", stdin=SCREEN + "start nerve glides\n" + BEFORE)
    assert r.returncode == 0, r.stderr
    assert "Which routine would you like?" in r.stdout
    assert "Sciatic nerve glide, left side." in r.stdout


def test_run_by_spoken_name_and_unknown_routine():
    assert voicecoach("run", "hip stretches", "--text", "--speed", "1000", stdin=SCREEN + BEFORE).returncode == 0
    r = voicecoach("run", "yoga", "--text")
    assert r.returncode == 2 and "No routine called 'yoga'" in r.stderr


def test_validate_reports_file_line_and_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        name: bad
        steps:
          - do: plank
    """))
    r = voicecoach("validate", str(bad))
    assert r.returncode == 1
    assert r.stderr.strip() == f"{bad}:3: steps.0.do: no exercise 'plank' under 'exercises'"
    ok = voicecoach("validate", str(tmp_path / "missing.yaml"))
    assert ok.returncode == 1


def test_validate_accepts_shipped_routines():
    from pathlib import Path

    import voicecoach.content as package
    files = sorted((Path(package.__file__).parent / "routines").glob("*.yaml"))
    r = voicecoach("validate", *map(str, files))
    assert r.returncode == 0, r.stderr


def test_routines_lists_ids_names_and_minutes():
    r = voicecoach("routines")
    assert r.returncode == 0
    assert "hip-stretches" in r.stdout and "full program" in r.stdout
