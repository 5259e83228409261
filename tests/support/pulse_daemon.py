"""A PulseAudio daemon private to one test run: its own runtime dir (socket and pid file),
so parallel runs cannot clash, and it is always stopped (fixture finalizers call
:meth:`PrivatePulse.stop`; ``scripts/test.sh`` kills any left under
``$VOICECOACH_TEST_RUNTIME`` when the run ends, also when pytest itself is killed)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from tests.support.paths import ROOT



class PrivatePulse:
    def __init__(self):
        base = os.environ.get("VOICECOACH_TEST_RUNTIME")
        if base:
            os.makedirs(base, exist_ok=True)
        # short: a unix socket path must fit in 108 bytes
        self.dir = Path(tempfile.mkdtemp(prefix="pulse-", dir=base or None))
        self.fifo = str(self.dir / "mic")
        self.env = {**os.environ, "PULSE_RUNTIME_PATH": str(self.dir), "PULSE_SERVER": f"unix:{self.dir}/native"}

    def start(self) -> None:
        subprocess.run(["bash", str(ROOT / "scripts" / "pulse_virtual.sh"), "start", self.fifo],
                       env=self.env, check=True, timeout=60)

    def use_here(self) -> None:
        """Point this process's own sound clients (PortAudio, pactl) at this daemon."""
        for key in ("PULSE_SERVER", "PULSE_RUNTIME_PATH"):
            os.environ[key] = self.env[key]

    def pid(self) -> int | None:
        try:
            return int((self.dir / "pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the daemon at once (a crash, as the coach sees it) and wait until it is gone."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        (self.dir / "pid").unlink(missing_ok=True)
        (self.dir / "native").unlink(missing_ok=True)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)
