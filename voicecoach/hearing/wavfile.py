"""Reading WAV files in constant memory for ``voicecoach hear``.

Frames are read a chunk at a time with the standard ``wave`` module, mixed down to mono,
converted to 16-bit and resampled to 16 kHz as they stream, so a two-hour recording
needs no more memory than a two-second one. The recording is padded with silence at
both ends (:data:`PAD_BEFORE_S`, :data:`PAD_AFTER_S`): the endpointer needs a little
audio before speech to measure the start, and a little after to see it end, so a word
at the very edge of a clip is still heard.
"""

from __future__ import annotations

import wave
from typing import Iterator

import numpy as np

from voicecoach.hearing.endpointer import SAMPLE_RATE

PAD_BEFORE_S = 0.3   # silence added before the recording (s)
PAD_AFTER_S = 0.5    # silence added after it (s)
CHUNK_S = 1.0        # audio read at a time (s of the file's own rate)


class NotAudio(ValueError):
    """The file is not a WAV recording this program can read; ``str()`` says why, plainly."""


def open_wav(path: str) -> wave.Wave_read:
    """Open a PCM WAV file, or raise :class:`NotAudio` with a plain reason."""
    import os
    import stat
    try:
        # O_NONBLOCK: a FIFO must not wait for a writer; only a regular file is read
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
            os.close(fd)
            raise IsADirectoryError if is_dir else NotAudio("not a WAV recording (a pipe or a device, not a "
                                                            "regular file); hear reads WAV files")
        os.set_blocking(fd, True)
        file = os.fdopen(fd, "rb")
        try:
            reader = wave.open(file, "rb")
        except BaseException:
            file.close()
            raise
        reader._i_opened_the_file = file  # (closed with the reader, as if wave had opened it)
    except FileNotFoundError:
        raise NotAudio("no such file") from None
    except IsADirectoryError:
        raise NotAudio("is a folder, not an audio file") from None
    except PermissionError:
        raise NotAudio("cannot be read (permission denied)") from None
    except EOFError:
        raise NotAudio("not a WAV recording (empty, or cut short in its header)") from None
    except wave.Error as exc:
        raise NotAudio(f"not a WAV recording ({exc}); hear reads PCM WAV files") from None
    except OSError as exc:
        raise NotAudio(f"cannot be read ({exc.strerror or exc})") from None
    channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
    if channels < 1 or width not in (1, 2, 3, 4) or not 4000 <= rate <= 192000:
        reader.close()
        raise NotAudio(f"unusual WAV format ({channels} channels, {8 * width}-bit, {rate} Hz); "
                       "hear reads 8- to 32-bit PCM at 4 to 192 kHz")
    return reader


def _to_float_mono(raw: bytes, channels: int, width: int) -> np.ndarray:
    """Samples in -1..1, channels averaged."""
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 3:
        b = np.frombuffer(raw[: len(raw) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float32) / 2 ** 23
    else:
        x = np.frombuffer(raw[: len(raw) // width * width], f"<i{width}").astype(np.float32) / 2 ** (8 * width - 1)
    x = x[: len(x) // channels * channels]
    return x.reshape(-1, channels).mean(axis=1) if channels > 1 else x


def stream_pcm16k(path: str) -> Iterator[bytes]:
    """16 kHz mono 16-bit PCM of a WAV file, chunk by chunk, padded with silence at both ends.

    Raises :class:`NotAudio` (before yielding anything) if the file is not readable audio;
    a file cut short mid-way simply ends.
    """
    reader = open_wav(path)
    channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
    step = rate / SAMPLE_RATE       # input samples per output sample
    pos = 0.0                       # position of the next output sample, in input samples from `prev`
    prev = np.zeros(0, np.float32)  # the input sample before the current chunk (for interpolation)

    def convert(x: np.ndarray) -> bytes:
        return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()

    def run() -> Iterator[bytes]:
        nonlocal pos, prev
        with reader:
            yield bytes(int(SAMPLE_RATE * PAD_BEFORE_S) * 2)
            while True:
                try:
                    raw = reader.readframes(int(rate * CHUNK_S))
                except (wave.Error, EOFError, OSError):
                    break  # a truncated file ends where it is cut
                if not raw:
                    break
                x = _to_float_mono(raw, channels, width)
                if rate == SAMPLE_RATE:
                    yield convert(x)
                    continue
                buf = np.concatenate([prev, x])
                idx = np.arange(pos, len(buf) - 1, step)
                if len(idx):
                    yield convert(np.interp(idx, np.arange(len(buf)), buf))
                    pos = idx[-1] + step
                pos -= len(buf) - 1   # keep the last sample for the next chunk
                prev = buf[-1:]
            yield bytes(int(SAMPLE_RATE * PAD_AFTER_S) * 2)

    return run()
