"""Command line: the composition root that wires adapters to the pure coach."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from voicecoach import __version__
from voicecoach.session.clock import SystemClock
from voicecoach.core import plan
from voicecoach.core.coach import Coach
from voicecoach.content.loader import Library, load_library
from voicecoach.core.program import routine_seconds
from voicecoach.content.routine import Routine
from voicecoach.core.safety import SafetyStop
from voicecoach.session.loop import Session
from voicecoach.settings.schema import Settings, SettingsError, SettingsFile, SpeechSettings, settings_path
from voicecoach.store.history import Store, StoreError, open_for_session
from voicecoach.hearing.typed import TypedListener
from voicecoach.speech.captions import PrintSpeaker
from voicecoach.content.vocabulary import Vocabulary
from voicecoach.content.yamlio import shown

CONTEXTS = ("menu", "rating", "yesno", "exercise", "pain", "location", "movement")


# Exit codes (listed in the README): one meaning each, whatever the command.
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_SESSION, EXIT_FILES, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141  # Ctrl-C; output into a closed pipe (128 + SIGPIPE, as shells do)


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


def main(argv: list[str] | None = None) -> int:
    """Every command's errors end here: one plain line on stderr and a documented exit code
    (``EXIT_*``), never a traceback."""
    _pipe_errors_reach_main()
    _closed_streams_to_devnull()
    try:
        args = build_parser().parse_args(argv)  # usage errors: argparse's message, exit 2
        command = args.command or "menu"
        handlers = {"menu": cmd_play, "run": cmd_play, "resume": cmd_play, "routines": cmd_routines,
                    "validate": cmd_validate, "hear": cmd_hear, "check": cmd_check, "devices": cmd_devices,
                    "history": cmd_history, "report": cmd_report, "config": cmd_config}
        return handlers[command](args)
    except KeyboardInterrupt:
        _say("\nStopped.")
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
            _say(exc.code)
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


def _pipe_errors_reach_main() -> None:
    """rich ends the program itself (exit 1) on a closed pipe; let it reach :func:`main` instead,
    so every command ends the same quiet way with :data:`EXIT_PIPE`."""
    from rich.console import Console

    def on_broken_pipe(console) -> None:
        console.quiet = True
        raise BrokenPipeError
    Console.on_broken_pipe = on_broken_pipe


def _say(line: str) -> None:
    """One line on stderr, even if stderr itself is closed or a closed pipe."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, AttributeError, ValueError):
        pass


def _failure(exc: BaseException) -> int:
    """The one line and exit code for an error no command handled itself."""
    import sqlite3

    from voicecoach.content.loader import RoutinesFolderError
    if isinstance(exc, RoutinesFolderError):
        _say(f"voicecoach: {exc}")
        return EXIT_USAGE
    if isinstance(exc, SettingsError):
        _say(f"voicecoach: {' '.join(str(exc).splitlines())}")
        return EXIT_USAGE
    if isinstance(exc, sqlite3.Error):
        _say(f"voicecoach: the history could not be read or written ({exc}); nothing was changed by this error")
        return EXIT_FILES
    if isinstance(exc, OSError):
        where = f"{shown(str(exc.filename))}: " if exc.filename else ""
        _say(f"voicecoach: {where}{exc.strerror or exc}")
        return EXIT_FILES
    if isinstance(exc, RecursionError):
        _say("voicecoach: an input is nested too deeply to read")
        return EXIT_FILES
    _say(f"voicecoach: internal error ({type(exc).__name__}: {shown(' '.join(str(exc).splitlines())[:200])}); "
         "please report it")
    return EXIT_INTERNAL


MY_ROUTINE = "my routine"


def _library(args, store: Store | None = None) -> Library:
    lib = load_library(args.routines)
    for err in lib.errors:
        print(f"warning: skipped routine: {err}", file=sys.stderr)
    for warning in lib.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    _add_my_routine(lib, store)
    return lib


def _add_my_routine(lib: Library, store: Store | None) -> None:
    """"my routine" starts the routine the last assessment pointed to (or the full program);
    the rule is :func:`voicecoach.core.plan.my_routine`."""
    target = plan.my_routine(store, lib.routines) if store else \
        ("full-program" if "full-program" in lib.routines else None)
    if target in lib.routines:
        routine = lib.routines[target]
        lib.routines[target] = routine.model_copy(update={"aliases": [*routine.aliases, MY_ROUTINE]})


