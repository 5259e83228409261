"""The composition root: routines, settings, vocabulary, recognizer, speaker, listener and
coach, built from the settings file and the flags. Every command gets its parts here.

The argparse namespace stops here: :func:`settings_for` folds the flags into the settings and
:func:`options_for` reads the rest into :class:`Options`, once; the parts are built from those.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from voicecoach.content.loader import Library, load_library
from voicecoach.content.vocabulary import Vocabulary
from voicecoach.core import plan
from voicecoach.core.coach import Coach
from voicecoach.hearing.typed import TypedListener
from voicecoach.settings.file import SettingsFile
from voicecoach.settings.schema import Settings, SettingsError, SpeechSettings
from voicecoach.speech import engines
from voicecoach.store.history import Store


@dataclass(frozen=True)
class Options:
    """What a session's command line says besides the settings (see :func:`settings_for`)."""

    command: str                 # "menu", "run" or "resume"
    routine: str | None          # the routine asked for by name (``run ROUTINE``)
    text: bool                   # --text: typed answers, printed sentences
    speed: float                 # clock seconds per real second (--speed)
    view: str | None             # "terminal", "web", or None: the settings' view.web decides
    web_port: int | None         # None: the settings' view.web_port
    routines: tuple[Path, ...]   # --routines folders
    history: Path | None         # None: the default history file
    threshold: float | None      # expert: the recognizer's raw threshold, over the sensitivity


def options_for(args) -> Options:
    return Options(command=args.command or "menu", routine=getattr(args, "routine", None), text=args.text,
                   speed=args.speed, view=args.view, web_port=args.web_port, routines=tuple(args.routines),
                   history=args.history, threshold=args.threshold)


def routines_library(folders=(), store: Store | None = None) -> Library:
    """The shipped routines and those of the ``--routines`` ``folders`` (skipped files said on
    stderr), with "my routine" named on the one the history points to."""
    lib = load_library(list(folders))
    for err in lib.errors:
        print(f"warning: skipped routine: {err}", file=sys.stderr)
    for warning in lib.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    _add_my_routine(lib, store)
    return lib


def _add_my_routine(lib: Library, store: Store | None) -> None:
    """"my routine" starts the routine the last assessment pointed to (or the full program);
    the rule is :func:`voicecoach.core.plan.my_routine`."""
    target = plan.my_routine(store, lib.routines)
    if target in lib.routines:
        routine = lib.routines[target]
        lib.routines[target] = routine.model_copy(update={"aliases": [*routine.aliases, plan.MY_ROUTINE]})


def vocabulary_for(lib: Library) -> Vocabulary:
    return Vocabulary.load().with_routines(lib.spoken_names())


def settings_for(args, lib: Library) -> Settings:
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


def check_voice(voice: str) -> None:
    """Only a voice espeak-ng has (it would silently speak with its default otherwise)."""
    from voicecoach.speech.espeak import Pyttsx3Synth, TTSUnavailable, UnknownVoice
    try:
        Pyttsx3Synth(voice)
    except UnknownVoice as exc:
        raise SettingsError([("speech.voice", str(exc))]) from None
    except TTSUnavailable:
        pass  # no engine to ask: the value is kept, and checked when the coach starts


def whisper_recognizer(vocabulary: Vocabulary, thresholds=None):
    """Whisper as the coach listens with it: the phrases each context expects scored against
    the audio (``hearing/closed_whisper.py``)."""
    from voicecoach.hearing.closed_whisper import ClosedRecognizer, ClosedScorer
    from voicecoach.hearing.whisper import WhisperTranscriber
    return ClosedRecognizer(vocabulary, ClosedScorer(vocabulary, WhisperTranscriber()), thresholds)


def build_recognizer(vocabulary: Vocabulary, listening, threshold: float | None = None):
    """The configured speech recognizer; pocketsphinx, with the reason printed, if Whisper's
    model is missing or damaged."""
    if listening.engine == "whisper":
        from voicecoach.hearing.closed_whisper import thresholds_for
        from voicecoach.hearing.whisper import ModelUnavailable
        try:
            return whisper_recognizer(vocabulary, thresholds_for(listening.sensitivity, threshold))
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


