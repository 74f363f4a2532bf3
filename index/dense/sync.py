"""Keep the FAISS index (vectors.py) in step with the store, and give every chunk its vector.

SQLite is the source of truth; the FAISS file is derived. This module loads it, rebuilds it when it
is missing, damaged or stale (its header records the store generation it reflects), and applies
this process's own changes to it incrementally instead of rebuilding. It also embeds the chunks
that lack a vector from the current model, with a vector per sentence of each (hybrid retrieval
scores a chunk by its best sentence, and the answer window is chosen by meaning from them): in
batches, a chunk's vector and its sentence vectors committed together, so a run killed halfway
loses nothing and the next one continues where it stopped; identical texts of a batch (chunks or
sentences) are embedded once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.answering.windows import passage_sentences
from index.dense.model import Embedder
from index.store.database import Store

if TYPE_CHECKING:  # faiss loads only when a model is in use: lexical-only runs never pay for it
    from index.dense.faiss_index import VectorIndex

INDEX_FILENAME = "vectors.faiss"  # the same name as vectors.INDEX_FILENAME, without importing faiss
EMBED_BATCH = 64  # chunks per commit while embedding (one pass each with late chunking: ~15-30 s of model time)
STOP_CHECK_CHUNKS = 2  # chunks encoded between two looks at should_stop: well under a second each

# Called after every committed batch with (chunks done, chunks to do in this run).
Progress = Callable[[int, int], None]


class VectorSync:
    """The vector index of one engine; safe to use from several threads (the bot answers in parallel)."""

    def __init__(self, store: Store, embedder: Embedder | None, path: Path):
        self.store = store
        self.embedder = embedder
        self.path = Path(path)
        self._index: VectorIndex | None = None
        self._lock = threading.Lock()

    # --- the index ------------------------------------------------------------------------------

    def index(self, rebuild: bool = False) -> VectorIndex | None:
        """The FAISS index for the current model, loaded or rebuilt so it matches the store."""
        if self.embedder is None:
            return None
        with self._lock:
            return self._fresh(self.embedder, rebuild)

    def forget(self) -> None:
        """Drop the index held in memory: the next use loads (or rebuilds) it from disk."""
        with self._lock:
            self._index = None

    def _fresh(self, embedder: Embedder, rebuild: bool) -> VectorIndex:
        from index.dense.faiss_index import VectorIndex

        generation = self.store.generation
        index = self._index
        model = embedder.name

        def fresh(ix: VectorIndex | None) -> bool:
            return ix is not None and ix.generation == generation and ix.model == model

        if not rebuild and index is not None and fresh(index):
            return index
        if not rebuild:
            index = VectorIndex.load(self.path)
        if rebuild or index is None or not fresh(index) or index.count != self.store.vector_count(model):
            index = VectorIndex.build(self.store, model, embedder.dim)
            index.generation = generation
            index.save(self.path, generation)
        self._index = index
        return index

    def apply(self, removed: Sequence[int], added: Sequence[int], vectors: np.ndarray | None = None) -> None:
        """Follow a change this process just committed: chunks removed, chunks added.

        `vectors` are the added chunks' vectors when the caller has them; otherwise whatever vectors
        the store holds for them are used (none for a freshly ingested document, which is embedded
        later; some for an edited one, whose unchanged chunks keep theirs).
        """
        with self._lock:
            self._apply_locked(removed, added, vectors)

    def _apply_locked(self, removed: Sequence[int], added: Sequence[int], vectors: np.ndarray | None) -> None:
        index = self._index
        if index is None or self.embedder is None:
            return
        if index.generation + 1 != self.store.generation:
            self._index = None  # another writer got in between: rebuild lazily
            return
        index.remove(list(removed))
        if added:
            if vectors is not None:
                index.add(np.asarray(added, dtype=np.int64), vectors)
            else:
                ids, matrix = self.store.vectors_of(added, self.embedder.name)
                if matrix is not None:
                    index.add(ids, matrix)
        index.generation = self.store.generation
        index.save(self.path, index.generation)

    # --- embedding ------------------------------------------------------------------------------

    def embed_missing(
        self,
        progress: Progress | None = None,
        batch: int = EMBED_BATCH,
        among: Sequence[int] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> int:
        """Embed the chunks not fully embedded by the current model (all, or those `among` given): the chunk's
        vector and one per sentence of it (answer.passage_sentences, the sentences the answer window is made
        of), encoded together so identical texts of a batch are encoded once.

        Returns how many chunks got their vectors. A batch is committed before the next is encoded.
        should_stop, when given, is asked between small model calls (STOP_CHECK_CHUNKS chunks): once it says
        yes, the chunks whose texts are all encoded are committed and the run ends (see _encode_until_stop).
        """
        embedder = self.embedder
        if embedder is None:
            return 0
        model = embedder.name
        batches: Iterator[list[tuple[int, str, str]]]
        if among is not None:
            pending = self.store.chunks_to_embed(model, among=among)
            total = len(pending)
            batches = (pending[start : start + batch] for start in range(0, total, batch))
        else:
            total = self.store.chunks_to_embed_count(model)
            batches = iter(lambda: self.store.chunks_to_embed(model, limit=batch), [])  # until none left
        done = 0
        for todo in batches:
            if should_stop is not None and should_stop():
                break
            ids, vectors, per_chunk = self._encode(embedder, todo, should_stop)
            if not ids:
                break
            with self._lock:  # a question asked meanwhile sees the index before or after the batch, never between
                ids, vectors = self._put(ids, vectors, model, per_chunk)
                if ids:
                    # a chunk re-embedded for its sentences may be in the index already: replace, never duplicate
                    self._apply_locked(ids, ids, vectors)
            done += len(ids)
            if progress:
                progress(done, max(total, done))
            if should_stop is not None and len(ids) < len(todo):
                break  # stopped inside the batch: what was encoded is committed
        return done

    def _encode(
        self, embedder: Embedder, todo: list[tuple[int, str, str]], should_stop: Callable[[], bool] | None
    ) -> tuple[list[int], np.ndarray, list[np.ndarray]]:
        """A batch's chunk vectors and sentence vectors (Embedder.encode_chunks: one pass per chunk with late
        chunking). With should_stop, STOP_CHECK_CHUNKS chunks at a time, asking between two model calls; on a stop,
        the chunks encoded so far (a prefix of `todo`), which embed_missing commits."""
        step = len(todo) if should_stop is None else STOP_CHECK_CHUNKS
        ids: list[int] = []
        vectors: list[np.ndarray] = []
        per_chunk: list[np.ndarray] = []
        for start in range(0, len(todo), step):
            if start and should_stop is not None and should_stop():
                break
            part = todo[start : start + step]
            sentences = [passage_sentences(text) for _, _, text in part]
            texts = [embed_text for _, embed_text, _ in part]
            starts = [len(e) - len(t) if e.endswith(t) else 0 for _, e, t in part]  # the chunk after its title
            chunk_vectors, sentence_vectors = embedder.encode_chunks(texts, sentences, starts)
            ids += [cid for cid, _, _ in part]
            vectors.append(chunk_vectors)
            per_chunk += sentence_vectors
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, embedder.dim), dtype=np.float32)
        return ids, matrix, per_chunk

    def _put(
        self, ids: list[int], vectors: np.ndarray, model: str, sentences: list[np.ndarray]
    ) -> tuple[list[int], np.ndarray]:
        """Store a batch's vectors, leaving out chunks removed while it was encoded (a document deleted or
        replaced meanwhile: embedding runs in the background in the bot). Returns what was stored."""
        while True:
            try:
                self.store.put_vectors(ids, vectors, model, sentences)
                return ids, vectors
            except sqlite3.IntegrityError:  # a chunk is gone (the vector's foreign key): keep those still there
                alive = self.store.chunks(ids)
                keep = [i for i, cid in enumerate(ids) if cid in alive]
                if len(keep) == len(ids):
                    raise
                ids, vectors, sentences = [ids[i] for i in keep], vectors[keep], [sentences[i] for i in keep]
                if not ids:
                    return ids, vectors


def set_faiss_threads(threads: int = 1) -> None:
    """One OpenMP thread is faster for single queries on small machines (and avoids oversubscription)."""
    import faiss

    faiss.omp_set_num_threads(threads)
