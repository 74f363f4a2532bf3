"""Late chunking: a chunk's vector and its sentences' vectors from one forward pass over the chunk.

Embedding each sentence on its own costs a pass per sentence (about six a chunk) and loses the context a
sentence leans on: "There are 10 industrial parks in the region" does not say which region, so its own
vector is far from a question about Kaluga. Pooling the token states of the chunk's single pass over each
sentence's characters (Günther et al., 2024, "Late Chunking") gives every sentence its context at no extra
model cost.

Windows: a text that fits the model (510 content tokens) is one pass, and its vector is exactly the runtime's
passage vector. A longer one is read in overlapping windows (OVERLAP tokens shared), so no sentence is cut off
from what comes before it; each token's state is taken from the window where it sits most centrally, the
chunk vector is the mean of those states, and a sentence's vector the mean over its own tokens.

Spans: sentences come from the sentence splitter, which joins hard-wrapped lines, so a sentence is not always
a verbatim substring of the chunk; `sentence_spans` aligns them on the text with whitespace collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.dense.runtime import Runtime, Span
from index.dense.tokenizer import NO_OFFSET, Prefix

OVERLAP = 128  # tokens two neighbouring windows share in a chunk longer than the model's limit


@dataclass(frozen=True)
class LateVectors:
    """One chunk: its vector and one vector per sentence span (all L2-normalised)."""

    chunk: np.ndarray
    sentences: np.ndarray  # [n_spans, dim]


def sentence_spans(text: str, sentences: Sequence[str], start: int = 0) -> list[Span]:
    """The [start, end) character span of each sentence in `text`, in order, matched with whitespace collapsed.

    A sentence that cannot be found (it should not happen: the splitter only joins and trims) gets the span of
    the whole text after the previous one, so it still has a vector."""
    collapsed: list[str] = []
    origin: list[int] = []
    previous_space = False
    for i, char in enumerate(text[start:], start):
        if char.isspace():
            if previous_space:
                continue
            previous_space = True
            collapsed.append(" ")
        else:
            previous_space = False
            collapsed.append(char)
        origin.append(i)
    flat = "".join(collapsed)
    spans: list[Span] = []
    cursor = 0
    for sentence in sentences:
        needle = re.sub(r"\s+", " ", sentence.strip())
        at = flat.find(needle, cursor) if needle else -1
        if at < 0:
            spans.append((origin[cursor] if cursor < len(origin) else len(text), len(text)))
            continue
        end = at + len(needle)
        spans.append((origin[at], origin[end - 1] + 1))
        cursor = end
    return spans


def _windows(n: int, size: int, overlap: int) -> list[tuple[int, int]]:
    if n <= size:
        return [(0, n)]
    stride = size - overlap
    starts = [*range(0, n - size, stride), n - size]
    return [(lo, lo + size) for lo in dict.fromkeys(starts)]


def late_vectors(runtime: Runtime, texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> list[LateVectors]:
    """Passage vectors of `texts` and, for each, one vector per character span, from one pass per text."""
    config = runtime.config
    size = config.max_positions - 2
    tokenized = [runtime.tokenize(text, Prefix.PASSAGE) for text in texts]
    sequences: list[np.ndarray] = []
    owners: list[tuple[int, int, int]] = []
    for index, tokens in enumerate(tokenized):
        for lo, hi in _windows(len(tokens), size, OVERLAP):
            sequences.append(np.concatenate([[config.bos_id], tokens.ids[lo:hi], [config.eos_id]]).astype(np.int64))
            owners.append((index, lo, hi))
    states = runtime.forward_ids(sequences) if sequences else []
    per_text: list[list[tuple[int, int, np.ndarray]]] = [[] for _ in texts]
    for (index, lo, hi), state in zip(owners, states, strict=True):
        per_text[index].append((lo, hi, state))
    out: list[LateVectors] = []
    for tokens, pieces, text_spans in zip(tokenized, per_text, spans, strict=True):
        if len(pieces) == 1:
            lo, hi, state = pieces[0]
            content = state[1 : 1 + hi - lo]
            chunk = _unit(state.mean(axis=0))  # the runtime's passage vector: <s> and </s> included
        else:
            content = _central_states(len(tokens), pieces)
            chunk = _unit(content.mean(axis=0))
        offsets = tokens.offsets
        starts, ends = offsets[:, 0], offsets[:, 1]
        real = (starts != NO_OFFSET) & (ends > starts)
        vectors = []
        for lo_char, hi_char in text_spans:
            rows = np.flatnonzero(real & (starts < hi_char) & (ends > lo_char))
            vectors.append(_unit(content[rows].mean(axis=0)) if rows.size else chunk)
        matrix = np.stack(vectors) if vectors else np.zeros((0, chunk.shape[0]), dtype=np.float32)
        out.append(LateVectors(chunk, matrix.astype(np.float32, copy=False)))
    return out


def _central_states(n: int, pieces: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    """Each content token's state from the window where it is furthest from an edge."""
    best = np.full(n, -1, dtype=np.int64)
    margin = np.full(n, -1, dtype=np.int64)
    for w, (lo, hi, _) in enumerate(pieces):
        positions = np.arange(lo, hi)
        m = np.minimum(positions - lo, hi - 1 - positions)
        better = m > margin[lo:hi]
        margin[lo:hi] = np.where(better, m, margin[lo:hi])
        best[lo:hi] = np.where(better, w, best[lo:hi])
    dim = pieces[0][2].shape[1]
    content = np.empty((n, dim), dtype=np.float32)
    for w, (lo, _hi, state) in enumerate(pieces):
        mine = np.flatnonzero(best == w)
        content[mine] = state[1 + mine - lo]
    return content


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)
