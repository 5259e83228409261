"""Issue 20's measure: following cmd_play's argparse namespace (scripts/trace_args.py) visits
at most 8 modules, in a text session and in one with every file and view flag given."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = "no\nno\nno\nno\nthree\nmy thigh\nstop\nyes\n"  # the safety check, a pain score, then stop


@pytest.mark.parametrize("flags", [
    [],
    ["--history", "{tmp}/h.db", "--routines", "{tmp}/mine", "--threshold", "-0.5", "--view", "web",
     "--web-port", "0", "--speech-engine", "espeak", "--rate", "150", "--no-cues"],
])
def test_cmd_play_args_visit_at_most_8_modules(tmp_path, flags):
    (tmp_path / "mine").mkdir()
    argv = ["run", "hip-stretches", "--text", "--speed", "1000", *(f.format(tmp=tmp_path) for f in flags)]
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "trace_args.py"), "--", *argv], input=ANSWERS,
                       text=True, capture_output=True, env=env, timeout=120)
    found = re.search(r"modules visited by cmd_play's args: (\d+)", r.stdout)
    assert found, r.stdout + r.stderr
    visited = r.stdout[found.end():]
    assert "voicecoach.cli.compose" in visited and "voicecoach.session.clock" in visited  # it did follow them
    assert int(found.group(1)) <= 8 and r.returncode == 0, r.stdout
