"""Microphone and loudspeaker through PortAudio (PyAudio). The only module importing pyaudio."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import queue
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import pyaudio

from voicecoach.hearing.endpointer import FRAME_SAMPLES, SAMPLE_RATE
from voicecoach.session.faults import DeviceLost


class NoAudioDevice(RuntimeError):
    """No usable microphone or loudspeaker."""


@contextmanager
def _quiet_stderr():
    """PortAudio/ALSA print pages of probe warnings to fd 2; hide them while opening."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        yield
        return
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


_PA: pyaudio.PyAudio | None = None


_ALSA_ERROR_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                       ctypes.c_char_p)


def _ignore_alsa_error(*args) -> None:
    """ALSA's error messages, dropped. C calls this: an exception raised in it (a Ctrl-C
    landing here) would be printed and lost, so the CLI's signal handler knows it by name."""


_alsa_quiet = _ALSA_ERROR_HANDLER(_ignore_alsa_error)  # kept referenced: ALSA calls it later


def _silence_alsa() -> None:
    """ALSA writes notes such as "underrun occurred" straight to the terminal between our
    sentences (the output stream idles on purpose: reopening it costs latency). Failures
    that matter reach us as PortAudio errors, which are reported in plain words."""
    try:
        ctypes.cdll.LoadLibrary(ctypes.util.find_library("asound") or "libasound.so.2") \
            .snd_lib_error_set_handler(_alsa_quiet)
    except OSError:
        pass  # no ALSA (another OS or backend): nothing to silence


def portaudio() -> pyaudio.PyAudio:
    global _PA
    if _PA is None:
        _silence_alsa()
        with _quiet_stderr():
            _PA = pyaudio.PyAudio()
    return _PA


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float


def sound_server_running() -> bool:
    """Whether a PulseAudio (or PipeWire's pulse) server answers on its socket."""
    import socket
    candidates = []
    server = os.environ.get("PULSE_SERVER", "")
    if server:
        candidates += [p.removeprefix("unix:") for p in server.split() if p.startswith(("unix:", "/"))]
    for base in (os.environ.get("PULSE_RUNTIME_PATH"),
                 os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""), "pulse") if os.environ.get("XDG_RUNTIME_DIR") else None,
                 f"/run/user/{os.getuid()}/pulse", "/var/run/pulse", "/run/pulse"):
        if base:
            candidates.append(os.path.join(base, "native"))
    for path in candidates:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(path)
                return True
        except OSError:
            continue
    return False


def sound_cards() -> bool:
    """Whether the kernel has any sound card (ALSA devices)."""
    return os.path.isdir("/dev/snd") and any(name.startswith("pcm") for name in os.listdir("/dev/snd"))


def list_devices() -> list[Device]:
    """Every audio device PortAudio sees; raises :class:`NoAudioDevice` if it cannot start."""
    try:
        pa = portaudio()
    except OSError as exc:
        raise NoAudioDevice(f"the audio system could not start ({exc})") from None
    out = []
    for i in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(i)
        out.append(Device(i, info["name"], int(info["maxInputChannels"]), int(info["maxOutputChannels"]),
                          float(info["defaultSampleRate"])))
    return out


def find_device(spec: str | int | None, want_input: bool) -> int | None:
    """Device index from an index or a (part of a) name; None for the default."""
    if spec is None or spec == "":
        return None
    devices = list_devices()
    if isinstance(spec, int) or str(spec).isdigit():
        index = int(spec)
        if any(d.index == index for d in devices):
            return index
        raise NoAudioDevice(f"no audio device with index {index}")
    for d in devices:
        if str(spec).lower() in d.name.lower() and (d.inputs if want_input else d.outputs):
            return d.index
    raise NoAudioDevice(f"no {'input' if want_input else 'output'} device named like {spec!r}")


