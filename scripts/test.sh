#!/usr/bin/env bash
# One command to install everything and run all tests (unit, text-mode CLI, and the
# end-to-end tests through PulseAudio, espeak-ng and pocketsphinx).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
