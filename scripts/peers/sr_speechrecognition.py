"""SpeechRecognition: reading audio files, and the plain recipe from its README.

The only module importing ``speech_recognition``. ``read_pcm16k`` turns any WAV/AIFF/FLAC
into the 16 kHz mono 16-bit audio the pipeline wants. ``PlainSphinx`` is the approach
SpeechRecognition's README suggests (``recognize_sphinx`` with its default language
model, then look for the words): the benchmarks run it side by side as the peer to beat.
"""

from __future__ import annotations

import speech_recognition as sr

from voicecoach.hearing.endpointer import SAMPLE_RATE


def read_pcm16k(path: str) -> bytes:
    """16 kHz mono 16-bit little-endian PCM of an audio file (resampled if needed)."""
    with sr.AudioFile(str(path)) as source:
        audio = sr.Recognizer().record(source)
    return audio.get_raw_data(convert_rate=SAMPLE_RATE, convert_width=2)


class PlainSphinx:
    """recognize_sphinx (default language model), then exact phrase match on the words."""

    def __init__(self, vocabulary):
        self.vocab = vocabulary
        self.recognizer = sr.Recognizer()

    def transcribe(self, pcm: bytes) -> str:
        audio = sr.AudioData(pcm, SAMPLE_RATE, 2)
        try:
            return self.recognizer.recognize_sphinx(audio)
        except sr.UnknownValueError:
            return ""

    def intent(self, text: str, intents) -> str | None:
        return self.vocab.match(text, intents)
