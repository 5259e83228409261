#!/usr/bin/env python3
"""Recognition on real people: recall, substitutions and false accepts per listening context,
grouped by speaker, clean and in kitchen noise, for every engine side by side.

  .venv/bin/python scripts/bench_human.py [--engines whisper,pocketsphinx,peer] [--snr clean,20,10]
      [--per-word N] [--vad webrtc] [--data DIR] [--offvocab DIR] [--json FILE]

Every recording goes through the real listening pipeline (endpointer, VAD, recognizer,
rejection), padded with room noise as a live microphone would deliver it. Expected answers
come from the folder names of ``--data`` (real speakers, ``<speaker>_<n>.wav``): yes/no
(yesno), up/down (movement), zero..nine (pain), stop (every context); every other folder,
and every expected word heard in a context that does not take it, must be rejected. The
coffee orders of ``--offvocab`` must never be taken as anything.

Engines: ``whisper`` (the coach's recognizer: the phrases each context expects scored against
the audio, ``hearing/closed_whisper.py``), ``whisper-today`` (today's engine until 2026-12-07: free
text, plain and prompted, a 10 s then a 30 s window, ``scripts/peers/whisper_free.py``),
``whisper-today-endpointing`` (the same with this morning's endpointer of 2026-12-03),
``pocketsphinx`` (the light fallback), ``peer`` (SpeechRecognition's plain ``recognize_sphinx``
with its default language model, then the same phrase match: the recipe its README suggests).

Also: a continuous noisy recording with answers between stretches of chatter; tightly cut
recordings (no silence before the word); routine names (espeak-ng voices: plumbing, not a
claim about people); latency from end of speech to intent; CPU share while listening to
room noise; peak memory of ``voicecoach hear`` per engine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
import wave
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from benchdata import read_wav, sample_configs, speak, write_wav  # noqa: E402
from noise import add_noise, bed as noise_bed, kitchen  # noqa: E402

from voicecoach.hearing.endpointer import Endpointer, EndpointerConfig  # noqa: E402
from voicecoach.hearing.pipeline import HearingPipeline  # noqa: E402
from voicecoach.content.loader import load_library  # noqa: E402
from voicecoach.content.vocabulary import NUMBER_WORDS, Vocabulary  # noqa: E402
from voicecoach.hearing.closed_whisper import WINDOW_S  # noqa: E402

SHARED = HERE.parents[1] / "shared" / "data"
CONTEXTS = ["yesno", "rating", "exercise", "pain", "location", "movement", "menu"]
#: folder name -> the intent it says (folders not here are words to reject everywhere)
EXPECTED = {"yes": "yes", "no": "no", "stop": "stop", "up": "moved:up", "down": "moved:down",
            **{w: f"score:{i}" for i, w in enumerate(NUMBER_WORDS[:11])}}
LEAD_S, TAIL_S = 0.6, 0.8  # room noise around each recording, as a live stream has it (s)
HEAR_PAD_S = (0.3, 0.5)  # silence `voicecoach hear` adds before and after a file (s)
ROOM_DBFS = -60.0  # the quiet room's own noise when no kitchen noise is mixed in


def pcm_of(x: np.ndarray) -> bytes:
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


def room(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n) * 32768 * 10 ** (ROOM_DBFS / 20)


def speaker_of(path: Path) -> str:
    return path.stem.rsplit("_", 1)[0]


# ---------------------------------------------------------------------- engines
def model_args(args) -> dict:
    """Another Whisper model folder (``--model DIR``), its sha256 read from ``DIR/model.bin.sha256``."""
    if not args.model:
        return {}
    folder = Path(args.model)
    return {"folder": folder, "sha256": (folder / "model.bin.sha256").read_text().split()[0]}


def make_engine(name: str, vocab: Vocabulary, args):
    if name == "whisper":  # the coach's recognizer: the context's phrases scored (closed_whisper.py)
        from voicecoach.hearing.closed_whisper import ClosedRecognizer, ClosedScorer, thresholds_for
        from voicecoach.hearing.whisper import WhisperTranscriber
        tr = WhisperTranscriber(threads=args.threads, **model_args(args))
        return ClosedRecognizer(vocab, ClosedScorer(vocab, tr, window_s=args.window), thresholds_for(3, args.min_score))
    if name == "whisper-views":  # an experiment: the evidence averaged over views (peers/whisper_views.py)
        from peers.whisper_views import ViewsScorer
        from voicecoach.hearing.closed_whisper import ClosedRecognizer, thresholds_for
        from voicecoach.hearing.whisper import WhisperTranscriber
        tr = WhisperTranscriber(threads=args.threads, **model_args(args))
        scorer = ViewsScorer(vocab, tr, window_s=args.window, views=args.views.split(","))
        return ClosedRecognizer(vocab, scorer, thresholds_for(3, args.min_score))
    if name in ("whisper-today", "whisper-today-endpointing"):
        # today's engine (until 2026-12-07): free text, plain and prompted, 10 s then 30 s window
        # (scripts/peers/whisper_free.py); -endpointing: also this morning's endpointer (every
        # frame 6 dB over the floor, 5 of 8 to start, no early end for an answer)
        from peers.whisper_free import WhisperRecognizer
        from voicecoach.hearing.whisper import WhisperTranscriber
        rec = WhisperRecognizer(vocab, WhisperTranscriber(threads=args.threads, **model_args(args)))
        if name.endswith("endpointing"):
            rec.endpointing = EndpointerConfig(margin_db=6.0, peak_db=6.0, start_frames=5, answer_end_s=9.0)
        return rec
    if name == "pocketsphinx":
        from voicecoach.hearing.endpointer import config_for
        from voicecoach.hearing.pocketsphinx import PhraseRecognizer
        rec = PhraseRecognizer(vocab)
        rec.endpointing = config_for("pocketsphinx")  # its strict gate, as compose.build_pipeline wires it
        return rec
    if name == "peer":
        return PeerRecognizer(vocab)
    raise SystemExit(f"unknown engine {name!r}")


class PeerRecognizer:
    """SpeechRecognition's recognize_sphinx (default LM), then the exact phrase match. Its
    transcript does not depend on the context, so it is kept per recording."""

    engine, streaming = "peer", False

    def __init__(self, vocab: Vocabulary):
        from peers.sr_speechrecognition import PlainSphinx
        self.plain, self.vocab, self.cache = PlainSphinx(vocab), vocab, {}

    def recognize(self, pcm: bytes, context: str, too_long: bool = False):
        from voicecoach.hearing.recognizer import Recognition, understand
        t0 = time.perf_counter()
        if too_long:
            return Recognition("", None, 0.0, 0.0, 0.0, "too long", self.engine)
        key = hash(pcm)
        if key not in self.cache:
            self.cache[key] = self.plain.transcribe(pcm)
        intent, reason = understand(self.vocab, self.cache[key], context)
        return Recognition(self.cache[key], intent, 0.0, 0.0, (time.perf_counter() - t0) * 1000, reason, "peer")


def make_vad(kind: str):
    if kind == "silero":
        from peers.vad_silero import SileroVad
        return SileroVad()
    from voicecoach.hearing.pocketsphinx import make_vad as webrtc
    return webrtc()


ENDPOINTER = EndpointerConfig()


def hear(engine, pcm: bytes, context: str, vad: str):
    return HearingPipeline(Endpointer(make_vad(vad), getattr(engine, "endpointing", ENDPOINTER)), engine,
                           context).hear_all(pcm)


# ---------------------------------------------------------------------- data
def items(data: Path, per_word: int | None, seed: int) -> list[tuple[str, Path]]:
    """(folder, file) for every recording (or ``per_word`` per folder, spread over speakers)."""
    rng = random.Random(seed)
    out = []
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.wav"))
        if per_word and len(files) > per_word:
            files = sorted(rng.sample(files, per_word))
        out += [(folder.name, f) for f in files]
    return out


def padded(path: Path, snr: float | None, bed: np.ndarray, k: int, lead_s: float = LEAD_S) -> bytes:
    x = read_wav(path)
    x = np.concatenate([np.zeros(int(lead_s * 16000)), x, np.zeros(int(TAIL_S * 16000))])
    x = x + room(len(x), k)
    return pcm_of(add_noise(x, bed, snr, offset=k * 7919))


# ---------------------------------------------------------------------- scoring
class Tally:
    """Counts for one engine, SNR and context, and per speaker."""

    def __init__(self):
        self.n = self.ok = self.sub = self.rej_n = self.fa = self.oov_n = self.oov_fa = 0
        self.by_speaker: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.examples: list[str] = []
        self.missed: dict[str, int] = defaultdict(int)  # why an expected answer was not heard
        self.missed_examples: list[str] = []
        # refused but asked about ("Did you say five?", taken only on a heard yes): the answer
        # said, another answer, and other words or coffee orders that would be asked about
        self.asked_right = self.asked_wrong = self.asked_other = 0

    def add(self, expected: str | None, got: list[str], speaker: str, label: str, oov: bool = False,
            reasons: tuple[str, ...] = (), guesses: tuple[str, ...] = ()) -> None:
        guess = guesses[-1] if guesses and not got else None  # the coach asks about the last one
        if guess is not None:
            if expected is None or oov:
                self.asked_other += 1
            elif guess == expected:
                self.asked_right += 1
            else:
                self.asked_wrong += 1
                self.examples.append(f"{label}: asked about {guess}")
        if oov:
            self.oov_n += 1
            self.oov_fa += bool(got)
            if got:
                self.examples.append(f"coffee {label} -> {got}")
        elif expected is None:
            self.rej_n += 1
            self.fa += bool(got)
            if got:
                self.examples.append(f"{label} -> {got}")
        else:
            self.n += 1
            right = got == [expected]
            self.ok += right
            if not got:
                self.missed[", ".join(reasons) or "no speech found"] += 1
                self.missed_examples.append(f"{label}: {', '.join(reasons) or 'no speech found'}")
            self.sub += any(g != expected for g in got)
            if any(g != expected for g in got):
                self.examples.append(f"{label} -> {got} (substitution)")
            s = self.by_speaker[speaker]
            s[0] += right
            s[1] += 1

    def speaker_recall(self) -> tuple[float, float, int]:
        """Mean of the speakers' recall, its 10th percentile, and speakers below 80%."""
        rates = [ok / n for ok, n in self.by_speaker.values() if n]
        if not rates:
            return float("nan"), float("nan"), 0
        return float(np.mean(rates)), float(np.percentile(rates, 10)), sum(r < 0.8 for r in rates)


