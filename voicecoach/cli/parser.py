"""The command line's grammar: commands, flags and their ranges (a bad one is a usage error, exit 2)."""

from __future__ import annotations

import argparse
from pathlib import Path

from voicecoach import __version__

CONTEXTS = ("menu", "rating", "yesno", "exercise", "pain", "location", "movement")


def _number(kind, low: float, high: float, what: str):
    """An argparse ``type``: a finite ``kind`` within ``low``..``high`` (else a usage error, exit 2)."""
    def parse(text: str):
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
        if not (low <= value <= high):  # NaN fails this too
            raise argparse.ArgumentTypeError(f"{text[:40]} is out of range: {what}")
        return value
    return parse


def _routines_opt(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--routines", type=Path, action="append", default=[], metavar="DIR",
                        help="extra folder of routine files (may be given more than once)")


def _play_opts(parser: argparse.ArgumentParser) -> None:
    _routines_opt(parser)
    parser.add_argument("--text", action="store_true",
                        help="typed mode: print what the coach says, read answers from stdin")
    parser.add_argument("--speed", type=_number(float, 1e-3, 1e6, "0.001 to 1000000"), default=1.0, metavar="FACTOR",
                        help="compress all waiting by FACTOR (demos and tests; 1000 plays a program in a second)")
    parser.add_argument("--history", type=Path, metavar="FILE", help="history database (default: XDG data dir)")
    parser.add_argument("--silence-timeout", type=float, metavar="SECONDS",
                        help="how long to wait for an answer before asking again (s)")
    parser.add_argument("--view", choices=("terminal", "web"),
                        help="web: also serve the live view as a local web page (setting view.web)")
    parser.add_argument("--web-port", type=_number(int, 0, 65535, "0 to 65535"), metavar="PORT", help="port of the web view (0: any free port)")
    _device_opts(parser)


def _device_opts(parser: argparse.ArgumentParser) -> None:
    """Flags that override the settings file (see 'voicecoach config')."""
    parser.add_argument("--input-device", metavar="NAME|INDEX", help="microphone (see 'voicecoach devices')")
    parser.add_argument("--output-device", metavar="NAME|INDEX", help="loudspeaker (see 'voicecoach devices')")
    parser.add_argument("--speech-engine", dest="engine", choices=("hibari", "espeak"),
                        help="voice: hibari (the neural voice, default) or espeak (espeak-ng) (setting speech.engine)")
    parser.add_argument("--voice", help="espeak-ng voice id, e.g. gmw/en-US (with --speech-engine espeak)")
    parser.add_argument("--rate", type=int, help="speech rate (words per minute)")
    parser.add_argument("--volume", type=float, help="speech volume, 0.0 to 1.0")
    parser.add_argument("--no-cues", action="store_true", help="no beeps at the start and end of holds")
    parser.add_argument("--recognizer", choices=("whisper", "pocketsphinx"),
                        help="speech recognizer (setting listening.engine)")
    parser.add_argument("--sensitivity", type=int, help="1 (strictest) to 5: how readily speech is an answer")
    parser.add_argument("--threshold", type=float, help="expert: raw confidence threshold (overrides sensitivity)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicecoach",
                                     description="Hands-free, offline voice coach for sciatica exercises.")
    parser.add_argument("--version", action="version", version=f"voicecoach {__version__}")
    _play_opts(parser)
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run one routine by id or spoken name")
    run.add_argument("routine")
    _play_opts(run)

    res = sub.add_parser("resume", help="pick up an interrupted session at the step it stopped")
    _play_opts(res)

    lst = sub.add_parser("routines", help="list routines with their lengths")
    _routines_opt(lst)

    val = sub.add_parser("validate", help="check routine files; print file:line: problem")
    val.add_argument("files", nargs="+", type=Path)
    _routines_opt(val)

    hear = sub.add_parser("hear", help="run WAV files through the live listening pipeline")
    hear.add_argument("files", nargs="+", type=Path)
    hear.add_argument("--listen-for", choices=CONTEXTS, default="exercise", metavar="CONTEXT",
                      help=", ".join(CONTEXTS) + " (default: exercise)")
    hear.add_argument("--json", action="store_true", help="one JSON object per detected utterance")
    hear.add_argument("--threshold", type=float, help="expert: the engine's raw acceptance threshold")
    hear.add_argument("--recognizer", choices=("whisper", "pocketsphinx"),
                      help="speech recognizer (setting listening.engine)")
    _routines_opt(hear)

    check = sub.add_parser("check", help="speak a test sentence, listen, show the level and what was heard")
    check.add_argument("--seconds", type=_number(float, 0.1, 3600, "0.1 to 3600 seconds"), default=8.0,
                       help="how long to wait for speech after the last thing heard (s)")
    _device_opts(check)
    _routines_opt(check)

    sub.add_parser("devices", help="list audio devices")

    cfg = sub.add_parser("config", help="show settings and where they come from; 'config set KEY VALUE'")
    cfg.add_argument("action", nargs="?", choices=("show", "set", "unset"), default="show")
    cfg.add_argument("key", nargs="?", help="dotted key, e.g. speech.rate")
    cfg.add_argument("value", nargs="?", help="new value (TOML syntax: 150, true, or text)")
    _routines_opt(cfg)

    hist = sub.add_parser("history", help="recent sessions: date, routine, minutes, result")
    hist.add_argument("--history", type=Path, metavar="FILE", help="history database (default: XDG data dir)")
    hist.add_argument("--limit", type=_number(int, 1, 1_000_000, "1 to 1000000 sessions"), default=20)

    rep = sub.add_parser("report", help="chart of pain score and location over time (PNG), or --csv")
    rep.add_argument("--history", type=Path, metavar="FILE", help="history database (default: XDG data dir)")
    rep.add_argument("--out", type=Path, help="PNG file to write (default: XDG data dir)")
    rep.add_argument("--csv", type=Path, metavar="FILE", help="also export the raw session data as CSV")
    return parser
