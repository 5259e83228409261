"""`voicecoach hear`: WAV files streamed in chunks (constant memory), padded so a word at
the very edge of a clip is heard, other formats converted on the way."""

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from voicecoach.hearing.wavfile import PAD_AFTER_S, PAD_BEFORE_S, stream_pcm16k
from tests.support.paths import AUDIO



def pcm(name: str) -> np.ndarray:
    with wave.open(str(AUDIO / f"{name}.wav"), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2")


def write_wav(path: Path, samples: np.ndarray, rate=16000, channels=1, width=2) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels), w.setsampwidth(width), w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def test_a_word_at_the_very_start_and_end_of_a_clip_is_heard(tmp_path):
    word = pcm("better")
    # the word begins 0.05 s into the clip and the clip ends 0.05 s after it
    clip = write_wav(tmp_path / "edge.wav", word[int(0.27 * 16000):int(0.91 * 16000)])
    out = subprocess.run([sys.executable, "-m", "voicecoach", "hear", "--listen-for", "rating", str(clip)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and " better " in out.stdout, out.stdout + out.stderr


def test_files_are_read_in_chunks_with_padding_at_both_ends(tmp_path):
    samples = np.tile(pcm("better"), 20)  # 36 s
    chunks = stream_pcm16k(str(write_wav(tmp_path / "long.wav", samples)))
    sizes = [len(c) for c in chunks]
    assert max(sizes) <= 2 * 16000 * 1.01  # never more than about a second at a time
    assert sum(sizes) == 2 * (len(samples) + int(16000 * PAD_BEFORE_S) + int(16000 * PAD_AFTER_S))


def test_stereo_24_bit_44k_is_mixed_down_and_resampled(tmp_path):
    t = np.arange(44100 * 2) / 44100
    tone = (np.sin(2 * np.pi * 440 * t) * 0.5 * 2 ** 23).astype(np.int32)
    frames = np.repeat(tone, 2)  # two channels
    raw = np.stack([frames & 255, (frames >> 8) & 255, (frames >> 16) & 255], axis=1).astype(np.uint8)
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2), w.setsampwidth(3), w.setframerate(44100)
        w.writeframes(raw.tobytes())
    out = np.frombuffer(b"".join(stream_pcm16k(str(path))), "<i2")
    body = out[int(16000 * PAD_BEFORE_S):-int(16000 * PAD_AFTER_S)]
    assert abs(len(body) - 32000) <= 2
    assert 0.45 < np.abs(body).max() / 32767 < 0.55
    crossings = np.sum(np.diff(np.signbit(body).astype(int)) != 0)
    assert abs(crossings / 2 / 2.0 - 440) < 5  # still 440 Hz
