#!/usr/bin/env python3
"""Barge-in against a real audio stack: the coach's own voice comes back into its microphone
through an echo path, and a person says "stop", "pain" or "worse" over it.

  PYTHONPATH=$PWD .venv/bin/python scripts/bench_bargein.py [--quick] [--window-s S] [--json FILE]

What runs: a private PulseAudio (null sink = loudspeaker, pipe source = microphone, as the
end-to-end tests use), the program's own speaker (hibari voice, PortAudio loudspeaker),
microphone, listener, Whisper recognizer and barge-in (``attach_barge_in`` of the CLI, with
``listening.barge_in = on``), driven sentence by sentence as the session drives them. The
microphone hears (``tests/support/echo_path.py``) the sink's monitor recorded with parec,
delayed 30-120 ms, at -10 to +6 dB relative to the person, through a synthetic room's
reverberation (RT60 0.3 s), plus room noise at -60 dBFS and the person's word said about
1.2-2.5 s into a long coach sentence.

Words: human "stop" recordings of ``/work/shared/data/human_dev/stop`` (measured only,
nothing tuned on them), and SYNTHETIC espeak-ng voices for "pain" and "worse" (plumbing,
not a claim about people).

Reported side by side, barge-in on vs half duplex (barge_in off), in one run:
- share of interrupting words acted on (the coach was told the right intent),
- time from the end of the word to the loudspeaker falling silent (p50/p95; in half
  duplex the coach falls silent only when its sentence ends),
- echo false accepts per hour of coach speech (coach talking, nobody else, echo path on),
- dB of echo removed (microphone level before vs after the canceller, per sentence),
- how often the coach's own echo lowered or held its voice (nobody speaking).
Half duplex never opens the microphone while the coach talks, so its false accepts are 0 by
construction and are not measured. Writes JSON to bench-out/bargein.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.echo_path import EchoPathMic, Parec, level_dbfs  # noqa: E402
from tests.support.pulse_daemon import PrivatePulse  # noqa: E402

HUMAN = Path("/work/shared/data/human_dev/stop")
DELAYS_MS = (30, 60, 90, 120)
GAINS_DB = (-10, -4, 0, 6)
SENTENCES = [  # long coach sentences, as the routines say them
    "Lie on your back with both knees bent and your feet flat on the floor, and let your arms rest by your sides while you breathe slowly.",
    "Now gently bring one knee towards your chest, holding it with both hands behind the thigh, and keep your other foot resting on the floor.",
    "Keep breathing slowly and let your lower back sink into the floor; there is no need to pull hard, a gentle stretch is all we want here.",
    "Roll slowly onto your stomach, rest your forehead on your hands, and let your whole body go heavy against the floor for a few breaths.",
    "If anything hurts more than before, or the pain spreads down your leg, say stop or pain at any time, and we will stop the exercise together.",
]
ECHO_ONLY = SENTENCES + [
    "Say better, worse, or the same, after you have had a moment to notice how your leg and your back feel right now.",
    "Stop. Pain. Worse. Pause. These are the words you can say while I am talking, and I will stop and listen to you straight away.",
]


def read_wav(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2), path
        return w.readframes(w.getnframes())


def trim(pcm: bytes) -> bytes:
    """The word without the recording's silence around it (frames within 30 dB of the loudest),
    plus 30 ms each side, so "the end of the word" is the end of the voice."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    n = len(x) // 480 * 480
    rms = np.sqrt(np.mean(x[:n].reshape(-1, 480) ** 2, axis=1)) + 1e-3
    loud = np.nonzero(20 * np.log10(rms / rms.max()) > -30)[0]
    lo, hi = max(0, loud[0] - 1), min(len(rms), loud[-1] + 2)
    return x[lo * 480: hi * 480].astype("<i2").tobytes()


def espeak(word: str, voice: str, speed: int) -> bytes:
    from voicecoach.hearing.farend import resample_pcm
    out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", word], capture_output=True,
                         check=True).stdout
    path = Path(tempfile.mkstemp(suffix=".wav")[1])
    path.write_bytes(out)
    try:
        with wave.open(str(path), "rb") as w:
            rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    finally:
        path.unlink()
    return resample_pcm(pcm, rate)


