"""The speech engines: what each can honour (voice, rate).

``hibari`` (default) is a small neural voice whose weights ship in the ``hibari-tts``
wheel; ``espeak`` is espeak-ng through pyttsx3. The settings refuse what an engine cannot
do (``engine_problem``). Opening one, with its fallback, is the composition root's
(``voicecoach.cli.compose.open_synth``): the adapters import this module, so it imports none of them.
"""

from __future__ import annotations

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