def _vocabulary(lib: Library) -> Vocabulary:
    return Vocabulary.load().with_routines(lib.spoken_names())


def _settings(args, lib: Library) -> Settings:
    """The settings file, then command-line flags over it. Bad keys are reported and
    left at their defaults: a typo in the file must not keep anyone from exercising."""
    file = SettingsFile()
    try:
        settings, problems = file.load(lib)
    except SettingsError as exc:
        print(f"warning: settings ignored: {exc}", file=sys.stderr)
        settings, problems = Settings(), []
    for key, msg in problems:
        print(f"warning: {file.path}:{file.line_of(key)}: {key}: {msg} (using the default)", file=sys.stderr)
    if getattr(args, "voice", None) and (getattr(args, "engine", None) or settings.speech.engine) == "espeak":
        from voicecoach.cli.config import check_voice
        try:
            check_voice(args.voice)
        except SettingsError as exc:
            raise SystemExit(f"voicecoach: --voice: {exc.problems[0][1]}") from None
    flags = ((settings.speech, ("engine", "voice", "rate", "volume", "output_device")),
             (settings.listening, ("input_device", "silence_timeout", "sensitivity")))
    try:
        for section, names in flags:
            for name in names:  # each flag is named like its setting
                if getattr(args, name, None) is not None:
                    setattr(section, name, getattr(args, name))
        if getattr(args, "recognizer", None):
            settings.listening.engine = args.recognizer
    except ValidationError as exc:
        err = exc.errors()[0]
        raise SystemExit(f"voicecoach: --{err['loc'][0].replace('_', '-')}: {err['msg']}")
    if getattr(args, "no_cues", False):
        settings.speech.cues = False
    return settings


# ---------------------------------------------------------------------- routines
def cmd_routines(args) -> int:
    from rich.console import Console
    from rich.table import Table
    lib = _library(args)
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


# ---------------------------------------------------------------------- voice parts
def build_recognizer(vocabulary: Vocabulary, listening, threshold: float | None = None):
    """The configured speech recognizer; pocketsphinx, with the reason printed, if Whisper's
    model is missing or damaged."""
    if listening.engine == "whisper":
        from voicecoach.hearing.whisper import ModelUnavailable, WhisperRecognizer, min_logprob_for_sensitivity
        try:
            return WhisperRecognizer(vocabulary, min_logprob=min_logprob_for_sensitivity(listening.sensitivity)
                                     if threshold is None else threshold)
        except ModelUnavailable as exc:
            print(f"warning: {exc}. Listening with pocketsphinx instead, which understands far less.",
                  file=sys.stderr)
    from voicecoach.hearing.pocketsphinx import PhraseRecognizer, threshold_for_sensitivity
    recognizer = PhraseRecognizer(vocabulary, threshold_for_sensitivity(listening.sensitivity)
                                  if threshold is None else threshold)
    if recognizer.unpronounceable:
        print(f"warning: no pronunciation for {', '.join(sorted(recognizer.unpronounceable))} (is espeak-ng "
              "installed and working?); phrases with these words cannot be heard", file=sys.stderr)
    return recognizer


def build_pipeline(recognizer, live: bool = False):
    from voicecoach.hearing.endpointer import Endpointer
    from voicecoach.hearing.pipeline import HearingPipeline
    return HearingPipeline(Endpointer(build_vad()), recognizer, live=live)


def build_vad():
    """Frame -> is it speech? (see scripts/bench_human.py for the comparison)."""
    from voicecoach.hearing.pocketsphinx import make_vad
    return make_vad()


