#!/usr/bin/env bash
# Spoken answers for the end-to-end and adapter tests (16 kHz mono WAV in tests/audio/).
#   scripts/make_test_answers.sh [WORD...]   (default: all of them)
# The e2e tests check that the program branches on what it hears, not how well it hears
# (scripts/bench_recognition.py measures that), so for each answer this keeps the first
# espeak-ng voice and rate that `voicecoach hear` accepts in the answer's context.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/audio
tmp=$(mktemp -d)
declare -A CONTEXT=([better]=rating [worse]=rating [same]=rating [yes]=yesno [no]=yesno
                    [stop]=exercise [pause]=exercise [resume]=exercise [skip]="pain location movement")
# phrasings to try, from the vocabulary (| separated)
declare -A TEXTS=([same]="the same|about the same|no change" [worse]="worse|much worse|it's worse|a bit worse"
                  [better]="better|much better" [yes]="yes|yeah" [no]="no|nope" [resume]="resume|continue|carry on" [skip]="skip|skip this|next" [pause]="pause|hold on|wait")
words=("$@"); [ ${#words[@]} -gt 0 ] || words=(better worse same yes no stop pause resume skip)
for word in "${words[@]}"; do
  found=""
  IFS='|' read -ra phrasings <<< "${TEXTS[$word]:-$word}"
  for text in "${phrasings[@]}"; do
  for voice in en-us en-us+m3 en-gb en-us+m1 en-gb-x-rp en-us+f2 en-029 en-us+m7 en-us+f4 en-gb-scotland; do
    for rate in 140 120 160 180; do
     for pitch in 50 30 70; do
      espeak-ng -v "$voice" -s "$rate" -p "$pitch" -w "$tmp/raw.wav" "$text"
      sox -V1 "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$tmp/$word.wav" pad 0.3 0.4 norm -3
      ok=yes
      for context in ${CONTEXT[$word]}; do  # understood in every context it is used in
        got=$(.venv/bin/voicecoach hear --json --listen-for "$context" "$tmp/$word.wav" \
              | .venv/bin/python -c "import json,sys; print(','.join(str(json.loads(l)['intent']) for l in sys.stdin))")
        [ "$got" = "$word" ] || { ok=no; break; }
      done
      if [ "$ok" = yes ]; then found="'$text' by $voice rate $rate pitch $pitch"; break 4; fi
     done
    done
  done
  done
  if [ -z "$found" ]; then echo "no espeak-ng variant of '$text' was understood" >&2; exit 1; fi
  cp "$tmp/$word.wav" "tests/audio/$word.wav"
  echo "$word: $found"
done
rm -rf "$tmp"
