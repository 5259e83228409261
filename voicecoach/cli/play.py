"""`voicecoach`, `run ROUTINE` and `resume`: one session, from the parts the composition root
builds, to its end (done, stopped, Ctrl-C) with the history saved and the adjustments kept."""

from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
from pathlib import Path

from voicecoach.cli.compose import (Options, build_coach, build_listener, build_speaker, is_voice, open_system_echo,
                                    options_for, routines_library, settings_for, warn_system_echo)
from voicecoach.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEMS, EXIT_SESSION, EXIT_USAGE, say
from voicecoach.content.loader import Library
from voicecoach.core.coach import Coach
from voicecoach.hearing.typed import TypedListener
from voicecoach.session.clock import SystemClock
from voicecoach.session.loop import Session
from voicecoach.settings.file import SettingsFile, settings_path
from voicecoach.settings.schema import Settings, SettingsError
from voicecoach.speech.captions import PrintSpeaker
from voicecoach.store.history import open_for_session


def cmd_play(args) -> int:
    """One session. The flags become settings and :class:`Options` here, once."""
    _stop_on_signals()
    opts = options_for(args)
    store = open_for_session(opts.history, warn=lambda message: say(f"warning: {message}"))
    lib = routines_library(opts.routines, store)
    settings = settings_for(args, lib)
    routine_id = None
    if opts.routine:
        routine_id = lib.find(opts.routine)
        if routine_id is None:
            print(f"No routine called {opts.routine!r}. Try: {', '.join(sorted(lib.routines))}", file=sys.stderr)
            return EXIT_USAGE
    resume = store.resume_point()
    if opts.command == "resume" and resume is None:
        print("There is no interrupted session to resume.", file=sys.stderr)
        return EXIT_PROBLEMS
    clock = SystemClock(opts.speed)
    coach = build_coach(opts.command, lib, store, settings, clock, routine_id, resume)
    live = not opts.text and sys.stdout.isatty()
    mic = system_echo = None
    if opts.text:
        speaker, live = PrintSpeaker(), False
        listener = TypedListener(coach.vocab, clock, inp=BoundedLines(sys.stdin))
    else:
        system_echo, why = open_system_echo(settings)  # before the devices open: they use it
        warn_system_echo(settings, why)
        speaker = build_speaker(settings.speech, captions=None)
        listener, mic = build_listener(settings, coach.vocab, speaker, clock, opts.threshold, log=not live,
                                       system_echo=system_echo)
        live = live and mic is not None  # typed answers need the terminal's plain lines
    web_on = opts.view == "web" or (opts.view is None and settings.view.web)
    live = live and not web_on  # with the web page, the terminal keeps plain lines (and the address)
    display, web = _display(live, clock, coach, listener, settings, opts, store.path if web_on else None)
    if not live:  # captions as plain lines (the live screen shows them itself)
        if is_voice(speaker):
            speaker.captions = PrintSpeaker()
        elif speaker is None:
            speaker = PrintSpeaker()
    elif speaker is None:
        speaker = display  # no voice: the screen's caption is all there is
    store.begin_session(routine_id)
    recovery = _recovery(opts, settings, speaker, listener, mic, live, display, coach, clock)
    reason = "interrupted"
    try:
        if web:
            _start_web(web, settings)
        with display:
            reason = Session(coach, speaker, listener, clock, recorder=store, display=display,
                             recovery=recovery).run()
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) in any state: stop now, keep it resumable
        _STOP_TAKEN.set()
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
            say(f"warning: this session's history could not be saved to {store.path}")
        _keep_adjustments(coach.adjustments, lib)
        if reason != "interrupted":
            for m in recovery.mics:
                m.close()
        if system_echo is not None:  # PulseAudio's module unloaded: also on Ctrl-C, SIGTERM and crashes
            system_echo.close()
    if reason == "interrupted":
        # Everything is committed. Leave at once: tearing down PortAudio streams that a
        # signal cut off mid-read can take seconds or crash, and a person said stop.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    return EXIT_OK if reason in ("done", "stopped") else EXIT_SESSION


_STOP_TAKEN = threading.Event()  # the session has caught the Ctrl-C and is stopping
RAISE_AGAIN_S = 0.2  # a Ctrl-C the session has not caught by then is raised again (s)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop a session (resumable), even if the shell that started us
    ignored SIGINT (a background job): the person must always be able to stop the coach.

    A signal can land while C code is calling back into Python (ALSA's error handler, set
    through ctypes in ``devices/portaudio.py``); an exception raised there is printed and
    dropped, and the coach would go on. So a stop landing in ALSA's handler is not raised
    there, and each stop is raised again shortly after until the session has caught one
    (seen in the e2e tests: Ctrl-C ignored about 1 time in 4 right after a sentence began)."""
    def again():
        if not _STOP_TAKEN.is_set():
            _thread.interrupt_main()  # runs ``stop`` again in the main thread

    def stop(signum, frame):
        timer = threading.Timer(RAISE_AGAIN_S, again)
        timer.daemon = True
        timer.start()
        if frame is not None and frame.f_code.co_name == "_ignore_alsa_error":
            return  # raised there it would be dropped with a traceback on stderr: the timer raises it
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _recovery(opts: Options, settings: Settings, speaker, listener, mic, live: bool, display, coach, clock):
    """What the session falls back to when a device is lost mid-session (see faults.py)."""
    from voicecoach.session.faults import DeviceLost, Recovery
    captions = display if live else PrintSpeaker()
    typed = TypedListener(coach.vocab, clock) if not live and not opts.text and sys.stdin.isatty() else None
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


def _display(live: bool, clock, coach: Coach, listener, settings: Settings, opts: Options, web_history: Path | None):
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
        port = settings.view.web_port if opts.web_port is None else opts.web_port
        web = WebView(model, clock.now, web_history, port=port, lan=settings.view.web_lan,
                      routine_dirs=list(opts.routines))
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
            say(f"warning: typed input cannot be read ({exc}); stopping")
            return ""
        if len(line) > self.MAX_LINE or "\0" in line:
            say(f"warning: typed input is not lines of text (a line over {self.MAX_LINE} characters or a NUL); stopping")
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
