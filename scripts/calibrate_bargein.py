#!/usr/bin/env python3
"""Choose barge-in's evidence thresholds (``hearing/interrupting.BargeInConfig``) from an open run.

  PYTHONPATH=$PWD .venv/bin/python scripts/bench_bargein.py --open --echo-minutes 10 --json bench-out/bargein-open.json
  PYTHONPATH=$PWD .venv/bin/python scripts/calibrate_bargein.py bench-out/bargein-open.json

An open run acts on every interrupting word the recognizer accepts as it would in silence and
records each decode's evidence (the closed-vocabulary recognizer's: the intent's
log-probability and its lead over the next intent, nat). This script replays the rule of
:func:`~voicecoach.hearing.interrupting.interrupting_intent` on those decodes for each grid point of
(``min_score``, ``min_margin``, ``min_score_own_word``):

* the coach's own voice alone (the echo-only sentences, several of which say "stop", "pain",
  "worse" and "pause") must never be taken: 0 accepts there, and the chosen point keeps a
  step of the grid between it and the nearest echo decode that would pass;
* then the most human "stop"s acted on, among the calibration speakers (even hash of the
  speaker's name, as ``calibrate_closed.py`` splits them);
* then the strictest point (a tie goes to more evidence).

The held-out speakers' figure (odd hash) is printed beside it: that one is the claim. The
synthetic "pain" and "worse" (espeak-ng) are shown, not tuned on. A replay can only refuse
what the open run accepted; a sentence the open run stopped is not heard further, so a
stricter point's figure may miss a later retry (it errs low).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from calibrate_closed import held_out  # noqa: E402  the speaker split of the recognizer's calibration

from voicecoach.hearing.interrupting import BargeInConfig, interrupting_intent  # noqa: E402

SCORES = (-3.0, -2.5, -2.0, -1.5, -1.0, -0.75, -0.5, -0.3)   # min_score (nat)
MARGINS = (6.0, 5.0, 4.0, 3.0, 2.5, 2.0)                      # min_margin (nat), strictest first
OWN_WORD = (-1.5, -1.0, -0.75, -0.5, -0.3, -0.2, -0.1)           # min_score_own_word (nat)
#: no rule beyond the recognizer's own in silence: what an open run acted on
AS_IN_SILENCE = (-99.0, -99.0, -99.0)


def passes(h, sentence: str, lp: float, nsp: float, own: float) -> str | None:
    """The interrupting intent of one recorded decode (text, intent, reason, score, margin)
    under these thresholds (min score, min margin, min score of the sentence's own word, nat),
    decided by the program's own rule."""
    text, intent, reason, conf, margin = h
    heard = SimpleNamespace(text=text, intent=intent, reason=reason, confidence=conf, margin=margin,
                            engine="whisper")
    config = replace(BargeInConfig(), min_score=lp, min_margin=nsp, min_score_own_word=own)
    return interrupting_intent(heard, config, sentence)


def acted(row, point) -> bool:
    return any(passes(h, row.get("sentence", ""), *point) == row["expected"] for h in row.get("heard", []))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", type=Path, nargs="+", help="JSON of bench_bargein.py --open")
    args = ap.parse_args()
    said, echo = [], []
    for path in args.runs:
        data = json.loads(path.read_text())
        if not data.get("open"):
            print(f"{path}: not an open run (bench_bargein.py --open); its decodes were already filtered")
        said += [r for r in data["trials"]["on"] if r.get("expected")]
        echo += data["trials"]["echo_only"]
    human = [r for r in said if r["source"] == "human"]
    calib = [r for r in human if not held_out(r["file"].rsplit("_", 1)[0])]
    test = [r for r in human if held_out(r["file"].rsplit("_", 1)[0])]
    synthetic = [r for r in said if r["source"] != "human"]
    hours = sum(r["sentence_s"] for r in echo) / 3600
    decodes = [(h, r.get("sentence", "")) for r in echo for h in r.get("heard", [])]
    print(f"{len(human)} human stops ({len(calib)} calibration, {len(test)} held out), {len(synthetic)} synthetic; "
          f"echo alone {hours:.3f} h, {len(decodes)} decodes, of them interrupting and accepted as in silence: "
          f"{sum(1 for h, s in decodes if passes(h, s, *AS_IN_SILENCE))}")
    for h, s in decodes:
        if passes(h, s, *AS_IN_SILENCE):
            print(f"  echo decode {h} in \"{s[:60]}...\"")

    def echo_accepts(point) -> int:
        return sum(1 for h, s in decodes if passes(h, s, *point))

    grid = list(itertools.product(SCORES, MARGINS, OWN_WORD))
    best = None
    for point in grid:
        lp, nsp, own = point
        if own < lp:
            continue  # the coach's own word never needs less evidence than any other
        # one grid step looser on each axis must take no echo either: a margin, not an edge
        looser = (SCORES[max(0, SCORES.index(lp) - 1)], MARGINS[min(len(MARGINS) - 1, MARGINS.index(nsp) + 1)],
                  OWN_WORD[max(0, OWN_WORD.index(own) - 1)])
        if echo_accepts(point) or echo_accepts(looser):
            continue
        key = (sum(acted(r, point) for r in calib), lp, nsp, own)  # ties: the strictest
        if best is None or key > best[0]:
            best = (key, point)
    today = BargeInConfig()
    rows = [("shipped", (today.min_score, today.min_margin, today.min_score_own_word))]
    if best:
        rows.append(("chosen", best[1]))
    rows.append(("as in silence", AS_IN_SILENCE))
    print(f"{'':14s} {'score':>8s} {'margin':>9s} {'own word':>8s} {'calib':>8s} {'held out':>9s} "
          f"{'synthetic':>9s} {'echo':>5s}")
    for name, (lp, nsp, own) in rows:
        p = (lp, nsp, own)
        n_c, n_t, n_s = (sum(acted(r, p) for r in rs) for rs in (calib, test, synthetic))
        print(f"{name:14s} {lp:8.2f} {nsp:9.2f} {own:8.2f} {n_c:>3d}/{len(calib):<4d} {n_t:>4d}/{len(test):<4d} "
              f"{n_s:>4d}/{len(synthetic):<4d} {echo_accepts(p):5d}")
    if not best:
        print("no grid point takes no echo with a margin")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
