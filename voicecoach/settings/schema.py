"""User settings: a TOML file in the XDG config dir, validated, with clear errors.

Precedence, lowest first: built-in defaults, the settings file, command-line flags.
Keys are dotted paths, as ``voicecoach config set`` takes them::

    speech.rate = 150                                  # words per minute
    exercise.hip-stretches.figure-4.hold = 25          # seconds, within the routine's range

Exercise keys are checked against the ranges in the routine files, so a hold can only
be set to what the routine allows. Writes go through a temporary file and a rename: a
refused or interrupted change leaves the old file exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from voicecoach.content.loader import Library
from voicecoach.core.program import Tuning
from voicecoach.speech.engines import DEFAULT_ENGINE, engine_problem

EXERCISE_FIELDS = {"hold": "hold_s", "reps": "reps", "tempo": "tempo_s"}  # key -> Exercise field


class _Section(BaseModel):
    # strict: ``true`` is not a sensitivity of 1, nor ``"150"`` a rate (TOML gives real types)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False)


class SpeechSettings(_Section):
    engine: Literal["hibari", "espeak"] = Field(DEFAULT_ENGINE, description="hibari (neural voice) or espeak "
                                                "(espeak-ng, also the fallback)")
    voice: str | None = Field(None, description="hibari: heart (its one voice); espeak: an espeak-ng voice id, "
                                                "e.g. gmw/en-US (none: the engine's default)",
                              json_schema_extra={"allowed": "hibari: heart; espeak: an espeak-ng voice id "
                                                            "(checked when set)"})
    rate: int = Field(160, ge=80, le=300, description="speech rate, words per minute (hibari: 85 to 300)")
    volume: float = Field(1.0, ge=0.0, le=1.0, description="speech volume, 0.0 (silent) to 1.0 (full)")
    cues: bool = Field(True, description="beeps at the start and end of holds")
    output_device: str | None = Field(None, description="loudspeaker name or index (see 'voicecoach devices')")

    @field_validator("voice", "rate")
    @classmethod
    def _engine_can(cls, value, info: ValidationInfo):
        """Refuse what the chosen engine cannot honour (the engine is validated first)."""
        engine = info.data.get("engine")
        problem = engine and engine_problem(engine, **{info.field_name: value})
        if problem:
            raise PydanticCustomError("engine_limit", problem)
        return value


class ListeningSettings(_Section):
    engine: Literal["whisper", "pocketsphinx"] = Field(
        "whisper", description="speech recognizer: whisper (understands people best) or pocketsphinx "
                               "(lighter and faster, understands far less)")
    input_device: str | None = Field(None, description="microphone name or index (see 'voicecoach devices')")
    silence_timeout: float = Field(8.0, ge=3.0, le=300.0,
                                   description="seconds to wait for an answer before asking again")
    sensitivity: int = Field(3, ge=1, le=5,
                             description="how readily speech is taken as an answer: 1 strictest, 5 most "
                                         "lenient (more mistakes)")
    barge_in: Literal["auto", "on", "off"] = Field(
        "off", description="listen for stop, pain, worse and pause while the coach talks: auto (when the echo "
                            "canceller and Whisper are there), on (say why if they are not), off (half duplex; the default until "
                            "the end-to-end benchmark has passed)")
    echo_canceller: Literal["auto", "pulseaudio", "webrtc"] = Field(
        "auto", description="for barge-in: pulseaudio (the sound server's module-echo-cancel, loaded while the "
                            "coach runs; removes far more echo), webrtc (the program's own AEC3), auto "
                            "(pulseaudio when it is the sound server and the default devices are used)")


class ViewSettings(_Section):
    web: bool = Field(False, description="also show the live view as a web page (address printed at start)")
    web_port: int = Field(8765, ge=0, le=65535, description="port of the web view (0: any free port)")
    web_lan: bool = Field(False, description="open the web view to the local network, not just this machine "
                                             "(anyone on it can see the page)")


class Settings(_Section):
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    listening: ListeningSettings = Field(default_factory=ListeningSettings)
    view: ViewSettings = Field(default_factory=ViewSettings)
    #: routine id -> exercise id -> {hold (s), reps, tempo (s)}; ranges come from the routine files
    exercise: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict)

    def tuning(self) -> Tuning:
        """The exercise settings as the compiler's per-exercise adjustments."""
        per = {key: {} for key in EXERCISE_FIELDS.values()}
        for rid, exercises in self.exercise.items():
            for ex_id, values in exercises.items():
                for key, value in values.items():
                    per[EXERCISE_FIELDS[key]][f"{rid}.{ex_id}"] = value
        return Tuning(hold_s=per["hold_s"], reps={k: int(v) for k, v in per["reps"].items()},
                      tempo_s=per["tempo_s"])


class SettingsError(ValueError):
    """Problems with settings, each naming its key and what is allowed; a problem with
    the file as a whole (``line`` given) reads ``file:line: what is wrong``."""

    def __init__(self, problems: list[tuple[str, str]], path: Path | None = None, line: int | None = None):
        self.problems = problems
        self.path, self.line = path, line
        if line is not None:
            super().__init__("\n".join(f"{path}:{line}: {msg}" for _, msg in problems))
            return
        where = f"{path}: " if path else ""
        super().__init__("\n".join(f"{where}{key}: {msg}" for key, msg in problems))


MAX_SHOWN = 40            # characters of a bad value repeated in a message


# ---------------------------------------------------------------------- describing keys
@dataclass(frozen=True)
class KeyInfo:
    key: str
    default: Any
    allowed: str        # e.g. "80 to 300", "true or false", "15 to 30"
    help: str


