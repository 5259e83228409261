"""The speech engines: what each can honour (voice, rate), and opening the chosen one
with its fallback.

``hibari`` (default) is a small neural voice whose weights ship in the ``hibari-tts``
wheel; ``espeak`` is espeak-ng through pyttsx3. The settings refuse what an engine cannot
do (``engine_problem``); ``open_synth`` falls back from the neural voice to espeak-ng,
saying why once, and returns None when neither works (the caller shows captions).
No engine library is imported here: the adapters are imported only when opened.
"""

from __future__ import annotations

ENGINES = ("hibari", "espeak")
DEFAULT_ENGINE = "hibari"

#: The only hibari voice voicecoach uses: the one inside the wheel. hibari downloads every
#: other voice on first use, and voicecoach never touches the network.
HIBARI_VOICE = "heart"

#: hibari at speed 1.0 speaks as fast as espeak-ng set to this many words per minute.
#: Measured on the shipped routines' sentences (words / seconds from first to last sound):
#: hibari speed 1.0 184 wpm, speed 0.5 92, 1.5 286; espeak-ng at rate R 1.08 R
#: (120 -> 128, 160 -> 174, 220 -> 244). So ``speech.rate`` means the same pace on both.
HIBARI_WPM_AT_SPEED_1 = 170
HIBARI_SPEED_RANGE = (0.5, 2.0)  # what hibari documents; slower or faster is refused


def hibari_speed(rate_wpm: float) -> float:
    """hibari's speed parameter for a rate in words per minute (espeak-ng's units)."""
    return rate_wpm / HIBARI_WPM_AT_SPEED_1


def hibari_rate_range() -> tuple[int, int]:
    """The words-per-minute rates hibari can honour."""
    lo, hi = HIBARI_SPEED_RANGE
    return int(-(-lo * HIBARI_WPM_AT_SPEED_1 // 1)), int(hi * HIBARI_WPM_AT_SPEED_1)


def engine_problem(engine: str, voice: str | None = None, rate: float | None = None) -> str | None:
    """Why ``engine`` cannot honour this voice or rate, in plain words (None: it can)."""
    if engine == "hibari":
        if voice is not None and voice != HIBARI_VOICE:
            return (f"{voice!r} is not a voice of the hibari engine, which has one voice, "
                    f"{HIBARI_VOICE!r} (set speech.engine = espeak to use espeak-ng voices)")
        lo, hi = hibari_rate_range()
        if rate is not None and not lo <= rate <= hi:
            return (f"{rate:g} words per minute is outside what the hibari voice can speak ({lo} to {hi} "
                    "words per minute; set speech.engine = espeak for that rate)")
    elif engine == "espeak" and voice == HIBARI_VOICE:
        return f"{voice!r} is the hibari engine's voice; with speech.engine = espeak give an espeak-ng voice id, " \
               "e.g. gmw/en-US"
    return None


def open_synth(speech, warn):
    """The synthesizer for ``speech`` (SpeechSettings), or None if no engine works.

    ``warn(message)`` is told, once, why the neural voice or espeak-ng is not used.
    Each synthesizer has ``sample_rate`` (Hz) and ``synthesize(text) -> (pcm16, rate)``.
    """
    if speech.engine == "hibari":
        from voicecoach.speech.hibari import HibariSynth, NeuralVoiceUnavailable
        voice = speech.voice
        if engine_problem("hibari", voice=voice):  # settings refuse this; a flag may have changed the engine
            warn(f"{engine_problem('hibari', voice=voice)}; using {HIBARI_VOICE!r}")
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
