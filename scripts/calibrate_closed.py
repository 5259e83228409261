#!/usr/bin/env python3
"""Calibrate the closed-vocabulary thresholds (``hearing/closed.py``) on half of the speakers
of the development recordings, and report on the other half.

  .venv/bin/python scripts/calibrate_closed.py [--per-word N] [--snr clean,20,10] [--noise recorded]
      [--window 10] [--seed 1] [--max-false 0.003]

Phase 1 (cached in ``bench-out/closed/``): every recording, padded with room noise (and room
noise at each SNR) as ``bench_human.py`` does, goes through the real endpointer; each utterance
the pipeline would decode (the last decode of each utterance, as the live pipeline keeps it) is
encoded once, written freely, and every written form of every context's phrases whose first
token is within 10 nat of the context's best is scored (``ClosedScorer``, forced decoding).

Phase 2: for each point of a grid of thresholds, the decisions of ``closed_whisper.judge`` in
every context (the free text's own phrase where it says one; the scores where it does not) on
the calibration speakers (even hash), per recording: the chosen point takes no answer for
another and no coffee order, at most ``--max-false`` of the other words, and then the most
answers; among points within two answers of the best, the strictest. Figures on the held-out
speakers (odd hash) are printed beside it, per SNR.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import pickle
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_human import CONTEXTS, ENDPOINTER, EXPECTED, SHARED, items, make_vad, padded, speaker_of  # noqa: E402
from noise import bed as noise_bed  # noqa: E402

from voicecoach.content.loader import load_library  # noqa: E402
from voicecoach.content.vocabulary import Vocabulary  # noqa: E402
from voicecoach.hearing.closed import Thresholds  # noqa: E402
from voicecoach.hearing.closed_whisper import WINDOW_S, ClosedScorer, judge  # noqa: E402
from voicecoach.hearing.endpointer import FRAME_BYTES, Endpointer  # noqa: E402
from voicecoach.hearing.pipeline import HearingPipeline  # noqa: E402
from voicecoach.hearing.recognizer import Recognition  # noqa: E402
from voicecoach.hearing.whisper import voiced_s  # noqa: E402


class Capture:
    """A recognizer that keeps what it is given to decode, and rejects it."""

    engine, streaming = "capture", False

    def __init__(self):
        self.utterances: list[bytes] = []

    def recognize(self, pcm: bytes, context: str, too_long: bool = False) -> Recognition:
        if not too_long:
            self.utterances.append(pcm)
        return Recognition("", None, 0.0, 0.0, 0.0, "too long" if too_long else "captured", self.engine)


def held_out(speaker: str) -> bool:
    return int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 2 == 1


def decoded_utterances(pcm: bytes) -> list[bytes]:
    """The audio the live pipeline would decide on for each utterance of ``pcm``: its last
    decode (one begun at a pause the person went on from is thrown away)."""
    capture = Capture()
    pipeline = HearingPipeline(Endpointer(make_vad("webrtc"), ENDPOINTER), capture, "yesno")
    out = []
    for i in range(0, len(pcm) + FRAME_BYTES, FRAME_BYTES):
        heard = pipeline.push(pcm[i:i + FRAME_BYTES]) if i < len(pcm) else pipeline.flush()
        if heard is not None and heard.reason != "too long":
            out.append(capture.utterances[-1])
    return out


def utterances(args, bed):
    """Every utterance decoded from each recording (and coffee order), padded with room noise and
    ``bed`` at each of ``args.snr``: (row facts, 16 kHz PCM)."""
    recordings = items(args.data, args.per_word, args.seed)
    coffee = sorted(args.offvocab.glob("*.wav"))
    for snr_s in args.snr.split(","):
        snr = None if snr_s == "clean" else float(snr_s)
        for k, (word, path) in enumerate(recordings + [("_coffee", f) for f in coffee]):
            for pcm in decoded_utterances(padded(path, snr, bed, k)):
                yield {"word": word, "speaker": speaker_of(path), "snr": snr_s, "file": path.name,
                       "voiced": voiced_s(pcm)}, pcm
            if k % 100 == 0:
                print(f"  {snr_s}: {k} recordings", flush=True)


def collect(args, vocab: Vocabulary, out: Path) -> dict:
    """Phase 1, cached: per utterance the facts :func:`judge` needs, in every context."""
    if out.exists():
        return pickle.loads(out.read_bytes())
    scorer = ClosedScorer(vocab, window_s=args.window, prune=10.0)
    rows = []
    for row, pcm in utterances(args, noise_bed(args.noise, 120, Path("bench-out/human"))):
        rows.append((row, {c: scorer.score(pcm, c, shortcut=False) for c in CONTEXTS}))
    data = {"rows": rows, "items": [(w, f.name, speaker_of(f)) for w, f in items(args.data, args.per_word, args.seed)],
            "snrs": args.snr.split(",")}
    out.write_bytes(pickle.dumps(data))
    return data


def contexts_of(word: str) -> list[str]:
    """The contexts a recording is heard in: those that expect it, or all."""
    expected = EXPECTED.get(word)
    taking = [c for c in CONTEXTS if expected and expected in VOCAB.intents_for(c)]
    return CONTEXTS if expected in (None, "stop") or not taking else taking


def evaluate(data: dict, t: Thresholds, half: bool | None, snr: str | None) -> dict:
    """Per recording (of ``half``: True held-out, False calibration, None all) and context: one
    utterance taken, as expected; a word to reject or a coffee order taken at all."""
    got: dict[tuple, list] = defaultdict(list)
    c = {"n": 0, "ok": 0, "sub": 0, "rej": 0, "fa": 0, "coffee": 0, "coffee_fa": 0}
    for row, by_context in data["rows"]:
        if (snr and row["snr"] != snr) or (half is not None and row["word"] != "_coffee" and held_out(row["speaker"]) != half):
            continue
        for context in contexts_of(row["word"]):
            d = judge(VOCAB, by_context[context], context, t, row["voiced"])
            key = (row["word"], row["file"], row["snr"], context)
            if row["word"] == "_coffee":
                c["coffee"] += 1
                c["coffee_fa"] += d.intent is not None
            elif d.intent:
                got[key].append(d.intent)
    for word, name, speaker in data["items"]:
        if half is not None and held_out(speaker) != half:
            continue
        for snr_ in data["snrs"]:
            if snr and snr_ != snr:
                continue
            for context in contexts_of(word):
                expected = EXPECTED.get(word) if EXPECTED.get(word) in VOCAB.intents_for(context) else None
                heard = got.get((word, name, snr_, context), [])
                if expected:
                    c["n"] += 1
                    c["ok"] += heard == [expected]
                    c["sub"] += any(h != expected for h in heard)
                else:
                    c["rej"] += 1
                    c["fa"] += bool(heard)
    return c


GRID = {"min_score": [-2.5, -3.0, -3.5, -4.0, -5.0], "min_score_always": [-3.0, -4.0, -5.0, -6.0],
        "min_margin": [1.5, 2.0, 2.5, 3.0], "max_free_lead": [0.0, 0.5, 1.0, 2.0, 3.0],
        "max_no_speech": [0.6, 0.8], "min_end": [-1.0, -2.0, -99.0]}
#: strictness of each threshold: +1 when a larger value is stricter
STRICTER = {"min_score": 1, "min_score_always": 1, "min_margin": 1, "max_free_lead": -1, "max_no_speech": -1,
            "min_end": 1}
OPEN = Thresholds(min_score=-1e9, min_score_always=-1e9, min_margin=-1e9, max_free_lead=1e9, max_no_speech=2.0,
                  min_end=-1e9)


def table(data: dict) -> dict:
    """What each threshold is compared with, per utterance and context, computed once with
    :func:`judge`'s own rules opened up (``OPEN``); :func:`accepted` closes them again."""
    cols = defaultdict(list)
    for row, by_context in data["rows"]:
        for context in contexts_of(row["word"]):
            facts = by_context[context]
            d = judge(VOCAB, facts, context, OPEN, row["voiced"])
            free = facts["free"]
            intents = VOCAB.intents_for(context)
            said = VOCAB.match(free.text, intents) if free.text else None
            is_phrase = said is not None or not VOCAB.read(free.text, ())
            cols["row"].append((row["word"], row["file"], row["snr"], context, row["speaker"]))
            cols["intent"].append(d.intent or "")
            cols["free_path"].append(said is not None)
            cols["score"].append(d.score)
            cols["margin"].append(d.margin)
            cols["lead"].append(-1e9 if is_phrase else free.avg_logprob * (free.tokens + 1) - d.score)
            cols["nsp"].append(free.no_speech_prob)
            cols["end"].append(facts["ends"].get(d.phrase, -1e9) if not said else 0.0)
            cols["always"].append(d.intent in VOCAB.always_heard)
    import numpy as np
    return {k: (np.array(v) if k != "row" else v) for k, v in cols.items()}