def _section_keys() -> list[KeyInfo]:
    out = []
    for section, model in (("speech", SpeechSettings), ("listening", ListeningSettings), ("view", ViewSettings)):
        for name, field in model.model_fields.items():
            out.append(KeyInfo(f"{section}.{name}", field.default, _allowed(field), field.description or ""))
    return out


def _allowed(field) -> str:
    lo = hi = None
    for meta in field.metadata:
        lo = getattr(meta, "ge", lo)
        hi = getattr(meta, "le", hi)
    if lo is not None and hi is not None:
        return f"{lo:g} to {hi:g}"
    if field.annotation is bool:
        return "true or false"
    if getattr(field.annotation, "__origin__", None) is Literal:
        return " or ".join(get_args(field.annotation))
    return (field.json_schema_extra or {}).get("allowed", "any text")


def exercise_keys(library: Library) -> list[KeyInfo]:
    """Every adjustable exercise setting of the library, with its range."""
    out = []
    for rid, routine in sorted(library.routines.items()):
        for ex_id, ex in routine.exercises.items():
            for key, attr in EXERCISE_FIELDS.items():
                rng = getattr(ex, attr)
                if rng is None or rng.min == rng.max:
                    continue
                unit = "" if key == "reps" else " seconds"
                what = {"hold": "length of each hold", "reps": "repetitions per side",
                        "tempo": "seconds per paced repetition"}[key]
                out.append(KeyInfo(f"exercise.{rid}.{ex_id}.{key}", rng.default,
                                   f"{rng.min:g} to {rng.max:g}{unit}", f"{ex.name}: {what}"))
    return out


def all_keys(library: Library) -> list[KeyInfo]:
    return _section_keys() + exercise_keys(library)


# ---------------------------------------------------------------------- validation
def validate(data: dict, library: Library) -> tuple[Settings, list[tuple[str, str]]]:
    """Settings from ``data``; bad keys are reported and left at their defaults."""
    problems: list[tuple[str, str]] = []
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for _ in range(100):  # each round drops the keys it complained about
        try:
            settings = Settings.model_validate(data)
            break
        except ValidationError as exc:
            for err in exc.errors():
                loc = [str(p) for p in err["loc"]]
                problems.append((".".join(loc), _explain(err)))
                _drop(data, loc)
    else:
        settings = Settings()
    known = {k.key: k for k in exercise_keys(library)}
    clean: dict[str, dict[str, dict[str, float]]] = {}
    for rid, exercises in settings.exercise.items():
        for ex_id, values in exercises.items():
            for key, value in values.items():
                dotted = f"exercise.{rid}.{ex_id}.{key}"
                info = known.get(dotted)
                if info is None:
                    problems.append((dotted, _unknown_exercise_key(library, rid, ex_id, key)))
                    continue
                routine = library.routines[rid]
                rng = getattr(routine.exercises[ex_id], EXERCISE_FIELDS[key])
                if key == "reps" and value != int(value):
                    problems.append((dotted, f"{_shown(value)} is not a whole number; allowed {info.allowed}"))
                elif not rng.min <= value <= rng.max:
                    problems.append((dotted, f"{_shown(value)} is out of range; allowed {info.allowed}"))
                else:
                    clean.setdefault(rid, {}).setdefault(ex_id, {})[key] = value
    settings.exercise = clean
    return settings, problems


def _explain(err: dict) -> str:
    loc = err["loc"]
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        return "unknown setting (see 'voicecoach config' for the keys)"
    if loc and loc[0] == "exercise":
        return (f"{_shown(value)} is not valid: exercise settings are numbers under "
                "[exercise.ROUTINE.EXERCISE] (hold, reps, tempo)")
    if err["type"] in ("model_type", "dict_type"):
        return f"{_shown(value)} is not valid: this is a table of settings, e.g. [speech] with rate = 160"
    if err["type"] == "engine_limit":  # already in plain words
        return err["msg"]
    field = _field_at(loc)
    allowed = f"; allowed {_allowed(field)} ({field.description})" if field is not None else ""
    if err["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{_shown(value)} is out of range{allowed}"
    return f"{_shown(value)} is not valid ({err['msg'].lower()}){allowed}"


def _shown(value) -> str:
    """A value as the message repeats it: never a 5000-digit number in full."""
    if isinstance(value, bool):
        return str(value).lower()  # as TOML writes it
    text = repr(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else f"{value:g}" \
        if isinstance(value, float) else (str(value) if len(str(value)) <= MAX_SHOWN else f"a {len(str(value))}-digit number")
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."


def _field_at(loc):
    model = Settings
    for part in loc:
        field = model.model_fields.get(str(part)) if isinstance(model, type) else None
        if field is None:
            return None
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            model = field.annotation
        else:
            return field
    return None


def _drop(data: dict, loc: list[str]) -> None:
    node = data
    for part in loc[:-1]:
        if not isinstance(node, dict) or part not in node:
            return
        node[part] = dict(node[part]) if isinstance(node[part], dict) else node[part]
        node = node[part]
    if isinstance(node, dict):
        node.pop(loc[-1], None)


def _unknown_exercise_key(library: Library, rid: str, ex_id: str, key: str) -> str:
    if rid not in library.routines:
        return f"no routine {rid!r} (routines: {', '.join(sorted(library.routines))})"
    exercises = library.routines[rid].exercises
    if ex_id not in exercises:
        return f"no exercise {ex_id!r} in {rid} (exercises: {', '.join(exercises) or 'none'})"
    if key not in EXERCISE_FIELDS:
        return f"unknown exercise setting {key!r} (one of: {', '.join(EXERCISE_FIELDS)})"
    return f"{ex_id} has no adjustable {key} (it is fixed or does not apply)"
