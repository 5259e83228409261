"""Typed model of a routine file (YAML). Validated with pydantic; see ``loader.py``.

A routine is a list of steps. Each step is one of:

* ``say``: a spoken sentence.
* ``do``: perform an exercise defined under ``exercises`` (holds, reps, sides, tempo).
* ``ask``: a question whose answers (``better``/``worse``/``same`` or ``yes``/``no``)
  branch: ``goto`` a step id, record a ``result``, or ``stop`` with advice.
* ``run``: play another routine; ``run_preferred`` plays the routine for the
  directional preference the assessment found.
* ``stop``: end the session with advice (safety).

Branches name answers and step ids, never code.
"""

from __future__ import annotations

import math
import string
from importlib import resources
from pathlib import Path
from typing import Annotated, Iterable, Literal, Union

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationInfo, field_validator,
                      model_validator)

# Upper bounds (documented in the README): beyond them a value is a typo, not a routine.
MAX_HOLD_S = 600      # one hold: 10 minutes
MAX_TEMPO_S = 60      # one paced repetition: 1 minute
MAX_REPS = 50         # repetitions per side
MAX_STEPS = 500       # steps in one routine
MAX_TEXT = 1000       # characters in one spoken sentence or name
PLACEHOLDERS = ("side", "other_side")  # what ``instructions`` may fill in

