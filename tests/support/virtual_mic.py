"""Feeds a PulseAudio pipe source in real time: silence (or room noise), plus the
answers a test injects. What is written here is what the coach's microphone hears."""

from __future__ import annotations

import os
import queue
import threading
import time

import numpy as np

RATE = 16000
FRAME = 480  # samples, 30 ms


class VirtualMic:
    def __init__(self, fifo: str, noise_dbfs: float = -60.0):
        self.fifo = fifo
        self.noise = 32768 * 10 ** (noise_dbfs / 20)
        self.pending: queue.Queue[bytes] = queue.Queue()
        self._stop = threading.Event()
        self.speaking = threading.Event()  # before the thread starts: it sets and clears it at once
        self._fd = os.open(fifo, os.O_WRONLY)  # blocks until PulseAudio has it open
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def say(self, pcm: bytes) -> None:
        """Queue 16 kHz mono 16-bit speech; it is played in real time after what is queued."""
        self.pending.put(pcm)

    def _run(self) -> None:
        rng = np.random.default_rng(0)
        t_next = time.monotonic()
        current = b""
        while not self._stop.is_set():
            if not current:
                try:
                    current = self.pending.get_nowait()
                    self.speaking.set()
                except queue.Empty:
                    self.speaking.clear()
            if current:
                frame, current = current[:FRAME * 2], current[FRAME * 2:]
                frame = frame.ljust(FRAME * 2, b"\0")
            else:
                frame = (rng.standard_normal(FRAME) * self.noise).astype("<i2").tobytes()
            try:
                os.write(self._fd, frame)
            except BlockingIOError:
                pass
            except OSError:  # the sound server went away (fault-injection tests): stop feeding
                return
            t_next += FRAME / RATE
            time.sleep(max(0.0, t_next - time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        try:
            os.close(self._fd)
        except OSError:
            pass


if __name__ == "__main__":  # used by scripts/bench_resources.py: feed a FIFO for a while
    import argparse
    import wave

    ap = argparse.ArgumentParser(description="feed a PulseAudio pipe source with noise and speech")
    ap.add_argument("fifo")
    ap.add_argument("--speech", nargs="*", default=[], help="16 kHz mono WAV files, spoken in turn")
    ap.add_argument("--every", type=float, default=3.0, help="seconds between utterances")
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    clips = []
    for path in args.speech:
        with wave.open(path, "rb") as w:
            clips.append(w.readframes(w.getnframes()))
    mic = VirtualMic(args.fifo, noise_dbfs=-50)
    end = time.monotonic() + args.seconds
    i = 0
    while time.monotonic() < end:
        time.sleep(args.every)
        if clips:
            mic.say(clips[i % len(clips)])
            i += 1
    mic.close()
