"""Text mode: the coach's sentences as printed lines.

Used with ``--text``, and as the fallback when there is no voice.
"""

from __future__ import annotations

import sys
from typing import TextIO


class PrintSpeaker:
    """Speaker that prints each sentence on its own line."""

    def __init__(self, out: TextIO | None = None):
        self.out = out or sys.stdout

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def cue(self, name: str) -> None:
        pass  # cues are sounds; a caption would only add noise