Text = Annotated[str, Field(max_length=MAX_TEXT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Range(_Strict):
    """A value the user may adjust within ``min``..``max``; ``default`` is used unless set."""

    default: float
    min: float
    max: float

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, value):
        # ``hold_s: 30`` is shorthand for a fixed value.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ValueError(f"{value} is not a finite number (or is far too large)")
            return {"default": value, "min": value, "max": value}
        if isinstance(value, dict) and "default" not in value and {"min", "max"} <= value.keys():
            return {**value, "default": value["min"]}
        return value

    @model_validator(mode="after")
    def _ordered(self):
        if not (0 < self.min <= self.default <= self.max):
            raise ValueError(f"need 0 < min <= default <= max, got min={self.min}, "
                             f"default={self.default}, max={self.max}")
        return self

    def clamp(self, value: float) -> float:
        return max(self.min, min(self.max, value))


Side = Literal["left", "right"]
#: the shipped position drawings (SVG), a folder of the installed package (as the loader reads the routines)
PICTURES = Path(str(resources.files("voicecoach.content") / "routines" / "pictures"))


def picture_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    """Folders a routine's ``picture:`` is looked up in: beside the routine files (given),
    the user's routines folder, then the shipped pictures."""
    import platformdirs
    user = Path(platformdirs.user_config_dir("voicecoach")) / "routines" / "pictures"
    return [*(Path(d) / "pictures" for d in extra), user, PICTURES]


MAX_PICTURE_BYTES = 1_000_000  # a line drawing is a few kB


def find_picture(name: str, extra: Iterable[Path] = ()) -> Path | None:
    """The picture file called ``name`` (a plain file name ending .svg, at most 255 bytes), or
    None. Only a regular file of at most :data:`MAX_PICTURE_BYTES` that really is in a
    pictures folder counts: a symlink out of it (``link.svg -> ~/.ssh/id_rsa``), a FIFO or
    a device is never served."""
    if "/" in name or "\\" in name or "\0" in name or not name.endswith(".svg") or name.startswith(".") \
            or len(name.encode("utf-8", "surrogateescape")) > 255:
        return None
    return next((d / name for d in picture_dirs(extra) if _inside(d, name)), None)


def _inside(folder: Path, name: str) -> bool:
    import stat
    try:
        real = (folder / name).resolve(strict=True)
        info = real.stat()
        return real.parent == folder.resolve(strict=True) and stat.S_ISREG(info.st_mode) \
            and info.st_size <= MAX_PICTURE_BYTES
    except (OSError, RuntimeError, ValueError):  # missing, a loop, a name the system refuses
        return False


class Exercise(_Strict):
    """One exercise: how to get into position, then timed holds or paced repetitions."""

    name: Text = Field(description="Spoken name, e.g. 'Figure-4 stretch'.")
    instructions: Text = Field(description="Spoken set-up; {side} and {other_side} are filled in.")
    position_s: float = Field(5, ge=0, le=120, description="Time to get into position (s).")
    hold_s: Range | None = Field(None, description="Length of each hold (s); none for paced reps.")
    reps: Range = Field(default_factory=lambda: Range(default=1, min=1, max=1),
                        description="Repetitions per side.")
    sides: list[Side] = Field(default_factory=list, description="Sides to do, in order; empty: both at once.")
    tempo_s: Range | None = Field(None, description="Paced reps: seconds per repetition.")
    phases: list[Text] = Field(default_factory=list, max_length=20,
                              description="Paced reps: what is said within each rep, spread over tempo_s.")
    rest_s: float = Field(5, ge=0, le=300, description="Rest between holds (s).")
    caution: Text | None = Field(None, description="Spoken before the exercise starts.")
    release: Text = Field("And relax.", description="Spoken when a hold ends.")
    picture: str | None = Field(None, description="Line drawing of the position: an SVG file name in "
                                "a pictures/ folder beside the routines (shown on the web view).")

    @field_validator("instructions")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:  # "Single '}' encountered" and the like
            raise ValueError(f"{exc}; write {{{{ and }}}} for a literal brace") from None
        unknown = [n for n in names if n not in PLACEHOLDERS]
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; only "
                             + " and ".join(f"{{{p}}}" for p in PLACEHOLDERS) + " are filled in")
        return text

    @field_validator("hold_s")
    @classmethod
    def _hold_bound(cls, rng):
        if rng is not None and rng.max > MAX_HOLD_S:
            raise ValueError(f"a hold is at most {MAX_HOLD_S} s (10 minutes), got {rng.max:g}")
        return rng

    @field_validator("tempo_s")
    @classmethod
    def _tempo_bound(cls, rng):
        if rng is not None and rng.max > MAX_TEMPO_S:
            raise ValueError(f"a paced repetition is at most {MAX_TEMPO_S} s, got {rng.max:g}")
        return rng

    @field_validator("reps")
    @classmethod
    def _reps_bound(cls, rng):
        if any(v != int(v) for v in (rng.min, rng.default, rng.max)):
            raise ValueError("repetitions must be whole numbers")
        if rng.max > MAX_REPS:
            raise ValueError(f"at most {MAX_REPS} repetitions per side, got {rng.max:g}")
        return rng

    @field_validator("picture")
    @classmethod
    def _picture_exists(cls, name: str | None, info: ValidationInfo):
        if name is None:
            return None
        folder = (info.context or {}).get("folder")  # the routine file's folder, if the loader says
        extra = [Path(folder)] if folder else []
        if find_picture(name, extra) is None:
            raise ValueError(f"no picture {name!r} in {', '.join(str(d) for d in picture_dirs(extra))}")
        return name

    @model_validator(mode="after")
    def _hold_or_tempo(self):
        if (self.hold_s is None) == (self.tempo_s is None):
            raise ValueError("an exercise needs exactly one of hold_s (timed holds) or tempo_s (paced reps)")
        if self.tempo_s is not None and not self.phases:
            raise ValueError("paced reps (tempo_s) need phases: what to say within each repetition")
        return self


Answer = Literal["better", "worse", "same", "yes", "no"]
Preference = Literal["flexion", "extension", "none"]


class Branch(_Strict):
    """What an answer leads to. With no ``goto`` or ``stop`` the routine goes on."""

    say: str | None = None
    result: Preference | None = Field(None, description="Records the directional preference.")
    goto: str | None = Field(None, description="Id of the step to continue at.")
    stop: str | None = Field(None, description="End the session with this advice.")
    reason: str | None = Field(None, description="With stop: why, in plain words, for the next session.")
    end: bool = Field(False, description="End this routine (the caller goes on).")


