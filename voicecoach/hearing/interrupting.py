"""What barge-in takes while the coach talks: the interrupting intents, and how strong the
evidence for one must be over the coach's own voice (:class:`BargeInConfig`,
:func:`interrupting_intent`). Pure: ``duplex.py`` runs the audio side and asks here."""

from __future__ import annotations

import math
from dataclasses import dataclass

INTERRUPTING = ("stop", "pain", "worse", "pause")


@dataclass(frozen=True)
class BargeInConfig:
    """How strict listening over the coach's own voice is: a false "stop" from the coach's own
    "say stop" must never happen, a person's "stop" must nearly always be taken. The evidence is
    the closed-vocabulary recognizer's (``closed_whisper.py``): the intent's log-probability and
    its lead over the next intent of the context. Chosen by ``scripts/calibrate_bargein.py``
    from an open run of ``scripts/bench_bargein.py`` (half of the human speakers; the coach's
    own voice alone must never be taken, and the sentences that say the word are the hardest)."""

    min_score: float = -3.0          # the intent's log-probability at least this (nat); as in silence
    min_margin: float = 2.0          # ahead of the next intent by this much (nat); as in silence
    min_score_own_word: float = -0.1   # ... at least this when the coach's sentence has the same word (nat)
    # Over the coach, a person's word is followed by the coach's own voice (the residue the canceller
    # leaves), so Whisper writes "Stop. And breathe" and the rule that nothing may follow an answer
    # refuses it. An interrupting word refused only for that is taken on stronger evidence, and never
    # when the sentence says the word itself (its echo is exactly the word followed by more).
    min_score_followed: float = -1.0   # nat
    min_margin_followed: float = 3.0   # nat
    # Speech over the coach that does not pause (the residue glues the person's word into an utterance
    # too long to be an answer) is decoded anyway: its last ``probe_window_s``, ``probe_first_s``
    # after it began, then every ``probe_every_s``.
    probe_first_s: float = 0.5       # s
    probe_every_s: float = 0.35      # s
    probe_window_s: float = 1.2      # s
    duck_gain: float = 0.25          # the voice's amplitude while someone speaks over it (-12 dB)
    # Speech this far over the coach's predicted residue (or the room's floor) *holds* the sentence:
    # silence until the word is judged, then it resumes a little before where it stopped. While the
    # coach sounds, the canceller's suppressor also attenuates the person (5-13 dB on a "stop" at
    # 0 dB echo, measured through module-echo-cancel); held, their word reaches Whisper whole. Only
    # on clear speech: the residue's own bits rise a few dB over the prediction, and holding on
    # them would cut the coach into pieces (and the pieces were once heard as "Stop."). Off (inf):
    # with a canceller that removes little, the pieces it cut from the coach's own voice were heard
    # as "Stop", "Wait" and "It hurts"; on the mended test rig (2026-12-07) holding at 20 dB heard 38
    # of 60 human stops against 36 without, and once took the coach's "stomach" for "Stop" (README).
    hold_db: float = math.inf        # dB; math.inf: never hold, only duck
    hold_again_after_s: float = 1.5  # after speech that was no interrupting word, speech only lowers
                                     # the voice this long (s): no stammering on the residue
    follow_s: float = 3.2            # longest time a word begun in the sentence is followed after it (s)
    talked_over_min_s: float = 0.15  # speech going on this long after the sentence: an answer cut off (s)
    talked_over_max_s: float = 2.0   # ... and at most this long (longer is talk in the room) (s)
    follow_residue: bool = True      # speech must rise over the predicted residue of the coach's voice
    echo_tail_s: float = 0.45        # after the sentence, its echo and the room's reverberation still come
                                     # back this long (the half-duplex listener's tail, plus the input's
                                     # buffering): speech then is not counted as an answer cut off (s)


def interrupting_intent(heard, config: BargeInConfig, sentence: str = "", probe: bool = False) -> str | None:
    """The interrupting intent in ``heard`` (a :class:`HeardUtterance`), if the evidence is
    strong enough over the coach's voice; a word the sentence itself says ("say stop, or
    pain") needs more, since its echo is what the canceller leaves. ``probe``: a window of speech
    that had not paused, mostly the coach's residue, needs the followed word's evidence (the
    coach's uncancelled "Now gently bring one knee" was once "Stop!", -2.4 nat, 2.7 ahead)."""
    if heard is None:
        return None
    followed = getattr(heard, "followed", None)
    strong = heard.confidence >= config.min_score_followed and heard.margin >= config.min_margin_followed
    if heard.intent is None and followed in INTERRUPTING and followed not in _words(sentence):
        # refused only because more followed the word: over the coach, more always does
        return followed if strong else None
    if heard.intent not in INTERRUPTING or heard.reason != "accepted" or (probe and not strong):
        return None
    if heard.engine == "whisper":
        floor = config.min_score
        if heard.intent in _words(sentence):
            floor = max(floor, config.min_score_own_word)
        if heard.confidence < floor or heard.margin < config.min_margin:
            return None
    return heard.intent


def _words(sentence: str) -> set[str]:
    return {w.strip(".,;:!?\"'").lower() for w in sentence.split()}
