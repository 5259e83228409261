"""Whisper's text decoder in numpy: the log-probability of many phrases given one encoding.

Scoring the phrases a listening context expects ("Yes.", "No.", "Five." ...) is forced
decoding: each phrase's tokens are fed to the decoder and the probability the model gives to
each of them is read. CTranslate2 can do that only one batch row per phrase, and it computes
the decoder's view of the audio (the cross-attention keys and values) again for every row,
which costs more than the phrases themselves. Here the audio's keys and values are computed
once per utterance, and the phrases are decoded as a tree of shared prefixes (" Not" of
" Not really" once), level by level; only the log-probabilities that are asked for are kept.

The weights are read from CTranslate2's own model file (``model.bin``, checked by sha256 in
``whisper.py`` before it is opened here); the decoder's float16 weights become float32 (115 MB,
of which the token embedding, also the output layer, 80 MB). Results agree with CTranslate2's int8 decoder within a few tenths
of a nat (``tests/models/test_whisper.py``).
"""

from __future__ import annotations

import math
import mmap
import struct
from pathlib import Path

import numpy as np

#: CTranslate2's type ids (include/ctranslate2/types.h): float32, int8, int16, int32, float16.
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
#: Levels of the phrase tree (from the prompt's last token) at which the beam may leave a
#: prefix behind: each costs a read of the 80 MB output layer, deeper levels are read together.
_BEAM_LEVELS = 3
#: Rows of the output layer computed at a time (64 x 51,864 float32 logits: 13 MB).
_ROWS = 64


class ModelFileError(ValueError):
    """The model file is not a CTranslate2 Whisper model this decoder can read."""


def read_ct2(path: Path, prefix: str = "decoder/") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model file (binary version 6) whose names start with
    ``prefix``, as read-only arrays over the file's bytes (aliases resolved)."""
    with open(path, "rb") as f:  # mapped, not read: only the decoder's weights are ever touched
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    offset = 0

    def take(fmt: str):
        nonlocal offset
        value = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value[0]

    def string() -> str:
        nonlocal offset
        n = take("H")
        text = data[offset:offset + n - 1].decode()
        offset += n
        return text

    try:
        if len(data) < 4:
            raise struct.error
        version = take("I")
        if version != 6:
            raise ModelFileError(f"model file version {version}, expected 6")
        string(), take("I")  # spec name, revision
        out: dict[str, np.ndarray] = {}
        for _ in range(take("I")):
            name = string()
            shape = [take("I") for _ in range(take("B"))]
            dtype = _DTYPES.get(take("B"))
            size = take("I")
            if name.startswith(prefix):
                if dtype is None:
                    raise ModelFileError(f"{name}: a weight type this decoder cannot read")
                out[name] = np.frombuffer(data, dtype, size // np.dtype(dtype).itemsize, offset).reshape(shape)
            offset += size
        for _ in range(take("I")):
            alias, target = string(), string()
            if alias.startswith(prefix) and target in out:
                out[alias] = out[target]
        return out
    except struct.error:
        raise ModelFileError("the model file ends too early") from None


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(np.float32(0.7978845608028654) * (x + np.float32(0.044715) * x * x * x)))


def _softmax(a: np.ndarray) -> np.ndarray:
    a = np.exp(a - a.max(-1, keepdims=True))
    return a / a.sum(-1, keepdims=True)


