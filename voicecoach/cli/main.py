"""`voicecoach`: parse the command line, run the command, and turn every failure into one
plain line and a documented exit code (``EXIT_*`` in :mod:`voicecoach.cli.exits`)."""

from __future__ import annotations

import os
import sys

from voicecoach.cli.exits import (EXIT_FILES, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_PIPE, EXIT_USAGE,
                                  say)
from voicecoach.cli.check import cmd_check, cmd_devices
from voicecoach.cli.config import cmd_config
from voicecoach.cli.hear import cmd_hear
from voicecoach.cli.parser import build_parser
from voicecoach.cli.play import cmd_play
from voicecoach.cli.records import cmd_history, cmd_report
from voicecoach.cli.routines import cmd_routines, cmd_validate
from voicecoach.content.yamlio import shown
from voicecoach.settings.schema import SettingsError


def main(argv: list[str] | None = None) -> int:
    """Every command's errors end here: one plain line on stderr and a documented exit code
    (``EXIT_*``), never a traceback."""
    _pipe_errors_reach_main()
    _closed_streams_to_devnull()
    _any_text_printable()
    try:
        args = build_parser().parse_args(argv)  # usage errors: argparse's message, exit 2
        command = args.command or "menu"
        handlers = {"menu": cmd_play, "run": cmd_play, "resume": cmd_play, "routines": cmd_routines,
                    "validate": cmd_validate, "hear": cmd_hear, "check": cmd_check, "devices": cmd_devices,
                    "history": cmd_history, "report": cmd_report, "config": cmd_config}
        return handlers[command](args)
    except KeyboardInterrupt:
        say("\nStopped.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (``voicecoach history | head -1``): end quietly; point stdout at
        # /dev/null so the interpreter's final flush does not complain either
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, AttributeError, ValueError):
            pass
        return EXIT_PIPE
    except SystemExit as exc:
        if isinstance(exc.code, str):  # raise SystemExit("voicecoach: --flag: problem")
            say(exc.code)
            return EXIT_USAGE
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into a line
        return _failure(exc)


def _closed_streams_to_devnull() -> None:
    """Started with a standard stream closed (``<&-``, ``>&-``, ``2>&-``), Python has None for it,
    and ``print(file=None)`` would even write warnings to stdout: give each closed one /dev/null
    (a closed stdin reads as the end of input)."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))


def _any_text_printable() -> None:
    """An output that cannot show every character (``PYTHONIOENCODING=ascii``, a Latin-1
    terminal) gets escapes (``\\xe9``) for the ones it cannot, never an error."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a text file of ours (a test's capture)
            pass


def _pipe_errors_reach_main() -> None:
    """rich ends the program itself (exit 1) on a closed pipe; let it reach :func:`main` instead,
    so every command ends the same quiet way with :data:`EXIT_PIPE`."""
    from rich.console import Console

    def on_broken_pipe(console) -> None:
        console.quiet = True
        raise BrokenPipeError
    Console.on_broken_pipe = on_broken_pipe


def _failure(exc: BaseException) -> int:
    """The one line and exit code for an error no command handled itself."""
    import sqlite3

    from voicecoach.content.loader import RoutinesFolderError
    from voicecoach.store.history import StoreError
    if isinstance(exc, StoreError):  # the history failed in a way no command handled: its own sentence
        say(f"voicecoach: {shown(str(exc))}; nothing already stored was changed")
        return EXIT_FILES
    if isinstance(exc, RoutinesFolderError):
        say(f"voicecoach: {exc}")
        return EXIT_USAGE
    if isinstance(exc, SettingsError):
        say(f"voicecoach: {' '.join(str(exc).splitlines())}")
        return EXIT_USAGE
    if isinstance(exc, sqlite3.Error):
        say(f"voicecoach: the history could not be read or written ({exc}); nothing was changed by this error")
        return EXIT_FILES
    if isinstance(exc, OSError):
        where = f"{shown(str(exc.filename))}: " if exc.filename else ""
        say(f"voicecoach: {where}{exc.strerror or exc}")
        return EXIT_FILES
    if isinstance(exc, RecursionError):
        say("voicecoach: an input is nested too deeply to read")
        return EXIT_FILES
    say(f"voicecoach: internal error ({type(exc).__name__}: {shown(' '.join(str(exc).splitlines())[:200])}); "
         "please report it")
    return EXIT_INTERNAL
