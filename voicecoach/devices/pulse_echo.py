"""PulseAudio's own echo canceller (``module-echo-cancel aec_method=webrtc``) between the default
loudspeaker and microphone: the only module that talks to the sound server's modules (``pactl``).

Chosen by measurement (``scripts/measure_echo_cancel.py``, README "Barge-in"): through the
PulseAudio echo path it removed ~30 dB of the coach's voice against ~6 dB for the program's own
AEC3 fed from the clock, because PulseAudio pairs what the loudspeaker plays with what the
microphone records on its own sample clocks (no guessing of buffering in between).

The program loads the module itself (:meth:`SystemEchoCancel.start`), points its own streams at
it (``PULSE_SINK`` / ``PULSE_SOURCE``, read when PortAudio opens a stream, so it must be started
before the loudspeaker and microphone are opened), and unloads it again (:meth:`close`, also
registered with ``atexit``; a module left by a killed run is unloaded at the next start). The
small :class:`SoundServer` protocol stands between it and ``pactl`` so the unit tests use a fake.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
from typing import Protocol

MODULE = "module-echo-cancel"
EC_SINK = "voicecoach_echo_cancel_speaker"
EC_SOURCE = "voicecoach_echo_cancel_mic"
# no gain control and no noise suppression: the person's "stop" must reach Whisper as said;
# the extended filter follows 30-120 ms of delay and a reverberant room (measured: 30 vs 10 dB)
AEC_ARGS = "analog_gain_control=0 digital_gain_control=0 noise_suppression=0 high_pass_filter=0 extended_filter=1"


class SoundServer(Protocol):
    def defaults(self) -> tuple[str, str]:
        """The default sink and source names."""

    def modules(self) -> list[tuple[int, str, str]]:
        """The loaded modules: (index, name, argument)."""

    def load_module(self, name: str, args: list[str]) -> int:
        """Load a module; its index. Raises :class:`SoundServerError`."""

    def unload_module(self, index: int) -> None:
        """Unload a module. Raises :class:`SoundServerError`."""


class SoundServerError(RuntimeError):
    pass


class Pactl:
    """:class:`SoundServer` through the ``pactl`` command (the server of ``PULSE_SERVER``)."""

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SoundServerError(f"pactl {args[0]}: {exc}") from None
        if done.returncode != 0:
            raise SoundServerError(f"pactl {args[0]}: {done.stderr.strip() or done.returncode}")
        return done.stdout.strip()

    def defaults(self) -> tuple[str, str]:
        return self._run("get-default-sink"), self._run("get-default-source")

    def modules(self) -> list[tuple[int, str, str]]:
        out = []
        for line in self._run("list", "short", "modules").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0].isdigit():
                out.append((int(parts[0]), parts[1], parts[2] if len(parts) > 2 else ""))
        return out

    def load_module(self, name: str, args: list[str]) -> int:
        return int(self._run("load-module", name, *args))

    def unload_module(self, index: int) -> None:
        self._run("unload-module", str(index))


class SystemEchoCancel:
    """``module-echo-cancel`` loaded by this program between the default sink and source.

    ``method`` and ``aec_args`` are the module's; the program always uses the defaults (other
    methods and arguments are for ``scripts/measure_double_talk.py`` and
    ``scripts/measure_echo_cancel.py``: speex and WebRTC's mobile canceller measured worse)."""

    name = "pulseaudio module-echo-cancel (webrtc)"

    def __init__(self, server: SoundServer, environ=None, method: str = "webrtc", aec_args: str = AEC_ARGS):
        self.server = server
        self.method, self.aec_args = method, aec_args
        self.environ = os.environ if environ is None else environ
        self.index: int | None = None
        self.master_sink = self.master_source = ""
        self._saved: dict[str, str | None] = {}

    def start(self) -> str:
        """Load it and point this process's new streams at it; "" when on, else why not."""
        try:
            self._unload_stale()
            sink, source = self.server.defaults()
            if source.endswith(".monitor") or EC_SINK in sink or EC_SOURCE in source:
                return f"the default microphone ({source}) cannot be used for echo cancelling"
            self.index = self.server.load_module(MODULE, [
                f"aec_method={self.method}", f'aec_args="{self.aec_args}"', f"source_master={source}", f"sink_master={sink}",
                f"source_name={EC_SOURCE}", f"sink_name={EC_SINK}", "rate=16000", "channels=1"])
        except (SoundServerError, ValueError) as exc:
            return f"PulseAudio's echo canceller could not be loaded ({exc})"
        self.master_sink, self.master_source = sink, source
        for key, value in (("PULSE_SINK", EC_SINK), ("PULSE_SOURCE", EC_SOURCE)):
            self._saved[key] = self.environ.get(key)
            self.environ[key] = value
        atexit.register(self.close)
        return ""

    def _unload_stale(self) -> None:
        """A module this program loaded in a run that was killed before it could unload it."""
        for index, name, argument in self.server.modules():
            if name == MODULE and f"sink_name={EC_SINK}" in argument:
                self.server.unload_module(index)

    @contextlib.contextmanager
    def master_microphone(self):
        """Streams opened inside this hear the microphone before the canceller (for measuring)."""
        saved = self.environ.get("PULSE_SOURCE")
        self.environ["PULSE_SOURCE"] = self.master_source
        try:
            yield
        finally:
            self._restore("PULSE_SOURCE", saved)

    def _restore(self, key: str, value: str | None) -> None:
        if value is None:
            self.environ.pop(key, None)
        else:
            self.environ[key] = value

    def close(self) -> None:
        """Unload the module (idempotent; the sound server gone is not an error here)."""
        index, self.index = self.index, None
        for key, value in self._saved.items():
            self._restore(key, value)
        self._saved = {}
        if index is not None:
            with contextlib.suppress(SoundServerError):
                self.server.unload_module(index)
        atexit.unregister(self.close)


def open_system_echo_cancel(server: SoundServer | None = None, environ=None) -> tuple[SystemEchoCancel | None, str]:
    """PulseAudio's echo canceller loaded for this process, or None and why not."""
    ec = SystemEchoCancel(server or Pactl(), environ)
    why = ec.start()
    return (None, why) if why else (ec, "")
