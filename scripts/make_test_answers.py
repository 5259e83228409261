#!/usr/bin/env python3
"""Spoken answers for the end-to-end and adapter tests (16 kHz mono WAV in tests/audio/).

  .venv/bin/python scripts/make_test_answers.py [WORD...]   (default: all of them)

The e2e tests check that the program branches on what it hears, not how well it hears
(scripts/bench_human.py measures that, on people), so for each answer this keeps the first
espeak-ng voice, rate and pitch that the live pipeline of *both* engines (Whisper and
pocketsphinx) accepts in every context the answer is used in, as the virtual microphone
will deliver it: clean, with faint room noise (-60 dBFS, as tests/virtual_mic.py adds), and
starting mid-frame.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchdata import RATE, read_wav, write_wav  # noqa: E402

from voicecoach.hearing.pocketsphinx import PhraseRecognizer, make_vad  # noqa: E402
from voicecoach.cli.compose import whisper_recognizer  # noqa: E402
from voicecoach.hearing.endpointer import Endpointer  # noqa: E402
from voicecoach.hearing.pipeline import HearingPipeline  # noqa: E402
from voicecoach.content.loader import load_library  # noqa: E402
from voicecoach.content.vocabulary import Vocabulary  # noqa: E402

#: answer -> (phrasings to try, contexts it must be understood in)
ANSWERS = {
    "better": (["better", "much better"], ["rating"]),
    "worse": (["worse", "much worse", "it's worse", "a bit worse"], ["rating"]),
    "same": (["the same", "about the same", "no change"], ["rating"]),
    "yes": (["yes", "yeah"], ["yesno"]),
    "no": (["no", "nope"], ["yesno"]),
    "stop": (["stop"], ["exercise"]),
    "pause": (["pause", "hold on", "wait"], ["exercise"]),
    "resume": (["resume", "continue", "carry on"], ["exercise"]),
    "skip": (["skip", "skip this", "next"], ["pain", "location", "movement"]),
}
VOICES = ["en-us", "en-us+m3", "en-gb", "en-us+m1", "en-gb-x-rp", "en-us+f2", "en-029", "en-us+m7", "en-us+f4"]
RATES = [140, 120, 160, 180]
PITCHES = [50, 30, 70]


def synthesize(text: str, voice: str, rate: int, pitch: int, tmp: Path) -> np.ndarray:
    raw, out = tmp / "raw.wav", tmp / "answer.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-V1", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out),
                    "pad", "0.3", "0.4", "norm", "-3"], check=True)
    return read_wav(out)


def as_delivered(x: np.ndarray) -> list[np.ndarray]:
    """The answer as the virtual microphone may deliver it."""
    rng = np.random.default_rng(0)
    noisy = x + rng.standard_normal(len(x)) * 32768 * 10 ** (-60 / 20)
    shifted = np.concatenate([np.zeros(int(0.013 * RATE), dtype=np.float32), noisy])
    return [x, noisy, shifted]


def understood(recognizers, x: np.ndarray, word: str, contexts: list[str]) -> bool:
    for recognizer in recognizers:  # the cheap one first: most variants fail there
        for context in contexts:
            for variant in as_delivered(x):
                pcm = np.clip(variant, -32768, 32767).astype("<i2").tobytes()
                heard = HearingPipeline(Endpointer(make_vad()), recognizer, context).hear_all(pcm)
                if [h.intent for h in heard] != [word]:
                    return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("words", nargs="*", metavar="WORD", help=", ".join(ANSWERS))
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "audio")
    args = ap.parse_args()
    unknown = set(args.words) - set(ANSWERS)
    if unknown:
        ap.error(f"unknown answers: {', '.join(sorted(unknown))} (known: {', '.join(ANSWERS)})")
    lib = load_library(include_user=False)
    vocab = Vocabulary.load().with_routines(lib.spoken_names())
    recognizers = [PhraseRecognizer(vocab), whisper_recognizer(vocab)]
    args.out.mkdir(parents=True, exist_ok=True)
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        for word in args.words or ANSWERS:
            texts, contexts = ANSWERS[word]
            for text, voice, rate, pitch in itertools.product(texts, VOICES, RATES, PITCHES):
                x = synthesize(text, voice, rate, pitch, Path(tmp))
                if understood(recognizers, x, word, contexts):
                    write_wav(args.out / f"{word}.wav", x)
                    print(f"{word}: '{text}' by {voice} rate {rate} pitch {pitch}", flush=True)
                    break
            else:
                print(f"{word}: no espeak-ng variant was understood in {', '.join(contexts)}", file=sys.stderr)
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
