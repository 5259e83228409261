"""A microphone that hears the coach's own voice: the loudspeaker (the null sink's monitor,
recorded with parec) fed back into the pipe-source microphone through an echo path
(delayed, at a gain relative to the person, with a synthetic room's reverberation), plus
room noise and the words a test or benchmark has a person say (``say``).

Used by ``tests/e2e/test_e2e_bargein.py`` and ``scripts/bench_bargein.py``. Also keeps
the loudspeaker's level frame by frame (``speaker_log``) so the time the coach falls
silent can be read off afterwards, and when each of the person's words ended.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import math
import time

import numpy as np

RATE = 16000
FRAME = 480  # samples, 30 ms: what the microphone delivers at a time
READ = 160  # samples, 10 ms: what is read from the loudspeaker's monitor at a time
DELIVERY_S = 0.005  # a frame is written this long after it is complete (s)
PERSON_DBFS = -26.0  # the person's words are brought to this level (RMS over their voiced frames)


def level_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))), 1e-3) / 32768))


def normalize_word(pcm: bytes, dbfs: float = PERSON_DBFS) -> np.ndarray:
    """16 kHz speech brought to ``dbfs`` over its voiced frames (the louder half)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    n = len(x) // FRAME * FRAME
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[:n].reshape(-1, FRAME) ** 2, axis=1))
    voiced = rms[rms >= np.median(rms)]
    active = float(np.sqrt(np.mean(voiced ** 2))) or 1.0
    return x * (32768 * 10 ** (dbfs / 20) / active)


def room_response(rt60_s: float = 0.3, seed: int = 3) -> np.ndarray:
    """A small room's impulse response: the direct sound and an exponentially decaying
    diffuse tail (energy -60 dB after ``rt60_s``), tail energy about -6 dB of the direct."""
    n = int(rt60_s * RATE)
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    tail[: int(0.005 * RATE)] = 0.0  # first reflections 5 ms after the direct sound
    tail *= np.sqrt(0.25 / np.sum(tail ** 2))
    tail[0] = 1.0
    return tail.astype(np.float32)