def build_speaker(speech: SpeechSettings, captions):
    """The voice (``speech.engine``, falling back to espeak-ng), or captions only (with
    the reason printed) if there is none."""
    from voicecoach.devices.portaudio import Loudspeaker, NoAudioDevice
    from voicecoach.speech.engines import open_synth
    from voicecoach.speech.speaker import VoiceSpeaker
    synth = open_synth(speech, warn=lambda message: print(f"warning: {message}", file=sys.stderr))
    try:
        if synth is None:
            raise RuntimeError("no speech engine could start")
        speaker = VoiceSpeaker(synth, Loudspeaker(synth.sample_rate, speech.output_device), captions=captions,
                               cue_sounds=speech.cues)
        speaker.pcm_for("Three.")  # a dead engine shows up now, not in the middle of a hold
        return speaker
    except (NoAudioDevice, RuntimeError) as exc:  # the engines' errors are RuntimeErrors
        print(f"The voice is not working: {exc}. I will show what I say as text instead.", file=sys.stderr)
        return captions


def build_listener(args, settings: Settings, vocabulary, speaker, clock, log: bool = True):
    """The microphone, or typed answers (with the reason said and printed) if there is none."""
    from voicecoach.devices.portaudio import Microphone, NoAudioDevice
    from voicecoach.hearing.listener import VoiceListener
    from voicecoach.session.faults import DeviceLost
    try:
        mic = Microphone(settings.listening.input_device)
    except NoAudioDevice as exc:
        message = "I can't find a microphone. Please type your answers instead."
        print(f"{message} ({exc})", file=sys.stderr)
        if _is_voice(speaker):
            speaker.say(message)
        return TypedListener(vocabulary, clock), None
    pipeline = build_pipeline(build_recognizer(vocabulary, settings.listening, args.threshold), live=True)
    listener = VoiceListener(mic, pipeline, speaker if _is_voice(speaker) else None,
                             on_heard=_log_heard if log else None, speed=args.speed)
    try:
        floor = listener.calibrate()
    except DeviceLost as exc:  # it went between opening and the first second of audio
        mic.close()
        print(f"I lost the microphone. Please type your answers instead. ({exc})", file=sys.stderr)
        return TypedListener(vocabulary, clock), None
    print(f"[microphone ready: room noise {floor:.0f} dBFS]", file=sys.stderr)
    barge_in_problem = attach_barge_in(settings, speaker, listener, mic, log=log)
    if barge_in_problem and settings.listening.barge_in == "on":
        print(f"warning: barge-in is off: {barge_in_problem}; say stop after the coach's sentence.", file=sys.stderr)
    return listener, mic


def attach_barge_in(settings: Settings, speaker, listener, mic, log: bool = True) -> str:
    """Let stop, pain, worse and pause interrupt the coach (echo canceller + Whisper); returns
    why not in plain words ("" when on). Without it the coach stays half duplex."""
    if settings.listening.barge_in == "off":
        return "listening.barge_in is off"
    if not _is_voice(speaker):
        return "the coach is not speaking aloud"
    recognizer = listener.pipeline.recognizer
    if getattr(recognizer, "engine", "") != "whisper":
        return "it needs the Whisper recognizer (pocketsphinx would take the coach's own voice for words)"
    from voicecoach.hearing.duplex import BargeIn
    from voicecoach.hearing.echo import open_echo_canceller
    canceller, why = open_echo_canceller()
    if canceller is None:
        return why
    pipeline = build_pipeline(recognizer, live=True)
    pipeline.endpointer.calibrate(getattr(listener, "calibration", []))
    speaker.barge_in = BargeIn(mic, canceller, pipeline, before_overlap=listener.coach_speaks,
                               on_heard=_log_heard if log else None)
    return ""


def _is_voice(speaker) -> bool:
    from voicecoach.speech.speaker import VoiceSpeaker
    return isinstance(speaker, VoiceSpeaker)


