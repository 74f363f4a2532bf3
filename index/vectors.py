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

import faiss
import numpy as np

MAGIC = b"INVESTBOT-FAISS-1\n"
INDEX_FILENAME = "vectors.faiss"


@dataclass
class IndexHeader:
    model: str
    dim: int
    generation: int
    count: int


class VectorIndex:
    """Exact inner-product search over normalised vectors (= cosine similarity)."""

    def __init__(self, dim: int, model: str):
        self.dim = dim
        self.model = model
        self.generation = -1  # the store generation this index reflects; -1 = not saved yet
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

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
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.count == 0 or k <= 0:
            return []
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if query.shape[1] != self.dim:
            raise ValueError(f"query dimension {query.shape[1]} does not match the index ({self.dim})")
        scores, ids = self.index.search(query, min(k, self.count))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    @classmethod
    def build(cls, store, model: str, dim: int) -> "VectorIndex":
        index = cls(dim, model)
        for ids, matrix in store.iter_vectors(model):
            index.add(ids, matrix)
        return index

    def save(self, path: Path, generation: int) -> None:
        header = IndexHeader(model=self.model, dim=self.dim, generation=generation, count=self.count)
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
    def load(cls, path: Path) -> "VectorIndex | None":
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
        index = cls(header.dim, header.model)
        index.index = faiss_index
        index.generation = header.generation
        return index
