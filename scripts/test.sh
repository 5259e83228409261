#!/usr/bin/env bash
# One command to install everything and run all tests (unit, text-mode CLI, and the
# end-to-end tests through PulseAudio, espeak-ng and pocketsphinx).
# Every PulseAudio daemon the tests start lives under $VOICECOACH_TEST_RUNTIME; the trap
# stops any that is left when the run ends, however it ends (failures, Ctrl-C, a kill).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VOICECOACH_TEST_RUNTIME=$(mktemp -d /tmp/vc-test.XXXXXX)
export VOICECOACH_TEST_RUNTIME
cleanup() {
  for pidfile in "$VOICECOACH_TEST_RUNTIME"/*/pid; do
    [ -f "$pidfile" ] && kill "$(head -n1 "$pidfile")" 2>/dev/null || true
  done
  rm -rf "$VOICECOACH_TEST_RUNTIME"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# two workers: the end-to-end tests mostly wait for sound to play (each has its own PulseAudio
# daemon); the longest run first (tests/conftest.py), so the two finish together
.venv/bin/python -m pytest -q -n 2 --maxschedchunk 1 "$@"