def _log_heard(heard) -> None:
    """What the microphone heard, on stderr (the screen shows it too)."""
    what = heard.intent or f"not understood ({heard.reason})"
    print(f"[heard \"{heard.text}\" -> {what}; {heard.engine} confidence {heard.confidence:.2f}, "
          f"margin {heard.margin:.2f}, {heard.latency_ms:.0f} ms]", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- playing
def cmd_play(args) -> int:
    _stop_on_signals()
    store = open_for_session(args.history, warn=lambda message: _say(f"warning: {message}"))
    lib = _library(args, store)
    settings = _settings(args, lib)
    routine_id = None
    if getattr(args, "routine", None):
        routine_id = lib.find(args.routine)
        if routine_id is None:
            print(f"No routine called {args.routine!r}. Try: {', '.join(sorted(lib.routines))}", file=sys.stderr)
            return 2
    resume = store.resume_point()
    if args.command == "resume" and resume is None:
        print("There is no interrupted session to resume.", file=sys.stderr)
        return 1
    clock = SystemClock(args.speed)
    facts = plan.HistoryFacts(screen=not store.get_fact("screen_passed", False),
                              notices=tuple(_notices(store, menu=routine_id is None and args.command != "resume")),
                              resume=resume, safety_stop=last_safety_stop(store), trend_stop=plan.history_trend(store))
    coach = Coach(lib, Vocabulary.load(), clock.now, routine=routine_id,
                  silence_timeout_s=settings.listening.silence_timeout, tuning=settings.tuning(),
                  checkins=True, history=facts, resume_now=args.command == "resume")
    live = not args.text and sys.stdout.isatty()
    mic = None
    if args.text:
        speaker, live = PrintSpeaker(), False
        listener = TypedListener(coach.vocab, clock, inp=BoundedLines(sys.stdin))
    else:
        speaker = build_speaker(settings.speech, captions=None)
        listener, mic = build_listener(args, settings, coach.vocab, speaker, clock, log=not live)
        live = live and mic is not None  # typed answers need the terminal's plain lines
    web_on = args.view == "web" or (args.view is None and settings.view.web)
    live = live and not web_on  # with the web page, the terminal keeps plain lines (and the address)
    display, web = _display(live, clock, coach, listener, settings, args, store.path if web_on else None)
    if not live:  # captions as plain lines (the live screen shows them itself)
        if _is_voice(speaker):
            speaker.captions = PrintSpeaker()
        elif speaker is None:
            speaker = PrintSpeaker()
    elif speaker is None:
        speaker = display  # no voice: the screen's caption is all there is
    store.begin_session(routine_id)
    recovery = _recovery(args, settings, speaker, listener, mic, live, display, coach, clock)
    reason = "interrupted"
    try:
        if web:
            _start_web(web, settings)
        with display:
            reason = Session(coach, speaker, listener, clock, recorder=store, display=display,
                             recovery=recovery).run()
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) in any state: stop now, keep it resumable
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        if hasattr(speaker, "stop"):
            speaker.stop()
        store.record("interrupted", {"by": "Ctrl-C"})  # not an end: 'resume' picks it up
        print("Stopped.", flush=True)
        print("Stopped. 'voicecoach resume' picks up at this step.", file=sys.stderr, flush=True)
    finally:
        if web:
            web.stop()
        store.close()
        if store.memory_only or store.unsaved:
            _say(f"warning: this session's history could not be saved to {store.path}")
        _keep_adjustments(coach.adjustments, lib)
        if reason != "interrupted":
            for m in recovery.mics:
                m.close()
    if reason == "interrupted":
        # Everything is committed. Leave at once: tearing down PortAudio streams that a
        # signal cut off mid-read can take seconds or crash, and a person said stop.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    return 0 if reason in ("done", "stopped") else 3


def last_safety_stop(store: Store) -> SafetyStop | None:
    """The last safety end, until a clinician has seen the person (see core.plan)."""
    return plan.last_safety_stop(store)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop a session (resumable), even if the shell that started us
    ignored SIGINT (a background job): the person must always be able to stop the coach."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _recovery(args, settings: Settings, speaker, listener, mic, live: bool, display, coach, clock):
    """What the session falls back to when a device is lost mid-session (see faults.py)."""
    from voicecoach.session.faults import DeviceLost, Recovery
    captions = display if live else PrintSpeaker()
    typed = TypedListener(coach.vocab, clock) if not live and not args.text and sys.stdin.isatty() else None
    recovery = Recovery(captions=captions, typed=typed)
    recovery.mics = [mic] if mic else []
    if mic is not None:
        from voicecoach.devices.portaudio import Microphone

        def reopen():
            new = Microphone(settings.listening.input_device)
            try:
                new.wait_for_audio()  # only back once it delivers audio
            except DeviceLost:
                new.close()
                raise
            listener.mic.close()
            recovery.mics.append(new)
            listener.mic = new  # same pipeline and calibration, new device
            return listener
        recovery.reopen_listener = reopen
    return recovery