def accepted(cols: dict, t: Thresholds):
    """:func:`judge`'s decisions under ``t``, from the opened-up table (the free path needs only
    speech heard; the scores' path every threshold)."""
    import numpy as np
    floor = np.where(cols["always"], t.min_score_always, t.min_score)
    scored = (cols["score"] >= floor) & (cols["margin"] >= t.min_margin) & (cols["lead"] <= t.max_free_lead) \
        & (cols["end"] >= t.min_end)
    return (cols["intent"] != "") & (cols["nsp"] < t.max_no_speech) & (cols["free_path"] | scored)


def fast_count(cols: dict, took, data: dict, half: bool | None) -> tuple[int, int, int, int]:
    """(answers right, answers taken for another, other words taken, coffee taken) of ``half``."""
    got: dict[tuple, list] = defaultdict(list)
    fa = coffee = 0
    for i in range(len(cols["row"])):
        word, name, snr, context, speaker = cols["row"][i]
        if not took[i] or (half is not None and word != "_coffee" and held_out(speaker) != half):
            continue
        if word == "_coffee":
            coffee += 1
        elif EXPECTED.get(word) in VOCAB.intents_for(context):
            got[(word, name, snr, context)].append(cols["intent"][i])
        else:
            fa += 1
    ok = sum(v == [EXPECTED[k[0]]] for k, v in got.items())
    sub = sum(any(x != EXPECTED[k[0]] for x in v) for k, v in got.items())
    return ok, sub, fa, coffee