def pct(a: int, b: int) -> str:
    return f"{a / b:6.1%}" if b else "    - "


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default="whisper,pocketsphinx,peer")
    ap.add_argument("--snr", default="clean,20,10", help="noise SNRs in dB, 'clean' for none")
    ap.add_argument("--noise", default="kitchen", choices=("kitchen", "recorded"),
                    help="noise bed: synthetic kitchen, or recorded music and a person talking (noise.py)")
    ap.add_argument("--contexts", default=",".join(CONTEXTS))
    ap.add_argument("--per-word", type=int, default=None, help="recordings per word folder (default: all)")
    ap.add_argument("--peer-per-word", type=int, default=12, help="the peer is slow: recordings per folder for it")
    ap.add_argument("--vad", default="webrtc", choices=("webrtc", "silero"))
    ap.add_argument("--margin-db", type=float, default=ENDPOINTER.margin_db,
                    help="endpointer: speech must be this far over the noise floor (dB)")
    ap.add_argument("--peak-db", type=float, default=ENDPOINTER.peak_db,
                    help="endpointer: a start needs a frame this far over the noise floor (dB)")
    ap.add_argument("--start-frames", type=int, default=ENDPOINTER.start_frames,
                    help="endpointer: speech frames of the last 8 that start an utterance")
    ap.add_argument("--answer-end-s", type=float, default=ENDPOINTER.answer_end_s,
                    help="endpointer: quiet after which an answer already understood ends the utterance (s)")
    ap.add_argument("--data", type=Path, default=SHARED / "human_dev")
    ap.add_argument("--offvocab", type=Path, default=SHARED / "offvocab_dev")
    ap.add_argument("--window", type=float, default=WINDOW_S,
                    help="whisper: the encoder's window (s; default: the program's)")
    ap.add_argument("--views", default="gain-6", help="whisper-views: the views averaged with the audio "
                    "(scripts/peers/whisper_views.py)")
    ap.add_argument("--threads", type=int, default=2, help="Whisper's CPU threads")
    ap.add_argument("--model", help="whisper engines: another CTranslate2 Whisper folder (model.bin, "
                    "tokenizer.json, config.json, model.bin.sha256)")
    ap.add_argument("--min-score", type=float, default=None,
                    help="whisper: the log-probability an intent needs (nat; default: the shipped threshold)")
    ap.add_argument("--cache", type=Path, default=Path("bench-out/human"))
    ap.add_argument("--skip", default="", help="sections to skip: alone,continuous,tight,names,resources")
    ap.add_argument("--noise-seconds", type=float, default=120.0, help="alone: seconds of noise with nobody speaking")
    ap.add_argument("--missed", type=int, default=0, help="missed answers to list per row (transcript, reason)")
    ap.add_argument("--examples", type=int, default=6, help="false accepts and substitutions to list per row")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    ENDPOINTER.margin_db = args.margin_db
    ENDPOINTER.peak_db = max(args.margin_db, args.peak_db)
    ENDPOINTER.start_frames = args.start_frames
    ENDPOINTER.answer_end_s = args.answer_end_s
    contexts = args.contexts.split(",")
    snrs = [None if s == "clean" else float(s) for s in args.snr.split(",") if s]
    bed = noise_bed(args.noise, 120, args.cache)

    lib = load_library(include_user=False)
    vocab = Vocabulary.load().with_routines(lib.spoken_names())
    recordings = items(args.data, args.per_word, args.seed)
    coffee = sorted(args.offvocab.glob("*.wav"))
    speakers = {speaker_of(f) for _, f in recordings}
    print(f"{len(recordings)} recordings of {len(speakers)} speakers ({args.data}), {len(coffee)} coffee orders; "
          f"VAD {args.vad}, energy gate {args.margin_db:g} dB over the floor (a start {ENDPOINTER.peak_db:g} dB, "
          f"{ENDPOINTER.start_frames} of 8 frames; an answer ends after {ENDPOINTER.answer_end_s:g} s of quiet); "
          f"{args.noise} noise at {args.snr}")
    results: dict = {}
    latencies: dict[str, list[float]] = defaultdict(list)
    answered: dict[str, list[float]] = defaultdict(list)  # of the utterances taken as an answer

    for name in args.engines.split(","):
        t_load = time.perf_counter()
        engine = make_engine(name, vocab, args)
        print(f"\n=== {name} (loaded in {time.perf_counter() - t_load:.1f} s) ===")
        subset = recordings
        if name == "peer" and args.peer_per_word:
            subset = items(args.data, args.peer_per_word, args.seed)
        t_run, cpu_run = time.perf_counter(), time.process_time()
        for snr in snrs:
            label = "clean" if snr is None else f"{snr:.0f} dB"
            tallies = {c: Tally() for c in contexts}
            for k, (word, path) in enumerate(subset + [("_coffee", f) for f in coffee]):
                pcm = padded(path, snr, bed, k)
                # the context that expects the word first: its latency is the one a person
                # answering there waits (later contexts reuse the encoding of the same audio)
                order = sorted(contexts, key=lambda c: EXPECTED.get(word) not in vocab.intents_for(c))
                for context in order:
                    heard = hear(engine, pcm, context, args.vad)
                    got = [h.intent for h in heard if h.intent]
                    if context == order[0]:
                        latencies[name] += [h.latency_ms for h in heard if h.reason != "too long"]
                        answered[name] += [h.latency_ms for h in heard if h.intent]
                    expected = EXPECTED.get(word)
                    if expected not in vocab.intents_for(context):
                        expected = None
                    texts = "/".join(h.text for h in heard)
                    answers = vocab.answers_for(context)  # a guessed command is never asked about
                    tallies[context].add(expected, got, speaker_of(path), f"{word}/{path.stem} \"{texts}\"",
                                         oov=word == "_coffee", reasons=tuple(h.reason for h in heard),
                                         guesses=tuple(h.guess for h in heard if h.guess in answers))
            print(f"\n{name}, {label}: {len(subset)} recordings + {len(coffee)} coffee orders")
            print(f"{'context':<9} {'recall':>7} {'speakers':>8} {'p10':>6} {'<80%':>4} {'subst':>5} "
                  f"{'false acc.':>14} {'coffee':>6}")
            for context, t in tallies.items():
                mean, p10, low = t.speaker_recall()
                rec = f"{pct(t.ok, t.n)} {mean:8.1%} {p10:6.1%} {low:4d}" if t.n else f"{'-':>7} {'-':>8} {'-':>6} {'-':>4}"
                print(f"{context:<9} {rec} {t.sub:5d} {t.fa:5d}/{t.rej_n:<4d}{pct(t.fa, t.rej_n)} {t.oov_fa:3d}/{t.oov_n}")
                if t.asked_right or t.asked_wrong or t.asked_other:
                    print(f"{'':11}asked \"did you say ...?\": {t.asked_right} right ({pct(t.ok + t.asked_right, t.n).strip()}"
                          f" with a yes), {t.asked_wrong} wrong, {t.asked_other} of {t.rej_n + t.oov_n} other words "
                          "and coffee orders")
                for e in t.examples[: args.examples]:
                    print(f"{'':11}{e}")
                if t.missed and args.examples:
                    why = sorted(t.missed.items(), key=lambda kv: -kv[1])[:4]
                    print(f"{'':11}missed: " + "; ".join(f"{r} {n}" for r, n in why))
                for e in t.missed_examples[: args.missed]:
                    print(f"{'':11}missed {e}")
                results[f"{name}|{label}|{context}"] = {k: v for k, v in vars(t).items()
                                                       if k not in ("by_speaker", "examples", "missed", "missed_examples")}
            all_n = sum(t.n for t in tallies.values())
            all_ok = sum(t.ok for t in tallies.values())
            all_fa = sum(t.fa for t in tallies.values())
            all_rej = sum(t.rej_n for t in tallies.values())
            print(f"{'all':<9} {pct(all_ok, all_n)} {'':>20} {sum(t.sub for t in tallies.values()):5d} "
                  f"{all_fa:5d}/{all_rej:<4d}{pct(all_fa, all_rej)} {sum(t.oov_fa for t in tallies.values()):3d}")
            asked = [sum(getattr(t, k) for t in tallies.values()) for k in ("asked_right", "asked_wrong", "asked_other")]
            if any(asked):
                print(f"{'':11}with \"did you say ...?\" answered yes: {pct(all_ok + asked[0], all_n).strip()}; asked "
                      f"about another answer {asked[1]}, about other words and coffee {asked[2]} of "
                      f"{all_rej + sum(t.oov_n for t in tallies.values())}")
        wall = time.perf_counter() - t_run
        print(f"({name}: {wall:.0f} s, {time.process_time() - cpu_run:.0f} s of CPU)")
        lat = np.array(latencies[name] or [np.nan])
        print(f"{name}: end of speech -> intent (or refusal) over {len(latencies[name])} utterances: "
              f"p50 {np.nanpercentile(lat, 50):.0f} ms, p95 {np.nanpercentile(lat, 95):.0f} ms")
        ans = np.array(answered[name] or [np.nan])
        print(f"{name}: end of speech -> intent, the {len(answered[name])} taken as an answer: "
              f"p50 {np.nanpercentile(ans, 50):.0f} ms, p95 {np.nanpercentile(ans, 95):.0f} ms")
        if "alone" not in skip:
            noise_alone(engine, name, recordings, bed, args)
        if "continuous" not in skip:
            continuous(engine, name, recordings, coffee, bed, args)
        if "tight" not in skip:
            tight(engine, name, recordings, args)
        if "names" not in skip and name != "peer":
            routine_names(name, args)

    if "resources" not in skip:
        resources(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


# ---------------------------------------------------------------------- sections
def continuous(engine, name: str, recordings, coffee, bed, args) -> None:
    """One long noisy recording: chatter (coffee orders), then an answer, then chatter... Every
    answer must be heard as itself, and nothing else may be taken as an answer."""
    rng = random.Random(args.seed)
    plan = [(w, f) for w, f in recordings if w in ("yes", "no") or w in NUMBER_WORDS[:10]]
    plan = rng.sample(plan, min(40, len(plan)))
    for snr in (20.0, 10.0):
        heard_ok = missed = invented = 0
        for k, (word, path) in enumerate(plan):
            context = "yesno" if word in ("yes", "no") else "pain"
            chatter = read_wav(coffee[k % len(coffee)])
            answer = read_wav(path)
            gap = np.zeros(int(rng.uniform(0.6, 1.2) * 16000))
            x = np.concatenate([np.zeros(8000), chatter, gap, answer, gap, read_wav(coffee[(k + 7) % len(coffee)]),
                                np.zeros(8000)])
            x = add_noise(x + room(len(x), k), bed, snr, offset=k * 104729)
            got = [h.intent for h in hear(engine, pcm_of(x), context, args.vad) if h.intent]
            expected = EXPECTED[word]
            heard_ok += expected in got
            missed += expected not in got
            invented += sum(1 for g in got if g != expected) + max(0, got.count(expected) - 1)
        print(f"{name}: continuous chatter-answer-chatter at {snr:.0f} dB {args.noise} noise, {len(plan)} answers: "
              f"heard {heard_ok}, missed {missed}, invented {invented}")


def noise_alone(engine, name: str, recordings, bed, args) -> None:
    """Nobody speaks: the noise bed alone, at the level it had under the words (the median
    speech level of the recordings less the SNR). Every utterance the endpointer starts costs a
    decode; an intent is a false accept; a refusal that is not a room sound (``ROOM_SOUNDS``:
    the listener ignores those) makes the coach say "Sorry, I didn't catch that" to the room."""
    from voicecoach.hearing.listener import ROOM_SOUNDS
    levels = []
    for _, path in recordings[::7]:
        x = read_wav(path)
        active = x[np.abs(x) > 0.05 * (np.max(np.abs(x)) + 1e-9)]
        levels.append(np.sqrt(np.mean(active ** 2)))
    speech_rms = float(np.median(levels))
    n = int(args.noise_seconds * 16000)
    for snr in (20.0, 10.0):
        x = np.resize(bed, n) * speech_rms / (10 ** (snr / 20)) + room(n, 99)
        for context in ("yesno", "pain"):
            heard = hear(engine, pcm_of(x), context, args.vad)
            fa = sum(1 for h in heard if h.intent)
            sorry = sum(1 for h in heard if not h.intent and h.reason not in ROOM_SOUNDS)
            minutes = args.noise_seconds / 60
            print(f"{name}: {args.noise} noise alone at {snr:.0f} dB under speech, {context}: {len(heard) / minutes:.1f} "
                  f"utterances/min, {fa} false accepts, {sorry / minutes:.1f} 'didn't catch that'/min "
                  f"({[h.text for h in heard if h.intent][:3]})")


def tight(engine, name: str, recordings, args) -> None:
    """Recordings cut right at the word (no silence before it), as a file from `hear` may be."""
    plan = [(w, f) for w, f in recordings if w in EXPECTED][::5]
    ok = 0
    for k, (word, path) in enumerate(plan):
        x = read_wav(path)
        loud = np.flatnonzero(np.abs(x) > 0.1 * np.max(np.abs(x)))
        x = x[max(0, loud[0] - 160):] if len(loud) else x  # start 10 ms before the word
        context = "yesno" if word in ("yes", "no") else "movement" if word in ("up", "down") else \
            "pain" if word in NUMBER_WORDS else "exercise"
        x = np.concatenate([np.zeros(int(HEAR_PAD_S[0] * 16000)), x, np.zeros(int(HEAR_PAD_S[1] * 16000))])
        got = [h.intent for h in hear(engine, pcm_of(x), context, args.vad) if h.intent]
        ok += got == [EXPECTED[word]]
    print(f"{name}: tightly cut recordings (starting 10 ms before the word), padded with silence: "
          f"{ok}/{len(plan)} = {ok / max(1, len(plan)):.1%} heard right")


def routine_names(name: str, args) -> None:
    """Routine names, shipped and added by users, in the menu: espeak-ng voices (plumbing)."""
    extra = {"piriformis": ["piriformis stretch", "piriformis"], "calf-raises": ["calf raises"],
             "hamstring": ["hamstring stretch"], "bridges": ["glute bridges", "bridges"]}
    lib = load_library(include_user=False)
    names = {**lib.spoken_names(), **extra}
    vocab = Vocabulary.load().with_routines(names)
    engine = make_engine(name, vocab, args)
    configs = sample_configs(10_000, args.seed)
    ok = n = 0
    wrong = []
    for rid, spoken in names.items():
        for phrase in spoken + [f"start {spoken[0]}"]:
            for _ in range(2):
                voice, rate, pitch, reverb = next(configs)
                x = speak(phrase, voice, rate, pitch, reverb, args.cache)
                got = [h.intent for h in hear(engine, pcm_of(x + room(len(x), n)), "menu", args.vad) if h.intent]
                n += 1
                ok += got == [f"start:{rid}"]
                if got and got != [f"start:{rid}"]:
                    wrong.append((phrase, got))
    print(f"{name}: routine names in the menu (espeak-ng voices, 4 added by a user): {ok}/{n} = {ok / n:.1%}"
          f"; wrong routine: {len(wrong)} {wrong[:3]}")


def resources(args) -> None:
    """CPU while listening to room noise, and peak memory of `voicecoach hear`, per engine."""
    noise_s = 30.0
    x = add_noise(room(int(noise_s * 16000), 1) + 1.0, kitchen(120, args.cache), 40.0, 0)
    path = args.cache / "room-30s.wav"
    write_wav(path, x)
    sample = sorted((args.data / "yes").glob("*.wav"))[0]
    for name in ("whisper", "pocketsphinx"):
        cmd = [sys.executable, "-c", _RESOURCE_PROBE, name, str(path), str(sample)]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
        print(f"{name}: {out.stdout.strip() or out.stderr.strip()[-300:]}")


_RESOURCE_PROBE = r"""
import resource, sys, time, wave
from voicecoach.cli.compose import build_pipeline, build_recognizer, routines_library, vocabulary_for
from voicecoach.settings.schema import ListeningSettings
name, noise, sample = sys.argv[1:4]
vocab = vocabulary_for(routines_library())
rec = build_recognizer(vocab, ListeningSettings(engine=name))
with wave.open(noise) as w: pcm = w.readframes(w.getnframes())
pipe = build_pipeline(rec); pipe.set_context("yesno")
t = time.process_time()
pipe.hear_all(pcm)
cpu = (time.process_time() - t) / (len(pcm) / 32000)
with wave.open(sample) as w: speech = w.readframes(w.getnframes())
pipe.hear_all(b"\0" * 16000 + speech + b"\0" * 16000)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"listening to room noise takes {cpu:.2%} of one core; peak memory {peak:.0f} MB (after hearing a word)")
"""


if __name__ == "__main__":
    t0 = time.time()
    code = main()
    print(f"\n(benchmark took {time.time() - t0:.0f} s)")
    sys.exit(code)