def _notices(store: Store, menu: bool = True) -> list[str]:
    """What the coach says after a remembered stop is named: whether to re-test (see core.plan)."""
    return plan.notices(store, menu=menu)


def _display(live: bool, clock, coach: Coach, listener, settings: Settings, args, web_history: Path | None):
    """The screens, all drawn from one view model: the live terminal or plain lines, and
    the web page if asked for (``web_history``: the history it charts). Returns (display, web)."""
    from voicecoach.views.terminal import LineDisplay, LiveScreen
    from voicecoach.views.model import Tee, ViewModel, pictures_of
    names = {rid: r.name.capitalize() for rid, r in coach.library.routines.items()}
    level = (lambda: listener.level_db) if hasattr(listener, "level_db") else None
    model = ViewModel(coach.vocab, names, pictures_of(coach.library), level=level)
    web = None
    if web_history is not None:
        from voicecoach.views.web import WebView
        port = settings.view.web_port if args.web_port is None else args.web_port
        web = WebView(model, clock.now, web_history, port=port, lan=settings.view.web_lan,
                      routine_dirs=args.routines)
    if live:
        return LiveScreen(model, clock.now), web
    return Tee(LineDisplay(), model), web


def _start_web(web, settings: Settings) -> None:
    """Serve the web view and say where; without it the session still runs."""
    try:
        url = web.start()
    except OSError as exc:
        print(f"warning: no web view: {exc}; going on without it", file=sys.stderr)
        return
    if settings.view.web_lan:
        print("warning: the web view is open to the local network (view.web_lan): anyone on it can see "
              f"what the coach says and hears. Open http://THIS-MACHINE:{web.port}/", file=sys.stderr)
    print(f"[web view: {url} (history chart: {url}history)]", file=sys.stderr, flush=True)


def _keep_adjustments(adjustments: dict, lib: Library) -> None:
    """Holds and pace changed by voice become the new settings."""
    if not adjustments:
        return
    try:
        SettingsFile().set_many(adjustments, lib)
    except SettingsError as exc:
        print(f"warning: could not keep the spoken adjustments: {exc}", file=sys.stderr)
        return
    changed = ", ".join(f"{k} = {v:g}" for k, v in adjustments.items())
    print(f"Saved to {settings_path()}: {changed}")


def _stored_summaries(path: Path | None, limit: int) -> list[dict]:
    """The sessions of a history, read from a copy (the file is never written); a missing
    file has none (said on stderr), an unusable one ends the command (exit 4)."""
    from voicecoach.store.history import default_path
    target = path or default_path()
    if not target.exists():
        if path is not None:
            _say(f"note: there is no history at {shown(str(target))}")
        return []
    try:
        store = Store(target, readonly=True)
    except StoreError as exc:
        _say(f"voicecoach: {exc}")
        raise SystemExit(EXIT_FILES) from None
    try:
        return store.summaries(limit)
    except StoreError as exc:
        _say(f"voicecoach: {exc}")
        raise SystemExit(EXIT_FILES) from None
    finally:
        store.close()


class BoundedLines:
    """stdin for typed answers, every line read bounded to :data:`MAX_LINE` characters: a
    longer line (``/dev/zero``, a binary file) ends the input with a message, as does a
    closed stdin (``<&-``)."""

    MAX_LINE = 4096  # characters; an answer is a few words

    def __init__(self, inp):
        self.inp = inp

    def readline(self) -> str:
        if self.inp is None:
            return ""
        try:
            line = self.inp.readline(self.MAX_LINE + 1)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            _say(f"warning: typed input cannot be read ({exc}); stopping")
            return ""
        if len(line) > self.MAX_LINE or "\0" in line:
            _say(f"warning: typed input is not lines of text (a line over {self.MAX_LINE} characters or a NUL); stopping")
            self.inp = None
            return ""
        return line

    def isatty(self) -> bool:
        try:
            return bool(self.inp) and self.inp.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self.inp is None:
            raise ValueError("no input")
        return self.inp.fileno()


