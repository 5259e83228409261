"""The vocabulary: spoken phrases mapped to intents, from ``vocabulary.yaml``.

One file feeds both the typed mode (exact phrase matching) and the speech recognizer
(its grammar is generated from :meth:`Vocabulary.phrases_for`), so a phrase is never
written twice. Routine names and aliases become ``start:<routine-id>`` intents.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping

from voicecoach.content.yamlio import load_with_nodes

#: Intents that act as commands and are accepted in every listening context.
START_PREFIX = "start:"

_TOKEN = re.compile(r"\[|\]|\(|\)|\||[^\[\]()|]+")


def expand_template(template: str) -> list[str]:
    """Expand ``[optional]`` and ``(a|b)`` groups into every plain phrase, normalised."""
    tokens = _TOKEN.findall(template)
    pos = 0

    def parse_seq(closers: str) -> list[str]:
        nonlocal pos
        results = [""]
        while pos < len(tokens) and tokens[pos] not in closers:
            tok = tokens[pos]
            pos += 1
            if tok == "[":
                options = parse_alts("]") + [""]
            elif tok == "(":
                options = parse_alts(")")
            else:
                options = [tok]
            results = [a + b for a, b in itertools.product(results, options)]
        return results

    def parse_alts(closer: str) -> list[str]:
        nonlocal pos
        alts = parse_seq("|" + closer)
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            alts += parse_seq("|" + closer)
        if pos >= len(tokens) or tokens[pos] != closer:
            raise ValueError(f"unbalanced brackets in template {template!r}")
        pos += 1
        return alts

    phrases = parse_seq("")
    if pos != len(tokens):
        raise ValueError(f"unbalanced brackets in template {template!r}")
    return sorted({normalise(p) for p in phrases if normalise(p)})


def plain_form(template: str) -> str:
    """A template without its optional parts, first choice taken: '[it's] (a|b) c' -> 'a c'."""
    text = re.sub(r"\[[^\]]*\]", " ", template)
    text = re.sub(r"\(([^|)]*)[^)]*\)", r"\1", text)
    return " ".join(text.split())