class EchoPathMic:
    """Feeds the pipe source ``fifo`` in real time with echo + person + noise.

    ``delay_ms``: the echo path's delay: what the microphone hears at time t is what the
    loudspeaker's monitor played ``delay_ms`` before t. Like a sound card, the microphone
    delivers each 30 ms frame once it is complete, so even a 30 ms path has all of its echo
    (written at the frame's start, as until 2026-12-07, the 30 ms path missed part of every
    frame: parec had not yet delivered it, and the canceller removed 7-11 dB there);
    ``gain_db``: the coach's voice at the microphone relative to the person's words
    (None: no echo at all); ``reverb``: convolve the echo with :func:`room_response`.
    """

    def __init__(self, fifo: str, env: dict, delay_ms: float = 60.0, gain_db: float | None = 0.0,
                 reverb: bool = True, noise_dbfs: float = -60.0):
        self.fifo = fifo
        self.delay_ms, self.gain_db, self.reverb = delay_ms, gain_db, reverb
        self.noise = 32768 * 10 ** (noise_dbfs / 20)
        self.pending: queue.Queue[np.ndarray] = queue.Queue()
        self.speaking = threading.Event()
        self.word_ends: list[float] = []            # monotonic s at which each said word ended
        self.speaker_log: list[tuple[float, float]] = []  # (monotonic s, loudspeaker dBFS) per 30 ms
        # the monitor's samples, placed on the clock: sample k was played at base + k / RATE, with
        # base the earliest (arrival - samples so far / RATE) of the last chunks (parec's bursts
        # only ever make a chunk late, never early)
        self._buf = np.zeros(0, np.float32)
        self._buf_from = 0          # stream index of self._buf[0]
        self._received = 0          # samples received so far
        self._anchors: list[float] = []
        self._lock = threading.Lock()
        self._coach_rms = 32768 * 10 ** (-20 / 20)  # running estimate of the coach's voiced level
        # frames of the echo wanted while the coach talks, and those of them whose sound had not yet
        # come from parec (the echo then has a gap: parec delivers later than a short delay_ms)
        self.echo_frames = self.starved_frames = 0
        self._talking_until = 0.0
        self._ir = room_response() if reverb else None
        self._tail = np.zeros(0, np.float32)
        self._stop = threading.Event()
        self._parec = subprocess.Popen(
            ["parec", "-d", "coach_speaker.monitor", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=1",
             "--latency-msec=10"], stdout=subprocess.PIPE, env=env)
        # an idle null sink is suspended and its monitor stops: keep the clock running
        subprocess.run(["pactl", "unload-module", "module-suspend-on-idle"], env=env, capture_output=True)
        self._fd = os.open(fifo, os.O_WRONLY)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._writer = threading.Thread(target=self._run, daemon=True)
        self._reader.start()
        self._writer.start()

    # ------------------------------------------------------------------ settings between trials
    def set_path(self, delay_ms: float | None = None, gain_db: float | None | str = "keep") -> None:
        with self._lock:
            if delay_ms is not None:
                self.delay_ms = delay_ms
            if gain_db != "keep":
                self.gain_db = gain_db

    def say(self, pcm: bytes, normalize: bool = True) -> None:
        """Queue the person's 16 kHz speech; it is added after what is queued."""
        self.pending.put(normalize_word(pcm) if normalize else np.frombuffer(pcm, dtype="<i2").astype(np.float32))

    def sound_ends(self, since: float, until: float, loud_db: float = -50.0) -> float | None:
        """When the loudspeaker last played sound between ``since`` and ``until`` (monotonic s:
        the end of its last loud 30 ms), or None if it was silent all along."""
        loud = [when for when, db in list(self.speaker_log) if since <= when <= until and db > loud_db]
        return loud[-1] + FRAME / RATE if loud else None

    def silent_after(self, t: float, quiet_db: float = -50.0, hold_s: float = 0.09) -> float | None:
        """The first time after ``t`` the loudspeaker fell below ``quiet_db`` and stayed
        there for ``hold_s`` (monotonic s), or None."""
        need = max(1, int(round(hold_s / 0.03)))
        run, first = 0, None
        for when, db in list(self.speaker_log):
            if when < t:
                continue
            if db < quiet_db:
                if run == 0:
                    first = when
                run += 1
                if run >= need:
                    return first
            else:
                run = 0
        return None

    # ------------------------------------------------------------------ threads
    def _read(self) -> None:
        # 10 ms reads: a sample reaches the buffer at most ~20 ms after it was played (parec's
        # 10 ms latency and one read), in time for the shortest echo path (see _run)
        out = self._parec.stdout
        log: list[np.ndarray] = []  # the loudspeaker's level is logged per 30 ms
        while not self._stop.is_set():
            data = out.read(READ * 2)
            if not data:
                return
            x = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32)
            now = time.monotonic()
            with self._lock:
                self._received += len(x)
                self._anchors = (self._anchors + [now - self._received / RATE])[-180:]
                self._buf = np.concatenate([self._buf, x])
                if len(self._buf) > 3 * RATE:
                    drop = len(self._buf) - 3 * RATE
                    self._buf, self._buf_from = self._buf[drop:], self._buf_from + drop
            log.append(x)
            if sum(map(len, log)) < FRAME:
                continue
            frame, log = np.concatenate(log), []
            db = level_dbfs(frame)
            self.speaker_log.append((now - len(frame) / RATE, db))
            if db > -45:
                self._talking_until = now + 0.5
                rms = float(np.sqrt(np.mean(frame ** 2)))
                self._coach_rms += 0.02 * (rms - self._coach_rms)

    def _echo(self, t: float) -> np.ndarray:
        """The echo in the frame that reaches the microphone at monotonic ``t`` (s)."""
        x = np.zeros(FRAME, np.float32)
        with self._lock:
            if self._anchors:
                # what the loudspeaker played delay_ms before now
                first = int(round((t - self.delay_ms / 1000 - min(self._anchors)) * RATE))
                lo, hi = max(first, self._buf_from), min(first + FRAME, self._buf_from + len(self._buf))
                if t < self._talking_until:
                    self.echo_frames += 1
                    self.starved_frames += hi < first + FRAME
                if hi > lo:
                    x[lo - first:hi - first] = self._buf[lo - self._buf_from:hi - self._buf_from]
            gain_db = self.gain_db
        if gain_db is None:
            return np.zeros(FRAME, np.float32)
        scale = 32768 * 10 ** ((PERSON_DBFS + gain_db) / 20) / max(self._coach_rms, 1.0)
        x = x * scale
        if self._ir is not None:
            y = np.convolve(x, self._ir)  # direct: 480 x 4800 taps, a few ms a frame
            if len(self._tail):
                y[: len(self._tail)] += self._tail
            x, self._tail = y[:FRAME], y[FRAME:]
        return x

    def _run(self) -> None:
        rng = np.random.default_rng(0)
        t_next = time.monotonic()
        current = np.zeros(0, np.float32)
        while not self._stop.is_set():
            # a microphone delivers a frame once it is complete (a sound card's period): the frame
            # of [t_next, t_next + 30 ms) is made and written 30 ms (and a little) after t_next, so
            # the loudspeaker's sound of that span, delay_ms earlier, has come back from parec
            # even for the shortest path (written at t_next, a 30 ms path had a gap in every frame)
            time.sleep(max(0.0, t_next + FRAME / RATE + DELIVERY_S - time.monotonic()))
            if not len(current):
                try:
                    current = self.pending.get_nowait()
                    self.speaking.set()
                except queue.Empty:
                    self.speaking.clear()
            frame = rng.standard_normal(FRAME).astype(np.float32) * self.noise + self._echo(t_next)
            if len(current):
                part, current = current[:FRAME], current[FRAME:]
                frame[: len(part)] += part
                if not len(current):
                    self.word_ends.append(t_next + len(part) / RATE)
            try:
                os.write(self._fd, np.clip(frame, -32768, 32767).astype("<i2").tobytes())
            except BlockingIOError:
                pass
            except OSError:
                return
            t_next += FRAME / RATE

    def close(self) -> None:
        self._stop.set()
        self._writer.join(timeout=2)
        self._parec.terminate()
        try:
            self._parec.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self._parec.kill()
        try:
            os.close(self._fd)
        except OSError:
            pass


class Parec:
    """A source recorded with parec, each 30 ms stamped on the monotonic clock (arrival minus
    its length; arrivals are late in bursts, so the earliest anchor is kept)."""

    def __init__(self, source: str, env: dict):
        self.proc = subprocess.Popen(["parec", "-d", source, "--raw", "--format=s16le", "--rate=16000",
                                      "--channels=1", "--latency-msec=10"], stdout=subprocess.PIPE, env=env)
        self.chunks: list[np.ndarray] = []
        self.received = 0
        self.anchor = math.inf
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while data := self.proc.stdout.read(960):
            x = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32)
            now = time.monotonic()
            with self.lock:
                self.received += len(x)
                self.anchor = min(self.anchor, now - self.received / 16000)
                self.chunks.append(x)

    def window(self, t0: float, t1: float) -> np.ndarray:
        with self.lock:
            x = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
            anchor = self.anchor
        lo, hi = int((t0 - anchor) * 16000), int((t1 - anchor) * 16000)
        return x[max(0, lo):max(0, hi)]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=3)
