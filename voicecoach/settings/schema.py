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

import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import platformdirs
import tomlkit
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


MAX_FILE_BYTES = 100_000  # a settings file is a few hundred bytes
MAX_SHOWN = 40            # characters of a bad value repeated in a message
MAX_ENTRIES = 2_000       # keys and values in all; every setting there is, for every routine, is a few hundred
MAX_NESTING = 8           # tables and lists inside each other (exercise.ROUTINE.EXERCISE.key is 4)


def settings_path() -> Path:
    return Path(platformdirs.user_config_dir("voicecoach")) / "settings.toml"


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


# ---------------------------------------------------------------------- the file
class SettingsFile:
    """The TOML file: read, change one key at a time, written atomically."""

    def __init__(self, path: Path | None = None):
        self.path = path or settings_path()

    def read_data(self) -> dict:
        """The file's table; a :class:`SettingsError` ``file:line: problem`` if it cannot be read,
        or holds more than :data:`MAX_ENTRIES` entries or :data:`MAX_NESTING` levels (each
        would be checked and reported one by one: minutes for a file of junk tables)."""
        text = self.read_text()
        if text is None:
            return {}
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:  # message ends "(at line L, column C)"
            found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
            line = int(found.group(1)) if found else 1
            problem = re.sub(r"\s*\(at line \d+, column \d+\)|\s*\(at end of document\)", "", str(exc))
            raise self._error(line, f"not valid TOML: {problem}") from None
        except RecursionError:  # inline tables nested thousands deep
            raise self._error(1, "tables nested too deeply") from None
        except ValueError:  # an integer with thousands of digits (Python's conversion limit)
            found = re.search(r"\d{1000,}", text)
            line = text.count("\n", 0, found.start()) + 1 if found else 1
            raise self._error(line, "a number is far too large") from None
        problem = _size_problem(data)
        if problem:
            raise self._error(1, problem)
        return data

    def read_text(self) -> str | None:
        """The file's UTF-8 text (None if there is no file)."""
        try:
            data = self.path.read_bytes() if self.path.stat().st_size <= MAX_FILE_BYTES else None
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(1, f"cannot be read ({exc.strerror or exc})") from None
        if data is None:
            raise self._error(1, f"the file is over {MAX_FILE_BYTES:,} bytes; a settings file is a few hundred")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._error(data.count(b"\n", 0, exc.start) + 1,
                              f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8") from None

    def _error(self, line: int, message: str) -> SettingsError:
        return SettingsError([("(file)", message)], self.path, line)

    def line_of(self, key: str) -> int:
        """Line of a dotted key in the file (best effort: 1 if not found)."""
        try:
            text = self.read_text() or ""
        except SettingsError:
            return 1
        table: list[str] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            header = re.match(r"^\[\s*([^\[\]]+?)\s*\]", line)
            if header:
                table = [p.strip().strip('"\'') for p in header.group(1).split(".")]
                if ".".join(table) == key:
                    return number
                continue
            name = re.match(r"^([A-Za-z0-9_.\-\"' ]+?)\s*=", line)
            if name:
                dotted = ".".join(table + [p.strip().strip('"\'') for p in name.group(1).split(".")])
                if dotted == key or key.startswith(dotted + "."):
                    return number
        return 1

    def load(self, library: Library) -> tuple[Settings, list[tuple[str, str]]]:
        return validate(self.read_data(), library)

    def set(self, key: str, value: Any, library: Library) -> None:
        self.set_many({key: value}, library)

    def set_many(self, values: dict[str, Any], library: Library) -> None:
        """Change keys; refuse (file untouched) if any of them is not valid."""
        doc = self._document()
        known = {k.key for k in all_keys(library)}
        for key, value in values.items():
            if key not in known and not key.startswith("exercise."):
                raise SettingsError([(key, "unknown setting (see 'voicecoach config' for the keys)")])
            _assign(doc, key, value)
        _, problems = validate(doc.unwrap(), library)
        mine = [(k, m) for k, m in problems if any(_overlaps(k, v) for v in values)]
        if mine:
            raise SettingsError(mine)
        self._write(tomlkit.dumps(doc))

    def unset(self, key: str) -> bool:
        """Remove a key (False if it was not in the file); tables left empty go too."""
        doc = self._document()
        parts = key.split(".")
        chain = [doc]
        for part in parts[:-1]:
            node = chain[-1]
            if not isinstance(node, dict) or part not in node:
                return False
            chain.append(node[part])
        if not isinstance(chain[-1], dict) or parts[-1] not in chain[-1]:
            return False
        del chain[-1][parts[-1]]
        for depth in range(len(chain) - 1, 0, -1):  # [exercise.x.y] with nothing left in it
            if len(chain[depth]) == 0:
                del chain[depth - 1][parts[depth - 1]]
        self._write(tomlkit.dumps(doc))
        return True

    def _document(self) -> tomlkit.TOMLDocument:
        self.read_data()  # a broken file is reported, not overwritten
        if not self.path.exists():
            doc = tomlkit.document()
            doc.add(tomlkit.comment("voicecoach settings; change with 'voicecoach config set KEY VALUE'"))
            return doc
        return tomlkit.parse(self.read_text() or "")

    def _write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-", suffix=".toml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise


def _size_problem(data) -> str | None:
    """Why a settings table is too big or too deep to be a settings file (iteratively)."""
    todo, count = [(data, 1)], 0
    while todo:
        node, depth = todo.pop()
        if depth > MAX_NESTING:
            return f"tables or lists nested more than {MAX_NESTING} deep; a settings file needs 4"
        children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
        count += len(children)
        if count > MAX_ENTRIES:
            return f"more than {MAX_ENTRIES:,} entries; a settings file has a few dozen"
        todo.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return None


def _overlaps(problem_key: str, key: str) -> bool:
    """Is a problem about ``key`` (or a section it created or belongs to)?"""
    return problem_key == key or key.startswith(problem_key + ".") or problem_key.startswith(key + ".")


def _assign(doc, key: str, value: Any) -> None:
    parts = key.split(".")
    if not all(parts):
        raise SettingsError([(key, "a key is names joined by dots, e.g. speech.rate")])
    node = doc
    for depth, part in enumerate(parts[:-1]):
        if part not in node:
            # only the innermost table gets a header: [exercise.hip-stretches.figure-4]
            node[part] = tomlkit.table(is_super_table=depth < len(parts) - 2)
        node = node[part]
        if not isinstance(node, dict):
            raise SettingsError([(key, f"{'.'.join(parts[:depth + 1])} is a value, not a table of settings "
                                       "(see 'voicecoach config' for the keys)")])
    node[parts[-1]] = value


def parse_value(text: str, key: str = "value") -> Any:
    """A command-line value as TOML would read it: 150 -> int, true -> bool, else text."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text
    except ValueError as exc:  # an integer with thousands of digits
        raise SettingsError([(key, f"{_shown(text)} is far too large")]) from exc
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise SettingsError([(key, f"{text} is not a finite number")])
    return value