def words(quick: bool, rng: random.Random) -> list[tuple[str, str, bytes, str]]:
    """(intent, source, pcm, label) for every word to say."""
    files = sorted(HUMAN.glob("*.wav"))
    if quick:
        files = rng.sample(files, 10)
    out = [("stop", "human", trim(read_wav(p)), p.name) for p in files]
    voices = ["en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-us+m7", "en-gb-scotland", "en-us+f2", "en-029"]
    for word in ("pain", "worse"):
        for i, voice in enumerate(voices[: 3 if quick else 5]):
            out.append((word, "synthetic espeak-ng", trim(espeak(word, voice, 150 + 15 * (i % 3))), voice))
    return out


class Rig:
    """The program's audio side against the private PulseAudio."""

    def __init__(self, window_s: float | None, canceller: str = "auto"):
        from voicecoach.cli.compose import (attach_barge_in, build_pipeline, build_recognizer, build_speaker,
                                            open_system_echo, vocabulary_for)
        from voicecoach.content.loader import load_library
        from voicecoach.devices.portaudio import Microphone
        from voicecoach.hearing.listener import VoiceListener
        from voicecoach.settings.schema import ListeningSettings, Settings
        self.settings = Settings(listening=ListeningSettings(barge_in="on", echo_canceller=canceller))
        vocabulary = vocabulary_for(load_library())
        self.system_echo, why = open_system_echo(self.settings)  # before the devices open, as the program does
        if why and canceller == "pulseaudio":
            raise SystemExit(f"PulseAudio's echo canceller could not start: {why}")
        self.speaker = build_speaker(self.settings.speech, None)
        self.mic = Microphone(None)
        recognizer = build_recognizer(vocabulary, self.settings.listening)
        if window_s is not None:
            recognizer.scorer.frames = int(window_s * 100)
        self.listener = VoiceListener(self.mic, build_pipeline(recognizer, live=True), self.speaker)
        self.listener.calibrate()
        problem = attach_barge_in(self.settings, self.speaker, self.listener, self.mic, log=False,
                                  system_echo=self.system_echo)
        if problem:
            raise SystemExit(f"barge-in could not start: {problem}")
        self.barge = self.speaker.barge_in
        self.recognizer_name = f"whisper, {recognizer.scorer.frames / 100:g} s window"
        self.canceller_name = self.barge.canceller.name

    def duplex(self, on: bool) -> None:
        self.speaker.barge_in = self.barge if on else None


def run_trial(rig: Rig, echo: EchoPathMic, sentence: str, word: bytes | None, at_s: float,
              raw: Parec | None = None) -> dict:
    """Say ``sentence``; ``at_s`` s after its first sample the person says ``word``."""
    speaker = rig.speaker
    speaker.pcm_for(sentence)  # synthesized before the clock starts
    length_s = len(speaker.pcm_for(sentence)) / 2 / speaker.loudspeaker.rate
    ends_before = len(echo.word_ends)
    start = [None]
    done = threading.Event()

    def talk():
        t = time.monotonic()
        speaker.say(sentence)
        start[0] = t
        done.set()

    t_call = time.monotonic()
    thread = threading.Thread(target=talk, daemon=True)
    thread.start()
    if word is not None:
        time.sleep(at_s + speaker.loudspeaker.latency_s)
        echo.say(word)
    thread.join()
    t_end = time.monotonic()
    event = speaker.take_interruption()
    time.sleep(0.3)  # the monitor's last frames, and the word's end if the sentence stopped early
    while word is not None and len(echo.word_ends) == ends_before and echo.speaking.is_set():
        time.sleep(0.05)
    last = rig.barge.last if speaker.barge_in is not None else None
    row = {"sentence": sentence, "sentence_s": round(length_s, 2), "event": type(event).__name__ if event else None,
           "intent": getattr(event, "intent", None)}
    if last is not None:
        if raw is not None:  # the pipe source itself: before any canceller, also PulseAudio's
            row["raw_db"] = round(level_dbfs(raw.window(t_call + 0.3, t_end)), 1)
        row.update(near_db=round(last.near_db, 1), clean_db=round(last.clean_db, 1),
                   heard=[(h.text, h.intent, h.reason, round(h.confidence, 2), round(h.margin, 2)) for h in last.heard],
                   ducks=last.ducks, holds=last.holds)
    if word is not None and len(echo.word_ends) > ends_before:
        word_end = echo.word_ends[ends_before]
        silent = echo.sound_ends(t_call, time.monotonic())
        # negative: the sentence was over before the word was
        row["to_silence_s"] = None if silent is None else round(silent - word_end, 3)
        row["word_end_in_sentence_s"] = round(word_end - t_call, 2)
    return row


