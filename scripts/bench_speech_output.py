#!/usr/bin/env python3
"""Speech output latency: from the coach's say action to the first audio frame handed to
PortAudio, for sentences never said before (cold: synthesis included) and repeated ones
(cached).

  .venv/bin/python scripts/bench_speech_output.py [--sentences 20] [--output-device NAME]

Needs an output device; on a machine without one, start the virtual devices first:
scripts/pulse_virtual.sh start
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voicecoach.adapters.audio_pyaudio import Loudspeaker  # noqa: E402
from voicecoach.adapters.tts_pyttsx3 import Pyttsx3Synth  # noqa: E402
from voicecoach.cues import CUE_RATE  # noqa: E402
from voicecoach.loader import load_library  # noqa: E402
from voicecoach.program import Compiler, Speak  # noqa: E402
from voicecoach.voice_speaker import VoiceSpeaker  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=20, help="how many different sentences")
    ap.add_argument("--output-device", help="loudspeaker name or index (default device if unset)")
    args = ap.parse_args()

    lib = load_library(include_user=False)
    program = Compiler(lib).compile("full-program")
    sentences = list(dict.fromkeys(i.text for i in program if isinstance(i, Speak)))[: args.sentences]
    speaker = VoiceSpeaker(Pyttsx3Synth(), Loudspeaker(CUE_RATE, args.output_device))
    speaker.loudspeaker.play(b"\0" * 4410)  # open the stream once, as the coach does at start

    cold, cached = [], []
    for text in sentences:
        speaker.say(text)
        cold.append(speaker.last_first_audio_s * 1000)
        speaker.say(text)
        cached.append(speaker.last_first_audio_s * 1000)
    for name, values in (("cold (synthesis + first frame)", cold), ("cached", cached)):
        v = np.array(values)
        print(f"say -> first audio frame, {name}: p50 {np.percentile(v, 50):.0f} ms, "
              f"p95 {np.percentile(v, 95):.0f} ms, max {v.max():.0f} ms  ({len(v)} sentences)")
    print(f"output latency reported by PortAudio: {speaker.loudspeaker.latency_s * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
