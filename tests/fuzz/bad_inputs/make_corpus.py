"""Writes the corpus of bad inputs kept next to this file (run it again after changing it).

routines/: routine files, each wrong in one way a person or a broken editor could make;
settings/: settings.toml files; audio/: files handed to ``voicecoach hear``.
Every one must give a clear one-line error (tests/test_fuzz_inputs.py), never a traceback.
"""

from __future__ import annotations

import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent

GOOD = """\
name: calf stretches
exercises:
  calf:
    name: Calf stretch
    instructions: "Step your {side} leg back."
    hold_s: {default: 20, min: 15, max: 30}
    reps: {default: 2, min: 1, max: 3}
    sides: [left, right]
steps:
  - say: "Calf stretches."
  - do: calf
  - ask: "Better, worse, or the same?"
    answers:
      better: {say: "Good."}
      same: {}
      worse: {stop: "Let's stop here."}
"""


def routines() -> dict[str, bytes]:
    g = GOOD
    r = {
        "latin1.yaml": g.replace("Calf stretches.", "Étirement du mollet.").encode("latin-1"),
        "utf16.yaml": g.encode("utf-16"),
        "binary.yaml": bytes(range(256)) * 4,
        "nul-byte.yaml": g.replace("Good.", "Go\0od.").encode(),
        "empty.yaml": b"",
        "only-comment.yaml": b"# nothing here\n",
        "a-list.yaml": b"- say: hi\n",
        "a-string.yaml": b"just some words\n",
        "hold-inf.yaml": g.replace("hold_s: {default: 20, min: 15, max: 30}", "hold_s: .inf").encode(),
        "hold-nan.yaml": g.replace("hold_s: {default: 20, min: 15, max: 30}", "hold_s: .nan").encode(),
        "hold-1e308.yaml": g.replace("hold_s: {default: 20, min: 15, max: 30}", "hold_s: 1e308").encode(),
        "hold-billion.yaml": g.replace("hold_s: {default: 20, min: 15, max: 30}", "hold_s: 1000000000").encode(),
        "hold-negative.yaml": g.replace("default: 20, min: 15", "default: -20, min: -25").encode(),
        "hold-text.yaml": g.replace("hold_s: {default: 20, min: 15, max: 30}", "hold_s: twenty").encode(),
        "reps-billion.yaml": g.replace("reps: {default: 2, min: 1, max: 3}", "reps: 1000000000").encode(),
        "reps-fraction.yaml": g.replace("reps: {default: 2, min: 1, max: 3}", "reps: 2.5").encode(),
        "reps-5000-digits.yaml": g.replace("reps: {default: 2, min: 1, max: 3}", "reps: " + "9" * 5000).encode(),
        "placeholder-unknown.yaml": g.replace("{side} leg", "{sid} leg").encode(),
        "placeholder-broken.yaml": g.replace("{side} leg", "{side leg").encode(),
        "placeholder-attr.yaml": g.replace("{side} leg", "{side.__class__} leg").encode(),
        "do-typo.yaml": g.replace("- do: calf", "- do: calff").encode(),
        "goto-nowhere.yaml": g.replace("same: {}", "same: {goto: nowhere}").encode(),
        "run-missing.yaml": g.replace('  - say: "Calf stretches."', "  - run: no-such-routine").encode(),
        "runs-itself.yaml": g.replace('  - say: "Calf stretches."', "  - run: runs-itself").encode(),
        "all-errors-at-once.yaml": g.replace("- do: calf", "- do: calff").replace("same: {}", "same: {goto: x}")
            .replace("reps: {default: 2, min: 1, max: 3}", "reps: 2.5").replace("{side} leg", "{sid} leg").encode(),
        "two-step-kinds.yaml": g.replace('  - say: "Calf stretches."', '  - say: "a"\n    do: calf').encode(),
        "no-step-kind.yaml": g.replace('  - say: "Calf stretches."', '  - id: lonely').encode(),
        "unknown-field.yaml": g.replace("    sides: [left, right]", "    sides: [left, right]\n    hodl_s: 3").encode(),
        "bad-side.yaml": g.replace("sides: [left, right]", "sides: [left, middle]").encode(),
        "bad-answer.yaml": g.replace("same: {}", "maybe: {}").encode(),
        "missing-answer.yaml": g.replace("      same: {}\n", "").encode(),
        "duplicate-id.yaml": g.replace('  - say: "Calf stretches."', '  - {id: a, say: x}\n  - {id: a, say: y}').encode(),
        "no-steps.yaml": b"name: nothing\nsteps: []\n",
        "steps-not-list.yaml": b"name: x\nsteps: {say: hi}\n",
        "tabs.yaml": g.replace("  - say", "\t- say").encode(),
        "unclosed.yaml": b"name: x\nsteps:\n  - say: [unclosed\n",
        "deep-flow.yaml": b"name: x\nsteps: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "deep-block.yaml": b"name: x\nsteps:\n" + b"".join(b" " * (i + 2) + b"- \n" for i in range(300)),
        "deep-mapping.yaml": b"name: x\nsteps: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n",
        "anchor-bomb.yaml": b"a: &a [1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\n"
                            b"d: &d [*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d]\nname: x\nsteps: [{say: hi}]\n",
        "python-tag.yaml": b"name: !!python/object/apply:os.system ['true']\nsteps: [{say: hi}]\n",
        "huge-text.yaml": ("name: x\nsteps:\n  - say: \"" + "la " * 2000 + "\"\n").encode(),
        "too-many-steps.yaml": ("name: x\nsteps:\n" + "  - say: hi\n" * 600).encode(),
        "over-1mb.yaml": ("name: x\nsteps:\n" + "  - say: hello there\n" * 60000).encode(),
        "control-char.yaml": g.replace("Good.", "Go\x07od.").encode(),
        "position-huge.yaml": g.replace("    sides: [left, right]", "    sides: [left, right]\n    position_s: 1e9").encode(),
        "tempo-and-hold.yaml": g.replace("    sides: [left, right]", "    sides: [left, right]\n    tempo_s: 3").encode(),
        "bool-name.yaml": g.replace("name: calf stretches", "name: true").encode(),
        "null-everything.yaml": b"name: ~\nexercises: ~\nsteps: [~, ~]\n",
    }
    return r


