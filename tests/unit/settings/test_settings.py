"""Settings: validation with the allowed range, precedence (defaults < file < flags),
and a file that stays exactly as it was when a change is refused."""

import os
import subprocess
import sys

import pytest

from voicecoach.cli.compose import settings_for
from voicecoach.cli.parser import build_parser
from voicecoach.core.program import Compiler, Hold
from voicecoach.settings.file import SettingsFile, parse_value, settings_path
from voicecoach.settings.schema import SettingsError


@pytest.fixture
def file(tmp_path):
    return SettingsFile(tmp_path / "settings.toml")


def test_a_valid_change_is_written_and_read_back(file, library):
    file.set("speech.rate", 140, library)
    file.set("exercise.hip-stretches.figure-4.hold", 25, library)
    settings, problems = file.load(library)
    assert problems == []
    assert settings.speech.rate == 140
    assert settings.tuning().hold_s == {"hip-stretches.figure-4": 25}
    assert "[exercise.hip-stretches.figure-4]" in file.path.read_text()


@pytest.mark.parametrize("key, value, words", [
    ("speech.rate", 2000, ["speech.rate", "2000", "80 to 300", "words per minute"]),
    ("speech.volume", 1.5, ["speech.volume", "0 to 1"]),
    ("speech.cues", "maybe", ["speech.cues", "true or false"]),
    ("listening.sensitivity", 9, ["listening.sensitivity", "1 to 5"]),
    ("exercise.hip-stretches.figure-4.hold", 90, ["figure-4.hold", "15 to 30 seconds"]),
    ("exercise.hip-stretches.figure-5.hold", 20, ["no exercise 'figure-5'", "figure-4"]),
    ("exercise.nerve-glides.nerve-glide.hold", 20, ["no adjustable hold"]),
    ("speeech.rate", 150, ["speeech", "unknown setting"]),
])
def test_a_bad_value_is_refused_with_the_key_and_range_and_the_file_is_unchanged(file, library, key, value, words):
    file.set("speech.rate", 140, library)
    before = file.path.read_bytes()
    with pytest.raises(SettingsError) as err:
        file.set(key, value, library)
    for word in words:
        assert word in str(err.value)
    assert file.path.read_bytes() == before


def test_broken_toml_names_the_file_and_line_and_is_never_overwritten(file, library):
    file.path.write_text("[speech]\nrate = = 3\n")
    with pytest.raises(SettingsError) as err:
        file.load(library)
    assert str(err.value) == f"{file.path}:2: not valid TOML: Invalid value"
    with pytest.raises(SettingsError):
        file.set("speech.rate", 150, library)
    assert file.path.read_text() == "[speech]\nrate = = 3\n"


def test_a_bad_key_in_the_file_falls_back_to_its_default_only(file, library):
    file.path.write_text("[speech]\nrate = 5000\nvolume = 0.5\n")
    settings, problems = file.load(library)
    assert settings.speech.rate == 160 and settings.speech.volume == 0.5
    assert [k for k, _ in problems] == ["speech.rate"]


def test_flags_override_the_file_which_overrides_defaults(library):
    SettingsFile().set_many({"speech.rate": 140, "speech.volume": 0.5, "listening.silence_timeout": 12}, library)
    args = build_parser().parse_args(["run", "hip-stretches", "--rate", "120", "--no-cues"])
    settings = settings_for(args, library)
    assert settings.speech.rate == 120          # flag
    assert settings.speech.volume == 0.5        # file
    assert settings.speech.cues is False        # flag
    assert settings.listening.silence_timeout == 12
    assert settings.listening.sensitivity == 3  # default


def test_exercise_settings_reach_the_compiled_program(file, library):
    file.set("exercise.hip-stretches.figure-4.reps", 2, library)
    settings, _ = file.load(library)
    program = Compiler(library, settings.tuning()).compile("hip-stretches")
    reps = [i.rep for i in program if isinstance(i, Hold) and i.block.exercise == "figure-4"]
    assert reps == [1, 2, 1, 2]


def test_values_are_read_as_toml_would():
    assert parse_value("150") == 150 and parse_value("true") is True and parse_value("0.5") == 0.5
    assert parse_value("gmw/en-US") == "gmw/en-US"


