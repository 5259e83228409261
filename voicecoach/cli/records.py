"""`history` and `report`: the sessions kept, as a table, a chart or CSV (the file is only read)."""

from __future__ import annotations

import sys
from pathlib import Path

from voicecoach.cli.exits import EXIT_FILES, say
from voicecoach.content.yamlio import shown
from voicecoach.store.history import Store, StoreError


def cmd_history(args) -> int:
    import datetime as dt

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    rows = _stored_summaries(args.history, args.limit)
    if not rows:
        print("No sessions yet.")
        return 0
    table = Table("date", "routine", "minutes", "pain before -> after", "pain reaches", "holds done / cut",
                  "direction found", "ended", box=None)

    def arrow(a, b):
        return "-" if a is None else (f"{a}" if b is None else f"{a} -> {b}")

    def cell(value) -> Text:
        # what a history file holds is data, never markup nor terminal control: shown as text
        return Text(shown(str(value))[:200])

    for r in rows:
        when = dt.datetime.fromtimestamp(r["started_at"]).strftime("%a %d %b %H:%M")
        table.add_row(when, cell(r["routine"] or "-"), f"{r['minutes']:.0f}",
                      cell(arrow(r["pain_before"], r["pain_after"])),
                      cell(arrow(r["location_before"], r["location_after"])),
                      f"{r['holds_done']} / {r['holds_cut']}", cell(r["preference"] or "-"), cell(r["end"]))
    Console(width=None if sys.stdout.isatty() else 160).print(table)  # pipes: no wrapping
    return 0


def cmd_report(args) -> int:
    from voicecoach.store.report import write_chart, write_csv
    from voicecoach.store.history import default_path
    rows = _stored_summaries(args.history, 10_000)
    out = args.out or (args.history or default_path()).with_name("report.png")
    if not rows:
        print("No sessions yet: nothing to chart.")
        return 1
    for path in filter(None, (out, args.csv)):  # say why before drawing anything
        _check_output(path, args.history or default_path(), png=path is out)
    write_chart(rows, out)
    print(f"Chart saved to {out}")
    if args.csv:
        write_csv(rows, args.csv)
        print(f"Data saved to {args.csv}")
    return 0


def _check_output(path: Path, history: Path, png: bool) -> None:
    """A report file may only be a new file or an old report: never a folder, a device, a
    FIFO, the history itself or any other database (it is replaced whole); the chart (``png``)
    replaces only a PNG picture or an empty file."""
    import os
    import stat
    name = shown(str(path))
    if str(path) == "":
        raise SystemExit("voicecoach: the output file name is empty")
    try:
        if path.is_dir():
            raise SystemExit(f"voicecoach: {name} is a folder; give a file name, e.g. {shown(str(path / 'report.png'))}")
        if not path.parent.is_dir():
            raise SystemExit(f"voicecoach: {name}: no folder {shown(str(path.parent))}")
        if path.exists():
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise SystemExit(f"voicecoach: {name} is not a regular file (a device or a pipe); give a file name")
            if history.exists() and os.path.samefile(path, history):
                raise SystemExit(f"voicecoach: {name} is the history itself; the report would replace it")
            with open(path, "rb") as f:
                head = f.read(16)
            if head == b"SQLite format 3\0":
                raise SystemExit(f"voicecoach: {name} is a database; the report would replace it")
            if png and head and not head.startswith(b"\x89PNG"):
                raise SystemExit(f"voicecoach: {name} is not a PNG picture; the chart would replace it "
                                 "(give a new file name)")
    except OSError as exc:
        raise SystemExit(f"voicecoach: {name}: {exc.strerror or exc}") from None


def _stored_summaries(path: Path | None, limit: int) -> list[dict]:
    """The sessions of a history, read from a copy (the file is never written); a missing
    file has none (said on stderr), an unusable one ends the command (exit 4)."""
    from voicecoach.store.history import default_path
    target = path or default_path()
    if not target.exists():
        if path is not None:
            say(f"note: there is no history at {shown(str(target))}")
        return []
    try:
        store = Store(target, readonly=True)
    except StoreError as exc:
        say(f"voicecoach: {exc}")
        raise SystemExit(EXIT_FILES) from None
    try:
        return store.summaries(limit)
    except StoreError as exc:
        say(f"voicecoach: {exc}")
        raise SystemExit(EXIT_FILES) from None
    finally:
        store.close()
