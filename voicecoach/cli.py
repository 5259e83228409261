"""Command line: the composition root that wires adapters to the pure coach."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .clock import SystemClock
from .coach import Coach
from .loader import Library, load_library, routine_errors, user_routine_dir
from .program import routine_seconds
from .routine import Routine
from .session import Session
from .store import Store
from .textio import PrintSpeaker, TypedListener
from .vocabulary import Vocabulary


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", action="store_true",
                        help="typed mode: print what the coach says, read answers from stdin")
    parser.add_argument("--speed", type=float, default=1.0, metavar="FACTOR",
                        help="compress all waiting by FACTOR (demos and tests; 1000 plays a program in a second)")
    parser.add_argument("--routines", type=Path, action="append", default=[], metavar="DIR",
                        help="extra folder of routine files (may be given more than once)")
    parser.add_argument("--history", type=Path, metavar="FILE", help="history database (default: XDG data dir)")
    parser.add_argument("--silence-timeout", type=float, default=8.0, metavar="SECONDS",
                        help="how long to wait for an answer before asking again (s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicecoach", description=__doc__.splitlines()[0]
                                     if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"voicecoach {__version__}")
    _common(parser)
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run one routine by id or spoken name")
    run.add_argument("routine")
    _common(run)

    lst = sub.add_parser("routines", help="list routines with their lengths")
    lst.add_argument("--routines", type=Path, action="append", default=[], metavar="DIR")

    val = sub.add_parser("validate", help="check routine files; print file:line: problem")
    val.add_argument("files", nargs="+", type=Path)
    val.add_argument("--routines", type=Path, action="append", default=[], metavar="DIR")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "menu"
    try:
        return {"menu": cmd_play, "run": cmd_play, "routines": cmd_routines,
                "validate": cmd_validate}[command](args)
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130


def _library(args) -> Library:
    lib = load_library(args.routines)
    for err in lib.errors:
        print(f"warning: skipped routine: {err}", file=sys.stderr)
    return lib


def cmd_routines(args) -> int:
    lib = _library(args)
    from rich.console import Console
    from rich.table import Table
    table = Table("id", "spoken name", "also", "minutes", box=None)
    for rid, routine in sorted(lib.routines.items()):
        table.add_row(rid, routine.name, ", ".join(routine.aliases),
                      f"{routine_seconds(lib, rid) / 60:.0f}")
    Console().print(table)
    return 0


def cmd_validate(args) -> int:
    lib = load_library(args.routines)
    bad = 0
    for path in args.files:
        if not path.exists():
            print(f"{path}: no such file", file=sys.stderr)
            bad += 1
            continue
        result = routine_errors(str(path))
        if isinstance(result, Routine):
            missing = _missing_references(result, lib, path.stem)
            for msg in missing:
                print(f"{path}: {msg}", file=sys.stderr)
            bad += bool(missing)
            if not missing:
                print(f"{path}: ok ({len(result.steps)} steps)")
        else:
            for err in result:
                print(err, file=sys.stderr)
            bad += 1
    return 1 if bad else 0


def _missing_references(routine: Routine, lib: Library, own_id: str) -> list[str]:
    from .routine import RunPreferredStep, RunStep
    known = set(lib.routines) | {own_id}
    out = []
    for i, step in enumerate(routine.steps):
        targets = [step.run] if isinstance(step, RunStep) else (
            [t for t in step.run_preferred.values() if t] if isinstance(step, RunPreferredStep) else [])
        out += [f"steps.{i}: no routine {t!r} to run" for t in targets if t not in known]
    return out


def cmd_play(args) -> int:
    lib = _library(args)
    routine_id = None
    if getattr(args, "routine", None):
        routine_id = lib.find(args.routine)
        if routine_id is None:
            print(f"No routine called {args.routine!r}. Try: {', '.join(sorted(lib.routines))}",
                  file=sys.stderr)
            return 2
    clock = SystemClock(args.speed)
    vocabulary = Vocabulary.load()
    store = Store(args.history)
    coach = Coach(lib, vocabulary, clock.now, routine=routine_id,
                  screen=not store.get_fact("screen_passed", False),
                  silence_timeout_s=args.silence_timeout)
    speaker = PrintSpeaker()
    listener = TypedListener(coach.vocab, clock)
    store.begin_session(routine_id)
    try:
        reason = Session(coach, speaker, listener, clock, recorder=store).run()
    finally:
        store.close()
    return 0 if reason in ("done", "stopped") else 3
