#!/usr/bin/env bash
# One command to install everything and start the coach: scripts/run.sh [voicecoach args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/voicecoach "$@"
