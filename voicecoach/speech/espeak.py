"""Text to speech with pyttsx3 (espeak-ng on Linux). The only module importing pyttsx3.

pyttsx3's espeak driver plays through a blocking ``aplay`` that cannot be interrupted and
hides when speech ends, so we only ask it to *synthesize* to a WAV file, and play the
samples ourselves (see ``voice_speaker.py``).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import wave

import pyttsx3


class TTSUnavailable(RuntimeError):
    """The speech engine could not be started or produced no audio."""


class UnknownVoice(ValueError):
    """The configured voice does not exist."""


class Pyttsx3Synth:
    sample_rate = 22050  # Hz, what espeak-ng synthesizes at

    def __init__(self, voice: str | None = None, rate: int | None = None, volume: float | None = None):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.engine = pyttsx3.init("espeak" if os.name == "posix" else None)
        except Exception as exc:  # pyttsx3 raises many kinds when espeak-ng is missing
            raise TTSUnavailable(f"the speech engine could not start ({exc})") from None
        if voice:
            ids = {v.id.lower(): v.id for v in self.engine.getProperty("voices")}
            if voice.lower() not in ids:  # espeak would silently keep its default
                raise UnknownVoice(f"no espeak-ng voice {voice!r}; English ones include "
                                   f"{', '.join(sorted(i for i in ids.values() if '/en' in i)[:6])}")
            self.engine.setProperty("voice", ids[voice.lower()])
        if rate:
            self.engine.setProperty("rate", int(rate))  # words per minute
        if volume is not None:
            self.engine.setProperty("volume", float(volume))  # 0.0 .. 1.0
        self._dir = tempfile.mkdtemp(prefix="voicecoach-tts-")
        self._n = 0

    def voices(self) -> list[tuple[str, str]]:
        return [(v.id, v.name) for v in self.engine.getProperty("voices")]

    def synthesize(self, text: str) -> tuple[bytes, int]:
        """16-bit mono PCM and its sample rate (Hz) for ``text``."""
        for _ in range(3):
            pcm, rate = self._synthesize_once(text)
            # pyttsx3's espeak driver now and then writes an empty file (its callback races
            # espeak's, seen on a busy machine): asking again gives the audio
            if pcm or not any(c.isalnum() for c in text):
                return pcm, rate
        raise TTSUnavailable("the speech engine produced no audio, three times")

    def _synthesize_once(self, text: str) -> tuple[bytes, int]:
        self._n += 1
        path = os.path.join(self._dir, f"s{self._n % 4}.wav")
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the driver prints "Audio saved to"
                self.engine.save_to_file(text, path)
                self.engine.runAndWait()
            with wave.open(path, "rb") as w:
                if w.getsampwidth() != 2 or w.getnchannels() != 1:
                    raise TTSUnavailable("unexpected audio format from the speech engine")
                return w.readframes(w.getnframes()), w.getframerate()
        except (OSError, EOFError, wave.Error) as exc:
            raise TTSUnavailable(f"the speech engine produced no audio ({exc})") from None