def main() -> int:
    global VOCAB
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-word", type=int, default=20)
    ap.add_argument("--snr", default="clean,20,10")
    ap.add_argument("--window", type=float, default=WINDOW_S, help="the encoder's window (s; default: the program's)")
    ap.add_argument("--data", type=Path, default=SHARED / "human_dev")
    ap.add_argument("--offvocab", type=Path, default=SHARED / "offvocab_dev")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--noise", default="recorded", choices=("kitchen", "recorded"))
    ap.add_argument("--max-false", type=float, default=0.003,
                    help="share of the other words the chosen point may take on the calibration half")
    ap.add_argument("--out", type=Path, default=Path("bench-out/closed"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    VOCAB = Vocabulary.load().with_routines(load_library(include_user=False).spoken_names())
    tag = f"{args.per_word}-{args.snr.replace(',', '_')}-w{args.window:g}-{args.noise}-s{args.seed}"
    data = collect(args, VOCAB, args.out / f"facts-{tag}.pickle")
    print(f"{len(data['rows'])} utterances of {len({r['speaker'] for r, _ in data['rows']})} speakers")

    cols = table(data)
    rej = evaluate(data, OPEN, False, None)["rej"]
    points = []
    for values in itertools.product(*GRID.values()):
        t = Thresholds(**dict(zip(GRID, values)))
        if t.min_score_always > t.min_score:
            continue
        ok, sub, fa, coffee = fast_count(cols, accepted(cols, t), data, False)
        if sub == 0 and coffee == 0 and fa <= args.max_false * rej:
            points.append((ok, t))
    if not points:
        print("no point of the grid takes no wrong answer on the calibration half")
        return 1
    top = max(ok for ok, _ in points)
    near = [t for ok, t in points if ok >= top - 2]
    chosen = max(near, key=lambda t: tuple(STRICTER[k] * getattr(t, k) for k in GRID))
    print(f"chosen: {chosen} ({top} answers at best on the calibration half; the strictest within 2)")
    for name, half in (("calibration", False), ("held-out", True)):
        for snr in data["snrs"]:
            c = evaluate(data, chosen, half, snr)
            print(f"{name:>12} {snr:>5}: recall {c['ok']}/{c['n']} = {c['ok'] / max(1, c['n']):.1%}, "
                  f"subst {c['sub']}, other words taken {c['fa']}/{c['rej']}, coffee {c['coffee_fa']}/{c['coffee']}")
    return 0


VOCAB: Vocabulary


if __name__ == "__main__":
    sys.exit(main())
