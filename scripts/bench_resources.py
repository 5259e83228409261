#!/usr/bin/env python3
"""Resources while listening: CPU share of one core and peak memory of the listening
process (microphone thread, endpointing, both decoders), with an answer spoken every few
seconds into the virtual microphone.

  .venv/bin/python scripts/bench_resources.py [--seconds 30] [--every 3]

Starts the PulseAudio virtual devices itself (scripts/pulse_virtual.sh).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voicecoach.devices.portaudio import Microphone  # noqa: E402
from voicecoach.hearing.pocketsphinx import PhraseRecognizer, make_vad  # noqa: E402
from voicecoach.hearing.endpointer import Endpointer  # noqa: E402
from voicecoach.hearing.pipeline import HearingPipeline  # noqa: E402
from voicecoach.content.loader import load_library  # noqa: E402
from voicecoach.content.vocabulary import Vocabulary  # noqa: E402
from voicecoach.hearing.listener import VoiceListener  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0, help="how long to listen (s)")
    ap.add_argument("--every", type=float, default=3.0, help="seconds between spoken answers")
    args = ap.parse_args()

    fifo = os.path.join(tempfile.mkdtemp(), "mic")
    subprocess.run(["bash", str(ROOT / "scripts/pulse_virtual.sh"), "start", fifo], check=True)
    answers = sorted(str(p) for p in (ROOT / "tests/audio").glob("*.wav"))
    feeder = subprocess.Popen([sys.executable, str(ROOT / "tests/virtual_mic.py"), fifo, "--speech", *answers,
                               "--every", str(args.every), "--seconds", str(args.seconds + 5)])
    time.sleep(0.5)

    lib = load_library(include_user=False)
    vocab = Vocabulary.load().with_routines(lib.spoken_names())
    listener = VoiceListener(Microphone(), HearingPipeline(Endpointer(make_vad()), PhraseRecognizer(vocab)))
    listener.calibrate()
    cpu0, wall0 = time.process_time(), time.monotonic()
    heard = 0
    while time.monotonic() - wall0 < args.seconds:
        result = listener.listen(vocab.intents_for("rating"), "rating", args.seconds - (time.monotonic() - wall0))
        heard += result is not None
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    feeder.terminate()
    print(f"listening {wall:.0f} s with an answer every {args.every:.0f} s ({heard} utterances): "
          f"CPU {100 * cpu / wall:.1f}% of one core, peak memory {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
