"""Load routine files into :class:`~voicecoach.content.routine.Routine` models.

Errors point at the file and line: ``hip.yaml:12: steps.3.do: no exercise 'fig4'``.
A bad file is reported and skipped; the good routines are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable

import platformdirs
from pydantic import ValidationError

from voicecoach.content.routine import STEP_KEYS, Routine, run_targets
from voicecoach.content.yamlio import YamlError, line_of, load_with_nodes, read_text, shown, unsafe_chars


class RoutineError(YamlError):
    """A routine file is invalid; ``str()`` is ``file:line: what is wrong``."""


#: Shipped routines a user file may neither replace nor take the spoken name of: the safety
#: screen (red flags), the check-in that feeds the trend rule, and the assessment whose result
#: picks what is played. The ids match core's SAFETY_ROUTINE and CHECK_IN_ROUTINE.
RESERVED = ("safety-screen", "check-in", "assessment")


def reserved_problem(rid: str) -> str | None:
    """Why a user routine file may not have the id ``rid`` (None if it may)."""
    if rid in RESERVED:
        return (f"{rid!r} is a shipped safety routine and cannot be replaced by a routine file; "
                "rename the file to give your routine another id")
    if unsafe_chars(rid):
        return "the file name contains control or invisible characters; rename the file"
    return None


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
    """The routine, or every problem found in it (each with its line), in one pass:
    shape and ranges from the model, and the file's own references (``do``, ``goto``)
    read from the raw data, so a type error elsewhere does not hide them."""
    try:
        data, node = load_with_nodes(path, text)
    except YamlError as exc:
        return [RoutineError(exc.path, exc.line, exc.message)]
    if not isinstance(data, dict):
        return [RoutineError(path, 1, "a routine file must be a mapping with 'name' and 'steps'")]
    out: list[RoutineError] = []
    try:
        # the folder lets a picture: be found in pictures/ beside the file (issue 13)
        routine = Routine.model_validate(data, context={"folder": str(Path(path).parent)})
    except ValidationError as exc:
        routine = None
        for err in exc.errors():
            # pydantic inserts the union tag into the path; drop it so the path matches the file
            loc = _file_path(tuple(err["loc"]))
            where = ".".join(_shown_key(p) for p in loc) or "(top)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling)"
            elif err["type"] == "finite_number":
                msg = f"{err.get('input')!r} is not a finite number (or is far too large)"
            out.append(RoutineError(path, line_of(node, loc), f"{where}: {msg}"))
    out += [RoutineError(path, line_of(node, loc), f"{'.'.join(map(str, loc))}: {msg}")
            for loc, msg in _internal_references(data)]
    if out:
        seen: set[str] = set()
        unique = [e for e in out if not (str(e) in seen or seen.add(str(e)))]
        return sorted(unique, key=lambda e: e.line)
    return routine


def _shown_key(part) -> str:
    """A key as a message shows it: odd keys (spaces, control characters, very long) quoted."""
    text = str(part)
    if text.isprintable() and " " not in text and 0 < len(text) <= 40:
        return text
    return repr(text[:40])


def _file_path(loc: tuple) -> tuple:
    """Drop pydantic's union tag (``steps.3.ask.answers`` -> ``steps.3.answers``)."""
    out = list(loc[:3])
    if len(loc) >= 3 and loc[0] == "steps" and isinstance(loc[1], int) and loc[2] in STEP_KEYS:
        out = out[:2]
    return tuple(out) + tuple(loc[3:])


def _internal_references(data: dict) -> Iterable[tuple[tuple, str]]:
    """``do`` names an exercise of the file and ``goto`` a step id of it (raw data: works
    whatever else is wrong with the file)."""
    steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    exercises = data.get("exercises") if isinstance(data.get("exercises"), dict) else {}
    ids = {str(s["id"]) for s in steps if isinstance(s, dict) and s.get("id") is not None}
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        do = step.get("do")
        if isinstance(do, str) and do not in exercises:
            yield ("steps", i, "do"), f"no exercise {do!r} under 'exercises'"
        answers = step.get("answers")
        if isinstance(answers, dict):
            for answer, branch in answers.items():
                goto = branch.get("goto") if isinstance(branch, dict) else None
                if isinstance(goto, str) and goto not in ids:
                    yield ("steps", i, "answers", answer, "goto"), f"no step with id {goto!r}"


