"""Load routine files into :class:`~voicecoach.routine.Routine` models.

Errors point at the file and line: ``hip.yaml:12: steps.3.do: no exercise 'fig4'``.
A bad file is reported and skipped; the good routines are kept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable

import platformdirs
from pydantic import ValidationError

from .routine import STEP_KEYS, AskStep, DoStep, Routine, run_targets
from .yamlio import YamlError, line_of, load_with_nodes


class RoutineError(YamlError):
    """A routine file is invalid; ``str()`` is ``file:line: what is wrong``."""


def user_routine_dir() -> Path:
    """Per-user routines folder ($XDG_CONFIG_HOME/voicecoach/routines)."""
    return Path(platformdirs.user_config_dir("voicecoach")) / "routines"


def load_routine(path: Path | str, text: str | None = None) -> Routine:
    """Parse and validate one file; raise :class:`RoutineError` on the first problem."""
    path = str(path)
    errors = routine_errors(path, text)
    if isinstance(errors, Routine):
        return errors
    raise errors[0]


def routine_errors(path: str, text: str | None = None) -> Routine | list[RoutineError]:
    """The routine, or every problem found in it (each with its line)."""
    try:
        data, node = load_with_nodes(path, text)
    except YamlError as exc:
        return [RoutineError(exc.path, exc.line, exc.message)]
    if not isinstance(data, dict):
        return [RoutineError(path, 1, "a routine file must be a mapping with 'name' and 'steps'")]
    try:
        # the folder lets a picture: be found in pictures/ beside the file (issue 13)
        routine = Routine.model_validate(data, context={"folder": str(Path(path).parent)})
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            # pydantic inserts the union tag into the path; drop it so the path matches the file
            loc = _file_path(tuple(err["loc"]))
            where = ".".join(str(p) for p in loc) or "(top)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling)"
            out.append(RoutineError(path, line_of(node, loc), f"{where}: {msg}"))
        return out
    problems = [RoutineError(path, line_of(node, loc), f"{'.'.join(map(str, loc))}: {msg}")
                for loc, msg in _internal_references(routine)]
    return problems or routine


def _file_path(loc: tuple) -> tuple:
    """Drop pydantic's union tag (``steps.3.ask.answers`` -> ``steps.3.answers``)."""
    out = list(loc[:3])
    if len(loc) >= 3 and loc[0] == "steps" and isinstance(loc[1], int) and loc[2] in STEP_KEYS:
        out = out[:2]
    return tuple(out) + tuple(loc[3:])


def _internal_references(routine: Routine) -> Iterable[tuple[tuple, str]]:
    ids = {s.id for s in routine.steps if s.id}
    for i, step in enumerate(routine.steps):
        if isinstance(step, DoStep) and step.do not in routine.exercises:
            yield ("steps", i, "do"), f"no exercise {step.do!r} under 'exercises'"
        if isinstance(step, AskStep):
            for answer, branch in step.answers.items():
                if branch.goto and branch.goto not in ids:
                    yield ("steps", i, "answers", answer, "goto"), f"no step with id {branch.goto!r}"


@dataclass
class Library:
    """All routines by id, and the problems met while loading them."""

    routines: dict[str, Routine] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    errors: list[RoutineError] = field(default_factory=list)

    def find(self, name: str) -> str | None:
        """Routine id for an id, a name or an alias (case-insensitive)."""
        from .vocabulary import normalise
        if name in self.routines:
            return name
        wanted = normalise(name.replace("-", " "))
        for rid, routine in self.routines.items():
            if wanted in {normalise(n) for n in (rid.replace("-", " "), *routine.spoken_names())}:
                return rid
        return None

    def spoken_names(self) -> dict[str, list[str]]:
        return {rid: r.spoken_names() for rid, r in self.routines.items() if r.menu}


def load_library(extra_dirs: Iterable[Path] = (), include_user: bool = True) -> Library:
    """Shipped routines, then the user's folder, then ``extra_dirs``; later ids override."""
    lib = Library()
    shipped = resources.files("voicecoach") / "routines"
    files: list[tuple[str, str, str]] = []  # (id, label, text)
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            files.append((Path(entry.name).stem, f"routines/{entry.name}", entry.read_text("utf-8")))
    dirs = ([user_routine_dir()] if include_user else []) + [Path(d) for d in extra_dirs]
    for d in dirs:
        if d.is_dir():
            for p in sorted(d.glob("*.y*ml")):
                files.append((p.stem, str(p), p.read_text("utf-8")))
    for rid, label, text in files:
        result = routine_errors(label, text)
        if isinstance(result, Routine):
            lib.routines[rid] = result
            lib.sources[rid] = label
        else:
            lib.errors.extend(result)
    _check_cross_references(lib)
    return lib


def _check_cross_references(lib: Library) -> None:
    """``run`` steps must name routines that exist; drop routines that don't (with an error)."""
    changed = True
    while changed:
        changed = False
        for rid, routine in list(lib.routines.items()):
            for i, step in enumerate(routine.steps):
                missing = [t for t in run_targets(step) if t not in lib.routines]
                if missing:
                    label = lib.sources[rid]
                    text = None if os.path.exists(label) else (
                        resources.files("voicecoach") / label).read_text("utf-8")
                    _, node = load_with_nodes(label, text)
                    lib.errors.append(RoutineError(label, line_of(node, ("steps", i)),
                                                   f"steps.{i}: no routine {missing[0]!r} to run"))
                    del lib.routines[rid]
                    changed = True
                    break