CYCLE = {
    "cycle-a.yaml": b"name: cycle a\nsteps:\n  - say: a\n  - run: cycle-b\n",
    "cycle-b.yaml": b"name: cycle b\nsteps:\n  - run: cycle-a\n",
}


def settings() -> dict[str, bytes]:
    return {
        "latin1.toml": "[speech]\nvoice = \"français\"\n".encode("latin-1"),
        "utf16.toml": "[speech]\nrate = 150\n".encode("utf-16"),
        "binary.toml": bytes(range(256)),
        "nul.toml": b"[speech]\nrate = 1\0\n",
        "broken.toml": b"[speech]\nrate = = 3\n",
        "deep-inline.toml": b"a = " + b"{b = " * 2000 + b"1" + b"}" * 2000 + b"\n",
        "deep-array.toml": b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "digits-5000.toml": b"[speech]\nrate = " + b"9" * 5000 + b"\n",
        "rate-nan.toml": b"[speech]\nrate = nan\n",
        "volume-inf.toml": b"[speech]\nvolume = inf\n",
        "sensitivity-true.toml": b"[listening]\nsensitivity = true\n",
        "rate-text.toml": b"[speech]\nrate = \"fast\"\n",
        "section-is-value.toml": b"speech = 3\n",
        "unknown-section.toml": b"[speeech]\nrate = 150\n",
        "exercise-garbage.toml": b"[exercise]\nhip-stretches = 3\n",
        "exercise-deep.toml": b"[exercise.hip-stretches.figure-4.hold]\nx = 1\n",
        "exercise-hold-huge.toml": b"[exercise.hip-stretches.figure-4]\nhold = 1e300\n",
        "exercise-reps-fraction.toml": b"[exercise.hip-stretches.figure-4]\nreps = 2.5\n",
        "duplicate-key.toml": b"[speech]\nrate = 150\nrate = 160\n",
    }


def audio() -> dict[str, bytes]:
    def wav_header(channels=1, rate=16000, bits=16, fmt=1, data_len=0, riff_len=None):
        byte_rate = rate * channels * bits // 8
        fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, byte_rate, channels * bits // 8, bits)
        riff_len = min(36 + data_len, 0xFFFFFFFF) if riff_len is None else riff_len
        return (b"RIFF" + struct.pack("<I", riff_len) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk
                + b"data" + struct.pack("<I", data_len))
    return {
        "empty.wav": b"",
        "text.wav": b"this is not audio\n" * 10,
        "yaml.wav": GOOD.encode(),
        "zeros.wav": bytes(4096),
        "riff-only.wav": b"RIFF",
        "header-only.wav": wav_header(data_len=1000),
        "truncated.wav": wav_header(data_len=32000) + bytes(100),
        "float32.wav": wav_header(fmt=3, bits=32, data_len=64) + bytes(64),
        "zero-channels.wav": wav_header(channels=0, data_len=0),
        "zero-rate.wav": wav_header(rate=0, data_len=64) + bytes(64),
        "huge-rate.wav": wav_header(rate=4_000_000_000 // 4, data_len=64) + bytes(64),
        "bits-12.wav": wav_header(bits=12, data_len=64) + bytes(64),
        "huge-data-length.wav": wav_header(data_len=0xFFFFFFF0) + bytes(3200),
        "mp3-ish.wav": b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(2000),
    }


def main() -> None:
    for folder, files in (("routines", {**routines(), **CYCLE}), ("settings", settings()), ("audio", audio())):
        out = HERE / folder
        out.mkdir(exist_ok=True)
        for old in out.iterdir():
            old.unlink()
        for name, data in files.items():
            (out / name).write_bytes(data)
    print("corpus written")


if __name__ == "__main__":
    main()
