"""What a recognizer says about one utterance, and the rules every transcribing engine shares.

Two kinds of engine sit behind the hearing pipeline (``pipeline.py``), duck-typed by ``streaming``:

* **streaming** (pocketsphinx): fed frame by frame while the person speaks
  (``start``/``feed``/``finish``/``cancel``);
* **transcribing** (Whisper): given the whole utterance (``recognize(pcm, context)``);
  the pipeline may start it early, at the first pause, to hide its decode time.

A transcribing engine writes free text; :func:`understand` turns it into an intent of the
listening context by exact phrase match only (see ``Vocabulary.match``), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.content.vocabulary import Vocabulary


@dataclass(frozen=True)
class Recognition:
    """What one utterance was heard as."""

    text: str                 # what the engine heard ("" if nothing)
    intent: str | None        # None when rejected
    confidence: float         # engine's own score (pocketsphinx: score gap, 1e-4 nat/frame;
                              # Whisper: average token log-probability, nat)
    margin: float             # pocketsphinx: gap to the best other intent; Whisper: no-speech probability
    decode_ms: float          # decoding still to do after the end of speech (ms)
    reason: str               # 'accepted', or why not: 'too long', 'talk', 'no words', 'no phrase', 'not speech',
                              # 'low confidence', 'more than the phrase', 'ambiguous'
    engine: str = ""          # 'whisper', 'pocketsphinx', ...
    followed: str | None = None   # refused only because more was said after it: that intent (Whisper's
                              # closed vocabulary; barge-in weighs a "Stop." followed by the coach's voice)
    guess: str | None = None  # refused, but ranked first clearly enough to ask "Did you say ...?"
                              # (Whisper's closed vocabulary; ``closed.Thresholds.min_guess_*``)


def understand(vocabulary: Vocabulary, text: str, context: str) -> tuple[str | None, str]:
    """The intent of ``context`` (answers and commands) that ``text`` says exactly, and why not
    if none: ('better', 'accepted'), (None, 'no words'), (None, 'no phrase')."""
    if not vocabulary.read(text, ()):
        return None, "no words"
    intent = vocabulary.match(text, vocabulary.intents_for(context))
    return (intent, "accepted") if intent else (None, "no phrase")