def test_config_set_from_the_command_line(library):
    run = [sys.executable, "-m", "voicecoach", "config"]
    ok = subprocess.run(run + ["set", "speech.rate", "150"], capture_output=True, text=True, env=dict(os.environ))
    assert ok.returncode == 0, ok.stderr
    before = settings_path().read_bytes()
    bad = subprocess.run(run + ["set", "speech.rate", "2000"], capture_output=True, text=True, env=dict(os.environ))
    assert bad.returncode == 2
    assert "speech.rate: 2000 is out of range; allowed 80 to 300" in bad.stderr
    assert settings_path().read_bytes() == before
    shown = subprocess.run(run, capture_output=True, text=True, env=dict(os.environ)).stdout
    line = next(ln for ln in shown.splitlines() if ln.split()[:1] == ["speech.rate"])
    assert "150" in line and "settings file" in line


def test_spoken_adjustments_are_kept_in_the_settings_when_the_session_ends(play, library, capsys):
    from voicecoach.cli.play import _keep_adjustments

    from tests.support.fakes import Interrupt
    p = play("hip-stretches", [], [Interrupt("Figure-4 stretch, left side.", "shorter", 1)])
    _keep_adjustments(p.coach.adjustments, library)
    settings, _ = SettingsFile().load(library)
    assert settings.tuning().hold_s == {"hip-stretches.figure-4": 15}
    assert "exercise.hip-stretches.figure-4.hold = 15" in capsys.readouterr().out


def test_only_a_voice_espeak_ng_has_is_accepted():
    config = [sys.executable, "-m", "voicecoach", "config", "set"]
    subprocess.run(config + ["speech.engine", "espeak"], check=True, capture_output=True, env=dict(os.environ))
    before = settings_path().read_text()
    bad = subprocess.run(config + ["speech.voice", "klingon"], capture_output=True, text=True, env=dict(os.environ))
    assert bad.returncode == 2 and "no espeak-ng voice 'klingon'" in bad.stderr and "gmw/en" in bad.stderr
    assert settings_path().read_text() == before
    ok = subprocess.run(config + ["speech.voice", "gmw/en-US"], capture_output=True, text=True, env=dict(os.environ))
    assert ok.returncode == 0, ok.stderr


def test_the_hibari_engine_refuses_an_espeak_voice_and_a_rate_it_cannot_speak(file, library):
    with pytest.raises(SettingsError) as exc:
        file.set("speech.voice", "gmw/en-US", library)
    assert "speech.voice: 'gmw/en-US' is not a voice of the hibari engine, which has one voice, 'heart'" \
        in str(exc.value) and "speech.engine = espeak" in str(exc.value)
    with pytest.raises(SettingsError) as exc:
        file.set("speech.rate", 80, library)
    assert "speech.rate: 80 words per minute is outside what the hibari voice can speak (85 to 340" in str(exc.value)
    assert not file.path.exists()
    file.set_many({"speech.engine": "espeak", "speech.voice": "gmw/en-US", "speech.rate": 80}, library)
    settings, problems = file.load(library)
    assert problems == [] and settings.speech.engine == "espeak" and settings.speech.rate == 80
    with pytest.raises(SettingsError, match="'heart' is the hibari engine's voice"):
        file.set("speech.voice", "heart", library)


def test_an_espeak_voice_left_in_the_file_falls_back_to_the_neural_voice_s_own(file, library):
    file.path.write_text('[speech]\nvoice = "gmw/en-US"\n')
    settings, problems = file.load(library)
    assert settings.speech.engine == "hibari" and settings.speech.voice is None
    assert [k for k, _ in problems] == ["speech.voice"]


def test_engine_flag_comes_before_the_voice_flag(library):
    args = build_parser().parse_args(["run", "hip-stretches", "--speech-engine", "espeak", "--voice", "gmw/en-US"])
    settings = settings_for(args, library)
    assert (settings.speech.engine, settings.speech.voice) == ("espeak", "gmw/en-US")
    with pytest.raises(SystemExit, match="--voice: .*not a voice of the hibari engine"):
        settings_for(build_parser().parse_args(["run", "hip-stretches", "--voice", "gmw/en-US"]), library)