def cmd_history(args) -> int:
    import datetime as dt

    from rich.console import Console
    from rich.table import Table
    rows = _stored_summaries(args.history, args.limit)
    if not rows:
        print("No sessions yet.")
        return 0
    table = Table("date", "routine", "minutes", "pain before -> after", "pain reaches", "holds done / cut",
                  "direction found", "ended", box=None)

    def arrow(a, b):
        return "-" if a is None else (f"{a}" if b is None else f"{a} -> {b}")

    for r in rows:
        when = dt.datetime.fromtimestamp(r["started_at"]).strftime("%a %d %b %H:%M")
        table.add_row(when, r["routine"] or "-", f"{r['minutes']:.0f}", arrow(r["pain_before"], r["pain_after"]),
                      arrow(r["location_before"], r["location_after"]), f"{r['holds_done']} / {r['holds_cut']}",
                      r["preference"] or "-", r["end"])
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
        if path.is_dir():
            raise SystemExit(f"voicecoach: {shown(str(path))} is a folder; give a file name, e.g. {path / 'report.png'}")
        if not path.parent.is_dir():
            raise SystemExit(f"voicecoach: {shown(str(path))}: no folder {shown(str(path.parent))}")
    write_chart(rows, out)
    print(f"Chart saved to {out}")
    if args.csv:
        write_csv(rows, args.csv)
        print(f"Data saved to {args.csv}")
    return 0


# ---------------------------------------------------------------------- hear / check / devices
def cmd_hear(args) -> int:
    """Each WAV file streamed (constant memory) through the live pipeline; a file that is
    not audio is reported in one line and the others still run."""
    from voicecoach.hearing.wavfile import NotAudio, stream_pcm16k
    from voicecoach.hearing.endpointer import FRAME_BYTES
    lib = _library(args)
    vocabulary = _vocabulary(lib)
    recognizer = build_recognizer(vocabulary, _settings(args, lib).listening, args.threshold)
    status = 0
    for path in args.files:
        try:
            chunks = stream_pcm16k(str(path))
        except NotAudio as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
            continue
        pipeline = build_pipeline(recognizer)
        pipeline.set_context(args.listen_for)
        found = 0
        rest = b""
        for chunk in chunks:
            rest += chunk
            usable = len(rest) // FRAME_BYTES * FRAME_BYTES
            for i in range(0, usable, FRAME_BYTES):
                if (h := pipeline.push(rest[i:i + FRAME_BYTES])) is not None:
                    found += 1
                    _print_heard(args, path, h)
            rest = rest[usable:]
        if (h := pipeline.flush()) is not None:
            found += 1
            _print_heard(args, path, h)
        if not found and not args.json:
            print(f"{path}: no speech detected")
    return status


def _print_heard(args, path, h) -> None:
    from voicecoach.hearing.wavfile import PAD_BEFORE_S
    # times in the file, not in the padded stream
    h = replace(h, start_s=max(0.0, h.start_s - PAD_BEFORE_S), end_s=max(0.0, h.end_s - PAD_BEFORE_S))
    if args.json:
        print(json.dumps({"file": str(path), "start_s": round(h.start_s, 2), "end_s": round(h.end_s, 2),
                          "engine": h.engine, "intent": h.intent, "text": h.text,
                          "confidence": round(h.confidence, 4), "decode_ms": round(h.decode_ms, 1),
                          "latency_ms": round(h.latency_ms, 1),
                          # why it was refused ("accepted" if not), and the engine's second score
                          "reason": h.reason,
                          "margin": None if h.margin == float("inf") else round(h.margin, 4)}), flush=True)
    else:
        what = h.intent or f"(rejected: {h.reason})"
        print(f"{path}  {h.start_s:6.2f}-{h.end_s:6.2f}s  {what:<22} \"{h.text}\"  "
              f"confidence {h.confidence:.3f}  {h.decode_ms:.0f} ms", flush=True)


