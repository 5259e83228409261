"""`routines` and `validate`: the routines there are, and whether routine files are right."""

from __future__ import annotations

import sys

from voicecoach.cli.compose import routines_library
from voicecoach.content.loader import load_library
from voicecoach.content.routine import Routine
from voicecoach.content.yamlio import shown
from voicecoach.core.program import routine_seconds


def cmd_routines(args) -> int:
    from rich.console import Console
    from rich.table import Table
    lib = routines_library(args.routines)
    table = Table("id", "spoken name", "also", "minutes", box=None)
    for rid, routine in sorted(lib.routines.items()):
        table.add_row(rid, routine.name, ", ".join(routine.aliases), f"{routine_seconds(lib, rid) / 60:.1f}")
    Console().print(table)
    return 0


def cmd_validate(args) -> int:
    from voicecoach.content.loader import check_file, routine_errors
    lib = load_library(args.routines)
    for path in args.files:  # the files checked together may run each other
        result = routine_errors(str(path))
        if isinstance(result, Routine):
            lib.routines[path.stem] = result
    bad = 0
    from voicecoach.content.loader import text_warnings
    for warning in lib.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for path in args.files:
        result = check_file(str(path), lib)
        if isinstance(result, Routine):
            for warning in text_warnings(str(path), result):
                print(warning, file=sys.stderr)
            print(f"{shown(str(path))}: ok ({len(result.steps)} steps)")
        else:
            for err in result:
                print(err, file=sys.stderr)
            bad += 1
    return 1 if bad else 0