def check_file(path: str, lib: Library) -> Routine | list[RoutineError]:
    """``validate``: one file checked completely, against the routines it may run
    (``lib``; the file replaces a routine with its id), circles of ``run`` included."""
    result = routine_errors(path)
    errors = [] if isinstance(result, Routine) else list(result)
    try:
        data, node = load_with_nodes(path)
    except YamlError:
        return errors
    own = Path(path).stem
    if not _is_shipped(path) and (problem := reserved_problem(own)):
        errors.append(RoutineError(path, 1, problem))
    elif not _is_shipped(path) and isinstance(data, dict):
        taken = _reserved_names(lib)
        for i, name in enumerate([data.get("name"), *(data.get("aliases") or [])]
                                 if isinstance(data.get("aliases") or [], list) else [data.get("name")]):
            if isinstance(name, str) and normalised(name) in taken:
                loc = ("name",) if i == 0 else ("aliases", i - 1)
                errors.append(RoutineError(path, line_of(node, loc), f"{'.'.join(map(str, loc))}: {name!r} is the "
                                           f"spoken name of the shipped safety routine {taken[normalised(name)]!r}"))
    targets = raw_run_targets(data)
    for i, target in targets:
        if target not in lib.routines and target != own:
            errors.append(RoutineError(path, line_of(node, ("steps", i)), f"steps.{i}: no routine {target!r} to run"))
    graph = {rid: [(i, t) for i, step in enumerate(r.steps) for t in run_targets(step)]
             for rid, r in lib.routines.items()}
    graph[own] = targets
    cycle = find_cycles(graph).get(own)
    if cycle:
        errors.append(RoutineError(path, line_of(node, ("steps", cycle[0])),
                                   f"steps.{cycle[0]}: routines run each other in a circle: {' -> '.join(cycle[1])}"))
    if errors:
        seen: set[str] = set()
        return sorted((e for e in errors if not (str(e) in seen or seen.add(str(e)))), key=lambda e: e.line)
    return result


def text_warnings(path: str, routine: Routine) -> list[str]:
    """``validate``: names and sentences with control or invisible characters (bidirectional
    overrides, zero-width spaces, escape codes). The loader strips them; the author should know."""
    found: list[str] = []

    def walk(value, where: str) -> None:
        if isinstance(value, str):
            bad = unsafe_chars(value, keep="\n\t")
            if bad:
                codes = ", ".join(sorted({f"U+{ord(c):04X}" for c in bad}))
                found.append(f"{shown(path)}: warning: {where}: contains control or invisible characters "
                             f"({codes}); they are removed")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k, where)
                walk(v, f"{where}.{k}" if where else str(k))
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(v, f"{where}.{i}")

    try:
        data, _ = load_with_nodes(path)
    except YamlError:
        return found
    walk(data, "")
    return found


def _is_shipped(path: str) -> bool:
    """Is ``path`` one of the shipped routine files (validating those is allowed)?"""
    shipped = Path(str(resources.files("voicecoach.content") / "routines"))
    try:
        return Path(path).resolve().parent == shipped.resolve()
    except OSError:
        return False


def normalised(name: str) -> str:
    from voicecoach.content.vocabulary import normalise
    return normalise(name.replace("-", " "))


def _reserved_names(lib: "Library") -> dict[str, str]:
    """Spoken name (normalised) -> the reserved routine it starts."""
    return {normalised(n): rid for rid in RESERVED if rid in lib.routines
            for n in (rid, *lib.routines[rid].spoken_names())}


def raw_run_targets(data) -> list[tuple[int, str]]:
    """(step index, routine id) of every ``run`` and ``run_preferred`` in raw routine data."""
    steps = data.get("steps") if isinstance(data, dict) and isinstance(data.get("steps"), list) else []
    out = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        if isinstance(step.get("run"), str):
            out.append((i, step["run"]))
        if isinstance(step.get("run_preferred"), dict):
            out += [(i, t) for t in step["run_preferred"].values() if isinstance(t, str)]
    return out


