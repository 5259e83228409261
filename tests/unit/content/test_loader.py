"""Routine files: validation errors name the file, the line and the problem."""

import textwrap

import pytest

from voicecoach.content.loader import RoutineError, load_library, load_routine

GOOD = """\
name: my stretch
steps:
  - say: "Hello."
  - do: calf
exercises:
  calf:
    name: Calf stretch
    instructions: "Stretch your {side} calf."
    hold_s: {default: 20, min: 15, max: 30}
    sides: [left, right]
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path, text, name="bad.yaml") -> str:
    path = write(tmp_path, name, text)
    with pytest.raises(RoutineError) as info:
        load_routine(path)
    return str(info.value)


def test_shipped_routines_all_load():
    lib = load_library(include_user=False)
    assert not lib.errors
    assert {"assessment", "flexion", "extension", "hip-stretches", "nerve-glides",
            "full-program", "safety-screen"} <= set(lib.routines)


def test_good_file_loads(tmp_path):
    routine = load_routine(write(tmp_path, "mine.yaml", GOOD))
    assert routine.exercises["calf"].hold_s.max == 30


def test_yaml_syntax_error_points_at_the_line(tmp_path):
    msg = error_of(tmp_path, "name: x\nsteps:\n  - say: [unclosed\n  - say: b\n")
    assert msg.startswith(str(tmp_path / "bad.yaml") + ":")
    assert "not valid YAML" in msg


def test_unknown_field_names_its_line(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("    sides: [left, right]", "    sides: [left, right]\n    hodl_s: 3"))
    assert msg == f"{tmp_path / 'bad.yaml'}:11: exercises.calf.hodl_s: unknown field (check the spelling)"


def test_range_out_of_order(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("default: 20, min: 15", "default: 40, min: 15"))
    assert ":9: exercises.calf.hold_s: need 0 < min <= default <= max" in msg


def test_missing_exercise(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("- do: calf", "- do: calves"))
    assert msg.endswith(":4: steps.1.do: no exercise 'calves' under 'exercises'")


def test_step_with_no_kind(tmp_path):
    msg = error_of(tmp_path, GOOD.replace('- say: "Hello."', '- sya: "Hello."'))
    assert ":3: steps.0: a step needs exactly one of: say, do, ask" in msg


def test_incomplete_rating_question(tmp_path):
    text = 'name: q\nsteps:\n  - ask: "Better?"\n    answers:\n      better: {}\n      worse: {}\n'
    msg = error_of(tmp_path, text)
    assert ":3: steps.0: a rating question must give a branch for better, worse and same" in msg


def test_goto_to_a_missing_step(tmp_path):
    text = ('name: q\nsteps:\n  - ask: "Yes?"\n    answers:\n      yes: {goto: nowhere}\n      no: {}\n')
    msg = error_of(tmp_path, text)
    assert msg.endswith(":5: steps.0.answers.yes.goto: no step with id 'nowhere'")


def test_yes_and_no_are_answers_not_booleans(tmp_path):
    text = 'name: q\nsteps:\n  - ask: "Ready?"\n    answers:\n      yes: {}\n      no: {}\n'
    routine = load_routine(write(tmp_path, "q.yaml", text))
    assert set(routine.steps[0].answers) == {"yes", "no"}


def test_library_keeps_good_routines_and_reports_bad_ones(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    write(d, "calf.yaml", GOOD)
    write(d, "broken.yaml", "name: broken\nsteps: []\n")
    write(d, "hip-stretches.yaml", GOOD.replace("my stretch", "hip stretches"))
    lib = load_library([d], include_user=False)
    assert "calf" in lib.routines and "broken" not in lib.routines
    assert [str(e) for e in lib.errors] == [f"{d / 'broken.yaml'}:2: steps: List should have at least 1 item after validation, not 0"]
    assert "calf" in lib.routines["hip-stretches"].exercises  # the user's file overrides the shipped one
    assert lib.find("My Stretch") == "calf"


def test_user_config_folder_is_read(tmp_path, monkeypatch):
    from voicecoach.content.loader import user_routine_dir
    user_routine_dir().mkdir(parents=True)
    write(user_routine_dir(), "calf.yaml", GOOD)
    assert "calf" in load_library().routines


def test_run_of_a_missing_routine_is_reported(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    write(d, "combo.yaml", "name: combo\nsteps:\n  - say: hi\n  - run: nope\n")
    lib = load_library([d], include_user=False)
    assert "combo" not in lib.routines
    assert str(lib.errors[0]) == f"{d / 'combo.yaml'}:4: steps.1: no routine 'nope' to run"


def test_user_files_cannot_replace_or_rename_the_safety_routines(tmp_path):
    shipped = load_library(include_user=False)
    write(tmp_path, "safety-screen.yaml", "name: safety check\nsteps:\n  - say: All clear.\n")
    write(tmp_path, "sneak.yaml", "name: fine\naliases: [safety questions]\nsteps:\n  - say: Hi.\n")
    write(tmp_path, "calves.yaml", "name: calves\nsteps:\n  - say: Calves.\n")
    lib = load_library([tmp_path], include_user=False)
    assert lib.routines["safety-screen"] == shipped.routines["safety-screen"]
    assert "calves" in lib.routines and "sneak" not in lib.routines
    errors = [str(e) for e in lib.errors]
    assert any(e.startswith(f"{tmp_path / 'safety-screen.yaml'}:1: ") and "safety routine" in e for e in errors)
    assert any(e.startswith(f"{tmp_path / 'sneak.yaml'}:2: ") for e in errors), errors


def test_control_and_invisible_characters_are_removed_from_names(tmp_path):
    write(tmp_path, "odd.yaml", 'name: "calf\\u202e\\u200b stretch\\x1b[2J"\nsteps:\n  - say: "Hi\\x07."\n')
    lib = load_library([tmp_path], include_user=False)
    assert lib.routines["odd"].name == "calf stretch[2J"
    assert lib.routines["odd"].steps[0].say == "Hi."


def test_a_missing_routines_folder_is_an_error(tmp_path):
    from voicecoach.content.loader import RoutinesFolderError
    with pytest.raises(RoutinesFolderError):
        load_library([tmp_path / "nope"], include_user=False)
