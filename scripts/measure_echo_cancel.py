#!/usr/bin/env python3
"""How much of the coach's own voice each echo canceller removes through a real PulseAudio
echo path: (a) the program's own WebRTC AEC3 (``hearing/echo.py``, fed the far end as
``hearing/duplex.py`` does), (b) PulseAudio's ``module-echo-cancel aec_method=webrtc``
between the null sink and the pipe-source microphone.

  PYTHONPATH=$PWD .venv/bin/python scripts/measure_echo_cancel.py [--modes app,pulse]
      [--gains 0,6] [--delays 30,60,90,120] [--per 2] [--aec-args "..."] [--engine espeak]

The private PulseAudio and the echo path are those of ``scripts/bench_bargein.py`` (the null
sink's monitor recorded with parec, fed back into the pipe-source microphone delayed, at a
gain relative to the person, with RT60 0.3 s reverberation, -60 dBFS room noise). Nobody
speaks: everything after the canceller is residual echo (and the room noise). For each
sentence, echo removed = microphone level before the canceller minus after it, over the
sentence (dB; the same measure as the benchmark's). Before: ``parec`` on the pipe source
(both modes; in (a) also the program's own microphone frames). After: (a) AEC3's output,
(b) the echo-cancel source read by the program's PortAudio microphone. Whisper is not
loaded (only the canceller and the audio run), so this is the canceller alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.echo_path import EchoPathMic, Parec  # noqa: E402
from tests.support.pulse_daemon import PrivatePulse  # noqa: E402
from voicecoach.devices.pulse_echo import AEC_ARGS  # noqa: E402

SENTENCES = [
    "Lie on your back with both knees bent and your feet flat on the floor, and let your arms rest by your sides while you breathe slowly.",
    "Now gently bring one knee towards your chest, holding it with both hands behind the thigh, and keep your other foot resting on the floor.",
    "Keep breathing slowly and let your lower back sink into the floor; there is no need to pull hard, a gentle stretch is all we want here.",
    "Roll slowly onto your stomach, rest your forehead on your hands, and let your whole body go heavy against the floor for a few breaths.",
]


def dbfs(x: np.ndarray) -> float:
    return 20 * math.log10(max(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0, 1.0) / 32768)


class NoHearing:
    """A hearing pipeline that hears nothing: only the canceller runs (no Whisper)."""

    class _Ep:
        _quiet_needed = 0
        t = 0.0  # stream time (s): nothing is heard, so it never moves

    in_speech = False
    endpointer = _Ep()

    def push(self, frame):
        return None

    def reset(self):
        pass

    def set_context(self, context):
        pass


class PassThrough:
    name = "pass-through"

    def process(self, near: bytes, far: bytes) -> bytes:
        return near

    def reset(self) -> None:
        pass


def pactl(env, *args) -> str:
    return subprocess.run(["pactl", *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def cpu_s(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_mode(mode: str, args, pulse: PrivatePulse, echo: EchoPathMic) -> list[dict]:
    from voicecoach.cli.compose import build_speaker
    from voicecoach.devices.portaudio import Microphone
    from voicecoach.hearing.duplex import BargeIn
    from voicecoach.hearing.echo import WebRtcEchoCanceller
    from voicecoach.settings.schema import Settings
    env = pulse.env
    module = None
    if mode == "pulse":
        module = pactl(env, "load-module", "module-echo-cancel", f"aec_method={args.aec_method}", "source_master=coach_mic",
                       "sink_master=coach_speaker", "source_name=coach_ec_mic", "sink_name=coach_ec_speaker",
                       f'aec_args="{args.aec_args}"', *args.ec_extra.split())
        pactl(env, "set-default-sink", "coach_ec_speaker")
        pactl(env, "set-default-source", "coach_ec_mic")
    else:
        pactl(env, "set-default-sink", "coach_speaker")
        pactl(env, "set-default-source", "coach_mic")
    settings = Settings()
    if args.engine:
        settings.speech.engine = args.engine
    speaker = build_speaker(settings.speech, None)
    mic = Microphone(None)
    raw = Parec("coach_mic", env)
    canceller = WebRtcEchoCanceller() if mode == "app" else PassThrough()
    barge = BargeIn(mic, canceller, NoHearing())
    speaker.barge_in = barge
    for s in SENTENCES:
        speaker.pcm_for(s)
    rows = []
    pid = pulse.pid()
    try:
        i = 0
        for gain in args.gains:
            for delay in args.delays:
                echo.set_path(delay, gain)
                for _ in range(args.per):
                    sentence = SENTENCES[i % len(SENTENCES)]
                    c0, p0, w0 = cpu_s(pid), time.process_time(), time.monotonic()
                    e0, s0 = echo.echo_frames, echo.starved_frames
                    speaker.say(sentence)
                    c1, p1, w1 = cpu_s(pid), time.process_time(), time.monotonic()
                    last = barge.last
                    before = raw.window(w0 + 0.3, w1)  # the sentence's echo as the microphone hears it
                    row = {"mode": mode, "i": i, "delay_ms": delay, "gain_db": gain,
                           "raw_db": round(dbfs(before), 1), "near_db": round(last.near_db, 1),
                           "clean_db": round(last.clean_db, 1), "tracked_delay_ms": round(barge.tracker.delay_s * 1000),
                           "pulse_cpu": round((c1 - c0) / (w1 - w0), 3), "app_cpu": round((p1 - p0) / (w1 - w0), 3),
                           # share of the echo's frames with a gap (the monitor's sound came too late for delay_ms)
                           "echo_gaps": round((echo.starved_frames - s0) / max(1, echo.echo_frames - e0), 3)}
                    # removed: before the canceller (parec on the pipe source) minus after it
                    row["removed_db"] = round(row["raw_db"] - row["clean_db"], 1)
                    if mode == "app":
                        row["removed_inapp_db"] = round(row["near_db"] - row["clean_db"], 1)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    i += 1
                    time.sleep(0.3)
    finally:
        speaker.barge_in = None
        raw.close()
        mic.close()
        speaker.loudspeaker.close()
        if module:
            pactl(env, "unload-module", module)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="app,pulse")
    ap.add_argument("--gains", default="0,6")
    ap.add_argument("--delays", default="30,60,90,120")
    ap.add_argument("--per", type=int, default=2, help="sentences per delay and gain")
    ap.add_argument("--aec-method", default="webrtc", help="module-echo-cancel aec_method (webrtc, speex)")
    ap.add_argument("--aec-args", default=AEC_ARGS, help="module-echo-cancel aec_args (default: the program's)")
    ap.add_argument("--ec-extra", default="rate=16000 channels=1", help="more module-echo-cancel arguments")
    ap.add_argument("--engine", default=None, help="voice engine (default: the program's, hibari)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench-out" / "echo_cancel.json")
    args = ap.parse_args()
    args.gains = [float(g) for g in args.gains.split(",")]
    args.delays = [float(d) for d in args.delays.split(",")]
    command = "PYTHONPATH=$PWD .venv/bin/python scripts/measure_echo_cancel.py " + " ".join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    pulse = PrivatePulse()
    pulse.start()
    pulse.use_here()
    echo = None
    results = {}
    try:
        echo = EchoPathMic(pulse.fifo, pulse.env, delay_ms=60, gain_db=0)
        for mode in args.modes.split(","):
            results[mode] = run_mode(mode, args, pulse, echo)
    finally:
        if echo is not None:
            echo.close()
        pulse.stop()
    print(f"\n$ {command}")
    for mode, rows in results.items():
        removed = [r["removed_db"] for r in rows]
        first, rest = removed[:1], removed[1:]
        print(f"{mode:6s}: echo removed median {np.median(removed):.1f} dB [min {min(removed):.1f}, max {max(removed):.1f}]"
              f" first sentence {first[0]:.1f}, later median {np.median(rest) if rest else float('nan'):.1f};"
              f" by gain " + ", ".join(f"{g:+g} dB: {np.median([r['removed_db'] for r in rows if r['gain_db'] == g]):.1f}"
                                       for g in args.gains)
              + f"; CPU pulseaudio {np.median([r['pulse_cpu'] for r in rows]):.1%}, program {np.median([r['app_cpu'] for r in rows]):.1%}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"command": command, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