class WhisperDecoder:
    """Whisper's decoder (pre-norm Transformer) over an encoder output, in numpy float32."""

    def __init__(self, model_file: Path):
        # The matrices here are small: one BLAS thread does them fastest, and a thread pool
        # waiting for a core the encoder holds made them 30 times slower on a busy machine.
        from threadpoolctl import threadpool_limits
        threadpool_limits(1, user_api="blas")
        v = read_ct2(model_file)
        try:
            self.heads = int(v["decoder/num_heads"])
            self.embedding = v["decoder/embeddings/weight"].astype(np.float32)  # (vocab, d), also the output layer
            self.positions = v["decoder/position_encodings/encodings"].astype(np.float32)
            self.final_norm = (v["decoder/layer_norm/gamma"].astype(np.float32),
                               v["decoder/layer_norm/beta"].astype(np.float32))
            self.layers = []
            while f"decoder/layer_{len(self.layers)}/ffn/linear_0/weight" in v:
                p = f"decoder/layer_{len(self.layers)}/"
                self.layers.append({key[len(p):]: (value.astype(np.float32).T.copy() if value.ndim == 2
                                                   else value.astype(np.float32))
                                    for key, value in v.items() if key.startswith(p)})
        except KeyError as exc:
            raise ModelFileError(f"no {exc.args[0]} in the model file") from None
        self.d = self.embedding.shape[1]
        self.dh = self.d // self.heads

    def audio(self, encoded: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The cross-attention keys (heads, dh, frames) and values (heads, frames, dh) of each
        layer for one encoding (frames, d): computed once per utterance."""
        out = []
        for layer in self.layers:
            kv = encoded @ layer["attention/linear_1/weight"] + layer["attention/linear_1/bias"]
            keys = kv[:, : self.d].reshape(-1, self.heads, self.dh).transpose(1, 2, 0)
            values = kv[:, self.d:].reshape(-1, self.heads, self.dh).transpose(1, 0, 2)
            out.append((np.ascontiguousarray(keys), np.ascontiguousarray(values)))
        return out

    def _step(self, tokens: np.ndarray, position: int, past, audio, shared=None):
        """One token for each row of a batch; ``past``: per layer the rows' own self-attention
        keys and values so far, (rows, heads, n, dh) each, or None; ``shared``: per layer the
        keys and values every row sees first (the prompt's, (1, heads, P, dh)), or None. Returns
        the rows' last hidden state (normalised) and the keys and values to append to ``past``."""
        x = self.embedding[tokens] + self.positions[position]  # both float32 already
        scale = 1.0 / math.sqrt(self.dh)
        new = []
        for i, layer in enumerate(self.layers):
            h = _layer_norm(x, layer["self_attention/layer_norm/gamma"], layer["self_attention/layer_norm/beta"])
            qkv = h @ layer["self_attention/linear_0/weight"] + layer["self_attention/linear_0/bias"]
            q, k, v = (qkv[:, j * self.d:(j + 1) * self.d].reshape(-1, self.heads, 1, self.dh) for j in range(3))
            new.append((k, v))
            keys = k if past is None else np.concatenate([past[i][0], k], axis=2)
            values = v if past is None else np.concatenate([past[i][1], v], axis=2)
            logits = np.matmul(q, keys.transpose(0, 1, 3, 2)) * scale
            if shared is None:
                mixed = np.matmul(_softmax(logits), values)
            else:  # the prompt's keys once for all rows, not copied into each (rows x heads x P)
                sk, sv = shared[i]
                a = _softmax(np.concatenate([np.matmul(q, sk.transpose(0, 1, 3, 2)) * scale, logits], axis=-1))
                n = sk.shape[2]
                mixed = np.matmul(a[..., :n], sv) + np.matmul(a[..., n:], values)
            x = x + mixed.reshape(-1, self.d) @ layer["self_attention/linear_1/weight"] \
                + layer["self_attention/linear_1/bias"]
            x = self._hear_and_think(x, layer, audio[i])
        return _layer_norm(x, *self.final_norm), new

    def _hear_and_think(self, x: np.ndarray, layer: dict, audio: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The rest of a layer after its self-attention, for rows ``x`` (rows, d): attention to
        the audio (this layer's keys and values from :meth:`audio`), then the feed-forward block."""
        scale = 1.0 / math.sqrt(self.dh)
        h = _layer_norm(x, layer["attention/layer_norm/gamma"], layer["attention/layer_norm/beta"])
        q = (h @ layer["attention/linear_0/weight"] + layer["attention/linear_0/bias"]).reshape(-1, self.heads, self.dh)
        ck, cv = audio
        a = _softmax(np.einsum("bhd,hdt->hbt", q, ck, optimize=True) * scale)
        x = x + np.einsum("hbt,htd->bhd", a, cv, optimize=True).reshape(-1, self.d) \
            @ layer["attention/linear_2/weight"] + layer["attention/linear_2/bias"]
        h = _layer_norm(x, layer["ffn/layer_norm/gamma"], layer["ffn/layer_norm/beta"])
        return x + _gelu(h @ layer["ffn/linear_0/weight"] + layer["ffn/linear_0/bias"]) \
            @ layer["ffn/linear_1/weight"] + layer["ffn/linear_1/bias"]

    def _log_probs(self, hidden: np.ndarray, wanted: list[list[int]]) -> list[np.ndarray]:
        """log P(token) (nat) of the ``wanted[i]`` tokens after row ``i`` of ``hidden``, a block
        of rows at a time (a menu of routine names has hundreds of prefixes: 51,864 logits each)."""
        out = []
        for start in range(0, len(hidden), _ROWS):
            logits = hidden[start:start + _ROWS] @ self.embedding.T  # the output layer is the token embedding
            top = logits.max(1, keepdims=True)
            norm = top[:, 0].astype(np.float64) + np.log(np.exp(logits - top).sum(1, dtype=np.float64))
            out += [logits[i, tokens].astype(np.float64) - norm[i]
                    for i, tokens in enumerate(wanted[start:start + _ROWS])]
        return out

    def prepare(self, encoded: np.ndarray, prefix: list[int], audio=None) -> tuple:
        """What every phrase scored against one encoding shares: the audio's keys and values
        (``audio``, when already computed for this encoding by an earlier :meth:`prepare` with
        another prompt: element 0 of its result), and the prompt ``prefix`` but its last token
        decoded (pass it to :meth:`score`)."""
        audio = audio if audio is not None else self.audio(np.asarray(encoded, dtype=np.float32))
        past = self._prefix(np.array(prefix[:-1]), audio) if len(prefix) > 1 else None
        return audio, past, list(prefix)

    def _prefix(self, tokens: np.ndarray, audio) -> list[tuple[np.ndarray, np.ndarray]]:
        """The self-attention keys and values, (1, heads, n, dh) per layer, of ``n`` tokens
        decoded from position 0, in one pass (each token attends to itself and those before it:
        a prompt of routine names is some 80 tokens, one step each would cost as many passes)."""
        n = len(tokens)
        x = self.embedding[tokens] + self.positions[:n]
        scale = 1.0 / math.sqrt(self.dh)
        future = np.triu(np.full((n, n), -np.inf, np.float32), 1)
        out = []
        for layer in self.layers:
            h = _layer_norm(x, layer["self_attention/layer_norm/gamma"], layer["self_attention/layer_norm/beta"])
            qkv = h @ layer["self_attention/linear_0/weight"] + layer["self_attention/linear_0/bias"]
            q, k, v = (qkv[:, j * self.d:(j + 1) * self.d].reshape(n, self.heads, self.dh).transpose(1, 0, 2)
                       for j in range(3))
            out.append((np.ascontiguousarray(k[None]), np.ascontiguousarray(v[None])))
            a = _softmax(np.matmul(q, k.transpose(0, 2, 1)) * scale + future)
            x = x + np.matmul(a, v).transpose(1, 0, 2).reshape(n, self.d) @ layer["self_attention/linear_1/weight"] \
                + layer["self_attention/linear_1/bias"]
            x = self._hear_and_think(x, layer, audio[len(out) - 1])
        return out

    def score(self, prepared: tuple, phrases: list[list[int]], after: list[list[int]],
              beam: float | None = None) -> list[tuple[float, float | None]]:
        """For each token list of ``phrases``: log P(its tokens | audio, prefix) (nat), and the
        log of the summed probability of the ``after`` tokens right after it (the end of the
        text, punctuation...). ``prepared``: from :meth:`prepare`.

        ``beam`` (nat): the tree is decoded level by level, and a prefix whose log-probability
        falls this far behind the best of its level is not decoded further; its phrases come
        back as (the prefix's log-probability, None): an upper bound of their score, no end.
        (A menu of routine names has hundreds of prefixes, and each costs the output layer's
        51,864 logits.)"""
        audio, shared, prefix = prepared
        children: dict[tuple[int, ...], set[tuple[int, ...]]] = {(): set()}
        wanted: dict[tuple[int, ...], set[int]] = {(): set()}
        for phrase, tail in zip(phrases, after):
            for n in range(1, len(phrase) + 1):
                node = tuple(phrase[:n])
                children.setdefault(node, set())
                wanted.setdefault(node, set())
                children[node[:-1]].add(node)
                wanted[node[:-1]].add(node[-1])
            wanted[tuple(phrase)].update(tail)
        partial = {(): 0.0}       # log P(the node's tokens) (nat)
        table: dict[tuple[int, ...], dict[int, float]] = {}  # node -> token -> log P(token after it)
        caches: dict[tuple[int, ...], list | None] = {(): None}  # a node's own keys and values
        level = [()]
        deferred: list[tuple[tuple[int, ...], np.ndarray]] = []  # (node, hidden state)
        for depth in range(max(map(len, children)) + 1):
            if not level:
                break
            tokens = np.array([n[-1] if n else prefix[-1] for n in level])
            parents = [caches[n[:-1]] if n else None for n in level]
            batch = None if parents[0] is None else [
                (np.concatenate([p[i][0] for p in parents]), np.concatenate([p[i][1] for p in parents]))
                for i in range(len(self.layers))]
            h, new = self._step(tokens, len(prefix) - 1 + depth, batch, audio, shared)
            # a small tree is cheaper decoded whole: each level's log-probabilities read the layer
            pruning = beam is not None and depth < _BEAM_LEVELS and len(children) > _ROWS
            if pruning:  # this level's log-probabilities now, to leave the unlikely behind
                lists = [sorted(wanted[n]) for n in level]
                for node, tokens_, lps in zip(level, lists, self._log_probs(h, lists)):
                    table[node] = dict(zip(tokens_, lps))
            else:  # later, with every other deeper level: the output layer read once
                deferred += list(zip(level, h))
            following = []
            for row, node in enumerate(level):
                if children[node]:
                    caches[node] = [((np.concatenate([b[0][row:row + 1], n[0][row:row + 1]], 2) if b else n[0][row:row + 1]),
                                     (np.concatenate([b[1][row:row + 1], n[1][row:row + 1]], 2) if b else n[1][row:row + 1]))
                                    for b, n in zip(batch or [None] * len(new), new)]
                following += sorted(children[node])
            if pruning and following:
                for child in following:
                    partial[child] = partial[child[:-1]] + float(table[child[:-1]][child[-1]])
                top = max(partial[c] for c in following)
                following = [c for c in following if partial[c] >= top - beam]
            for node in level:  # a level's keys and values are needed by the next one only
                if node:
                    caches.pop(node[:-1], None)
            level = following
        if deferred:
            lists = [sorted(wanted[n]) for n, _ in deferred]
            for (node, _), tokens_, lps in zip(deferred, lists, self._log_probs(np.stack([h for _, h in deferred]), lists)):
                table[node] = dict(zip(tokens_, lps))
            for node in sorted((n for n in table if n), key=len):
                partial.setdefault(node, partial[node[:-1]] + float(table[node[:-1]][node[-1]]))
        out: list[tuple[float, float | None]] = []
        for phrase, tail in zip(phrases, after):
            node = tuple(phrase)
            if node not in table:  # left behind by the beam: its deepest prefix bounds it
                reached = max((tuple(phrase[:n]) for n in range(1, len(phrase) + 1) if tuple(phrase[:n]) in partial), key=len)
                out.append((partial[reached], None))
                continue
            ends = np.array([table[node][t] for t in tail])
            m = ends.max()
            out.append((partial[node], float(m + np.log(np.exp(ends - m).sum()))))
        return out
