"""`hear FILE...`: WAV files through the live listening pipeline, what it heard and when."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from voicecoach.cli.compose import build_pipeline, build_recognizer, routines_library, settings_for, vocabulary_for


def cmd_hear(args) -> int:
    """Each WAV file streamed (constant memory) through the live pipeline; a file that is
    not audio is reported in one line and the others still run."""
    from voicecoach.hearing.wavfile import NotAudio, stream_pcm16k
    from voicecoach.hearing.endpointer import FRAME_BYTES
    lib = routines_library(args.routines)
    vocabulary = vocabulary_for(lib)
    recognizer = build_recognizer(vocabulary, settings_for(args, lib).listening, args.threshold)
    status = 0
    for path in args.files:
        try:
            chunks = stream_pcm16k(str(path))
        except NotAudio as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
            continue
        pipeline = build_pipeline(recognizer)
        pipeline.set_context(args.listen_for)
        found = 0
        rest = b""
        for chunk in chunks:
            rest += chunk
            usable = len(rest) // FRAME_BYTES * FRAME_BYTES
            for i in range(0, usable, FRAME_BYTES):
                if (h := pipeline.push(rest[i:i + FRAME_BYTES])) is not None:
                    found += 1
                    _print_heard(args, path, h)
            rest = rest[usable:]
        if (h := pipeline.flush()) is not None:
            found += 1
            _print_heard(args, path, h)
        if not found and not args.json:
            print(f"{path}: no speech detected")
    return status


def _print_heard(args, path, h) -> None:
    from voicecoach.hearing.wavfile import PAD_BEFORE_S
    # times in the file, not in the padded stream
    h = replace(h, start_s=max(0.0, h.start_s - PAD_BEFORE_S), end_s=max(0.0, h.end_s - PAD_BEFORE_S))
    if args.json:
        print(json.dumps({"file": str(path), "start_s": round(h.start_s, 2), "end_s": round(h.end_s, 2),
                          "engine": h.engine, "intent": h.intent, "text": h.text,
                          "confidence": round(h.confidence, 4), "decode_ms": round(h.decode_ms, 1),
                          "latency_ms": round(h.latency_ms, 1),
                          # why it was refused ("accepted" if not), and the engine's second score
                          "reason": h.reason,
                          # refused, but the coach would ask "Did you say ...?" about this intent
                          "guess": h.guess,
                          "margin": None if h.margin == float("inf") else round(h.margin, 4)}), flush=True)
    else:
        what = h.intent or f"(rejected: {h.reason}{', ask: ' + h.guess + '?' if h.guess else ''})"
        print(f"{path}  {h.start_s:6.2f}-{h.end_s:6.2f}s  {what:<22} \"{h.text}\"  "
              f"confidence {h.confidence:.3f}  {h.decode_ms:.0f} ms", flush=True)
