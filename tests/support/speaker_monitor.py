"""Listens to the coach's loudspeaker (the monitor of the PulseAudio null sink) as it plays:
keeps the recording, and knows when the coach last made a sound, so that a test answers once
the coach has finished its sentence rather than after a guessed number of seconds."""

from __future__ import annotations

import subprocess
import threading
import time

import numpy as np

RATE = 16000
FRAME_BYTES = 480 * 2  # 30 ms of 16-bit mono
LOUD_RMS = 300  # as loud as the coach's voice (the null sink is silent otherwise)


class SpeakerMonitor:
    def __init__(self, env: dict, source: str = "coach_speaker.monitor"):
        self._proc = subprocess.Popen(["parec", "-d", source, "--format=s16le", f"--rate={RATE}", "--channels=1",
                                       "--raw", "--latency-msec=30"], stdout=subprocess.PIPE, env=env)
        self._audio = bytearray()
        self._lock = threading.Lock()
        self.last_loud = float("-inf")  # time.monotonic() of the last loud frame
        self.quiet_after = 0  # quiet frames received since the last loud one
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        rest = b""
        while chunk := self._proc.stdout.read1(FRAME_BYTES * 4):
            rest += chunk
            usable = len(rest) // FRAME_BYTES * FRAME_BYTES
            frames = np.frombuffer(rest[:usable], dtype="<i2").astype(np.float32).reshape(-1, 480)
            loud = np.nonzero(np.sqrt(np.mean(frames ** 2, axis=1)) > LOUD_RMS)[0]
            if len(loud):
                self.last_loud = time.monotonic()
                self.quiet_after = len(frames) - 1 - int(loud[-1])
            else:
                self.quiet_after += len(frames)
            with self._lock:
                self._audio += rest[:usable]
            rest = rest[usable:]

    #: The sink stops sending its silence about 1.5 s after a sound: past this (s) without a
    #: loud frame, the coach is quiet even if fewer quiet frames came.
    IDLE_S = 2.0

    def finished_since(self, t: float, quiet_s: float = 0.5) -> bool:
        """The coach made a sound after ``t`` and the loudspeaker has played ``quiet_s`` of
        quiet since: counted in audio received, not in wall time, because on a busy machine this
        reader may not run for half a second while the coach still talks (the test then spoke
        over the coach, and was rightly told "Sorry, please say it again")."""
        if self.last_loud <= t:
            return False
        return self.quiet_after * FRAME_BYTES / 2 / RATE >= quiet_s or time.monotonic() - self.last_loud >= self.IDLE_S

    def stop(self) -> np.ndarray:
        """Stop listening; the whole recording (16 kHz samples as float32)."""
        self._proc.terminate()
        self._proc.wait(timeout=5)
        self._thread.join(timeout=5)
        with self._lock:
            return np.frombuffer(bytes(self._audio), dtype="<i2").astype(np.float32)
