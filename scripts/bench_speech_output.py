#!/usr/bin/env python3
"""Speech output latency: from the coach's say action to the first audio frame handed to
PortAudio, for sentences never said before (cold: synthesis included) and repeated ones
(cached), per speech engine (the output stream runs at each engine's rate).

  .venv/bin/python scripts/bench_speech_output.py [--engines hibari,espeak] [--sentences 20]
                                                  [--output-device NAME]

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

from voicecoach.devices.portaudio import Loudspeaker  # noqa: E402
from voicecoach.content.loader import load_library  # noqa: E402
from voicecoach.core.program import Compiler, Speak  # noqa: E402
from voicecoach.settings.schema import SpeechSettings  # noqa: E402
from voicecoach.cli.compose import open_synth  # noqa: E402
from voicecoach.speech.speaker import VoiceSpeaker  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=20, help="how many different sentences")
    ap.add_argument("--output-device", help="loudspeaker name or index (default device if unset)")
    ap.add_argument("--engines", default="hibari,espeak", help="comma-separated: hibari, espeak")
    args = ap.parse_args()

    lib = load_library(include_user=False)
    program = Compiler(lib).compile("full-program")
    sentences = list(dict.fromkeys(i.text for i in program if isinstance(i, Speak)))[: args.sentences]
    for engine in args.engines.split(","):
        t0 = time.perf_counter()
        warnings: list[str] = []
        synth = open_synth(SpeechSettings(engine=engine), warn=warnings.append)
        if synth is None or warnings:  # a fallback would measure the other engine
            print(f"{engine}: not available: {'; '.join(warnings)}", file=sys.stderr)
            continue
        loaded = time.perf_counter() - t0
        speaker = VoiceSpeaker(synth, Loudspeaker(synth.sample_rate, args.output_device))
        speaker.loudspeaker.play(b"\0" * (synth.sample_rate // 5 * 2))  # open the stream once, as the coach does
        cold, cached = [], []
        for text in sentences:
            speaker.say(text)
            cold.append(speaker.last_first_audio_s * 1000)
            speaker.say(text)
            cached.append(speaker.last_first_audio_s * 1000)
        print(f"{engine} ({synth.sample_rate} Hz): engine start {loaded * 1000:.0f} ms")
        for name, values in (("cold (synthesis + first frame)", cold), ("cached", cached)):
            v = np.array(values)
            print(f"  say -> first audio frame, {name}: p50 {np.percentile(v, 50):.0f} ms, "
                  f"p95 {np.percentile(v, 95):.0f} ms, max {v.max():.0f} ms  ({len(v)} sentences)")
        print(f"  output latency reported by PortAudio: {speaker.loudspeaker.latency_s * 1000:.0f} ms")
        speaker.loudspeaker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
