#!/usr/bin/env python3
"""Calibrate the closed-vocabulary thresholds (``hearing/closed.py``) on half of the speakers
of the development recordings, and report on the other half.

  .venv/bin/python scripts/calibrate_closed.py [--per-word N] [--snr clean,20,10] [--threads 2]
      [--noise kitchen|recorded] [--contexts yesno,pain,...] [--min-window S] [--rescue]

``--rescue`` calibrates the second look at missed answers (``closed_whisper.NumberRescue``): the
free text's own match stands where it is a phrase of the context, and the closed decision is
asked only where it is not. ``NumberRescue``'s thresholds came from ``--rescue --min-window 30
--noise recorded --contexts yesno,pain,movement --per-word 10``.

Phase 1 (cached in ``bench-out/closed/``): every recording, padded with room noise (and kitchen
noise at each SNR) as ``bench_human.py`` does, goes through the real endpointer; each utterance
is encoded once in its fitted window and scored against every written form of every phrase
whose first token is within the pruning distance, plus one free transcription.

Phase 2: for each grid point of the thresholds, the decisions in every context on the
calibration speakers (even hash); the chosen point has no substitution and no false accept
there, with the highest recall. Figures on the held-out speakers (odd hash) and the coffee
orders are printed beside it. ``bench_human.py --engines closed`` then measures the real
recognizer with the chosen thresholds.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_human import CONTEXTS, ENDPOINTER, EXPECTED, SHARED, items, make_vad, padded, speaker_of  # noqa: E402
from noise import bed as noise_bed  # noqa: E402

from voicecoach.content.loader import load_library  # noqa: E402
from voicecoach.content.vocabulary import Vocabulary  # noqa: E402
from voicecoach.hearing.closed import Thresholds  # noqa: E402
from voicecoach.hearing.endpointer import Endpointer  # noqa: E402
from voicecoach.hearing.pipeline import HearingPipeline  # noqa: E402
from voicecoach.hearing.recognizer import Recognition  # noqa: E402
from voicecoach.hearing.closed_whisper import ClosedScorer  # noqa: E402
from voicecoach.hearing.whisper import too_long_for, voiced_s  # noqa: E402


class Capture:
    """A recognizer that keeps each utterance the endpointer cut, and rejects it."""

    engine, streaming = "capture", False

    def __init__(self):
        self.utterances: list[bytes] = []

    def recognize(self, pcm: bytes, context: str, too_long: bool = False) -> Recognition:
        if not too_long:
            self.utterances.append(pcm)
        return Recognition("", None, 0.0, 0.0, 0.0, "too long" if too_long else "captured", self.engine)


def held_out(speaker: str) -> bool:
    return int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 2 == 1


def utterances(args, bed):
    """Every utterance the real endpointer cuts from each recording (and coffee order), padded
    with room noise and ``bed`` at each of ``args.snr``: (row facts, 16 kHz PCM)."""
    recordings = items(args.data, args.per_word, args.seed)
    coffee = sorted(args.offvocab.glob("*.wav"))
    for snr_s in args.snr.split(","):
        snr = None if snr_s == "clean" else float(snr_s)
        for k, (word, path) in enumerate(recordings + [("_coffee", f) for f in coffee]):
            capture = Capture()
            HearingPipeline(Endpointer(make_vad("webrtc"), ENDPOINTER), capture, "yesno").hear_all(
                padded(path, snr, bed, k))
            for pcm in capture.utterances:
                yield {"word": word, "speaker": speaker_of(path), "snr": snr_s, "file": path.name,
                       "voiced": voiced_s(pcm)}, pcm
            if k % 50 == 0:
                print(f"  {snr_s}: {k} recordings", flush=True)


def collect(args, vocab: Vocabulary, out: Path) -> list[dict]:
    if out.exists():
        return [json.loads(line) for line in out.read_text().splitlines()]
    scorer = ClosedScorer(vocab, threads=args.threads, prune=args.collect_prune, min_window_s=args.min_window)
    rows = [{**row, **scorer.score_all(pcm, args.contexts)}
            for row, pcm in utterances(args, noise_bed(args.noise, 120, Path("bench-out/human")))]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


OPEN = Thresholds(min_score=-math.inf, min_score_always=-math.inf, min_margin=-math.inf,
                  max_free_lead=math.inf, min_end=-math.inf, max_no_speech=1.01)


def facts(rows, vocab: Vocabulary, prune: float, contexts) -> dict[str, np.ndarray]:
    """Per utterance and context, what the thresholds are compared with (computed once)."""
    cols = defaultdict(list)
    for row in rows:
        for context in contexts:
            d = ClosedScorer.judge_scores({**row, "voiced": None}, context, vocab, OPEN, prune)
            expected = EXPECTED.get(row["word"])
            if expected not in vocab.intents_for(context):
                expected = None
            free_intent = vocab.match(row["free"], vocab.intents_for(context)) if row["free"] else None
            free_is_phrase = free_intent is not None or not vocab.read(row["free"], ())
            cols["context"].append(context)
            cols["snr"].append(row["snr"])
            cols["held_out"].append(held_out(row["speaker"]))
            cols["coffee"].append(row["word"] == "_coffee")
            cols["expected"].append(expected or "")
            cols["best"].append(d.intent or "")
            cols["always"].append(d.intent in vocab.always_heard)
            cols["score"].append(d.score)
            cols["margin"].append(d.margin)
            cols["nsp"].append(row["nsp"])
            cols["free_intent"].append(free_intent or "")
            cols["free_conflict"].append(free_intent is not None and free_intent != d.intent)
            cols["free_lead"].append(-math.inf if free_is_phrase else row["first_max"] - row["first"].get(d.phrase, d.score))
            cols["end"].append(row["ends"].get(d.phrase, -math.inf))
            cols["too_long"].append(bool(d.intent) and too_long_for(d.phrase, row["voiced"]))
    return {k: np.array(v) for k, v in cols.items()}


def accepted(f: dict[str, np.ndarray], t: Thresholds) -> np.ndarray:
    floor = np.where(f["always"], t.min_score_always, t.min_score)
    return ((f["best"] != "") & (f["nsp"] < t.max_no_speech) & (f["score"] >= floor) & (f["margin"] >= t.min_margin)
            & ~f["free_conflict"] & (f["free_lead"] <= t.max_free_lead) & (f["end"] >= t.min_end) & ~f["too_long"])


def evaluate(f: dict[str, np.ndarray], t: Thresholds, keep: np.ndarray, rescue: bool = False) -> dict:
    """Counts of the closed decisions on the rows ``keep``; with ``rescue``, the free text's own
    match (as the shipped recognizer reads it) where it is a phrase of the context, and the
    closed decision only where it is not."""
    got = accepted(f, t) & keep
    if rescue:
        free = f["free_intent"] != ""
        got = (got & ~free) | (free & keep)
        f = {**f, "best": np.where(free, f["free_intent"], f["best"])}
    want = (f["expected"] != "") & ~f["coffee"] & keep
    c = {"n": int(want.sum()), "ok": int((got & want & (f["best"] == f["expected"])).sum()),
         "sub": int((got & want & (f["best"] != f["expected"])).sum()),
         "rej": int((keep & ~want & ~f["coffee"]).sum()), "fa": int((got & ~want & ~f["coffee"]).sum()),
         "coffee": int((keep & f["coffee"]).sum()), "coffee_fa": int((got & f["coffee"]).sum())}
    for k in sorted(set(f["context"])):
        m = f["context"] == k
        c[f"n_{k}"] = int((want & m).sum())
        c[f"ok_{k}"] = int((got & want & m & (f["best"] == f["expected"])).sum())
    return c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-word", type=int, default=30)
    ap.add_argument("--snr", default="clean,20,10")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--collect-prune", type=float, default=8.0)
    ap.add_argument("--min-window", type=float, default=3.0, help="shortest fitted window (s)")
    ap.add_argument("--data", type=Path, default=SHARED / "human_dev")
    ap.add_argument("--offvocab", type=Path, default=SHARED / "offvocab_dev")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--noise", default="kitchen", choices=("kitchen", "recorded"))
    ap.add_argument("--contexts", default=",".join(CONTEXTS))
    ap.add_argument("--rescue", action="store_true",
                    help="the closed decision only where the free text is no phrase of the context")
    ap.add_argument("--out", type=Path, default=Path("bench-out/closed"))
    args = ap.parse_args()
    args.contexts = args.contexts.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    lib = load_library(include_user=False)
    vocab = Vocabulary.load().with_routines(lib.spoken_names())
    tag = f"{args.per_word}-{args.snr.replace(',', '_')}-w{args.min_window:g}-{args.noise}-{'_'.join(args.contexts)}-s{args.seed}"
    rows = collect(args, vocab, args.out / f"scores-{tag}.jsonl")
    print(f"{len(rows)} utterances; {len({r['speaker'] for r in rows})} speakers")

    best = None
    for prune in (4.0, 6.0):
        f = facts(rows, vocab, prune, args.contexts)
        calib = f["coffee"] | ~f["held_out"]
        for ms, msa, mm, mfl, me, nsp in itertools.product(
                [-1.0, -1.5, -2.0, -3.0, -4.0, -5.0], [-3.0, -4.0, -6.0], [1.0, 2.0, 3.0, 4.0, 5.0],
                [0.0, 0.5, 1.0, 2.0, 3.0, 99.0], [-0.5, -1.0, -2.0, -3.0, -99.0], [0.6, 0.8]):
            t = Thresholds(min_score=ms, min_score_always=min(ms, msa), min_margin=mm, max_free_lead=mfl,
                           min_end=me, max_no_speech=nsp)
            c = evaluate(f, t, calib, args.rescue)
            # no wrong answer at all, then the most answers, then the widest safety margins
            # no answer taken for another and no sentence taken as an answer; then the most
            # answers, a word to reject taken as an answer costing five (some sound alike:
            # "on" and "one", "off" and "four"); then the widest safety margins
            key = (c["sub"] + c["coffee_fa"] == 0, c["ok"] - 5 * c["fa"], mm, -mfl, ms, me)
            if best is None or key > best[0]:
                best = (key, t, prune, f)
    _, t, prune, f = best
    print(f"chosen: {t}, prune {prune}")
    none = Thresholds(min_score=math.inf, min_score_always=math.inf)
    for name, keep in (("calibration speakers", f["coffee"] | ~f["held_out"]), ("held-out speakers", f["coffee"] | f["held_out"])):
        for snr, rule in itertools.product(args.snr.split(","), ((t,) if not args.rescue else (none, t))):
            c = evaluate(f, rule, keep & (f["snr"] == snr), args.rescue)
            if args.rescue:
                print("   free text alone:" if rule is none else "   with the rescue:", end=" ")
            per = " ".join(f"{k}: {c[f'ok_{k}']}/{c[f'n_{k}']}" for k in args.contexts if c.get(f"n_{k}"))
            print(f"{name:>21} {snr:>5}: recall {c['ok']}/{c['n']} = {c['ok'] / max(1, c['n']):.1%}, "
                  f"subst {c['sub']}, false accepts {c['fa']}/{c['rej']}, coffee {c['coffee_fa']}/{c['coffee']}  [{per}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
