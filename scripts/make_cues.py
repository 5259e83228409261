#!/usr/bin/env python3
"""Write the cue sounds (start, end, tick) to audio/ as 22.05 kHz mono WAV files."""

from pathlib import Path

from voicecoach.speech.cues import write_all

if __name__ == "__main__":
    for path in write_all(Path(__file__).resolve().parent.parent / "audio"):
        print(path)