def cmd_check(args) -> int:
    from voicecoach.devices.portaudio import Microphone, NoAudioDevice
    lib = _library(args)
    vocabulary = _vocabulary(lib)
    settings = _settings(args, lib)
    speaker = build_speaker(settings.speech, PrintSpeaker())
    try:
        mic = Microphone(settings.listening.input_device)
    except NoAudioDevice as exc:
        print(f"No microphone: {exc}", file=sys.stderr)
        return 1
    from voicecoach.hearing.listener import VoiceListener
    pipeline = build_pipeline(build_recognizer(vocabulary, settings.listening, args.threshold), live=True)
    listener = VoiceListener(mic, pipeline, speaker if _is_voice(speaker) else None,
                             on_level=LevelPrinter(sys.stdout))
    print(f"room noise floor {listener.calibrate():.0f} dBFS")
    problem = attach_barge_in(settings, speaker, listener, mic)
    print("barge-in: on (stop, pain, worse and pause are heard while the coach talks)" if not problem
          else f"barge-in: off ({problem}); the coach is half duplex: say stop after its sentence")
    speaker.say("This is voicecoach. Say better, worse, or stop.")
    intents = vocabulary.intents_for("rating")
    heard_any = False
    try:
        while (heard := _listen_or_none(listener, intents, args.seconds)) is not None:
            heard_any = True
            last = listener.last
            print(f"\nheard: {last.intent or 'not understood'} (\"{last.text}\", confidence "
                  f"{last.confidence:.1f}, margin {last.margin:.1f})")
    finally:
        mic.close()
    print("" if heard_any else "\nnothing was heard")
    return 0


def _listen_or_none(listener, intents, seconds):
    from voicecoach.session.faults import DeviceLost
    try:
        return listener.listen(intents, "rating", seconds)
    except DeviceLost as exc:
        print(f"\nThe microphone stopped working ({exc.detail}). Check it with 'voicecoach devices'.",
              file=sys.stderr)
        return None



class LevelPrinter:
    """The microphone level for ``check``: redrawn in place on a terminal; into a pipe or
    file, one plain line a second (the loudest frame of it) rather than one endless line."""

    def __init__(self, out, every_s: float = 1.0, clock=None):
        import time
        self.out, self.every_s, self.clock = out, every_s, clock or time.monotonic
        self.tty = out.isatty()
        self._since: float | None = None
        self._peak = -200.0

    def __call__(self, level_db: float) -> None:
        bar = "#" * max(0, int((level_db + 70) / 2))
        if self.tty:
            print(f"\rlevel {level_db:6.1f} dBFS {bar:<35}", end="", file=self.out, flush=True)
            return
        now = self.clock()
        self._since = now if self._since is None else self._since
        self._peak = max(self._peak, level_db)
        if now - self._since >= self.every_s:
            print(f"level {self._peak:6.1f} dBFS", file=self.out, flush=True)
            self._since, self._peak = now, -200.0


def cmd_config(args) -> int:
    from voicecoach.cli.config import config
    return config(args, _library(args))


def cmd_devices(args) -> int:
    """The audio devices; when there are none, why, and what to do."""
    from voicecoach.devices.portaudio import NoAudioDevice, list_devices, sound_cards, sound_server_running
    try:
        devices = list_devices()
    except NoAudioDevice as exc:
        print(f"No audio devices: {exc}.", file=sys.stderr)
        devices = None
    for d in devices or []:
        kinds = ", ".join(k for k, n in (("in", d.inputs), ("out", d.outputs)) if n)
        print(f"{d.index:3d}  {d.name}  ({kinds}, {d.default_rate:.0f} Hz)")
    server, cards = sound_server_running(), sound_cards()
    if not devices:
        why = ("No sound server (PulseAudio or PipeWire) is running" if not server else
               "The sound server is running but offers no devices")
        why += " and there is no sound card." if not cards else "."
        print(f"No audio devices found. {why} Start the sound server (log in to a desktop, or run "
              "'pulseaudio --start'), plug in a headset or microphone, then try again. Meanwhile "
              "'voicecoach --text' shows what the coach says and takes typed answers.", file=sys.stderr)
        return 1
    if not any(d.inputs for d in devices):
        print("No microphone found: the coach will take typed answers. Plug one in and run 'voicecoach devices' again.",
              file=sys.stderr)
    if not any(d.outputs for d in devices):
        print("No loudspeaker found: the coach will show what it says as text.", file=sys.stderr)
    if not server:
        print("note: no sound server (PulseAudio or PipeWire) answers; only the devices above, used directly.",
              file=sys.stderr)
    return 0
