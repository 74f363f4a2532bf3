"""The FAISS vector index: a derived structure, rebuilt from the store whenever missing or stale.

Its ids are chunk ids. It is saved as a single file (a JSON header + the serialized index) and
replaced atomically, and the header records the store generation it was built from, so a crash
or a concurrent change can never leave a silently wrong index behind: it just gets rebuilt.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import faiss
import numpy as np

MAGIC = b"INVESTBOT-FAISS-1\n"
INDEX_FILENAME = "vectors.faiss"


# Above this many vectors the engine builds an IVF index (approximate, much faster per query);
# below it exact search is fast enough. Chosen from bench/run.py, see docs/benchmarks.md.
IVF_MIN_VECTORS = 50_000
IVF_NPROBE = 0  # 0: a tenth of the cells (at least 8), set when the index is built


@dataclass
class IndexHeader:
    model: str
    dim: int
    generation: int
    count: int
    kind: str = "flat"
    nprobe: int = 8


def choose_kind(n: int) -> str:
    return "ivf" if n >= IVF_MIN_VECTORS else "flat"


class VectorIndex:
    """Inner-product search over normalised vectors (= cosine similarity).

    "flat" is exact; "ivf" (an inverted file over k-means cells, probing `nprobe` of them) is
    approximate and chosen by build() for large collections. Both take chunk ids directly and
    support removal, so the engine can keep either in step with the store.
    """

    def __init__(self, dim: int, model: str, index: faiss.Index | None = None, kind: str = "flat", nprobe: int = 8):
        self.dim = dim
        self.model = model
        self.kind = kind
        self.nprobe = nprobe
        self.generation = -1  # the store generation this index reflects; -1 = not saved yet
        self.index: faiss.Index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._quantizer: faiss.Index | None = None  # an IVF index's coarse quantizer, kept alive with it
        if kind == "ivf":
            faiss.extract_index_ivf(self.index).nprobe = nprobe

    @classmethod
    def ivf(cls, dim: int, model: str, training: np.ndarray, nprobe: int = IVF_NPROBE) -> VectorIndex:
        """An empty IVF index trained on `training` (a sample of the vectors it will hold)."""
        nlist = max(1, min(int(np.sqrt(len(training))), len(training) // 39))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(np.ascontiguousarray(training, dtype=np.float32))
        vector_index = cls(dim, model, index, "ivf", nprobe or max(8, nlist // 10))
        vector_index._quantizer = quantizer  # keep it alive as long as the index
        return vector_index

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vector dimension {vectors.shape[1]} does not match the index ({self.dim})")
        self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids) -> None:
        if len(ids):
            # faiss's stub lists only remove_ids(IDSelector); its numpy wrapper also takes an array of ids.
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def ids(self) -> np.ndarray:
        if self.kind == "flat":
            # A flat index is an IndexIDMap2 (built in __init__, or deserialized, which returns the concrete class).
            return faiss.vector_to_array(cast(faiss.IndexIDMap2, self.index).id_map).astype(np.int64)
        invlists = faiss.extract_index_ivf(self.index).invlists
        assert invlists is not None  # a built IVF index always owns its inverted lists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(invlists.nlist)
            if invlists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.count == 0 or k <= 0:
            return []
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if query.shape[1] != self.dim:
            raise ValueError(f"query dimension {query.shape[1]} does not match the index ({self.dim})")
        scores, ids = self.index.search(query, min(k, self.count))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=False) if i != -1]

    @classmethod
    def build(cls, store, model: str, dim: int, kind: str | None = None) -> VectorIndex:
        """The index of every vector the store holds for `model`; exact or IVF by their number."""
        kind = kind or choose_kind(store.vector_count(model))
        if kind == "flat":
            index = cls(dim, model)
            for ids, matrix in store.iter_vectors(model):
                index.add(ids, matrix)
            return index
        batches = list(store.iter_vectors(model))
        matrix = np.concatenate([m for _, m in batches])
        rng = np.random.default_rng(0)
        sample = matrix[rng.choice(len(matrix), size=min(len(matrix), 40_000), replace=False)]
        index = cls.ivf(dim, model, sample)
        index.add(np.concatenate([i for i, _ in batches]), matrix)
        return index

    def save(self, path: Path, generation: int) -> None:
        header = IndexHeader(
            model=self.model, dim=self.dim, generation=generation, count=self.count, kind=self.kind, nprobe=self.nprobe
        )
        payload = faiss.serialize_index(self.index).tobytes()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".vectors-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(MAGIC)
                fh.write(json.dumps(header.__dict__).encode() + b"\n")
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def read_header(path: Path) -> IndexHeader | None:
        try:
            with open(path, "rb") as fh:
                if fh.readline() != MAGIC:
                    return None
                return IndexHeader(**json.loads(fh.readline()))
        except (OSError, ValueError, TypeError):
            return None

    @classmethod
    def load(cls, path: Path) -> VectorIndex | None:
        """The saved index, or None when the file is missing or unreadable."""
        try:
            data = Path(path).read_bytes()
        except OSError:
            return None
        if not data.startswith(MAGIC):
            return None
        try:
            rest = data[len(MAGIC) :]
            line_end = rest.index(b"\n")
            header = IndexHeader(**json.loads(rest[:line_end]))
            faiss_index = faiss.deserialize_index(np.frombuffer(rest[line_end + 1 :], dtype=np.uint8))
        except Exception:  # a damaged file is simply stale: the caller rebuilds
            return None
        index = cls(header.dim, header.model, faiss_index, header.kind, header.nprobe)
        index.generation = header.generation
        return index