def normalise(text: str) -> str:
    """Lower-case, keep letters, digits and apostrophes, single spaces."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def spell_numbers(text: str) -> str:
    """Digits as words ("3" -> "three", "10" -> "ten"); other numbers are left alone (and so
    match no phrase)."""
    return " ".join(NUMBER_WORDS[int(w)] if w.isdecimal() and len(w) <= 2 and int(w) <= 10 else w
                    for w in text.split())


@dataclass(frozen=True)
class Vocabulary:
    """Phrases per intent, the commands heard everywhere, and the listening contexts."""

    phrases: Mapping[str, tuple[str, ...]]
    commands: tuple[str, ...]
    contexts: Mapping[str, tuple[str, ...]]
    start_templates: tuple[str, ...]
    routine_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: intent -> the plain form of its first template, what prompts suggest ("yes", "the same")
    examples: Mapping[str, str] = field(default_factory=dict)
    #: word -> what a recognizer may write for it ("two" -> "to", "too"); see :meth:`reading`
    sound_alikes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: commands that must never be missed (stop, pain, worse)
    always_heard: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path | None = None) -> "Vocabulary":
        if path is None:
            ref = resources.files("voicecoach.content") / "vocabulary.yaml"
            data, _ = load_with_nodes("vocabulary.yaml", ref.read_text(encoding="utf-8"))
        else:
            data, _ = load_with_nodes(path)
        phrases = {
            str(intent): tuple(sorted({p for t in templates for p in expand_template(t)}))
            for intent, templates in data["intents"].items()
        }
        return cls(
            phrases=phrases,
            commands=tuple(data["commands"]),
            contexts={k: tuple(str(i) for i in v) for k, v in data["contexts"].items()},
            start_templates=tuple(data["start"]),
            examples={str(intent): plain_form(templates[0]) for intent, templates in data["intents"].items()},
            sound_alikes={str(word): tuple(normalise(a) for a in alikes)
                          for word, alikes in (data.get("sound_alikes") or {}).items()},
            always_heard=tuple(data.get("always_heard") or ()),
        )

    def with_routines(self, names: Mapping[str, Iterable[str]]) -> "Vocabulary":
        """Add ``start:<id>`` intents for routines, ``names`` maps id -> spoken names."""
        routine_names = {rid: tuple(normalise(n) for n in ns) for rid, ns in names.items()}
        phrases = {k: v for k, v in self.phrases.items() if not k.startswith(START_PREFIX)}
        for rid, spoken in routine_names.items():
            out: set[str] = set()
            for template in self.start_templates:
                for name in spoken:
                    out.update(expand_template(template.replace("{routine}", name)))
            phrases[START_PREFIX + rid] = tuple(sorted(out))
        return Vocabulary(phrases, self.commands, self.contexts, self.start_templates, routine_names,
                          self.examples, self.sound_alikes, self.always_heard)

    # -- which intents a context accepts ------------------------------------------
    def answers_for(self, context: str) -> tuple[str, ...]:
        """A context's own answers (without the commands heard everywhere)."""
        own: list[str] = []
        for name in self.contexts[context]:
            if name == "start":
                own += sorted(i for i in self.phrases if i.startswith(START_PREFIX))
            else:
                own.append(name)
        return tuple(own)

    def intents_for(self, context: str) -> tuple[str, ...]:
        """Intents accepted in a listening context, its own answers first, then commands."""
        own = self.answers_for(context)
        return own + tuple(c for c in self.commands if c not in own)

    def phrases_for(self, intents: Iterable[str]) -> dict[str, str]:
        """phrase -> intent for the given intents (what a grammar is built from)."""
        table: dict[str, str] = {}
        for intent in intents:
            for phrase in self.phrases.get(intent, ()):
                table.setdefault(phrase, intent)
        return table

    def reading(self, intents: Iterable[str]) -> dict[str, str]:
        """Sound-alike -> word, for the words these intents' phrases use: "to" -> "two" where a
        number is expected. A sound-alike that is itself a word of these phrases is never read
        as another word."""
        words = self.words(intents)
        return {alike: word for word, alikes in self.sound_alikes.items() if word in words
                for alike in alikes if alike not in words}

    def read(self, text: str, intents: Iterable[str]) -> str:
        """A transcript (or typed line) as the phrases of ``intents`` are written: lower case, no
        punctuation, digits as words, sound-alikes as the word they stand for, a word said twice
        in a row once ("no, no" is "no"; recognizers also write "Four, four," for one "four")."""
        reading = self.reading(intents)
        words = [reading.get(w, w) for w in spell_numbers(normalise(text)).split()]
        return " ".join(w for i, w in enumerate(words) if i == 0 or w != words[i - 1])

    def match(self, text: str, intents: Iterable[str]) -> str | None:
        """The intent whose phrase equals ``text`` (as :meth:`read` reads it) exactly, or None.
        Never a guess: a phrase inside a longer sentence is not a match."""
        intents = list(intents)
        table = self.phrases_for(intents)  # a context's own answers first: they win over commands
        heard = table.get(self.read(text, intents))
        if heard is not None:
            return heard
        said = normalise(text)
        # Typing the intent name itself is fine in text mode, but only after the phrases: the
        # command named "back" must not shadow the answer "back" to "where does the pain reach?".
        return said if said in intents else None

    def words(self, intents: Iterable[str]) -> set[str]:
        return {w for p in self.phrases_for(intents) for w in p.split()}

    def describe(self, intents: Iterable[str]) -> str:
        """Short spoken list of what to say, e.g. 'better, worse, or the same'."""
        examples = [self.example(i) for i in intents]
        if len(examples) <= 2:
            return " or ".join(examples)
        return ", ".join(examples[:-1]) + ", or " + examples[-1]

    def hint(self, context: str, intents: Iterable[str] = ()) -> str:
        """What one can say now, for captions and screens: 'better, worse, the same'.

        ``intents`` (what the coach listens for) is used where a context has no answers
        of its own, e.g. commands while paused."""
        if context == "pain":
            return "a number from zero to ten, or skip"
        own = [i for i in intents if i in self.answers_for(context)] if intents else []
        own = own or (list(self.answers_for(context)) if context != "exercise" else list(intents))
        text = ", ".join(self.example(i) for i in own)
        return text + (", or skip" if context in ("location", "movement") else "")

    def example(self, intent: str) -> str:
        """The phrase a prompt should suggest for an intent (its first template, plainly)."""
        if intent.startswith(START_PREFIX):
            return self.routine_names.get(intent[len(START_PREFIX):], (intent,))[0]
        return self.examples.get(intent) or min(self.phrases.get(intent, (intent,)), key=len)
