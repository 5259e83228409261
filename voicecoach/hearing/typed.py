"""Text mode: answers typed on stdin (the sentences are printed by ``speech.captions``).

Used with ``--text``, and as the fallback when there is no microphone or no voice.
"""

from __future__ import annotations

import select
import sys
from typing import Sequence, TextIO

from voicecoach.core.events import Heard, InputEnded, NotUnderstood
from voicecoach.core.ports import Clock
from voicecoach.content.vocabulary import Vocabulary


class TypedListener:
    """Reads one typed line per question and maps it with the vocabulary.

    During holds it reads commands only from a terminal: from a pipe every line is
    an answer to a question, and must not be eaten by a hold. End of input means stop.
    """

    def __init__(self, vocabulary: Vocabulary, clock: Clock, inp: TextIO | None = None,
                 out: TextIO | None = None):
        self.vocab, self.clock = vocabulary, clock
        self.inp, self.out = inp or sys.stdin, out or sys.stdout
        self.eof = False
        try:
            self.interactive = self.inp.isatty()
        except (AttributeError, ValueError):
            self.interactive = False

    def listen(self, intents: Sequence[str], context: str, timeout_s: float | None):
        if self.eof:
            return InputEnded()
        background = timeout_s is not None and context == "exercise"
        if background and not self.interactive:
            self.clock.sleep(timeout_s)
            return None
        if not background:
            print(f"[listening: {self.vocab.hint(context, intents)}]", file=self.out, flush=True)
        if background:
            real = getattr(self.clock, "real_seconds", lambda s: s)(timeout_s)
            ready, _, _ = select.select([self.inp], [], [], max(0.0, real))
            if not ready:
                return None
        line = self.inp.readline()
        if not line:
            self.eof = True
            return InputEnded()  # nobody left to answer: the coach stops without asking
        intent = self.vocab.match(line, intents)
        return Heard(intent, line.strip()) if intent else NotUnderstood(line.strip())
