#!/usr/bin/env python3
"""Endpointing on real people in kitchen noise: WebRTC VAD against Silero VAD.

  .venv/bin/python scripts/bench_vad.py [--snr clean,20,10] [--per-word 20] [--noise-seconds 120]

For every recording of ``--data`` (one word each, real speakers), padded with room noise and
mixed with kitchen noise at each SNR: does the endpointer find exactly one utterance, and
does it hold the whole word (from 50 ms before its loud part begins to 50 ms after it ends)?
On kitchen noise alone (no one speaking to the coach): how many utterances a minute does it
start (each one costs a decode, and could become a false answer)? And the CPU per second of
audio. The recognizer is not involved: bench_human.py measures what is understood.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_human import LEAD_S, SHARED, items, make_vad, pcm_of, room  # noqa: E402
from benchdata import read_wav  # noqa: E402
from noise import add_noise, bed as noise_bed  # noqa: E402

from voicecoach.hearing.endpointer import FRAME_BYTES, Endpointer, EndpointerConfig, split_utterances  # noqa: E402


def utterances(pcm: bytes, vad: str, margin_db: float, peak_db: float | None = None, start_frames: int | None = None):
    frames = (pcm[i:i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES))
    cfg = EndpointerConfig(margin_db=margin_db)
    cfg.peak_db = max(margin_db, peak_db if peak_db is not None else EndpointerConfig.peak_db)
    cfg.start_frames = start_frames or cfg.start_frames
    return list(split_utterances(frames, Endpointer(make_vad(vad), cfg)))


def word_span(x: np.ndarray) -> tuple[float, float]:
    """Start and end (s) of the loud part of a clean one-word recording."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    level = 20 * np.log10(np.sqrt(np.mean(frames ** 2, axis=1)) + 1)
    loud = np.flatnonzero(level > level.max() - 30)
    return loud[0] * 0.01, (loud[-1] + 1) * 0.01


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vads", default="webrtc,silero")
    ap.add_argument("--snr", default="clean,20,10")
    ap.add_argument("--noise", default="kitchen", choices=("kitchen", "recorded"))
    ap.add_argument("--per-word", type=int, default=20)
    ap.add_argument("--data", type=Path, default=SHARED / "human_dev")
    ap.add_argument("--noise-seconds", type=float, default=120.0)
    ap.add_argument("--cache", type=Path, default=Path("bench-out/human"))
    ap.add_argument("--margin-db", type=float, default=EndpointerConfig.margin_db,
                    help="speech must be this far over the noise floor (dB)")
    ap.add_argument("--peak-db", type=float, default=EndpointerConfig.peak_db,
                    help="a start needs a frame this far over the floor (dB)")
    ap.add_argument("--start-frames", type=int, default=EndpointerConfig.start_frames,
                    help="speech frames of the last 8 (30 ms each) that start an utterance")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    bed = noise_bed(args.noise, 120, args.cache)
    recordings = items(args.data, args.per_word, args.seed)
    snrs = [None if s == "clean" else float(s) for s in args.snr.split(",")]
    print(f"{len(recordings)} recordings; {args.noise} noise at {args.snr}; energy gate {args.margin_db} dB over the floor")
    print(f"{'VAD':<7} {'SNR':>6} {'one utterance, whole word':>26} {'none':>5} {'split':>5} {'cut':>5} "
          f"{'noise: starts/min':>18} {'CPU/s audio':>11} {'merged':>6}")
    for vad in args.vads.split(","):
        for snr in snrs:
            whole = none = split = cut = merged = 0
            cpu = time.process_time()
            audio_s = 0.0
            for k, (_, path) in enumerate(recordings):
                x = read_wav(path)
                start, end = word_span(x)
                x = np.concatenate([np.zeros(int(LEAD_S * 16000)), x, np.zeros(int(0.8 * 16000))])
                x = add_noise(x + room(len(x), k), bed, snr, offset=k * 7919)
                audio_s += len(x) / 16000
                utts = utterances(pcm_of(x), vad, args.margin_db, args.peak_db, args.start_frames)
                if not utts:
                    none += 1
                elif len(utts) > 1:
                    split += 1
                elif utts[0].start_s <= LEAD_S + start and \
                        utts[0].start_s + utts[0].duration_s >= LEAD_S + end - 0.05:  # the audio decoded
                    whole += 1
                    # taken with the room's own sound around it (0.6 s more than pre-roll and tail)
                    merged += utts[0].duration_s > (end - start) + 0.3 + 0.1 + 0.6
                else:
                    cut += 1
            cpu = (time.process_time() - cpu) / audio_s
            # the same kitchen noise with nobody speaking, at the level it had against speech
            starts = "-"
            if snr is not None:
                speech_rms = 3000.0
                n = int(args.noise_seconds * 16000)
                bed_only = np.resize(bed, n) * speech_rms / (10 ** (snr / 20)) + room(n, 99)
                starts = f"{len(utterances(pcm_of(bed_only), vad, args.margin_db, args.peak_db, args.start_frames)) / (args.noise_seconds / 60):.1f}"
            label = "clean" if snr is None else f"{snr:.0f} dB"
            print(f"{vad:<7} {label:>6} {whole / len(recordings):>26.1%} {none:5d} {split:5d} {cut:5d} "
                  f"{starts:>18} {cpu:>11.1%} {merged:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
