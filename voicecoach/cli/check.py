"""`check` (speak, listen, show the level and what was heard) and `devices` (the audio devices,
or why there are none)."""

from __future__ import annotations

import sys

from voicecoach.cli.compose import (attach_barge_in, build_pipeline, build_recognizer, build_speaker, is_voice,
                                    open_system_echo, routines_library, settings_for, vocabulary_for,
                                    warn_system_echo)
from voicecoach.speech.captions import PrintSpeaker


def cmd_check(args) -> int:
    lib = routines_library(args.routines)
    vocabulary = vocabulary_for(lib)
    settings = settings_for(args, lib)
    system_echo, why = open_system_echo(settings)  # before the devices open: they use it
    warn_system_echo(settings, why)
    try:
        return _check(args, settings, vocabulary, system_echo, why)
    finally:
        if system_echo is not None:
            system_echo.close()


def _check(args, settings, vocabulary, system_echo, system_why: str = "") -> int:
    from voicecoach.devices.portaudio import Microphone, NoAudioDevice
    speaker = build_speaker(settings.speech, PrintSpeaker())
    try:
        mic = Microphone(settings.listening.input_device)
    except NoAudioDevice as exc:
        print(f"No microphone: {exc}", file=sys.stderr)
        return 1
    from voicecoach.hearing.listener import VoiceListener
    pipeline = build_pipeline(build_recognizer(vocabulary, settings.listening, args.threshold), live=True)
    listener = VoiceListener(mic, pipeline, speaker if is_voice(speaker) else None,
                             on_level=LevelPrinter(sys.stdout))
    print(f"room noise floor {listener.calibrate():.0f} dBFS")
    problem = attach_barge_in(settings, speaker, listener, mic, system_echo=system_echo)
    print("barge-in: on (stop, pain, worse and pause are heard while the coach talks)" if not problem
          else f"barge-in: off ({problem}); the coach is half duplex: say stop after its sentence")
    if is_voice(speaker):
        _check_echo(speaker, mic, system_echo, system_why)
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


def _check_echo(speaker, mic, system_echo, system_why: str = "") -> None:
    """Which echo canceller, and how much of one played sentence it removes on this machine
    (``system_why``: why PulseAudio's was not used, if it was tried)."""
    from voicecoach.hearing.echo import SystemEchoCanceller, measure_echo_removal, open_echo_canceller
    raw_mic = None
    if system_echo is not None:
        from voicecoach.devices.portaudio import Microphone, NoAudioDevice
        canceller = SystemEchoCanceller(system_echo.name)
        try:
            with system_echo.master_microphone():
                raw_mic = Microphone(None)  # the microphone before PulseAudio's canceller
        except NoAudioDevice:
            canceller = None
    else:
        canceller, _why = open_echo_canceller()
    if canceller is None:
        print("echo canceller: not available on this machine")
        return
    from voicecoach.session.faults import DeviceLost
    try:
        db = measure_echo_removal(speaker, mic, canceller, raw_mic=raw_mic)  # plays one sentence
    except DeviceLost as lost:
        print(f"echo canceller: {canceller.name}; echo removed: not measured ({lost})")
        return
    finally:
        if raw_mic is not None:
            raw_mic.close()
    not_system = f" (not PulseAudio's: {system_why})" if system_why else ""
    print(f"echo canceller: {canceller.name}{not_system}; echo removed: {db:.0f} dB (near 0: the microphone does "
          "not hear the loudspeaker, as with headphones, or the echo is not being removed)")


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
