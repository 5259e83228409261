#!/usr/bin/env python3
"""Peak memory and speed of ``voicecoach hear`` against recording length: streaming
means the peak should not grow with the length.

    .venv/bin/python scripts/bench_hear_memory.py --minutes 1,10,30
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def make_recording(path: Path, minutes: float, answer: Path) -> None:
    """Quiet room noise with the answer spoken every 20 s (16 kHz mono 16-bit)."""
    with wave.open(str(answer), "rb") as w:
        speech = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int32)
    rng = np.random.default_rng(0)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        for block in range(int(minutes * 3)):  # 20 s blocks
            audio = (rng.standard_normal(16000 * 20) * 30).astype(np.int32)
            audio[16000:16000 + len(speech)] += speech
            out.writeframes(np.clip(audio, -32768, 32767).astype("<i2").tobytes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", default="1,10,30", help="comma-separated recording lengths (min)")
    ap.add_argument("--answer", type=Path, default=ROOT / "tests" / "audio" / "better.wav")
    args = ap.parse_args()
    print(f"{'minutes':>8} {'file MB':>8} {'peak RSS MB':>12} {'seconds':>8} {'answers heard':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (float(m) for m in args.minutes.split(",")):
            path = Path(tmp) / f"{minutes:g}.wav"
            make_recording(path, minutes, args.answer)
            # a wrapper process per run, so its children's peak is this run's alone
            wrapper = ("import resource, subprocess, sys; "
                       "out = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout; "
                       "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(out)")
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "voicecoach", "hear",
                                   "--listen-for", "rating", str(path)], capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - t0
            peak_kb, _, out = done.stdout.partition("\n")
            peak = int(peak_kb)
            heard = sum(" better " in line for line in out.splitlines())
            print(f"{minutes:8g} {path.stat().st_size / 1e6:8.1f} {peak / 1024:12.0f} {seconds:8.1f} "
                  f"{heard:>7} of {int(minutes * 3)}")
            path.unlink()


if __name__ == "__main__":
    main()
