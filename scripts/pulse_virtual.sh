#!/usr/bin/env bash
# Virtual audio devices for the end-to-end tests (and for trying the coach on a machine
# without a sound card): a PulseAudio daemon with a null sink (the coach's loudspeaker,
# recorded from its monitor) and a pipe source (the coach's microphone: 16 kHz mono
# 16-bit PCM written to the FIFO is what it hears).
#
#   scripts/pulse_virtual.sh start FIFO   # prints nothing; FIFO becomes the microphone
#   scripts/pulse_virtual.sh stop
#
# With PULSE_RUNTIME_PATH set, the daemon is private to that folder (socket, pid file):
# the tests give each run its own, so parallel runs cannot clash.
set -euo pipefail
cmd=${1:-start}
fifo=${2:-/tmp/voicecoach-mic}

if [ "$cmd" = stop ]; then
  pulseaudio --kill 2>/dev/null || true
  if [ -n "${PULSE_RUNTIME_PATH:-}" ] && [ -f "$PULSE_RUNTIME_PATH/pid" ]; then
    kill "$(head -n1 "$PULSE_RUNTIME_PATH/pid")" 2>/dev/null || true
  fi
  exit 0
fi

if ! pactl info >/dev/null 2>&1; then
  # as root PulseAudio warns about system mode but runs; no idle exit, no X11, no D-Bus needed
  pulseaudio -D --exit-idle-time=-1 --disallow-exit --log-target=stderr -n \
    -L module-native-protocol-unix -L module-always-sink 2>/dev/null \
    || pulseaudio -D --exit-idle-time=-1 2>/dev/null || true
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
pactl info >/dev/null

pactl list short sinks | grep -q coach_speaker || \
  pactl load-module module-null-sink sink_name=coach_speaker rate=22050 channels=1 >/dev/null
# (re)create the microphone on this FIFO
for module in $(pactl list short modules | awk '$2 == "module-pipe-source" && /source_name=coach_mic/ {print $1}'); do
  pactl unload-module "$module"
done
rm -f "$fifo"
pactl load-module module-pipe-source source_name=coach_mic file="$fifo" format=s16le rate=16000 channels=1 >/dev/null
pactl set-default-sink coach_speaker
pactl set-default-source coach_mic