def build_pipeline(recognizer, live: bool = False, endpointing=None):
    """``endpointing``: an :class:`EndpointerConfig` of its own (barge-in's); the recognizer's by default."""
    from voicecoach.hearing.endpointer import Endpointer, config_for
    from voicecoach.hearing.pipeline import HearingPipeline
    return HearingPipeline(Endpointer(build_vad(), endpointing or config_for(recognizer.engine)), recognizer, live=live)


def build_vad():
    """Frame -> is it speech? (see scripts/bench_human.py for the comparison)."""
    from voicecoach.hearing.pocketsphinx import make_vad
    return make_vad()


def build_speaker(speech: SpeechSettings, captions):
    """The voice (``speech.engine``, falling back to espeak-ng), or captions only (with
    the reason printed) if there is none."""
    from voicecoach.devices.portaudio import Loudspeaker, NoAudioDevice
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


def open_synth(speech, warn):
    """The synthesizer for ``speech`` (SpeechSettings), or None if no engine works.

    ``warn(message)`` is told, once, why the neural voice or espeak-ng is not used.
    Each synthesizer has ``sample_rate`` (Hz) and ``synthesize(text) -> (pcm16, rate)``.
    """
    if speech.engine == "hibari":
        from voicecoach.speech.hibari import HibariSynth, NeuralVoiceUnavailable
        voice = speech.voice
        if engines.engine_problem("hibari", voice=voice):  # settings refuse this; a flag may have changed the engine
            warn(f"{engines.engine_problem('hibari', voice=voice)}; using {engines.HIBARI_VOICE!r}")
            voice = None
        try:
            synth = HibariSynth(voice, speech.rate, speech.volume)
            synth.synthesize("Three.")  # one that loads but cannot speak fails here, not mid-session
            return synth
        except (NeuralVoiceUnavailable, ValueError) as exc:
            warn(f"the neural voice is not available: {exc}. Using espeak-ng instead.")
    from voicecoach.speech.espeak import Pyttsx3Synth, TTSUnavailable, UnknownVoice
    voice = speech.voice if speech.engine == "espeak" else None  # a hibari voice means nothing to espeak-ng
    try:
        try:
            return Pyttsx3Synth(voice, speech.rate, speech.volume)
        except UnknownVoice as exc:
            warn(f"{exc}; using the default voice")
            return Pyttsx3Synth(None, speech.rate, speech.volume)
    except TTSUnavailable as exc:
        warn(f"espeak-ng is not available either: {exc}")
        return None


def build_listener(settings: Settings, vocabulary, speaker, clock, threshold: float | None = None,
                   log: bool = True, system_echo=None):
    """The microphone, or typed answers (with the reason said and printed) if there is none.
    ``threshold``: the recognizer's raw threshold (--threshold), over the sensitivity."""
    from voicecoach.devices.portaudio import Microphone, NoAudioDevice
    from voicecoach.hearing.listener import VoiceListener
    from voicecoach.session.faults import DeviceLost
    try:
        mic = Microphone(settings.listening.input_device)
    except NoAudioDevice as exc:
        message = "I can't find a microphone. Please type your answers instead."
        print(f"{message} ({exc})", file=sys.stderr)
        if is_voice(speaker):
            speaker.say(message)
        return TypedListener(vocabulary, clock), None
    pipeline = build_pipeline(build_recognizer(vocabulary, settings.listening, threshold), live=True)
    listener = VoiceListener(mic, pipeline, speaker if is_voice(speaker) else None,
                             on_heard=log_heard if log else None, speed=clock.speed)
    try:
        floor = listener.calibrate()
    except DeviceLost as exc:  # it went between opening and the first second of audio
        mic.close()
        print(f"I lost the microphone. Please type your answers instead. ({exc})", file=sys.stderr)
        return TypedListener(vocabulary, clock), None
    print(f"[microphone ready: room noise {floor:.0f} dBFS]", file=sys.stderr)
    barge_in_problem = attach_barge_in(settings, speaker, listener, mic, log=log, system_echo=system_echo)
    if barge_in_problem and settings.listening.barge_in == "on":
        print(f"warning: barge-in is off: {barge_in_problem}; say stop after the coach's sentence.", file=sys.stderr)
    return listener, mic


