"""The composition root: routines, settings, vocabulary, recognizer, speaker, listener and
coach, built from the settings file and the flags. Every command gets its parts here."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from voicecoach.content.loader import Library, load_library
from voicecoach.content.vocabulary import Vocabulary
from voicecoach.core import plan
from voicecoach.core.coach import Coach
from voicecoach.hearing.typed import TypedListener
from voicecoach.settings.file import SettingsFile
from voicecoach.settings.schema import Settings, SettingsError, SpeechSettings
from voicecoach.store.history import Store


def routines_library(args, store: Store | None = None) -> Library:
    """The shipped routines and those of ``--routines`` folders (skipped files said on stderr),
    with "my routine" named on the one the history points to."""
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
        if is_voice(speaker):
            speaker.say(message)
        return TypedListener(vocabulary, clock), None
    pipeline = build_pipeline(build_recognizer(vocabulary, settings.listening, args.threshold), live=True)
    listener = VoiceListener(mic, pipeline, speaker if is_voice(speaker) else None,
                             on_heard=log_heard if log else None, speed=args.speed)
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
    if not is_voice(speaker):
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
                               on_heard=log_heard if log else None)
    return ""


def is_voice(speaker) -> bool:
    from voicecoach.speech.speaker import VoiceSpeaker
    return isinstance(speaker, VoiceSpeaker)


def log_heard(heard) -> None:
    """What the microphone heard, on stderr (the screen shows it too)."""
    what = heard.intent or f"not understood ({heard.reason})"
    print(f"[heard \"{heard.text}\" -> {what}; {heard.engine} confidence {heard.confidence:.2f}, "
          f"margin {heard.margin:.2f}, {heard.latency_ms:.0f} ms]", file=sys.stderr, flush=True)


def build_coach(args, lib: Library, store: Store, settings: Settings, clock, routine_id: str | None, resume) -> Coach:
    """The coach for one session, with what the history says (see core.plan)."""
    facts = plan.HistoryFacts(screen=not store.get_fact("screen_passed", False),
                              notices=tuple(plan.notices(store, menu=routine_id is None and args.command != "resume")),
                              resume=resume, safety_stop=plan.last_safety_stop(store),
                              trend_stop=plan.history_trend(store),
                              pain_since_assessment=plan.pain_since_assessment(store),
                              baseline=store.series_baseline())
    return Coach(lib, Vocabulary.load(), clock.now, routine=routine_id,
                 silence_timeout_s=settings.listening.silence_timeout, tuning=settings.tuning(),
                 checkins=True, history=facts, resume_now=args.command == "resume")
