"""`voicecoach config`: show the settings and where each comes from; set or unset one."""

from __future__ import annotations

import sys

from voicecoach.cli.compose import check_voice, routines_library
from voicecoach.content.loader import Library
from voicecoach.settings.file import SettingsFile, parse_value
from voicecoach.settings.schema import SettingsError, all_keys


def cmd_config(args) -> int:
    return config(args, routines_library(args.routines))


def config(args, lib: Library) -> int:
    """Show the settings, or set/unset one key (refused, file untouched, if not valid)."""
    file = SettingsFile()
    if args.action == "set":
        if args.key is None or args.value is None:
            print("usage: voicecoach config set KEY VALUE (see 'voicecoach config' for the keys)", file=sys.stderr)
            return 2
        for part in (args.key, args.value):
            try:
                part.encode("utf-8")
            except UnicodeEncodeError:  # bytes the terminal could not decode (surrogate escapes)
                print(f"Not changed: {part.encode('utf-8', 'backslashreplace').decode()!r} is not UTF-8 text",
                      file=sys.stderr)
                return 2
        try:
            value = parse_value(args.value, args.key)
            if args.key == "speech.voice" and file.load(lib)[0].speech.engine == "espeak":
                check_voice(args.value)  # (hibari's one voice is checked by the settings)
            file.set(args.key, value, lib)
        except SettingsError as exc:
            print(f"Not changed: {exc}", file=sys.stderr)
            return 2
        print(f"{args.key} = {value!r} saved in {file.path}")
        return 0
    if args.action == "unset":
        if args.key is None:
            print("usage: voicecoach config unset KEY", file=sys.stderr)
            return 2
        try:
            removed = file.unset(args.key)
        except SettingsError as exc:
            print(f"Not changed: {exc}", file=sys.stderr)
            return 2
        if removed:
            print(f"{args.key}: back to the default")
            return 0
        known = {info.key for info in all_keys(lib)}
        if args.key in known:
            print(f"{args.key} is not in {file.path}: it already has its default", file=sys.stderr)
        else:
            print(f"{args.key} is not a setting (see 'voicecoach config' for the keys); nothing changed",
                  file=sys.stderr)
        return 1
    return _show_config(file, lib)


def _show_config(file: SettingsFile, lib: Library) -> int:
    from rich.console import Console
    from rich.table import Table
    try:
        data = file.read_data()
        settings, problems = file.load(lib)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    in_file = _flatten(data)
    effective = _flatten(settings.model_dump())
    table = Table("key", "value", "from", "allowed", "what", box=None)
    for info in all_keys(lib):
        value = effective.get(info.key, info.default)
        source = "settings file" if info.key in in_file and info.key in effective else "default"
        shown = "-" if value is None else f"{value:g}" if isinstance(value, float) else f"{value}"
        table.add_row(info.key, shown, source, info.allowed, info.help)
    print(f"settings file: {file.path}" + ("" if file.path.exists() else " (not created yet)"))
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    for key, msg in problems:
        print(f"{file.path}:{file.line_of(key)}: {key}: {msg} (the default is used)", file=sys.stderr)
    print("Change one with: voicecoach config set KEY VALUE; command-line flags override the file.")
    return 1 if problems else 0


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