def cpu_s(pid: int | None) -> float:
    """CPU seconds used so far by process ``pid`` (user + system)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values, q):
    return None if not values else float(np.percentile(values, q))


def summarize(rows: list[dict], on: bool) -> dict:
    said = [r for r in rows if r.get("expected")]
    acted = [r for r in said if r["intent"] == r["expected"]]
    wrong = [r for r in said if r["intent"] and r["intent"] != r["expected"]]
    # acted on: time to the coach falling silent; half duplex: it falls silent when its sentence ends
    lat = [r["to_silence_s"] for r in (acted if on else said) if r.get("to_silence_s") is not None]
    by = {}
    for r in said:
        key = f"{r['expected']} ({r['source']})"
        by.setdefault(key, [0, 0])
        by[key][0] += r["intent"] == r["expected"]
        by[key][1] += 1
    refused = [r for r in said if r["intent"] != r["expected"]
               and any(h[1] == r["expected"] for h in r.get("heard", []))]
    return {"said": len(said), "acted": len(acted), "wrong_intent": len(wrong), "decoded_but_refused": len(refused),
            "acted_share": len(acted) / len(said) if said else None,
            "by_word": {k: f"{a}/{n}" for k, (a, n) in by.items()},
            "to_silence_p50_s": pct(lat, 50), "to_silence_p95_s": pct(lat, 95), "latency_n": len(lat)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 human stops, 3+3 synthetic, a short echo-only run")
    ap.add_argument("--window-s", type=float, default=None,
                    help="Whisper window (s) for the listener and barge-in; default: the program's own (closed_whisper.WINDOW_S)")
    ap.add_argument("--half-duplex-words", type=int, default=None, help="words said in half duplex (default 8, quick 4)")
    ap.add_argument("--echo-minutes", type=float, default=None, help="coach speech with nobody speaking (default 1.5, quick 0.5)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--canceller", choices=("auto", "pulseaudio", "webrtc"), default="auto",
                    help="listening.echo_canceller: PulseAudio's module-echo-cancel or the program's AEC3")
    ap.add_argument("--open", action="store_true",
                    help="act on every interrupting answer the recognizer accepts as in silence, and record the "
                         "evidence: scripts/calibrate_bargein.py chooses the thresholds from such a run")
    ap.add_argument("--hold-db", type=float, default=None,
                    help="hold the voice for speech this far over the predicted residue (BargeInConfig.hold_db; "
                         "default: the program's, off)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench-out" / "bargein.json")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    command = "PYTHONPATH=$PWD .venv/bin/python scripts/bench_bargein.py " + " ".join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    t_begin = time.monotonic()
    plan = words(args.quick, rng)
    half_n = args.half_duplex_words if args.half_duplex_words is not None else (4 if args.quick else 8)
    echo_min = args.echo_minutes if args.echo_minutes is not None else (0.5 if args.quick else 1.5)

    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still stops its PulseAudio
    pulse = PrivatePulse()
    pulse.start()
    pulse.use_here()
    echo = rig = raw = None
    try:
        echo = EchoPathMic(pulse.fifo, pulse.env, delay_ms=60, gain_db=0)
        raw = Parec("coach_mic", pulse.env)
        rig = Rig(args.window_s, args.canceller)
        if args.open:
            from calibrate_bargein import AS_IN_SILENCE
            lp, nsp, own = AS_IN_SILENCE
            rig.barge.config = replace(rig.barge.config, min_score=lp, min_margin=nsp, min_score_own_word=own)
        if args.hold_db is not None:
            rig.barge.config = replace(rig.barge.config, hold_db=args.hold_db)
        print(f"[ready in {time.monotonic() - t_begin:.0f} s: {rig.recognizer_name}; {len(plan)} words]", flush=True)
        for s in set(SENTENCES + ECHO_ONLY):
            rig.speaker.pcm_for(s)
        results = {"on": [], "off": [], "echo_only": []}
        # 1. barge-in on: every word over a sentence, echo path cycling through delays and gains
        rig.duplex(True)
        for i, (intent, source, pcm, label) in enumerate(plan):
            delay, gain = DELAYS_MS[i % 4], GAINS_DB[(i // 4) % 4]
            echo.set_path(delay, gain)
            sentence = SENTENCES[i % 4]  # the fifth (it says "stop") is for the echo-only run
            row = run_trial(rig, echo, sentence, pcm, rng.uniform(1.2, 2.5))
            row.update(expected=intent, source=source, file=label, delay_ms=delay, gain_db=gain)
            results["on"].append(row)
            print(f"  on  {intent:5s} {label:22s} {delay:3d} ms {gain:+3d} dB -> {row['intent']!s:6s} "
                  f"silent after {row.get('to_silence_s')} s  heard {row.get('heard')}", flush=True)
        # 2. half duplex: the same kind of word over the same sentences
        rig.duplex(False)
        for i, (intent, source, pcm, label) in enumerate(rng.sample(plan, min(half_n, len(plan)))):
            delay, gain = DELAYS_MS[i % 4], GAINS_DB[(i // 4) % 4]
            echo.set_path(delay, gain)
            row = run_trial(rig, echo, SENTENCES[i % 4], pcm, rng.uniform(1.2, 2.5))
            row.update(expected=intent, source=source, file=label, delay_ms=delay, gain_db=gain)
            results["off"].append(row)
            print(f"  off {intent:5s} {label:22s} -> {row['intent']!s:6s} silent after {row.get('to_silence_s')} s",
                  flush=True)
        # 3. echo only: the coach talks, nobody else, barge-in on
        rig.duplex(True)
        spoken, i = 0.0, 0
        while spoken < echo_min * 60:
            delay, gain = DELAYS_MS[i % 4], GAINS_DB[(i // 4) % 4]
            echo.set_path(delay, gain)
            c0, p0, w0 = cpu_s(pulse.pid()), time.process_time(), time.monotonic()
            row = run_trial(rig, echo, ECHO_ONLY[i % len(ECHO_ONLY)], None, 0, raw)
            wall = time.monotonic() - w0
            row.update(pulse_cpu=(cpu_s(pulse.pid()) - c0) / wall, program_cpu=(time.process_time() - p0) / wall)
            row.update(delay_ms=delay, gain_db=gain)
            results["echo_only"].append(row)
            spoken += row["sentence_s"]
            i += 1
            print(f"  echo {delay:3d} ms {gain:+3d} dB: {row['raw_db']:6.1f} (program's mic {row['near_db']:6.1f}) -> "
                  f"{row['clean_db']:6.1f} dBFS, "
                  f"event {row['event']}, heard {row['heard']}", flush=True)
    finally:
        if raw is not None:
            raw.close()
        if rig is not None and rig.system_echo is not None:
            rig.system_echo.close()
        if echo is not None:
            echo.close()
        pulse.stop()

    on, off = summarize(results["on"], True), summarize(results["off"], False)
    echo_rows = results["echo_only"]
    hours = sum(r["sentence_s"] for r in echo_rows) / 3600
    false_heard = sum(1 for r in echo_rows if r["event"] == "Heard")
    false_talked = sum(1 for r in echo_rows if r["event"] == "TalkedOver")
    # before the canceller (the pipe source, parec) minus after it (what barge-in hears)
    removed = [r["raw_db"] - r["clean_db"] for r in echo_rows]
    echo_summary = {"coach_speech_h": hours, "false_accepts": false_heard, "false_talked_over": false_talked,
                    "false_accepts_per_h": false_heard / hours if hours else None,
                    "decoded_utterances": sum(len(r["heard"]) for r in echo_rows),
                    "ducks": sum(r["ducks"] for r in echo_rows), "holds": sum(r["holds"] for r in echo_rows),
                    "sentences": len(echo_rows),
                    "echo_removed_db_median": pct(removed, 50), "echo_removed_db_min": min(removed, default=None),
                    "echo_removed_db_max": max(removed, default=None),
                    "pulseaudio_cpu": pct([r["pulse_cpu"] for r in echo_rows], 50),
                    "program_cpu": pct([r["program_cpu"] for r in echo_rows], 50)}

    def f(x, fmt="{:.2f}"):
        return "-" if x is None else fmt.format(x)
    print(f"\n$ {command}")
    print(f"echo canceller: {rig.canceller_name}")
    print(f"recognizer: {rig.recognizer_name}; echo path 30-120 ms, -10..+6 dB vs the person, RT60 0.3 s reverb")
    print(f"{'':40s} {'barge-in on':>16s} {'half duplex':>16s}")
    acted_on, acted_off = f"{on['acted']}/{on['said']}", f"{off['acted']}/{off['said']}"
    print(f"{'words acted on (all)':40s} {acted_on:>16s} {acted_off:>16s}")
    for key in sorted(on["by_word"]):
        print(f"{'  ' + key:40s} {on['by_word'][key]:>16s} {off['by_word'].get(key, '-'):>16s}")
    print(f"{'  decoded, refused on the evidence':40s} {on['decoded_but_refused']:>16d} {'-':>16s}")
    print(f"{'wrong intent taken':40s} {on['wrong_intent']:>16d} {off['wrong_intent']:>16d}")
    print(f"{'end of word -> coach silent p50 (s)':40s} {f(on['to_silence_p50_s']):>16s} {f(off['to_silence_p50_s']):>16s}")
    print(f"{'end of word -> coach silent p95 (s)':40s} {f(on['to_silence_p95_s']):>16s} {f(off['to_silence_p95_s']):>16s}")
    fa = f(echo_summary['false_accepts_per_h'], '{:.0f}') + f" ({false_heard} in {hours:.3f} h)"
    print(f"{'echo false accepts / h of coach speech':40s} {fa:>16s} {'0 (mic closed)':>16s}")
    print(f"{'  talked-over prompts from echo':40s} {false_talked:>16d} {'-':>16s}")
    lowered = f"{echo_summary['ducks']} / {echo_summary['holds']} in {len(echo_rows)}"
    print(f"{'  voice lowered / held by its own echo':40s} {lowered:>16s} {'-':>16s}")
    rem = (f(echo_summary['echo_removed_db_median'], '{:.1f}') + ' [' + f(echo_summary['echo_removed_db_min'], '{:.0f}')
           + ', ' + f(echo_summary['echo_removed_db_max'], '{:.0f}') + ']')
    print(f"{'echo removed, median [min, max] (dB)':40s} {rem:>16s} {'-':>16s}")
    cpu = f"{f(echo_summary['pulseaudio_cpu'], '{:.1%}')} / {f(echo_summary['program_cpu'], '{:.0%}')}"
    print(f"{'CPU while talking: pulseaudio / program':40s} {cpu:>16s} {'-':>16s}")
    print("half duplex: the word is dropped; 'silent' is when the sentence ends. pain/worse are SYNTHETIC (espeak-ng).")
    print(f"run took {time.monotonic() - t_begin:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"command": command, "recognizer": rig.recognizer_name, "open": args.open,
                                     "canceller": rig.canceller_name, "on": on, "off": off,
                                     "echo_only": echo_summary, "trials": results}, indent=1, default=str))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