class Microphone:
    """16 kHz mono 16-bit frames of 30 ms, read by a thread into a queue with capture times.

    Reading continuously means no input overflow builds up while the coach talks; frames
    heard while it talks are dropped by the listener (see ``VoiceListener``).
    """

    LOST_AFTER_S = 1.0   # read errors for this long: the device is gone (s)
    STALL_S = 3.0        # no audio at all for this long: the device is gone (s)

    def __init__(self, device: str | int | None = None):
        pa = portaudio()
        index = find_device(device, want_input=True)
        try:
            if index is None:
                pa.get_default_input_device_info()
            with _quiet_stderr():
                self.stream = pa.open(format=pyaudio.paInt16, channels=1, rate=SAMPLE_RATE, input=True,
                                      input_device_index=index, frames_per_buffer=FRAME_SAMPLES)
        except (OSError, IOError) as exc:
            raise NoAudioDevice(f"no microphone could be opened ({exc})") from None
        self.frames: queue.Queue[tuple[float, bytes]] = queue.Queue(maxsize=2000)
        self.lost: str | None = None          # why the device stopped working, once it has
        self._last_frame = time.monotonic()
        self._running = True
        self._thread = threading.Thread(target=self._read, name="microphone", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        failing_since = None
        while self._running:
            try:
                data = self.stream.read(FRAME_SAMPLES, exception_on_overflow=False)
            except OSError as exc:
                # one error can be a glitch; a second of them is a device (or sound server) gone
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > self.LOST_AFTER_S:
                    self.lost = f"{exc}"
                    return
                time.sleep(0.01)
                continue
            failing_since = None
            self._last_frame = time.monotonic()
            # the frame ended now; it began FRAME_SAMPLES earlier
            item = (time.monotonic() - FRAME_SAMPLES / SAMPLE_RATE, data)
            try:
                self.frames.put_nowait(item)
            except queue.Full:  # nobody is listening: keep the newest audio
                try:
                    self.frames.get_nowait()
                except queue.Empty:
                    pass
                self.frames.put_nowait(item)

    def read(self, timeout: float) -> tuple[float, bytes] | None:
        """The next frame, None if none came within ``timeout`` (s); raises
        :class:`DeviceLost` once the microphone is gone (errors, or no audio for STALL_S)."""
        try:
            return self.frames.get(timeout=max(0.0, timeout))
        except queue.Empty:
            if self.lost is None and time.monotonic() - self._last_frame > self.STALL_S:
                self.lost = f"no audio for {self.STALL_S:g} s"
            if self.lost is not None:
                raise DeviceLost("microphone", self.lost) from None
            return None

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=0.3)  # a read returns within one frame (30 ms) while audio flows
        if self._thread.is_alive():
            # stuck in a read on a stalled device: stopping the stream under it can crash
            # PortAudio; leave it to the end of the process
            return
        try:
            self.stream.stop_stream()
            self.stream.close()
        except OSError:
            pass

    def wait_for_audio(self, timeout_s: float = 1.5) -> None:
        """Raise :class:`DeviceLost` unless a frame arrives within ``timeout_s`` (a device
        that opens but delivers nothing is not back)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.read(deadline - time.monotonic()) is not None:
                return
        raise DeviceLost("microphone", f"no audio within {timeout_s:g} s of opening it")


class Loudspeaker:
    """A mono 16-bit output stream kept open (opening one costs tens of ms), fed in chunks
    so playback can be cut off between chunks."""

    CHUNK_S = 0.02  # s
    HOLD_MAX_S = 4.0      # s: a hold (duck to 0) lets go by itself after this (longer than any answer)
    RESUME_BACK_S = 0.3   # s: a held sentence resumes this much before where it was held

    def __init__(self, rate: int, device: str | int | None = None):
        pa = portaudio()
        index = find_device(device, want_input=False)
        self.rate = rate
        try:
            with _quiet_stderr():
                self.stream = pa.open(format=pyaudio.paInt16, channels=1, rate=rate, output=True,
                                      output_device_index=index,
                                      frames_per_buffer=int(rate * self.CHUNK_S))
        except (OSError, IOError) as exc:
            raise NoAudioDevice(f"no loudspeaker could be opened ({exc})") from None
        self.latency_s = float(self.stream.get_output_latency())
        self._stop = threading.Event()
        self._gain = 1.0        # amplitude factor asked for (barge-in lowers it while someone speaks)
        self.played = 0         # samples handed to PortAudio of the sentence playing now
        self.on_gain = None     # callback(sample, gain) when a new gain takes effect (the echo canceller's far end)
        self.on_hold = None     # callback(sample, held) when the sentence is held at sample, or resumed from it

    def duck(self, gain: float) -> None:
        """Play at ``gain`` (amplitude factor) from the next chunk (20 ms) on. A gain of 0 *holds*
        the sentence: silence is played, and it resumes ``RESUME_BACK_S`` before where it was held
        once a gain above 0 is asked for (or after ``HOLD_MAX_S``, whatever happens)."""
        self._gain = float(gain)

    def play(self, pcm: bytes, on_first_chunk=None) -> bool:
        """Play ``pcm`` (blocking). Returns False if cut off by :meth:`stop`."""
        import numpy as np
        self._stop.clear()
        self._gain, applied, self.played = 1.0, 1.0, 0
        step = int(self.rate * self.CHUNK_S) * 2
        held_since: float | None = None
        i = 0
        while i < len(pcm):
            if self._stop.is_set():
                return False
            if on_first_chunk:  # the first frame is handed to PortAudio now (once: a resume may go back to 0)
                on_first_chunk()
                on_first_chunk = None
            if self._gain <= 0.0:
                if held_since is None:
                    held_since, self.played = time.monotonic(), i // 2
                    if self.on_hold:
                        self.on_hold(i // 2, True)
                if time.monotonic() - held_since < self.HOLD_MAX_S:
                    self._write(bytes(step))
                    continue
                self._gain = 1.0  # nobody let go of the hold: never leave the sentence unfinished
            if held_since is not None:
                # resume a little before where it was held: the word cut in two is said again whole
                held_since, applied = None, 0.0
                i = max(0, i - round(self.RESUME_BACK_S / self.CHUNK_S) * step)
                if self.on_hold:
                    self.on_hold(i // 2, False)
            chunk = pcm[i:i + step]
            if self._gain != applied:  # ramp over one chunk: a step would click
                ramp = np.linspace(applied, self._gain, len(chunk) // 2, dtype=np.float32)
                applied = self._gain
                if self.on_gain:
                    self.on_gain(i // 2, applied)
                chunk = (np.frombuffer(chunk, dtype="<i2") * ramp).astype("<i2").tobytes()
            elif applied != 1.0:
                chunk = (np.frombuffer(chunk, dtype="<i2") * np.float32(applied)).astype("<i2").tobytes()
            self.played = i // 2
            self._write(chunk)
            i += step
        return True

    def _write(self, chunk: bytes) -> None:
        try:
            self.stream.write(chunk)
        except OSError as exc:  # the sound server or the device went away
            raise DeviceLost("loudspeaker", str(exc)) from None

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        try:
            self.stream.stop_stream()
            self.stream.close()
        except OSError:
            pass
