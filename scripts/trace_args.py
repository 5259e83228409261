#!/usr/bin/env python3
"""Where does the command line go? Runs one ``voicecoach`` command in this process and follows
its argparse namespace (``args``) from ``cmd_play`` on, with ``sys.settrace``.

A module is *visited* when one of its functions receives, as a parameter, ``args`` itself or a
value read from it (``args.speed``, ``args.routines`` and the folders in it, or a list or
tuple holding them), or reads an attribute of ``args``. Values computed from those (settings with a flag folded in, a clock
made from ``args.speed``) are not followed: turning flags into settings and values once, at the
composition root, is what the measure asks for (issue 20: at most 8 modules).

    HOME=$(mktemp -d) PYTHONPATH=$PWD .venv/bin/python scripts/trace_args.py < /dev/null
    ... scripts/trace_args.py -- run hip-stretches --text --speed 1000   (the default)

Without a HOME given, a temporary one is used, so no real history or settings are touched.
Prints each module visited, the functions that received what, and the count; exits 1 if
the count is over ``--max`` (8).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = str(ROOT / "voicecoach") + os.sep
DEFAULT_ARGV = ["run", "hip-stretches", "--text", "--speed", "1000"]
START = "cmd_play"


def _module_of(filename: str) -> str | None:
    if not filename.startswith(PKG):
        return None
    rel = Path(filename).relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class Tracer:
    def __init__(self):
        self.args = None
        self.tainted: dict[int, object] = {}  # id -> the object (kept alive so ids stay unique)
        self.started = False
        self.visits: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.order: list[str] = []

    # ------------------------------------------------------------------ what counts
    def taint(self, value, depth: int = 0) -> None:
        if value is None or isinstance(value, bool) or (isinstance(value, int) and -5 <= value <= 256):
            return  # shared singletons: any None or small int would look like the flag's
        if isinstance(value, str) and len(value) <= 1:
            return
        self.tainted[id(value)] = value
        if depth == 0 and isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                self.taint(item, 1)

    def what(self, value) -> str | None:
        if value is self.args:
            return "args"
        if id(value) in self.tainted and self.tainted[id(value)] is value:
            return f"args value {value!r}"[:80]
        if isinstance(value, (list, tuple)) and any(self.what(item) for item in value[:64]):
            return f"a copy of args values {value!r}"[:80]  # list(args.routines), a tuple of them
        return None

    def visit(self, module: str, function: str, what: str) -> None:
        if module not in self.visits:
            self.order.append(module)
        self.visits[module][function].add(what)

    # ------------------------------------------------------------------ the hooks
    def read(self, frame, name: str, value) -> None:
        """``args.NAME`` was read in ``frame``."""
        if not self.started:
            return
        module = _module_of(frame.f_code.co_filename)
        if module:
            self.visit(module, frame.f_code.co_qualname, f"reads args.{name}")
        self.taint(value)

    def on_call(self, frame, event, arg):
        if event != "call":
            return None
        code = frame.f_code
        module = _module_of(code.co_filename)
        if module is None:
            return None
        if not self.started:
            if code.co_name == START and module.startswith("voicecoach.cli"):
                self.started = True
                self.args = frame.f_locals.get("args")
            else:
                return None
        n = code.co_argcount + code.co_kwonlyargcount
        n += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
        local = frame.f_locals
        for name in code.co_varnames[:n]:
            value = local.get(name)
            values = value.values() if isinstance(value, dict) and name != "self" else \
                value if isinstance(value, tuple) and code.co_flags & 0x04 else (value,)
            for v in values:
                what = self.what(v)
                if what:
                    self.visit(module, code.co_qualname, f"{name} = {what}")
        return None

    # ------------------------------------------------------------------ the report
    def report(self, out=sys.stdout) -> int:
        print(f"modules visited by {START}'s args: {len(self.order)}", file=out)
        for module in self.order:
            print(f"  {module}", file=out)
            for function, whats in self.visits[module].items():
                print(f"      {function}: {', '.join(sorted(whats))}", file=out)
        return len(self.order)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=8, help="most modules allowed (default 8)")
    parser.add_argument("argv", nargs="*", help="the voicecoach command line (after --)")
    opts = parser.parse_args()
    argv = opts.argv or DEFAULT_ARGV
    if "HOME" not in os.environ or not os.environ.get("TRACE_ARGS_REAL_HOME"):
        home = tempfile.mkdtemp(prefix="trace-args-")
        os.environ["HOME"] = home
        for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                         ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
            os.environ[var] = os.path.join(home, sub)
    sys.path.insert(0, str(ROOT))

    tracer = Tracer()

    class TracedNamespace(argparse.Namespace):
        def __getattribute__(self, name):
            value = super().__getattribute__(name)
            if not name.startswith("__"):
                tracer.read(sys._getframe(1), name, value)
            return value

    plain_parse = argparse.ArgumentParser.parse_known_args

    def parse_known_args(self, *a, **kw):
        ns, rest = plain_parse(self, *a, **kw)
        if type(ns) is argparse.Namespace:
            ns.__class__ = TracedNamespace
        return ns, rest
    argparse.ArgumentParser.parse_known_args = parse_known_args

    real_exit = os._exit

    def finish(code=0):
        sys.settrace(None)
        threading.settrace(None)
        count = tracer.report(sys.__stdout__)
        sys.__stdout__.flush()
        real_exit(1 if count > opts.max else 0)

    os._exit = finish  # cmd_play leaves with os._exit after Ctrl-C or an interrupted session
    from voicecoach.cli.main import main as voicecoach_main
    threading.settrace(tracer.on_call)
    sys.settrace(tracer.on_call)
    try:
        code = voicecoach_main(argv)
    finally:
        sys.settrace(None)
        threading.settrace(None)
    print(f"[voicecoach {' '.join(argv)}: exit {code}]", file=sys.stderr)
    count = tracer.report()
    return 1 if count > opts.max else 0


if __name__ == "__main__":
    sys.exit(main())
