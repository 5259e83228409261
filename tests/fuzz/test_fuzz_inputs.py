"""Bad input never gives a traceback or a hang: the corpus in ``tests/bad_inputs`` and
Hypothesis-made routine files, settings and audio files. Each must give a clear one-line
error (``file:line: what is wrong`` for routine and settings files) or be accepted, and a
routine that validates must also compile and be listed without an exception."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from voicecoach.hearing.wavfile import NotAudio, stream_pcm16k
from voicecoach.content.loader import check_file, load_library
from voicecoach.core.program import Compiler, routine_seconds
from voicecoach.content.routine import Routine
from voicecoach.settings.file import SettingsFile, parse_value
from voicecoach.settings.schema import SettingsError

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
FUZZ = settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


def one_line_at(path: Path, message: str) -> bool:
    return bool(re.fullmatch(rf"{re.escape(str(path))}:\d+: \S.*", message)) and "\n" not in message


# ---------------------------------------------------------------------- the corpus, through the real CLI
def run_cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_every_bad_routine_file_gets_file_line_errors_and_exit_1():
    files = sorted((CORPUS / "routines").iterdir())
    done = run_cli("validate", *map(str, files))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    for path in files:
        mine = [ln for ln in lines if ln.startswith(f"{path}:")]
        assert mine, f"no error for {path.name}"
        assert all(re.fullmatch(rf"{re.escape(str(path))}:\d+: \S.*", ln) for ln in mine), mine
    assert not [ln for ln in lines if not any(ln.startswith(f"{p}:") for p in files)], "stray output"


def test_validate_reports_every_problem_of_a_file_in_one_pass():
    done = run_cli("validate", str(CORPUS / "routines" / "all-errors-at-once.yaml"))
    problems = done.stderr
    for part in ("unknown placeholder {sid}", "whole numbers", "no exercise 'calff'", "no step with id 'x'"):
        assert part in problems, problems


def test_bad_user_routines_are_skipped_and_the_good_ones_kept(tmp_path):
    env = {**__import__("os").environ, "XDG_CONFIG_HOME": str(tmp_path)}
    folder = tmp_path / "voicecoach" / "routines"
    folder.mkdir(parents=True)
    for path in (CORPUS / "routines").iterdir():
        if path.stat().st_size < 200_000:  # keep the test quick; size is refused anyway
            (folder / path.name).write_bytes(path.read_bytes())
    (folder / "my-calves.yaml").write_text("name: my calves\nsteps:\n  - say: Calves.\n")
    done = run_cli("routines", env=env)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "my-calves" in done.stdout and "hip-stretches" in done.stdout
    warnings = [ln for ln in done.stderr.splitlines() if ln]
    assert all(ln.startswith("warning: skipped routine: ") for ln in warnings), warnings


@pytest.mark.parametrize("path", sorted((CORPUS / "settings").iterdir()), ids=lambda p: p.name)
def test_every_bad_settings_file_gets_a_file_line_message(path, tmp_path, library):
    file = SettingsFile(tmp_path / "settings.toml")
    file.path.write_bytes(path.read_bytes())
    try:
        _, problems = file.load(library)
    except SettingsError as exc:
        assert one_line_at(file.path, str(exc)), str(exc)
        return
    assert problems, f"{path.name} was accepted"
    for key, _ in problems:
        assert file.line_of(key) >= 1


def test_bad_settings_files_through_the_cli(tmp_path):
    env = {**__import__("os").environ, "XDG_CONFIG_HOME": str(tmp_path)}
    target = tmp_path / "voicecoach" / "settings.toml"
    target.parent.mkdir(parents=True)
    for path in sorted((CORPUS / "settings").iterdir()):
        target.write_bytes(path.read_bytes())
        done = run_cli("config", env=env)
        assert done.returncode in (1, 2) and "Traceback" not in done.stderr, (path.name, done.stderr)
        assert all(ln.startswith(f"{target}:") for ln in done.stderr.splitlines() if ln), done.stderr


@pytest.mark.parametrize("args, words", [
    (["set", "speech.rate.x", "1"], "speech.rate.x: unknown setting"),
    (["set", "speech.rate", "9" * 5000], "far too large"),
    (["set", "listening.sensitivity", "true"], "listening.sensitivity: true is not valid"),
    (["set", "speech.volume", "nan"], "not a finite number"),
    (["set", "speech..rate", "1"], "unknown setting"),
    (["unset", "nope.key"], "nope.key is not a setting"),
    (["unset", "speech.rate.x.y"], "not a setting"),
])
def test_config_refuses_bad_keys_and_values_in_one_line(tmp_path, args, words):
    env = {**__import__("os").environ, "XDG_CONFIG_HOME": str(tmp_path)}
    done = run_cli("config", *args, env=env)
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_unsetting_the_last_key_leaves_no_empty_table(tmp_path, library):
    file = SettingsFile(tmp_path / "settings.toml")
    file.set("exercise.hip-stretches.figure-4.hold", 25, library)
    assert file.unset("exercise.hip-stretches.figure-4.hold")
    assert "[" not in file.path.read_text()


def test_an_unknown_voice_on_the_command_line_is_refused():
    done = run_cli("run", "hip-stretches", "--text", "--voice", "klingon")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "--voice: 'klingon' is not a voice of the hibari engine" in done.stderr  # the default voice
    done = run_cli("run", "hip-stretches", "--text", "--speech-engine", "espeak", "--voice", "klingon")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "--voice: no espeak-ng voice 'klingon'" in done.stderr


def test_hear_refuses_what_is_not_audio_in_one_line_each():
    files = sorted((CORPUS / "audio").iterdir())
    done = run_cli("hear", *map(str, files), str(Path("/dev/zero")), "/nonexistent.wav")
    assert "Traceback" not in done.stderr and done.returncode == 1
    for line in done.stderr.splitlines():
        assert re.fullmatch(r"\S+: .+", line), line
    assert "/dev/zero: not a WAV recording" in done.stderr


# ---------------------------------------------------------------------- Hypothesis: routine files
NASTY = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(["{side}", "{sid}", "{", "}", "{0}", "{side!r}", "{{x}}", "calf",
                                           "nowhere", "left", "better", "yes", "1e308", ".inf", "9" * 400]),
    st.lists(st.integers(0, 5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
RANGE = st.one_of(NASTY, st.fixed_dictionaries({"default": NASTY, "min": NASTY, "max": NASTY}),
                  st.fixed_dictionaries({"default": st.integers(1, 60), "min": st.integers(1, 60),
                                         "max": st.integers(1, 700)}))
EXERCISE = st.fixed_dictionaries(
    {"name": st.one_of(st.just("Calf stretch"), NASTY),
     "instructions": st.one_of(st.sampled_from(["Step your {side} leg back.", "Turn to your {other_side}."]), NASTY)},
    optional={"hold_s": RANGE, "reps": RANGE, "tempo_s": RANGE, "phases": st.lists(st.text(max_size=8), max_size=3),
              "sides": st.lists(st.sampled_from(["left", "right", "middle"]), max_size=3), "position_s": NASTY,
              "rest_s": NASTY, "caution": NASTY, "hodl_s": NASTY})
BRANCH = st.fixed_dictionaries({}, optional={"say": NASTY, "goto": st.sampled_from(["a", "b", "nowhere"]),
                                             "stop": NASTY, "end": NASTY, "result": NASTY})
STEP = st.one_of(
    st.fixed_dictionaries({"say": NASTY}, optional={"id": st.sampled_from(["a", "b", "a"])}),
    st.fixed_dictionaries({"do": st.sampled_from(["calf", "calff", "x"])}),
    st.fixed_dictionaries({"ask": st.just("Better?"),
                           "answers": st.dictionaries(st.sampled_from(["better", "worse", "same", "yes", "no", "maybe"]),
                                                      BRANCH, max_size=4)}),
    st.fixed_dictionaries({"run": st.sampled_from(["fuzz", "hip-stretches", "nope", "check-in"])}),
    st.fixed_dictionaries({"run_preferred": st.dictionaries(st.sampled_from(["flexion", "extension", "none", "x"]),
                                                            st.sampled_from(["flexion", "fuzz", "nope"]), max_size=3)}),
    st.fixed_dictionaries({"check": st.sampled_from(["pain", "location", "movement", "mood"])}),
    st.fixed_dictionaries({"stop": NASTY}), NASTY,
)
ROUTINE = st.fixed_dictionaries(
    {"name": st.one_of(st.just("fuzz routine"), NASTY), "steps": st.one_of(st.lists(STEP, max_size=6), NASTY)},
    optional={"exercises": st.dictionaries(st.sampled_from(["calf", "x"]), EXERCISE, max_size=2), "menu": NASTY,
              "aliases": st.one_of(st.lists(st.text(max_size=10), max_size=2), NASTY)})


NUMBER = st.one_of(st.sampled_from([0, -1, 0.5, 2.5, 15, 20, 30, 50, 51, 600, 601, 1e308, 10**30, float("inf"),
                                     float("nan"), "1e308", "20", True]), st.floats(), st.integers())
TEXT = st.one_of(st.sampled_from(["Step your {side} leg back.", "{sid}", "{", "}", "{0}", "{side!r}", "{side.x}",
                                  "{{literal}}", "{other_side}", "", "x" * 1200]), st.text(max_size=20))
MUTATIONS = {  # a path in GOOD_DATA -> what may be put there
    ("name",): TEXT, ("exercises", "calf", "instructions"): TEXT, ("exercises", "calf", "name"): TEXT,
    ("exercises", "calf", "hold_s"): st.one_of(NUMBER, st.fixed_dictionaries(
        {"default": NUMBER, "min": NUMBER, "max": NUMBER})),
    ("exercises", "calf", "hold_s", "max"): NUMBER, ("exercises", "calf", "reps"): NUMBER,
    ("exercises", "calf", "position_s"): NUMBER, ("exercises", "calf", "rest_s"): NUMBER,
    ("exercises", "calf", "tempo_s"): NUMBER, ("exercises", "calf", "caution"): TEXT,
    ("steps", 0, "say"): TEXT, ("steps", 1, "do"): st.sampled_from(["calf", "calff", ""]),
    ("steps", 2, "answers", "same"): st.fixed_dictionaries({}, optional={
        "goto": st.sampled_from(["top", "nowhere"]), "say": TEXT, "end": NUMBER, "stop": TEXT}),
    ("steps", 3): st.one_of(st.fixed_dictionaries({"run": st.sampled_from(["fuzz", "hip-stretches", "nope"])}),
                            st.fixed_dictionaries({"check": st.sampled_from(["pain", "mood"])}),
                            st.fixed_dictionaries({"stop": TEXT})),
}
GOOD_DATA = {"name": "fuzz routine",
             "exercises": {"calf": {"name": "Calf stretch", "instructions": "Step your {side} leg back.",
                                    "hold_s": {"default": 20, "min": 15, "max": 30}, "sides": ["left", "right"]}},
             "steps": [{"id": "top", "say": "Calf."}, {"do": "calf"},
                       {"ask": "Better?", "answers": {"better": {}, "worse": {"stop": "Rest."}, "same": {}}},
                       {"say": "Done."}]}


def mutated(changes) -> dict:
    import copy
    data = copy.deepcopy(GOOD_DATA)
    for path, value in changes:
        node = data
        for part in path[:-1]:
            node = node[part] if isinstance(node, (dict, list)) else None
        if isinstance(node, (dict, list)):  # an earlier change may have replaced the parent
            node[path[-1]] = value
    return data


MOSTLY_GOOD = st.lists(st.sampled_from(sorted(MUTATIONS, key=str)).flatmap(
    lambda path: st.tuples(st.just(path), MUTATIONS[path])), min_size=1, max_size=2).map(mutated)


def dump(data) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def assert_clean_routine_result(path: Path, library) -> None:
    result = check_file(str(path), library)
    if isinstance(result, Routine):  # accepted: it must also compile and be timed without an exception
        trial = load_library(include_user=False)
        trial.routines[path.stem] = result
        Compiler(trial).compile(path.stem)
        routine_seconds(trial, path.stem)
        return
    assert result, "neither a routine nor an error"
    for err in result:
        assert one_line_at(path, str(err)), str(err)


@settings(FUZZ, max_examples=400)
@given(data=st.one_of(ROUTINE, MOSTLY_GOOD))
@example(data=mutated([(("exercises", "calf", "instructions"), "Lift your {sid} leg.")]))
@example(data=mutated([(("exercises", "calf", "instructions"), "{0} and {side.x}")]))
@example(data=mutated([(("exercises", "calf", "reps"), 2.5)]))
@example(data=mutated([(("exercises", "calf", "hold_s"), float("inf"))]))
@example(data=mutated([(("exercises", "calf", "hold_s"), 10**9)]))
@example(data=mutated([(("steps", 3), {"run": "fuzz"})]))
def test_made_up_routine_files_give_clean_errors_or_compile(data, fuzz_dir, library):
    path = fuzz_dir / "fuzz.yaml"
    path.write_bytes(dump(data))
    assert_clean_routine_result(path, library)


GOOD_BYTES = (CORPUS / "routines" / "do-typo.yaml").read_bytes().replace(b"calff", b"calf")


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(GOOD_BYTES)), st.binary(min_size=0, max_size=4)), max_size=6),
       cut=st.integers(0, len(GOOD_BYTES)))
def test_corrupted_routine_bytes_give_clean_errors(edits, cut, fuzz_dir, library):
    data = bytearray(GOOD_BYTES)
    for at, insert in edits:
        data[at:at] = insert
    path = fuzz_dir / "fuzz.yaml"
    path.write_bytes(bytes(data[: max(cut, len(data) // 2)]))
    assert_clean_routine_result(path, library)


# ---------------------------------------------------------------------- Hypothesis: settings
TOML_VALUE = st.one_of(st.integers(-10**20, 10**20), st.floats(), st.booleans(), st.text(max_size=10),
                       st.lists(st.integers(), max_size=2))
KEYS = st.sampled_from(["speech.rate", "speech.volume", "speech.voice", "speech.cues", "listening.sensitivity",
                        "listening.silence_timeout", "listening.input_device", "speech.rate.x", "speech",
                        "exercise.hip-stretches.figure-4.hold", "exercise.hip-stretches.figure-4.reps",
                        "exercise.hip-stretches", "exercise.nope.x.hold", "a.b.c.d.e", "exercise", ""])


@FUZZ
@given(key=KEYS, text=st.one_of(st.text(max_size=30), st.sampled_from(["true", "nan", "inf", "-0", "1e999",
                                                                       "9" * 5000, "[[[1]]]", "{a=1}", "'x'"])))
def test_config_set_refuses_cleanly_or_writes_a_readable_file(key, text, tmp_path_factory, library):
    file = SettingsFile(tmp_path_factory.mktemp("cfg") / "settings.toml")
    try:
        file.set(key, parse_value(text, key), library)
    except SettingsError as exc:
        assert str(exc).strip(), "an empty message"
        return
    file.load(library)  # what was written reads back


@FUZZ
@given(table=st.dictionaries(st.sampled_from(["speech", "listening", "exercise", "speeech"]),
                             st.one_of(TOML_VALUE, st.dictionaries(st.sampled_from(["rate", "volume", "sensitivity",
                                                                                    "hip-stretches", "cues"]),
                                                                   st.one_of(TOML_VALUE, st.dictionaries(
                                                                       st.text(max_size=5), TOML_VALUE, max_size=2)),
                                                                   max_size=3)), max_size=3),
       noise=st.binary(max_size=6), at=st.integers(0, 200))
def test_settings_files_load_with_per_key_problems_or_one_file_line_error(table, noise, at, tmp_path_factory, library):
    import tomlkit
    file = SettingsFile(tmp_path_factory.mktemp("cfg") / "settings.toml")
    text = tomlkit.dumps(table).encode()
    file.path.write_bytes(text[:at] + noise + text[at:])
    try:
        settings_, problems = file.load(library)
    except SettingsError as exc:
        assert one_line_at(file.path, str(exc)), str(exc)
        return
    assert 80 <= settings_.speech.rate <= 300 and 1 <= settings_.listening.sensitivity <= 5


# ---------------------------------------------------------------------- Hypothesis: audio for `hear`
def wav_bytes(channels, rate, bits, fmt, data_len, payload):
    block = max(1, channels * bits // 8)
    return (b"RIFF" + struct.pack("<I", min(36 + data_len, 2**32 - 1)) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
            + struct.pack("<HHIIHH", fmt, channels, rate, rate * block & 0xFFFFFFFF, block & 0xFFFF, bits)
            + b"data" + struct.pack("<I", data_len) + payload)


@FUZZ
@given(channels=st.integers(0, 8), rate=st.sampled_from([0, 1, 8000, 16000, 44100, 10**9]),
       bits=st.sampled_from([0, 8, 12, 16, 24, 32, 64]), fmt=st.sampled_from([1, 3, 0xFFFE, 7]),
       data_len=st.integers(0, 2**32 - 1), payload=st.binary(max_size=3000), junk=st.booleans())
def test_hear_input_streams_or_is_refused_as_not_audio(channels, rate, bits, fmt, data_len, payload, junk, fuzz_dir):
    path = fuzz_dir / "fuzz.wav"
    data = wav_bytes(channels, rate, bits, fmt, data_len, payload)
    path.write_bytes(payload if junk else data)
    try:
        chunks = stream_pcm16k(str(path))
    except NotAudio as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    total = sum(len(c) for c in chunks)
    assert total % 2 == 0 and total >= 0.8 * 32000  # at least the padding
