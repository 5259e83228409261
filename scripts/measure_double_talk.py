#!/usr/bin/env python3
"""What PulseAudio's echo canceller does to a person's word while the coach talks (double talk).

  PYTHONPATH=$PWD .venv/bin/python scripts/measure_double_talk.py [--words 20] [--echo-db -10,0,6]

A private PulseAudio with ``module-echo-cancel`` loaded as the program loads it
(``devices/pulse_echo.py``); human "stop" recordings (``human_dev/stop``, the first N) are said
into the pipe-source microphone 1.2 s apart, and the canceller's output is recorded with parec.
Conditions, one after the other:

- ``quiet``: nothing plays (the canceller has no far end);
- ``no echo``: the coach talks on the canceller's sink, but the microphone does not hear it;
- ``echo G dB``: the coach talks and its voice reaches the microphone 60 ms late at G dB
  relative to the person, with a synthetic room's reverberation (``tests/support/echo_path.py``).

Each word is found in the output (cross-correlation with what was said) and reported as: its
gain through the canceller (least-squares fit, dB), what is left beside it (word / rest, dB),
and the closed-vocabulary recognizer's decision on it (0.25 s before to 0.35 s after, context
"exercise"). The coach talks without ducking or holding here: this is the canceller alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_bargein import SENTENCES, read_wav, trim  # noqa: E402
from tests.support.echo_path import EchoPathMic, Parec, normalize_word  # noqa: E402
from tests.support.pulse_daemon import PrivatePulse  # noqa: E402

HUMAN = Path("/work/shared/data/human_dev/stop")
GAP_S = 1.2  # s between words


def record(condition: str, echo_db: float | None, files: list[Path], coach_wav: Path, method: str, aec_args: str):
    """Say every word through the canceller; returns (its output, the words, when each was said)."""
    import subprocess
    from voicecoach.devices.pulse_echo import EC_SINK, EC_SOURCE, Pactl, SystemEchoCancel
    pulse = PrivatePulse()
    pulse.start()
    pulse.use_here()
    echo = ec = out = player = None
    try:
        echo = EchoPathMic(pulse.fifo, pulse.env, delay_ms=60, gain_db=echo_db)
        ec = SystemEchoCancel(Pactl(), method=method, aec_args=aec_args)
        why = ec.start()
        if why:
            raise SystemExit(why)
        out = Parec(EC_SOURCE, pulse.env)
        if condition != "quiet":
            player = subprocess.Popen(["paplay", "-d", EC_SINK, str(coach_wav)], env=dict(os.environ))
        time.sleep(2.0)  # the canceller converges on the coach's voice first
        t0 = time.monotonic()
        words, said_at = [], []
        for f in files:
            w = trim(read_wav(f))
            said_at.append(time.monotonic() - t0)
            echo.say(w)
            words.append(normalize_word(w))
            time.sleep(len(w) / 32000 + GAP_S)
        time.sleep(1.0)
        return out.window(t0, time.monotonic()), words, said_at
    finally:
        if player is not None:
            player.kill()
        if out is not None:
            out.close()
        if ec is not None:
            ec.close()
        if echo is not None:
            echo.close()
        pulse.stop()


def judge(recognizer, out: np.ndarray, words, said_at) -> list[dict]:
    rows = []
    for w, t in zip(words, said_at):
        pos = max(0, int((t - 0.3) * 16000))
        region = out[pos: pos + 16000 + len(w)]
        if len(region) <= len(w):
            continue
        n = len(region) + len(w)
        corr = np.fft.irfft(np.fft.rfft(region, n) * np.conj(np.fft.rfft(w, n)), n)[: len(region) - len(w)]
        at = pos + int(np.argmax(corr))
        seg = out[at: at + len(w)]
        gain = float(seg @ w / (w @ w))
        rest = seg - gain * w
        window = out[max(0, at - 4000): at + len(w) + 5600]
        r = recognizer.recognize(np.clip(window, -32768, 32767).astype("<i2").tobytes(), "exercise")
        rows.append({"gain_db": 20 * np.log10(abs(gain) + 1e-9),
                     "word_to_rest_db": 10 * np.log10(float(w @ w) / (float(rest @ rest) + 1e-9)),
                     "intent": r.intent, "reason": r.reason, "score": r.confidence, "text": r.text})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--words", type=int, default=20, help="human stops per condition")
    ap.add_argument("--echo-db", default="-10,0,6", help="echo levels relative to the person (dB)")
    ap.add_argument("--aec-method", default="webrtc", help="module-echo-cancel aec_method (webrtc, speex)")
    ap.add_argument("--aec-args", default=None, help="its aec_args (default: the program's for webrtc, none for speex)")
    ap.add_argument("--conditions", default="quiet,no echo,echo", help="which conditions to record")
    args = ap.parse_args()
    from voicecoach.devices.pulse_echo import AEC_ARGS
    aec_args = args.aec_args if args.aec_args is not None else (AEC_ARGS if args.aec_method == "webrtc" else "")
    from voicecoach.cli.compose import build_recognizer, build_speaker, vocabulary_for
    from voicecoach.content.loader import load_library
    from voicecoach.settings.schema import ListeningSettings, Settings
    files = sorted(HUMAN.glob("*.wav"))[: args.words]
    pulse = PrivatePulse()  # the program's voice needs a loudspeaker to be built
    pulse.start()
    pulse.use_here()
    try:
        speaker = build_speaker(Settings().speech, None)
        pcm, rate = b"".join(speaker.pcm_for(s) for s in SENTENCES * 3), speaker.loudspeaker.rate
        speaker.loudspeaker.close()
    finally:
        pulse.stop()
    coach_wav = Path(tempfile.mkstemp(suffix=".wav")[1])
    with wave.open(str(coach_wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    recognizer = build_recognizer(vocabulary_for(load_library()), ListeningSettings())
    wanted = args.conditions.split(",")
    conditions = [c for c in [("quiet", None), ("no echo", None)] if c[0] in wanted]
    if "echo" in wanted:
        conditions += [(f"echo {g:+g} dB", float(g)) for g in map(float, args.echo_db.split(","))]
    print(f"$ PYTHONPATH=$PWD .venv/bin/python scripts/measure_double_talk.py {' '.join(sys.argv[1:])}")
    print(f"{'condition':14s} {'stops taken':>12s} {'word gain (median dB)':>22s} {'word / rest (median dB)':>24s}")
    for name, echo_db in conditions:
        rows = judge(recognizer, *record(name, echo_db, files, coach_wav, args.aec_method, aec_args))
        taken = sum(r["intent"] == "stop" for r in rows)
        print(f"{name:14s} {f'{taken}/{len(rows)}':>12s} {np.median([r['gain_db'] for r in rows]):22.1f} "
              f"{np.median([r['word_to_rest_db'] for r in rows]):24.1f}   heard: "
              + ", ".join(repr(r["text"]) for r in rows if r["intent"] != "stop"), flush=True)
    coach_wav.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