class _Step(_Strict):
    id: str | None = Field(None, description="Label for goto.")


class SayStep(_Step):
    say: Text


class DoStep(_Step):
    do: str = Field(description="Id of an exercise under 'exercises'.")


class AskStep(_Step):
    ask: Text
    answers: dict[Answer, Branch]
    # A rating is about the test position just before it: what counts as a test is data.
    if_hurt: Answer | None = Field(None, description="The answer this rating counts as when the position "
                                   "before it hurt (pain or stop said in it, or symptoms moved down the leg).")
    if_untested: Answer | None = Field(None, description="The answer this rating counts as, instead of one "
                                       "choosing a direction, when the position was cut short or skipped.")

    @model_validator(mode="after")
    def _complete(self):
        keys = set(self.answers)
        if keys <= {"better", "worse", "same"} and keys != {"better", "worse", "same"}:
            raise ValueError("a rating question must give a branch for better, worse and same")
        if keys <= {"yes", "no"} and keys != {"yes", "no"}:
            raise ValueError("a yes/no question must give a branch for yes and no")
        if not (keys <= {"better", "worse", "same"} or keys <= {"yes", "no"}):
            raise ValueError("answers must be either better/worse/same or yes/no")
        return self

    @property
    def context(self) -> str:
        return "yesno" if "yes" in self.answers else "rating"


class RunStep(_Step):
    run: str = Field(description="Id of another routine to play here.")


class RunPreferredStep(_Step):
    run_preferred: dict[Preference, str | None] = Field(
        description="Routine id per directional preference; a missing one skips the step.")


class StopStep(_Step):
    stop: Text


class CheckStep(_Step):
    """A check-in that records without branching: pain score, pain location, or how the
    leg symptoms moved. It may be skipped."""

    check: Literal["pain", "location", "movement"]
    prompt: str | None = Field(None, description="What to ask; a default is used if empty.")


STEP_KEYS = {"say": SayStep, "do": DoStep, "ask": AskStep, "run": RunStep,
              "run_preferred": RunPreferredStep, "stop": StopStep, "check": CheckStep}


def _step_kind(value) -> str | None:
    if isinstance(value, dict):
        found = [k for k in STEP_KEYS if k in value]
        return found[0] if len(found) == 1 else None
    return next((k for k, cls in STEP_KEYS.items() if isinstance(value, cls)), None)


def run_targets(step) -> list[str]:
    """Ids of the routines a step plays (``run`` and ``run_preferred``)."""
    if isinstance(step, RunStep):
        return [step.run]
    if isinstance(step, RunPreferredStep):
        return [t for t in step.run_preferred.values() if t]
    return []


Step = Annotated[
    Union[tuple(Annotated[cls, Tag(key)] for key, cls in STEP_KEYS.items())],  # type: ignore[misc]
    Discriminator(_step_kind, custom_error_type="step_kind",
                  custom_error_message="a step needs exactly one of: " + ", ".join(STEP_KEYS)),
]


class Routine(_Strict):
    """One routine file. Its id is the file stem."""

    name: str = Field(description="What the user says to start it.")
    aliases: list[str] = Field(default_factory=list, description="Other spoken names.")
    description: str = ""
    menu: bool = Field(True, description="Offered in the menu and by voice.")
    exercises: dict[str, Exercise] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="before")
    @classmethod
    def _clean_texts(cls, data):
        # Control and invisible characters (escape codes, bidi overrides, zero-width spaces)
        # would act on the terminal or hide what a name says: removed from every key and text
        # (``validate`` warns about them).
        from voicecoach.content.yamlio import clean_text

        def clean(value):
            if isinstance(value, str):
                return clean_text(value)
            if isinstance(value, dict):
                return {clean(k): clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value
        return clean(data)

    @model_validator(mode="after")
    def _references(self):
        ids = [s.id for s in self.steps if s.id]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"step id used twice: {', '.join(sorted(dupes))}")
        return self

    def spoken_names(self) -> list[str]:
        return [self.name, *self.aliases]
