"""The answer reader: a cross-encoder that reads a question together with a short window of a passage and gives
the probability that the window answers the question.

What this module owns: how a (question, window, context) triple becomes one token sequence (the same function
serves training in bench/train_reader.py and serving here, so both see identical inputs), and serving the
fine-tuned model without torch, through the numpy runtime of `index.dense` with the reader's overlay.

The model is the bundled multilingual-e5-small cut to its first N encoder layers and fine-tuned on XQuAD
(articles 0-23, questions in 12 languages against English and Russian paragraphs) with near-topic traps
(a name, number, role, year or place swapped for one the article lacks) as negatives. The overlay
(`reader.npz`, "e5-overlay/1") holds only what differs from the bundled model: the kept layers and the head.

A window is one or two sentences; its context is the sentence before it, or the passage heading for a first
sentence. The sequence is ``<s> question </s></s> window </s></s> context </s>`` (no context: ``<s> question
</s></s> window </s>``), at most `ReaderConfig.max_length` tokens: the question keeps up to
`max_question_tokens`, the context at least `min_context_tokens` when it has them, the window the rest, and
the context whatever is left. The head reads the <s> state and gives one logit; the probability is its sigmoid.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.dense.runtime import Runtime
from index.dense.tokenizer import Prefix, Tokenizer
from index.dense.weights import ModelConfig

DEFAULT_PATH = Path(__file__).resolve().parent / "reader.npz"


class ReaderError(ValueError):
    """The reader file is missing or is not a reader overlay (no single-logit classifier head)."""


@dataclass(frozen=True)
class ReaderConfig:
    max_length: int = 128  # tokens of the whole sequence, specials included
    max_question_tokens: int = 40
    min_context_tokens: int = 16

    @classmethod
    def from_overlay(cls, config: dict[str, object]) -> ReaderConfig:
        reader = config.get("reader")
        if not isinstance(reader, dict):
            return cls()
        return cls(**{k: int(v) for k, v in reader.items() if k in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, int]:
        return {
            "max_length": self.max_length,
            "max_question_tokens": self.max_question_tokens,
            "min_context_tokens": self.min_context_tokens,
        }


def pair_ids(
    question: np.ndarray,
    window: np.ndarray,
    context: np.ndarray,
    config: ReaderConfig,
    model: ModelConfig,
) -> np.ndarray:
    """The reader's input ids from the content token ids of its three parts (see the module docstring)."""
    bos, eos = model.bos_id, model.eos_id
    specials = 6 if len(context) else 4
    budget = config.max_length - specials
    q = question[: min(len(question), config.max_question_tokens, budget - 1)]
    reserve = min(len(context), config.min_context_tokens)
    w = window[: max(budget - len(q) - reserve, 1)]
    c = context[: max(budget - len(q) - len(w), 0)]
    parts: list[np.ndarray | list[int]] = [[bos], q, [eos, eos], w, [eos]]
    if len(c):
        parts += [[eos], c, [eos]]
    return np.concatenate(parts).astype(np.int64)


def encode_pairs(
    tokenizer: Tokenizer,
    question: str,
    windows: Sequence[str],
    contexts: Sequence[str] | None,
    config: ReaderConfig,
) -> list[np.ndarray]:
    """Input ids for one question against each window (with its context, if given)."""
    if contexts is not None and len(contexts) != len(windows):
        raise ValueError(f"{len(windows)} windows but {len(contexts)} contexts")
    q = tokenizer.tokenize(question, Prefix.NONE).ids
    cache: dict[str, np.ndarray] = {}

    def ids(text: str) -> np.ndarray:
        if text not in cache:
            cache[text] = tokenizer.tokenize(text, Prefix.NONE).ids if text.strip() else np.zeros(0, np.int32)
        return cache[text]

    ctx = contexts if contexts is not None else [""] * len(windows)
    return [pair_ids(q, ids(w), ids(c), config, tokenizer.config) for w, c in zip(windows, ctx, strict=True)]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))


class Reader:
    """The fine-tuned reader over the numpy runtime. Immutable after `load`; safe to share between threads."""

    def __init__(self, runtime: Runtime, config: ReaderConfig) -> None:
        if not runtime.has_classifier:
            raise ReaderError("the overlay has no classifier head")
        weight = runtime.weights.tensors["classifier.weight"]
        if weight.shape[0] != 1:
            raise ReaderError(f"the reader's head gives one logit, this one gives {weight.shape[0]}")
        self.runtime = runtime
        self.config = config

    @classmethod
    def load(cls, path: str | os.PathLike[str] = DEFAULT_PATH, *, model_path: str | None = None) -> Reader:
        """The reader overlay at `path` over the bundled (or given) E5S1 model."""
        if not Path(path).is_file():
            raise ReaderError(f"no reader at {path}")
        runtime = Runtime.load(model_path, overlay=path)
        return cls(runtime, ReaderConfig.from_overlay(dict(runtime.weights.overlay_config)))

    @property
    def num_layers(self) -> int:
        return self.runtime.num_layers

    def logits(self, question: str, windows: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
        """Raw logits [len(windows)] (float32)."""
        if not windows:
            return np.zeros(0, dtype=np.float32)
        sequences = encode_pairs(self.runtime.tokenizer, question, windows, contexts, self.config)
        return self.runtime.classify_ids(sequences)[:, 0].astype(np.float32)

    def score(self, question: str, windows: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
        """Probability [len(windows)] that each window answers the question. `contexts[i]` is what precedes
        window i (its previous sentence, or the heading of the passage); leave it out and the reader judges
        the window alone."""
        return sigmoid(self.logits(question, windows, contexts)).astype(np.float32)
