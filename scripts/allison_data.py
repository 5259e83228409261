#!/usr/bin/env python3
"""Another real speaker for the benchmarks: Allison Smith's recorded prompts (Debian's
``asterisk-core-sounds-en-wav``, CC-BY-SA 3.0; 8 kHz telephone recordings, upsampled).

  .venv/bin/python scripts/allison_data.py [--out bench-out/allison]
  .venv/bin/python scripts/bench_human.py --data bench-out/allison ...

Writes her recordings in the layout of ``../shared/data/human_dev`` (one folder per word,
``allison_<n>.wav``): the digits ``zero`` to ``ten`` (ten is not in the development set), and
as words and sentences the coach must refuse everywhere (``_sentences``), every other prompt
longer than a word ("Please hold while I try that extension", "Goodbye"). Prompts that sound
like an answer ("for" is "four" when the coach asks for a number, "no", "next" is skip) are
left out. Nothing is committed: the recordings come from the Debian package.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
#: prompts that are (or sound like) an answer or a command somewhere: not words to refuse
ANSWER_LIKE = {"for", "vm-for", "vm-no", "vm-next", "to-extension", "is", "vm-and", "vm-first", "vm-last",
               "second", "seconds", "minute", "minutes", "hours", "time", "location",
               "extension", "vm-extension"}  # "extension" starts the extension routine at the menu


def convert(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        subprocess.run(["sox", "-V1", str(src), "-r", "16000", "-c", "1", "-b", "16", str(dst)], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench-out/allison"))
    args = ap.parse_args()
    if not SOUNDS.is_dir():
        print("needs Debian's asterisk-core-sounds-en-wav: apt-get install asterisk-core-sounds-en-wav",
              file=sys.stderr)
        return 2
    for i, word in enumerate(DIGITS):
        convert(SOUNDS / "digits" / f"{i}.wav", args.out / word / "allison_1.wav")
    n = 0
    for src in sorted(SOUNDS.glob("*.wav")):
        if src.stem in ANSWER_LIKE or "beep" in src.stem or "tone" in src.stem:
            continue
        n += 1
        convert(src, args.out / "_sentences" / f"allison_{n}.wav")
    print(f"{len(DIGITS)} digits and {n} prompts to refuse in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