def open_system_echo(settings: Settings):
    """PulseAudio's own echo canceller (``devices/pulse_echo.py``) for barge-in, loaded now:
    before the loudspeaker and microphone are opened, which then use it. (None, why) when
    barge-in is off, the settings ask for the program's AEC3, a device is chosen by name, or
    PulseAudio is not the sound server; the caller closes it (unloads the module) at the end."""
    listening = settings.listening
    if listening.barge_in == "off" or listening.echo_canceller == "webrtc" or listening.engine != "whisper":
        return None, ""  # no barge-in (it needs Whisper), or the program's own canceller asked for
    if listening.input_device is not None or settings.speech.output_device is not None:
        return None, "it works with the default microphone and loudspeaker only"
    from voicecoach.devices.portaudio import sound_server_running
    if not sound_server_running():
        return None, "PulseAudio is not the sound server"
    from voicecoach.devices.pulse_echo import open_system_echo_cancel
    return open_system_echo_cancel()


def warn_system_echo(settings: Settings, why: str) -> None:
    """Said when PulseAudio's canceller was asked for by name and could not be used."""
    if why and settings.listening.echo_canceller == "pulseaudio":
        print(f"warning: PulseAudio's echo canceller is not used: {why}; using the program's own (AEC3)",
              file=sys.stderr)


def attach_barge_in(settings: Settings, speaker, listener, mic, log: bool = True, system_echo=None) -> str:
    """Let stop, pain, worse and pause interrupt the coach (echo canceller + Whisper); returns
    why not in plain words ("" when on). Without it the coach stays half duplex.
    ``system_echo``: PulseAudio's canceller (:func:`open_system_echo`) already cleans ``mic``."""
    if settings.listening.barge_in == "off":
        return "listening.barge_in is off"
    if not is_voice(speaker):
        return "the coach is not speaking aloud"
    recognizer = listener.pipeline.recognizer
    if getattr(recognizer, "engine", "") != "whisper":
        return "it needs the Whisper recognizer (pocketsphinx would take the coach's own voice for words)"
    from voicecoach.hearing.duplex import BARGE_IN_ENDPOINTING, BargeIn
    from voicecoach.hearing.echo import SystemEchoCanceller, open_echo_canceller
    if system_echo is not None:
        canceller = SystemEchoCanceller(system_echo.name)
    else:
        canceller, why = open_echo_canceller()
        if canceller is None:
            return why
    pipeline = build_pipeline(recognizer, live=True, endpointing=BARGE_IN_ENDPOINTING)
    pipeline.endpointer.calibrate(getattr(listener, "calibration", []))
    speaker.barge_in = BargeIn(mic, canceller, pipeline, before_overlap=listener.coach_speaks,
                               on_heard=log_heard if log else None)
    return ""


def is_voice(speaker) -> bool:
    from voicecoach.speech.speaker import VoiceSpeaker
    return isinstance(speaker, VoiceSpeaker)


def log_heard(heard, taken: bool | None = None) -> None:
    """What the microphone heard, on stderr (the screen shows it too). ``taken``: given for
    what barge-in heard while the coach talked, whether it acted on it: a word decoded over the
    coach's voice is only taken if it is an interrupting intent with strong evidence (the
    coach's own "say stop" comes back through the echo canceller)."""
    what = heard.intent or f"not understood ({heard.reason})"
    where = "" if taken is None else " over the coach"
    verdict = "" if taken is None else (", taken" if taken else ", not taken")
    print(f"[heard{where} \"{heard.text}\" -> {what}{verdict}; {heard.engine} confidence {heard.confidence:.2f}, "
          f"margin {heard.margin:.2f}, {heard.latency_ms:.0f} ms]", file=sys.stderr, flush=True)


def build_coach(command: str, lib: Library, store: Store, settings: Settings, clock, routine_id: str | None,
                resume) -> Coach:
    """The coach for one session of ``command`` (menu, run, resume), with what the history
    says (see core.plan)."""
    facts = plan.HistoryFacts(screen=not store.get_fact("screen_passed", False),
                              notices=tuple(plan.notices(store, menu=routine_id is None and command != "resume")),
                              resume=resume, safety_stop=plan.last_safety_stop(store),
                              trend_stop=plan.history_trend(store),
                              pain_since_assessment=plan.pain_since_assessment(store),
                              baseline=store.series_baseline())
    return Coach(lib, Vocabulary.load(), clock.now, routine=routine_id,
                 silence_timeout_s=settings.listening.silence_timeout, tuning=settings.tuning(),
                 checkins=True, history=facts, resume_now=command == "resume")
