"""Hand-written fakes for the ports (Clock, Speaker, Listener). One place, no Mock()."""

from __future__ import annotations

from dataclasses import dataclass, field

from voicecoach.core.events import Heard, NotUnderstood


class FakeClock:
    """A clock that moves only when told to (or when something sleeps on it)."""

    def __init__(self, t: float = 0.0):
        self.t = t

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


@dataclass
class FakeSpeaker:
    clock: FakeClock
    seconds_per_word: float = 0.0  # >0 lets speech take clock time, like a real voice
    said: list[str] = field(default_factory=list)
    cues: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.said.append(text)
        self.clock.sleep(len(text.split()) * self.seconds_per_word)

    def cue(self, name: str) -> None:
        self.cues.append(name)

    def text(self) -> str:
        return "\n".join(self.said)


class ScriptExhausted(AssertionError):
    pass


@dataclass
class Interrupt:
    """Say ``intent`` ``after_s`` seconds into the first wait after a sentence containing ``trigger``."""

    trigger: str
    intent: str
    after_s: float = 1.0


class ScriptedListener:
    """Answers questions from a list; interrupts holds when a trigger sentence was said.

    ``answers`` items: an intent name, ``None`` for silence, ``"?words"`` for speech
    that is not understood, or ``"?words~intent"`` for speech not understood that the
    recognizer ranked as that intent (worth asking "Did you say ...?").
    """

    def __init__(self, clock: FakeClock, speaker: FakeSpeaker, answers=(), interrupts=()):
        self.clock, self.speaker = clock, speaker
        self.answers = list(answers)
        self.interrupts = list(interrupts)
        self.contexts: list[str] = []
        self._checked = 0

    def listen(self, intents, context, timeout_s):
        background = timeout_s is not None and context == "exercise"
        if background:
            recent = self.speaker.said[self._checked:]
            if self.interrupts and any(self.interrupts[0].trigger in s for s in recent):
                self._checked = len(self.speaker.said)
                it = self.interrupts.pop(0)
                assert it.intent in intents, f"{it.intent} not accepted during a hold: {intents}"
                self.clock.sleep(min(it.after_s, timeout_s))
                return Heard(it.intent, it.intent)
            self._checked = len(self.speaker.said)
            self.clock.sleep(timeout_s)
            return None
        self.contexts.append(context)
        if not self.answers:
            raise ScriptExhausted(f"no scripted answer left for {context}; last said: {self.speaker.said[-3:]}")
        answer = self.answers.pop(0)
        self.clock.sleep(1.0)
        if answer is None:
            self.clock.sleep(max(0.0, (timeout_s or 0) - 1.0))
            return None
        if answer.startswith("?"):
            words, _, guess = answer[1:].partition("~")
            return NotUnderstood(words, guess or None)
        assert answer in intents, f"{answer!r} not accepted in context {context}: {intents}"
        return Heard(answer, answer)


@dataclass
class ListRecorder:
    records: list[tuple[str, dict]] = field(default_factory=list)

    def record(self, kind: str, data: dict) -> None:
        self.records.append((kind, data))

    def kinds(self, kind: str) -> list[dict]:
        return [d for k, d in self.records if k == kind]


class BreakingSpeaker(FakeSpeaker):
    """A loudspeaker that goes away after ``works_for`` sentences (raises DeviceLost)."""

    def __init__(self, clock: FakeClock, works_for: int):
        super().__init__(clock)
        self.works_for = works_for

    def say(self, text: str) -> None:
        from voicecoach.session.faults import DeviceLost
        if len(self.said) >= self.works_for:
            raise DeviceLost("loudspeaker", "test: unplugged")
        super().say(text)


class BreakingListener:
    """Passes ``listen`` to ``inner`` until call number ``breaks_at`` (1-based), which raises
    DeviceLost, as a microphone does when the sound server goes."""

    def __init__(self, inner, breaks_at: int):
        self.inner, self.breaks_at, self.calls = inner, breaks_at, 0

    def listen(self, intents, context, timeout_s):
        from voicecoach.session.faults import DeviceLost
        self.calls += 1
        if self.calls == self.breaks_at:
            raise DeviceLost("microphone", "test: unplugged")
        return self.inner.listen(intents, context, timeout_s)


class FakeLoudspeaker:
    """The Loudspeaker's interface without a device: keeps what it was given to play.

    ``stop_after`` chunks (if set) are played before a stop() arrives, as if from
    another thread."""

    CHUNK_S = 0.02  # s, as the real one

    def __init__(self, rate: int, stop_after: int | None = None):
        self.rate = rate
        self.latency_s = 0.04
        self.played: list[bytes] = []
        self.stop_after = stop_after
        self._stopped = False

    def play(self, pcm: bytes, on_first_chunk=None) -> bool:
        self._stopped = False
        step = int(self.rate * self.CHUNK_S) * 2
        out = b""
        for n, i in enumerate(range(0, len(pcm), step)):
            if n == self.stop_after:
                self.stop()
            if self._stopped:
                self.played.append(out)
                return False
            if i == 0 and on_first_chunk:
                on_first_chunk()
            out += pcm[i:i + step]
        self.played.append(out)
        return True

    def stop(self) -> None:
        self._stopped = True


class FakeMicrophone:
    """Hands out prepared 30 ms frames with their capture times (monotonic s), then nothing."""

    def __init__(self, frames: list[tuple[float, bytes]]):
        self.frames = list(frames)

    def read(self, timeout: float):
        return self.frames.pop(0) if self.frames else None


@dataclass
class QuietFrom:
    """What VoiceListener needs of a speaker: when it stopped talking (monotonic s)."""

    quiet_from: float


class ProbingSpeaker(FakeSpeaker):
    """A FakeSpeaker that calls ``probe('say', text)`` as each sentence starts (to look at a screen then)."""

    def __init__(self, clock: FakeClock, probe):
        super().__init__(clock)
        self.probe = probe

    def say(self, text: str) -> None:
        self.probe("say", text)
        super().say(text)


class ProbingListener(ScriptedListener):
    """A ScriptedListener that calls ``probe('listen', (intents, context, timeout_s))`` first."""

    def __init__(self, clock, speaker, answers=(), interrupts=(), probe=None):
        super().__init__(clock, speaker, answers, interrupts)
        self.probe = probe

    def listen(self, intents, context, timeout_s):
        if self.probe:
            self.probe("listen", (tuple(intents), context, timeout_s))
        return super().listen(intents, context, timeout_s)


class FakeSoundServer:
    """The :class:`~voicecoach.devices.pulse_echo.SoundServer` protocol without PulseAudio: keeps
    the modules loaded; ``fail_load`` makes loading fail as pactl would."""

    def __init__(self, sink: str = "speaker", source: str = "mic", fail_load: bool = False):
        self.sink, self.source, self.fail_load = sink, source, fail_load
        self.loaded: dict[int, tuple[str, str]] = {}
        self._next = 10

    def defaults(self) -> tuple[str, str]:
        return self.sink, self.source

    def modules(self) -> list[tuple[int, str, str]]:
        return [(i, name, arg) for i, (name, arg) in self.loaded.items()]

    def load_module(self, name: str, args: list[str]) -> int:
        from voicecoach.devices.pulse_echo import SoundServerError
        if self.fail_load:
            raise SoundServerError("pactl load-module: Module initialization failed")
        self._next += 1
        self.loaded[self._next] = (name, " ".join(args))
        return self._next

    def unload_module(self, index: int) -> None:
        from voicecoach.devices.pulse_echo import SoundServerError
        if self.loaded.pop(index, None) is None:
            raise SoundServerError(f"pactl unload-module: no module {index}")
