"""The Speaker port in voice: synthesize (hibari or espeak-ng, see ``voicecoach.cli.compose.open_synth``),
play through PortAudio.

Playing the samples ourselves means speech can be cut off, the coach knows exactly
when it stopped talking (the listener ignores the microphone until then, so the coach
never hears itself), and repeated sentences (countdown numbers, prompts) come from a
cache. The output stream runs at the engine's rate (24 kHz for hibari, 22050 Hz for
espeak-ng) and the cue sounds are rendered at that rate, so one stream plays both.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from voicecoach.speech import cues


class VoiceSpeaker:
    ECHO_TAIL_S = 0.3  # room echo and buffering after the last sample (s)

    def __init__(self, synth, loudspeaker, cache_size: int = 256, captions=None, cue_sounds: bool = True):
        self.synth = synth
        self.loudspeaker = loudspeaker
        self.cache: OrderedDict[str, bytes] = OrderedDict()
        self.cache_size = cache_size
        self.captions = captions  # a Speaker that shows the text (or None)
        self.cue_sounds = cue_sounds
        self.quiet_from = 0.0  # monotonic time (s) after which the microphone may listen again
        self.last_first_audio_s: float | None = None
        self._cues = {name: cues.load(name, rate=loudspeaker.rate) for name in cues.CUES}
        self.barge_in = None       # a hearing.duplex.BargeIn when the coach may be interrupted, else None
        self.interruption = None   # what barge-in heard over the last sentence (Heard/TalkedOver), once
        self._far: OrderedDict[bytes, bytes] = OrderedDict()  # 16 kHz copies for the echo canceller

    def pcm_for(self, text: str) -> bytes:
        pcm = self.cache.get(text)
        if pcm is not None:
            self.cache.move_to_end(text)
            return pcm
        pcm, rate = _interruptible(self.synth.synthesize, text)
        if rate != self.loudspeaker.rate:
            raise RuntimeError(f"speech at {rate} Hz but the output runs at {self.loudspeaker.rate} Hz")
        self.cache[text] = pcm
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return pcm

    def say(self, text: str) -> None:
        """Speak ``text``; its caption is shown as its first sound is handed to the output, so
        the screen and the voice go together (not a synthesis time ahead). A sentence that
        cannot be played (no voice, a lost loudspeaker) is still shown."""
        shown = self.captions is None

        def show():
            nonlocal shown
            if not shown:
                shown = True
                self.captions.say(text)
        t0 = time.perf_counter()
        try:
            pcm = self.pcm_for(text)
            self._play(pcm, t0, text, on_first=show)
        finally:
            show()

    def cue(self, name: str) -> None:
        if self.cue_sounds and name in self._cues:
            self._play(self._cues[name], time.perf_counter(), "")

    def take_interruption(self):
        """What was said over the last sentence and must be acted on (Heard, TalkedOver), once."""
        event, self.interruption = self.interruption, None
        return event

    def _far_for(self, pcm: bytes) -> bytes:
        from voicecoach.hearing.farend import resample_pcm
        key = pcm[:64] + len(pcm).to_bytes(8, "little")
        far = self._far.get(key)
        if far is None:
            far = self._far[key] = resample_pcm(pcm, self.loudspeaker.rate)
            if len(self._far) > self.cache_size:
                self._far.popitem(last=False)
        return far

    def _play(self, pcm: bytes, t0: float, text: str, on_first=None) -> None:
        watch = None
        if self.barge_in is not None:
            watch = self.barge_in.watch(self._far_for(pcm), text, self.loudspeaker)
            ratio = 16000 / self.loudspeaker.rate
            self.loudspeaker.on_gain = lambda sample, gain: watch.gain_from(int(sample * ratio), gain)
            # held and resumed chunks are handed to PortAudio now and heard after its latency
            self.loudspeaker.on_hold = lambda sample, held: watch.hold(
                time.monotonic() + self.loudspeaker.latency_s, int(sample * ratio), held)

        def first():
            self.last_first_audio_s = time.perf_counter() - t0
            if on_first is not None:
                on_first()
            if watch is not None:  # played from now plus the output's latency
                watch.started(time.monotonic() + self.loudspeaker.latency_s)
        self.quiet_from = float("inf")
        finished = None
        try:
            finished = self.loudspeaker.play(pcm, on_first_chunk=first)
        finally:
            if watch is not None:
                played = None if finished is not False else int(self.loudspeaker.played * 16000 / self.loudspeaker.rate)
                watch.ended(played)
                self.interruption = watch.result().event
                self.loudspeaker.on_gain = self.loudspeaker.on_hold = None
            self.quiet_from = time.monotonic() + self.loudspeaker.latency_s + self.ECHO_TAIL_S

    def stop(self) -> None:
        """Cut off speech in progress (from another thread)."""
        self.loudspeaker.stop()


def _interruptible(work, *args):
    """``work(*args)`` on a helper thread, waited for in short steps: a long synthesis runs in
    native code, where Ctrl-C would wait for it to finish; here it stops the coach at once
    (the helper's result is then dropped)."""
    result: list = []
    failure: list[BaseException] = []

    def run():
        try:
            result.append(work(*args))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="synthesis", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.05)
    if failure:
        raise failure[0]
    return result[0]
