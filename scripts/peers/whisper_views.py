"""An experiment for ``scripts/bench_human.py --engines whisper-views``: the coach's closed
recognizer (``hearing/closed_whisper.py``) whose evidence is averaged over several views of the
same utterance (test-time augmentation), not shipped.

Each borderline answer flips either way with small changes of its input (README, Benchmarks:
"each change of the input flips a few borderline answers either way"). Averaging the
log-probabilities over a few views (the audio as heard, plus e.g. 6 dB quieter, 5 ms later,
5 % faster) is the usual way to make such a score steadier. Here the original view decides
*which* forms are scored and what the free text is; every view then scores the same forms and
the same free text (forced decoding), and the decision (``closed_whisper.judge``, thresholds
unchanged) sees the mean over views of every log-probability: the forms' scores and ends, the
first-token bounds, the free text's log-probability and the no-speech probability.

Views (``--views``, comma separated): ``gain-6`` (dB), ``shift5`` (ms of the room's start
repeated before the audio), ``speed1.05`` (resampled: faster and higher).
"""

from __future__ import annotations

import time

import numpy as np

from voicecoach.hearing.closed_whisper import ClosedScorer


def transform(pcm: bytes, view: str) -> bytes:
    """``pcm`` (16 kHz, 16-bit) as seen by ``view``."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    if view.startswith("gain"):
        x = x * 10 ** (float(view[4:]) / 20)
    elif view.startswith("shift"):
        n = int(float(view[5:]) * 16)
        x = np.concatenate([x[:n], x])
    elif view.startswith("speed"):
        factor = float(view[5:])
        t = np.arange(0, len(x) - 1, factor)
        x = np.interp(t, np.arange(len(x)), x)
    else:
        raise SystemExit(f"unknown view {view!r}")
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


class ViewsScorer(ClosedScorer):
    """:class:`ClosedScorer` whose facts are the mean over ``views`` and the original."""

    def __init__(self, *args, views: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.views = views

    def _encode(self, pcm: bytes):
        """A view's encoding, leaving the transcriber's cache of the audio's own encoding alone
        (the same utterance is judged in other contexts next)."""
        tr = self.transcriber
        kept = dict(tr._last)
        encoded, _ = tr.encode(pcm, self.frames, pad="silence")
        tr._last = kept
        return encoded

    def score(self, pcm: bytes, context: str, shortcut: bool = True, prompted: bool = False, **kw) -> dict:
        t0 = time.perf_counter()
        facts = super().score(pcm, context, shortcut, prompted, **kw)
        if not self.views:
            return facts
        tr = self.transcriber
        tok = tr.tokenizer
        prompt = self.prompts[context] if prompted else None
        free = facts["free"]
        forms = sorted(facts["scores"])
        free_ids = tok.encode(" " + free.text) if free.text else []
        free_lp = free.avg_logprob * (free.tokens + 1)
        sums = {f: [facts["scores"][f]] for f in forms}
        ends = {f: [facts["ends"][f]] for f in forms}
        firsts = {f: [lp] for f, lp in facts["first"].items()}
        free_lps, no_speech = [free_lp], [free.no_speech_prob]
        for view in self.views:
            encoded = self._encode(transform(pcm, view))
            other, first_all = tr.free_decode(encoded, prompt)
            no_speech.append(other.no_speech_prob)
            for f in firsts:
                firsts[f].append(float(first_all[self.ids[f][0]]))
            wanted = [self.ids[f] for f in forms] + ([free_ids] if free_ids else [])
            closers = [self.closers[f] for f in forms] + ([[tok.eot]] if free_ids else [])
            found = tr.phrase_logprobs(encoded, wanted, closers, prompt) if wanted else []
            for f, (words, end) in zip(forms, found):
                sums[f].append(words)
                ends[f].append(end)
            if free_ids:
                words, end = found[-1]
                free_lps.append(words + end)
        tr._prepared = None  # the views' keys and values are not the original's
        mean_free = float(np.mean(free_lps))
        free = type(free)(free.text, mean_free / (free.tokens + 1), float(np.mean(no_speech)), free.tokens,
                          free.decode_ms)
        return {**facts, "free": free,
                "scores": {f: float(np.mean(v)) for f, v in sums.items()},
                "ends": {f: float(np.mean(v)) for f, v in ends.items()},
                "first": {f: float(np.mean(v)) for f, v in firsts.items()},
                "ms": (time.perf_counter() - t0) * 1000}