@dataclass
class Library:
    """All routines by id, and the problems met while loading them."""

    routines: dict[str, Routine] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    errors: list[RoutineError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # loaded, but worth knowing (one line each)
    texts: dict[str, str] = field(default_factory=dict)  # id -> file text (for line numbers)

    def find(self, name: str) -> str | None:
        """The library's routine id for an id, a name or an alias (case-insensitive): always the
        library's own string, so what was typed stops here."""
        from voicecoach.content.vocabulary import normalise
        if name in self.routines:
            return next(rid for rid in self.routines if rid == name)
        wanted = normalise(name.replace("-", " "))
        # sorted like the vocabulary's start intents, so a name typed and a name said start the same
        for rid, routine in sorted(self.routines.items()):
            if wanted in {normalise(n) for n in (rid.replace("-", " "), *routine.spoken_names())}:
                return rid
        return None

    def spoken_names(self) -> dict[str, list[str]]:
        return {rid: r.spoken_names() for rid, r in self.routines.items() if r.menu}


class RoutinesFolderError(ValueError):
    """A folder given with ``--routines`` does not exist or is not a folder."""


def load_library(extra_dirs: Iterable[Path] = (), include_user: bool = True) -> Library:
    """Shipped routines, then the user's folder, then ``extra_dirs``; later ids override,
    except the :data:`RESERVED` safety routines, which user files can neither replace nor
    take the spoken names of (such a file is refused with the reason; the rest still load).
    A missing ``extra_dirs`` folder is a :class:`RoutinesFolderError`."""
    extra_dirs = [Path(d) for d in extra_dirs]
    for d in extra_dirs:
        if not d.is_dir():
            raise RoutinesFolderError(f"--routines {shown(str(d))}: " +
                                      ("is a file, not a folder" if d.exists() else "no such folder"))
    lib = Library()
    shipped = resources.files("voicecoach.content") / "routines"
    files: list[tuple[str, str, str]] = []  # (id, label, text)
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            files.append((Path(entry.name).stem, f"routines/{entry.name}", entry.read_text("utf-8")))
    dirs = ([user_routine_dir()] if include_user else []) + [Path(d) for d in extra_dirs]
    for d in dirs:
        if d.is_dir():
            for p in sorted(d.glob("*.y*ml")):
                if problem := reserved_problem(p.stem):
                    lib.errors.append(RoutineError(str(p), 1, problem))
                    continue
                try:
                    files.append((p.stem, str(p), read_text(p)))
                except YamlError as exc:  # not UTF-8, too big, unreadable: skip it, keep the rest
                    lib.errors.append(RoutineError(exc.path, exc.line, exc.message))
    for rid, label, text in files:
        result = routine_errors(label, text)
        if isinstance(result, Routine):
            if rid not in RESERVED and (clash := _name_clash(lib, result, rid)):
                lib.errors.append(RoutineError(label, _line_of_name(label, text, result, clash[0]), clash[1]))
                continue
            lib.texts[rid] = text
            lib.routines[rid] = result
            lib.sources[rid] = label
        else:
            lib.errors.extend(result)
    _check_cross_references(lib)
    lib.warnings += _same_spoken_names(lib)
    return lib


def _name_clash(lib: Library, routine: Routine, rid: str) -> tuple[str, str] | None:
    """(name, why) if ``routine`` would take a spoken name of a reserved safety routine."""
    taken = _reserved_names(lib)
    for name in routine.spoken_names():
        if normalised(name) in taken:
            return name, f"{name!r} is the spoken name of the shipped safety routine {taken[normalised(name)]!r}"
    return None


def _line_of_name(label: str, text: str, routine: Routine, name: str) -> int:
    try:
        _, node = load_with_nodes(label, text)
    except YamlError:
        return 1
    loc = ("name",) if name == routine.name else ("aliases", routine.aliases.index(name))
    return line_of(node, loc)


def _same_spoken_names(lib: Library) -> list[str]:
    """One warning per spoken name two menu routines share, saying which one it starts (the
    first id in sorted order, as the vocabulary and :meth:`Library.find` pick it)."""
    owners: dict[str, list[str]] = {}
    for rid in sorted(lib.routines):
        for name in {normalised(n) for n in lib.routines[rid].spoken_names()}:
            owners.setdefault(name, []).append(rid)
    return [f"the spoken name {shown(name)!r} belongs to {', '.join(rids)}; saying it starts {rids[0]}"
            for name, rids in sorted(owners.items()) if len(rids) > 1]


def _check_cross_references(lib: Library) -> None:
    """``run`` steps must name routines that exist, and routines must not run each other
    in a circle; drop the routines that do either (each with an error at its step)."""
    changed = True
    while changed:
        changed = False
        for rid, routine in list(lib.routines.items()):
            for i, step in enumerate(routine.steps):
                missing = [t for t in run_targets(step) if t not in lib.routines]
                if missing:
                    _drop(lib, rid, i, f"steps.{i}: no routine {missing[0]!r} to run")
                    changed = True
                    break
    graph = {rid: [(i, t) for i, step in enumerate(r.steps) for t in run_targets(step)]
             for rid, r in lib.routines.items()}
    for rid, (i, cycle) in find_cycles(graph).items():
        _drop(lib, rid, i, f"steps.{i}: routines run each other in a circle: {' -> '.join(cycle)}")
    if any(rid not in lib.routines for rid in graph):
        _check_cross_references(lib)  # a routine that ran a dropped one goes too


def find_cycles(graph: dict[str, list[tuple[int, str]]]) -> dict[str, tuple[int, list[str]]]:
    """Routines on a circle of ``run`` steps: id -> (index of the step that closes it, the circle)."""
    found: dict[str, tuple[int, list[str]]] = {}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(start: str) -> None:
        path: list[tuple[str, int]] = []  # (routine, index of the next edge to try)
        state[start] = 1
        path.append((start, 0))
        while path:
            node, k = path[-1]
            edges = graph.get(node, [])
            if k >= len(edges):
                state[node] = 2
                path.pop()
                continue
            path[-1] = (node, k + 1)
            step, target = edges[k]
            if state.get(target) == 1:  # back to a routine on the path: a circle
                names = [n for n, _ in path]
                cycle = names[names.index(target):]
                for j, member in enumerate(cycle):  # each member, at its step that runs the next
                    nxt = cycle[(j + 1) % len(cycle)]
                    at = next(i for i, t in graph[member] if t == nxt)
                    found.setdefault(member, (at, cycle[j:] + cycle[:j] + [member]))
            elif target in graph and target not in state:
                state[target] = 1
                path.append((target, 0))

    for rid in graph:
        if rid not in state:
            visit(rid)
    return found


def _drop(lib: Library, rid: str, step: int, message: str) -> None:
    label = lib.sources[rid]
    try:
        _, node = load_with_nodes(label, lib.texts.get(rid))
        line = line_of(node, ("steps", step))
    except YamlError:
        line = 1
    lib.errors.append(RoutineError(label, line, message))
    del lib.routines[rid]
