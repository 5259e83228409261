#!/usr/bin/env python3
"""Recognition benchmark: accuracy, false accepts and latency of the listening pipeline,
with the plain SpeechRecognition recipe (recognize_sphinx + word match) beside it.

  .venv/bin/python scripts/bench_recognition.py [--snr clean,20,10,5,0] [--per-intent 2]
      [--offvocab DIR] [--threshold T] [--peer-snr clean,10] [--noise-seconds 120]

Speech is espeak-ng (several voices, rates, pitches, half with reverberation) mixed with
noise (white, pink, brown, hum) at each SNR. Off-vocabulary: real recordings in DIR
(every context). Noise stream: continuous noise of all kinds, in every context.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchdata import mix, noise, sample_configs, speak  # noqa: E402

from voicecoach.hearing.pocketsphinx import (DEFAULT_MARGIN, DEFAULT_MAX_PHONE_RATIO,  # noqa: E402
                                                   DEFAULT_THRESHOLD, PhraseRecognizer, make_vad)
from peers.sr_speechrecognition import PlainSphinx, read_pcm16k  # noqa: E402
from voicecoach.hearing.endpointer import FRAME_BYTES, Endpointer, split_utterances  # noqa: E402
from voicecoach.hearing.pipeline import HearingPipeline  # noqa: E402
from voicecoach.content.loader import load_library  # noqa: E402
from voicecoach.content.vocabulary import Vocabulary  # noqa: E402

CONTEXTS = ["menu", "rating", "yesno", "exercise", "pain", "location", "movement"]
NOISES = ["white", "pink", "brown", "hum"]


def pcm_of(x: np.ndarray) -> bytes:
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


def accepted(heard, threshold, margin):
    """Intents accepted at these thresholds (the recognizer ran with none)."""
    return [h.intent for h in heard if h.intent and h.confidence >= threshold and h.margin >= margin]


def run_pipeline(recognizer, pcm: bytes, context: str):
    return HearingPipeline(Endpointer(make_vad()), recognizer, context).hear_all(pcm)


def peer_transcripts(peer, pcm: bytes) -> list[str]:
    """The plain recipe's transcripts of the same endpointed utterances (no context: its
    language model is the same whatever the coach listens for)."""
    return [peer.transcribe(utt.pcm) for utt in split_utterances(
        (pcm[i:i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)), Endpointer(make_vad()))]


def peer_intents(peer, pcm: bytes, intents):
    """The plain recipe: transcribe, then match the context's phrases."""
    return [peer.intent(text, intents) for text in peer_transcripts(peer, pcm)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snr", default="clean,20,10,5,0", help="SNRs in dB, 'clean' for none")
    ap.add_argument("--per-intent", type=int, default=2, help="test utterances per intent and context")
    ap.add_argument("--offvocab", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/offvocab_dev")
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="confidence threshold")
    ap.add_argument("--margin", type=float, default=DEFAULT_MARGIN, help="margin over other intents")
    ap.add_argument("--max-phone-ratio", type=float, default=DEFAULT_MAX_PHONE_RATIO,
                    help="reject if the phone loop hears more than this many times the phrase's phones")
    ap.add_argument("--peer-snr", default="clean,10", help="SNRs at which to run the slower peer ('' for none)")
    ap.add_argument("--noise-seconds", type=float, default=120.0, help="length of the noise stream per context (s)")
    ap.add_argument("--cache", type=Path, default=Path("bench-out/audio"))
    ap.add_argument("--no-peer-offvocab", action="store_true", help="skip the (slow) peer on the recordings")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    lib = load_library(include_user=False)
    vocab = Vocabulary.load().with_routines(lib.spoken_names())
    # thresholds are applied below, so one run also gives the sweep
    rec = PhraseRecognizer(vocab, threshold=float("-inf"), margin=float("-inf"),
                           max_phone_ratio=args.max_phone_ratio)
    T, M = args.threshold, args.margin
    peer = PlainSphinx(vocab)
    rng = random.Random(args.seed)
    snrs = [None if s == "clean" else float(s) for s in args.snr.split(",") if s]
    peer_snrs = {None if s == "clean" else float(s) for s in args.peer_snr.split(",") if s}

    # ---- the test set: (context, intent, phrase, voice config) ---------------------------
    items = []
    configs = sample_configs(10_000, args.seed)
    for context in CONTEXTS:
        for intent in vocab.intents_for(context):
            phrases = list(vocab.phrases.get(intent, ()))
            for phrase in rng.sample(phrases, min(args.per_intent, len(phrases))):
                items.append((context, intent, phrase, next(configs)))
    print(f"test set: {len(items)} utterances over {len(CONTEXTS)} contexts; "
          f"confidence >= {T}, margin >= {M}, phone loop <= {args.max_phone_ratio} x the phrase's phones")

    # ---- accuracy at each SNR --------------------------------------------------------------
    latencies, decode_ms = [], []
    raw_iv: dict = defaultdict(list)  # snr -> [(expected intent, heard list)]
    print("\naccuracy (share of in-vocabulary utterances recognised as the right intent, and wrong intents)")
    print(f"{'SNR':>6} {'context':<9} {'ours':>7} {'wrong':>6} {'peer':>7} {'wrong':>6}  n")
    for snr in snrs:
        per = defaultdict(lambda: [0, 0, 0, 0, 0])  # ours ok, ours wrong, peer ok, peer wrong, n
        for k, (context, intent, phrase, (voice, rate, pitch, reverb)) in enumerate(items):
            speech = speak(phrase, voice, rate, pitch, reverb, args.cache)
            pcm = pcm_of(mix(speech, snr, NOISES[k % len(NOISES)], seed=k))
            heard = run_pipeline(rec, pcm, context)
            raw_iv[snr].append((intent, heard))
            got = accepted(heard, T, M)
            row = per[context]
            row[4] += 1
            row[0] += got == [intent]
            row[1] += any(a != intent for a in got)
            for h in heard:
                if h.intent and h.confidence >= T and h.margin >= M:
                    latencies.append(h.latency_ms)
                    decode_ms.append(h.decode_ms)
            if snr in peer_snrs:
                found = [f for f in peer_intents(peer, pcm, vocab.intents_for(context)) if f]
                row[2] += found == [intent]
                row[3] += any(f != intent for f in found)
        total = [sum(r[i] for r in per.values()) for i in range(5)]
        for context, r in list(per.items()) + [("all", total)]:
            n = r[4]
            peer_txt = (f"{r[2] / n:7.1%} {r[3]:6d}" if snr in peer_snrs else f"{'-':>7} {'-':>6}")
            print(f"{'clean' if snr is None else f'{snr:.0f} dB':>6} {context:<9} {r[0] / n:7.1%} {r[1]:6d} "
                  f"{peer_txt}  {n}")

    # ---- false accepts on real off-vocabulary speech -------------------------------------------
    files = sorted(args.offvocab.glob("*.wav"))
    print(f"\nfalse accepts on {len(files)} off-vocabulary recordings ({args.offvocab})")
    raw_oov = []
    pcms = {f: read_pcm16k(str(f)) for f in files}
    transcripts = {} if args.no_peer_offvocab else {f: peer_transcripts(peer, pcms[f]) for f in files}
    for context in CONTEXTS:
        ours = theirs = utts = 0
        for f in files:
            heard = run_pipeline(rec, pcms[f], context)
            raw_oov.append(heard)
            utts += len(heard)
            ours += len(accepted(heard, T, M))
            if not args.no_peer_offvocab:
                theirs += sum(1 for t in transcripts[f] if peer.intent(t, vocab.intents_for(context)))
        peer_txt = "-" if args.no_peer_offvocab else f"{theirs:3d}"
        print(f"  {context:<9} ours {ours:3d}   peer {peer_txt}   (utterances detected: {utts})")

    # ---- false accepts on a continuous noise stream ----------------------------------------------
    print(f"\nfalse accepts on {args.noise_seconds:.0f} s of noise per context (white, pink, brown, hum)")
    for context in CONTEXTS:
        ours = utts = 0
        for j, kind in enumerate(NOISES):
            x = noise(kind, args.noise_seconds / len(NOISES), seed=100 + j) * 3000
            x = x * (1 + 0.8 * np.sin(np.arange(len(x)) / 16000 * 2 * np.pi * 0.3))  # swelling, like traffic
            heard = run_pipeline(rec, pcm_of(x), context)
            raw_oov.append(heard)
            utts += len(heard)
            ours += len(accepted(heard, T, M))
        print(f"  {context:<9} ours {ours:3d}   (utterances detected: {utts})")

    # ---- threshold sweep ------------------------------------------------------------------------
    print("\nsweep: right answers per SNR (wrong intents) | false accepts on off-vocabulary + noise")
    print(f"{'conf':>6} {'margin':>6} " + " ".join(f"{'clean' if s is None else f'{s:.0f} dB':>12}" for s in snrs)
          + "  false")
    for t in sorted({T - 4, T - 2, T, T + 2, T + 4, T + 6}):
        for m in sorted({float("-inf"), M, M + 3, M + 6}):
            cells = []
            for s in snrs:
                got = [(i, accepted(h, t, m)) for i, h in raw_iv[s]]
                right = sum(g == [i] for i, g in got) / max(1, len(got))
                wrong = sum(any(x != i for x in g) for i, g in got)
                cells.append(f"{right:6.1%} ({wrong:2d})")
            fa = sum(len(accepted(h, t, m)) for h in raw_oov)
            mark = "  <- in use" if (t, m) == (T, M) else ""
            print(f"{t:6.1f} {m:6.1f} " + " ".join(f"{c:>12}" for c in cells) + f"  {fa:5d}{mark}")

    # ---- latency -----------------------------------------------------------------------------
    lat = np.array(latencies or [0.0])
    dec = np.array(decode_ms or [0.0])
    print(f"\nend of speech -> intent (endpoint wait + decode), {len(lat)} accepted utterances: "
          f"p50 {np.percentile(lat, 50):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms "
          f"(decode alone p50 {np.percentile(dec, 50):.0f} ms, p95 {np.percentile(dec, 95):.0f} ms)")
    return 0


if __name__ == "__main__":
    t0 = time.time()
    code = main()
    print(f"\n(benchmark took {time.time() - t0:.0f} s)")
    sys.exit(code)
