"""Vectors for the benchmark stores from the real model, each distinct text embedded once across runs.

A benchmark measures what using vectors costs (query encoding, FAISS search, fusion, re-ranking), and
apart from query encoding that cost does not depend on the vectors' values. Embedding a 10k-chunk
store with the bundled model would take the better part of an hour on 2 cores (every chunk and each of
its sentences), so a store gets real vectors for up to REAL_CHUNKS of its chunks — the planted
documents first, since the "right document first" figure needs their true vectors, then chunks whose
texts an earlier run already embedded — kept in a cache between runs (index/vector_cache.py), and
every other chunk derived ones: real vectors from the cache plus noise, normalised, so the collection
keeps the spread of real vectors. The 1k corpus is a subset of the 10k one (bench/corpus.py, same
seed), so after a 1k run the 10k store needs little model work. Everything goes through the engine's
own embedding path (chunk vectors, sentence vectors, whatever it embeds), with a DerivingEncoder in
front of the model. docs/benchmarks.md says which figures rest on derived vectors.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from index.dense.cache import CachingEncoder, VectorCache
from index.dense.model import Embedder, Encoder
from index.engine import Engine

REAL_CHUNKS = 1_100  # chunks per store that get the model's own vectors (all of the 1k corpus: 1,005 chunks)
NOISE = 0.5  # norm of the noise added to a real vector (cosine to its source about 0.9)
REAL_BATCH = 32  # chunks per committed batch while the model embeds (a progress line each)


class DerivingEncoder(CachingEncoder):
    """A CachingEncoder that, once `derive` is set, answers texts the cache lacks with derived vectors
    (a random cached vector plus noise) instead of asking the model."""

    def __init__(self, inner: Encoder, cache: VectorCache, seed: int = 0):
        super().__init__(inner, cache)
        self.derive = False
        self.derived = 0
        self._rng = np.random.default_rng(seed)

    def missing(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not self.derive:
            return super().missing(texts, show_progress)
        picked = self.cache.sample(len(texts), self._rng)
        noise = self._rng.normal(size=picked.shape).astype(np.float32) * (NOISE / np.sqrt(picked.shape[1]))
        derived = picked + noise
        self.derived += len(texts)
        return derived / np.linalg.norm(derived, axis=1, keepdims=True)


@dataclass(frozen=True)
class VectorFill:
    real_chunks: int  # chunks whose vectors (and their sentences') are the model's
    derived_chunks: int
    texts_from_cache: int  # passage texts (chunks, sentences) served from the cache
    texts_encoded: int  # ... encoded by the model in this run
    texts_derived: int

    def to_dict(self) -> dict:
        return {
            "real": self.real_chunks,
            "derived": self.derived_chunks,
            "texts_from_cache": self.texts_from_cache,
            "texts_encoded": self.texts_encoded,
            "texts_derived": self.texts_derived,
        }


def fill_vectors(
    engine: Engine, embedder: Embedder, cache: VectorCache, priority: Collection[int] = (), real: int = REAL_CHUNKS
) -> VectorFill:
    """Embed every chunk of the engine's store under the embedder's key (see the module docstring).

    priority: chunk ids that get real vectors first (the planted documents).
    """
    encoder = DerivingEncoder(embedder.encoder, cache)
    filler = Engine(engine.store, engine.config, dataclasses.replace(embedder, encoder=encoder))
    pending = filler.store.chunks_without_vectors(embedder.name)
    order = sorted(pending, key=lambda row: (row[0] not in priority, cache.get(row[1]) is None, row[0]))
    real_ids = [cid for cid, _ in order[:real]]

    def report(done: int, total: int) -> None:
        print(f"  real vectors: {done} / {total} chunks", file=sys.stderr, flush=True)

    filler.vectors.embed_missing(report, batch=REAL_BATCH, among=real_ids)
    if encoder.encoded:
        cache.save()
    encoder.derive = True
    filler.sync_vectors()
    return VectorFill(len(real_ids), len(order) - len(real_ids), encoder.from_cache, encoder.encoded, encoder.derived)
